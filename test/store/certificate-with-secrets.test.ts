/**
 * Contract (certificates.ts `getWithSecrets`, the NHN file download's read): the live
 * certificate by number or name with its uploaded file and its key, unsealed only when asked.
 * On PostgreSQL (`dialect.mergesReads`) the row and both sealed secrets are one statement, and
 * asking for a secret reads nothing more; the answers are those of `get`/`getByName`, `readFile`
 * and `readPrivateKey` on both stores, in the cases the download's golden bytes never show: no
 * key, a key removed behind the store's back (the left join keeps the certificate), a file
 * without its certificate being live, another tenant's certificate, a deleted one.
 *
 * Statements are counted at the driver (pg Client.query), as bench/lib/server-probe.ts does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { makeTenant, newCertificate, rawExec, storeTargets, testMasterKey, type TestLocation } from '../helpers/db.ts';
import { statementsDuring } from '../helpers/pg-statements.ts';

const AT = new Date(Date.UTC(2026, 2, 1));
const KEY = '-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n';

for (const target of storeTargets) {
  describe(`a certificate with its secrets on ${target.name}`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    let tenantId: number;
    let otherTenantId: number;

    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ masterKey: testMasterKey() }));
      tenantId = (await makeTenant(store)).id;
      otherTenantId = (await makeTenant(store)).id;
    });
    after(async () => {
      await store?.close();
      await location?.cleanup();
    });

    /** getWithSecrets by number and by name agree with the separate reads; on PostgreSQL one statement. */
    async function both(certificateNo: number, name: string, tenant = tenantId) {
      const results = [];
      for (const ref of [{ certificateNo }, { name }]) {
        const { result, statements } = await statementsDuring(() => store.certificates.getWithSecrets(tenant, ref));
        if (target.name === 'postgres') assert.equal(statements, 1, 'one statement');
        if (!result) {
          results.push(null);
          continue;
        }
        const secrets = await statementsDuring(async () => ({
          file: await result.readFile(),
          key: await result.readPrivateKey(),
        }));
        if (target.name === 'postgres') assert.equal(secrets.statements, 0, 'the secrets came with the row');
        assert.deepEqual(result.certificate, await store.certificates.get(tenant, certificateNo));
        assert.deepEqual(secrets.result.file, await store.certificates.readFile(tenant, certificateNo));
        assert.equal(secrets.result.key, await store.certificates.readPrivateKey(tenant, certificateNo));
        results.push({ certificate: result.certificate, ...secrets.result });
      }
      assert.deepEqual(results[0], results[1], 'by number and by name');
      return results[0]!;
    }

    it('a key and no file', async () => {
      const inserted = await store.certificates.insert(newCertificate(tenantId, { privateKeyPem: KEY }), AT);
      const found = await both(inserted.certificateNo, inserted.name);
      assert.ok(found);
      assert.equal(found.key, KEY);
      assert.equal(found.file, null);
    });

    it('an uploaded file and its key', async () => {
      const bytes = Buffer.from('\ufeffuploaded\r\nbytes', 'utf8');
      const inserted = await store.certificates.insert(
        newCertificate(tenantId, { privateKeyPem: KEY, file: { name: 'a.pem', bytes } }),
        AT,
      );
      const found = await both(inserted.certificateNo, inserted.name);
      assert.ok(found);
      assert.deepEqual(found.file, { name: 'a.pem', bytes });
      assert.equal(found.key, KEY);
    });

    it('no key; a key removed behind the store’s back', async () => {
      const keyless = await store.certificates.insert(newCertificate(tenantId), AT);
      const none = await both(keyless.certificateNo, keyless.name);
      assert.ok(none);
      assert.equal(none.key, null);

      const inserted = await store.certificates.insert(newCertificate(tenantId, { privateKeyPem: KEY }), AT);
      await rawExec(location, `delete from certificate_keys where certificate_no = ${inserted.certificateNo}`);
      const removed = await both(inserted.certificateNo, inserted.name);
      assert.ok(removed, 'the certificate is still found');
      assert.equal(removed.key, null);
      assert.equal(removed.certificate.hasPrivateKey, true, 'the row still says it had one');
    });

    it('another tenant’s, a deleted one and an unknown one: none', async () => {
      const foreign = await store.certificates.insert(newCertificate(otherTenantId, { privateKeyPem: KEY }), AT);
      assert.equal(await both(foreign.certificateNo, foreign.name), null);
      assert.ok(await both(foreign.certificateNo, foreign.name, otherTenantId), 'its own tenant finds it');

      const deleted = await store.certificates.insert(newCertificate(tenantId, { privateKeyPem: KEY }), AT);
      assert.equal(await store.certificates.markDeleted(tenantId, deleted.certificateNo, AT), true);
      assert.equal(await both(deleted.certificateNo, deleted.name), null);
      assert.equal(await both(999_999, 'no-such-certificate'), null);
    });
  });
}
