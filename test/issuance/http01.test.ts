/**
 * HTTP-01 end to end: a real `certkeeper serve` configured with CERTKEEPER_HTTP01_PORT only (no
 * dcv zone) answers `/.well-known/acme-challenge/<token>` on that listener; Pebble's VA, whose
 * `httpPort` is that port, resolves the user's name through BIND (an A record to 127.0.0.1) and
 * fetches the key authorization from it. The certificate is requested with the CLI
 * (`--method http-01 --key-type rsa-2048`), stored under its reserved number with its key, and
 * its chain verifies with `openssl verify` against Pebble's root.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { USER_ZONE } from '../helpers/bind.ts';
import { cli, cliJson, serve, waitFor, type Served } from '../e2e/helpers.ts';
import { addUserA } from './user-dns.ts';
import { requestCertificate, SERVED_SKIP, showOrder, startIssuanceRig, type IssuanceRig } from './served.ts';

const run = promisify(execFile);

async function get(url: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { method });
  return { status: res.status, body: await res.text() };
}

describe('HTTP-01 through the certkeeper listener', { skip: SERVED_SKIP }, () => {
  let rig: IssuanceRig;
  let running: Served | null = null;

  before(async () => {
    rig = await startIssuanceRig();
  });
  after(async () => {
    running?.signal('SIGKILL');
    await running?.exited;
    await rig?.stop();
  });

  it('issues an RSA-2048 certificate validated over HTTP-01 by Pebble', async () => {
    const env = rig.env({ CERTKEEPER_HTTP01_PORT: String(rig.pebble.httpPort) });
    for (const name of ['CERTKEEPER_DCV_ZONE', 'CERTKEEPER_DCV_DNS_SERVER', 'CERTKEEPER_DCV_TSIG_KEY'])
      delete env[name];
    await cliJson(env, ['tenant', 'create', 'default']);
    running = await serve(env);
    const served = running;
    await waitFor(
      'the start-up log of issuance',
      async () =>
        new RegExp(`"http01Port":${rig.pebble.httpPort}.*certificate issuance is on`).test(served.output()) ||
        undefined,
    );
    const base = `http://127.0.0.1:${rig.pebble.httpPort}`;

    // Only GET of a token of an active order answers; the rest is 404, never a 5xx.
    for (const [path, method] of [
      ['/.well-known/acme-challenge/unknownToken_123', 'GET'],
      ['/.well-known/acme-challenge/unknownToken_123', 'POST'],
      ['/.well-known/acme-challenge/', 'GET'],
      ['/.well-known/acme-challenge/a%00b', 'GET'],
      ['/.well-known/acme-challenge/../../etc/passwd', 'GET'],
      [`/.well-known/acme-challenge/${'x'.repeat(300)}`, 'GET'],
      ['/', 'GET'],
    ] as const)
      assert.equal((await get(`${base}${path}`, method)).status, 404, `${method} ${path}`);

    // DNS-01 is not configured on this server: refused with the variable to set, nothing written.
    const dns = await cli(env, ['cert', 'request', '--name', 'nodns', '--domain', `nodns.${USER_ZONE}`]);
    assert.equal(dns.code, 1);
    assert.match(dns.stderr, /DNS-01 validation is not configured \(CERTKEEPER_DCV_ZONE\)/);

    const domain = `web.${USER_ZONE}`;
    await addUserA(rig.bind, domain, '127.0.0.1');
    const order = await requestCertificate(env, 'web', [domain], ['--method', 'http-01', '--key-type', 'rsa-2048']);
    assert.equal(order.method, 'http-01');
    assert.deepEqual(order.records, [], 'nothing for the user to create in DNS');
    const done = await waitFor(
      'the HTTP-01 order to end',
      async () => {
        const current = await showOrder(env, order.order);
        return ['done', 'failed', 'validation_failed'].includes(current.step) ? current : undefined;
      },
      60_000,
      500,
    );
    assert.equal(done.step, 'done', `${done.lastError ?? ''} ${JSON.stringify(done.problem)}`);
    assert.equal(done.certificateNo, order.certificateNo);
    assert.ok(rig.proxy.count('challenge') >= 1);

    const out = join(rig.dir, 'export');
    await cliJson(env, ['cert', 'export', String(order.certificateNo), '--out', out, '--key']);
    const leaf = new X509Certificate(await readFile(join(out, 'cert.pem'), 'utf8'));
    assert.equal(leaf.subjectAltName, `DNS:${domain}`);
    const key = createPrivateKey(await readFile(join(out, 'privkey.pem'), 'utf8'));
    assert.equal(key.asymmetricKeyType, 'rsa');
    assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
    assert.ok(leaf.checkPrivateKey(key));
    const root = await rig.pebble.management('/roots/0');
    assert.equal(root.status, 200);
    await writeFile(join(out, 'root.pem'), root.body);
    const verified = await run('openssl', [
      'verify',
      '-CAfile',
      join(out, 'root.pem'),
      '-untrusted',
      join(out, 'chain.pem'),
      join(out, 'cert.pem'),
    ]);
    assert.match(verified.stdout, /cert\.pem: OK/);
    // The order is final: its token is no longer served.
    assert.equal((await get(`${base}/.well-known/acme-challenge/unknownToken_123`)).status, 404);
  });
});
