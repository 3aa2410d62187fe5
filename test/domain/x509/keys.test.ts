import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import {
  checkKeyTypeAllowed,
  describePrivateKey,
  describePublicKey,
  keyMatchesCertificate,
  parsePrivateKey,
} from '../../../src/domain/x509/keys.ts';
import { splitPem } from '../../../src/domain/x509/pem.ts';
import type { KeyDescription, PemBlock } from '../../../src/domain/x509/types.ts';
import {
  ED25519,
  keyPemAs,
  mintSelfSignedLeaf,
  P256,
  P384,
  P521,
  RSA2048,
  RSA3072,
  RSA4096,
  type Issued,
  type KeySpec,
} from '../../helpers/pki.ts';
import { expectError } from '../../helpers/errors.ts';

function keyBlock(pem: string): PemBlock {
  const [block] = splitPem(pem, { field: 'privateKey', maxBytes: 16384, maxBlocks: 4 }).privateKeys;
  assert.ok(block, 'a key block');
  return block;
}

function blockOf(label: string, der: Buffer, headers: Record<string, string> = {}): PemBlock {
  return { label, headers, der, pem: '', index: 1 };
}

const RSA1024: KeySpec = { kind: 'rsa', bits: 1024 };
const certs = new Map<string, Issued>();
const cert = (name: string): Issued => {
  const issued = certs.get(name);
  assert.ok(issued, name);
  return issued;
};

before(async () => {
  // Fresh keys, so that "another key pair of the same curve" really is another key pair.
  const specs: Array<[string, KeySpec]> = [
    ['rsa1024', RSA1024],
    ['rsa2048', RSA2048],
    ['rsa3072', RSA3072],
    ['rsa4096', RSA4096],
    ['p256', P256],
    ['p256b', P256],
    ['p384', P384],
    ['p521', P521],
    ['ed25519', ED25519],
  ];
  for (const [name, key] of specs)
    certs.set(name, await mintSelfSignedLeaf({ key, freshKey: true, cn: `${name}.example.com` }));
});

