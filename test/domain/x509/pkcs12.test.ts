/**
 * PKCS#12 and DER against OpenSSL 3 as the oracle: files certkeeper writes open with
 * `openssl pkcs12` (modern and legacy, the legacy one without `-legacy`), files `openssl pkcs12
 * -export` writes (modern and `-legacy`, RC2 included) convert and then pass the import ladder, and
 * DER exports read with `openssl x509 -inform DER` / `openssl pkey -inform DER`. Then every bad
 * input the conversion refuses, each with its code and field.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { AppError, type ErrorCode } from '../../../src/domain/errors.ts';
import { certificateDers, pkcs12Parts, privateKeyPkcs8Der, uploadToPem } from '../../../src/domain/x509/der.ts';
import { runImportLadder } from '../../../src/domain/x509/ladder.ts';
import {
  encodePkcs12,
  PKCS12_MAX_BYTES,
  PKCS12_MAX_ITERATIONS,
  pkcs12ToImportFields,
} from '../../../src/domain/x509/pkcs12.ts';
import { IMPORT_LIMITS } from '../../../src/domain/x509/ladder.ts';
import { P256, RSA2048, keyPemAs, mintBundle, type Bundle } from '../../helpers/pki.ts';

const PASS = 'correct horse ä 🐴';
let dir: string;
let rsa: Bundle;
let ec: Bundle;

const file = (name: string, content: string | Buffer): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const openssl = (args: string[], input?: Buffer): Buffer =>
  execFileSync('openssl', args, { ...(input ? { input } : {}), stdio: ['pipe', 'pipe', 'pipe'] });
const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;
const pubkeyOfCert = (pem: string): string =>
  openssl(['x509', '-noout', '-pubkey', '-in', file('pk.pem', pem)]).toString();

function refusal(run: () => unknown, code: ErrorCode, field: string, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.field, field);
    assert.match(error.message, message);
    assert.ok(!error.message.includes(PASS), 'the passphrase is never in a message');
    return true;
  });
}

const ladder = (fields: ReturnType<typeof pkcs12ToImportFields>) =>
  runImportLadder(
    { name: 'p12', ...fields },
    { now: new Date(), requireKey: false, allowEd25519: true, nameRule: null },
  );

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certkeeper-p12-'));
  file('pass.txt', PASS);
  rsa = await mintBundle({ leaf: { key: RSA2048, cn: 'rsa.example.com' } });
  ec = await mintBundle({ leaf: { key: P256, cn: 'ec.example.com' } });
});

after(() => rmSync(dir, { recursive: true, force: true }));

const partsOf = (bundle: Bundle, withKey = true) =>
  pkcs12Parts({
    name: 'www',
    certificatePem: bundle.leaf.pem,
    chainPems: [bundle.intermediate.pem, bundle.root.pem],
    privateKeyPem: withKey ? bundle.leaf.keyPem : null,
  });

describe('encodePkcs12: OpenSSL 3 opens what certkeeper writes', () => {
  for (const [label, legacy] of [
    ['modern (AES-256-CBC, PBKDF2-HMAC-SHA256, SHA-256 MAC)', false],
    ['legacy (3DES, SHA-1 MAC), without -legacy', true],
  ] as const) {
    for (const [keyName, bundle] of [
      ['RSA', () => rsa],
      ['EC', () => ec],
    ] as const) {
      it(`${label}, ${keyName} key`, () => {
        const b = bundle();
        const path = file('out.p12', encodePkcs12(partsOf(b), { passphrase: PASS, legacy }));
        const info = spawnSync(
          'openssl',
          ['pkcs12', '-in', path, '-passin', `file:${join(dir, 'pass.txt')}`, '-info', '-noout'],
          {
            encoding: 'utf8',
          },
        );
        assert.equal(info.status, 0, info.stderr);
        if (legacy) {
          assert.match(info.stderr, /MAC: sha1/);
          assert.match(info.stderr, /Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048/);
          assert.match(info.stderr, /PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC/);
        } else {
          assert.match(info.stderr, /MAC: sha256, Iteration 2048/);
          assert.match(info.stderr, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/);
          assert.match(info.stderr, /PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC/);
        }
        const passin = ['-passin', `file:${join(dir, 'pass.txt')}`];
        const leaf = openssl(['pkcs12', '-in', path, ...passin, '-clcerts', '-nokeys']).toString();
        assert.equal(fingerprint(leaf), fingerprint(b.leaf.pem));
        assert.match(leaf, /friendlyName: www/);
        const cas = openssl(['pkcs12', '-in', path, ...passin, '-cacerts', '-nokeys']).toString();
        const caFingerprints = (cas.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map(
          fingerprint,
        );
        assert.deepEqual(caFingerprints.sort(), [fingerprint(b.intermediate.pem), fingerprint(b.root.pem)].sort());
        // The key in the file is the certificate's: its public half equals the certificate's.
        const key = openssl(['pkcs12', '-in', path, ...passin, '-nocerts', '-nodes']);
        const pub = openssl(['pkey', '-pubout'], key).toString();
        assert.equal(pub, pubkeyOfCert(b.leaf.pem));
        // A wrong passphrase does not open it: the oracle can say no.
        const wrong = spawnSync('openssl', ['pkcs12', '-in', path, '-passin', 'pass:wrong', '-noout'], {
          encoding: 'utf8',
        });
        assert.notEqual(wrong.status, 0);
      });
    }
  }

  it('writes a file of certificates only when there is no key', () => {
    const path = file('nokey.p12', encodePkcs12(partsOf(rsa, false), { passphrase: PASS, legacy: false }));
    const out = openssl(['pkcs12', '-in', path, '-passin', `file:${join(dir, 'pass.txt')}`, '-nodes']).toString();
    assert.doesNotMatch(out, /PRIVATE KEY/);
    assert.equal((out.match(/BEGIN CERTIFICATE/g) ?? []).length, 3);
  });

  it('reads back what it writes, and the ladder accepts it as the same certificate', () => {
    for (const legacy of [false, true]) {
      const fields = pkcs12ToImportFields(encodePkcs12(partsOf(ec), { passphrase: PASS, legacy }), PASS);
      const candidate = ladder(fields);
      assert.equal(
        candidate.facts.fingerprintSha256,
        createHash('sha256').update(new X509Certificate(ec.leaf.pem).raw).digest('hex'),
      );
      assert.equal(candidate.chainPems.length, 2);
      assert.ok(candidate.privateKey);
    }
  });
});

describe('pkcs12ToImportFields: what openssl pkcs12 -export writes imports', () => {
  const cases: Array<[string, string[]]> = [
    ['OpenSSL 3 default', []],
    ['-legacy (RC2-40 certificates, 3DES key, SHA-1 MAC)', ['-legacy']],
    ['unencrypted bags (-keypbe NONE -certpbe NONE)', ['-keypbe', 'NONE', '-certpbe', 'NONE']],
    ['-macalg sha512, -iter 10000', ['-macalg', 'sha512', '-iter', '10000']],
    ['no MAC (-nomac)', ['-nomac']],
  ];
  for (const [label, extra] of cases) {
    for (const [keyName, bundle] of [
      ['RSA', () => rsa],
      ['EC', () => ec],
    ] as const) {
      it(`${label}, ${keyName}`, () => {
        const b = bundle();
        const bytes = openssl([
          'pkcs12',
          '-export',
          '-in',
          file('leaf.pem', b.leaf.pem),
          '-inkey',
          file('key.pem', keyPemAs(b.leaf, 'pkcs8')),
          '-certfile',
          file('chain.pem', b.chainPem),
          '-passout',
          `file:${join(dir, 'pass.txt')}`,
          ...extra,
        ]);
        const fields = pkcs12ToImportFields(bytes, PASS);
        assert.equal(fingerprint(fields.certificate), fingerprint(b.leaf.pem));
        const candidate = ladder(fields);
        assert.ok(candidate.privateKey);
        assert.deepEqual(candidate.chainPems.map(fingerprint), [
          fingerprint(b.intermediate.pem),
          fingerprint(b.root.pem),
        ]);
      });
    }
  }

  it('picks the leaf by its key when the file does not pair them (no localKeyId), whatever the order', () => {
    const fields = pkcs12ToImportFields(
      rawPfx([rsa.leaf.keyPem], [rsa.root.pem, rsa.leaf.pem, rsa.intermediate.pem]),
      '',
    );
    assert.equal(fingerprint(fields.certificate), fingerprint(rsa.leaf.pem));
    assert.equal(ladder(fields).chainPems.length, 2);
    // Another end-entity certificate first: the key decides, not the position.
    const other = pkcs12ToImportFields(rawPfx([rsa.leaf.keyPem], [ec.leaf.pem, rsa.leaf.pem]), '');
    assert.equal(fingerprint(other.certificate), fingerprint(rsa.leaf.pem));
  });

  it('reads BER: indefinite lengths and a constructed OCTET STRING, as Java and Windows write', () => {
    const pfx = forge.asn1.fromDer(encodePkcs12(partsOf(ec), { passphrase: PASS, legacy: false }).toString('latin1'));
    const [version, authSafe, macData] = pfx.value as forge.asn1.Asn1[];
    const content = ((authSafe!.value as forge.asn1.Asn1[])[1]!.value as forge.asn1.Asn1[])[0]!.value as string;
    const tlv = (tag: number, body: Buffer) => {
      const n = body.length;
      const length = n < 0x80 ? Buffer.from([n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
      return Buffer.concat([Buffer.from([tag]), length, body]);
    };
    const indefinite = (tag: number, ...parts: Buffer[]) =>
      Buffer.concat([Buffer.from([tag, 0x80]), ...parts, Buffer.from([0, 0])]);
    const bytes = Buffer.from(content, 'latin1');
    const half = Math.floor(bytes.length / 2);
    const der = (node: forge.asn1.Asn1) => Buffer.from(forge.asn1.toDer(node).getBytes(), 'latin1');
    const ber = indefinite(
      0x30,
      der(version!),
      indefinite(
        0x30,
        der((authSafe!.value as forge.asn1.Asn1[])[0]!),
        indefinite(0xa0, indefinite(0x24, tlv(0x04, bytes.subarray(0, half)), tlv(0x04, bytes.subarray(half)))),
      ),
      der(macData!),
    );
    assert.equal(fingerprint(pkcs12ToImportFields(ber, PASS).certificate), fingerprint(ec.leaf.pem));
  });

  it('opens a file with an empty passphrase', () => {
    const bytes = openssl([
      'pkcs12',
      '-export',
      '-in',
      file('leaf.pem', ec.leaf.pem),
      '-inkey',
      file('key.pem', ec.leaf.keyPem),
      '-passout',
      'pass:',
    ]);
    assert.equal(fingerprint(pkcs12ToImportFields(bytes, '').certificate), fingerprint(ec.leaf.pem));
  });

  it('imports a file of certificates without a key (leaf: the certificate that is not a CA)', () => {
    const bytes = openssl([
      'pkcs12',
      '-export',
      '-nokeys',
      '-in',
      file('all.pem', rsa.chainPem + rsa.leaf.pem),
      '-passout',
      `file:${join(dir, 'pass.txt')}`,
    ]);
    const fields = pkcs12ToImportFields(bytes, PASS);
    assert.equal(fields.privateKey, undefined);
    assert.equal(fingerprint(fields.certificate), fingerprint(rsa.leaf.pem));
    assert.equal(ladder(fields).chainPems.length, 2);
  });
});

const keytool = spawnSync('keytool', ['-help'], { encoding: 'utf8' }).error ? 'keytool not installed' : false;

describe('Java keytool as a second oracle', { skip: keytool }, () => {
  // Java refuses non-ASCII passwords for PBES2 ("Password is not ASCII"): docs/formats.md says so.
  const ASCII = 'java-compatible passphrase';
  before(() => file('ascii.txt', ASCII));

  it('lists the key entry of certkeeper files, modern and legacy', () => {
    for (const legacy of [false, true]) {
      const path = file(`java-${legacy}.p12`, encodePkcs12(partsOf(rsa), { passphrase: ASCII, legacy }));
      const list = spawnSync(
        'keytool',
        ['-list', '-v', '-keystore', path, '-storetype', 'PKCS12', '-storepass:file', join(dir, 'ascii.txt')],
        { encoding: 'utf8' },
      );
      assert.equal(list.status, 0, list.stdout + list.stderr);
      assert.match(list.stdout, /Alias name: www/);
      assert.match(list.stdout, /Entry type: PrivateKeyEntry/);
      assert.match(list.stdout, /Certificate chain length: 3/);
    }
  });

  it('imports what keytool writes', () => {
    const path = join(dir, 'java.p12');
    rmSync(path, { force: true });
    const made = spawnSync(
      'keytool',
      [
        '-genkeypair',
        '-alias',
        'java',
        '-keyalg',
        'EC',
        '-groupname',
        'secp256r1',
        '-dname',
        'CN=java.example.com',
        '-ext',
        'SAN=dns:java.example.com',
        '-validity',
        '30',
        '-keystore',
        path,
        '-storetype',
        'PKCS12',
        '-storepass:file',
        join(dir, 'ascii.txt'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(made.status, 0, made.stdout + made.stderr);
    const candidate = ladder(pkcs12ToImportFields(readFileSync(path), ASCII));
    assert.deepEqual(candidate.facts.domains, ['java.example.com']);
    assert.ok(candidate.privateKey);
  });
});

describe('pkcs12ToImportFields: bad input, each a clear error', () => {
  let good: Buffer;
  before(() => {
    good = encodePkcs12(partsOf(ec), { passphrase: PASS, legacy: false });
  });

  it('a wrong passphrase (modern and legacy)', () => {
    for (const legacy of [false, true]) {
      const bytes = encodePkcs12(partsOf(ec), { passphrase: PASS, legacy });
      refusal(() => pkcs12ToImportFields(bytes, 'wrong'), 'invalid_argument', 'passphrase', /passphrase does not open/);
    }
  });

  it('a wrong passphrase on a file without MAC: the decryption says so', () => {
    const bytes = openssl([
      'pkcs12',
      '-export',
      '-nomac',
      '-in',
      file('leaf.pem', ec.leaf.pem),
      '-inkey',
      file('key.pem', ec.leaf.keyPem),
      '-passout',
      `file:${join(dir, 'pass.txt')}`,
    ]);
    refusal(() => pkcs12ToImportFields(bytes, 'not it'), 'invalid_argument', 'passphrase', /passphrase does not open/);
  });

  it('a truncated file, a file of NUL bytes, random bytes, a certificate DER, an empty file', () => {
    for (const bytes of [
      good.subarray(0, good.length - 40),
      good.subarray(0, 200),
      Buffer.alloc(2048),
      Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) % 256)),
      Buffer.from(new X509Certificate(ec.leaf.pem).raw),
      Buffer.alloc(0),
      Buffer.from(ec.leaf.pem),
    ]) {
      refusal(() => pkcs12ToImportFields(bytes, PASS), 'invalid_argument', 'pkcs12', /damaged or is not a PKCS#12/);
    }
  });

  it('an oversized file, before any parsing', () => {
    const big = Buffer.concat([good, Buffer.alloc(PKCS12_MAX_BYTES + 1 - good.length)]);
    refusal(
      () => pkcs12ToImportFields(big, PASS),
      'input_too_large',
      'pkcs12',
      new RegExp(`limit is ${PKCS12_MAX_BYTES}`),
    );
  });

  it('a file with no certificate', () => {
    const bytes = openssl([
      'pkcs12',
      '-export',
      '-nocerts',
      '-inkey',
      file('key.pem', ec.leaf.keyPem),
      '-passout',
      `file:${join(dir, 'pass.txt')}`,
    ]);
    refusal(() => pkcs12ToImportFields(bytes, PASS), 'certificate_missing', 'pkcs12', /holds no certificate/);
  });

  it('a file with two private keys', () => {
    refusal(
      () => pkcs12ToImportFields(rawPfx([ec.leaf.keyPem, rsa.leaf.keyPem], [ec.leaf.pem]), ''),
      'key_multiple',
      'pkcs12',
      /2 private keys/,
    );
  });

  it(`an iteration count above ${PKCS12_MAX_ITERATIONS}`, () => {
    const bytes = openssl([
      'pkcs12',
      '-export',
      '-nomac',
      '-iter',
      String(PKCS12_MAX_ITERATIONS + 1),
      '-nokeys',
      '-in',
      file('leaf.pem', ec.leaf.pem),
      '-passout',
      'pass:x',
    ]);
    refusal(() => pkcs12ToImportFields(bytes, 'x'), 'invalid_argument', 'pkcs12', /iteration count of 1000001/);
  });
});

/**
 * A PFX without MAC or bag attributes, with unencrypted key bags: what no tool writes on purpose
 * (two keys; no localKeyId pairing key and certificate).
 */
