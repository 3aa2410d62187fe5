/**
 * Certificate issuance through the console (src/api/console/routes-issuance.ts) over real HTTP on
 * every store, with issuance configured (DNS-01 by CNAME delegation) but no worker running, so
 * orders stay pending and every answer is deterministic:
 * - a request answers the order and the `_acme-challenge` CNAME to create per base domain;
 * - bad input answers 400 with every field's error at once (never a 5xx) and writes nothing;
 * - a VIEWER reads but cannot request or change renewal; writes need the CSRF token;
 * - renewal on/off and the certificate's order history;
 * - without an issuance configuration, 409 `issuance_not_configured` naming what is missing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { loadIssuanceConfig } from '../../../src/config/config.ts';
import { startTestApp, TestClock, type TestApp } from '../../helpers/app.ts';
import { countRows, storeTargets } from '../../helpers/db.ts';
import { loggedIn, NOW, type ConsoleClient } from './helpers.ts';

const DCV_ZONE = 'dcv.example.test';
const ORDERS = '/console/api/issuance/orders';

const issuanceSetting = () =>
  loadIssuanceConfig({
    CERTKEEPER_ACME_DIRECTORY_URL: 'https://127.0.0.1:9/directory',
    CERTKEEPER_DCV_ZONE: DCV_ZONE,
    CERTKEEPER_DCV_DNS_SERVER: '127.0.0.1:53',
    CERTKEEPER_DCV_TSIG_KEY: `hmac-sha256:certkeeper-dcv:${randomBytes(32).toString('base64')}`,
  });

async function written(app: TestApp) {
  return {
    orders: await countRows(app.location, 'issuance_orders'),
    names: await countRows(app.location, 'issuance_order_names'),
    certificates: await countRows(app.location, 'certificates'),
  };
}

for (const target of storeTargets) {
  describe(`console issuance (${target.name})`, { skip: target.skip }, () => {
    let app: TestApp;
    let admin: ConsoleClient;
    let viewer: ConsoleClient;

    before(async () => {
      app = await startTestApp({ store: target.name, clock: new TestClock(NOW), issuance: issuanceSetting() });
      admin = await loggedIn(app, app.main.admin);
      viewer = await loggedIn(app, app.main.viewer);
    });
    after(async () => {
      await app?.close();
    });

    it('says issuance is on, with its methods and key types', async () => {
      const res = await viewer.request('GET', '/console/api/issuance');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, {
        enabled: true,
        reason: null,
        methods: ['dns-01'],
        keyTypes: ['ec-p256', 'ec-p384', 'rsa-2048'],
      });
    });

    it('requests a certificate and answers one CNAME per base domain', async () => {
      const res = await admin.request('POST', ORDERS, {
        name: 'shop',
        domains: ['Shop.Example.com', '*.shop.example.com', 'www.shop.example.com'],
        keyType: 'ec-p384',
        renewal: false,
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.body.certificateName, 'shop');
      assert.deepEqual(res.body.domains, ['shop.example.com', '*.shop.example.com', 'www.shop.example.com']);
      assert.equal(res.body.keyType, 'ec-p384');
      assert.equal(res.body.method, 'dns-01');
      assert.equal(res.body.renewal, false);
      assert.equal(res.body.done, false);
      assert.deepEqual(
        res.body.records.map((r: { domain: string; recordName: string }) => [r.domain, r.recordName]),
        [
          ['shop.example.com', '_acme-challenge.shop.example.com'],
          ['www.shop.example.com', '_acme-challenge.www.shop.example.com'],
        ],
      );
      for (const record of res.body.records) {
        assert.match(record.recordValue, new RegExp(`^[a-z0-9]+\\.${DCV_ZONE.replace(/\./g, '\\.')}$`));
        assert.equal(record.state, 'pending');
        assert.equal(record.cname, 'not_checked');
        assert.equal(record.problem, null);
      }
      // The same order read back, and in the list.
      const shown = await viewer.request('GET', `${ORDERS}/${res.body.orderId}`);
      assert.equal(shown.status, 200);
      assert.deepEqual(shown.body.records, res.body.records);
      const list = await viewer.request('GET', ORDERS);
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.body.items.map((o: { orderId: number }) => o.orderId),
        [res.body.orderId],
      );
    });

    it('refuses bad input with every field error at once, never a 5xx, writing nothing', async () => {
      const before = await written(app);
      const cases: Array<[string, unknown, string[]]> = [
        ['not an object', [1, 2], []],
        [
          'all wrong types',
          { name: 7, domains: 'a.example.com', keyType: 1, method: true, renewal: 'yes' },
          ['name', 'domains', 'keyType', 'method', 'renewal'],
        ],
        ['nothing', {}, ['name', 'domains']],
        ['invalid name', { name: 'x', domains: ['exa mple.com'] }, ['domains']],
        ['internal name', { name: 'x', domains: ['printer.local'] }, ['domains']],
        ['single label', { name: 'x', domains: ['localhost'] }, ['domains']],
        ['IPv4', { name: 'x', domains: ['192.0.2.1'] }, ['domains']],
        ['IPv6', { name: 'x', domains: ['2001:db8::1'] }, ['domains']],
        [
          'over 100 names',
          { name: 'x', domains: Array.from({ length: 101 }, (_, i) => `n${i}.example.com`) },
          ['domains'],
        ],
        ['wildcard below the first label', { name: 'x', domains: ['a.*.example.com'] }, ['domains']],
        ['duplicates', { name: 'x', domains: ['a.example.com', 'A.example.com'] }, ['domains']],
        ['NUL in a domain', { name: 'x', domains: ['a\u0000.example.com'] }, ['domains']],
        ['NUL in the name', { name: 'x\u0000y', domains: ['a.example.com'] }, ['name']],
        ['a domain not text', { name: 'x', domains: [{}] }, ['domains']],
        ['unknown key type', { name: 'x', domains: ['a.example.com'], keyType: 'rsa-1024' }, ['keyType']],
        ['unconfigured method', { name: 'x', domains: ['a.example.com'], method: 'http-01' }, ['method']],
        ['name of a pending certificate', { name: 'shop', domains: ['other.example.com'] }, ['name']],
        ['name in a pending order', { name: 'again', domains: ['www.shop.example.com'] }, ['domains']],
      ];
      for (const [label, body, fields] of cases) {
        const res = await admin.request('POST', ORDERS, body);
        assert.ok(res.status >= 400 && res.status < 500, `${label}: ${res.status} ${res.text}`);
        assert.equal(typeof res.body.error.code, 'string', label);
        assert.equal(typeof res.body.error.message, 'string', label);
        if (fields.length > 1)
          assert.deepEqual(
            [...new Set(res.body.error.fields.map((f: { field: string }) => f.field))],
            fields,
            `${label}: ${res.text}`,
          );
        else if (fields.length === 1) assert.equal(res.body.error.field, fields[0], `${label}: ${res.text}`);
      }
      // Two bad domains: both are named, each with its index.
      const two = await admin.request('POST', ORDERS, {
        name: 'x',
        domains: ['ok.example.com', '10.0.0.1', 'a.*.b.com'],
      });
      assert.equal(two.status, 400);
      assert.deepEqual(
        two.body.error.fields.map((f: { index?: number }) => f.index),
        [1, 2],
      );
      // Malformed JSON and an oversized body: the console's own envelope.
      const malformed = await admin.request('POST', ORDERS, '{"name":');
      assert.equal(malformed.status, 400);
      assert.equal(typeof malformed.body.error.code, 'string');
      assert.deepEqual(await written(app), before);
    });

    it('lets a VIEWER read but not request or change renewal; writes need the CSRF token', async () => {
      const before = await written(app);
      const res = await viewer.request('POST', ORDERS, { name: 'v', domains: ['v.example.com'] });
      assert.equal(res.status, 403);
      const noCsrf = await admin.request(
        'POST',
        ORDERS,
        { name: 'c', domains: ['c.example.com'] },
        { 'x-csrf-token': '' },
      );
      assert.equal(noCsrf.status, 403);
      assert.equal(noCsrf.body.error.code, 'csrf_token_invalid');
      const crossSite = await admin.request(
        'POST',
        ORDERS,
        { name: 'c', domains: ['c.example.com'] },
        { origin: 'https://evil.example' },
      );
      assert.equal(crossSite.status, 403);
      const renewal = await viewer.request('PUT', '/console/api/certificates/1/renewal', { renewal: true });
      assert.equal(renewal.status, 403);
      assert.deepEqual(await written(app), before);
    });

    it('turns renewal on and off and shows the certificate order history', async () => {
      const created = await admin.request('POST', ORDERS, { name: 'blog', domains: ['blog.example.com'] });
      assert.equal(created.status, 201, created.text);
      const certificateNo = created.body.certificateNo;
      assert.equal(typeof certificateNo, 'number');
      let history = await viewer.request('GET', `/console/api/certificates/${certificateNo}/issuance`);
      assert.equal(history.status, 200);
      assert.equal(history.body.renewal, true);
      assert.deepEqual(
        history.body.orders.map((o: { orderId: number }) => o.orderId),
        [created.body.orderId],
      );
      const off = await admin.request('PUT', `/console/api/certificates/${certificateNo}/renewal`, { renewal: false });
      assert.equal(off.status, 200, off.text);
      history = await viewer.request('GET', `/console/api/certificates/${certificateNo}/issuance`);
      assert.equal(history.body.renewal, false);
      for (const body of [{}, { renewal: 'false' }, { renewal: null }, { renewal: 1 }]) {
        const bad = await admin.request('PUT', `/console/api/certificates/${certificateNo}/renewal`, body);
        assert.equal(bad.status, 400, JSON.stringify(body));
        assert.equal(bad.body.error.field, 'renewal');
      }
      const missing = await admin.request('PUT', '/console/api/certificates/999999/renewal', { renewal: true });
      assert.equal(missing.status, 404);
      const malformed = await admin.request('PUT', '/console/api/certificates/abc/renewal', { renewal: true });
      assert.equal(malformed.status, 404);
      // Another tenant sees none of it.
      const other = await app.addTenant('other');
      const stranger = await loggedIn(app, other.admin);
      const theirs = await stranger.request('GET', `/console/api/certificates/${certificateNo}/issuance`);
      assert.deepEqual(theirs.body.orders, []);
      assert.equal((await stranger.request('GET', `${ORDERS}/${created.body.orderId}`)).status, 404);
      const change = await stranger.request('PUT', `/console/api/certificates/${certificateNo}/renewal`, {
        renewal: true,
      });
      assert.equal(change.status, 404);
      history = await viewer.request('GET', `/console/api/certificates/${certificateNo}/issuance`);
      assert.equal(history.body.renewal, false);
    });
  });
}

describe('console issuance when not configured', () => {
  let app: TestApp;
  let admin: ConsoleClient;

  before(async () => {
    app = await startTestApp({
      clock: new TestClock(NOW),
      issuance: loadIssuanceConfig({ CERTKEEPER_DCV_ZONE: DCV_ZONE }),
    });
    admin = await loggedIn(app, app.main.admin);
  });
  after(async () => {
    await app?.close();
  });

  it('answers 503 naming the missing variables, and the status says why', async () => {
    const status = await admin.request('GET', '/console/api/issuance');
    assert.equal(status.body.enabled, false);
    assert.match(status.body.reason, /CERTKEEPER_DCV_DNS_SERVER and CERTKEEPER_DCV_TSIG_KEY/);
    for (const [method, path, body] of [
      ['POST', ORDERS, { name: 'x', domains: ['a.example.com'] }],
      ['GET', ORDERS, undefined],
      ['GET', `${ORDERS}/1`, undefined],
      ['PUT', '/console/api/certificates/1/renewal', { renewal: true }],
    ] as const) {
      const res = await admin.request(method, path, body);
      assert.equal(res.status, 409, `${method} ${path}`);
      assert.equal(res.body.error.code, 'issuance_not_configured');
      assert.match(res.body.error.message, /CERTKEEPER_DCV_DNS_SERVER and CERTKEEPER_DCV_TSIG_KEY/);
    }
    assert.equal(await countRows(app.location, 'issuance_orders'), 0);
  });
});