describe('parsePrivateKey', () => {
  it('parses PKCS#8 and PKCS#1 RSA keys', () => {
    const issued = cert('rsa2048');
    for (const [pem, format] of [
      [issued.keyPem, 'pkcs8'],
      [keyPemAs(issued, 'pkcs1'), 'pkcs1'],
    ] as const) {
      const parsed = parsePrivateKey(keyBlock(pem), 'privateKey');
      assert.equal(parsed.format, format);
      assert.deepEqual(parsed.description, { algorithm: 'RSA', bits: 2048, curve: null });
      assert.equal(parsed.keyObject.type, 'private');
      assert.equal(parsed.pkcs8Pem, issued.keyPem);
    }
  });

  it('parses PKCS#8 and SEC1 EC keys on every allowed curve', () => {
    for (const [name, curve, bits] of [
      ['p256', 'P-256', 256],
      ['p384', 'P-384', 384],
      ['p521', 'P-521', 521],
    ] as const) {
      const issued = cert(name);
      for (const [pem, format] of [
        [issued.keyPem, 'pkcs8'],
        [keyPemAs(issued, 'sec1'), 'sec1'],
      ] as const) {
        const parsed = parsePrivateKey(keyBlock(pem), 'privateKey');
        assert.equal(parsed.format, format);
        assert.deepEqual(parsed.description, { algorithm: 'EC', bits, curve });
        assert.equal(parsed.pkcs8Pem, issued.keyPem);
      }
    }
  });

  it('parses PKCS#8 Ed25519, Ed448 and RSA-PSS keys', () => {
    const ed = parsePrivateKey(keyBlock(cert('ed25519').keyPem), 'privateKey');
    assert.deepEqual(ed.description, { algorithm: 'Ed25519', bits: 255, curve: null });
    const ed448 = generateKeyPairSync('ed448').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    assert.deepEqual(parsePrivateKey(keyBlock(ed448), 'privateKey').description, {
      algorithm: 'Ed448',
      bits: 448,
      curve: null,
    });
    const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    assert.deepEqual(parsePrivateKey(keyBlock(pss), 'privateKey').description, {
      algorithm: 'RSA-PSS',
      bits: 2048,
      curve: null,
    });
  });

  it('returns a PKCS#8 PEM that round-trips to the same key', () => {
    const parsed = parsePrivateKey(keyBlock(keyPemAs(cert('p384'), 'sec1')), 'privateKey');
    assert.ok(parsed.pkcs8Pem.startsWith('-----BEGIN PRIVATE KEY-----\n'));
    const again = createPrivateKey(parsed.pkcs8Pem);
    assert.ok(again.equals(parsed.keyObject));
  });

  it('refuses a damaged key with key_invalid, without key material in message, details or cause', () => {
    const issued = cert('rsa2048');
    const der = Buffer.from(keyBlock(issued.keyPem).der);
    const truncated = der.subarray(0, 300);
    const error = expectError(
      () => parsePrivateKey(blockOf('PRIVATE KEY', truncated), 'privateKey'),
      'key_invalid',
      'privateKey',
      'could not be read as a PKCS#8 private key',
      'block 1',
    );
    const secretTexts = [
      der.toString('base64').slice(20, 60),
      der.toString('hex').slice(40, 100),
      truncated.toString('base64').slice(100, 140),
    ];
    const cause = error.cause as Error & { code?: string };
    assert.ok(cause instanceof Error);
    assert.match(cause.message, /^error:[0-9A-F]+:/, 'the OpenSSL reason is kept for logs');
    assert.equal(cause.code, 'ERR_OSSL_ASN1_NOT_ENOUGH_DATA');
    const everything = [
      error.message,
      JSON.stringify(error.details),
      cause.message,
      JSON.stringify(cause),
      String(cause.stack),
    ].join('\n');
    for (const secret of secretTexts) assert.ok(!everything.includes(secret), 'no key bytes anywhere');
    assert.deepEqual(error.details, { block: 1, label: 'PRIVATE KEY' });
  });

  it('refuses a certificate placed under a key label with key_invalid', () => {
    const der = Buffer.from(new X509Certificate(cert('p256').pem).raw);
    expectError(() => parsePrivateKey(blockOf('PRIVATE KEY', der), 'file'), 'key_invalid', 'file', 'PKCS#8');
  });

  it('refuses a key whose label promises another algorithm', () => {
    const rsaDer = keyBlock(cert('rsa2048').keyPem).der;
    expectError(
      () => parsePrivateKey(blockOf('EC PRIVATE KEY', rsaDer), 'privateKey'),
      'key_invalid',
      'privateKey',
      'labelled as SEC1 EC but the key inside is RSA',
    );
    const ecDer = keyBlock(cert('p256').keyPem).der;
    expectError(
      () => parsePrivateKey(blockOf('RSA PRIVATE KEY', ecDer), 'privateKey'),
      'key_invalid',
      'privateKey',
      'labelled as PKCS#1 RSA but the key inside is EC',
    );
  });

  it('refuses a block that is not a key label', () => {
    expectError(
      () => parsePrivateKey(blockOf('CERTIFICATE', Buffer.from([0x30, 0])), 'privateKey'),
      'key_invalid',
      'privateKey',
      'not a private key',
    );
  });

  it('refuses encrypted blocks on its own too (key_encrypted)', () => {
    expectError(
      () =>
        parsePrivateKey(
          blockOf('RSA PRIVATE KEY', Buffer.from([0x30, 0]), { 'Proc-Type': '4,ENCRYPTED' }),
          'privateKey',
        ),
      'key_encrypted',
      'privateKey',
      'openssl pkey -in key.pem -out key-decrypted.pem',
    );
    expectError(
      () => parsePrivateKey(blockOf('ENCRYPTED PRIVATE KEY', Buffer.from([0x30, 0])), 'file'),
      'key_encrypted',
      'file',
      'encrypted',
    );
  });
});

