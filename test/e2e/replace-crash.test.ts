/**
 * A replace killed with SIGKILL in the middle leaves the old version current, whole: a real child
 * process (fixtures/replace-child.ts) stops inside the replace's transaction after every row is
 * written (certificate row, archived version, new key, file and domains, counters) and is killed
 * there. On reopening, the certificate, its key, its versions and the counters are the old ones;
 * a replace that is let finish leaves the new one current with the old one as version 1. Both
 * stores (SQLite: the WAL's uncommitted frames are dropped; PostgreSQL: the server rolls back the
 * dead connection's transaction).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openStore } from '../../src/store/open.ts';
import {
  countRows,
  makeTenant,
  newCertificate,
  storeTargets,
  testMasterKey,
  type TestLocation,
} from '../helpers/db.ts';
import { runStoreChild } from '../helpers/store-child.ts';

const CHILD = join(import.meta.dirname, 'fixtures', 'replace-child.ts');

for (const target of storeTargets) {
  describe(`kill -9 in the middle of a replace on ${target.name}`, { skip: target.skip }, () => {
    let location: TestLocation;
    const masterKey = testMasterKey();
    before(async () => {
      location = await target.fresh();
    });
    after(async () => {
      await location?.cleanup();
    });

    /** Runs the child; with `hang`, kills it with SIGKILL once it is inside the transaction. */
    function replaceInChild(certificateNo: number, tenantId: number, replacement: unknown, hang: boolean) {
      const args = [String(certificateNo), String(tenantId), hang ? 'hang' : 'finish'];
      return runStoreChild(CHILD, args, { location, masterKey }, replacement, hang);
    }

    it('leaves the old version current and whole; a finished replace leaves the new one and version 1', async () => {
      let store = await openStore(location.options({ masterKey }));
      const tenant = await makeTenant(store);
      const original = await store.certificates.insert(
        newCertificate(tenant.id, { privateKeyPem: 'OLD-KEY', file: { name: 'old.pem', bytes: Buffer.from('OLD') } }),
        new Date(),
      );
      await store.close();
      const {
        tenantId: _t,
        name: _n,
        type: _y,
        ...replacement
      } = newCertificate(tenant.id, {
        privateKeyPem: 'NEW-KEY',
        file: { name: 'new.pem', bytes: Buffer.from('NEW') },
        facts: { notAfter: new Date(Date.UTC(2031, 0, 1)) },
      });
      const wire = { ...replacement, file: null };

      const killed = await replaceInChild(original.certificateNo, tenant.id, wire, true);
      assert.equal(killed.signal, 'SIGKILL');
      assert.match(killed.stdout, /ready/);

      store = await openStore(location.options({ masterKey }));
      try {
        const current = await store.certificates.get(tenant.id, original.certificateNo);
        assert.equal(current?.facts.fingerprintSha256, original.facts.fingerprintSha256);
        assert.deepEqual(current?.facts.notAfter, original.facts.notAfter);
        assert.equal(await store.certificates.readPrivateKey(tenant.id, original.certificateNo), 'OLD-KEY');
        assert.equal((await store.certificates.readFile(tenant.id, original.certificateNo))?.bytes.toString(), 'OLD');
        assert.equal(await store.certificateVersions.currentVersion(tenant.id, original.certificateNo), 1);
        assert.deepEqual(await store.certificateVersions.list(tenant.id, original.certificateNo), []);
        assert.equal(await countRows(location, 'certificate_versions'), 0);
        const notAfter = original.facts.notAfter;
        const atExpiry = await store.certificates.countByValidity(tenant.id, notAfter);
        const after = await store.certificates.countByValidity(tenant.id, new Date(notAfter.getTime() + 1));
        assert.deepEqual([atExpiry.expired, after.expired], [0, 1], 'the counters hold the old notAfter');
      } finally {
        await store.close();
      }

      const finished = await replaceInChild(original.certificateNo, tenant.id, wire, false);
      assert.equal(finished.signal, null);
      assert.match(finished.stdout, /done/);
      store = await openStore(location.options({ masterKey }));
      try {
        const current = await store.certificates.get(tenant.id, original.certificateNo);
        assert.equal(current?.facts.fingerprintSha256, replacement.facts.fingerprintSha256);
        assert.equal(await store.certificates.readPrivateKey(tenant.id, original.certificateNo), 'NEW-KEY');
        assert.equal(await store.certificateVersions.currentVersion(tenant.id, original.certificateNo), 2);
        const [old] = await store.certificateVersions.list(tenant.id, original.certificateNo);
        assert.equal(old?.facts.fingerprintSha256, original.facts.fingerprintSha256);
        assert.equal(old?.replacedBy, 'child');
        assert.equal(await store.certificateVersions.readPrivateKey(tenant.id, original.certificateNo, 1), 'OLD-KEY');
        const after = await store.certificates.countByValidity(tenant.id, new Date(Date.UTC(2030, 11, 31)));
        assert.equal(after.expired, 0, 'the counters hold the new notAfter');
      } finally {
        await store.close();
      }
    });
  });
}
