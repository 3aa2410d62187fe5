/**
 * inspect() and parseCertificateDer() against two sources nobody here wrote:
 * - the `openssl` command line, run on the checked-in fixtures (test/fixtures/x509/README.md) and on
 *   certificates minted by test/helpers/pki.ts, whose output is parsed and compared fact by fact;
 * - node:crypto (SPKI export, asymmetricKeyDetails) for the key facts.
 * Formatting choices that neither tool makes (Java DN order, escaping, names) are asserted literally.
 */
import 'reflect-metadata'; // before @peculiar/x509, which needs it at load time
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, createPublicKey, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as x509 from '@peculiar/x509';
import { isAppErrorWithCode } from '../../../src/domain/errors.ts';
import { characterString, decodeDer } from '../../../src/domain/x509/asn1.ts';
import { escapeDnValue, formatIpAddress, inspect, parseCertificateDer } from '../../../src/domain/x509/inspect.ts';
import { describePublicKey } from '../../../src/domain/x509/keys.ts';
import type { CertificateFacts } from '../../../src/domain/x509/types.ts';
import {
  ED25519,
  P256,
  P384,
  P521,
  RSA2048,
  RSA3072,
  RSA4096,
  derOf,
  mintIntermediate,
  mintLeaf,
  mintRoot,
  mintSelfSignedLeaf,
  type Issued,
  type KeySpec,
} from '../../helpers/pki.ts';

const FIXTURES = new URL('../../fixtures/x509/', import.meta.url);
const fixturePem = (name: string): string => readFileSync(new URL(`${name}.pem`, FIXTURES), 'utf8');
const factsOf = (pem: string): CertificateFacts => inspect(new X509Certificate(pem));

// ---------------------------------------------------------------------------------------------
// The openssl oracle

interface OpensslView {
  fingerprintSha256: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  subject: Rdn[];
  issuer: Rdn[];
  signatureAlgorithm: string;
  publicKeyAlgorithm: string;
  publicKeyBits: number | null;
  nistCurve: string | null;
  asn1Curve: string | null;
  sans: { dns: string[]; ip: string[]; email: string[]; uri: string[] };
  keyUsage: string[];
  extendedKeyUsage: string[];
  isCa: boolean;
}

type Rdn = [type: string, value: string][];

function openssl(pem: string): OpensslView {
  const out = execFileSync(
    'openssl',
    [
      'x509',
      '-noout',
      '-serial',
      '-dateopt',
      'iso_8601',
      '-startdate',
      '-enddate',
      '-fingerprint',
      '-sha256',
      '-subject',
      '-issuer',
      '-nameopt',
      'RFC2253,-esc_msb',
      '-ext',
      'subjectAltName,keyUsage,extendedKeyUsage,basicConstraints',
      '-text',
    ],
    { input: pem },
  ).toString('utf8');
  const line = (re: RegExp): string | null => re.exec(out)?.[1] ?? null;
  const must = (re: RegExp): string => {
    const value = line(re);
    assert.ok(value !== null, `openssl output lacks ${re}`);
    return value;
  };
  // The -ext block comes before -text and is not indented: `X509v3 Key Usage: critical\n    Digital Signature`.
  const ext = (name: string): string | null => line(new RegExp(`^X509v3 ${name}:.*\\n {4}(.*)$`, 'm'));
  const list = (text: string | null): string[] => (text === null ? [] : text.split(', '));
  const sans = { dns: [] as string[], ip: [] as string[], email: [] as string[], uri: [] as string[] };
  for (const entry of list(ext('Subject Alternative Name'))) {
    const [kind, ...rest] = entry.split(':');
    const value = rest.join(':');
    if (kind === 'DNS') sans.dns.push(value);
    else if (kind === 'IP Address') sans.ip.push(canonicalIp(value));
    else if (kind === 'email') sans.email.push(value);
    else if (kind === 'URI') sans.uri.push(value);
  }
  const bits = line(/Public-Key: \((\d+) bit\)/);
  return {
    fingerprintSha256: must(/^sha256 Fingerprint=([0-9A-F:]+)$/im)
      .replaceAll(':', '')
      .toLowerCase(),
    serial: must(/^serial=([0-9A-F]+)$/m).toLowerCase(),
    notBefore: new Date(must(/^notBefore=(.+)$/m).replace(' ', 'T')),
    notAfter: new Date(must(/^notAfter=(.+)$/m).replace(' ', 'T')),
    subject: opensslRdns(must(/^subject=(.*)$/m)),
    issuer: opensslRdns(must(/^issuer=(.*)$/m)),
    signatureAlgorithm: must(/Signature Algorithm: (\S+)/),
    publicKeyAlgorithm: must(/Public Key Algorithm: (\S+)/),
    publicKeyBits: bits === null ? null : Number(bits),
    nistCurve: line(/NIST CURVE: (\S+)/),
    asn1Curve: line(/ASN1 OID: (\S+)/),
    sans,
    keyUsage: list(ext('Key Usage')).map((name) => OPENSSL_KEY_USAGE[name] ?? `?${name}`),
    extendedKeyUsage: list(ext('Extended Key Usage')).map((name) => OPENSSL_EKU[name] ?? `?${name}`),
    isCa: ext('Basic Constraints')?.startsWith('CA:TRUE') ?? false,
  };
}

