/**
 * `certkeeper cert import-dir DIR`: every file under DIR (recursively) read, and the set handed to
 * core's bulk import (core/import-files.ts; the pairing rules are domain/x509/file-set.ts), which
 * runs the same ladder as `cert import` for every certificate. This module reads files and prints.
 *
 *   cert import-dir [--tenant T] DIR [--name-from stem|cn] [--dry-run] [--passphrase-file F] [--workers N] [--json]
 *
 * A progress line on stderr while it runs, only when stderr is a terminal and CI is not set. The
 * summary: imported, skipped as already present, refused (each with its file and the ladder's
 * reason), certificates without a key. Exit status 0 when nothing was refused, else 1.
 *
 * `--workers N` (else CERTKEEPER_IMPORT_WORKERS, else core's `defaultImportWorkers`): the worker
 * threads that parse the files and run the ladder; 0 runs everything on the main thread. The
 * summary is the same whatever N.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { Actor } from '../core/actor.ts';
import type { Core } from '../core/core.ts';
import type { ImportFilesSummary } from '../core/import-files.ts';
import { AppError } from '../domain/errors.ts';
import { FILE_SET_FILE_MAX_BYTES, type NameSource, type SourceFile } from '../domain/x509/file-set.ts';
import { PASSPHRASE_ENV } from './formats.ts';
import { table } from './output.ts';

export interface ImportDirFlags {
  'name-from'?: string | undefined;
  'dry-run'?: boolean | undefined;
  'passphrase-file'?: string | undefined;
  workers?: string | undefined;
  json?: boolean | undefined;
}

/** The environment variable of `--workers`. */
export const IMPORT_WORKERS_ENV = 'CERTKEEPER_IMPORT_WORKERS';

/** More would only cost memory and start-up: the work is CPU-bound and each worker holds a copy of the modules. */
export const IMPORT_WORKERS_MAX = 64;

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

type Out = (value: unknown, human: string) => void;

/**
 * Reads every regular file under `dir`; symbolic links and other special files are left out
 * (listed as refused). Synchronous on purpose: the command has nothing else to do meanwhile, and
 * the promise API's thread-pool round trips per file (lstat; open, stat, read, close) cost
 * 200–280 µs of CPU a file, 5–10× the synchronous calls (6,001 files: 1.2–1.7 s of CPU against
 * 0.15–0.25 s).
 */
export async function readDirectory(
  dir: string,
): Promise<{ files: SourceFile[]; unreadable: ImportFilesSummary['refused'] }> {
  const root = resolve(dir);
  let entries: string[];
  try {
    if (!lstatSync(root).isDirectory()) throw new Error('ENOTDIR');
    entries = readdirSync(root, { recursive: true }).map(String);
  } catch (cause) {
    throw new AppError(
      'invalid_argument',
      `Cannot read the directory '${dir}': ${(cause as NodeJS.ErrnoException).code ?? 'not a directory'}.`,
      {
        field: 'directory',
      },
    );
  }
  const files: SourceFile[] = [];
  const unreadable: ImportFilesSummary['refused'] = [];
  for (const entry of entries.sort()) {
    const path = join(root, entry);
    const label = relative(root, path);
    try {
      const info = lstatSync(path);
      if (info.isDirectory()) continue;
      if (!info.isFile()) {
        unreadable.push({
          file: label,
          code: 'invalid_argument',
          field: 'file',
          message: 'Not a regular file (a link or a special file); left out.',
        });
        continue;
      }
      if (info.size > FILE_SET_FILE_MAX_BYTES) {
        unreadable.push({
          file: label,
          code: 'input_too_large',
          field: 'file',
          message: `The file is ${info.size} bytes; the limit is ${FILE_SET_FILE_MAX_BYTES} bytes.`,
        });
        continue;
      }
      files.push({ path: label, bytes: readFileSync(path) });
    } catch (cause) {
      unreadable.push({
        file: label,
        code: 'invalid_argument',
        field: 'file',
        message: `Cannot read the file: ${(cause as NodeJS.ErrnoException).code ?? 'error'}.`,
      });
    }
  }
  return { files, unreadable };
}

