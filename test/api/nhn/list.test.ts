/**
 * GET …/certificates on every version: golden bodies (pinned byte for byte against the documented
 * example's shape, with an injected clock and fixed certificates), and the paging edge cases.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestApp, TestTenant } from '../../helpers/app.ts';
import { storeTargets } from '../../helpers/db.ts';
import { RSA2048 } from '../../helpers/pki.ts';
import {
  authFor,
  certificatesUrl,
  issueToken,
  KST_TODAY,
  makeCa,
  makeLeaf,
  nhnError,
  nhnFile,
  NOW,
  startNhnApp,
  upload,
  VERSIONS,
  type Version,
} from './helpers.ts';

for (const target of storeTargets) {
  describe(`NHN list on ${target.name}`, { skip: target.skip }, () => {
    let app: TestApp;
    before(async () => {
      app = await startNhnApp(target.name);
      await app.app.core.tenants.setAppKeyAuth('default', true);
      const admin = await authFor(app, 'v1.3', app.main.admin);
      const rsaCa = await makeCa({ key: RSA2048 });
      const ecCa = await makeCa();
      // 1: expired by NOW; uploaded while it was valid.
      app.clock.set(new Date('2026-01-15T00:00:00Z'));
      const old = await makeLeaf(ecCa, { cn: 'old.example.com', notAfter: new Date('2026-02-01T00:00:00Z') });
      assert.equal((await upload(app, 'v1.3', admin, 'old.example.com', nhnFile(old, ecCa))).status, 200);
      app.clock.set(NOW);
      // 2: the documented example's certificate.
      const example = await makeLeaf(rsaCa, {
        cn: 'nhncloudservice.com',
        domains: ['nhncloudservice.com', '*.nhncloudservice.com'],
      });
      assert.equal((await upload(app, 'v1.3', admin, 'nhncloudservice.com', nhnFile(example, rsaCa))).status, 200);
      // 3: expires at 15:00 UTC, which is already the next day in Korea.
      const api = await makeLeaf(ecCa, { cn: 'api.example.com', notAfter: new Date('2027-03-25T15:00:00Z') });
      assert.equal((await upload(app, 'v1.3', admin, 'api.example.com', nhnFile(api, ecCa))).status, 200);
    });
    after(() => app?.close());

    // authority: the issuing CA's CN (caNameOf, the CA name every face prints), not its O ('NHN').
    const expected = (version: Version, status: 'UNEXPIRED' | 'ALL') => {
      const item = (
        id: number,
        name: string,
        authority: string,
        domains: string[],
        algorithm: string,
        created: string,
        expires: string,
      ) => ({
        ...(version === 'v1.3' ? { certificateId: id } : {}),
        certificateName: name,
        authority,
        ...(version === 'v1.2' || version === 'v1.3' ? { domains } : {}),
        signatureAlgorithm: algorithm,
        fileCreationDate: created,
        expirationDate: expires,
      });
      const data = [
        ...(status === 'ALL'
          ? [
              item(
                1,
                'old.example.com',
                'NHN Test Intermediate',
                ['old.example.com'],
                'SHA256withECDSA',
                '2026-01-15',
                '2026-02-01',
              ),
            ]
          : []),
        item(
          2,
          'nhncloudservice.com',
          'NHN Test Intermediate',
          ['nhncloudservice.com', '*.nhncloudservice.com'],
          'SHA256withRSA',
          KST_TODAY,
          '2027-03-25',
        ),
        item(
          3,
          'api.example.com',
          'NHN Test Intermediate',
          ['api.example.com'],
          'SHA256withECDSA',
          KST_TODAY,
          '2027-03-26',
        ),
      ];
      return {
        header: { resultCode: 0, resultMessage: 'SUCCESS', isSuccessful: true },
        body: { totalCount: data.length, totalPage: 1, currentPage: 1, pageSize: 10, data },
      };
    };

    for (const version of VERSIONS) {
      it(`${version}: golden list, default status (UNEXPIRED) and status=ALL`, async () => {
        const headers = await authFor(app, version, app.main.viewer);
        for (const [query, status] of [
          ['', 'UNEXPIRED'],
          ['?status=ALL', 'ALL'],
        ] as const) {
          const response = await fetch(`${certificatesUrl(app, version)}${query}`, { headers });
          assert.equal(response.status, 200);
          assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
          // Byte for byte: field order and types (resultCode a Number) as documented.
          assert.equal(await response.text(), JSON.stringify(expected(version, status)));
        }
      });
    }

    it('every certmanager answer, success or failure, is Cache-Control: no-store', async () => {
      const headers = await authFor(app, 'v1.3', app.main.viewer);
      const answers = [
        await fetch(certificatesUrl(app, 'v1.3'), { headers }), // 200 list
        await fetch(`${certificatesUrl(app, 'v1.3')}?pageSize=0`, { headers }), // 400 40000
        await fetch(certificatesUrl(app, 'v1.3')), // 401: no token
        await fetch(`${app.baseUrl}/certmanager/v1.3/appkeys/${app.main.tenant.appKey}/nothing`, { headers }), // 404
        await fetch(`${certificatesUrl(app, 'v1.3')}/no-such-name.example/files`, { headers }), // missing file
      ];
      assert.deepEqual(
        answers.map((response) => [response.status, response.headers.get('cache-control')]),
        [
          [200, 'no-store'],
          [400, 'no-store'],
          [401, 'no-store'],
          [404, 'no-store'],
          [404, 'no-store'],
        ],
      );
      await Promise.all(answers.map((response) => response.arrayBuffer()));
    });

    it('the API time zone is configurable (CERTKEEPER_API_TIMEZONE)', async () => {
      const utc = await startNhnApp(target.name, { CERTKEEPER_API_TIMEZONE: '+00:00' });
      try {
        const ca = await makeCa();
        const leaf = await makeLeaf(ca, { cn: 'api.example.com', notAfter: new Date('2027-03-25T15:00:00Z') });
        const headers = await authFor(utc, 'v1.3', utc.main.admin);
        assert.equal((await upload(utc, 'v1.3', headers, 'api.example.com', nhnFile(leaf, ca))).status, 200);
        const body = (await (await fetch(certificatesUrl(utc, 'v1.3'), { headers })).json()) as {
          body: { data: Array<{ fileCreationDate: string; expirationDate: string }> };
        };
        assert.deepEqual(
          body.body.data.map((item) => [item.fileCreationDate, item.expirationDate]),
          [['2026-03-01', '2027-03-25']],
        );
      } finally {
        await utc.close();
      }
    });
  });

  describe(`NHN list paging on ${target.name}`, { skip: target.skip }, () => {
    let app: TestApp;
    let tenant: TestTenant;
    let headers: Record<string, string>;
    const UNEXPIRED = 23;
    const EXPIRED = 2;

    before(async () => {
      app = await startNhnApp(target.name);
      tenant = await app.addTenant('paging');
      const ca = await makeCa();
      const importOne = async (name: string, notAfter?: Date) => {
        const leaf = await makeLeaf(ca, { cn: name, ...(notAfter ? { notAfter } : {}) });
        await app.app.core.certificates.import(
          tenant.actor,
          { name, certificate: leaf.pem, chain: ca.chainPem, privateKey: leaf.keyPem },
          { origin: 'cli', policy: { requireKey: false, allowEd25519: false, nameRule: null } },
        );
      };
      app.clock.set(new Date('2026-01-10T00:00:00Z'));
      for (let i = 0; i < EXPIRED; i++) await importOne(`gone${i}.example.com`, new Date('2026-02-01T00:00:00Z'));
      app.clock.set(NOW);
      for (let i = 0; i < UNEXPIRED; i++) await importOne(`host${String(i).padStart(2, '0')}.example.com`);
      headers = { 'x-nhn-authorization': `Bearer ${await issueToken(app, tenant.viewer)}` };
    });
    after(() => app?.close());

    type Page = {
      totalCount: number;
      totalPage: number;
      currentPage: number;
      pageSize: number;
      data: Array<{ certificateName: string; certificateId: number }>;
    };
    const page = async (query: string): Promise<Page> => {
      const response = await fetch(`${certificatesUrl(app, 'v1.3', tenant.tenant.appKey)}${query}`, { headers });
      assert.equal(response.status, 200, query);
      return ((await response.json()) as { body: Page }).body;
    };
    const refused = async (query: string, message: string) => {
      const response = await fetch(`${certificatesUrl(app, 'v1.3', tenant.tenant.appKey)}${query}`, { headers });
      assert.equal(response.status, 400, query);
      assert.deepEqual(await response.json(), nhnError(40000, message), query);
    };
    const summary = (p: Page) => [p.totalCount, p.totalPage, p.currentPage, p.pageSize, p.data.length];

    it('totalPage arithmetic', async () => {
      assert.deepEqual(summary(await page('')), [23, 3, 1, 10, 10]);
      assert.deepEqual(summary(await page('?pageNum=3')), [23, 3, 3, 10, 3]);
      assert.deepEqual(summary(await page('?pageSize=23')), [23, 1, 1, 23, 23]);
      assert.deepEqual(summary(await page('?pageSize=22&pageNum=2')), [23, 2, 2, 22, 1]);
      assert.deepEqual(summary(await page('?pageSize=1&pageNum=23')), [23, 23, 23, 1, 1]);
      assert.deepEqual(summary(await page('?pageSize=24')), [23, 1, 1, 24, 23]);
    });

    it('pages are in certificateId order and neither overlap nor skip', async () => {
      const seen: number[] = [];
      for (let n = 1; n <= 4; n++)
        seen.push(...(await page(`?pageSize=7&pageNum=${n}`)).data.map((item) => item.certificateId));
      const all = (await page('?all=true')).data.map((item) => item.certificateId);
      assert.deepEqual(seen, all);
      assert.deepEqual(
        [...all].sort((a, b) => a - b),
        all,
      );
      assert.equal(new Set(all).size, UNEXPIRED);
    });

    it('pageNum past the end: empty data, the totals unchanged', async () => {
      assert.deepEqual(summary(await page('?pageNum=4')), [23, 3, 4, 10, 0]);
      assert.deepEqual(summary(await page('?pageNum=999999999999999')), [23, 3, 999999999999999, 10, 0]);
    });

    it('pageSize 0, negative, non-numeric, fractional, repeated: 400 with 40000', async () => {
      const size = 'pageSize must be an integer of at least 1.';
      for (const value of ['0', '-1', 'abc', '1.5', '1e3', '0x10', ' '])
        await refused(`?pageSize=${encodeURIComponent(value)}`, value === ' ' ? size : size);
      await refused('?pageSize=10&pageSize=20', 'pageSize is given more than once.');
      const num = 'pageNum must be an integer of at least 1.';
      for (const value of ['0', '-2', 'first', '2.0']) await refused(`?pageNum=${value}`, num);
    });

    it('a huge pageSize is cut to 1000; an empty one means the default', async () => {
      assert.deepEqual(summary(await page('?pageSize=5000')), [23, 1, 1, 1000, 23]);
      assert.deepEqual(summary(await page('?pageSize=99999999999999999999')), [23, 1, 1, 1000, 23]);
      assert.deepEqual(summary(await page('?pageSize=&pageNum=')), [23, 3, 1, 10, 10]);
      assert.deepEqual(summary(await page('?pageSize=%2B5')), [23, 5, 1, 5, 5]);
    });

    it('all=TRUE (any case) returns everything in one page and ignores paging', async () => {
      for (const value of ['true', 'TRUE', 'True'])
        assert.deepEqual(summary(await page(`?all=${value}&pageSize=5&pageNum=3`)), [23, 1, 1, 23, 23]);
      assert.deepEqual(summary(await page('?all=FALSE&pageSize=5')), [23, 5, 1, 5, 5]);
      assert.deepEqual(summary(await page('?all=true&status=expired')), [2, 1, 1, 2, 2]);
      await refused('?all=yes', 'all must be true or false.');
    });

    it('status is case-insensitive: expired, Unexpired, all', async () => {
      const expired = await page('?status=expired');
      assert.deepEqual(summary(expired), [EXPIRED, 1, 1, 10, EXPIRED]);
      assert.deepEqual(
        expired.data.map((item) => item.certificateName),
        ['gone0.example.com', 'gone1.example.com'],
      );
      assert.deepEqual(summary(await page('?status=Unexpired')), [23, 3, 1, 10, 10]);
      assert.deepEqual(summary(await page('?status=all&pageSize=25')), [25, 1, 1, 25, 25]);
      await refused('?status=VALID', 'status must be ALL, EXPIRED or UNEXPIRED.');
    });

    it('an empty list: totalPage 0', async () => {
      const empty = await app.addTenant('empty');
      const response = await fetch(certificatesUrl(app, 'v1.3', empty.tenant.appKey), {
        headers: { 'x-nhn-authorization': `Bearer ${await issueToken(app, empty.viewer)}` },
      });
      assert.equal(
        await response.text(),
        JSON.stringify({
          header: { resultCode: 0, resultMessage: 'SUCCESS', isSuccessful: true },
          body: { totalCount: 0, totalPage: 0, currentPage: 1, pageSize: 10, data: [] },
        }),
      );
      const all = await fetch(`${certificatesUrl(app, 'v1.3', empty.tenant.appKey)}?all=true`, {
        headers: { 'x-nhn-authorization': `Bearer ${await issueToken(app, empty.viewer)}` },
      });
      assert.deepEqual(((await all.json()) as { body: unknown }).body, {
        totalCount: 0,
        totalPage: 0,
        currentPage: 1,
        pageSize: 0,
        data: [],
      });
    });
  });
}
