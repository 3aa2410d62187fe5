/**
 * Authentication of the NCP face through the real server: every real client's way of signing
 * passes (reference §3.2, §6), and each kind of failure gets the gateway's 401 with its own
 * `details`. A VIEWER that writes gets 210, and its request changes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NCP_CLIENT_VARIANTS, signedHeaders, type NcpResponse } from '../../helpers/ncp-client.ts';
import { FIXTURES, startNcpApp, storeSnapshot, v1Body, v2Body, type NcpTestApp } from './helpers.ts';

const DETAILS = {
  missing: 'Authentication information are missing.',
  malformed: 'The timestamp must be the time in milliseconds since 1970-01-01 00:00:00 UTC, in digits.',
  stale: 'The timestamp is more than 5 minutes from the server time.',
  unknown: 'Invalid authentication information.',
  signature: 'The signature does not match the request.',
};

function assertAuthFailure(res: NcpResponse, details: string): void {
  assert.equal(res.status, 401, res.body.toString());
  assert.equal(
    res.body.toString(),
    JSON.stringify({ error: { errorCode: '200', message: 'Authentication Failed', details } }),
  );
}

function assertPermissionDenied(res: NcpResponse): void {
  assert.equal(res.status, 401, res.body.toString());
  const body = res.json as { error: { errorCode: string; message: string; details: string } };
  assert.equal(body.error.errorCode, '210');
  assert.equal(body.error.message, 'Permission Denied');
  assert.match(body.error.details, /^The VIEWER role may not do this/);
}

describe('NCP authentication', () => {
  let app: NcpTestApp;

  /** A request whose headers are signed for `signed` but sent to `sent` (path + query as on the wire). */
  async function raw(method: string, sent: string, headers: Record<string, string>): Promise<NcpResponse> {
    const response = await fetch(new URL(sent, app.baseUrl), { method, headers });
    const body = Buffer.from(await response.arrayBuffer());
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body,
      ...(body.length > 0 ? { json: JSON.parse(body.toString()) } : {}),
    };
  }
  const sign = (
    method: string,
    url: string,
    extra: { timestamp?: number; secretKey?: string; accessKey?: string } = {},
  ) =>
    signedHeaders({
      method,
      url,
      variant: 'java-raw',
      accessKey: extra.accessKey ?? app.main.admin.accessKey,
      secretKey: extra.secretKey ?? app.main.admin.secretKey,
      timestamp: extra.timestamp ?? app.clock.now().getTime(),
    });

  before(async () => {
    app = await startNcpApp();
    const created = await app.call({
      method: 'POST',
      path: '/api/v1/certificate/withExternal',
      body: v1Body('ec-cert', FIXTURES.ec),
    });
    assert.equal(created.status, 200);
  });
  after(() => app.close());

  describe('every real client variant passes', () => {
    // Reserved and non-ASCII characters in a query: each variant encodes and signs them its own way.
    const query = { certificateName: 'ec-cert', note: "a b&c=d+e/f?g!'()*~é한" };
    for (const variant of NCP_CLIENT_VARIANTS) {
      it(`${variant}: GET with an awkward query`, async () => {
        const res = await app.call({ method: 'GET', path: '/api/v1/certificates', query, variant });
        assert.equal(res.status, 200, res.body.toString());
        assert.equal((res.json as { totalRows: number }).totalRows, 1);
      });
      it(`${variant}: GET with paging, and the POST download`, async () => {
        const res = await app.call({
          method: 'GET',
          path: '/api/v2/certificate/getCertificates',
          query: { certificateName: 'ec-cert', pageSize: 10 },
          variant,
        });
        assert.equal(res.status, 200, res.body.toString());
        const exported = await app.call({
          method: 'POST',
          path: '/api/v2/certificate/exportCertificate/1',
          body: {},
          variant,
        });
        assert.equal(exported.status, 200);
        assert.equal(exported.headers['content-type'], 'application/zip');
      });
    }

    it('a URLSearchParams client that signs exactly what it sends (space as +)', async () => {
      const sent = `/api/v1/certificates?${new URLSearchParams({ certificateName: 'ec-cert', note: 'a b' })}`;
      assert.ok(sent.includes('a+b'));
      const res = await raw('GET', sent, sign('GET', sent));
      assert.equal(res.status, 200);
    });

    it('a timestamp exactly 5 minutes off either way is accepted', async () => {
      // Signed by hand: the client helper's own clock reading could add a millisecond.
      const url = '/api/v2/certificate/certificateTypes';
      for (const offset of [-300_000, 300_000]) {
        const res = await raw('GET', url, sign('GET', url, { timestamp: app.clock.now().getTime() + offset }));
        assert.equal(res.status, 200, `offset ${offset}`);
      }
    });
  });

  describe('each failure has its own details', () => {
    it('missing headers, one at a time, and none at all', async () => {
      const headers = sign('GET', '/api/v1/certificates');
      for (const name of Object.keys(headers)) {
        const partial = { ...headers };
        delete partial[name];
        assertAuthFailure(await raw('GET', '/api/v1/certificates', partial), DETAILS.missing);
      }
      assertAuthFailure(await raw('GET', '/api/v1/certificates', {}), DETAILS.missing);
    });

    it('a timestamp that is not milliseconds in digits', async () => {
      const headers = { ...sign('GET', '/api/v1/certificates'), 'x-ncp-apigw-timestamp': '2027-01-15T01:02:03Z' };
      assertAuthFailure(await raw('GET', '/api/v1/certificates', headers), DETAILS.malformed);
    });

    it('an unknown access key, and a revoked one, alike', async () => {
      assertAuthFailure(
        await app.call({
          method: 'GET',
          path: '/api/v1/certificates',
          credentials: { accessKey: 'NOSUCHKEY00000000000', secretKey: 'x' },
        }),
        DETAILS.unknown,
      );
      const extra = await app.app.core.credentials.createForTenant(app.main.tenant.id, 'ADMIN', 'to revoke');
      const credentials = { accessKey: extra.credential.accessKey, secretKey: extra.secretKey };
      assert.equal((await app.call({ method: 'GET', path: '/api/v1/certificates', credentials })).status, 200);
      await app.app.core.credentials.revoke(null, extra.credential.accessKey);
      assertAuthFailure(await app.call({ method: 'GET', path: '/api/v1/certificates', credentials }), DETAILS.unknown);
    });

    it('a wrong secret', async () => {
      assertAuthFailure(
        await app.call({
          method: 'GET',
          path: '/api/v1/certificates',
          credentials: { accessKey: app.main.admin.accessKey, secretKey: 'wrong-secret' },
        }),
        DETAILS.signature,
      );
    });

    it('a tampered path, query or method', async () => {
      const path = sign('GET', '/api/v2/certificate/certificates');
      assertAuthFailure(await raw('GET', '/api/v2/certificate/getCertificates', path), DETAILS.signature);
      const query = sign('GET', '/api/v1/certificates?certificateNo=1');
      assert.equal((await raw('GET', '/api/v1/certificates?certificateNo=1', query)).status, 200);
      assertAuthFailure(await raw('GET', '/api/v1/certificates?certificateNo=2', query), DETAILS.signature);
      assertAuthFailure(
        await raw('GET', '/api/v1/certificates?certificateNo=1&certificateName=x', query),
        DETAILS.signature,
      );
      const method = sign('GET', '/api/v2/certificate/deleteCertificate/1?certificateName=ec-cert');
      assertAuthFailure(
        await raw('DELETE', '/api/v2/certificate/deleteCertificate/1?certificateName=ec-cert', method),
        DETAILS.signature,
      );
      assert.equal(
        (await app.call({ method: 'GET', path: '/api/v1/certificates', query: { certificateNo: 1 } })).status,
        200,
        'still there',
      );
    });

    it('a replayed request after 5 minutes, and one from the future', async () => {
      const headers = sign('GET', '/api/v1/certificates');
      assert.equal((await raw('GET', '/api/v1/certificates', headers)).status, 200);
      app.clock.advance(300_001);
      try {
        assertAuthFailure(await raw('GET', '/api/v1/certificates', headers), DETAILS.stale);
      } finally {
        app.clock.advance(-300_001);
      }
      assertAuthFailure(
        await app.call({ method: 'GET', path: '/api/v1/certificates', timestampOffsetMs: 300_001 }),
        DETAILS.stale,
      );
    });

    it('the issuance operations need authentication too; unknown paths answer 300 without it', async () => {
      assertAuthFailure(await raw('POST', '/api/v2/certificate/requestCertificateIssuance', {}), DETAILS.missing);
      assertAuthFailure(await raw('GET', '/api/v2/acme/accounts', {}), DETAILS.missing);
      const unknown = await raw('GET', '/api/v2/certificate/nope', {});
      assert.equal(unknown.status, 404);
      assert.equal((unknown.json as { error: { errorCode: string } }).error.errorCode, '300');
    });
  });

  describe('a VIEWER reads and may not write', () => {
    it('reads', async () => {
      const viewer = app.main.viewer;
      assert.equal((await app.call({ method: 'GET', path: '/api/v1/certificates', credentials: viewer })).status, 200);
      assert.equal(
        (await app.call({ method: 'GET', path: '/api/v2/certificate/exportCertificate/1/chain', credentials: viewer }))
          .status,
        200,
      );
      assert.equal(
        (
          await app.call({
            method: 'GET',
            path: '/api/v2/certificate/recentChanges',
            query: { minutes: 5 },
            credentials: viewer,
          })
        ).status,
        200,
      );
    });

    it('gets 210 for every write and for the key download, and nothing changes', async () => {
      const before = await storeSnapshot(app);
      const credentials = app.main.viewer;
      const writes = [
        app.call({
          method: 'POST',
          path: '/api/v1/certificate/withExternal',
          body: v1Body('viewer-cert', FIXTURES.korean),
          credentials,
        }),
        app.call({
          method: 'POST',
          path: '/api/v2/certificate/withExternal',
          body: v2Body('viewer-cert', FIXTURES.korean),
          credentials,
        }),
        app.call({
          method: 'POST',
          path: '/api/v2/certificate/withExternal',
          body: v2Body('ec-cert', FIXTURES.korean, 1),
          credentials,
        }),
        app.call({
          method: 'DELETE',
          path: '/api/v1/certificate/1',
          query: { certificateName: 'ec-cert' },
          credentials,
        }),
        app.call({
          method: 'DELETE',
          path: '/api/v2/certificate/deleteCertificate/1',
          query: { certificateName: 'ec-cert' },
          credentials,
        }),
        app.call({ method: 'POST', path: '/api/v2/certificate/exportCertificate/1', body: {}, credentials }),
        app.call({ method: 'POST', path: '/api/v2/certificate/requestCertificateIssuance', body: {}, credentials }),
        // Checked before the body is read: an invalid body still gets 210.
        app.call({ method: 'POST', path: '/api/v1/certificate/withExternal', body: '{not json', credentials }),
      ];
      for (const res of await Promise.all(writes)) assertPermissionDenied(res);
      assert.deepEqual(await storeSnapshot(app), before);
    });
  });
});
