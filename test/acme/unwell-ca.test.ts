/**
 * A CA that is down, slow or answers garbage, and RFC 9773 renewal information.
 *
 * These run against small HTTP servers of the test's own, not Pebble: Pebble cannot be made to
 * answer non-JSON, a bare 500 or a 429 with Retry-After, and Pebble 2.4.0 offers no `renewalInfo`
 * (ARI) at all. The ARI server below is a minimal ACME directory that offers `renewalInfo` and
 * checks the JWS signature of each POST against the account's JWK, so what the client sends is
 * verified, not merely recorded. (For docs/compat: Pebble 2.4.0 has no ARI; the client's ARI is
 * tested against this server only.)
 */
import 'reflect-metadata';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, randomBytes, verify, type JsonWebKey } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AcmeIssuer } from '../../src/acme/client.ts';
import { IssuerError } from '../../src/core/issuance/issuer.ts';
import { freePort } from '../helpers/pebble.ts';
import { mintLeaf, mintRoot } from '../helpers/pki.ts';

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;

interface FakeCa {
  readonly base: string;
  readonly directoryUrl: string;
  readonly requests: string[];
  close(): Promise<void>;
}

/** An HTTP server whose `handler` answers everything; `requests` lists "METHOD path". */
async function fakeCa(handler: Handler): Promise<FakeCa> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}`);
      handler(req, Buffer.concat(chunks).toString('utf8'), res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    directoryUrl: `${base}/dir`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const directoryOf = (base: string, ari: boolean): Record<string, string> => ({
  newNonce: `${base}/nonce`,
  newAccount: `${base}/acct`,
  newOrder: `${base}/order`,
  revokeCert: `${base}/revoke`,
  ...(ari ? { renewalInfo: `${base}/renewal-info` } : {}),
});

/** Answers the directory and nonces like a CA; everything else goes to `rest`. */
function acmeBase(ari: boolean, rest: Handler): Handler {
  return (req, body, res) => {
    const base = `http://${req.headers.host}`;
    if (req.url === '/dir') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(directoryOf(base, ari)));
    } else if (req.url === '/nonce') {
      res.writeHead(200, { 'replay-nonce': randomBytes(16).toString('base64url') }).end();
    } else rest(req, body, res);
  };
}

