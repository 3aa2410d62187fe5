/**
 * Rate limits per credential (src/core/rate-limit.ts) through the real server, one face at a time:
 * each answers its own throttling error with the seconds to wait, the bucket is per credential,
 * and waiting (the injected clock moved, never real time) lets the credential through again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, TestClock, type TestApp, type TestCredential } from '../helpers/app.ts';
import { ncpFetch, type NcpResponse } from '../helpers/ncp-client.ts';
import { ConsoleClient } from '../api/console/helpers.ts';

/** 1 request a second, 2 at once: the third request in a row is refused, one second refills one. */
const LIMIT = { CERTKEEPER_RATE_LIMIT: '1', CERTKEEPER_RATE_LIMIT_BURST: '2' };

const ncpList = (app: TestApp, credentials: TestCredential, path = '/api/v2/certificate/getCertificates') =>
  ncpFetch(app.baseUrl, { method: 'GET', path, credentials });

const nhnList = (app: TestApp, credential: TestCredential) =>
  fetch(`${app.baseUrl}/certmanager/v1.1/appkeys/${app.main.tenant.appKey}/certificates`, {
    headers: { 'x-tc-authentication-id': credential.accessKey, 'x-tc-authentication-secret': credential.secretKey },
  });

describe('rate limits per credential, face by face', () => {
  let app: TestApp;
  const clock = new TestClock();

  before(async () => {
    app = await startTestApp({ clock, env: LIMIT });
  });
  after(async () => {
    await app?.close();
  });

  /** A fresh tenant per test, so no test spends another's allowance. */
  const fresh = async (name: string) => (await app.addTenant(name)).admin;

  it('NCP Certificate Manager: gateway 429 / 420 Rate Limited with Retry-After; other credentials unaffected', async () => {
    const admin = await fresh('ncp');
    for (let i = 0; i < 2; i++) assert.equal((await ncpList(app, admin)).status, 200, `request ${i}`);
    const refused = await ncpList(app, admin);
    assert.equal(refused.status, 429);
    assert.deepEqual(refused.json, {
      error: {
        errorCode: '420',
        message: 'Rate Limited',
        details: 'Too many requests for this credential; retry in 1 s.',
      },
    });
    assert.equal(refused.headers['retry-after'], '1');
    // The same tenant's other credential has its own bucket.
    assert.equal((await ncpList(app, app.main.viewer)).status, 200);
    clock.advance(1000);
    assert.equal((await ncpList(app, admin)).status, 200);
    assert.equal((await ncpList(app, admin)).status, 429);
  });

  it('Global Edge: the same gateway answer, and the same bucket as NCP for one credential', async () => {
    const admin = await fresh('edge');
    const edge = (): Promise<NcpResponse> => ncpList(app, admin, '/api/v1/certificate/provisioning');
    assert.equal((await ncpList(app, admin)).status, 200);
    assert.equal((await edge()).status, 200);
    const refused = await edge();
    assert.equal(refused.status, 429);
    assert.deepEqual((refused.json as { error: { errorCode: string } }).error.errorCode, '420');
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal((await ncpList(app, admin)).status, 429);
  });

  it('NHN: 429 with resultCode 42900 in the NHN envelope and Retry-After', async () => {
    const tenant = await app.addTenant('nhn');
    const call = () =>
      fetch(`${app.baseUrl}/certmanager/v1.1/appkeys/${tenant.tenant.appKey}/certificates`, {
        headers: {
          'x-tc-authentication-id': tenant.admin.accessKey,
          'x-tc-authentication-secret': tenant.admin.secretKey,
        },
      });
    for (let i = 0; i < 2; i++) assert.equal((await call()).status, 200, `request ${i}`);
    const refused = await call();
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.deepEqual(await refused.json(), {
      header: {
        isSuccessful: false,
        resultCode: 42900,
        resultMessage: 'Too many requests for this credential; retry in 1 s.',
      },
      body: {},
    });
    clock.advance(1000);
    assert.equal((await call()).status, 200);
  });

  it('NHN appKey-only callers (v1.0, v1.2) share one bucket per tenant; v1.3 tokens spend the credential bucket', async () => {
    const tenant = await app.addTenant('appkey');
    await app.app.core.tenants.setAppKeyAuth('appkey', true);
    const appKeyOnly = (version: 'v1.0' | 'v1.2') =>
      fetch(`${app.baseUrl}/certmanager/${version}/appkeys/${tenant.tenant.appKey}/certificates`);
    assert.equal((await appKeyOnly('v1.0')).status, 200);
    assert.equal((await appKeyOnly('v1.2')).status, 200);
    const refused = await appKeyOnly('v1.0');
    assert.equal(refused.status, 429);
    assert.equal(((await refused.json()) as { header: { resultCode: number } }).header.resultCode, 42900);

    // The tenant's credential is another caller; its token spends the credential's bucket.
    const token = await fetch(`${app.baseUrl}/oauth2/token/create`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${tenant.admin.accessKey}:${tenant.admin.secretKey}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    const { access_token: accessToken } = (await token.json()) as { access_token: string };
    const withToken = () =>
      fetch(`${app.baseUrl}/certmanager/v1.3/appkeys/${tenant.tenant.appKey}/certificates`, {
        headers: { 'x-nhn-authorization': `Bearer ${accessToken}` },
      });
    for (let i = 0; i < 2; i++) assert.equal((await withToken()).status, 200, `request ${i}`);
    assert.equal((await withToken()).status, 429);
  });

  it('console JSON API: 429 rate_limited with Retry-After and no-store; the login is not counted', async () => {
    const admin = await fresh('console');
    const client = new ConsoleClient(app);
    assert.equal((await client.login(admin)).status, 200);
    for (let i = 0; i < 2; i++)
      assert.equal((await client.request('GET', '/console/api/certificates')).status, 200, `request ${i}`);
    const refused = await client.request('GET', '/console/api/dashboard');
    assert.equal(refused.status, 429);
    assert.deepEqual(refused.body, {
      error: { code: 'rate_limited', message: 'Too many requests for this credential; retry in 1 s.' },
    });
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(refused.headers.get('cache-control'), 'no-store');
    clock.advance(1000);
    assert.equal((await client.request('GET', '/console/api/certificates')).status, 200);
  });

  it('only authenticated callers count: unknown keys and wrong secrets create no bucket and spend nothing', async () => {
    const admin = await fresh('flood');
    const before = app.app.core.rateLimit.stats().buckets;
    for (let i = 0; i < 50; i++) {
      const unknown = await ncpList(app, { accessKey: `UNKNOWN${i}`, secretKey: 'x', role: 'ADMIN' });
      assert.equal(unknown.status, 401);
      const wrongSecret = await nhnList(app, { ...app.main.admin, secretKey: `wrong-${i}` });
      assert.equal(wrongSecret.status, 401);
      // A known access key with a wrong secret: the signature fails, the key's bucket is untouched.
      const forged = await ncpList(app, { ...admin, secretKey: `forged-${i}` });
      assert.equal(forged.status, 401);
    }
    assert.equal(app.app.core.rateLimit.stats().buckets, before);
    for (let i = 0; i < 2; i++) assert.equal((await ncpList(app, admin)).status, 200, `request ${i}`);
  });

  it('/metrics counts the refusals and the buckets held', async () => {
    const admin = await fresh('metrics');
    for (let i = 0; i < 3; i++) await ncpList(app, admin);
    const { buckets, refused } = app.app.core.rateLimit.stats();
    assert.ok(refused >= 1);
    const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
    assert.match(text, new RegExp(`^certkeeper_rate_limited_requests_total ${refused}$`, 'm'));
    assert.match(text, new RegExp(`^certkeeper_rate_limit_buckets ${buckets}$`, 'm'));
  });
});

describe('rate limits are off by default', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(async () => {
    await app?.close();
  });

  it('many requests in a row on one credential all pass, and no bucket is kept', async () => {
    for (let i = 0; i < 30; i++) assert.equal((await ncpList(app, app.main.admin)).status, 200, `request ${i}`);
    assert.deepEqual(app.app.core.rateLimit.stats(), { buckets: 0, refused: 0 });
  });
});
