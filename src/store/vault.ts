/**
 * The vault: seals secrets (private keys, credential secrets) with AES-256-GCM under a data key,
 * and keeps the data keys wrapped by the master key in `data_keys`.
 *
 * - Data keys are random 256-bit keys, one row each, wrapped by the master key with AAD
 *   `data-key:<id>`. New secrets are sealed under the newest one (the active key); every data key
 *   ever created stays readable. All data keys are unwrapped once at open and held in memory, so
 *   `seal` and `open` never query the database (they may run inside a write transaction, which on
 *   SQLite holds the only connection). A data key created by another process after this one
 *   started is loaded on first use.
 * - Each row records the key-check value of the master key that wrapped it (`master_key_id`),
 *   and, during a rotation, a second wrap under the new master key (`next_*`). A row opens with
 *   any loaded master key matching either; when none matches, start-up stops with a message
 *   saying which key is wrong and what to do (never a silent new key).
 */
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { SealedSecret, Vault } from '../core/ports.ts';
import { AppError } from '../domain/errors.ts';
import { KEY_BYTES, open, seal } from './aead.ts';
import { StoreStartupError } from './errors.ts';
import { MASTER_KEY_ENV, type MasterKey } from './master-key.ts';
import type { Database, DataKeyRow } from './schema.ts';

export const dataKeyContext = (id: number): string => `data-key:${id}`;

export function wrapDataKey(master: MasterKey, id: number, key: Buffer): Buffer {
  return seal(master.key, key, dataKeyContext(id));
}

