/**
 * The NCP issuance operations (src/api/ncp/routes-issuance.ts) through the real server on every
 * store, with issuance configured (DNS-01 by CNAME delegation) but no worker running, so orders
 * stay pending and every answer is deterministic:
 * - golden answers, byte for byte (issuance-golden.json; the delegation label is derived from the
 *   installation's random key and is the one value replaced, by `<label>`);
 * - bad input answers the face's documented error and writes nothing (no order, no name claimed,
 *   no certificate);
 * - a pending certificate has its number at once, is found by getVerificationInfo and is in no list;
 * - two requests racing for one certificate name: one order, the other refused (migration 0018).
 * The same operations answer 29001 while issuance is not configured: unavailable.test.ts.
 *
 * To re-pin: `NCP_ISSUANCE_GOLDEN_UPDATE=1 node --test test/api/ncp/issuance.test.ts`, then review.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadIssuanceConfig } from '../../../src/config/config.ts';
import { countRows, storeTargets } from '../../helpers/db.ts';
import type { NcpResponse } from '../../helpers/ncp-client.ts';
import { FIXTURES, stableText, startNcpApp, storeSnapshot, v2Body, type NcpTestApp } from './helpers.ts';

const GOLDEN_FILE = new URL('./issuance-golden.json', import.meta.url);
const UPDATE = process.env.NCP_ISSUANCE_GOLDEN_UPDATE === '1';
const golden: Record<string, { status: number; body: unknown }> = UPDATE
  ? {}
  : JSON.parse(readFileSync(GOLDEN_FILE, 'utf8'));

const DCV_ZONE = 'dcv.example.test';
const issuanceSetting = () =>
  loadIssuanceConfig({
    CERTKEEPER_ACME_DIRECTORY_URL: 'https://127.0.0.1:9/directory',
    CERTKEEPER_DCV_ZONE: DCV_ZONE,
    CERTKEEPER_DCV_DNS_SERVER: '127.0.0.1:53',
    CERTKEEPER_DCV_TSIG_KEY: `hmac-sha256:certkeeper-dcv:${randomBytes(32).toString('base64')}`,
  });

const REQUEST = '/api/v2/certificate/requestCertificateIssuance';
const VERIFY = '/api/v2/certificate/getVerificationInfo';
const RENEWAL = '/api/v2/certificate/setCertificateRenewal';

/** Stable bytes: memberNo, and the delegation label (HMAC of the installation's random key). */
function stable(res: NcpResponse, memberNo: string): string {
  return stableText(res, memberNo).replace(/"dnsRecordValue":"[a-z0-9]+\./g, '"dnsRecordValue":"<label>.');
}

/** What a refused request must leave alone, issuance tables included. */
async function snapshot(app: NcpTestApp) {
  return {
    store: await storeSnapshot(app),
    orders: await countRows(app.location, 'issuance_orders'),
    names: await countRows(app.location, 'issuance_order_names'),
    renewals: await countRows(app.location, 'issued_certificates'),
  };
}

const request = (name: string, commonName: unknown, dnsName?: unknown, extra: Record<string, unknown> = {}) => ({
  certificateName: name,
  commonName,
  ...(dnsName === undefined ? {} : { dnsName }),
  validationMethod: 'D',
  ...extra,
});

for (const target of storeTargets) {
  describe(`NCP issuance operations on ${target.name}`, { skip: target.skip }, () => {
    let app: NcpTestApp;
    before(async () => {
      const setting = issuanceSetting();
      assert.ok(setting.on);
      app = await startNcpApp({ store: target.name, issuance: setting });
    });
    after(async () => {
      await app.close();
      if (UPDATE && target.name === 'sqlite') writeFileSync(GOLDEN_FILE, `${JSON.stringify(golden, null, 2)}\n`);
    });

    async function step(label: string, response: Promise<NcpResponse>): Promise<NcpResponse> {
      const res = await response;
      const text = stable(res, app.main.tenant.memberNo);
      if (UPDATE) golden[label] = { status: res.status, body: JSON.parse(text) };
      else {
        const expected = golden[label];
        assert.ok(expected, `no golden answer for ${label}`);
        assert.equal(res.status, expected.status, `${label}: ${text}`);
        assert.equal(text, JSON.stringify(expected.body), label);
      }
      return res;
    }

    it('pins the answers: request, verification info, renewal, their errors', async () => {
      const post = (path: string, body: unknown) => app.call({ method: 'POST', path, body });
      const requested = await step(
        'requestCertificateIssuance',
        post(REQUEST, request('shop-cert', 'Shop.Example.com.', ['*.shop.example.com', 'shop.example.com'])),
      );
      const { certificateNo } = requested.json as { certificateNo: number };
      await step(
        'getVerificationInfo apex',
        app.call({ method: 'GET', path: `${VERIFY}/${certificateNo}`, query: { domainAddress: 'shop.example.com' } }),
      );
      await step(
        'getVerificationInfo wildcard names its base',
        app.call({ method: 'GET', path: `${VERIFY}/${certificateNo}`, query: { domainAddress: '*.shop.example.com' } }),
      );
      await step(
        'getVerificationInfo other domain',
        app.call({ method: 'GET', path: `${VERIFY}/${certificateNo}`, query: { domainAddress: 'other.example.com' } }),
      );
      await step(
        'getVerificationInfo unknown certificate',
        app.call({ method: 'GET', path: `${VERIFY}/999999`, query: { domainAddress: 'shop.example.com' } }),
      );
      await step('getVerificationInfo without domainAddress', app.call({ method: 'GET', path: `${VERIFY}/1` }));
      await step('setCertificateRenewal N', post(RENEWAL, { certificateNo, renewalYn: 'N' }));
      await step('setCertificateRenewal unknown', post(RENEWAL, { certificateNo: 999999, renewalYn: 'Y' }));
      await step('setCertificateRenewal renewalYn X', post(RENEWAL, { certificateNo, renewalYn: 'X' }));
      await step('2201 internal name', post(REQUEST, request('bad-cert', 'printer.local')));
      await step('26090 name in a pending order', post(REQUEST, request('again-cert', 'shop.example.com')));
    });

    it('a pending certificate has its number, is in no list, and its renewal flag is kept', async () => {
      const res = await app.call({ method: 'POST', path: REQUEST, body: request('pend-cert', 'pend.example.com') });
      assert.equal(res.status, 200, res.body.toString());
      const answer = res.json as { certificateNo: number; requestSn: number };
      assert.ok(answer.certificateNo >= 1);
      const list = await app.call({ method: 'GET', path: '/api/v2/certificate/getCertificates' });
      const items = (list.json as { sslCertificateList: Array<{ certificateNo: number }> }).sslCertificateList;
      assert.ok(!items.some((c) => c.certificateNo === answer.certificateNo), 'pending certificates are not listed');
      // An import after the request gets a higher number.
      const imported = await app.call({
        method: 'POST',
        path: '/api/v2/certificate/withExternal',
        body: v2Body('after-cert', FIXTURES.ec),
      });
      assert.equal(imported.status, 200, imported.body.toString());
      const no = (imported.json as { sslCertificateList: Array<{ certificateNo: number }> }).sslCertificateList[0]!;
      assert.ok(no.certificateNo > answer.certificateNo);
      const renew = await app.call({
        method: 'POST',
        path: RENEWAL,
        body: { certificateNo: String(answer.certificateNo), renewalYn: 'N' },
      });
      assert.equal(renew.status, 200);
      const order = await app.app.issuance.getOrder(app.main.actor, answer.requestSn);
      assert.equal(order.renewal, false);
      assert.equal(order.certificateNo, answer.certificateNo);
      // The imported certificate was not issued here: no renewal to set.
      const external = await app.call({
        method: 'POST',
        path: RENEWAL,
        body: { certificateNo: no.certificateNo, renewalYn: 'Y' },
      });
      assert.equal((external.json as { returnCode: string }).returnCode, '2200');
      // A VIEWER reads verification info but cannot request.
      const viewerRead = await app.call({
        method: 'GET',
        path: `${VERIFY}/${answer.certificateNo}`,
        query: { domainAddress: 'pend.example.com' },
        credentials: app.main.viewer,
      });
      assert.equal((viewerRead.json as { totalRows: number }).totalRows, 1);
      const before = await snapshot(app);
      const viewerWrite = await app.call({
        method: 'POST',
        path: REQUEST,
        body: request('viewer-cert', 'viewer.example.com'),
        credentials: app.main.viewer,
      });
      assert.equal(viewerWrite.status, 401);
      assert.deepEqual(await snapshot(app), before);
    });

    it('another tenant sees neither the order nor its records, and cannot take its names', async () => {
      const res = await app.call({ method: 'POST', path: REQUEST, body: request('iso-cert', 'iso.example.com') });
      const { certificateNo } = res.json as { certificateNo: number };
      const other = await app.addTenant(`other-${target.name}-${Date.now()}`);
      const read = await app.call({
        method: 'GET',
        path: `${VERIFY}/${certificateNo}`,
        query: { domainAddress: 'iso.example.com' },
        credentials: other.admin,
      });
      assert.equal((read.json as { returnCode: string }).returnCode, '2200');
      const renew = await app.call({
        method: 'POST',
        path: RENEWAL,
        body: { certificateNo, renewalYn: 'N' },
        credentials: other.admin,
      });
      assert.equal((renew.json as { returnCode: string }).returnCode, '2200');
      const before = await snapshot(app);
      const taken = await app.call({
        method: 'POST',
        path: REQUEST,
        body: request('iso-cert', 'www.iso.example.com', ['iso.example.com']),
        credentials: other.admin,
      });
      assert.equal(taken.status, 200);
      assert.equal((taken.json as { returnCode: string }).returnCode, '26090');
      assert.deepEqual(await snapshot(app), before);
    });

    it('two requests racing for one certificate name: exactly one order, the other 26090', async () => {
      for (let round = 0; round < 5; round++) {
        const before = await snapshot(app);
        const answers = await Promise.all(
          [0, 1].map((i) =>
            app.call({
              method: 'POST',
              path: REQUEST,
              body: request(`race-${round}`, `race${round}-${i}.example.com`),
            }),
          ),
        );
        const codes = answers.map((res) => (res.json as { returnCode: string }).returnCode).sort();
        assert.deepEqual(codes, ['0', '26090'], answers.map((res) => res.body.toString()).join('\n'));
        const lost = answers.find((res) => (res.json as { returnCode: string }).returnCode === '26090')!;
        assert.equal(
          (lost.json as { returnMessage: string }).returnMessage,
          `A certificate named 'race-${round}' already exists.`,
        );
        const after = await snapshot(app);
        assert.equal(after.orders, before.orders + 1, 'one order');
        assert.equal(after.names, before.names + 1, "only the winner's DNS name is claimed");
      }
    });

    const hundredAndOne = Array.from({ length: 101 }, (_, i) => `n${i}.example.com`);
    const BAD: Array<[string, unknown, number, string]> = [
      ['internal name', request('bad-cert', 'printer.local'), 200, '2201'],
      ['localhost', request('bad-cert', 'localhost'), 200, '2201'],
      ['single label', request('bad-cert', 'intranet'), 200, '2201'],
      ['IPv4 address', request('bad-cert', 'ok.example.com', ['192.0.2.1']), 200, '2201'],
      ['IPv6 address', request('bad-cert', 'ok.example.com', ['2001:db8::1']), 200, '2201'],
      ['wildcard below the first label', request('bad-cert', 'a.*.example.com'), 200, '2201'],
      ['partial wildcard label', request('bad-cert', 'ok.example.com', ['w*.example.com']), 200, '2201'],
      ['wildcard of a TLD', request('bad-cert', '*.com'), 200, '2201'],
      ['Unicode IDN', request('bad-cert', 'bücher.example.com'), 200, '2201'],
      ['duplicate SANs', request('bad-cert', 'ok.example.com', ['d.example.com', 'D.example.com.']), 200, '2201'],
      ['101 names', request('bad-cert', 'ok.example.com', hundredAndOne), 200, '2201'],
      ['NUL byte in a name', request('bad-cert', 'ok.example.com', ['a\u0000.example.com']), 400, '2100'],
      ['label over 63', request('bad-cert', `${'a'.repeat(64)}.example.com`), 200, '2201'],
      ['empty name', request('bad-cert', 'ok.example.com', ['']), 200, '2201'],
      ['dnsName not an array', request('bad-cert', 'ok.example.com', 'a.example.com'), 400, '2100'],
      ['dnsName item not a string', request('bad-cert', 'ok.example.com', [7]), 400, '2100'],
      ['commonName a number', request('bad-cert', 42), 400, '2100'],
      ['commonName missing', { certificateName: 'bad-cert', validationMethod: 'D' }, 400, '2100'],
      ['validationMethod H', request('bad-cert', 'ok.example.com', undefined, { validationMethod: 'H' }), 400, '2100'],
      ['validationMethod missing', { certificateName: 'bad-cert', commonName: 'ok.example.com' }, 400, '2100'],
      ['certificateName rule', request('1bad', 'ok.example.com'), 400, '2000'],
      ['certificateName NUL', request('bad\u0000cert', 'ok.example.com'), 400, '2100'],
      ['body an array', [request('bad-cert', 'ok.example.com')], 400, '2100'],
    ];
    for (const [label, body, status, code] of BAD) {
      it(`refuses ${label} (${code}) and writes nothing`, async () => {
        const before = await snapshot(app);
        const res = await app.call({ method: 'POST', path: REQUEST, body });
        assert.equal(res.status, status, res.body.toString());
        assert.equal((res.json as { returnCode: string }).returnCode, code, res.body.toString());
        assert.deepEqual(await snapshot(app), before);
      });
    }

    it('refuses a certificate name in use (26090), and an oversized body (gateway 413), writing nothing', async () => {
      const imported = await app.call({
        method: 'POST',
        path: '/api/v2/certificate/withExternal',
        body: v2Body('taken-cert', FIXTURES.rsaSelf),
      });
      assert.equal(imported.status, 200, imported.body.toString());
      const before = await snapshot(app);
      const res = await app.call({ method: 'POST', path: REQUEST, body: request('taken-cert', 'free.example.com') });
      assert.equal((res.json as { returnCode: string }).returnCode, '26090');
      const huge = await app.call({
        method: 'POST',
        path: REQUEST,
        body: request('huge-cert', 'ok.example.com', ['x'.repeat(20 * 1024 * 1024)]),
      });
      assert.equal(huge.status, 413);
      assert.deepEqual(await snapshot(app), before);
    });
  });
}
