/**
 * Console sessions over HTTP, on every store: login and logout, cookie attributes, idle and
 * absolute expiry with the TestClock, revocation, storage as a hash, and the CSRF defences
 * (token, Origin, Sec-Fetch-Site, JSON-only bodies).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { TestApp } from '../../helpers/app.ts';
import { rawQuery, storeTargets } from '../../helpers/db.ts';
import { ConsoleClient, loggedIn, NOW, startConsoleApp } from './helpers.ts';

const MINUTE = 60_000;

for (const target of storeTargets) {
  describe(`console sessions on ${target.name}`, { skip: target.skip }, () => {
    let app: TestApp;
    before(async () => {
      app = await startConsoleApp(target.name);
    });
    after(() => app?.close());

    it('logs in with an access key and secret key; the cookie is HttpOnly, SameSite=Strict, scoped to /console, not Secure over HTTP', async () => {
      const client = new ConsoleClient(app);
      const response = await client.login(app.main.admin);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      const cookie = response.headers.get('set-cookie') ?? '';
      assert.match(cookie, /^ck_console=[A-Za-z0-9_-]{43}; /);
      const attributes = cookie
        .split(';')
        .slice(1)
        .map((a) => a.trim());
      assert.deepEqual(attributes.sort(), ['HttpOnly', 'Path=/console', 'SameSite=Strict']);
      assert.equal(response.body.accessKey, app.main.admin.accessKey);
      assert.equal(response.body.role, 'ADMIN');
      assert.equal(response.body.tenant, 'default');
      assert.equal(response.body.expiresAt, new Date(NOW.getTime() + 12 * 60 * MINUTE).toISOString());
      assert.equal(response.body.idleExpiresAt, new Date(NOW.getTime() + 30 * MINUTE).toISOString());
      assert.deepEqual(response.body.can, {
        writeCertificates: true,
        readPrivateKeys: true,
        manageCredentials: true,
        readAudit: true,
        manageTargets: true,
      });
      assert.ok(
        !JSON.stringify(response.body).includes(client.session!.cookie.split('=')[1]!),
        'the session id is only in the cookie',
      );
      const me = await client.request('GET', '/console/api/session');
      assert.equal(me.status, 200);
      assert.equal(me.body.csrfToken, response.body.csrfToken);
    });

    it('stores only the SHA-256 of the session id', async () => {
      const client = await loggedIn(app, app.main.viewer);
      const id = client.session!.cookie.split('=')[1]!;
      const rows = await rawQuery(app.location, 'select id_hash from console_sessions');
      const hashes = rows.map((r) => r.id_hash);
      assert.ok(hashes.includes(createHash('sha256').update(id).digest('hex')));
      assert.ok(!hashes.includes(id));
    });

    it('refuses a wrong secret, an unknown key and a revoked key alike (401, no cookie), and audits failures of known keys', async () => {
      const tenant = await app.addTenant(`refusals-${target.name}`);
      await app.app.core.credentials.revoke(null, tenant.viewer.accessKey);
      const client = new ConsoleClient(app);
      for (const credential of [
        { accessKey: tenant.admin.accessKey, secretKey: 'wrong' },
        { accessKey: 'NOSUCHKEY00000000000', secretKey: tenant.admin.secretKey },
        tenant.viewer,
      ]) {
        const response = await client.login(credential);
        assert.equal(response.status, 401);
        assert.equal(response.headers.get('set-cookie'), null);
        assert.deepEqual(response.body, {
          error: {
            code: 'login_failed',
            message: 'The access key or secret key is wrong, or the key has been revoked.',
          },
        });
      }
      const events = await app.app.core.audit.list({ ...tenant.actor }, { limit: 10, action: 'console.login' });
      assert.deepEqual(
        events.map((e) => [e.actor, e.result, e.detail.reason]).sort(),
        [
          [tenant.admin.accessKey, 'failure', 'wrong_secret'],
          [tenant.viewer.accessKey, 'failure', 'revoked'],
        ].sort(),
      );
    });

    it('refuses requests without a session, with a forged one, and with malformed bodies', async () => {
      const client = new ConsoleClient(app);
      const none = await client.request('GET', '/console/api/certificates');
      assert.equal(none.status, 401);
      assert.equal(none.body.error.code, 'session_required');
      const forged = await client.request('GET', '/console/api/certificates', undefined, {
        cookie: 'ck_console=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      });
      assert.equal(forged.status, 401);
      assert.equal(forged.body.error.code, 'session_unknown');
      assert.match(forged.headers.get('set-cookie') ?? '', /^ck_console=; .*Max-Age=0/);
      const notJson = await client.raw(
        'POST',
        '/console/api/session',
        'accessKey=x',
        { origin: client.origin, 'content-type': 'text/plain' },
        false,
      );
      assert.equal(notJson.status, 415);
      const empty = await client.raw('POST', '/console/api/session', {}, { origin: client.origin }, false);
      assert.equal(empty.status, 400);
      assert.equal(empty.body.error.field, 'accessKey');
    });

    it('ends a session after 30 minutes idle, counting from its last use', async () => {
      const client = await loggedIn(app, app.main.viewer);
      app.clock.advance(29 * MINUTE);
      assert.equal((await client.request('GET', '/console/api/session')).status, 200);
      app.clock.advance(29 * MINUTE);
      const stillAlive = await client.request('GET', '/console/api/session');
      assert.equal(stillAlive.status, 200, 'used 29 minutes ago');
      app.clock.advance(30 * MINUTE);
      const idle = await client.request('GET', '/console/api/session');
      assert.equal(idle.status, 401);
      assert.equal(idle.body.error.code, 'session_idle');
      assert.match(idle.body.error.message, /inactivity/);
    });

    it('ends a session 12 hours after login however busy it is', async () => {
      const client = await loggedIn(app, app.main.viewer);
      for (let i = 0; i < 24; i++) {
        app.clock.advance(29 * MINUTE);
        assert.equal(
          (await client.request('GET', '/console/api/session')).status,
          200,
          `after ${(i + 1) * 29} minutes`,
        );
      }
      app.clock.advance(12 * 60 * MINUTE - 24 * 29 * MINUTE);
      const expired = await client.request('GET', '/console/api/session');
      assert.equal(expired.status, 401);
      assert.equal(expired.body.error.code, 'session_expired');
    });

    it('logout ends the session on the server and clears the cookie', async () => {
      const client = await loggedIn(app, app.main.admin);
      const saved = client.session!;
      const out = await client.request('DELETE', '/console/api/session');
      assert.equal(out.status, 204);
      assert.match(
        out.headers.get('set-cookie') ?? '',
        /^ck_console=; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=0$/,
      );
      client.session = saved;
      const again = await client.request('GET', '/console/api/session');
      assert.equal(again.status, 401);
      assert.equal(again.body.error.code, 'session_unknown');
    });

    it('a session dies with the revocation of its credential', async () => {
      const tenant = await app.addTenant(`revoked-${target.name}`);
      const client = await loggedIn(app, tenant.admin);
      await app.app.core.credentials.revoke(null, tenant.admin.accessKey);
      const response = await client.request('GET', '/console/api/dashboard');
      assert.equal(response.status, 401);
      assert.equal(response.body.error.code, 'session_revoked');
    });

    it('one credential keeps at most 20 live sessions; a further login drops the one ending soonest', async () => {
      const tenant = await app.addTenant(`cap-${target.name}`);
      const first = await loggedIn(app, tenant.viewer);
      app.clock.advance(1000);
      const rest: ConsoleClient[] = [];
      for (let i = 0; i < 19; i++) rest.push(await loggedIn(app, tenant.viewer));
      assert.equal((await first.request('GET', '/console/api/session')).status, 200, '20 sessions live');
      await loggedIn(app, tenant.viewer);
      assert.equal((await first.request('GET', '/console/api/session')).status, 401, 'the oldest was dropped');
      assert.equal((await rest[0]!.request('GET', '/console/api/session')).status, 200);
      const rows = await rawQuery(
        app.location,
        `select count(*) as n from console_sessions s join credentials c on c.id = s.credential_id where c.access_key = '${tenant.viewer.accessKey}'`,
      );
      assert.equal(Number(rows[0]!.n), 20);
    });

    it('sessions are shared through the store: another process on the same store accepts the cookie', async () => {
      const client = await loggedIn(app, app.main.viewer);
      const id = client.session!.cookie.split('=')[1]!;
      // A second core on the same store stands for a second process.
      const check = await app.app.core.sessions.verify(id);
      assert.equal(check.ok, true);
    });

    describe('CSRF', () => {
      it('refuses a state change without the CSRF token, with a wrong one, and accepts the right one', async () => {
        const client = await loggedIn(app, app.main.admin);
        const body = { role: 'VIEWER', description: 'csrf test' };
        const missing = await client.request('POST', '/console/api/credentials', body, { 'x-csrf-token': '' });
        assert.equal(missing.status, 403);
        assert.equal(missing.body.error.code, 'csrf_token_invalid');
        const wrong = await client.request('POST', '/console/api/credentials', body, {
          'x-csrf-token': 'A'.repeat(43),
        });
        assert.equal(wrong.status, 403);
        const otherSession = await loggedIn(app, app.main.admin);
        const foreign = await client.request('POST', '/console/api/credentials', body, {
          'x-csrf-token': otherSession.session!.csrfToken,
        });
        assert.equal(foreign.status, 403, "another session's token does not fit");
        const right = await client.request('POST', '/console/api/credentials', body);
        assert.equal(right.status, 201);
      });

      it('refuses a state change from another origin or site, even with the token', async () => {
        const client = await loggedIn(app, app.main.admin);
        const crossSite: Array<Record<string, string>> = [
          { origin: 'https://evil.example' },
          { origin: 'null' },
          { origin: client.origin.replace('127.0.0.1', 'localhost') },
          { 'sec-fetch-site': 'cross-site' },
          { 'sec-fetch-site': 'same-site' },
        ];
        for (const headers of crossSite) {
          const response = await client.request('DELETE', '/console/api/certificates/1?name=x', undefined, headers);
          assert.equal(response.status, 403, JSON.stringify(headers));
          assert.equal(response.body.error.code, 'cross_site');
        }
        const sameOrigin = await client.request('DELETE', '/console/api/session', undefined, {
          'sec-fetch-site': 'same-origin',
        });
        assert.equal(sameOrigin.status, 204);
      });

      it('refuses a login posted from another origin (login CSRF)', async () => {
        const client = new ConsoleClient(app);
        const response = await client.login(app.main.admin, { origin: 'https://evil.example' });
        assert.equal(response.status, 403);
        assert.equal(response.headers.get('set-cookie'), null);
        const site = await client.login(app.main.admin, { 'sec-fetch-site': 'cross-site' });
        assert.equal(site.status, 403);
      });

      it('reads need no token: GET is safe', async () => {
        const client = await loggedIn(app, app.main.viewer);
        const response = await client.request('GET', '/console/api/certificates', undefined, {
          origin: 'https://evil.example',
        });
        assert.equal(response.status, 200);
      });
    });
  });
}