/** openssl's long names → Java names (what inspect() must print). */
const OPENSSL_SIGNATURE: Record<string, string> = {
  sha1WithRSAEncryption: 'SHA1withRSA',
  sha256WithRSAEncryption: 'SHA256withRSA',
  sha384WithRSAEncryption: 'SHA384withRSA',
  sha512WithRSAEncryption: 'SHA512withRSA',
  'ecdsa-with-SHA1': 'SHA1withECDSA',
  'ecdsa-with-SHA256': 'SHA256withECDSA',
  'ecdsa-with-SHA384': 'SHA384withECDSA',
  'ecdsa-with-SHA512': 'SHA512withECDSA',
  ED25519: 'Ed25519',
  rsassaPss: 'RSASSA-PSS',
};
const OPENSSL_KEY_ALGORITHM: Record<string, string> = {
  rsaEncryption: 'RSA',
  rsassaPss: 'RSA-PSS',
  'id-ecPublicKey': 'EC',
  ED25519: 'Ed25519',
};
const OPENSSL_KEY_USAGE: Record<string, string> = {
  'Digital Signature': 'digitalSignature',
  'Non Repudiation': 'nonRepudiation',
  'Key Encipherment': 'keyEncipherment',
  'Data Encipherment': 'dataEncipherment',
  'Key Agreement': 'keyAgreement',
  'Certificate Sign': 'keyCertSign',
  'CRL Sign': 'cRLSign',
  'Encipher Only': 'encipherOnly',
  'Decipher Only': 'decipherOnly',
};
const OPENSSL_EKU: Record<string, string> = {
  'TLS Web Server Authentication': 'serverAuth',
  'TLS Web Client Authentication': 'clientAuth',
  'Code Signing': 'codeSigning',
  'E-mail Protection': 'emailProtection',
  'Time Stamping': 'timeStamping',
  'OCSP Signing': 'OCSPSigning',
  'Microsoft Server Gated Crypto': '1.3.6.1.4.1.311.10.3.3',
};
/** openssl short names → the keywords inspect() prints; anything else must be the same on both sides. */
const OPENSSL_ATTRIBUTE: Record<string, string> = {
  emailAddress: 'EMAILADDRESS',
  serialNumber: 'SERIALNUMBER',
  organizationIdentifier: '2.5.4.97',
};

/** openssl prints IPv6 uncompressed and uppercase; the WHATWG URL parser compresses it (RFC 5952 for non-mapped addresses). */
function canonicalIp(text: string): string {
  return text.includes(':') ? new URL(`http://[${text}]/`).hostname.slice(1, -1) : text;
}

/**
 * Splits an RFC 2253/4514 DN string into RDNs of [type, value], undoing backslash escapes (`\,` and
 * `\XX` hex pairs, which are UTF-8 octets). `rdnSep`/`avaSep` are `,`/`+` for openssl and `, `/` + `
 * for certkeeper.
 */
function splitDn(dn: string, rdnSep: string, avaSep: string): Rdn[] {
  if (dn === '') return [];
  const rdns: Rdn[] = [];
  let rdn: Rdn = [];
  let type = '';
  let bytes: number[] = [];
  let inValue = false;
  const endAva = (): void => {
    rdn.push([type, Buffer.from(bytes).toString('utf8')]);
    type = '';
    bytes = [];
    inValue = false;
  };
  for (let i = 0; i < dn.length;) {
    if (!inValue) {
      if (dn[i] === '=') inValue = true;
      else type += dn[i];
      i += 1;
    } else if (dn[i] === '\\') {
      const pair = dn.slice(i + 1, i + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(pair)) {
        bytes.push(parseInt(pair, 16));
        i += 3;
      } else {
        bytes.push(...Buffer.from(String.fromCodePoint(dn.codePointAt(i + 1)!)));
        i += String.fromCodePoint(dn.codePointAt(i + 1)!).length + 1;
      }
    } else if (dn.startsWith(rdnSep, i)) {
      endAva();
      rdns.push(rdn);
      rdn = [];
      i += rdnSep.length;
    } else if (dn.startsWith(avaSep, i)) {
      endAva();
      i += avaSep.length;
    } else {
      const ch = String.fromCodePoint(dn.codePointAt(i)!);
      bytes.push(...Buffer.from(ch));
      i += ch.length;
    }
  }
  endAva();
  rdns.push(rdn);
  return rdns;
}

/**
 * openssl's RFC2253 output reverses the flat list of attributes (so the AVAs inside a multi-valued
 * RDN come out reversed too); undo that inner reversal so the result is in certkeeper's order
 * (most specific RDN first, AVAs in encoded order).
 */
function opensslRdns(dn: string): Rdn[] {
  return splitDn(dn, ',', '+').map((rdn) =>
    rdn.map(([t, v]): [string, string] => [OPENSSL_ATTRIBUTE[t] ?? t, v]).reverse(),
  );
}

/** Every fact openssl can vouch for, compared with inspect()'s. */
function assertMatchesOpenssl(pem: string, facts: CertificateFacts): void {
  const o = openssl(pem);
  assert.equal(facts.fingerprintSha256, o.fingerprintSha256, 'fingerprint');
  assert.equal(facts.serialNumber, o.serial, 'serial');
  assert.equal(facts.notBefore.getTime(), o.notBefore.getTime(), 'notBefore');
  assert.equal(facts.notAfter.getTime(), o.notAfter.getTime(), 'notAfter');
  assert.deepEqual(splitDn(facts.subjectDn, ', ', ' + '), o.subject, 'subject RDNs');
  assert.deepEqual(splitDn(facts.issuerDn, ', ', ' + '), o.issuer, 'issuer RDNs');
  assert.equal(
    facts.signatureAlgorithm,
    OPENSSL_SIGNATURE[o.signatureAlgorithm] ?? `unmapped ${o.signatureAlgorithm}`,
    'signature algorithm',
  );
  assert.equal(
    facts.key.algorithm,
    OPENSSL_KEY_ALGORITHM[o.publicKeyAlgorithm] ?? `unmapped ${o.publicKeyAlgorithm}`,
    'key algorithm',
  );
  if (o.publicKeyBits !== null) assert.equal(facts.key.bits, o.publicKeyBits, 'key bits');
  if (facts.key.algorithm === 'EC') assert.equal(facts.key.curve, o.nistCurve ?? o.asn1Curve, 'curve');
  else assert.equal(facts.key.curve, null);
  assert.deepEqual(facts.sans, o.sans, 'SANs');
  assert.deepEqual(facts.keyUsage, o.keyUsage, 'key usage');
  assert.deepEqual(facts.extendedKeyUsage, o.extendedKeyUsage, 'extended key usage');
  assert.equal(facts.isCa, o.isCa, 'CA flag');
}

