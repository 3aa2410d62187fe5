/**
 * Host checking (server/allowed-hosts.ts): names not listed in CERTKEEPER_ALLOWED_HOSTS get 421
 * before any route (a DNS-rebinding page names the attacker's host); IP literals, localhost and
 * CERTKEEPER_HOST are always served; `*` serves any. Through buildServer and inject, and the
 * config's parsing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/config.ts';
import { ConfigError } from '../../src/config/config-error.ts';
import { hostOf } from '../../src/server/allowed-hosts.ts';
import { buildServer } from '../../src/server/index.ts';
import { fakeStore, fixedClock, testConfig } from './helpers.ts';

async function statusFor(host: string, allowedHosts = { any: false, names: [] as string[] }, listen = '127.0.0.1') {
  const app = await buildServer({
    config: testConfig({ allowedHosts, host: listen, logLevel: 'silent' }),
    store: fakeStore(),
    clock: fixedClock,
    faces: [],
  });
  try {
    const res = await app.inject({ method: 'GET', url: '/healthz', headers: { host } });
    return { status: res.statusCode, body: res.body, cacheControl: res.headers['cache-control'] };
  } finally {
    await app.close();
  }
}

describe('allowed hosts', () => {
  it('serves IP literals and localhost, with or without a port', async () => {
    for (const host of ['127.0.0.1', '127.0.0.1:8080', '[::1]:8080', '10.1.2.3', 'localhost:8080', 'LOCALHOST.']) {
      assert.equal((await statusFor(host)).status, 200, host);
    }
  });

  it('answers 421 to a name nobody listed, before any route, and says where to list it', async () => {
    const res = await statusFor('rebind.attacker.example');
    assert.equal(res.status, 421);
    assert.match(res.body, /CERTKEEPER_ALLOWED_HOSTS/);
    assert.equal(res.cacheControl, 'no-store');
    for (const host of ['a b', 'example.com:port', '[::1', 'evil.example:99999999']) {
      assert.equal((await statusFor(host)).status, 421, JSON.stringify(host));
    }
  });

  it('serves the listed names (any case, trailing dot) and CERTKEEPER_HOST when it is a name', async () => {
    const allowed = { any: false, names: ['certs.example.com'] };
    assert.equal((await statusFor('CERTS.example.com.:443', allowed)).status, 200);
    assert.equal((await statusFor('other.example.com', allowed)).status, 421);
    assert.equal((await statusFor('certkeeper.internal:8080', undefined, 'certkeeper.internal')).status, 200);
  });

  it('serves any host with *', async () => {
    assert.equal((await statusFor('anything.example', { any: true, names: [] })).status, 200);
  });

  it('reads CERTKEEPER_ALLOWED_HOSTS strictly', () => {
    assert.deepEqual(
      loadConfig({ CERTKEEPER_ALLOWED_HOSTS: 'Certs.Example.com, 10.0.0.5,certs.example.com.' }).allowedHosts,
      {
        any: false,
        names: ['certs.example.com', '10.0.0.5'],
      },
    );
    assert.deepEqual(loadConfig({ CERTKEEPER_ALLOWED_HOSTS: '*' }).allowedHosts, { any: true, names: [] });
    assert.throws(
      () => loadConfig({ CERTKEEPER_ALLOWED_HOSTS: 'ok.example,bad host' }),
      (error: unknown) => error instanceof ConfigError && /CERTKEEPER_ALLOWED_HOSTS.*"bad host"/.test(error.message),
    );
    assert.throws(
      () => loadConfig({ CERTKEEPER_TLS_CERT_FILE: '/x.crt' }),
      (error: unknown) =>
        error instanceof ConfigError && /CERTKEEPER_TLS_KEY_FILE: must be set too/.test(error.message),
    );
  });

  it('takes the host part of a Host header', () => {
    assert.equal(hostOf('Example.COM:8080'), 'example.com');
    assert.equal(hostOf('[::1]:443'), '::1');
    assert.equal(hostOf('[not-ip]:443'), null);
    assert.equal(hostOf('example.com.'), 'example.com');
  });
});
