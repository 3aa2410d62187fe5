/**
 * Start-up step that decides which master key(s) to use, run inside the exclusive store
 * transaction (after migrations), so two processes starting at once on an empty store cannot
 * each create their own master key and data key.
 *
 * Rules:
 * - `CERTKEEPER_MASTER_KEY` set: use it (malformed: refuse, naming the variable).
 * - else `<dataDir>/master.key`: read it; also read `master.key.next` when a rotation left one.
 *   When the file is missing: create it (0600) only if the store has no data key yet; otherwise
 *   refuse, saying to restore the file or set the variable.
 * - no data key yet: create the first one, wrapped by the key just chosen.
 * Whether the key actually matches existing data keys is checked afterwards by `openVault`.
 */
import type { Kysely } from 'kysely';
import { join } from 'node:path';
import { StoreStartupError } from './errors.ts';
import {
  createMasterKeyFile,
  MASTER_KEY_ENV,
  MASTER_KEY_FILE,
  NEXT_MASTER_KEY_FILE,
  parseMasterKey,
  readMasterKeyFile,
  type MasterKey,
} from './master-key.ts';
import type { Database } from './schema.ts';
import { insertDataKey } from './vault.ts';

export interface MasterKeyConfig {
  dataDir: string;
  /** Base64 from `CERTKEEPER_MASTER_KEY`; undefined when the variable is not set. */
  masterKey: string | undefined;
}

/** The usable master keys, configured one first (see `openVault`). */
export async function bootstrapVault(trx: Kysely<Database>, config: MasterKeyConfig, at: Date): Promise<MasterKey[]> {
  const { count } = await trx
    .selectFrom('data_keys')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .executeTakeFirstOrThrow();
  const empty = Number(count) === 0;
  const masters =
    config.masterKey !== undefined ? [parseMasterKey(config.masterKey)] : await fromKeyFiles(config.dataDir, empty);
  if (empty) await insertDataKey(trx, masters[0]!, at);
  return masters;
}

async function fromKeyFiles(dataDir: string, empty: boolean): Promise<MasterKey[]> {
  const path = join(dataDir, MASTER_KEY_FILE);
  const current = await readMasterKeyFile(path);
  const next = await readMasterKeyFile(join(dataDir, NEXT_MASTER_KEY_FILE));
  if (current) return next ? [current, next] : [current];
  if (!empty) {
    throw new StoreStartupError(
      `This store holds encrypted data, but the master key file ${path} does not exist and ${MASTER_KEY_ENV} is not set. ` +
        `Restore ${path} from a backup (the file created when this store was first started), or set ${MASTER_KEY_ENV} to that key. ` +
        'certkeeper will not create a new master key: secrets sealed under the old one could never be read again.',
    );
  }
  return [await createMasterKeyFile(path)];
}
