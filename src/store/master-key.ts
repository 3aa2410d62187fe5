/**
 * Where the master key comes from, and its key-check value.
 *
 * - `CERTKEEPER_MASTER_KEY`: base64 of exactly 32 bytes. Wins when set.
 * - otherwise the key file `<dataDir>/master.key` (base64 text, mode 0600), created on first start
 *   only when the store holds no data key yet (vault.ts decides, under the store-wide lock). A
 *   missing or wrong key never leads to a new key being created over existing data.
 * - `<dataDir>/master.key.next`: the new key while a key-file rotation is in progress
 *   (rotate-master-key.ts); renamed over `master.key` when the rotation completes.
 *
 * Key bytes never appear in errors, messages or logs; messages name the variable or file only.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KEY_BYTES } from './aead.ts';
import { StoreStartupError } from './errors.ts';

export const MASTER_KEY_ENV = 'CERTKEEPER_MASTER_KEY';
export const MASTER_KEY_FILE = 'master.key';
export const NEXT_MASTER_KEY_FILE = 'master.key.next';

export interface MasterKey {
  /** Key-check value: names the key without revealing it (stored with each data key). */
  readonly id: string;
  readonly key: Buffer;
  /** `CERTKEEPER_MASTER_KEY` or the file path, for messages. */
  readonly origin: string;
}

/** HMAC-SHA256 of a fixed label under the key, first 64 bits: identifies, reveals nothing usable. */
export function masterKeyId(key: Buffer): string {
  return createHmac('sha256', key).update('certkeeper master-key check v1').digest('hex').slice(0, 16);
}

function masterKey(key: Buffer, origin: string): MasterKey {
  return Object.freeze({ id: masterKeyId(key), key, origin });
}

export function generateMasterKey(key: Buffer = randomBytes(KEY_BYTES)): MasterKey {
  return masterKey(key, 'a newly generated key');
}

const GENERATE_HINT =
  'Generate a new key with `openssl rand -base64 32` (only for a store that holds no encrypted data yet).';

/** Strict: standard or URL-safe base64 of exactly 32 bytes; surrounding whitespace ignored. */
function decode(text: string): { key: Buffer } | { problem: string } {
  const trimmed = text.trim();
  if (/^[A-Za-z0-9+/]{43}=?$/.test(trimmed) || /^[A-Za-z0-9_-]{43}=?$/.test(trimmed)) {
    const key = Buffer.from(trimmed, trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64');
    if (key.length === KEY_BYTES) return { key };
  }
  if (trimmed === '') return { problem: 'it is empty' };
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed))
    return { problem: `it decodes to ${Buffer.from(trimmed, 'base64').length} bytes, not ${KEY_BYTES}` };
  return { problem: 'it is not base64' };
}

/** The key from an environment variable or a command-line argument; `name` is what to call it in messages. */
export function parseMasterKey(text: string, name: string = MASTER_KEY_ENV): MasterKey {
  const decoded = decode(text);
  if ('problem' in decoded) {
    throw new StoreStartupError(
      `${name} must be exactly ${KEY_BYTES} bytes encoded in base64 (44 characters), but ${decoded.problem}. ${GENERATE_HINT}`,
    );
  }
  return masterKey(decoded.key, name);
}

/** The key in `path`, or null when the file does not exist. */
export async function readMasterKeyFile(path: string): Promise<MasterKey | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StoreStartupError(
      `Cannot read the master key file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}). Check its owner and permissions.`,
      { cause: error },
    );
  }
  const decoded = decode(text);
  if ('problem' in decoded) {
    throw new StoreStartupError(
      `The master key file ${path} does not hold a ${KEY_BYTES}-byte base64 key (${decoded.problem}). Restore it from backup, or set ${MASTER_KEY_ENV} to the key this store was created with.`,
    );
  }
  return masterKey(decoded.key, path);
}

/** Writes, fsyncs and closes a new key file; 'wx' so an existing file is never overwritten. */
async function writeKeyFile(path: string, key: Buffer): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(`${key.toString('base64')}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await syncDirectory(dirname(path));
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates `path` with a fresh key (mode 0600). When another process created it first, returns
 * that key instead: two first starts on one data directory agree on one key.
 */
export async function createMasterKeyFile(path: string): Promise<MasterKey> {
  const fresh = generateMasterKey();
  try {
    await writeKeyFile(path, fresh.key);
    return masterKey(fresh.key, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const existing = await readMasterKeyFile(path);
    if (!existing) throw error;
    return existing;
  }
}

/** Writes the rotation's new key next to the current one. Fails if one is already there. */
export async function writeNextMasterKeyFile(dataDir: string, key: MasterKey): Promise<MasterKey> {
  const path = join(dataDir, NEXT_MASTER_KEY_FILE);
  await writeKeyFile(path, key.key);
  return masterKey(key.key, path);
}

/** Last step of a key-file rotation: the new key becomes `master.key` (atomic rename). */
export async function promoteNextMasterKeyFile(dataDir: string): Promise<void> {
  await rename(join(dataDir, NEXT_MASTER_KEY_FILE), join(dataDir, MASTER_KEY_FILE));
  await syncDirectory(dataDir);
}
