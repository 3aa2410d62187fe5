/**
 * A provisioned certificate is in use, across faces: the NCP face lists its slots in
 * `usedInstanceNoList` (the documented `,`-joined form), filters by `instanceNo`, and refuses
 * to delete it with 1004 leaving the store as it was (both APIs); replacing it through NCP v2 or
 * an NHN upload republishes its slots, and the target ends up holding the new certificate.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { storeTargets } from '../../helpers/db.ts';
import { fixture, storeSnapshot, v2Body } from '../ncp/helpers.ts';
import { authFor, makeCa, makeLeaf, nhnFile, upload } from '../nhn/helpers.ts';
import { deployedPair, EDGE, fingerprintOf, FIXTURES, startEdgeApp, type EdgeTestApp } from './helpers.ts';

interface V1Item {
  certificateNo: number;
  usedInstanceNoList?: string;
}

for (const target of storeTargets) {
  describe(`certificates in use by edge slots on ${target.name}`, { skip: target.skip }, () => {
    let app: EdgeTestApp;
    let ec: number;
    let self: number;
    let slots: number[];

    before(async () => {
      app = await startEdgeApp({ store: target.name });
      ec = await app.register('ec-cert', FIXTURES.ec);
      self = await app.register('rsa-self', FIXTURES.rsaSelf);
      slots = [
        await app.provision(ec),
        await app.provision(self),
        await app.provision(ec, { tlsVersion: 'TLS_ALL_VERSIONS' }),
      ];
      await app.worker.runOnce();
    });
    after(() => app.close());

    const v1List = async (query: Record<string, string | number> = {}) =>
      (
        (await app.call({ method: 'GET', path: '/api/v1/certificates', query })).json as {
          sslCertificateList: V1Item[];
        }
      ).sslCertificateList;

    it('NCP lists the slots in usedInstanceNoList (ascending, `,`-joined) and filters by instanceNo', async () => {
      const items = await v1List();
      assert.equal(items.find((i) => i.certificateNo === ec)?.usedInstanceNoList, `${slots[0]},${slots[2]}`);
      assert.equal(items.find((i) => i.certificateNo === self)?.usedInstanceNoList, String(slots[1]));
      assert.deepEqual(
        (await v1List({ instanceNo: slots[1]! })).map((i) => i.certificateNo),
        [self],
      );
      assert.deepEqual(
        (await v1List({ instanceNo: slots[2]!, certificateNo: self })).map((i) => i.certificateNo),
        [],
        'both filters apply',
      );
      assert.deepEqual(await v1List({ instanceNo: 99_999 }), []);
    });

    it('NCP refuses to delete it with 1004, through both APIs, and the store is unchanged', async () => {
      const before = await storeSnapshot(app);
      const slotsBefore = await app.app.core.provisioning.list(app.main.actor, { offset: 0, limit: 100 });
      for (const [path, name] of [
        [`/api/v1/certificate/${ec}`, 'ec-cert'],
        [`/api/v2/certificate/deleteCertificate/${self}`, 'rsa-self'],
      ] as const) {
        const res = await app.call({ method: 'DELETE', path, query: { certificateName: name } });
        assert.equal(res.status, 200);
        const body = res.json as { returnCode: string; returnMessage: string };
        assert.equal(body.returnCode, '1004');
        assert.match(
          body.returnMessage,
          /^Failed to delete the certificate\. Delete the instance being used first or replace the certificate being used for the instance\. Certificate '.+' is in use by \d instance\(s\) \([\d, ]+\); remove it from them first\.$/,
        );
      }
      assert.deepEqual(await storeSnapshot(app), before);
      const slotsAfter = await app.app.core.provisioning.list(app.main.actor, { offset: 0, limit: 100 });
      assert.deepEqual(slotsAfter, slotsBefore);
    });

    it('an NCP v2 replacement republishes its slots: the target then holds the new certificate and key', async () => {
      const sha1 = { certificate: fixture('sha1-rsa.pem'), privateKey: fixture('sha1-rsa.key'), chain: '' };
      const res = await app.call({
        method: 'POST',
        path: '/api/v2/certificate/withExternal',
        body: v2Body('rsa-self', sha1, self),
      });
      const item = (res.json as { sslCertificateList: V1Item[] }).sslCertificateList[0]!;
      assert.equal(item.usedInstanceNoList, String(slots[1]));
      assert.equal((await app.slot(slots[1]!)).provisionStatus, 'PUBLISHING');
      assert.equal((await app.slot(slots[0]!)).provisionStatus, 'RUNNING', 'other slots are left alone');
      await app.worker.runOnce();
      assert.equal((await app.slot(slots[1]!)).provisionStatus, 'RUNNING');
      const pair = await deployedPair(app.targetDir, slots[1]!);
      assert.equal(pair.fingerprint, fingerprintOf(sha1.certificate));
      assert.ok(pair.keyMatches);
    });

    it('an NHN upload that replaces an in-use certificate republishes its slots', async () => {
      const ca = await makeCa();
      const name = 'shop.example.com';
      const headers = await authFor(app, 'v1.3', app.main.admin);
      const first = await makeLeaf(ca, { cn: name });
      assert.equal((await upload(app, 'v1.3', headers, name, nhnFile(first, ca))).status, 200);
      const certificate = await app.app.core.certificates.getByName(app.main.actor, name);
      const slotId = await app.provision(certificate.certificateNo);
      await app.worker.runOnce();
      assert.equal((await deployedPair(app.targetDir, slotId)).fingerprint, fingerprintOf(first.pem));
      const second = await makeLeaf(ca, { cn: name });
      const replaced = await upload(app, 'v1.3', headers, name, nhnFile(second, ca));
      assert.equal(replaced.status, 200, await replaced.clone().text());
      assert.equal((await app.slot(slotId)).provisionStatus, 'PUBLISHING');
      await app.worker.runOnce();
      const pair = await deployedPair(app.targetDir, slotId);
      assert.equal(pair.fingerprint, fingerprintOf(second.pem));
      assert.ok(pair.keyMatches);
      assert.equal(pair.fullchain, second.pem + ca.intermediate.pem, 'the root is left out');
    });

    it('a DELETED slot no longer holds its certificate: NCP deletes it then', async () => {
      for (const slotId of [slots[0]!, slots[2]!]) await app.call({ method: 'DELETE', path: `${EDGE}/${slotId}` });
      const refused = await app.call({
        method: 'DELETE',
        path: `/api/v1/certificate/${ec}`,
        query: { certificateName: 'ec-cert' },
      });
      assert.equal((refused.json as { returnCode: string }).returnCode, '1004', 'DELETING still holds it');
      await app.worker.runOnce();
      assert.equal((await v1List()).find((i) => i.certificateNo === ec)?.usedInstanceNoList, undefined);
      const deleted = await app.call({
        method: 'DELETE',
        path: `/api/v1/certificate/${ec}`,
        query: { certificateName: 'ec-cert' },
      });
      assert.deepEqual(deleted.json, { returnCode: '0', returnMessage: 'Success', totalRows: 1 });
      assert.deepEqual(await v1List({ instanceNo: slots[0]! }), []);
    });
  });
}