async function rejection(promise: Promise<unknown>): Promise<IssuerError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof IssuerError, `expected an IssuerError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('a CA that is down, slow or answers garbage', () => {
  const servers: FakeCa[] = [];
  const issuers: AcmeIssuer[] = [];
  const client = (directoryUrl: string, timeoutMs = 5000): AcmeIssuer => {
    const issuer = new AcmeIssuer({ directoryUrl, timeoutMs });
    issuers.push(issuer);
    return issuer;
  };
  const serve = async (handler: Handler): Promise<FakeCa> => {
    const ca = await fakeCa(handler);
    servers.push(ca);
    return ca;
  };
  after(async () => {
    for (const issuer of issuers) issuer.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  it('a closed port is unreachable and retryable', async () => {
    const url = `http://127.0.0.1:${await freePort()}/dir`;
    const error = await rejection(client(url).directory());
    assert.equal(error.kind, 'unreachable');
    assert.equal(error.retryable, true);
    assert.equal(error.url, url);
    assert.match(error.message, /ECONNREFUSED/);
  });

  it('a server that never answers is a retryable timeout', async () => {
    const ca = await serve(() => {});
    // The server never answers, so an error of kind 'timeout' is the client's own timer firing.
    const error = await rejection(client(ca.directoryUrl, 300).directory());
    assert.equal(error.kind, 'timeout');
    assert.equal(error.retryable, true);
  });

  it('a directory that is not JSON, or lacks a resource, is a retryable bad_response', async () => {
    const html = await serve((_req, _body, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'));
    const error = await rejection(client(html.directoryUrl).directory());
    assert.equal(error.kind, 'bad_response');
    assert.equal(error.retryable, true);
    assert.equal(error.httpStatus, 200);
    assert.match(error.message, /not JSON/);

    const partial = await serve((_req, _body, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ newNonce: 'x' })),
    );
    const missing = await rejection(client(partial.directoryUrl).directory());
    assert.equal(missing.kind, 'bad_response');
    assert.match(missing.message, /no "newAccount" URL/);
  });

  it('a 500 without a problem document is retryable, and a failed directory fetch is not cached', async () => {
    let calls = 0;
    const ca = await serve((req, body, res) => {
      calls += 1;
      if (calls === 1) res.writeHead(500, { 'content-type': 'text/html' }).end('<h1>oops</h1>');
      else acmeBase(false, () => res.writeHead(404).end())(req, body, res);
    });
    const issuer = client(ca.directoryUrl);
    const error = await rejection(issuer.directory());
    assert.equal(error.kind, 'bad_response');
    assert.equal(error.httpStatus, 500);
    assert.equal(error.retryable, true);
    assert.equal((await issuer.directory()).ari, false);
  });

  it('a 429 rateLimited problem is retryable and carries Retry-After and the detail', async () => {
    const ca = await serve(
      acmeBase(false, (_req, _body, res) =>
        res.writeHead(429, { 'content-type': 'application/problem+json', 'retry-after': '120' }).end(
          JSON.stringify({
            type: 'urn:ietf:params:acme:error:rateLimited',
            detail: 'too many new accounts',
            status: 429,
          }),
        ),
      ),
    );
    const issuer = client(ca.directoryUrl);
    const keyPem = await issuer.generateAccountKey();
    const error = await rejection(issuer.account({ keyPem }));
    assert.equal(error.kind, 'problem');
    assert.equal(error.retryable, true);
    assert.equal(error.retryAfter, 120);
    assert.equal(error.problem?.type, 'urn:ietf:params:acme:error:rateLimited');
    assert.equal(error.message, 'new account: rateLimited (HTTP 429): too many new accounts');
    assert.equal(error.code, 'unavailable', 'an AppError a face renders as unavailable');
    assert.ok(!error.message.includes(keyPem.split('\n')[1]!));
    assert.deepEqual(ca.requests, ['GET /dir', 'HEAD /nonce', 'POST /acct']);
  });

  it('a 503 with an HTTP-date Retry-After is retryable with the seconds until then', async () => {
    const at = new Date(Date.now() + 90_000).toUTCString();
    const ca = await serve(acmeBase(false, (_req, _body, res) => res.writeHead(503, { 'retry-after': at }).end()));
    const issuer = client(ca.directoryUrl);
    const error = await rejection(issuer.account({ keyPem: await issuer.generateAccountKey() }));
    assert.equal(error.kind, 'bad_response');
    assert.equal(error.retryable, true);
    assert.ok(
      error.retryAfter !== undefined && error.retryAfter >= 88 && error.retryAfter <= 90,
      String(error.retryAfter),
    );
  });

  it('a 4xx page that is not a problem document is not retried', async () => {
    const ca = await serve(
      acmeBase(false, (_req, _body, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('no')),
    );
    const issuer = client(ca.directoryUrl);
    const error = await rejection(issuer.account({ keyPem: await issuer.generateAccountKey() }));
    assert.equal(error.kind, 'bad_response');
    assert.equal(error.httpStatus, 404);
    assert.equal(error.retryable, false);
    assert.equal(error.code, 'internal');
  });

  it('a nonce endpoint without Replay-Nonce is a retryable bad_response', async () => {
    const ca = await serve((req, _body, res) => {
      if (req.url === '/dir') {
        res.writeHead(200).end(JSON.stringify(directoryOf(`http://${req.headers.host}`, false)));
      } else res.writeHead(200).end();
    });
    const issuer = client(ca.directoryUrl);
    const error = await rejection(issuer.account({ keyPem: await issuer.generateAccountKey() }));
    assert.equal(error.kind, 'bad_response');
    assert.equal(error.retryable, true);
    assert.match(error.message, /no Replay-Nonce/);
  });

  it('an account answer without Location is a retryable bad_response', async () => {
    const ca = await serve(acmeBase(false, (_req, _body, res) => res.writeHead(201).end('{"status":"valid"}')));
    const issuer = client(ca.directoryUrl);
    const error = await rejection(issuer.account({ keyPem: await issuer.generateAccountKey() }));
    assert.equal(error.kind, 'bad_response');
    assert.match(error.message, /no Location header/);
  });
});