/** `--workers`, else the environment's; undefined: core's default. A whole number 0–IMPORT_WORKERS_MAX. */
function workersOf(
  flags: ImportDirFlags,
  env: NodeJS.ProcessEnv,
  usage: (message: string) => Error,
): number | undefined {
  const [text, source] =
    flags.workers !== undefined ? [flags.workers, '--workers'] : [env[IMPORT_WORKERS_ENV], IMPORT_WORKERS_ENV];
  if (text === undefined || text === '') return undefined;
  if (!/^\d{1,3}$/.test(text) || Number(text) > IMPORT_WORKERS_MAX)
    throw usage(`${source} takes a whole number of worker threads from 0 to ${IMPORT_WORKERS_MAX}`);
  return Number(text);
}

async function passphraseOf(flags: ImportDirFlags, env: NodeJS.ProcessEnv): Promise<string | null> {
  let passphrase: string | undefined;
  if (flags['passphrase-file'] !== undefined) {
    try {
      passphrase = (await readFile(flags['passphrase-file'], 'utf8')).split(/\r?\n/, 1)[0] ?? '';
    } catch (cause) {
      throw new AppError(
        'invalid_argument',
        `Cannot read the passphrase file '${flags['passphrase-file']}': ${(cause as NodeJS.ErrnoException).code ?? 'error'}.`,
        { field: 'passphrase' },
      );
    }
  } else passphrase = env[PASSPHRASE_ENV];
  if (passphrase?.includes('\u0000'))
    throw new AppError('invalid_argument', 'The passphrase contains a NUL character.', { field: 'passphrase' });
  return passphrase ?? null;
}

export async function runImportDir(
  core: Core,
  actor: Actor,
  dir: string,
  flags: ImportDirFlags,
  out: Out,
  env: NodeJS.ProcessEnv,
  progress: ProgressStream,
  usage: (message: string) => Error,
): Promise<number> {
  const names = flags['name-from'] ?? 'stem';
  if (names !== 'stem' && names !== 'cn') throw usage('--name-from takes stem or cn');
  const workers = workersOf(flags, env, usage);
  const passphrase = await passphraseOf(flags, env);
  const { files, unreadable } = await readDirectory(dir);
  const live = progress.isTTY === true && !env.CI;
  const started = performance.now();
  const summary = await core.certificates.importFiles(actor, files, {
    names: names as NameSource,
    dryRun: flags['dry-run'] === true,
    passphrase,
    workers,
    ...(live
      ? {
          onProgress: (done: number, total: number) => {
            const seconds = (performance.now() - started) / 1000;
            const rate = seconds > 0 ? Math.round(done / seconds) : 0;
            progress.write(`\r${bar(done, total)} ${done}/${total} certificates  ${rate}/s `);
            if (done === total) progress.write('\n');
          },
        }
      : {}),
  });
  summary.refused.unshift(...unreadable);
  out(summary, human(summary, files.length + unreadable.length));
  return summary.refused.length > 0 ? 1 : 0;
}

function bar(done: number, total: number): string {
  const width = 30;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

function human(summary: ImportFilesSummary, files: number): string {
  const verb = summary.dryRun ? 'would be imported' : 'imported';
  const lines = [
    `${files} files, ${summary.certificates} certificates: ${summary.imported.length} ${verb}, ${summary.present.length} skipped (already present), ${summary.refused.length} refused, ${summary.noKey.length} without a key${summary.dryRun ? ' (dry run: nothing written)' : ''}.`,
  ];
  if (summary.refused.length > 0)
    lines.push(
      '',
      'Refused:',
      table(
        summary.refused.map((r) => ({ file: r.file, name: r.name, code: r.code, reason: r.message })),
        ['file', 'name', 'code', 'reason'],
      ).trimEnd(),
    );
  if (summary.noKey.length > 0)
    lines.push('', 'Without a key (no file holds it):', table(summary.noKey, ['file', 'name']).trimEnd());
  if (summary.present.length > 0)
    lines.push('', 'Skipped, already present:', table(summary.present, ['file', 'name', 'certificateNo']).trimEnd());
  if (summary.unusedKeyFiles.length > 0)
    lines.push(
      '',
      'Keys that match no certificate:',
      table(
        summary.unusedKeyFiles.map((file) => ({ file })),
        ['file'],
      ).trimEnd(),
    );
  return `${lines.join('\n')}\n`;
}
