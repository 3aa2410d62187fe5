/**
 * Driver errors mapped to AppError by their codes, never by message text.
 *
 * A unique violation is `SQLITE_CONSTRAINT_UNIQUE` / `SQLITE_CONSTRAINT_PRIMARYKEY`
 * (better-sqlite3 `err.code`) or SQLSTATE `23505` (pg `err.code`). PostgreSQL also names the
 * violated constraint (`err.constraint`); SQLite names it only in the message text, which we do
 * not parse. So each write that can collide lists its candidates in order, each with the
 * constraint name and a probe ("does a live row with this value exist?"): the constraint decides
 * when the driver names one, else the first probe that finds a conflicting row, else the first
 * candidate. Probes run after the failed transaction is over, outside it.
 */
import { AppError, type InputField } from '../domain/errors.ts';

const UNIQUE_VIOLATION_CODES: ReadonlySet<string> = new Set([
  'SQLITE_CONSTRAINT_UNIQUE',
  'SQLITE_CONSTRAINT_PRIMARYKEY',
  '23505',
]);

function stringProperty(error: unknown, key: string): string | null {
  if (typeof error !== 'object' || error === null) return null;
  const value = (error as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : null;
}

export function isUniqueViolation(error: unknown): boolean {
  const code = stringProperty(error, 'code');
  return code !== null && UNIQUE_VIOLATION_CODES.has(code);
}

export interface UniqueCandidate {
  /** The input that collided, as AppError reports it. */
  field: InputField;
  /** Name of the unique constraint or index (see migrations). */
  constraint: string;
  /** Safe to show: no secrets, names only. */
  message: string;
  /** Whether a conflicting row exists now; used when the driver does not name the constraint. */
  conflicts: () => Promise<boolean>;
}

/**
 * Rethrows `error` as `AppError('already_exists', …, { field })` when it is a unique violation
 * of one of `candidates`; any other error is rethrown unchanged.
 */
export async function rethrowUniqueViolation(error: unknown, candidates: readonly UniqueCandidate[]): Promise<never> {
  if (!isUniqueViolation(error) || candidates.length === 0) throw error;
  const constraint = stringProperty(error, 'constraint');
  let match = constraint === null ? undefined : candidates.find((c) => c.constraint === constraint);
  if (!match) {
    for (const candidate of candidates) {
      if (await candidate.conflicts()) {
        match = candidate;
        break;
      }
    }
  }
  // The conflicting row may be gone already (deleted right after); the first candidate is still
  // the best answer we have, and the caller may retry.
  match ??= candidates[0]!;
  throw new AppError('already_exists', match.message, { field: match.field, cause: error });
}

/**
 * Start-up refusals (wrong or missing master key, bad configuration): the message says what is
 * wrong and what to do, names environment variables and files, and never contains a secret.
 */
export class StoreStartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreStartupError';
  }
}

/**
 * SQLite failing to write its files is the store being unavailable, not an internal error: the
 * disk is full (`SQLITE_FULL`, which SQLite also answers when the WAL or the database file cannot
 * grow) or the operating system failed a read, write, sync or the shared-memory map
 * (`SQLITE_IOERR` and its extended codes, `SQLITE_IOERR_WRITE`, `_FSYNC`, `_SHMSIZE`…). Each face
 * answers its 503-class error and the request can be retried once space is freed. The failed
 * statement was rolled back (and its transaction with it, by SQLite or by Kysely's rollback), so
 * nothing is half-written; reads keep working on a full disk.
 *
 * Recognised by better-sqlite3's `err.code`, never by message text. Corruption
 * (`SQLITE_CORRUPT`) and the rest stay internal errors: those are not for a client to retry.
 */
export function isStorageFault(error: unknown): boolean {
  const code = stringProperty(error, 'code');
  return code !== null && (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR' || code.startsWith('SQLITE_IOERR_'));
}

export const STORAGE_FAULT_MESSAGE = 'The database cannot write to its disk now (full or failing).';

/** `AppError('unavailable')` carrying the driver error as its cause (logged, never sent). */
export function storageFault(cause: unknown): AppError {
  return new AppError('unavailable', STORAGE_FAULT_MESSAGE, { cause });
}
