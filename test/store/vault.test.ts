/**
 * Contract: the vault and the master key, on every store. Each test gets a fresh location,
 * since the master key is per store.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { SealedSecret } from '../../src/core/ports.ts';
import { isAppErrorWithCode } from '../../src/domain/errors.ts';
import { openStore, StoreStartupError, type StoreHandle } from '../../src/store/open.ts';
import { storeTargets, testMasterKey, type StoreTarget, type TestLocation } from '../helpers/db.ts';

async function withLocation(target: StoreTarget, work: (location: TestLocation) => Promise<void>): Promise<void> {
  const location = await target.fresh();
  try {
    await work(location);
  } finally {
    await location.cleanup();
  }
}

/** Rejects with a StoreStartupError whose message matches every pattern and contains none of `secrets`. */
async function refusesToStart(promise: Promise<unknown>, patterns: RegExp[], secrets: string[] = []): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StoreStartupError, `expected StoreStartupError, got ${String(error)}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    for (const secret of secrets)
      assert.ok(!error.message.includes(secret), 'the message must not contain key material');
    return true;
  });
}

/** Seals one secret under each of `count` data keys; returns them with their contexts. */
async function sealUnderManyDataKeys(
  store: StoreHandle,
  count: number,
): Promise<Array<{ sealed: SealedSecret; context: string; plain: string }>> {
  const out = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) await store.rotateDataKey();
    const plain = `secret-${i}`;
    const context = `test:${i}`;
    out.push({ sealed: await store.vault.seal(Buffer.from(plain), context), context, plain });
  }
  assert.equal(new Set(out.map((s) => s.sealed.dataKeyId)).size, count, 'one data key each');
  return out;
}

async function assertAllOpen(
  store: StoreHandle,
  secrets: Array<{ sealed: SealedSecret; context: string; plain: string }>,
): Promise<void> {
  for (const s of secrets) assert.equal((await store.vault.open(s.sealed, s.context)).toString(), s.plain);
}

const sealedFails = (error: unknown) => isAppErrorWithCode(error, 'internal');

for (const target of storeTargets) {
  describe(`${target.name}: vault and master key`, { skip: target.skip }, () => {
    it('seals with a fresh nonce, opens with the same context only, and detects altered bytes', () =>
      withLocation(target, async (location) => {
        const store = await openStore(location.options());
        try {
          const secret = Buffer.from('-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n');
          const a = await store.vault.seal(secret, 'certificate-key:1');
          const b = await store.vault.seal(secret, 'certificate-key:1');
          assert.ok(!a.blob.equals(b.blob), 'random nonce per seal');
          assert.equal(a.blob.length, 12 + secret.length + 16, 'nonce ‖ ciphertext ‖ tag');
          assert.ok(!a.blob.includes(secret));
          assert.deepEqual(await store.vault.open(a, 'certificate-key:1'), secret);
          await assert.rejects(store.vault.open(a, 'certificate-key:2'), sealedFails);
          const altered = Buffer.from(a.blob);
          altered[20]! ^= 1;
          await assert.rejects(store.vault.open({ ...a, blob: altered }, 'certificate-key:1'), sealedFails);
          await assert.rejects(
            store.vault.open({ ...a, blob: a.blob.subarray(0, 10) }, 'certificate-key:1'),
            sealedFails,
          );
          await assert.rejects(store.vault.open({ ...a, dataKeyId: 999_999 }, 'certificate-key:1'), sealedFails);
        } finally {
          await store.close();
        }
      }));

    it('creates the data directory 0700 and the key file 0600 on first start, and reuses it', () =>
      withLocation(target, async (location) => {
        const dataDir = join(location.dataDir, 'nested', 'data');
        const first = await openStore(location.options({ dataDir }));
        const sealed = await first.vault.seal(Buffer.from('x'), 'ctx');
        await first.close();
        assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
        const keyFile = join(dataDir, 'master.key');
        assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
        const keyText = await readFile(keyFile, 'utf8');
        assert.equal(Buffer.from(keyText.trim(), 'base64').length, 32);

        const second = await openStore(location.options({ dataDir }));
        assert.equal((await second.vault.open(sealed, 'ctx')).toString(), 'x');
        await second.close();
        assert.equal(await readFile(keyFile, 'utf8'), keyText, 'not replaced');
      }));

    it('refuses a malformed CERTKEEPER_MASTER_KEY, naming the variable', () =>
      withLocation(target, async (location) => {
        const short = randomBytes(16).toString('base64');
        await refusesToStart(
          openStore(location.options({ masterKey: short })),
          [/CERTKEEPER_MASTER_KEY/, /32 bytes/, /16 bytes/, /openssl rand -base64 32/],
          [short],
        );
        await refusesToStart(openStore(location.options({ masterKey: 'not base64 at all!' })), [
          /CERTKEEPER_MASTER_KEY/,
          /not base64/,
        ]);
        await refusesToStart(openStore(location.options({ masterKey: '' })), [/CERTKEEPER_MASTER_KEY/, /empty/]);
      }));

    it('refuses a wrong CERTKEEPER_MASTER_KEY with an actionable message', () =>
      withLocation(target, async (location) => {
        const right = testMasterKey();
        const store = await openStore(location.options({ masterKey: right }));
        await store.vault.seal(Buffer.from('x'), 'ctx');
        await store.close();
        const wrong = testMasterKey();
        await refusesToStart(
          openStore(location.options({ masterKey: wrong })),
          [/CERTKEEPER_MASTER_KEY does not match/, /Set CERTKEEPER_MASTER_KEY to the key this store was created with/],
          [right, wrong],
        );
        // Nor does the key file mode quietly create a new key over the existing data.
        await refusesToStart(openStore(location.options()), [
          /master\.key does not exist/,
          /CERTKEEPER_MASTER_KEY/,
          /will not create a new master key/,
        ]);
        assert.equal(existsSync(join(location.dataDir, 'master.key')), false);
        const again = await openStore(location.options({ masterKey: right }));
        await again.close();
      }));

    it('refuses a wrong key file, naming the file', () =>
      withLocation(target, async (location) => {
        const store = await openStore(location.options());
        await store.close();
        const keyFile = join(location.dataDir, 'master.key');
        const original = await readFile(keyFile, 'utf8');
        const other = testMasterKey();
        await writeFile(keyFile, `${other}\n`);
        await refusesToStart(
          openStore(location.options()),
          [new RegExp(`master key file ${keyFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} does not match`), /Put back/],
          [other, original.trim()],
        );
        await writeFile(keyFile, 'garbage');
        await refusesToStart(openStore(location.options()), [/does not hold a 32-byte base64 key/]);
      }));

    it('refuses to start when the key file is missing but the store holds data', () =>
      withLocation(target, async (location) => {
        const store = await openStore(location.options());
        await store.close();
        await rm(join(location.dataDir, 'master.key'));
        await refusesToStart(openStore(location.options()), [
          /holds encrypted data/,
          /master\.key does not exist/,
          /Restore/,
          /CERTKEEPER_MASTER_KEY/,
        ]);
        assert.equal(existsSync(join(location.dataDir, 'master.key')), false, 'no new key file over existing data');
      }));

    it('rotates a key-file master key in batches, resumes after an interruption, and retires the old key', () =>
      withLocation(target, async (location) => {
        let store = await openStore(location.options());
        const secrets = await sealUnderManyDataKeys(store, 5);
        const keyFile = join(location.dataDir, 'master.key');
        const oldKey = (await readFile(keyFile, 'utf8')).trim();

        let batches = 0;
        await assert.rejects(
          store.rotateMasterKey(undefined, {
            batchSize: 2,
            afterBatch: () => {
              batches += 1;
              throw new Error('interrupted after the first batch');
            },
          }),
          /interrupted/,
        );
        assert.equal(batches, 1);
        assert.ok(existsSync(`${keyFile}.next`), 'the new key waits in master.key.next');
        assert.equal((await readFile(keyFile, 'utf8')).trim(), oldKey, 'master.key unchanged until the end');
        await assertAllOpen(store, secrets);
        await store.close();

        // Restart in the middle: everything still opens.
        store = await openStore(location.options());
        await assertAllOpen(store, secrets);
        const done = await store.rotateMasterKey(undefined, { batchSize: 2 });
        assert.equal(done.rewrapped, 3, 'only what was left');
        assert.match(done.instructions, /Back up/);
        assert.ok(!done.instructions.includes(oldKey));
        assert.equal(existsSync(`${keyFile}.next`), false);
        const newKey = (await readFile(keyFile, 'utf8')).trim();
        assert.notEqual(newKey, oldKey);
        assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
        await assertAllOpen(store, secrets);
        const sealedAfter = await store.vault.seal(Buffer.from('after'), 'after');
        await store.close();

        await refusesToStart(openStore(location.options({ masterKey: oldKey })), [/does not match/], [oldKey, newKey]);
        store = await openStore(location.options());
        await assertAllOpen(store, [...secrets, { sealed: sealedAfter, context: 'after', plain: 'after' }]);
        await store.close();
        store = await openStore(location.options({ masterKey: newKey }));
        await assertAllOpen(store, secrets);
        await store.close();
      }));

    it('rotates an environment master key in batches, resumable, after which only the new key opens the store', () =>
      withLocation(target, async (location) => {
        const oldKey = testMasterKey();
        const newKey = testMasterKey();
        let store = await openStore(location.options({ masterKey: oldKey }));
        const secrets = await sealUnderManyDataKeys(store, 5);
        await assert.rejects(
          store.rotateMasterKey(),
          (e: unknown) => isAppErrorWithCode(e, 'invalid_argument') && /openssl rand -base64 32/.test(e.message),
        );
        await assert.rejects(
          store.rotateMasterKey(newKey, {
            batchSize: 2,
            afterBatch: () => {
              throw new Error('interrupted after the first batch');
            },
          }),
          /interrupted/,
        );
        await store.close();

        // Mid-rotation the old key still opens everything; the new one not yet.
        await refusesToStart(
          openStore(location.options({ masterKey: newKey })),
          [/rotation was started and has not finished/],
          [oldKey, newKey],
        );
        store = await openStore(location.options({ masterKey: oldKey }));
        await assertAllOpen(store, secrets);
        const done = await store.rotateMasterKey(newKey, { batchSize: 2 });
        assert.equal(done.rewrapped, 3);
        assert.match(done.instructions, /Set CERTKEEPER_MASTER_KEY to the new key/);
        assert.ok(!done.instructions.includes(newKey));
        await assertAllOpen(store, secrets);
        await store.close();

        await refusesToStart(
          openStore(location.options({ masterKey: oldKey })),
          [/CERTKEEPER_MASTER_KEY does not match/],
          [oldKey, newKey],
        );
        store = await openStore(location.options({ masterKey: newKey }));
        await assertAllOpen(store, secrets);
        // A second rotation from here works the same way.
        const third = testMasterKey();
        assert.equal((await store.rotateMasterKey(third)).rewrapped, 5);
        await store.close();
        store = await openStore(location.options({ masterKey: third }));
        await assertAllOpen(store, secrets);
        await store.close();
      }));
  });
}
