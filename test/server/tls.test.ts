/**
 * The HTTPS listener (server/tls.ts, build.ts, start.ts): TLS 1.2 and 1.3 served, TLS 1.1 refused
 * (with a control: the same client gets through to a server that allows 1.1, so the refusal is
 * certkeeper's), the same routes as HTTP, HSTS over TLS only, the certificate reloaded without a
 * restart when the files change, and a bad new pair kept out. Real TLS over loopback; test PKI
 * minted here.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest, createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ConnectionOptions } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { mintSelfSignedLeaf, P256, type Issued } from '../helpers/pki.ts';
import { fakeStore, fixedClock, LogCollector, testConfig } from './helpers.ts';

const localhostLeaf = (): Promise<Issued> =>
  mintSelfSignedLeaf({ cn: 'localhost', sans: { dns: ['localhost'], ip: ['127.0.0.1'] }, key: P256, freshKey: true });

/** The fingerprint of the certificate a fresh TLS connection is given, and the protocol agreed. */
function handshake(port: number, options: ConnectionOptions = {}): Promise<{ fingerprint: string; protocol: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, ...options });
    socket.once('secureConnect', () => {
      const peer = socket.getPeerX509Certificate();
      resolve({ fingerprint: peer?.fingerprint256 ?? '', protocol: socket.getProtocol() ?? '' });
      socket.end();
    });
    socket.once('error', reject);
  });
}

function get(
  url: string,
  ca: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, servername: 'localhost' }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

/** A client that offers TLS 1.1 only, with the old ciphers allowed on its side. */
const TLS11_CLIENT: ConnectionOptions = { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' };

describe('HTTPS listener', () => {
  let dir: string;
  let first: Issued;
  let running: RunningServer;
  const logs = new LogCollector();
  const certFile = () => join(dir, 'tls.crt');
  const keyFile = () => join(dir, 'tls.key');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'certkeeper-tls-'));
    first = await localhostLeaf();
    await writeFile(certFile(), first.pem);
    await writeFile(keyFile(), first.keyPem, { mode: 0o600 });
    running = await startServer({
      config: testConfig({ tls: { certFile: certFile(), keyFile: keyFile(), port: 0 } }),
      store: fakeStore(),
      clock: fixedClock,
      faces: [],
      logStream: logs,
    });
  });

  after(async () => {
    await running?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the same routes over TLS 1.3 and 1.2, with HSTS only over TLS', async () => {
    assert.ok(running.secure, 'an HTTPS listener');
    assert.match(running.secure.address, /^https:\/\/127\.0\.0\.1:\d+$/);
    const secure = await get(`https://localhost:${running.secure.port}/healthz`, first.pem);
    assert.equal(secure.status, 200);
    assert.equal(secure.headers['strict-transport-security'], 'max-age=31536000');
    const plain = await fetch(`${running.address}/healthz`);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get('strict-transport-security'), null);
    assert.equal((await handshake(running.secure.port, { maxVersion: 'TLSv1.3' })).protocol, 'TLSv1.3');
    assert.equal((await handshake(running.secure.port, { maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2');
  });

  it('refuses TLS 1.1, which a server allowing it accepts from the same client', async () => {
    await assert.rejects(handshake(running.secure!.port, TLS11_CLIENT), /protocol|version|alert/i);
    const lax = createHttpsServer({
      cert: first.pem,
      key: first.keyPem,
      minVersion: 'TLSv1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    lax.listen(0, '127.0.0.1');
    await once(lax, 'listening');
    try {
      const port = (lax.address() as { port: number }).port;
      assert.equal((await handshake(port, TLS11_CLIENT)).protocol, 'TLSv1.1');
    } finally {
      lax.close();
    }
  });

  it('picks up a new pair without a restart, and keeps the old one when the new pair is bad', async () => {
    const port = running.secure!.port;
    const before = (await handshake(port)).fingerprint;
    assert.equal(before, new X509Certificate(first.pem).fingerprint256);

    const second = await localhostLeaf();
    await writeFile(keyFile(), second.keyPem, { mode: 0o600 });
    await writeFile(certFile(), second.pem);
    const expected = new X509Certificate(second.pem).fingerprint256;
    let seen = before;
    for (let i = 0; i < 150 && seen !== expected; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      seen = (await handshake(port)).fingerprint;
    }
    assert.equal(seen, expected, 'a new connection gets the new certificate');
    assert.ok(logs.records().some((r) => r.msg === 'TLS certificate reloaded' && r.fingerprint === expected));

    // A certificate whose key is not the key file's: refused, the second pair stays.
    const third = await localhostLeaf();
    await writeFile(certFile(), third.pem);
    for (let i = 0; i < 150; i++) {
      if (logs.records().some((r) => typeof r.msg === 'string' && r.msg.includes('kept the previous pair'))) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const warning = logs.records().find((r) => typeof r.msg === 'string' && r.msg.includes('kept the previous pair'));
    assert.ok(warning, 'the bad pair is reported');
    assert.doesNotMatch(JSON.stringify(warning), /PRIVATE KEY|BEGIN/);
    assert.equal((await handshake(port)).fingerprint, expected);
  });

  it('refuses to start with a pair that does not match, saying which files', async () => {
    const other = await localhostLeaf();
    const mismatched = join(dir, 'other.crt');
    await writeFile(mismatched, other.pem);
    await assert.rejects(
      startServer({
        config: testConfig({ tls: { certFile: mismatched, keyFile: join(dir, 'missing.key'), port: 0 } }),
        store: fakeStore(),
        clock: fixedClock,
        faces: [],
      }),
      /CERTKEEPER_TLS_KEY_FILE .*missing\.key: cannot read it \(ENOENT\)/,
    );
    await writeFile(join(dir, 'first.key'), first.keyPem);
    await assert.rejects(
      startServer({
        config: testConfig({ tls: { certFile: mismatched, keyFile: join(dir, 'first.key'), port: 0 } }),
        store: fakeStore(),
        clock: fixedClock,
        faces: [],
      }),
      /not a usable certificate and key pair/,
    );
  });
});