describe('renewal information (RFC 9773) against an ARI server of the test', () => {
  const servers: FakeCa[] = [];
  after(async () => Promise.all(servers.map((s) => s.close())));

  /** Verifies a flattened JWS against `jwk` (ES256); returns its header and payload. */
  function openJws(body: string, jwk: JsonWebKey | undefined): { header: Record<string, unknown>; payload: unknown } {
    const jws = JSON.parse(body) as { protected: string; payload: string; signature: string };
    const header = JSON.parse(Buffer.from(jws.protected, 'base64url').toString('utf8')) as Record<string, unknown>;
    const key = createPublicKey({ key: (jwk ?? header.jwk) as JsonWebKey, format: 'jwk' });
    const ok = verify(
      'sha256',
      Buffer.from(`${jws.protected}.${jws.payload}`),
      { key, dsaEncoding: 'ieee-p1363' },
      Buffer.from(jws.signature, 'base64url'),
    );
    assert.ok(ok, 'JWS signature verifies');
    return {
      header,
      payload: jws.payload === '' ? undefined : JSON.parse(Buffer.from(jws.payload, 'base64url').toString()),
    };
  }

  it('reads the suggested window and Retry-After, and sends replaces in a new order', async () => {
    const root = await mintRoot();
    const leaf = await mintLeaf(root, { cn: 'renew.example.org' });
    let accountJwk: JsonWebKey | undefined;
    let orderPayload: Record<string, unknown> | undefined;
    const window = { start: '2026-03-01T00:00:00Z', end: '2026-03-03T00:00:00Z' };
    const ca = await fakeCa(
      acmeBase(true, (req, body, res) => {
        const base = `http://${req.headers.host}`;
        if (req.url === '/acct') {
          const { header } = openJws(body, undefined);
          accountJwk = header.jwk as JsonWebKey;
          res.writeHead(201, { location: `${base}/acct/1` }).end('{"status":"valid"}');
        } else if (req.url === '/order') {
          const { header, payload } = openJws(body, accountJwk);
          assert.equal(header.kid, `${base}/acct/1`);
          orderPayload = payload as Record<string, unknown>;
          res.writeHead(201, { location: `${base}/order/1` }).end(
            JSON.stringify({
              status: 'pending',
              identifiers: orderPayload.identifiers,
              authorizations: [`${base}/authz/1`],
              finalize: `${base}/order/1/finalize`,
              replaces: orderPayload.replaces,
            }),
          );
        } else if (req.url?.startsWith('/renewal-info/')) {
          res
            .writeHead(200, { 'content-type': 'application/json', 'retry-after': '21600' })
            .end(JSON.stringify({ suggestedWindow: window, explanationURL: 'https://ca.test/why' }));
        } else res.writeHead(404).end();
      }),
    );
    servers.push(ca);
    const issuer = new AcmeIssuer({ directoryUrl: ca.directoryUrl });
    try {
      assert.equal((await issuer.directory()).ari, true);
      const certId = issuer.renewalCertId(leaf.pem);
      const info = await issuer.renewalInfo(leaf.pem);
      assert.deepEqual(info, {
        certId,
        suggestedWindow: window,
        explanationUrl: 'https://ca.test/why',
        retryAfter: 21600,
      });
      assert.ok(ca.requests.includes(`GET /renewal-info/${certId}`));

      const keyPem = await issuer.generateAccountKey();
      const account = await issuer.account({ keyPem });
      const order = await issuer.newOrder(
        { url: account.url, keyPem },
        { identifiers: [{ type: 'dns', value: 'renew.example.org' }], replaces: certId },
      );
      assert.equal(orderPayload?.replaces, certId);
      assert.equal(order.replaces, certId);
      assert.equal(order.url, `${ca.base}/order/1`);
    } finally {
      issuer.close();
    }
  });

  it('refuses a window that ends before it starts, as a retryable bad_response', async () => {
    const leaf = await mintLeaf(await mintRoot());
    const ca = await fakeCa(
      acmeBase(true, (_req, _body, res) =>
        res
          .writeHead(200)
          .end(JSON.stringify({ suggestedWindow: { start: '2026-03-03T00:00:00Z', end: '2026-03-01T00:00:00Z' } })),
      ),
    );
    servers.push(ca);
    const issuer = new AcmeIssuer({ directoryUrl: ca.directoryUrl });
    const error = await rejection(issuer.renewalInfo(leaf.pem));
    issuer.close();
    assert.equal(error.kind, 'bad_response');
    assert.equal(error.retryable, true);
  });

  it('says so when the directory offers no renewalInfo, for renewal info and for replaces', async () => {
    const leaf = await mintLeaf(await mintRoot());
    const ca = await fakeCa(acmeBase(false, (_req, _body, res) => res.writeHead(500).end()));
    servers.push(ca);
    const issuer = new AcmeIssuer({ directoryUrl: ca.directoryUrl });
    const info = await rejection(issuer.renewalInfo(leaf.pem));
    assert.equal(info.kind, 'invalid_input');
    assert.equal(info.retryable, false);
    assert.equal(info.code, 'invalid_argument');
    const order = await rejection(
      issuer.newOrder(
        { url: `${ca.base}/acct/1`, keyPem: await issuer.generateAccountKey() },
        { identifiers: [{ type: 'dns', value: 'a.example.org' }], replaces: issuer.renewalCertId(leaf.pem) },
      ),
    );
    issuer.close();
    assert.equal(order.kind, 'invalid_input');
    assert.ok(!ca.requests.some((r) => r.startsWith('POST')), 'nothing was sent');
  });
});
