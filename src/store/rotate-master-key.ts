/**
 * `certkeeper master-key rotate`: re-wraps every data key under a new master key, in batches,
 * without downtime, resumable after an interruption. Secrets themselves are not touched (they are
 * sealed under data keys, which do not change).
 *
 * Protocol (every step leaves every data key openable, so a crash anywhere is harmless):
 * 1. Choose the new key. Key-file mode: `master.key.next` (a re-run after an interruption reuses
 *    it; a first run writes it, 0600, before anything else). Environment mode: the caller passes
 *    the new key; `CERTKEEPER_MASTER_KEY` keeps the old one until the end.
 * 2. Batches (one exclusive transaction each): add a second wrap of each data key under the new
 *    key (`next_wrapped_key`, `next_master_key_id`). The old wrap stays, so every process, even
 *    one restarted with the old key, keeps working; rows already done are skipped on a re-run.
 * 3. One exclusive transaction: the new wraps replace the old ones, and it is verified that no
 *    data key is left under another key (one created meanwhile: run again).
 * 4. Key-file mode: rename `master.key.next` over `master.key`. A crash between 3 and 4 is fine:
 *    start-up reads both files, and a re-run finds nothing to re-wrap and does the rename.
 * After step 3 the old master key no longer opens the store.
 */
import type { Kysely } from 'kysely';
import { join } from 'node:path';
import { AppError } from '../domain/errors.ts';
import type { StoreDialect } from './dialect.ts';
import {
  generateMasterKey,
  MASTER_KEY_ENV,
  MASTER_KEY_FILE,
  NEXT_MASTER_KEY_FILE,
  parseMasterKey,
  promoteNextMasterKeyFile,
  readMasterKeyFile,
  writeNextMasterKeyFile,
  type MasterKey,
} from './master-key.ts';
import type { Database } from './schema.ts';
import { inTransaction } from './transaction.ts';
import type { MasterKeyConfig } from './vault-bootstrap.ts';
import { wrapDataKey, type StoreVault } from './vault.ts';

export interface RotateMasterKeyOptions {
  /** Data keys re-wrapped per transaction. */
  batchSize?: number;
  /** Called after each committed batch with the running total (progress; tests inject failures here). */
  afterBatch?: (rewrapped: number) => void | Promise<void>;
}

export interface RotateMasterKeyResult {
  /** Data keys re-wrapped by this run (a resumed run counts only what was left). */
  rewrapped: number;
  /** What the operator must do now, for the CLI to print. Contains no key material. */
  instructions: string;
}

interface RotationContext {
  db: Kysely<Database>;
  dialect: StoreDialect;
  vault: StoreVault;
  config: MasterKeyConfig;
}

export const DEFAULT_ROTATION_BATCH = 100;

export async function rotateMasterKey(
  ctx: RotationContext,
  newKeyBase64: string | undefined,
  options: RotateMasterKeyOptions = {},
): Promise<RotateMasterKeyResult> {
  const fileMode = ctx.config.masterKey === undefined;
  const next = fileMode ? await nextKeyFile(ctx.config.dataDir, newKeyBase64) : envNextKey(newKeyBase64);
  const batchSize = Math.max(1, Math.trunc(options.batchSize ?? DEFAULT_ROTATION_BATCH));

  let rewrapped = 0;
  for (;;) {
    const pending = await ctx.db
      .selectFrom('data_keys')
      .select('id')
      .where('master_key_id', '<>', next.id)
      .where((eb) => eb.or([eb('next_master_key_id', 'is', null), eb('next_master_key_id', '<>', next.id)]))
      .orderBy('id')
      .limit(batchSize)
      .execute();
    if (pending.length === 0) break;
    // Unwrapped outside the transaction: loading a key may query, and on SQLite the transaction holds the only connection.
    const keys = await Promise.all(pending.map(async ({ id }) => ({ id, key: await ctx.vault.dataKey(id) })));
    await inTransaction(
      ctx.db,
      ctx.dialect,
      async (trx) => {
        for (const { id, key } of keys) {
          await trx
            .updateTable('data_keys')
            .set({ next_wrapped_key: wrapDataKey(next, id, key), next_master_key_id: next.id })
            .where('id', '=', id)
            .execute();
        }
      },
      { exclusive: true },
    );
    rewrapped += keys.length;
    await options.afterBatch?.(rewrapped);
  }

  await inTransaction(
    ctx.db,
    ctx.dialect,
    async (trx) => {
      await trx
        .updateTable('data_keys')
        .set((eb) => ({
          wrapped_key: eb.ref('next_wrapped_key').$notNull(),
          master_key_id: eb.ref('next_master_key_id').$notNull(),
        }))
        .where('next_master_key_id', '=', next.id)
        .execute();
      // Second wraps left by an abandoned rotation to some other key are dropped.
      await trx.updateTable('data_keys').set({ next_wrapped_key: null, next_master_key_id: null }).execute();
      const left = await trx
        .selectFrom('data_keys')
        .select('id')
        .where('master_key_id', '<>', next.id)
        .limit(1)
        .executeTakeFirst();
      if (left)
        throw new AppError(
          'conflict',
          'A data key was created while the master key was being rotated; nothing was switched. Run the rotation again to finish it.',
        );
    },
    { exclusive: true },
  );

  if (fileMode) {
    if (await readMasterKeyFile(join(ctx.config.dataDir, NEXT_MASTER_KEY_FILE)))
      await promoteNextMasterKeyFile(ctx.config.dataDir);
    const path = join(ctx.config.dataDir, MASTER_KEY_FILE);
    ctx.vault.useMasterKey({ ...next, origin: path });
    return {
      rewrapped,
      instructions: `Every data key is now wrapped by the new master key in ${path}; the old key no longer opens this store. Back up ${path} now, and copy it to every other machine that runs certkeeper on this database.`,
    };
  }
  ctx.vault.useMasterKey({ ...next, origin: MASTER_KEY_ENV });
  return {
    rewrapped,
    instructions: `Every data key is now wrapped by the new master key; the old key no longer opens this store. Set ${MASTER_KEY_ENV} to the new key wherever certkeeper runs on this database and restart those processes (running ones keep working until then). Keep the new key safe: without it the stored private keys and secrets cannot be read.`,
  };
}

function envNextKey(newKeyBase64: string | undefined): MasterKey {
  if (newKeyBase64 === undefined) {
    throw new AppError(
      'invalid_argument',
      `${MASTER_KEY_ENV} is set, so certkeeper does not choose the new key: generate one (\`openssl rand -base64 32\`), keep it safe, and pass it to \`certkeeper master-key rotate --new-key …\`. Keep ${MASTER_KEY_ENV} at the old key until the rotation reports completion.`,
      { field: 'newKey' },
    );
  }
  return parseMasterKey(newKeyBase64, 'The new master key');
}

/** Key-file mode: the rotation's key lives in `master.key.next` from its first step to its last. */
async function nextKeyFile(dataDir: string, newKeyBase64: string | undefined): Promise<MasterKey> {
  const existing = await readMasterKeyFile(join(dataDir, NEXT_MASTER_KEY_FILE));
  const given = newKeyBase64 === undefined ? null : parseMasterKey(newKeyBase64, 'The new master key');
  if (existing) {
    if (given && given.id !== existing.id) {
      throw new AppError(
        'conflict',
        `A rotation to another key is in progress (${join(dataDir, NEXT_MASTER_KEY_FILE)}). Run \`certkeeper master-key rotate\` without a new key to finish it first.`,
        { field: 'newKey' },
      );
    }
    return existing;
  }
  return writeNextMasterKeyFile(dataDir, given ?? generateMasterKey());
}