function rawPfx(keyPems: string[], certificatePems: string[]): Buffer {
  const { asn1 } = forge;
  const U = asn1.Class.UNIVERSAL;
  const seq = (...v: forge.asn1.Asn1[]) => asn1.create(U, asn1.Type.SEQUENCE, true, v);
  const oid = (o: string) => asn1.create(U, asn1.Type.OID, false, asn1.oidToDer(o).getBytes());
  const octets = (b: Buffer) => asn1.create(U, asn1.Type.OCTETSTRING, false, b.toString('latin1'));
  const ctx0 = (v: forge.asn1.Asn1) => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [v]);
  const der = (n: forge.asn1.Asn1) => Buffer.from(asn1.toDer(n).getBytes(), 'latin1');
  const keyBag = (pem: string) =>
    seq(oid('1.2.840.113549.1.12.10.1.1'), ctx0(asn1.fromDer(privateKeyPkcs8Der(pem).toString('latin1'))));
  const certBag = (pem: string) =>
    seq(
      oid('1.2.840.113549.1.12.10.1.3'),
      ctx0(seq(oid('1.2.840.113549.1.9.22.1'), ctx0(octets(Buffer.from(new X509Certificate(pem).raw))))),
    );
  const safe = der(seq(...keyPems.map(keyBag), ...certificatePems.map(certBag)));
  const authSafe = der(seq(seq(oid('1.2.840.113549.1.7.1'), ctx0(octets(safe)))));
  return der(
    seq(asn1.create(U, asn1.Type.INTEGER, false, '\x03'), seq(oid('1.2.840.113549.1.7.1'), ctx0(octets(authSafe)))),
  );
}