describe('describePublicKey / describePrivateKey', () => {
  const cases: Array<[string, KeyDescription]> = [
    ['rsa1024', { algorithm: 'RSA', bits: 1024, curve: null }],
    ['rsa2048', { algorithm: 'RSA', bits: 2048, curve: null }],
    ['rsa3072', { algorithm: 'RSA', bits: 3072, curve: null }],
    ['rsa4096', { algorithm: 'RSA', bits: 4096, curve: null }],
    ['p256', { algorithm: 'EC', bits: 256, curve: 'P-256' }],
    ['p384', { algorithm: 'EC', bits: 384, curve: 'P-384' }],
    ['p521', { algorithm: 'EC', bits: 521, curve: 'P-521' }],
    ['ed25519', { algorithm: 'Ed25519', bits: 255, curve: null }],
  ];
  for (const [name, expected] of cases) {
    it(`describes ${name} from the certificate and from the private key`, () => {
      const issued = cert(name);
      assert.deepEqual(describePublicKey(new X509Certificate(issued.pem).publicKey), expected);
      assert.deepEqual(describePrivateKey(createPrivateKey(issued.keyPem)), expected);
    });
  }

  it('keeps the OpenSSL name of other curves, with their size', () => {
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    assert.deepEqual(describePublicKey(k1.publicKey), { algorithm: 'EC', bits: 256, curve: 'secp256k1' });
    const bp = generateKeyPairSync('ec', { namedCurve: 'brainpoolP384r1' });
    assert.deepEqual(describePrivateKey(bp.privateKey), { algorithm: 'EC', bits: 384, curve: 'brainpoolP384r1' });
  });

  it('describes Ed448, DSA and X25519', () => {
    assert.deepEqual(describePublicKey(generateKeyPairSync('ed448').publicKey), {
      algorithm: 'Ed448',
      bits: 448,
      curve: null,
    });
    assert.deepEqual(
      describePublicKey(generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 224 }).publicKey),
      { algorithm: 'DSA', bits: 2048, curve: null },
    );
    assert.deepEqual(describePublicKey(generateKeyPairSync('x25519').publicKey), {
      algorithm: 'unknown',
      bits: 255,
      curve: 'X25519',
    });
  });
});

describe('keyMatchesCertificate', () => {
  const x509 = (name: string): X509Certificate => new X509Certificate(cert(name).pem);
  const key = (name: string): KeyObject => createPrivateKey(cert(name).keyPem);

  for (const name of ['rsa2048', 'rsa4096', 'p256', 'p384', 'p521', 'ed25519']) {
    it(`accepts the ${name} key of its certificate`, () => {
      assert.equal(keyMatchesCertificate(key(name), x509(name)), true);
    });
  }

  it('refuses an EC key of the same curve from another key pair', () => {
    assert.equal(keyMatchesCertificate(key('p256b'), x509('p256')), false);
    assert.equal(keyMatchesCertificate(key('p256'), x509('p256b')), false);
  });

  it('refuses keys of another algorithm or size', () => {
    assert.equal(keyMatchesCertificate(key('rsa2048'), x509('p256')), false);
    assert.equal(keyMatchesCertificate(key('p256'), x509('rsa2048')), false);
    assert.equal(keyMatchesCertificate(key('ed25519'), x509('p256')), false);
    assert.equal(keyMatchesCertificate(key('p384'), x509('p256')), false);
    assert.equal(keyMatchesCertificate(key('rsa3072'), x509('rsa2048')), false);
    assert.equal(keyMatchesCertificate(generateKeyPairSync('ed448').privateKey, x509('ed25519')), false);
  });

  it('compares a public key by its SubjectPublicKeyInfo', () => {
    assert.equal(keyMatchesCertificate(x509('p256').publicKey, x509('p256')), true);
    assert.equal(keyMatchesCertificate(x509('p256b').publicKey, x509('p256')), false);
    assert.equal(keyMatchesCertificate(x509('rsa2048').publicKey, x509('p256')), false);
  });

  it('works with keys parsed from every PEM encoding', () => {
    const parsed = parsePrivateKey(keyBlock(keyPemAs(cert('p521'), 'sec1')), 'privateKey');
    assert.equal(keyMatchesCertificate(parsed.keyObject, x509('p521')), true);
    const pkcs1 = parsePrivateKey(keyBlock(keyPemAs(cert('rsa3072'), 'pkcs1')), 'privateKey');
    assert.equal(keyMatchesCertificate(pkcs1.keyObject, x509('rsa3072')), true);
  });
});

