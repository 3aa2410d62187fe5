/**
 * Replacing files so that a reader sees the old content or the new, never a mix or nothing:
 * each file is written to a temp file in the same directory (same file system), flushed with
 * fsync, renamed over the old one (rename(2) is atomic), and the directory is fsynced so the
 * rename itself survives a power cut.
 *
 * `commitFiles` stages every file first (all temps written and flushed) and only then renames
 * them one after the other, so the window in which one file is new and the other old is a few
 * rename calls long. A crash inside it leaves a slot PUBLISHING, and the worker writes both again.
 * Temp files are `.<name>.<random>.tmp`; ones a crash left behind are removed before the next write.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface FileToWrite {
  name: string;
  content: string | Buffer;
  mode: number;
}

const TEMP = /^\..+\.[0-9a-f]{12}\.tmp$/;

/** fsync of a directory: makes creations, renames and removals in it durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes temp files an interrupted write left in `dir`. */
export async function removeStaleTemps(dir: string): Promise<void> {
  for (const entry of await readdir(dir)) {
    if (TEMP.test(entry)) await unlink(join(dir, entry)).catch(() => undefined);
  }
}

async function stage(dir: string, file: FileToWrite): Promise<string> {
  const temp = join(dir, `.${file.name}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx': never follow or reuse an existing path; the mode is set again below, past the umask.
  const handle = await open(temp, 'wx', file.mode);
  try {
    await handle.chmod(file.mode);
    await handle.writeFile(file.content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return temp;
}

/** Writes every file atomically (see the top of this file), in the order given. */
export async function commitFiles(dir: string, files: readonly FileToWrite[]): Promise<void> {
  const staged: Array<{ temp: string; target: string }> = [];
  try {
    for (const file of files) staged.push({ temp: await stage(dir, file), target: join(dir, file.name) });
    while (staged.length > 0) {
      const next = staged[0] as { temp: string; target: string };
      await rename(next.temp, next.target);
      staged.shift();
    }
  } finally {
    for (const { temp } of staged) await unlink(temp).catch(() => undefined);
  }
  await syncDirectory(dir);
}
