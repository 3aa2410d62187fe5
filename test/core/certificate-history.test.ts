/**
 * Core use-cases of issue 17 against a real store (both): replace in place keeps versions (key
 * kept when unchanged, refused when another live certificate holds it), versions and their
 * downloads (key reads audited as `certificate.key.read`), soft delete, restore (collisions
 * refused naming the holder), purge, the retention settings and the retention pass. Every refusal
 * writes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Actor } from '../../src/core/actor.ts';
import type { ReplaceOptions } from '../../src/core/certificates.ts';
import { createCore, type Core } from '../../src/core/core.ts';
import { createRetentionWorker } from '../../src/core/retention.ts';
import { DEFAULT_NOTIFICATION_SETTINGS } from '../../src/core/notifications/service.ts';
import { AppError, type ErrorCode } from '../../src/domain/errors.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { TestClock } from '../helpers/app.ts';
import { countRows, storeTargets, testMasterKey, type TestLocation } from '../helpers/db.ts';
import { mintBundle, mintLeaf, type Bundle } from '../helpers/pki.ts';

const DAY = 86_400_000;
const cli: ReplaceOptions = {
  origin: 'cli',
  policy: { requireKey: false, allowEd25519: true, nameRule: null },
  keepCurrentKey: true,
};

async function rejects(work: Promise<unknown>, code: ErrorCode, field?: string, message?: RegExp): Promise<AppError> {
  let caught: AppError | null = null;
  await assert.rejects(work, (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, code, error.message);
    if (field !== undefined) assert.equal(error.field, field, error.message);
    if (message) assert.match(error.message, message);
    caught = error;
    return true;
  });
  return caught as unknown as AppError;
}

for (const target of storeTargets) {
  describe(`core replace, versions and recovery on ${target.name}`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    let core: Core;
    let clock: TestClock;
    let bundle: Bundle;
    let tenantNo = 0;

    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ masterKey: testMasterKey() }));
      clock = new TestClock(new Date());
      core = createCore(store, clock);
      bundle = await mintBundle();
    });
    after(async () => {
      await store?.close();
      await location?.cleanup();
    });

    /** An ADMIN and a VIEWER of a new tenant: the pooled test keys collide only within one. */
    async function actors(): Promise<{ admin: Actor; viewer: Actor }> {
      const tenant = await core.tenants.create(`history-${++tenantNo}`);
      return {
        admin: { tenantId: tenant.id, id: `ADMIN-${tenantNo}`, role: 'ADMIN', remoteAddress: null },
        viewer: { tenantId: tenant.id, id: `VIEWER-${tenantNo}`, role: 'VIEWER', remoteAddress: null },
      };
    }

    const importLeaf = (actor: Actor, name: string, leaf = bundle.leaf) =>
      core.certificates.import(
        actor,
        { name, certificate: leaf.pem, privateKey: leaf.keyPem, chain: bundle.chainPem },
        cli,
      );

    it('replaces in place keeping the current key when unchanged; the old version stays downloadable', async () => {
      const { admin, viewer } = await actors();
      const first = await importLeaf(admin, 'www');
      // A renewal with the same (pooled) key, given without the key.
      const renewed = await mintLeaf(bundle.intermediate, { serial: '0a0b0c' });
      clock.advance(1000);
      const replaced = await core.certificates.replace(
        admin,
        first.certificateNo,
        { name: 'www', certificate: renewed.pem, chain: bundle.chainPem },
        cli,
      );
      assert.equal(replaced.certificateNo, first.certificateNo);
      assert.equal(replaced.name, 'www');
      assert.equal(replaced.hasPrivateKey, true);
      assert.equal(replaced.facts.serialNumber.toLowerCase().replace(/^0+/, ''), 'a0b0c');
      const current = await core.certificates.export(admin, first.certificateNo, { includeKey: true });
      assert.equal(current.privateKeyPem?.trim(), bundle.leaf.keyPem.trim());

      const { currentVersion, previous } = await core.certificates.versions(viewer, first.certificateNo);
      assert.equal(currentVersion, 2);
      assert.deepEqual(
        previous.map((v) => [v.version, v.replacedBy, v.facts.fingerprintSha256]),
        [[1, admin.id, first.facts.fingerprintSha256]],
      );
      const old = await core.certificates.exportVersion(admin, first.certificateNo, 1, { includeKey: true });
      assert.equal(old.certificatePem, first.certificatePem);
      assert.deepEqual(old.chainPems, first.chainPems);
      assert.equal(old.privateKeyPem?.trim(), bundle.leaf.keyPem.trim());
      const now = await core.certificates.exportVersion(viewer, first.certificateNo, 2, { includeKey: false });
      assert.equal(now.certificatePem, replaced.certificatePem);

      // Key reads of versions are audited like current key reads; a VIEWER is refused and audited.
      await rejects(
        core.certificates.exportVersion(viewer, first.certificateNo, 1, { includeKey: true }),
        'permission_denied',
      );
      const events = await core.audit.list(admin, { target: `certificate:${first.certificateNo}`, limit: 20 });
      const keyReads = events.filter((e) => e.action === 'certificate.key.read');
      assert.deepEqual(
        keyReads.map((e) => [e.actor, e.result, e.detail.version ?? null]),
        [
          [viewer.id, 'failure', 1],
          [admin.id, 'success', 1],
          [admin.id, 'success', null],
        ],
      );
      assert.ok(events.some((e) => e.action === 'certificate.replace' && e.result === 'success'));

      // Lists and counters see one certificate.
      assert.equal((await core.certificates.list(viewer, { offset: 0, limit: 10 })).total, 1);
    });

    it('a replacement with another key needs that key; it may not take a key or certificate another live one holds', async () => {
      const { admin } = await actors();
      const own = await mintLeaf(bundle.intermediate, { freshKey: true, cn: 'one.example.com' });
      const first = await importLeaf(admin, 'one', own);
      // 'two' holds the pooled test key.
      const second = await importLeaf(admin, 'two');
      const versions = await countRows(location, 'certificate_versions');

      const fresh = await mintLeaf(bundle.intermediate, { freshKey: true, cn: 'new.example.com' });
      await rejects(
        core.certificates.replace(
          admin,
          first.certificateNo,
          { name: 'one', certificate: fresh.pem, chain: bundle.chainPem },
          cli,
        ),
        'key_missing',
        'privateKey',
        /different key/,
      );
      await rejects(
        core.certificates.replace(
          admin,
          first.certificateNo,
          { name: 'one', certificate: bundle.leaf.pem, privateKey: bundle.leaf.keyPem, chain: bundle.chainPem },
          cli,
        ),
        'already_exists',
        'certificate',
        /'two'/,
      );
      const pooledKey = await mintLeaf(bundle.intermediate, { cn: 'pooled.example.com' });
      await rejects(
        core.certificates.replace(
          admin,
          first.certificateNo,
          { name: 'one', certificate: pooledKey.pem, privateKey: pooledKey.keyPem, chain: bundle.chainPem },
          cli,
        ),
        'already_exists',
        'privateKey',
        /'two'/,
      );
      await rejects(
        core.certificates.replace(admin, first.certificateNo, { name: 'one', certificate: 'not a pem' }, cli),
        'pem_malformed',
      );
      await rejects(
        core.certificates.replace(
          admin,
          987654,
          { name: 'one', certificate: fresh.pem, privateKey: fresh.keyPem },
          cli,
        ),
        'not_found',
      );
      assert.equal(await countRows(location, 'certificate_versions'), versions, 'refusals keep no version');
      assert.equal(
        (await core.certificates.get(admin, first.certificateNo)).facts.fingerprintSha256,
        first.facts.fingerprintSha256,
      );
      assert.equal((await core.certificates.get(admin, second.certificateNo)).name, 'two');
      // With its own key it goes through.
      const done = await core.certificates.replace(
        admin,
        first.certificateNo,
        { name: 'one', certificate: fresh.pem, privateKey: fresh.keyPem, chain: bundle.chainPem },
        cli,
      );
      assert.equal(
        done.facts.fingerprintSha256,
        (await core.certificates.get(admin, first.certificateNo)).facts.fingerprintSha256,
      );
      assert.notEqual(done.facts.fingerprintSha256, first.facts.fingerprintSha256);
      assert.equal(await countRows(location, 'certificate_versions'), versions + 1);
    });

    it('bad version numbers are not_found naming the versions there are; nothing is read or written', async () => {
      const { admin } = await actors();
      const first = await importLeaf(admin, 'v');
      for (const version of [0, 2, -1, 1.5, Number.MAX_SAFE_INTEGER + 2]) {
        await rejects(
          core.certificates.exportVersion(admin, first.certificateNo, version, { includeKey: true }),
          'not_found',
          'version',
          /its versions are 1 \(1 is current\)/,
        );
      }
      await rejects(core.certificates.versions(admin, 987654), 'not_found');
      await rejects(core.certificates.exportVersion(admin, 987654, 1, { includeKey: false }), 'not_found');
      const reads = await core.audit.list(admin, { target: `certificate:${first.certificateNo}`, limit: 50 });
      assert.equal(reads.filter((e) => e.action === 'certificate.key.read').length, 0);
    });

    it('delete is recoverable: restore brings it back whole; a collision is refused naming the holder', async () => {
      const { admin, viewer } = await actors();
      const first = await importLeaf(admin, 'api');
      await core.certificates.replace(
        admin,
        first.certificateNo,
        {
          name: 'api',
          certificate: (await mintLeaf(bundle.intermediate, { serial: '0d0e' })).pem,
          chain: bundle.chainPem,
        },
        cli,
      );
      clock.advance(1000);
      await core.certificates.delete(admin, first.certificateNo);
      await rejects(core.certificates.get(admin, first.certificateNo), 'not_found');
      const deleted = await core.certificates.listDeleted(viewer, { offset: 0, limit: 10 });
      assert.equal(deleted.total, 1);
      assert.equal(deleted.items[0]?.certificate.certificateNo, first.certificateNo);
      assert.equal(
        deleted.items[0]?.purgeAfter.getTime(),
        (deleted.items[0]?.certificate.deletedAt?.getTime() ?? 0) + 30 * DAY,
      );

      // Its name and key are free: a new import takes them; the restore is then refused.
      const taker = await importLeaf(admin, 'api');
      const error = await rejects(core.certificates.restore(admin, first.certificateNo), 'already_exists', 'name');
      assert.match(error.message, new RegExp(`certificate ${taker.certificateNo} now has the name 'api'`));
      await core.certificates.delete(admin, taker.certificateNo);
      await core.certificates.purge(admin, taker.certificateNo);
      const sameKey = await importLeaf(admin, 'elsewhere');
      await rejects(
        core.certificates.restore(admin, first.certificateNo),
        'already_exists',
        'privateKey',
        /'elsewhere'/,
      );
      await core.certificates.delete(admin, sameKey.certificateNo);

      await rejects(core.certificates.restore(viewer, first.certificateNo), 'permission_denied');
      const restored = await core.certificates.restore(admin, first.certificateNo);
      assert.equal(restored.name, 'api');
      assert.equal(restored.deletedAt, null);
      assert.equal((await core.certificates.versions(admin, first.certificateNo)).previous.length, 1);
      assert.equal(
        (await core.certificates.export(admin, first.certificateNo, { includeKey: true })).privateKeyPem?.trim(),
        bundle.leaf.keyPem.trim(),
      );
      const listed = await core.certificates.list(admin, { offset: 0, limit: 10 });
      assert.deepEqual(
        listed.items.map((c) => c.certificateNo),
        [first.certificateNo],
      );
      assert.equal(listed.total, 1);

      await rejects(core.certificates.restore(admin, first.certificateNo), 'conflict', 'certificateNo', /not deleted/);
      await rejects(
        core.certificates.purge(admin, first.certificateNo),
        'conflict',
        'certificateNo',
        /delete it first/,
      );
      await rejects(core.certificates.restore(admin, taker.certificateNo), 'not_found', 'certificateNo', /purged/);
      await rejects(core.certificates.purge(admin, taker.certificateNo), 'not_found', 'certificateNo', /purged/);
      await rejects(core.certificates.restore(admin, 987654), 'not_found');
      const events = await core.audit.list(admin, { action: 'certificate.restore', limit: 20 });
      assert.ok(events.some((e) => e.target === `certificate:${first.certificateNo}` && e.result === 'success'));
      assert.ok(events.some((e) => e.result === 'failure' && e.detail.code === 'already_exists'));
    });

    it('a delete retention of 0 purges at deletion; the retention pass purges what its windows let go', async () => {
      const zero = createCore(store, clock, DEFAULT_NOTIFICATION_SETTINGS, {
        deleteRetentionDays: 0,
        versionRetentionDays: 0,
      });
      const { admin } = await actors();
      const gone = await importLeaf(admin, 'gone');
      await zero.certificates.delete(admin, gone.certificateNo);
      assert.equal((await zero.certificates.listDeleted(admin, { offset: 0, limit: 10 })).total, 0);
      await rejects(zero.certificates.restore(admin, gone.certificateNo), 'not_found', 'certificateNo', /purged/);

      // Windows of 2 days for deletions and 5 for versions.
      const settings = { deleteRetentionDays: 2, versionRetentionDays: 5 };
      const windowed = createCore(store, clock, DEFAULT_NOTIFICATION_SETTINGS, settings);
      const { admin: owner } = await actors();
      const kept = await importLeaf(owner, 'kept');
      await windowed.certificates.replace(
        owner,
        kept.certificateNo,
        {
          name: 'kept',
          certificate: (await mintLeaf(bundle.intermediate, { serial: '0e0f' })).pem,
          chain: bundle.chainPem,
        },
        cli,
      );
      const other = await mintLeaf(bundle.intermediate, { freshKey: true, cn: 'd.example.com' });
      const deleted = await importLeaf(owner, 'deleted', other);
      await windowed.certificates.delete(owner, deleted.certificateNo);
      const worker = createRetentionWorker({ store, clock, settings });
      const start = clock.now().getTime();

      clock.set(new Date(start + 2 * DAY - 1));
      await worker.runOnce();
      assert.equal((await windowed.certificates.listDeleted(owner, { offset: 0, limit: 10 })).total, 1);
      clock.set(new Date(start + 2 * DAY + 1));
      await worker.runOnce();
      assert.equal((await windowed.certificates.listDeleted(owner, { offset: 0, limit: 10 })).total, 0);
      await rejects(
        windowed.certificates.restore(owner, deleted.certificateNo),
        'not_found',
        'certificateNo',
        /purged/,
      );
      assert.equal((await windowed.certificates.versions(owner, kept.certificateNo)).previous.length, 1);
      clock.set(new Date(start + 5 * DAY + 1));
      await worker.runOnce();
      const after5 = await windowed.certificates.versions(owner, kept.certificateNo);
      assert.deepEqual(after5.previous, []);
      assert.equal(after5.currentVersion, 2, 'the current version keeps its number');
      await rejects(
        windowed.certificates.exportVersion(owner, kept.certificateNo, 1, { includeKey: false }),
        'not_found',
        'version',
        /its versions are 2 \(2 is current\)/,
      );
      await worker.stop();
      clock.set(new Date());
    });
  });
}
