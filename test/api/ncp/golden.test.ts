/**
 * Golden tests: every NCP operation through the real server, on every store, with a fixed clock
 * and the fixed 100-year fixtures, so the bytes of each answer are pinned in golden.json (the
 * tenant's random memberNo is the one value replaced, by `<memberNo>`). The same bytes are
 * expected from SQLite and PostgreSQL.
 *
 * Also: the items carry every key of the seed examples with the same JSON types.
 *
 * To re-pin after a deliberate wire change: `NCP_GOLDEN_UPDATE=1 node --test test/api/ncp/golden.test.ts`,
 * then review the diff of golden.json line by line.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { storeTargets } from '../../helpers/db.ts';
import type { NcpResponse } from '../../helpers/ncp-client.ts';
import { FIXTURES, fixture, GOLDEN_NOW, stableText, startNcpApp, v1Body, v2Body, type NcpTestApp } from './helpers.ts';

const GOLDEN_FILE = new URL('./golden.json', import.meta.url);
const UPDATE = process.env.NCP_GOLDEN_UPDATE === '1';
const golden: Record<string, { status: number; body: unknown }> = UPDATE
  ? {}
  : JSON.parse(readFileSync(GOLDEN_FILE, 'utf8'));

/** seed 003 (createExternalCertificate response item), keys and JSON types. */
const SEED_V1_ITEM = {
  certificateNo: 30728,
  certificateType: 'EXT',
  certificateName: 'zero-certi',
  memberNo: '*******',
  dnInfo: 'CN=x',
  domainAddress: 'x',
  subDomainAddress: '',
  regDate: '2024-07-30 11:33:33',
  validStartDate: '2024-07-30 09:00:00',
  validEndDate: '2024-10-29 08:59:59',
  statusCode: '1',
  statusName: 'Normal',
  externalYn: 'Y',
  domainCode: 'PUB',
  caInfo: 'ZeroSSL RSA Domain Secure Site CA',
  certSerialNumber: '92cf',
  certPublicKeyInfo: 'Sun RSA public key, 2048 bits',
  certSignAlgorithmName: 'SHA384withRSA',
  updateDate: '2024-07-30 11:33:33',
};
/** seed 001 (ListCloudCertificates response item). */
const SEED_V2_ITEM = {
  certificateNo: 12345,
  certificateName: 'sample-certificate',
  memberNo: '9999999',
  commonName: '*.example.com',
  dnsName: 'example.com,example-docs.com',
  statusCode: '1',
  statusName: 'Normal',
  certificateType: 'SAMPLE_DV_01',
  domainCode: 'PUB',
  updateDate: '2026-01-01 10:00:00(UTC+09:00)',
  issueType: 'ORIGINAL',
  subjectDN: 'CN=*.example.com',
  registDate: '2026-01-01 10:00:00(UTC+09:00)',
};

function assertSeedShape(item: Record<string, unknown>, seed: Record<string, unknown>, dateForm: RegExp): void {
  for (const [key, value] of Object.entries(seed)) {
    assert.ok(Object.hasOwn(item, key), `missing ${key}`);
    assert.equal(typeof item[key], typeof value, `type of ${key}`);
    if (key.endsWith('Date')) assert.match(item[key] as string, dateForm, key);
  }
}

const sha1 = { certificate: fixture('sha1-rsa.pem'), privateKey: fixture('sha1-rsa.key'), chain: '' };