describe('DER in: uploadToPem', () => {
  it('armours a DER certificate as the PEM the ladder reads', () => {
    const der = openssl(['x509', '-outform', 'DER', '-in', file('leaf.pem', rsa.leaf.pem)]);
    assert.equal(uploadToPem(der, 'certificate'), rsa.leaf.pem);
  });

  it('armours each certificate of concatenated DER chain files', () => {
    const der = Buffer.concat(
      [rsa.intermediate.pem, rsa.root.pem].map((pem) =>
        openssl(['x509', '-outform', 'DER', '-in', file('c.pem', pem)]),
      ),
    );
    assert.equal(uploadToPem(der, 'chain'), rsa.intermediate.pem + rsa.root.pem);
  });

  it('armours DER keys by their structure: PKCS#8, PKCS#1, SEC1, and the ladder pairs them', () => {
    const keys: Array<[Buffer, RegExp, Bundle]> = [
      [
        openssl(['pkcs8', '-topk8', '-nocrypt', '-outform', 'DER', '-in', file('k.pem', rsa.leaf.keyPem)]),
        /BEGIN PRIVATE KEY/,
        rsa,
      ],
      [
        openssl(['rsa', '-outform', 'DER', '-traditional', '-in', file('k.pem', rsa.leaf.keyPem)]),
        /BEGIN RSA PRIVATE KEY/,
        rsa,
      ],
      [openssl(['ec', '-outform', 'DER', '-in', file('k.pem', ec.leaf.keyPem)]), /BEGIN EC PRIVATE KEY/, ec],
    ];
    for (const [der, label, bundle] of keys) {
      const pem = uploadToPem(der, 'privateKey');
      assert.match(pem, label);
      const candidate = runImportLadder(
        { name: 'k', certificate: bundle.leaf.pem, privateKey: pem, chain: bundle.chainPem },
        { now: new Date(), requireKey: true, allowEd25519: false, nameRule: null },
      );
      assert.ok(candidate.privateKey);
    }
  });

  it('leaves PEM text as it is', () => {
    assert.equal(uploadToPem(Buffer.from(ec.leaf.pem), 'certificate'), ec.leaf.pem);
  });

  it('refuses DER that is not what the field takes, a PKCS#12, an encrypted key, an oversized file', () => {
    const keyDer = privateKeyPkcs8Der(ec.leaf.keyPem);
    const certDer = Buffer.from(new X509Certificate(ec.leaf.pem).raw);
    refusal(
      () => uploadToPem(keyDer, 'certificate'),
      'certificate_invalid',
      'certificate',
      /DER of a private key, not a certificate/,
    );
    refusal(() => uploadToPem(keyDer, 'chain'), 'chain_invalid', 'chain', /DER of a private key/);
    refusal(
      () => uploadToPem(certDer, 'privateKey'),
      'key_invalid',
      'privateKey',
      /DER of a certificate, not a private key/,
    );
    const p12 = encodePkcs12(partsOf(ec), { passphrase: PASS, legacy: false });
    refusal(() => uploadToPem(p12, 'certificate'), 'invalid_argument', 'certificate', /PKCS#12/);
    const encrypted = openssl([
      'pkcs8',
      '-topk8',
      '-outform',
      'DER',
      '-in',
      file('k.pem', ec.leaf.keyPem),
      '-passout',
      'pass:x',
    ]);
    refusal(() => uploadToPem(encrypted, 'privateKey'), 'key_encrypted', 'privateKey', /encrypted private key/);
    const big = Buffer.alloc(IMPORT_LIMITS.certificateBytes + 1, 0x30);
    refusal(() => uploadToPem(big, 'certificate'), 'input_too_large', 'certificate', /limit is 32768/);
  });

  it('hands NUL bytes and junk to the ladder, which refuses them as not PEM', () => {
    for (const bytes of [Buffer.alloc(64), Buffer.from([0x30, 0x82, 0xff, 0xff, 0, 0])]) {
      const text = uploadToPem(bytes, 'certificate');
      assert.throws(
        () =>
          runImportLadder(
            { name: 'x', certificate: text },
            { now: new Date(), requireKey: false, allowEd25519: false, nameRule: null },
          ),
        (e: unknown) => e instanceof AppError && e.code === 'pem_malformed' && e.field === 'certificate',
      );
    }
  });
});

describe('DER out', () => {
  it('openssl x509 -inform DER reads the certificate; openssl pkey -inform DER reads the PKCS#8 key, which matches', () => {
    for (const b of [rsa, ec]) {
      const [certificateDer] = certificateDers(b.leaf.pem);
      assert.ok(certificateDer);
      const text = openssl([
        'x509',
        '-inform',
        'DER',
        '-noout',
        '-fingerprint',
        '-sha256',
        '-in',
        file('c.der', certificateDer),
      ]).toString();
      assert.equal(text.trim().split('=')[1], fingerprint(b.leaf.pem));
      const pub = openssl([
        'pkey',
        '-inform',
        'DER',
        '-pubout',
        '-in',
        file('k.der', privateKeyPkcs8Der(b.leaf.keyPem)),
      ]).toString();
      assert.equal(pub, pubkeyOfCert(b.leaf.pem));
    }
  });
});
