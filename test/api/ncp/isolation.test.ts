/**
 * Tenant isolation: tenant B's credentials never reach tenant A's certificate. Every attempt
 * answers exactly as if the certificate did not exist (the same bytes as for a number that was
 * never used), and tenant A's data is unchanged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestTenant } from '../../helpers/app.ts';
import { storeTargets } from '../../helpers/db.ts';
import type { NcpResponse } from '../../helpers/ncp-client.ts';
import { FIXTURES, startNcpApp, storeSnapshot, v1Body, v2Body, type NcpTestApp } from './helpers.ts';

for (const target of storeTargets) {
  describe(`NCP tenant isolation on ${target.name}`, { skip: target.skip }, () => {
    let app: NcpTestApp;
    let b: TestTenant;
    let no: number;
    let unused: number;

    before(async () => {
      app = await startNcpApp({ store: target.name });
      b = await app.addTenant('tenant-b');
      const res = await app.call({
        method: 'POST',
        path: '/api/v1/certificate/withExternal',
        body: v1Body('ec-cert', FIXTURES.ec),
      });
      no = (res.json as { sslCertificateList: Array<{ certificateNo: number }> }).sslCertificateList[0]!.certificateNo;
      unused = no + 1000;
    });
    after(() => app.close());

    /** The same request for A's number and for a never-used number give the same answer, number aside. */
    async function sameAsMissing(send: (certificateNo: number) => Promise<NcpResponse>, code: string): Promise<void> {
      const [theirs, missing] = [await send(no), await send(unused)];
      assert.equal(theirs.status, missing.status);
      assert.equal((theirs.json as { returnCode: string }).returnCode, code, theirs.body.toString());
      const masked = (res: NcpResponse, n: number): string =>
        res.body.toString().replace(new RegExp(`\\b${n}\\b`, 'g'), '#');
      assert.equal(masked(theirs, no), masked(missing, unused));
    }

    it('B lists nothing of A, by any filter, in either API', async () => {
      const admin = b.admin;
      for (const query of [{}, { certificateNo: no }, { certificateName: 'ec-cert' }]) {
        const v1 = await app.call({ method: 'GET', path: '/api/v1/certificates', query, credentials: admin });
        assert.deepEqual(v1.json, { returnCode: '0', returnMessage: 'Success', totalRows: 0, sslCertificateList: [] });
      }
      for (const path of ['/api/v2/certificate/certificates', '/api/v2/certificate/getCertificates']) {
        const v2 = await app.call({ method: 'GET', path, query: { certificateName: 'ec-cert' }, credentials: admin });
        assert.deepEqual(v2.json, { returnCode: '0', returnMessage: 'Success', totalCount: 0, sslCertificateList: [] });
      }
      const recent = await app.call({
        method: 'GET',
        path: '/api/v2/certificate/recentChanges',
        query: { minutes: 10080 },
        credentials: admin,
      });
      assert.equal((recent.json as { totalCount: number }).totalCount, 0);
    });

    it('B cannot export, download, delete or replace A\u2019s certificate: it answers like a missing one', async () => {
      const snapshot = await storeSnapshot(app);
      const credentials = b.admin;
      await sameAsMissing(
        (n) => app.call({ method: 'GET', path: `/api/v2/certificate/exportCertificate/${n}/chain`, credentials }),
        '2200',
      );
      await sameAsMissing(
        (n) => app.call({ method: 'POST', path: `/api/v2/certificate/exportCertificate/${n}`, body: {}, credentials }),
        '2200',
      );
      await sameAsMissing(
        (n) =>
          app.call({
            method: 'DELETE',
            path: `/api/v1/certificate/${n}`,
            query: { certificateName: 'ec-cert' },
            credentials,
          }),
        '1004',
      );
      await sameAsMissing(
        (n) =>
          app.call({
            method: 'DELETE',
            path: `/api/v2/certificate/deleteCertificate/${n}`,
            query: { certificateName: 'ec-cert' },
            credentials,
          }),
        '1004',
      );
      await sameAsMissing(
        (n) =>
          app.call({
            method: 'POST',
            path: '/api/v2/certificate/withExternal',
            body: v2Body('ec-cert', FIXTURES.korean, n),
            credentials,
          }),
        '2200',
      );
      assert.deepEqual(await storeSnapshot(app), snapshot);
      const keyReads = await app.app.core.audit.list(app.main.actor, { action: 'certificate.key.read', limit: 10 });
      assert.equal(keyReads.length, 0, 'no key of A was read');
    });

    it('B may hold its own certificate with the same name and bytes; each tenant sees its own', async () => {
      const res = await app.call({
        method: 'POST',
        path: '/api/v2/certificate/withExternal',
        body: v2Body('ec-cert', FIXTURES.ec),
        credentials: b.admin,
      });
      assert.equal((res.json as { returnCode: string }).returnCode, '0', res.body.toString());
      const bNo = (res.json as { sslCertificateList: Array<{ certificateNo: number; memberNo: string }> })
        .sslCertificateList[0]!;
      assert.notEqual(bNo.certificateNo, no);
      assert.equal(bNo.memberNo, b.tenant.memberNo);
      const aList = await app.call({ method: 'GET', path: '/api/v1/certificates' });
      const items = (aList.json as { sslCertificateList: Array<{ certificateNo: number; memberNo: string }> })
        .sslCertificateList;
      assert.deepEqual(
        items.map((i) => [i.certificateNo, i.memberNo]),
        [[no, app.main.tenant.memberNo]],
      );
      // A still cannot touch B's copy.
      const aDelete = await app.call({
        method: 'DELETE',
        path: `/api/v1/certificate/${bNo.certificateNo}`,
        query: { certificateName: 'ec-cert' },
      });
      assert.equal((aDelete.json as { returnCode: string }).returnCode, '1004');
    });
  });
}
