/**
 * The operator's store maintenance for the CLI: `certkeeper backup` and `certkeeper restore`
 * (store/backup.ts does the work; docs/operations.md, "Backups"). Neither opens the app: a backup
 * reads the live store beside the server, and a restore must find the store closed.
 */
import type { Config } from '../config/config.ts';
import { AppError } from '../domain/errors.ts';
import { join } from 'node:path';
import { backupSqlite, restoreSqlite, type BackupResult, type RestoreResult } from '../store/backup.ts';
import { sqliteDialect } from '../store/dialect.ts';
import { MASTER_KEY_FILE } from '../store/master-key.ts';
import { migrationNames } from '../store/migrations/index.ts';

function refusePostgres(config: Config, command: string): void {
  if (config.databaseUrl) {
    throw new AppError(
      'invalid_argument',
      `certkeeper ${command} is for the SQLite store; this one is PostgreSQL (DATABASE_URL): use pg_dump / pg_restore or point-in-time recovery (docs/operations.md, "PostgreSQL").`,
    );
  }
}

export async function backupStore(config: Config, out: string): Promise<BackupResult> {
  refusePostgres(config, 'backup');
  return backupSqlite(config.dataDir, out);
}

export async function restoreStore(config: Config, file: string, replace: boolean): Promise<RestoreResult> {
  refusePostgres(config, 'restore');
  return restoreSqlite(file, config.dataDir, { knownMigrations: migrationNames(sqliteDialect), replace });
}

/** Where the master key that seals this store's secrets comes from: the variable, or the key file. */
export function masterKeySource(config: Config): string {
  return config.masterKey ? 'CERTKEEPER_MASTER_KEY' : join(config.dataDir, MASTER_KEY_FILE);
}
