/**
 * Backups of the SQLite store, and restoring one (docs/operations.md, "Backups").
 *
 * - `backupSqlite`: a consistent copy of a live store through SQLite's online backup API, which
 *   copies pages while the server goes on reading and writing (a write during the copy restarts
 *   the copy of what changed; the result is the database as of one commit). The copy is written
 *   to a temporary file beside the target, made 0600, synced and renamed into place, so a crash
 *   never leaves a half-written backup under the requested name, and an existing file is never
 *   overwritten.
 * - `restoreSqlite`: checks that the file is a whole certkeeper store (integrity check; migrations
 *   table; no migration this version does not know), then puts it in place of `<dataDir>/certkeeper.db`.
 *   It refuses while anything has the store open: a connection in exclusive locking mode cannot
 *   read a WAL database that another connection (the server, a CLI command) has open. An existing
 *   store is replaced only when the caller says so (`replace`), after the same check.
 *
 * Neither touches the master key: a backup holds secrets sealed under it and is useless without
 * it, which is why the two should be kept apart (docs/operations.md).
 *
 * PostgreSQL stores are backed up with pg_dump or point-in-time recovery, not here.
 */
import { constants } from 'node:fs';
import { access, chmod, copyFile, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../domain/errors.ts';
import { SQLITE_FILE } from './connect.ts';

export interface BackupResult {
  file: string;
  bytes: number;
  /** Applied migrations in the copy, the newest last. */
  migrations: string[];
}

const exists = (path: string): Promise<boolean> =>
  access(path, constants.F_OK).then(
    () => true,
    () => false,
  );

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Migrations recorded in a store file (Kysely's table), oldest first; throws when it is not a certkeeper store. */
function migrationsIn(db: Database.Database, what: string): string[] {
  try {
    return (db.prepare('select name from kysely_migration order by name').all() as Array<{ name: string }>).map(
      (row) => row.name,
    );
  } catch {
    throw new AppError('invalid_argument', `${what} is not a certkeeper store (it has no migrations table).`);
  }
}

export async function backupSqlite(dataDir: string, out: string): Promise<BackupResult> {
  const source = join(dataDir, SQLITE_FILE);
  if (!(await exists(source))) throw new AppError('not_found', `There is no SQLite store at ${source}.`);
  if (await exists(out))
    throw new AppError('already_exists', `${out} exists; certkeeper backup never overwrites a file.`);
  await mkdir(dirname(out), { recursive: true });
  const temporary = join(dirname(out), `.${basename(out)}.${process.pid}.partial`);
  const db = new Database(source, { fileMustExist: true, timeout: 10_000 });
  try {
    await db.backup(temporary);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  } finally {
    db.close();
  }
  try {
    await chmod(temporary, 0o600);
    await syncFile(temporary);
    // The copy is checked before it gets its name: a backup that does not open is no backup.
    const copy = new Database(temporary, { readonly: true, fileMustExist: true });
    let migrations: string[];
    let bytes: number;
    try {
      migrations = migrationsIn(copy, 'The copy');
      bytes = (
        copy.prepare('select page_count * page_size as n from pragma_page_count, pragma_page_size').get() as {
          n: number;
        }
      ).n;
    } finally {
      copy.close();
    }
    await rename(temporary, out);
    return { file: out, bytes, migrations };
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Throws `in_use` when any connection has the store at `path` open. */
function assertNotInUse(path: string): void {
  const db = new Database(path, { fileMustExist: true, timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('begin exclusive');
    db.prepare('select count(*) from sqlite_master').get();
    db.exec('commit');
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_BUSY') {
      throw new AppError(
        'in_use',
        `The store at ${path} is in use (a certkeeper server or command has it open); stop it before restoring.`,
      );
    }
    throw error;
  } finally {
    db.close();
  }
}

export interface RestoreResult {
  file: string;
  migrations: string[];
  /** Whether a store was there before (and was replaced). */
  replaced: boolean;
}

export async function restoreSqlite(
  file: string,
  dataDir: string,
  options: { knownMigrations: readonly string[]; replace: boolean },
): Promise<RestoreResult> {
  if (!(await exists(file))) throw new AppError('not_found', `There is no file ${file}.`);
  let migrations: string[];
  let backup: Database.Database;
  try {
    backup = new Database(file, { readonly: true, fileMustExist: true });
  } catch {
    throw new AppError('invalid_argument', `${file} is not an SQLite database.`);
  }
  try {
    let integrity: string;
    try {
      integrity = (backup.pragma('integrity_check', { simple: true }) as string) ?? '';
    } catch {
      throw new AppError('invalid_argument', `${file} is not an SQLite database.`);
    }
    if (integrity !== 'ok')
      throw new AppError('invalid_argument', `${file} is damaged (integrity check: ${integrity}).`);
    migrations = migrationsIn(backup, file);
  } finally {
    backup.close();
  }
  const unknown = migrations.filter((name) => !options.knownMigrations.includes(name));
  if (unknown.length > 0) {
    throw new AppError(
      'invalid_argument',
      `${file} comes from a newer certkeeper (migrations ${unknown.join(', ')}); restore it with that version.`,
    );
  }

  const target = join(dataDir, SQLITE_FILE);
  const replaced = await exists(target);
  if (replaced) {
    assertNotInUse(target);
    if (!options.replace) {
      throw new AppError(
        'already_exists',
        `A store exists at ${target}; restore replaces it only with --force (take a backup of it first).`,
      );
    }
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const temporary = join(dataDir, `.${SQLITE_FILE}.restore-${process.pid}`);
  await copyFile(file, temporary, constants.COPYFILE_EXCL);
  try {
    await chmod(temporary, 0o600);
    await syncFile(temporary);
    // The old store's WAL and shared memory belong to the old file: gone with it.
    if (replaced) {
      assertNotInUse(target);
      await rm(`${target}-wal`, { force: true });
      await rm(`${target}-shm`, { force: true });
    }
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return { file: target, migrations, replaced };
}
