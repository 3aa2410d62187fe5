/**
 * Contract: versions and recoverable deletion in the certificate repository (migration 0012), on
 * every store. A replace keeps what it replaced (PEM, chain, key re-sealed, facts, who and when)
 * in its own transaction; a delete keeps key, file and versions until purged; restore and purge
 * apply to the right states only, each once, and a restore that would collide is refused with
 * the colliding field. Each test works in its own tenant.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isAppErrorWithCode } from '../../src/domain/errors.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import {
  countRows,
  makeTenant,
  newCertificate,
  rawQuery,
  storeTargets,
  testFacts,
  type TestLocation,
} from '../helpers/db.ts';

const DAY = 86_400_000;
const t0 = new Date('2026-11-01T00:00:00.000Z');
const later = (ms: number): Date => new Date(t0.getTime() + ms);

for (const target of storeTargets) {
  describe(`${target.name}: certificate versions and recovery`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    let failNextCommit = false;
    const hooks = {
      beforeCommit: () => {
        if (failNextCommit) {
          failNextCommit = false;
          throw new Error('injected failure before commit');
        }
      },
    };
    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ hooks }));
    });
    after(async () => {
      await store?.close();
      await location?.cleanup();
    });

    const replacementOf = (overrides: Parameters<typeof newCertificate>[1] = {}) => {
      const { tenantId: _t, name: _n, type: _y, ...rest } = newCertificate(0, overrides);
      return rest;
    };

    it('a replace keeps the replaced version whole, its key re-sealed, and bumps the current number', async () => {
      const tenant = await makeTenant(store);
      const first = await store.certificates.insert(
        newCertificate(tenant.id, { privateKeyPem: 'KEY-1', chainPems: ['CHAIN-1'], origin: 'nhn' }),
        t0,
      );
      assert.equal(await store.certificateVersions.currentVersion(tenant.id, first.certificateNo), 1);
      const second = replacementOf({ privateKeyPem: 'KEY-2' });
      await store.certificates.replace(tenant.id, first.certificateNo, second, later(1000), 'AKREPLACER');
      await store.certificates.replace(tenant.id, first.certificateNo, replacementOf(), later(2000));

      assert.equal(await store.certificateVersions.currentVersion(tenant.id, first.certificateNo), 3);
      const versions = await store.certificateVersions.list(tenant.id, first.certificateNo);
      assert.deepEqual(
        versions.map((v) => [v.version, v.replacedBy, v.replacedAt.getTime(), v.currentSince.getTime()]),
        [
          [2, 'system', later(2000).getTime(), later(1000).getTime()],
          [1, 'AKREPLACER', later(1000).getTime(), t0.getTime()],
        ],
      );
      const v1 = await store.certificateVersions.get(tenant.id, first.certificateNo, 1);
      assert.equal(v1?.certificatePem, first.certificatePem);
      assert.deepEqual(v1?.chainPems, ['CHAIN-1']);
      assert.equal(v1?.facts.fingerprintSha256, first.facts.fingerprintSha256);
      assert.deepEqual(v1?.facts.notAfter, first.facts.notAfter);
      assert.equal(v1?.origin, 'nhn');
      assert.equal(v1?.hasPrivateKey, true);
      assert.equal(v1?.hasChain, true);
      assert.equal(await store.certificateVersions.readPrivateKey(tenant.id, first.certificateNo, 1), 'KEY-1');
      assert.equal(await store.certificateVersions.readPrivateKey(tenant.id, first.certificateNo, 2), 'KEY-2');
      assert.equal(await store.certificates.readPrivateKey(tenant.id, first.certificateNo), null);
      assert.equal(await store.certificateVersions.get(tenant.id, first.certificateNo, 3), null, 'current is no row');
      assert.equal(await store.certificateVersions.get(tenant.id, first.certificateNo, 9), null);

      // The version's sealed key is not the current key's blob: it opens under its own context only.
      const [row] = await rawQuery(
        location,
        `select sealed_key from certificate_versions where certificate_no = ${first.certificateNo} and version = 1`,
      );
      const blob = Buffer.from(row?.sealed_key as Uint8Array);
      const [keyRow] = await rawQuery(
        location,
        `select key_data_key_id from certificate_versions where certificate_no = ${first.certificateNo} and version = 1`,
      );
      await assert.rejects(
        store.vault.open(
          { dataKeyId: Number(keyRow?.key_data_key_id), blob },
          `certificate-key:${first.certificateNo}`,
        ),
      );

      // Lists and counters see one certificate.
      const page = await store.certificates.list({ tenantId: tenant.id, asOf: t0, offset: 0, limit: 10 });
      assert.equal(page.total, 1);
      assert.equal(page.items.length, 1);
      // Another tenant sees no versions.
      const other = await makeTenant(store);
      assert.deepEqual(await store.certificateVersions.list(other.id, first.certificateNo), []);
      assert.equal(await store.certificateVersions.readPrivateKey(other.id, first.certificateNo, 1), null);
    });

    it('a replace that fails before commit leaves the old version current and no version row', async () => {
      const tenant = await makeTenant(store);
      const first = await store.certificates.insert(newCertificate(tenant.id, { privateKeyPem: 'OLD' }), t0);
      const rows = await countRows(location, 'certificate_versions');
      failNextCommit = true;
      await assert.rejects(
        store.certificates.replace(tenant.id, first.certificateNo, replacementOf({ privateKeyPem: 'NEW' }), later(1)),
        /injected failure/,
      );
      assert.equal(await countRows(location, 'certificate_versions'), rows);
      assert.equal(await store.certificateVersions.currentVersion(tenant.id, first.certificateNo), 1);
      const current = await store.certificates.get(tenant.id, first.certificateNo);
      assert.equal(current?.facts.fingerprintSha256, first.facts.fingerprintSha256);
      assert.equal(await store.certificates.readPrivateKey(tenant.id, first.certificateNo), 'OLD');
    });

    it('restores a deleted certificate whole: key, file, versions, counters; refuses other states', async () => {
      const tenant = await makeTenant(store);
      const cert = await store.certificates.insert(
        newCertificate(tenant.id, { privateKeyPem: 'KEY', file: { name: 'f.pem', bytes: Buffer.from('F') } }),
        t0,
      );
      await store.certificates.replace(
        tenant.id,
        cert.certificateNo,
        replacementOf({ privateKeyPem: 'KEY2', file: { name: 'g.pem', bytes: Buffer.from('G') } }),
        later(1),
      );
      assert.equal(await store.certificates.restore(tenant.id, cert.certificateNo, later(2)), 'live');
      assert.equal(await store.certificates.purge(tenant.id, cert.certificateNo, later(2)), 'live');
      assert.equal(await store.certificates.restore(tenant.id, 987_654_321, later(2)), 'missing');
      assert.equal(await store.certificates.markDeleted(tenant.id, cert.certificateNo, later(3)), true);
      assert.equal((await store.certificates.countByValidity(tenant.id, t0)).valid, 0);
      assert.equal((await store.certificates.getRecoverable(tenant.id, cert.certificateNo))?.name, cert.name);

      const restored = await store.certificates.restore(tenant.id, cert.certificateNo, later(4));
      assert.ok(typeof restored !== 'string');
      assert.equal(restored.deletedAt, null);
      assert.deepEqual(restored.updatedAt, later(4));
      assert.equal(await store.certificates.readPrivateKey(tenant.id, cert.certificateNo), 'KEY2');
      assert.equal((await store.certificates.readFile(tenant.id, cert.certificateNo))?.bytes.toString(), 'G');
      assert.equal((await store.certificateVersions.list(tenant.id, cert.certificateNo)).length, 1);
      assert.equal((await store.certificates.countByValidity(tenant.id, t0)).valid + 0, 0, 'notBefore is 2026-01-01');
      const counts = await store.certificates.countByValidity(tenant.id, later(0));
      assert.equal(counts.valid + counts.expired + counts.notYetValid, 1);
      assert.equal(await store.certificates.getRecoverable(tenant.id, cert.certificateNo), null);
      // The restore is a change in recentChanges.
      const changes = await store.certificates.list({
        tenantId: tenant.id,
        asOf: later(4),
        changedBetween: { from: later(4), to: later(5) },
        offset: 0,
        limit: 10,
      });
      assert.deepEqual(
        changes.items.map((c) => [c.certificateNo, c.deletedAt]),
        [[cert.certificateNo, null]],
      );

      // Delete again and purge: nothing of it stays recoverable.
      await store.certificates.markDeleted(tenant.id, cert.certificateNo, later(5));
      assert.equal(await store.certificates.purge(tenant.id, cert.certificateNo, later(6)), true);
      assert.equal(await store.certificates.purge(tenant.id, cert.certificateNo, later(7)), 'purged');
      assert.equal(await store.certificates.restore(tenant.id, cert.certificateNo, later(7)), 'purged');
      assert.deepEqual(await store.certificateVersions.list(tenant.id, cert.certificateNo), []);
      const [row] = await rawQuery(
        location,
        `select (select count(*) from certificate_keys where certificate_no = ${cert.certificateNo}) as k,
                (select count(*) from certificate_files where certificate_no = ${cert.certificateNo}) as f`,
      );
      assert.deepEqual([Number(row?.k), Number(row?.f)], [0, 0]);
      // Other tenants cannot restore or purge it.
      const other = await makeTenant(store);
      const second = await store.certificates.insert(newCertificate(tenant.id), t0);
      await store.certificates.markDeleted(tenant.id, second.certificateNo, later(1));
      assert.equal(await store.certificates.restore(other.id, second.certificateNo, later(2)), 'missing');
      assert.equal(await store.certificates.purge(other.id, second.certificateNo, later(2)), 'missing');
    });

    it('refuses a restore that would collide with a live name, certificate or key, changing nothing', async () => {
      const tenant = await makeTenant(store);
      const facts = testFacts();
      const deletedOne = await store.certificates.insert(newCertificate(tenant.id, { name: 'www', facts }), t0);
      await store.certificates.markDeleted(tenant.id, deletedOne.certificateNo, later(1));
      const live = await store.certificates.insert(newCertificate(tenant.id, { name: 'www' }), later(2));
      const field = (expected: string) => (error: unknown) =>
        isAppErrorWithCode(error, 'already_exists') && error.field === expected;
      await assert.rejects(store.certificates.restore(tenant.id, deletedOne.certificateNo, later(3)), field('name'));
      await store.certificates.markDeleted(tenant.id, live.certificateNo, later(4));
      const sameKey = await store.certificates.insert(
        newCertificate(tenant.id, { facts: { publicKeyFingerprintSha256: facts.publicKeyFingerprintSha256 } }),
        later(5),
      );
      await assert.rejects(
        store.certificates.restore(tenant.id, deletedOne.certificateNo, later(6)),
        field('privateKey'),
      );
      await store.certificates.markDeleted(tenant.id, sameKey.certificateNo, later(7));
      const sameCertificate = await store.certificates.insert(
        newCertificate(tenant.id, { facts: { fingerprintSha256: facts.fingerprintSha256 } }),
        later(8),
      );
      await assert.rejects(
        store.certificates.restore(tenant.id, deletedOne.certificateNo, later(9)),
        field('certificate'),
      );
      const page = await store.certificates.list({ tenantId: tenant.id, asOf: t0, offset: 0, limit: 10 });
      assert.deepEqual(
        page.items.map((c) => c.certificateNo),
        [sameCertificate.certificateNo],
      );
      assert.equal(page.total, 1);
      await store.certificates.markDeleted(tenant.id, sameCertificate.certificateNo, later(10));
      const restored = await store.certificates.restore(tenant.id, deletedOne.certificateNo, later(11));
      assert.ok(typeof restored !== 'string' && restored.name === 'www');
    });

    it('lists recoverable certificates, most recently deleted first, with an exact total', async () => {
      const tenant = await makeTenant(store);
      const made = [];
      for (let i = 0; i < 5; i++) made.push(await store.certificates.insert(newCertificate(tenant.id), t0));
      for (const [i, cert] of made.entries())
        await store.certificates.markDeleted(tenant.id, cert.certificateNo, later(i));
      await store.certificates.purge(tenant.id, made[1]!.certificateNo, later(10));
      await store.certificates.restore(tenant.id, made[3]!.certificateNo, later(11));
      const page = await store.certificates.listDeleted(tenant.id, { offset: 0, limit: 2 });
      assert.equal(page.total, 3);
      assert.deepEqual(
        page.items.map((c) => c.certificateNo),
        [made[4]!.certificateNo, made[2]!.certificateNo],
      );
      const rest = await store.certificates.listDeleted(tenant.id, { offset: 2, limit: 2 });
      assert.deepEqual(
        rest.items.map((c) => c.certificateNo),
        [made[0]!.certificateNo],
      );
    });

    it('the retention pass purges what is due, at most a batch, each row once across concurrent passes', async () => {
      const tenant = await makeTenant(store);
      // Long before every other test's writes: the pass spans tenants.
      const base = new Date('2000-01-01T00:00:00.000Z');
      const at = (d: number) => new Date(base.getTime() + d * DAY);
      const deleted = [];
      for (let i = 0; i < 6; i++) {
        const cert = await store.certificates.insert(newCertificate(tenant.id, { privateKeyPem: `K${i}` }), at(0));
        await store.certificates.markDeleted(tenant.id, cert.certificateNo, at(i));
        deleted.push(cert);
      }
      const kept = await store.certificates.insert(newCertificate(tenant.id), at(0));
      for (let i = 0; i < 4; i++)
        await store.certificates.replace(tenant.id, kept.certificateNo, replacementOf(), at(i));

      // Deleted before day 4: 0, 1, 2, 3. Replaced before day 2: versions 1 and 2. Batch 3.
      const options = { deletedBefore: at(4), replacedBefore: at(2), limit: 3, at: at(10) };
      const passes = await Promise.all([
        store.certificates.purgeExpired(options),
        store.certificates.purgeExpired(options),
      ]);
      const first = passes.reduce((sum, p) => ({
        certificates: sum.certificates + p.certificates,
        versions: sum.versions + p.versions,
      }));
      for (const pass of passes) assert.ok(pass.certificates <= 3 && pass.versions <= 3, 'at most a batch');
      const again = await store.certificates.purgeExpired(options);
      const last = await store.certificates.purgeExpired(options);
      assert.equal(first.certificates + again.certificates + last.certificates, 4);
      assert.equal(first.versions + again.versions + last.versions, 2);
      assert.equal(last.certificates + last.versions, 0);
      const recoverable = await store.certificates.listDeleted(tenant.id, { offset: 0, limit: 10 });
      assert.deepEqual(
        recoverable.items.map((c) => c.certificateNo),
        [deleted[5]!.certificateNo, deleted[4]!.certificateNo],
      );
      assert.deepEqual(
        (await store.certificateVersions.list(tenant.id, kept.certificateNo)).map((v) => v.version),
        [4, 3],
      );
      // Without a version cutoff (retention 0: forever) no version is dropped.
      const none = await store.certificates.purgeExpired({ ...options, replacedBefore: null, deletedBefore: null });
      assert.deepEqual(none, { certificates: 0, versions: 0 });
      assert.equal((await store.certificateVersions.list(tenant.id, kept.certificateNo)).length, 2);
    });
  });
}
