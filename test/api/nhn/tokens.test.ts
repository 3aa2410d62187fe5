/**
 * POST /oauth2/token/create and the v1.3 bearer token: issue, use, expiry (TestClock), revocation,
 * storage as a hash, and every refusal with its OAuth or NHN body.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { TestApp } from '../../helpers/app.ts';
import { rawQuery, storeTargets } from '../../helpers/db.ts';
import { basic, certificatesUrl, issueToken, json, nhnError, startNhnApp, tokenRequest } from './helpers.ts';

const invalidClient = (description: string) => ({ error: 'invalid_client', error_description: description });
const invalidRequest = (description: string) => ({ error: 'invalid_request', error_description: description });

for (const target of storeTargets) {
  describe(`NHN tokens on ${target.name}`, { skip: target.skip }, () => {
    let app: TestApp;
    before(async () => {
      app = await startNhnApp(target.name);
    });
    after(() => app?.close());

    const list = (token: string, headerValue = `Bearer ${token}`) =>
      fetch(certificatesUrl(app, 'v1.3'), { headers: { 'x-nhn-authorization': headerValue } });

    it('issues a Bearer token with the documented shape and no-store caching', async () => {
      const response = await tokenRequest(app, { authorization: basic(app.main.admin) });
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      const body = (await response.json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body), ['access_token', 'token_type', 'expires_in']);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.expires_in, 86_400);
      assert.match(String(body.access_token), /^[A-Za-z0-9_-]{43}$/);
    });

    it('a token works on v1.3 and is stored only as its SHA-256', async () => {
      const token = await issueToken(app, app.main.viewer);
      const response = await list(token);
      assert.equal(response.status, 200);
      const rows = await rawQuery(app.location, 'select token_hash from nhn_tokens');
      const hash = createHash('sha256').update(token).digest('hex');
      assert.ok(rows.some((row) => row.token_hash === hash));
      assert.ok(rows.every((row) => !JSON.stringify(row).includes(token)));
    });

    it('a token expires after expires_in seconds (injected clock)', async () => {
      const token = await issueToken(app, app.main.viewer);
      app.clock.advance(86_400_000 - 1);
      assert.equal((await list(token)).status, 200);
      app.clock.advance(1);
      const response = await list(token);
      assert.equal(response.status, 401);
      assert.deepEqual(
        await json(response),
        nhnError(40103, 'The token has expired. Request a new one from POST /oauth2/token/create.'),
      );
      app.clock.advance(-86_400_000);
    });

    it('revoking the credential kills its tokens at once', async () => {
      const extra = await app.app.core.credentials.createForTenant(app.main.tenant.id, 'ADMIN', 'to revoke');
      const credential = { accessKey: extra.credential.accessKey, secretKey: extra.secretKey, role: 'ADMIN' as const };
      const token = await issueToken(app, credential);
      assert.equal((await list(token)).status, 200);
      await app.app.core.credentials.revoke(null, credential.accessKey);
      const response = await list(token);
      assert.equal(response.status, 401);
      assert.deepEqual(
        await json(response),
        nhnError(40104, 'The credential this token was issued to has been revoked.'),
      );
      // …and the revoked pair gets no new token.
      const again = await tokenRequest(app, { authorization: basic(credential) });
      assert.equal(again.status, 401);
      assert.deepEqual(
        await again.json(),
        invalidClient('The access key or secret key is wrong, or the key has been revoked.'),
      );
    });

    it('wrong secret, unknown access key: 401 invalid_client with WWW-Authenticate', async () => {
      for (const credential of [
        { accessKey: app.main.admin.accessKey, secretKey: `${app.main.admin.secretKey}x` },
        { accessKey: 'NOSUCHACCESSKEY00000', secretKey: app.main.admin.secretKey },
      ]) {
        const response = await tokenRequest(app, { authorization: basic(credential) });
        assert.equal(response.status, 401);
        assert.equal(response.headers.get('www-authenticate'), 'Basic realm="certkeeper"');
        assert.deepEqual(
          await response.json(),
          invalidClient('The access key or secret key is wrong, or the key has been revoked.'),
        );
      }
    });

    it('wrong or missing grant_type', async () => {
      const auth = { authorization: basic(app.main.admin) };
      const cases: Array<[string | null, number, unknown]> = [
        [
          'grant_type=password',
          400,
          { error: 'unsupported_grant_type', error_description: 'Only grant_type=client_credentials is supported.' },
        ],
        [
          'grant_type=CLIENT_CREDENTIALS',
          400,
          { error: 'unsupported_grant_type', error_description: 'Only grant_type=client_credentials is supported.' },
        ],
        ['scope=x', 400, invalidRequest('grant_type is required.')],
        [
          'grant_type=client_credentials&grant_type=client_credentials',
          400,
          invalidRequest('grant_type is given more than once.'),
        ],
        [null, 400, invalidRequest('grant_type is required.')],
      ];
      for (const [body, status, expected] of cases) {
        const response = await tokenRequest(app, auth, body);
        assert.equal(response.status, status, String(body));
        assert.deepEqual(await response.json(), expected, String(body));
      }
      const asJson = await fetch(`${app.baseUrl}/oauth2/token/create`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credentials' }),
      });
      assert.equal(asJson.status, 400);
      assert.deepEqual(
        await asJson.json(),
        invalidRequest('Send grant_type=client_credentials as application/x-www-form-urlencoded.'),
      );
      const form = new FormData();
      form.append('grant_type', 'client_credentials');
      const asMultipart = await fetch(`${app.baseUrl}/oauth2/token/create`, {
        method: 'POST',
        headers: auth,
        body: form,
      });
      assert.equal(asMultipart.status, 400);
      assert.deepEqual(
        await asMultipart.json(),
        invalidRequest('Send grant_type=client_credentials as application/x-www-form-urlencoded.'),
      );
      // scope is accepted and ignored
      assert.equal((await tokenRequest(app, auth, 'grant_type=client_credentials&scope=appKey:x')).status, 200);
    });

    it('malformed or missing Authorization on the token endpoint', async () => {
      const malformed = invalidRequest(
        'The Authorization header is malformed: expected Basic and the base64 of accessKey:secretKey.',
      );
      const cases: Array<[Record<string, string>, number, unknown]> = [
        [
          {},
          401,
          invalidClient('Client authentication required: send Authorization: Basic base64(accessKey:secretKey).'),
        ],
        [
          { authorization: `Bearer ${app.main.admin.secretKey}` },
          401,
          invalidClient('Unsupported client authentication: use Authorization: Basic base64(accessKey:secretKey).'),
        ],
        [{ authorization: 'Basic' }, 400, malformed],
        [{ authorization: 'Basic !!!not-base64!!!' }, 400, malformed],
        [{ authorization: `Basic ${Buffer.from('no-colon-here').toString('base64')}` }, 400, malformed],
        [{ authorization: `Basic ${Buffer.from(':secret').toString('base64')}` }, 400, malformed],
        [{ authorization: `Basic ${Buffer.from(`${app.main.admin.accessKey}:`).toString('base64')}` }, 400, malformed],
      ];
      for (const [headers, status, expected] of cases) {
        const response = await tokenRequest(app, headers);
        assert.equal(response.status, status, JSON.stringify(headers));
        assert.deepEqual(await response.json(), expected, JSON.stringify(headers));
      }
      // The scheme is case-insensitive.
      const lower = await tokenRequest(app, { authorization: basic(app.main.admin).replace('Basic', 'basic') });
      assert.equal(lower.status, 200);
    });

    it('missing, malformed and unknown bearer tokens on v1.3', async () => {
      const missing = await fetch(certificatesUrl(app, 'v1.3'));
      assert.equal(missing.status, 401);
      assert.deepEqual(
        await json(missing),
        nhnError(
          40100,
          'Authentication required: send X-NHN-AUTHORIZATION: Bearer <token> (POST /oauth2/token/create issues one).',
        ),
      );
      for (const value of ['Basic abc', 'Bearer', 'Bearer two words', 'Bearer tok"en', 'token-without-scheme']) {
        const response = await list('', value);
        assert.equal(response.status, 401, value);
        assert.deepEqual(
          await json(response),
          nhnError(40101, 'The X-NHN-AUTHORIZATION header is malformed; expected "Bearer <token>".'),
          value,
        );
      }
      const unknown = await list('A'.repeat(43));
      assert.equal(unknown.status, 401);
      assert.deepEqual(
        await json(unknown),
        nhnError(40102, 'The token is not valid. Request a new one from POST /oauth2/token/create.'),
      );
      // The token belongs in X-NHN-AUTHORIZATION; a standard Authorization header does not count.
      const token = await issueToken(app, app.main.viewer);
      const wrongHeader = await fetch(certificatesUrl(app, 'v1.3'), { headers: { authorization: `Bearer ${token}` } });
      assert.equal(wrongHeader.status, 401);
      // The scheme is case-insensitive.
      assert.equal((await list(token, `bearer ${token}`)).status, 200);
    });

    it('the token endpoint answers OAuth-style for unknown paths, other methods and oversized bodies', async () => {
      const unknown = await fetch(`${app.baseUrl}/oauth2/token/revoke`, { method: 'POST' });
      assert.equal(unknown.status, 404);
      assert.deepEqual(
        await unknown.json(),
        invalidRequest('No such endpoint; the token endpoint is POST /oauth2/token/create.'),
      );
      const get = await fetch(`${app.baseUrl}/oauth2/token/create`);
      assert.equal(get.status, 404);
      const big = await tokenRequest(
        app,
        { authorization: basic(app.main.admin) },
        `grant_type=client_credentials&pad=${'x'.repeat(9000)}`,
      );
      assert.equal(big.status, 413);
      assert.deepEqual(await big.json(), invalidRequest('The request body is over 8192 bytes.'));
    });

    it('issuing is audited', async () => {
      await issueToken(app, app.main.admin);
      const events = await app.app.core.audit.list(app.main.actor, { action: 'token.issue', limit: 5 });
      assert.ok(events.length > 0);
      assert.equal(events[0]?.actor, app.main.admin.accessKey);
      assert.equal(events[0]?.result, 'success');
    });
  });
}

describe('NHN token lifetime from config', () => {
  it('CERTKEEPER_TOKEN_TTL_SECONDS sets expires_in and the expiry', async () => {
    const app = await startNhnApp('sqlite', { CERTKEEPER_TOKEN_TTL_SECONDS: '60' });
    try {
      const response = await tokenRequest(app, { authorization: basic(app.main.viewer) });
      const body = (await response.json()) as { access_token: string; expires_in: number };
      assert.equal(body.expires_in, 60);
      const use = () =>
        fetch(certificatesUrl(app, 'v1.3'), { headers: { 'x-nhn-authorization': `Bearer ${body.access_token}` } });
      app.clock.advance(59_999);
      assert.equal((await use()).status, 200);
      app.clock.advance(1);
      assert.equal((await use()).status, 401);
    } finally {
      await app.close();
    }
  });
});
