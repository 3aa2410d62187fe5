/**
 * The console's formats over real HTTP on SQLite and PostgreSQL: import of PKCS#12 (with its
 * passphrase) and of picked DER files through the same endpoint and ladder as PEM; downloads of
 * the certificate as DER, the key as PKCS#8 DER and a PKCS#12 file (modern and legacy), each
 * opened by OpenSSL 3; bad files refused like any import error (status, code, field, message),
 * nothing stored.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../../helpers/app.ts';
import { countRows, storeTargets } from '../../helpers/db.ts';
import { loggedIn, mintPems, startConsoleApp, type ConsoleClient, type Pems } from './helpers.ts';

const PASS = 'console pässphrase';
let dir: string;
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const openssl = (args: string[], input?: Buffer): Buffer =>
  execFileSync('openssl', args, { ...(input ? { input } : {}), stdio: ['pipe', 'pipe', 'pipe'] });
const b64 = (bytes: Buffer) => bytes.toString('base64');
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
/** The base64 of every picked file in an import body (the start of each, enough to find it anywhere). */
const contentsOf = (body: unknown): string[] =>
  Object.values(body as Record<string, unknown>).flatMap((value) => {
    const content = (value as { contentBase64?: unknown } | null)?.contentBase64;
    return typeof content === 'string' && content.length >= 16 ? [content.slice(0, 64)] : [];
  });

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'certkeeper-console-formats-'));
  file('pass.txt', PASS);
});
after(() => rmSync(dir, { recursive: true, force: true }));