/** Inserts a new random data key wrapped by `master`. Run inside a transaction (two statements: the AAD needs the id). */
export async function insertDataKey(
  trx: Kysely<Database>,
  master: MasterKey,
  at: Date,
): Promise<{ id: number; key: Buffer }> {
  const key = randomBytes(KEY_BYTES);
  const { id } = await trx
    .insertInto('data_keys')
    .values({
      wrapped_key: Buffer.alloc(0),
      master_key_id: master.id,
      next_wrapped_key: null,
      next_master_key_id: null,
      created_at: at.getTime(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await trx
    .updateTable('data_keys')
    .set({ wrapped_key: wrapDataKey(master, id, key) })
    .where('id', '=', id)
    .execute();
  return { id, key };
}

/** Which of `masters` opens a row, and through which of its two wraps. */
function unwrap(
  row: Pick<DataKeyRow, 'wrapped_key' | 'master_key_id' | 'next_wrapped_key' | 'next_master_key_id'> & { id: number },
  masters: readonly MasterKey[],
): { key: Buffer; master: MasterKey } | 'no-matching-master-key' {
  const slots: Array<[string | null, Buffer | null]> = [
    [row.master_key_id, row.wrapped_key],
    [row.next_master_key_id, row.next_wrapped_key],
  ];
  for (const master of masters) {
    for (const [id, wrapped] of slots) {
      if (id !== master.id || !wrapped) continue;
      const key = open(master.key, wrapped, dataKeyContext(row.id));
      // The key check matched but the wrap does not authenticate: the row itself is damaged.
      if (!key)
        throw new StoreStartupError(
          `Data key ${row.id} does not authenticate under the master key from ${master.origin}, although the key check matches: the database row is damaged or was altered. Restore the database from a backup.`,
        );
      return { key, master };
    }
  }
  return 'no-matching-master-key';
}

function mismatchMessage(masters: readonly MasterKey[], unopened: number, total: number): string {
  const configured = masters[0]!;
  const never =
    'certkeeper never replaces the master key of a store that already holds encrypted data: secrets sealed under the old key could not be read again.';
  if (unopened < total) {
    return `${unopened} of ${total} data keys are wrapped by a master key other than the one from ${configured.origin}: a master key rotation was started and has not finished. Start with the previous master key, then run \`certkeeper master-key rotate\` again with the same new key to finish it.`;
  }
  if (configured.origin === MASTER_KEY_ENV) {
    return `${MASTER_KEY_ENV} does not match the master key that protects this store (key check failed for all ${total} data keys). Set ${MASTER_KEY_ENV} to the key this store was created with, or, if \`certkeeper master-key rotate\` has completed since, to the new key it was given. ${never}`;
  }
  return `The master key file ${configured.origin} does not match the master key that protects this store (key check failed for all ${total} data keys). Put back the ${configured.origin} that belongs to this database (from a backup, or from the machine that first started it), or set ${MASTER_KEY_ENV} to the right key. ${never}`;
}

export interface StoreVault extends Vault {
  /** The unwrapped data key `id` (loaded on first use when another process created it). */
  dataKey(id: number): Promise<Buffer>;
  /** Ids of every data key known to this process, ascending. */
  dataKeyIds(): number[];
  /** Creates a new data key; secrets sealed from now on use it. Older ones stay readable. */
  rotateDataKey(at: Date): Promise<number>;
  /** The master key that wraps data keys created by this process. */
  masterKey(): MasterKey;
  /** After a completed master key rotation. */
  useMasterKey(master: MasterKey): void;
}

/**
 * Unwraps every data key with `masters` (the configured key first, then a rotation's new key if
 * there is one) and returns the vault. Fails start-up when a data key matches none of them.
 */
export async function openVault(
  db: Kysely<Database>,
  masters: readonly MasterKey[],
  newTransaction: <T>(work: (trx: Kysely<Database>) => Promise<T>) => Promise<T>,
): Promise<StoreVault> {
  const rows = await db.selectFrom('data_keys').selectAll().orderBy('id').execute();
  const keys = new Map<number, Buffer>();
  let unopened = 0;
  let current: MasterKey | null = null;
  for (const row of rows) {
    const result = unwrap(row, masters);
    if (result === 'no-matching-master-key') unopened += 1;
    else {
      keys.set(row.id, result.key);
      current = result.master; // the key that opened the newest data key wraps the next ones
    }
  }
  if (unopened > 0) throw new StoreStartupError(mismatchMessage(masters, unopened, rows.length));
  if (rows.length === 0) throw new Error('The store has no data key; openStore creates one before opening the vault.');
  let master: MasterKey = current ?? masters[0]!;

  const active = (): number => Math.max(...keys.keys());

  async function dataKey(id: number): Promise<Buffer> {
    const known = keys.get(id);
    if (known) return known;
    const row = await db.selectFrom('data_keys').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new AppError('internal', `Data key ${id} does not exist; the sealed secret cannot be opened.`);
    const result = unwrap(row, [master, ...masters]);
    if (result === 'no-matching-master-key')
      throw new AppError(
        'internal',
        `Data key ${id} is wrapped by a master key this process does not hold; restart it with the current master key.`,
      );
    keys.set(id, result.key);
    return result.key;
  }

  // The data keys as KeyObjects for the cipher: converting raw bytes on every seal and open cost
  // about as much as the AES-GCM work itself.
  const cipherKeys = new Map<number, KeyObject>();
  async function cipherKey(id: number): Promise<KeyObject> {
    let key = cipherKeys.get(id);
    if (!key) {
      key = createSecretKey(await dataKey(id));
      cipherKeys.set(id, key);
    }
    return key;
  }

  return {
    async seal(plaintext: Buffer, context: string): Promise<SealedSecret> {
      const dataKeyId = active();
      return { dataKeyId, blob: seal(await cipherKey(dataKeyId), plaintext, context) };
    },
    async open(sealed: SealedSecret, context: string): Promise<Buffer> {
      const plaintext = open(await cipherKey(sealed.dataKeyId), sealed.blob, context);
      if (!plaintext)
        throw new AppError(
          'internal',
          'A sealed secret did not authenticate: it was opened with the wrong context, or the stored bytes were altered.',
        );
      return plaintext;
    },
    dataKey,
    dataKeyIds: () => [...keys.keys()].sort((a, b) => a - b),
    async rotateDataKey(at: Date): Promise<number> {
      const created = await newTransaction((trx) => insertDataKey(trx, master, at));
      keys.set(created.id, created.key);
      return created.id;
    },
    masterKey: () => master,
    useMasterKey(next: MasterKey) {
      master = next;
    },
  };
}