for (const target of storeTargets) {
  describe(`NCP golden answers on ${target.name}`, { skip: target.skip }, () => {
    let app: NcpTestApp;
    const seen = new Map<string, NcpResponse>();

    async function step(label: string, response: Promise<NcpResponse>): Promise<NcpResponse> {
      const res = await response;
      seen.set(label, res);
      const text = stableText(res, app.main.tenant.memberNo);
      if (UPDATE) {
        golden[label] = { status: res.status, body: JSON.parse(text) };
      } else {
        const expected = golden[label];
        assert.ok(expected, `no golden answer for ${label}`);
        assert.equal(res.status, expected.status, `${label}: ${text}`);
        assert.equal(text, JSON.stringify(expected.body), label);
      }
      return res;
    }

    before(async () => {
      app = await startNcpApp({ store: target.name });
    });
    after(async () => {
      await app.close();
      if (UPDATE && target.name === 'sqlite') writeFileSync(GOLDEN_FILE, `${JSON.stringify(golden, null, 2)}\n`);
    });

    it('pins every operation, in order', async () => {
      const get = (path: string, query?: Record<string, string | number>) =>
        app.call({ method: 'GET', path, ...(query ? { query } : {}) });

      // Registration (API 1.0 at T0, API 2.0 one and two minutes later).
      await step(
        'v1 createExternalCertificate',
        app.call({ method: 'POST', path: '/api/v1/certificate/withExternal', body: v1Body('ec-cert', FIXTURES.ec) }),
      );
      app.clock.advance(60_000);
      await step(
        'v2 withExternal (korean subject)',
        app.call({
          method: 'POST',
          path: '/api/v2/certificate/withExternal',
          body: v2Body('korean-cert', FIXTURES.korean),
        }),
      );
      app.clock.advance(60_000);
      await step(
        'v2 withExternal (self-signed, empty chain)',
        app.call({
          method: 'POST',
          path: '/api/v2/certificate/withExternal',
          body: v2Body('rsa-self', FIXTURES.rsaSelf),
        }),
      );
      app.clock.advance(60_000);

      // Lookup.
      await step('v1 getCertificateList', get('/api/v1/certificates'));
      await step(
        'v1 getCertificateList certificateName',
        get('/api/v1/certificates', { certificateName: 'korean-cert' }),
      );
      await step('v1 getCertificateList certificateNo', get('/api/v1/certificates', { certificateNo: 1 }));
      await step('v1 getCertificateList instanceNo', get('/api/v1/certificates', { instanceNo: 7 }));
      await step('v2 certificates page 1', get('/api/v2/certificate/certificates', { page: 1, pageSize: 2 }));
      await step('v2 getCertificates page 2', get('/api/v2/certificate/getCertificates', { page: 2, pageSize: 2 }));
      await step(
        'v2 getCertificates certificateName',
        get('/api/v2/certificate/getCertificates', { certificateName: 'ec-cert' }),
      );
      await step('v2 certificateTypes', get('/api/v2/certificate/certificateTypes'));
      const chain = await step(
        'v2 exportCertificate chain (root)',
        get('/api/v2/certificate/exportCertificate/1/chain'),
      );
      await step('v2 exportCertificate chain (self-signed)', get('/api/v2/certificate/exportCertificate/3/chain'));

      // Replacement in place, then the recent changes window catches it.
      app.clock.advance(60_000);
      await step(
        'v2 withExternal certificateNo (replace)',
        app.call({ method: 'POST', path: '/api/v2/certificate/withExternal', body: v2Body('rsa-self', sha1, 3) }),
      );
      await step('v2 recentChanges minutes', get('/api/v2/certificate/recentChanges', { minutes: 1 }));
      await step('v2 recentChanges seconds', get('/api/v2/certificate/recentChanges', { seconds: 30 }));

      // Deletion through both APIs, then the deleted ones show in recent changes.
      app.clock.advance(60_000);
      await step(
        'v1 deleteCertificate',
        app.call({ method: 'DELETE', path: '/api/v1/certificate/1', query: { certificateName: 'ec-cert' } }),
      );
      await step(
        'v2 deleteCertificate',
        app.call({
          method: 'DELETE',
          path: '/api/v2/certificate/deleteCertificate/2',
          query: { certificateName: 'korean-cert' },
        }),
      );
      await step(
        'v2 recentChanges startDateTime',
        get('/api/v2/certificate/recentChanges', {
          startDateTime: '2027-01-15 10:00:00',
          endDateTime: '2027-01-15 10:10:00',
        }),
      );
      await step('v2 certificates after deletes', get('/api/v2/certificate/certificates'));

      // Service and gateway errors.
      await step('2200 chain of a deleted certificate', get('/api/v2/certificate/exportCertificate/1/chain'));
      await step(
        '1004 delete with another name',
        app.call({ method: 'DELETE', path: '/api/v1/certificate/3', query: { certificateName: 'ec-cert' } }),
      );
      await step('2101 recentChanges without window', get('/api/v2/certificate/recentChanges'));
      await step(
        '2000 name rule',
        app.call({
          method: 'POST',
          path: '/api/v1/certificate/withExternal',
          body: v1Body('1-starts-with-digit', FIXTURES.ec),
        }),
      );
      await step(
        '2100 missing field',
        app.call({ method: 'POST', path: '/api/v2/certificate/withExternal', body: { certificateName: 'abc' } }),
      );
      await step(
        '29001 issuance',
        app.call({ method: 'POST', path: '/api/v2/certificate/requestCertificateIssuance', body: {} }),
      );
      await step('300 unknown path', get('/api/v2/certificate/nothing-here'));
      await step(
        '401 missing headers',
        fetch(`${app.baseUrl}/api/v1/certificates`).then(async (r) => ({
          status: r.status,
          headers: {},
          body: Buffer.from(await r.arrayBuffer()),
        })),
      );

      // A year after every fixture expired.
      app.clock.set(new Date('2127-01-01T00:00:00Z'));
      await step('v1 getCertificateList expired', get('/api/v1/certificates'));
      app.clock.set(GOLDEN_NOW);

      assert.equal(chain.status, 200);
      const chainBody = chain.json as Record<string, string>;
      assert.equal(chainBody.certificate, FIXTURES.ec.certificate);
      assert.equal(chainBody.rootCaCertificate, FIXTURES.ec.chain);
    });

    it('gives the seed examples\u2019 keys with the same JSON types', () => {
      const v1 = (
        seen.get('v1 createExternalCertificate')?.json as { sslCertificateList: Array<Record<string, unknown>> }
      ).sslCertificateList[0]!;
      assertSeedShape(v1, SEED_V1_ITEM, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      const v2create = (
        seen.get('v2 withExternal (korean subject)')?.json as { sslCertificateList: Array<Record<string, unknown>> }
      ).sslCertificateList[0]!;
      assertSeedShape(v2create, SEED_V1_ITEM, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\(UTC\+09:00\)$/);
      const list = seen.get('v2 certificates page 1')?.json as Record<string, unknown> & {
        sslCertificateList: Array<Record<string, unknown>>;
      };
      assert.equal(typeof list.totalCount, 'number');
      assert.equal(list.returnCode, '0');
      assertSeedShape(list.sslCertificateList[0]!, SEED_V2_ITEM, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\(UTC\+09:00\)$/);
      const v1list = seen.get('v1 getCertificateList')?.json as Record<string, unknown>;
      assert.deepEqual(Object.keys(v1list), ['returnCode', 'returnMessage', 'totalRows', 'sslCertificateList']);
      assert.equal(typeof v1list.totalRows, 'number');
    });
  });
}