for (const target of storeTargets) {
  describe(`console formats (${target.name})`, { skip: target.skip }, () => {
    let app: TestApp;
    let admin: ConsoleClient;
    let viewer: ConsoleClient;
    let pems: Pems;
    let no: number;

    /** A download's bytes (the helper client reads text). */
    const download = async (client: ConsoleClient, method: string, path: string, body?: unknown) => {
      const session = client.session!;
      const response = await fetch(`${app.baseUrl}${path}`, {
        method,
        headers: {
          cookie: session.cookie,
          ...(method === 'POST' ? { origin: app.baseUrl, 'x-csrf-token': session.csrfToken } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
    };

    before(async () => {
      app = await startConsoleApp(target.name);
      admin = await loggedIn(app, app.main.admin);
      viewer = await loggedIn(app, app.main.viewer);
      pems = await mintPems();
      const created = await admin.request('POST', '/console/api/certificates', {
        name: 'www',
        certificate: pems.certificate,
        privateKey: pems.privateKey,
        chain: pems.chain,
      });
      assert.equal(created.status, 201, created.text);
      no = created.body.certificateNo;
    });
    after(() => app?.close());

    it('downloads the certificate as DER (any role): openssl x509 -inform DER reads it', async () => {
      const der = await download(viewer, 'GET', `/console/api/certificates/${no}/files/certificate.der`);
      assert.equal(der.status, 200);
      assert.equal(der.headers.get('content-type'), 'application/pkix-cert');
      assert.equal(der.headers.get('content-disposition'), 'attachment; filename="www.der"');
      const pem = openssl(['x509', '-inform', 'DER', '-in', file('c.der', der.bytes)]).toString();
      assert.equal(fingerprint(pem), fingerprint(pems.certificate));
    });

    it('downloads the key as PKCS#8 DER (ADMIN, audited): it matches the certificate', async () => {
      const key = await download(admin, 'POST', `/console/api/certificates/${no}/private-key`, { format: 'der' });
      assert.equal(key.status, 200);
      assert.equal(key.headers.get('content-disposition'), 'attachment; filename="www.key.der"');
      const pub = openssl(['pkey', '-inform', 'DER', '-pubout', '-in', file('k.der', key.bytes)]).toString();
      assert.equal(pub, openssl(['x509', '-noout', '-pubkey'], Buffer.from(pems.certificate)).toString());
      const refused = await download(viewer, 'POST', `/console/api/certificates/${no}/private-key`, { format: 'der' });
      assert.equal(refused.status, 403);
      const bad = await admin.request('POST', `/console/api/certificates/${no}/private-key`, { format: 'p7b' });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.field, 'format');
    });

    for (const legacy of [false, true]) {
      it(`downloads a PKCS#12 file${legacy ? ' (legacy)' : ''}: openssl pkcs12 opens it without -legacy`, async () => {
        const history = async () =>
          (await viewer.request('GET', `/console/api/certificates/${no}/history`)).body.items.filter(
            (e: { action: string }) => e.action === 'certificate.key.read',
          ).length;
        const reads = await history();
        const p12 = await download(admin, 'POST', `/console/api/certificates/${no}/pkcs12`, {
          passphrase: PASS,
          legacy,
        });
        assert.equal(p12.status, 200);
        assert.equal(p12.headers.get('content-type'), 'application/x-pkcs12');
        assert.equal(p12.headers.get('content-disposition'), 'attachment; filename="www.p12"');
        assert.equal(await history(), reads + 1, 'the key read is audited');
        const info = spawnSync(
          'openssl',
          ['pkcs12', '-in', file('out.p12', p12.bytes), '-passin', `file:${join(dir, 'pass.txt')}`, '-info', '-nodes'],
          { encoding: 'utf8' },
        );
        assert.equal(info.status, 0, info.stderr);
        assert.match(info.stderr, legacy ? /MAC: sha1/ : /MAC: sha256/);
        assert.match(info.stdout, /BEGIN PRIVATE KEY/);
        assert.equal((info.stdout.match(/BEGIN CERTIFICATE/g) ?? []).length, 3);
      });
    }

    it('a VIEWER gets a PKCS#12 without the key, and is refused (and audited) with it', async () => {
      const withoutKey = await download(viewer, 'POST', `/console/api/certificates/${no}/pkcs12`, {
        passphrase: PASS,
        includeKey: false,
      });
      assert.equal(withoutKey.status, 200);
      const text = openssl(['pkcs12', '-in', file('v.p12', withoutKey.bytes), '-passin', `pass:${PASS}`, '-nodes']);
      assert.doesNotMatch(text.toString(), /PRIVATE KEY/);
      const refused = await viewer.request('POST', `/console/api/certificates/${no}/pkcs12`, { passphrase: PASS });
      assert.equal(refused.status, 403);
      for (const [body, field] of [
        [{}, 'passphrase'],
        [{ passphrase: '' }, 'passphrase'],
        [{ passphrase: 'x'.repeat(1025) }, 'passphrase'],
        [{ passphrase: PASS, legacy: 'yes' }, 'legacy'],
      ] as const) {
        const response = await admin.request('POST', `/console/api/certificates/${no}/pkcs12`, body);
        assert.ok(response.status === 400 || response.status === 413, response.text);
        assert.equal(response.body.error.field, field);
      }
      const nul = await admin.request('POST', `/console/api/certificates/${no}/pkcs12`, { passphrase: 'a\u0000b' });
      assert.equal(nul.status, 400);
    });

    it('imports a PKCS#12 file openssl writes (modern and -legacy), through Check and Import', async () => {
      for (const [name, extra] of [
        ['p12-modern', []],
        ['p12-legacy', ['-legacy']],
      ] as const) {
        const leaf = await mintPems({ cn: `${name}.example.com` });
        const bytes = openssl([
          'pkcs12',
          '-export',
          '-in',
          file('l.pem', leaf.certificate),
          '-inkey',
          file('k.pem', leaf.privateKey),
          '-certfile',
          file('ch.pem', leaf.chain),
          '-passout',
          `file:${join(dir, 'pass.txt')}`,
          ...extra,
        ]);
        const body = { name, pkcs12: { contentBase64: b64(bytes), passphrase: PASS } };
        const checked = await admin.request('POST', '/console/api/certificates/validate', body);
        assert.equal(checked.status, 200, checked.text);
        assert.equal(checked.body.hasPrivateKey, true);
        assert.equal(checked.body.chainLength, 2);
        const created = await admin.request('POST', '/console/api/certificates', body);
        assert.equal(created.status, 201, created.text);
        assert.equal(created.body.name, name);
      }
    });

    it('imports picked DER files for certificate, key and chain', async () => {
      const leaf = await mintPems({ cn: 'der.example.com' });
      const certificate = openssl(['x509', '-outform', 'DER'], Buffer.from(leaf.certificate));
      const privateKey = openssl(['pkcs8', '-topk8', '-nocrypt', '-outform', 'DER'], Buffer.from(leaf.privateKey));
      const chain = Buffer.concat(
        [leaf.intermediate.pem, leaf.root.pem].map((pem) => openssl(['x509', '-outform', 'DER'], Buffer.from(pem))),
      );
      const created = await admin.request('POST', '/console/api/certificates', {
        name: 'der',
        certificate: { name: 'leaf.der', contentBase64: b64(certificate) },
        privateKey: { name: 'key.der', contentBase64: b64(privateKey) },
        chain: { name: 'chain.der', contentBase64: b64(chain) },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.hasPrivateKey, true);
    });

    it('refuses bad PKCS#12 and DER files like other import errors, and stores nothing', async () => {
      const leaf = await mintPems({ cn: 'bad.example.com' });
      const good = openssl([
        'pkcs12',
        '-export',
        '-in',
        file('l.pem', leaf.certificate),
        '-inkey',
        file('k.pem', leaf.privateKey),
        '-passout',
        `file:${join(dir, 'pass.txt')}`,
      ]);
      const noCert = openssl([
        'pkcs12',
        '-export',
        '-nocerts',
        '-inkey',
        file('k.pem', leaf.privateKey),
        '-passout',
        `pass:${PASS}`,
      ]);
      const keyDer = openssl(['pkcs8', '-topk8', '-nocrypt', '-outform', 'DER'], Buffer.from(leaf.privateKey));
      const p12 = (bytes: Buffer, passphrase = PASS) => ({
        name: 'bad',
        pkcs12: { contentBase64: b64(bytes), passphrase },
      });
      const cases: Array<[string, unknown, number, string, string, RegExp]> = [
        ['wrong passphrase', p12(good, 'nope'), 400, 'invalid_argument', 'passphrase', /passphrase does not open/],
        ['corrupt', p12(good.subarray(0, 200)), 400, 'invalid_argument', 'pkcs12', /damaged or is not a PKCS#12/],
        ['NUL bytes', p12(Buffer.alloc(4096)), 400, 'invalid_argument', 'pkcs12', /damaged/],
        ['no certificate', p12(noCert), 400, 'certificate_missing', 'pkcs12', /holds no certificate/],
        ['oversized', p12(Buffer.alloc(600 * 1024)), 413, 'input_too_large', 'pkcs12', /limit/],
        ['empty', p12(Buffer.alloc(0)), 400, 'invalid_argument', 'pkcs12', /picked file is empty/],
        [
          'NHN file too large',
          { name: 'bad', file: { name: 'x.pem', contentBase64: b64(Buffer.alloc(600 * 1024, 0x41)) } },
          413,
          'input_too_large',
          'file',
          /limit/,
        ],
        [
          'not base64',
          { name: 'bad', pkcs12: { contentBase64: '@@@', passphrase: PASS } },
          400,
          'invalid_argument',
          'pkcs12',
          /Pick it again/,
        ],
        [
          'with other fields',
          { ...p12(good), certificate: leaf.certificate },
          400,
          'invalid_argument',
          'pkcs12',
          /not both/,
        ],
        [
          'DER key as the certificate',
          { name: 'bad', certificate: { contentBase64: b64(keyDer) } },
          400,
          'certificate_invalid',
          'certificate',
          /DER of a private key, not a certificate/,
        ],
        [
          'PKCS#12 as the certificate',
          { name: 'bad', certificate: { contentBase64: b64(good) } },
          400,
          'invalid_argument',
          'certificate',
          /PKCS#12/,
        ],
        [
          'NUL bytes as the certificate',
          { name: 'bad', certificate: { contentBase64: b64(Buffer.alloc(300)) } },
          400,
          'pem_malformed',
          'certificate',
          /binary/,
        ],
      ];
      const stored = await countRows(app.location, 'certificates');
      const lastImportEvent = async () =>
        (await app.app.core.audit.list(app.main.actor, { action: 'certificate.import', limit: 1 }))[0];
      let previous = (await lastImportEvent())?.id ?? 0;
      for (const [label, body, status, code, field, message] of cases) {
        for (const path of ['/console/api/certificates/validate', '/console/api/certificates']) {
          const response = await admin.request('POST', path, body);
          assert.equal(response.status, status, `${label} ${path}: ${response.text}`);
          assert.equal(response.body.error.code, code, label);
          assert.equal(response.body.error.field, field, label);
          assert.match(response.body.error.message, message, label);
          assert.ok(!response.text.includes(PASS), 'the passphrase never comes back');
        }
        // The import (not the check) is audited as a refused import of the name, like a refusal of
        // the ladder: the code only, no passphrase, no file.
        const event = (await lastImportEvent())!;
        assert.ok(event.id > previous, `${label}: audited`);
        previous = event.id;
        assert.deepEqual(
          [event.actor, event.result, event.target, event.detail],
          [app.main.admin.accessKey, 'failure', 'certificate-name:bad', { origin: 'console', code }],
          label,
        );
        const recorded = JSON.stringify(event);
        for (const secret of [PASS, 'nope', ...contentsOf(body)])
          assert.ok(!recorded.includes(secret), `${label}: the event holds no passphrase or file`);
      }
      assert.equal(await countRows(app.location, 'certificates'), stored, 'nothing stored');
    });
  });
}
