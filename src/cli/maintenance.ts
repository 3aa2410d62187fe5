/**
 * `certkeeper backup --out FILE` and `certkeeper restore FILE [--force]` (SQLite stores; a
 * PostgreSQL store is refused with the pg_dump pointer). Both run without opening the app:
 * app/maintenance.ts, store/backup.ts.
 */
import { resolve } from 'node:path';
import { backupStore, masterKeySource, restoreStore } from '../app/maintenance.ts';
import type { Config } from '../config/config.ts';
import { keyValues } from './output.ts';

type Out = (value: unknown, human: string) => void;

function masterKeyNote(config: Config): string {
  return `The master key is not in the backup (its keys are sealed under it): keep ${masterKeySource(config)} safe, and apart from the backup.\n`;
}

export async function runBackup(
  config: Config,
  out: string | undefined,
  print: Out,
  usage: (m: string) => Error,
): Promise<void> {
  if (!out) throw usage('backup takes --out FILE');
  const result = await backupStore(config, resolve(out));
  print(
    result,
    `${keyValues({ file: result.file, bytes: result.bytes, migration: result.migrations.at(-1) ?? '' })}${masterKeyNote(config)}`,
  );
}

export async function runRestore(
  config: Config,
  file: string | undefined,
  force: boolean,
  print: Out,
  usage: (m: string) => Error,
): Promise<void> {
  if (!file) throw usage('restore takes FILE');
  const result = await restoreStore(config, resolve(file), force);
  print(
    result,
    `${keyValues({ restored: result.file, migration: result.migrations.at(-1) ?? '', replaced: result.replaced ? 'yes' : 'no' })}` +
      `Start certkeeper with the master key the backup was taken under; it applies any newer migrations at start.\n`,
  );
}