describe('checkKeyTypeAllowed', () => {
  const strict = { allowEd25519: false };
  const lenient = { allowEd25519: true };

  it('accepts RSA 2048 to 4096 bits inclusive, including sizes in between', () => {
    for (const bits of [2048, 2304, 3072, 4096]) {
      assert.doesNotThrow(() => checkKeyTypeAllowed({ algorithm: 'RSA', bits, curve: null }, strict, 'certificate'));
    }
  });

  it('accepts EC P-256, P-384 and P-521 from real certificates', () => {
    for (const name of ['p256', 'p384', 'p521', 'rsa2048', 'rsa3072', 'rsa4096']) {
      const desc = describePublicKey(new X509Certificate(cert(name).pem).publicKey);
      assert.doesNotThrow(() => checkKeyTypeAllowed(desc, strict, 'certificate'), name);
    }
  });

  it('refuses RSA 1024 (a real key) naming what was found and what is allowed', () => {
    const desc = describePublicKey(new X509Certificate(cert('rsa1024').pem).publicKey);
    const error = expectError(
      () => checkKeyTypeAllowed(desc, strict, 'certificate'),
      'key_type_unsupported',
      'certificate',
      'RSA 1024 bits',
      'allowed: RSA 2048–4096 bits, EC P-256, P-384, P-521',
    );
    assert.deepEqual(error.details, { algorithm: 'RSA', bits: 1024 });
    assert.ok(!error.message.includes('Ed25519'), 'Ed25519 is not offered when not allowed');
  });

  it('refuses RSA over 4096 bits and RSA-PSS keys', () => {
    expectError(
      () => checkKeyTypeAllowed({ algorithm: 'RSA', bits: 8192, curve: null }, strict, 'privateKey'),
      'key_type_unsupported',
      'privateKey',
      'RSA 8192 bits',
    );
    expectError(
      () => checkKeyTypeAllowed({ algorithm: 'RSA', bits: 2047, curve: null }, strict, 'privateKey'),
      'key_type_unsupported',
      'privateKey',
      'RSA 2047 bits',
    );
    expectError(
      () => checkKeyTypeAllowed({ algorithm: 'RSA-PSS', bits: 2048, curve: null }, strict, 'certificate'),
      'key_type_unsupported',
      'certificate',
      'RSA-PSS',
    );
  });

  it('refuses other curves, Ed448 and DSA', () => {
    const error = expectError(
      () => checkKeyTypeAllowed({ algorithm: 'EC', bits: 256, curve: 'secp256k1' }, strict, 'certificate'),
      'key_type_unsupported',
      'certificate',
      'EC secp256k1',
    );
    assert.deepEqual(error.details, { algorithm: 'EC', bits: 256, curve: 'secp256k1' });
    expectError(
      () => checkKeyTypeAllowed({ algorithm: 'Ed448', bits: 448, curve: null }, lenient, 'certificate'),
      'key_type_unsupported',
      'certificate',
      'Ed448',
      'or Ed25519',
    );
    expectError(
      () => checkKeyTypeAllowed({ algorithm: 'DSA', bits: 2048, curve: null }, lenient, 'file'),
      'key_type_unsupported',
      'file',
      'DSA 2048 bits',
    );
  });

  it('accepts Ed25519 only when the policy allows it', () => {
    const desc = describePublicKey(new X509Certificate(cert('ed25519').pem).publicKey);
    assert.doesNotThrow(() => checkKeyTypeAllowed(desc, lenient, 'certificate'));
    expectError(
      () => checkKeyTypeAllowed(desc, strict, 'certificate'),
      'key_type_unsupported',
      'certificate',
      'is Ed25519, which is not supported',
    );
  });
});
