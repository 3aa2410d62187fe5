/**
 * Login throttling: per access key and per remote address, exponential delay after 5 failures,
 * 429 with Retry-After, time from the injected clock; plus the cookie's TLS form (unit level, the
 * test server speaks plain HTTP).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { clearedSessionCookie, sessionCookie, sessionIdOf } from '../../../src/api/console/cookies.ts';
import { LoginThrottle } from '../../../src/api/console/throttle.ts';
import { TestClock, type TestApp } from '../../helpers/app.ts';
import { ConsoleClient, startConsoleApp } from './helpers.ts';

describe('login throttle over HTTP', () => {
  let app: TestApp;
  before(async () => {
    app = await startConsoleApp('sqlite');
  });
  after(() => app?.close());

  it('five failures are free; the sixth attempt within the delay gets 429 with Retry-After, even with the right secret', async () => {
    const client = new ConsoleClient(app);
    const wrong = { accessKey: app.main.viewer.accessKey, secretKey: 'wrong-secret' };
    for (let i = 1; i <= 5; i++) assert.equal((await client.login(wrong)).status, 401, `failure ${i}`);
    const blocked = await client.login(app.main.viewer);
    assert.equal(blocked.status, 429);
    assert.equal(blocked.headers.get('retry-after'), '1');
    assert.equal(blocked.body.error.code, 'login_throttled');
    assert.match(blocked.body.error.message, /Wait 1 second/);
    app.clock.advance(1000);
    assert.equal((await client.login(wrong)).status, 401, 'allowed again after the delay, and wrong');
    const longer = await client.login(app.main.viewer);
    assert.equal(longer.status, 429);
    assert.equal(longer.headers.get('retry-after'), '2', 'the delay doubles');
    app.clock.advance(2000);
    assert.equal((await client.login(app.main.viewer)).status, 200, 'the right secret after the delay');
  });

  it('the address is throttled across access keys, and a success does not reset it', async () => {
    app.clock.advance(2 * 60 * 60_000); // past the forget window of the previous test
    const client = new ConsoleClient(app);
    for (let i = 0; i < 5; i++)
      assert.equal((await client.login({ accessKey: `GUESS${i}`, secretKey: 'x' })).status, 401);
    const blocked = await client.login({ accessKey: 'GUESS9', secretKey: 'x' });
    assert.equal(blocked.status, 429);
    const admin = await client.login(app.main.admin);
    assert.equal(admin.status, 429, 'the address is blocked for every key');
    app.clock.advance(1000);
    assert.equal((await client.login(app.main.admin)).status, 200);
    assert.equal((await client.login({ accessKey: 'GUESS10', secretKey: 'x' })).status, 401);
    assert.equal(
      (await client.login({ accessKey: 'GUESS11', secretKey: 'x' })).status,
      429,
      'the success did not reset the address',
    );
  });
});

describe('LoginThrottle', () => {
  it('caps the delay, forgets after an hour without failures, and bounds its memory', () => {
    const clock = new TestClock(new Date('2026-01-01T00:00:00Z'));
    const throttle = new LoginThrottle(clock, {
      freeFailures: 5,
      baseDelayMs: 1000,
      maxDelayMs: 15 * 60_000,
      forgetAfterMs: 60 * 60_000,
      maxEntries: 3,
    });
    const keys = ['key:A'];
    for (let i = 0; i < 40; i++) {
      throttle.fail(keys);
      const check = throttle.check(keys);
      if (!check.allowed) clock.advance(check.retryAfterMs);
    }
    throttle.fail(keys);
    const capped = throttle.check(keys);
    assert.deepEqual(capped, { allowed: false, retryAfterMs: 15 * 60_000 });
    clock.advance(61 * 60_000);
    assert.deepEqual(throttle.check(keys), { allowed: true });
    throttle.fail(keys);
    assert.deepEqual(throttle.check(keys), { allowed: true }, 'forgotten: the count starts again');
    for (const k of ['B', 'C', 'D', 'E']) for (let i = 0; i < 6; i++) throttle.fail([`key:${k}`]);
    assert.deepEqual(throttle.check(['key:A']), { allowed: true }, 'the oldest entry was evicted');
    assert.equal(throttle.check(['key:E']).allowed, false);
  });
});

describe('session cookie over TLS', () => {
  const request = (protocol: 'http' | 'https', cookie?: string) =>
    ({ protocol, headers: cookie === undefined ? {} : { cookie } }) as unknown as FastifyRequest;

  it('is __Host-ck_console, Secure, Path=/, HttpOnly, SameSite=Strict', () => {
    assert.equal(
      sessionCookie(request('https'), 'abc'),
      '__Host-ck_console=abc; Path=/; Secure; HttpOnly; SameSite=Strict',
    );
    assert.equal(
      clearedSessionCookie(request('https')),
      '__Host-ck_console=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0',
    );
  });

  it('reads only the cookie of the request scheme, and only well-formed ids', () => {
    assert.equal(sessionIdOf(request('https', 'ck_console=abc; __Host-ck_console=def')), 'def');
    assert.equal(sessionIdOf(request('http', 'ck_console=abc; __Host-ck_console=def')), 'abc');
    assert.equal(sessionIdOf(request('http', 'ck_console=a%20b')), undefined);
    assert.equal(sessionIdOf(request('http', 'other=1')), undefined);
  });
});