/** The key facts node:crypto can vouch for. */
function assertMatchesNodeKey(pem: string, facts: CertificateFacts): void {
  const publicKey = new X509Certificate(pem).publicKey;
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  assert.equal(
    facts.publicKeyFingerprintSha256,
    createHash('sha256').update(spki).digest('hex'),
    'SPKI fingerprint = SHA-256 of Node SPKI export',
  );
  const details = publicKey.asymmetricKeyDetails ?? {};
  if (details.modulusLength !== undefined) assert.equal(facts.key.bits, details.modulusLength);
  if (details.namedCurve !== undefined) {
    const normalised: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
    assert.equal(facts.key.curve, normalised[details.namedCurve] ?? details.namedCurve);
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures made with the openssl command line (test/fixtures/x509/README.md)

interface FixtureExpectation {
  subjectDn: string;
  commonName: string | null;
  issuerDn: string;
  caName: string;
  domains: string[];
  publicKeyInfo: string;
  isCa: boolean;
  selfSigned: boolean;
  serialNumber: string;
  key: { algorithm: string; bits: number; curve: string | null };
  signatureAlgorithm: string;
}

const ROOT_DN = 'CN=certkeeper Fixture Root R1, O=certkeeper Fixture CA, C=KR';

const FIXTURE_EXPECTATIONS: Record<string, FixtureExpectation> = {
  'rsa2048-self-signed': {
    subjectDn: 'CN=rsa.example.com, OU=Platform + OU=Security, O=Example Inc, L=Gangnam-gu, ST=Seoul, C=KR',
    commonName: 'rsa.example.com',
    issuerDn: 'CN=rsa.example.com, OU=Platform + OU=Security, O=Example Inc, L=Gangnam-gu, ST=Seoul, C=KR',
    caName: 'Example Inc',
    // The SAN lists rsa.example.com twice; domains keeps the first.
    domains: ['rsa.example.com', 'www.rsa.example.com'],
    publicKeyInfo: 'Sun RSA public key, 2048 bits',
    isCa: false,
    selfSigned: true,
    // DER content 00 ff 00 11 …: the sign octet is dropped.
    serialNumber: 'ff00112233445566778899aabbccddeeff0011',
    key: { algorithm: 'RSA', bits: 2048, curve: null },
    signatureAlgorithm: 'SHA256withRSA',
  },
  'rsa-ca': {
    subjectDn: ROOT_DN,
    commonName: 'certkeeper Fixture Root R1',
    issuerDn: ROOT_DN,
    caName: 'certkeeper Fixture CA',
    domains: ['certkeeper Fixture Root R1'],
    publicKeyInfo: 'Sun RSA public key, 3072 bits',
    isCa: true,
    selfSigned: true,
    serialNumber: '1000',
    key: { algorithm: 'RSA', bits: 3072, curve: null },
    signatureAlgorithm: 'SHA384withRSA',
  },
  'ec-p384-leaf': {
    subjectDn: 'CN=ec.example.com, O=Example Inc, C=KR',
    commonName: 'ec.example.com',
    issuerDn: ROOT_DN,
    caName: 'certkeeper Fixture CA',
    domains: ['ec.example.com', '*.ec.example.com', 'xn--9n2bp8q.example.com'],
    publicKeyInfo: 'Sun EC public key, 384 bits',
    isCa: false,
    selfSigned: false,
    // Leading zero nibble kept, as NCP prints `0134f7bac243…`.
    serialNumber: '0134f7bac24300000000000000000b6824c05395',
    key: { algorithm: 'EC', bits: 384, curve: 'P-384' },
    signatureAlgorithm: 'SHA256withRSA',
  },
  'ed25519-self-signed': {
    subjectDn: 'CN=ed25519.example.com, O=Example Inc',
    commonName: 'ed25519.example.com',
    issuerDn: 'CN=ed25519.example.com, O=Example Inc',
    caName: 'Example Inc',
    domains: ['ed25519.example.com'],
    publicKeyInfo: 'Ed25519 public key',
    isCa: true,
    selfSigned: true,
    serialNumber: '2a',
    key: { algorithm: 'Ed25519', bits: 255, curve: null },
    signatureAlgorithm: 'Ed25519',
  },
  'sha1-rsa': {
    subjectDn: 'EMAILADDRESS=admin@legacy.example.com, CN=legacy.example.com, O=Legacy Corp, ST=California, C=US',
    commonName: 'legacy.example.com',
    issuerDn: 'EMAILADDRESS=admin@legacy.example.com, CN=legacy.example.com, O=Legacy Corp, ST=California, C=US',
    caName: 'Legacy Corp',
    // No SAN at all: the CN stands in.
    domains: ['legacy.example.com'],
    publicKeyInfo: 'Sun RSA public key, 2048 bits',
    isCa: false,
    selfSigned: true,
    serialNumber: '07',
    key: { algorithm: 'RSA', bits: 2048, curve: null },
    signatureAlgorithm: 'SHA1withRSA',
  },
  'san-only': {
    subjectDn: '',
    commonName: null,
    issuerDn: ROOT_DN,
    caName: 'certkeeper Fixture CA',
    domains: ['api.example.com', 'xn--bcher-kva.example'],
    publicKeyInfo: 'Sun EC public key, 256 bits',
    isCa: false,
    selfSigned: false,
    serialNumber: '5a0001',
    key: { algorithm: 'EC', bits: 256, curve: 'P-256' },
    signatureAlgorithm: 'SHA256withRSA',
  },
  'korean-utf8': {
    subjectDn: 'CN=www.example.kr, OU=보안팀, O=주식회사 예제\\, 한국, ST=서울특별시, C=KR',
    commonName: 'www.example.kr',
    issuerDn: ROOT_DN,
    caName: 'certkeeper Fixture CA',
    domains: ['xn--3e0b707e.xn--3e0b707e', 'www.example.kr'],
    publicKeyInfo: 'Sun RSA public key, 2048 bits',
    isCa: false,
    selfSigned: false,
    serialNumber: '7fffffffffffffff',
    key: { algorithm: 'RSA', bits: 2048, curve: null },
    signatureAlgorithm: 'SHA512withRSA',
  },
  'rsa-pss': {
    // O is a TeletexString, OU a BMPString, CN a UTF8String with a non-BMP character.
    subjectDn: 'CN=pss 🚀 example, OU=연구소, O=Müller & Søn GmbH, C=DE',
    commonName: 'pss 🚀 example',
    issuerDn: 'CN=pss 🚀 example, OU=연구소, O=Müller & Søn GmbH, C=DE',
    caName: 'Müller & Søn GmbH',
    domains: ['pss.example.de'],
    publicKeyInfo: 'Sun RSASSA-PSS public key, 2048 bits',
    isCa: false,
    selfSigned: true,
    serialNumber: '00',
    key: { algorithm: 'RSA-PSS', bits: 2048, curve: null },
    signatureAlgorithm: 'RSASSA-PSS',
  },
};

describe('inspect() on the openssl-made fixtures', () => {
  for (const [name, expected] of Object.entries(FIXTURE_EXPECTATIONS)) {
    describe(name, () => {
      const pem = fixturePem(name);
      const facts = factsOf(pem);

      it('agrees with `openssl x509` on every fact openssl prints', () => {
        assertMatchesOpenssl(pem, facts);
      });

      it('agrees with node:crypto on the key, and its SPKI fingerprint matches the private key file', () => {
        assertMatchesNodeKey(pem, facts);
        const fromPrivateKey = createPublicKey(readFileSync(new URL(`${name}.key`, FIXTURES))).export({
          type: 'spki',
          format: 'der',
        });
        assert.equal(facts.publicKeyFingerprintSha256, createHash('sha256').update(fromPrivateKey).digest('hex'));
      });

      it('formats names, domains, key text and flags as documented', () => {
        assert.deepEqual(
          {
            subjectDn: facts.subjectDn,
            commonName: facts.commonName,
            issuerDn: facts.issuerDn,
            caName: facts.caName,
            domains: facts.domains,
            publicKeyInfo: facts.publicKeyInfo,
            isCa: facts.isCa,
            selfSigned: facts.selfSigned,
            serialNumber: facts.serialNumber,
            key: facts.key,
            signatureAlgorithm: facts.signatureAlgorithm,
          },
          expected,
        );
      });
    });
  }

  it('prints the SAN-only fixture’s IP, e-mail and URI names (IPv6 compressed per RFC 5952)', () => {
    const facts = factsOf(fixturePem('san-only'));
    assert.deepEqual(facts.sans, {
      dns: ['api.example.com', 'xn--bcher-kva.example'],
      ip: ['192.0.2.10', '2001:db8::1', '::1', '2001:db8::1:0:0:1'],
      email: ['ops@example.com'],
      uri: ['https://example.com/ops'],
    });
  });

  it('names extended key usages it knows and prints the others as dotted OIDs', () => {
    assert.deepEqual(factsOf(fixturePem('sha1-rsa')).extendedKeyUsage, [
      'serverAuth',
      'codeSigning',
      'emailProtection',
      'timeStamping',
      'OCSPSigning',
      '1.3.6.1.4.1.311.10.3.3',
    ]);
  });

  it('reports the signature algorithm OID next to its Java name', () => {
    assert.equal(factsOf(fixturePem('rsa-pss')).signatureAlgorithmOid, '1.2.840.113549.1.1.10');
    assert.equal(factsOf(fixturePem('ec-p384-leaf')).signatureAlgorithmOid, '1.2.840.113549.1.1.11');
    assert.equal(factsOf(fixturePem('ed25519-self-signed')).signatureAlgorithmOid, '1.3.101.112');
  });

  it('is valid for 100 years (GeneralizedTime notAfter) so the suite does not rot', () => {
    for (const name of Object.keys(FIXTURE_EXPECTATIONS)) {
      assert.ok(factsOf(fixturePem(name)).notAfter.getUTCFullYear() >= 2120, name);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Certificates minted by test/helpers/pki.ts

describe('inspect() on generated certificates', () => {
  let rsaRoot: Issued;
  let ecRoot: Issued;
  before(async () => {
    rsaRoot = await mintRoot({ key: RSA2048 });
    ecRoot = await mintRoot({ key: P384 });
  });

  const keyCases: { spec: KeySpec; algorithm: string; bits: number; curve: string | null; info: string }[] = [
    { spec: RSA2048, algorithm: 'RSA', bits: 2048, curve: null, info: 'Sun RSA public key, 2048 bits' },
    { spec: RSA3072, algorithm: 'RSA', bits: 3072, curve: null, info: 'Sun RSA public key, 3072 bits' },
    { spec: RSA4096, algorithm: 'RSA', bits: 4096, curve: null, info: 'Sun RSA public key, 4096 bits' },
    { spec: P256, algorithm: 'EC', bits: 256, curve: 'P-256', info: 'Sun EC public key, 256 bits' },
    { spec: P384, algorithm: 'EC', bits: 384, curve: 'P-384', info: 'Sun EC public key, 384 bits' },
    { spec: P521, algorithm: 'EC', bits: 521, curve: 'P-521', info: 'Sun EC public key, 521 bits' },
    { spec: ED25519, algorithm: 'Ed25519', bits: 255, curve: null, info: 'Ed25519 public key' },
  ];
  for (const c of keyCases) {
    it(`describes a ${c.info} leaf and agrees with openssl and node:crypto`, async () => {
      const leaf = await mintLeaf(rsaRoot, { key: c.spec, cn: 'key.example.com' });
      const facts = factsOf(leaf.pem);
      assert.deepEqual(facts.key, { algorithm: c.algorithm, bits: c.bits, curve: c.curve });
      assert.equal(facts.publicKeyInfo, c.info);
      assert.equal(facts.signatureAlgorithm, 'SHA256withRSA');
      assertMatchesOpenssl(leaf.pem, facts);
      assertMatchesNodeKey(leaf.pem, facts);
      assert.deepEqual(
        facts.key,
        describePublicKey(new X509Certificate(leaf.pem).publicKey),
        'same description as keys.ts gives the KeyObject',
      );
    });
  }

  it('describes an X25519 key (key agreement only, RFC 8410) as unknown, with its curve and size', async () => {
    const pair = (await webcrypto.subtle.generateKey({ name: 'X25519' }, true, [
      'deriveBits',
    ])) as unknown as webcrypto.CryptoKeyPair;
    const ecRootKey = (await mintRoot({ key: P256 })).key;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: '05',
      subject: 'CN=x25519.example.com',
      issuer: 'CN=certkeeper Test Root, O=certkeeper Test CA',
      notBefore: new Date(),
      notAfter: new Date(Date.now() + 86_400_000),
      publicKey: pair.publicKey,
      signingKey: ecRootKey.privateKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    const x = new X509Certificate(Buffer.from(cert.rawData));
    const facts = inspect(x);
    assert.deepEqual(facts.key, { algorithm: 'unknown', bits: 255, curve: 'X25519' });
    assert.deepEqual(facts.key, describePublicKey(x.publicKey));
    assert.equal(facts.publicKeyInfo, 'Unknown public key (1.3.101.110)');
    assertMatchesNodeKey(x.toString(), facts);
  });

  it('names the signature algorithm of each issuer key and hash', async () => {
    const cases: [Issued, Parameters<typeof mintLeaf>[1], string][] = [
      [rsaRoot, { hash: 'SHA-1' }, 'SHA1withRSA'],
      [rsaRoot, { hash: 'SHA-384' }, 'SHA384withRSA'],
      [rsaRoot, { hash: 'SHA-512' }, 'SHA512withRSA'],
      [ecRoot, { hash: 'SHA-256' }, 'SHA256withECDSA'],
      [ecRoot, { hash: 'SHA-384' }, 'SHA384withECDSA'],
      [ecRoot, { hash: 'SHA-512' }, 'SHA512withECDSA'],
      [await mintRoot({ key: ED25519 }), {}, 'Ed25519'],
    ];
    for (const [issuer, options, expected] of cases) {
      const leaf = await mintLeaf(issuer, { key: P256, ...options });
      const facts = factsOf(leaf.pem);
      assert.equal(facts.signatureAlgorithm, expected);
      assertMatchesOpenssl(leaf.pem, facts);
    }
  });

  it('handles a SAN-only leaf without CN: null commonName, empty subject, domains from the SAN', async () => {
    const leaf = await mintLeaf(rsaRoot, { cn: null, sans: { dns: ['only.example.com', 'also.example.com'] } });
    const facts = factsOf(leaf.pem);
    assert.equal(facts.subjectDn, '');
    assert.equal(facts.commonName, null);
    assert.deepEqual(facts.domains, ['only.example.com', 'also.example.com']);
    assertMatchesOpenssl(leaf.pem, facts);
  });

  it('takes the CN as the only domain when the SAN has no dNSName, and no domain when there is no CN either', async () => {
    const withCn = factsOf((await mintLeaf(rsaRoot, { cn: 'cn.example.com', sans: { ip: ['192.0.2.7'] } })).pem);
    assert.deepEqual(withCn.domains, ['cn.example.com']);
    const bare = factsOf((await mintLeaf(rsaRoot, { cn: null, sans: { ip: ['192.0.2.7'] } })).pem);
    assert.deepEqual(bare.domains, []);
    assert.equal(bare.commonName, null);
  });

  it('prints IPv4 and IPv6 SANs (RFC 5952) as openssl and the WHATWG URL parser normalise them', async () => {
    const ips = [
      '192.0.2.1',
      '10.0.0.255',
      '::',
      '::1',
      'fe80::1:0:0:0',
      '1:0:0:2:0:0:0:3',
      '2001:DB8::0:1',
      '2001:db8:0:0:1:0:0:1',
      '2001:db8:85a3:8d3:1319:8a2e:370:7348',
    ];
    const leaf = await mintLeaf(rsaRoot, { cn: null, sans: { ip: ips } });
    const facts = factsOf(leaf.pem);
    assert.deepEqual(facts.sans.ip, [
      '192.0.2.1',
      '10.0.0.255',
      '::',
      '::1',
      'fe80::1:0:0:0',
      '1:0:0:2::3',
      '2001:db8::1',
      '2001:db8::1:0:0:1',
      '2001:db8:85a3:8d3:1319:8a2e:370:7348',
    ]);
    assert.deepEqual(facts.sans.ip, ips.map(canonicalIp));
    assertMatchesOpenssl(leaf.pem, facts);
  });

  it('keeps punycode (xn--) names as encoded, wildcard included', async () => {
    const dns = ['xn--bcher-kva.example', '*.xn--9n2bp8q.example.com', 'xn--3e0b707e'];
    const facts = factsOf((await mintLeaf(rsaRoot, { cn: 'xn--bcher-kva.example', sans: { dns } })).pem);
    assert.deepEqual(facts.sans.dns, dns);
    assert.deepEqual(facts.domains, dns);
    assert.equal(facts.commonName, 'xn--bcher-kva.example');
  });

  it('lists a hundred SANs in order and deduplicates domains case-insensitively, keeping the first spelling', async () => {
    const dns = Array.from({ length: 100 }, (_, i) => `host${i}.example.com`);
    dns[50] = 'HOST1.example.com';
    dns[99] = 'host2.example.com';
    const leaf = await mintLeaf(rsaRoot, {
      cn: 'host0.example.com',
      sans: { dns, email: ['a@example.com'], uri: ['https://example.com/x'] },
    });
    const facts = factsOf(leaf.pem);
    assert.equal(facts.sans.dns.length, 100);
    assert.deepEqual(facts.sans.dns, dns);
    assert.deepEqual(
      facts.domains,
      dns.filter((_, i) => i !== 50 && i !== 99),
    );
    assertMatchesOpenssl(leaf.pem, facts);
  });

  it('tells CA certificates from leaves by basicConstraints only', async () => {
    const intermediate = await mintIntermediate(rsaRoot);
    const leaf = await mintLeaf(intermediate);
    const noBc = await mintLeaf(intermediate, { noBasicConstraints: true });
    const keyCertSignOnly = await mintLeaf(intermediate, { noBasicConstraints: true, keyUsages: 32 });
    assert.equal(factsOf(rsaRoot.pem).isCa, true);
    assert.equal(factsOf(intermediate.pem).isCa, true);
    assert.equal(factsOf(leaf.pem).isCa, false);
    assert.equal(factsOf(noBc.pem).isCa, false);
    assert.equal(factsOf(keyCertSignOnly.pem).isCa, false, 'keyCertSign without basicConstraints is not a CA');
    assert.deepEqual(factsOf(keyCertSignOnly.pem).keyUsage, ['keyCertSign']);
    for (const issued of [intermediate, leaf, noBc]) assertMatchesOpenssl(issued.pem, factsOf(issued.pem));
  });

  it('prints every key usage bit in RFC 5280 order, decipherOnly (bit 8) included', async () => {
    const leaf = await mintLeaf(rsaRoot, { keyUsages: 0x1ff });
    const facts = factsOf(leaf.pem);
    assert.deepEqual(facts.keyUsage, [
      'digitalSignature',
      'nonRepudiation',
      'keyEncipherment',
      'dataEncipherment',
      'keyAgreement',
      'keyCertSign',
      'cRLSign',
      'encipherOnly',
      'decipherOnly',
    ]);
    assertMatchesOpenssl(leaf.pem, facts);
  });

  it('tells self-signed from issued certificates, and needs the signature, not just equal names', async () => {
    const intermediate = await mintIntermediate(rsaRoot);
    const leaf = await mintLeaf(intermediate);
    const selfLeaf = await mintSelfSignedLeaf({ key: P256 });
    // Same subject and issuer name as the root, but its own (different) key: not self-signed.
    const impostor = await mintLeaf(rsaRoot, { subject: rsaRoot.subject, key: P384, freshKey: true });
    assert.equal(factsOf(rsaRoot.pem).selfSigned, true);
    assert.equal(factsOf(intermediate.pem).selfSigned, false);
    assert.equal(factsOf(leaf.pem).selfSigned, false);
    assert.equal(factsOf(selfLeaf.pem).selfSigned, true);
    const impostorFacts = factsOf(impostor.pem);
    assert.equal(impostorFacts.subjectDn, impostorFacts.issuerDn);
    assert.equal(impostorFacts.selfSigned, false);
  });

  it('takes caName from the issuer O, else the issuer CN, else the whole issuer DN', async () => {
    const withO = await mintRoot({ subject: 'CN=Root With O, O=Issuer Org, OU=Unit' });
    const cnOnly = await mintRoot({ subject: 'CN=Root Without O, C=KR' });
    const neither = await mintRoot({ subject: 'OU=Unit Only, C=KR' });
    assert.equal(factsOf((await mintLeaf(withO)).pem).caName, 'Issuer Org');
    assert.equal(factsOf((await mintLeaf(cnOnly)).pem).caName, 'Root Without O');
    const neitherFacts = factsOf((await mintLeaf(neither)).pem);
    assert.equal(neitherFacts.caName, 'C=KR, OU=Unit Only');
    assert.equal(neitherFacts.issuerCommonName, null);
  });

  it('takes the last CN of the subject as commonName', async () => {
    const leaf = await mintLeaf(rsaRoot, {
      subject: 'CN=first.example.com, O=Org, CN=last.example.com',
      sans: { ip: ['192.0.2.1'] },
    });
    const facts = factsOf(leaf.pem);
    assert.equal(facts.commonName, 'last.example.com');
    assert.equal(facts.subjectDn, 'CN=last.example.com, O=Org, CN=first.example.com');
    assert.deepEqual(facts.domains, ['last.example.com'], 'no dNSName in the SAN: the (last) CN stands in');
    assertMatchesOpenssl(leaf.pem, facts);
  });

  it('formats serial numbers from the encoded content octets', async () => {
    const cases: [string, string][] = [
      ['0134f7bac243', '0134f7bac243'], // leading zero nibble kept
      ['7f', '7f'],
      ['0080', '80'], // the sign octet DER needs before a high bit is dropped
    ];
    for (const [serial, expected] of cases) {
      const leaf = await mintLeaf(rsaRoot, { serial });
      const facts = factsOf(leaf.pem);
      assert.equal(facts.serialNumber, expected, serial);
      assertMatchesOpenssl(leaf.pem, facts);
    }
  });

  it('reads validity dates, UTCTime and GeneralizedTime alike', async () => {
    const notBefore = new Date('2025-01-02T03:04:05Z');
    const notAfter = new Date('2051-06-07T08:09:10Z'); // after 2049: GeneralizedTime
    const facts = factsOf((await mintLeaf(rsaRoot, { notBefore, notAfter })).pem);
    assert.equal(facts.notBefore.toISOString(), notBefore.toISOString());
    assert.equal(facts.notAfter.toISOString(), notAfter.toISOString());
  });
});

// ---------------------------------------------------------------------------------------------
// Distinguished names: string types and hostile values

/** `#`-form of a DER string value for @peculiar's DN parser: tag, short length, content. */
function derValue(tag: number, content: Buffer): string {
  assert.ok(content.length < 128);
  return `#${Buffer.concat([Buffer.from([tag, content.length]), content]).toString('hex')}`;
}
const utf8 = (text: string): string => derValue(0x0c, Buffer.from(text, 'utf8'));

describe('DN formatting', () => {
  it('decodes UTF8String, PrintableString, IA5String, BMPString, TeletexString and UniversalString', async () => {
    const bmp = Buffer.from('한국', 'utf16le').swap16();
    // @peculiar/x509 re-encodes UniversalString through UCS-2, so only BMP characters survive it
    // here; characters beyond the BMP are covered by the characterString() test below.
    const universal = Buffer.alloc(8);
    universal.writeUInt32BE(0x20ac, 0); // €
    universal.writeUInt32BE(0xe9, 4); // é
    const subject = [
      `CN=${utf8('사이트.example')}`,
      `O=${derValue(0x1e, bmp)}`,
      `OU=${derValue(0x14, Buffer.from('Müller', 'latin1'))}`,
      `L=${derValue(0x1c, universal)}`,
      `1.2.840.113549.1.9.1=${derValue(0x16, Buffer.from('ia5@example.com'))}`,
      `C=${derValue(0x13, Buffer.from('KR'))}`,
    ].join(', ');
    const cert = await mintSelfSignedLeaf({ subject, key: P256 });
    const facts = factsOf(cert.pem);
    assert.equal(facts.subjectDn, 'C=KR, EMAILADDRESS=ia5@example.com, L=€é, OU=Müller, O=한국, CN=사이트.example');
    assert.equal(facts.commonName, '사이트.example');
    assert.equal(facts.caName, '한국');
    assertMatchesOpenssl(cert.pem, facts);
  });

  it('escapes hostile values per RFC 2253 so they cannot forge RDNs or lines, and keeps the raw CN', async () => {
    const hostile = ' lead,a"b+c\nd<e>f;g=h\\i#j ';
    const cert = await mintSelfSignedLeaf({ subject: `O=${utf8('#hash')}, CN=${utf8(hostile)}`, key: P256 });
    const facts = factsOf(cert.pem);
    assert.equal(facts.subjectDn, 'CN=\\ lead\\,a\\"b\\+c\\0Ad\\<e\\>f\\;g\\=h\\\\i#j\\ , O=\\#hash');
    assert.equal(facts.commonName, hostile);
    assert.equal(facts.caName, '#hash');
    assert.ok(!facts.subjectDn.includes('\n'));
    assertMatchesOpenssl(cert.pem, facts);
  });

  it('joins multi-valued RDNs with " + " in encoded order and prints unknown types as dotted OIDs', async () => {
    const cert = await mintSelfSignedLeaf({
      subject: 'C=KR, O=Org, 2.5.4.97=VATKR-1234+CN=multi.example.com',
      key: P256,
    });
    const facts = factsOf(cert.pem);
    assert.equal(facts.subjectDn, '2.5.4.97=VATKR-1234 + CN=multi.example.com, O=Org, C=KR');
    assert.equal(facts.commonName, 'multi.example.com');
    assertMatchesOpenssl(cert.pem, facts);
  });

  it('prints Java keywords for the attribute types Java names (STREET, DC, UID, SERIALNUMBER, T, SURNAME, GIVENNAME, …)', async () => {
    const subject = [
      'DC=com',
      'DC=example',
      `0.9.2342.19200300.100.1.1=${utf8('uid1')}`,
      `2.5.4.9=${utf8('1 Main St')}`,
      `2.5.4.5=${derValue(0x13, Buffer.from('SN123'))}`,
      `2.5.4.12=${utf8('Engineer')}`,
      `2.5.4.4=${utf8('Kim')}`,
      `2.5.4.42=${utf8('Minsu')}`,
      `2.5.4.43=${utf8('MK')}`,
      `2.5.4.44=${utf8('Jr')}`,
      `2.5.4.46=${derValue(0x13, Buffer.from('q1'))}`,
    ].join(', ');
    const facts = factsOf((await mintSelfSignedLeaf({ subject, key: P256 })).pem);
    assert.equal(
      facts.subjectDn,
      'DNQ=q1, GENERATION=Jr, INITIALS=MK, GIVENNAME=Minsu, SURNAME=Kim, T=Engineer, SERIALNUMBER=SN123, STREET=1 Main St, UID=uid1, DC=example, DC=com',
    );
  });

  it('prints a value that is not a character string as # and the hex of its DER', async () => {
    const facts = factsOf(
      (await mintSelfSignedLeaf({ subject: 'CN=x.example.com, 2.5.4.45=#3003020101', key: P256 })).pem,
    );
    assert.equal(facts.subjectDn, '2.5.4.45=#3003020101, CN=x.example.com');
  });

  it('escapeDnValue: specials, leading # and space, trailing space, control characters', () => {
    assert.equal(escapeDnValue('plain value'), 'plain value');
    assert.equal(escapeDnValue(' '), '\\ ');
    assert.equal(escapeDnValue('  two  '), '\\  two \\ ');
    assert.equal(escapeDnValue('a#b'), 'a#b');
    assert.equal(escapeDnValue('#'), '\\#');
    assert.equal(escapeDnValue('\u0000\u001f\u007f'), '\\00\\1F\\7F');
    assert.equal(escapeDnValue('주식회사, 예제'), '주식회사\\, 예제');
  });
});

describe('characterString()', () => {
  const node = (hex: string) => decodeDer(Buffer.from(hex, 'hex').toString('latin1'));
  it('decodes each ASN.1 string type to the same text', () => {
    assert.equal(characterString(node('0c06ed959ceab5ad')), '한국'); // UTF8String
    assert.equal(characterString(node('1e04d55cad6d')), '한국'); // BMPString
    assert.equal(characterString(node('1c080001f680000000e9')), '🚀é'); // UniversalString beyond the BMP
    assert.equal(characterString(node('1402fc41')), 'üA'); // TeletexString read as ISO 8859-1
    assert.equal(characterString(node('130141')), 'A'); // PrintableString
    assert.equal(characterString(node('160141')), 'A'); // IA5String
  });
  it('replaces undecodable input instead of failing, and returns null for non-strings', () => {
    assert.equal(characterString(node('0c02c328')), '\ufffd(');
    assert.equal(characterString(node('1c0400110000')), '\ufffd');
    assert.equal(characterString(node('1c03000041')), '\ufffd');
    assert.equal(characterString(node('020101')), null);
    assert.equal(characterString(node('3003020101')), null);
  });
});

describe('formatIpAddress (RFC 5952)', () => {
  const bytes = (hex: string): string => Buffer.from(hex, 'hex').toString('latin1');
  it('compresses the longest zero run, the first on a tie, never a single group', () => {
    assert.equal(formatIpAddress(bytes('00000000000000000000000000000000')), '::');
    assert.equal(formatIpAddress(bytes('20010db8000000010000000000000001')), '2001:db8:0:1::1');
    assert.equal(formatIpAddress(bytes('20010db8000000000001000000000001')), '2001:db8::1:0:0:1');
    assert.equal(formatIpAddress(bytes('20010db8000100010001000100010001')), '2001:db8:1:1:1:1:1:1');
    assert.equal(formatIpAddress(bytes('20010db8000000010001000100010001')), '2001:db8:0:1:1:1:1:1');
    assert.equal(formatIpAddress(bytes('fe800000000000000000000000000000')), 'fe80::');
  });
  it('prints IPv4-mapped addresses in mixed notation (RFC 5952 §5) and IPv4 dotted', () => {
    assert.equal(formatIpAddress(bytes('00000000000000000000ffffc0000201')), '::ffff:192.0.2.1');
    assert.equal(formatIpAddress(bytes('c0000201')), '192.0.2.1');
  });
  it('prints any other length as hex (not a valid iPAddress SAN)', () => {
    assert.equal(formatIpAddress(bytes('c0000200ffffff00')), 'c0000200ffffff00');
  });
});

// ---------------------------------------------------------------------------------------------
// parseCertificateDer

describe('parseCertificateDer()', () => {
  it('returns the certificate, its exact DER, a canonical PEM and the facts', async () => {
    const leaf = await mintLeaf(await mintRoot({ key: RSA2048 }), { key: RSA2048 });
    const der = derOf(leaf);
    const parsed = parseCertificateDer(der);
    assert.ok(parsed.der.equals(der));
    assert.match(
      parsed.pem,
      /^-----BEGIN CERTIFICATE-----\n(?:[A-Za-z0-9+/]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/,
    );
    assert.equal(parsed.pem, leaf.pem, 'the pki helper also writes canonical PEM');
    assert.ok(Buffer.from(new X509Certificate(parsed.pem).raw).equals(der));
    assert.deepEqual(parsed.facts, inspect(parsed.x509));
  });

  it('parses every fixture and gives the same facts as inspect()', () => {
    for (const name of Object.keys(FIXTURE_EXPECTATIONS)) {
      const pem = fixturePem(name);
      const x509 = new X509Certificate(pem);
      const parsed = parseCertificateDer(x509.raw);
      assert.deepEqual(parsed.facts, inspect(x509), name);
      assert.equal(parsed.pem, pem, `${name}: openssl writes canonical PEM too`);
    }
  });

  const fixtureDer = (): Buffer => new X509Certificate(fixturePem('rsa2048-self-signed')).raw;
  const keyDer = (): Buffer =>
    createPublicKey(readFileSync(new URL('rsa2048-self-signed.key', FIXTURES))).export({ type: 'spki', format: 'der' });
  const notCertificates: [string, () => Buffer][] = [
    ['empty input', () => Buffer.alloc(0)],
    ['random bytes', () => Buffer.from('9f3a771b5c0e2d44aa01ff', 'hex')],
    ['text', () => Buffer.from('hello, this is not a certificate')],
    ['the PEM text instead of DER', () => Buffer.from(fixturePem('rsa2048-self-signed'))],
    ['a public key (a DER SEQUENCE, but not a certificate)', keyDer],
    ['an empty SEQUENCE', () => Buffer.from('3000', 'hex')],
    ['a truncated certificate', () => fixtureDer().subarray(0, 300)],
    ['a certificate followed by junk', () => Buffer.concat([fixtureDer(), Buffer.from('00ff', 'hex')])],
    ['two certificates back to back', () => Buffer.concat([fixtureDer(), fixtureDer()])],
    // The outer length in 3 octets instead of 2: valid BER that OpenSSL accepts and re-encodes.
    [
      'a BER (non-minimal length) encoding',
      () => Buffer.concat([Buffer.from([0x30, 0x83, 0x00]), fixtureDer().subarray(2)]),
    ],
  ];
  it('says which of trailing bytes and BER it found', () => {
    const messageOf = (bytes: Buffer): string => {
      try {
        parseCertificateDer(bytes);
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    assert.match(messageOf(Buffer.concat([fixtureDer(), Buffer.from('00', 'hex')])), /followed by extra bytes/);
    assert.match(
      messageOf(Buffer.concat([Buffer.from([0x30, 0x83, 0x00]), fixtureDer().subarray(2)])),
      /not DER-encoded/,
    );
  });

  for (const [what, input] of notCertificates) {
    it(`refuses ${what} with certificate_invalid, without echoing the input`, () => {
      const bytes = input();
      assert.throws(
        () => parseCertificateDer(bytes),
        (error: unknown) => {
          assert.ok(isAppErrorWithCode(error, 'certificate_invalid'), String(error));
          assert.equal(error.field, 'certificate');
          const message = error.message;
          if (bytes.length >= 4) {
            for (const encoding of ['hex', 'base64'] as const)
              assert.ok(!message.includes(bytes.subarray(0, 4).toString(encoding)), encoding);
            assert.ok(!message.includes(bytes.subarray(0, 8).toString('latin1')), 'raw text');
          }
          return true;
        },
      );
    });
  }

  it('refuses, as certificate_invalid, a certificate whose extension content is not DER', async () => {
    // OpenSSL only decodes extension values on demand, so such a certificate constructs fine.
    const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    // The crypto provider was set by test/helpers/pki.ts.
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=broken.example.com',
      notBefore: new Date(),
      notAfter: new Date(Date.now() + 86_400_000),
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      // SEQUENCE { [2] of length 9 } with one content octet: the inner length overruns.
      extensions: [new x509.Extension('2.5.29.17', false, new Uint8Array([0x30, 0x03, 0x82, 0x09, 0x61]))],
    });
    const der = Buffer.from(cert.rawData);
    assert.doesNotThrow(() => new X509Certificate(der), 'node:crypto accepts it');
    assert.throws(
      () => parseCertificateDer(der),
      (error: unknown) => isAppErrorWithCode(error, 'certificate_invalid'),
    );
  });
});
