/**
 * Naming tables of the X.509 domain: how certkeeper prints OIDs, attribute types, algorithms and
 * keys. Every string a cloud API shows about a certificate comes from one of these tables, so a
 * wording change happens here and nowhere else. docs/compat/x509.md explains each choice.
 *
 * Pure data plus trivial look-ups; no parsing.
 */
import type { KeyAlgorithm } from './types.ts';

/**
 * DN attribute keywords, as Java's `X500Principal.toString()` prints them (sun.security.x509
 * AVAKeyword, DEFAULT format: the last keyword registered for an OID wins, hence `ST` not `S`,
 * `EMAILADDRESS` not `EMAIL`, `DNQ` not `DNQUALIFIER`). Types not listed print as the dotted OID.
 */
export const DN_KEYWORDS: ReadonlyMap<string, string> = new Map([
  ['2.5.4.3', 'CN'],
  ['2.5.4.6', 'C'],
  ['2.5.4.7', 'L'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['2.5.4.12', 'T'],
  ['1.3.6.1.4.1.42.2.11.2.1', 'IP'],
  ['2.5.4.9', 'STREET'],
  ['0.9.2342.19200300.100.1.25', 'DC'],
  ['2.5.4.46', 'DNQ'],
  ['2.5.4.4', 'SURNAME'],
  ['2.5.4.42', 'GIVENNAME'],
  ['2.5.4.43', 'INITIALS'],
  ['2.5.4.44', 'GENERATION'],
  ['1.2.840.113549.1.9.1', 'EMAILADDRESS'],
  ['0.9.2342.19200300.100.1.1', 'UID'],
  ['2.5.4.5', 'SERIALNUMBER'],
]);

export const OID_COMMON_NAME = '2.5.4.3';
export const OID_ORGANIZATION = '2.5.4.10';

/** Extension OIDs that inspect() reads. */
export const OID_EXT_KEY_USAGE = '2.5.29.15';
export const OID_EXT_SUBJECT_ALT_NAME = '2.5.29.17';
export const OID_EXT_BASIC_CONSTRAINTS = '2.5.29.19';
export const OID_EXT_EXTENDED_KEY_USAGE = '2.5.29.37';

/**
 * Signature algorithms in Java (JCA standard) naming, keyed by OID. NCP prints
 * `certSignAlgorithmName` and NHN `signatureAlgorithm` in this naming (`SHA256withRSA`). Unknown
 * OIDs print as the dotted OID (Java's `getSigAlgName()` does the same).
 */
export const SIGNATURE_ALGORITHMS: ReadonlyMap<string, string> = new Map([
  ['1.2.840.113549.1.1.2', 'MD2withRSA'],
  ['1.2.840.113549.1.1.4', 'MD5withRSA'],
  ['1.2.840.113549.1.1.5', 'SHA1withRSA'],
  ['1.3.14.3.2.29', 'SHA1withRSA'], // OIW sha1WithRSASignature, seen in old certificates
  ['1.2.840.113549.1.1.14', 'SHA224withRSA'],
  ['1.2.840.113549.1.1.11', 'SHA256withRSA'],
  ['1.2.840.113549.1.1.12', 'SHA384withRSA'],
  ['1.2.840.113549.1.1.13', 'SHA512withRSA'],
  ['1.2.840.113549.1.1.15', 'SHA512/224withRSA'],
  ['1.2.840.113549.1.1.16', 'SHA512/256withRSA'],
  ['2.16.840.1.101.3.4.3.13', 'SHA3-224withRSA'],
  ['2.16.840.1.101.3.4.3.14', 'SHA3-256withRSA'],
  ['2.16.840.1.101.3.4.3.15', 'SHA3-384withRSA'],
  ['2.16.840.1.101.3.4.3.16', 'SHA3-512withRSA'],
  ['1.2.840.113549.1.1.10', 'RSASSA-PSS'],
  ['1.2.840.10045.4.1', 'SHA1withECDSA'],
  ['1.2.840.10045.4.3.1', 'SHA224withECDSA'],
  ['1.2.840.10045.4.3.2', 'SHA256withECDSA'],
  ['1.2.840.10045.4.3.3', 'SHA384withECDSA'],
  ['1.2.840.10045.4.3.4', 'SHA512withECDSA'],
  ['2.16.840.1.101.3.4.3.9', 'SHA3-224withECDSA'],
  ['2.16.840.1.101.3.4.3.10', 'SHA3-256withECDSA'],
  ['2.16.840.1.101.3.4.3.11', 'SHA3-384withECDSA'],
  ['2.16.840.1.101.3.4.3.12', 'SHA3-512withECDSA'],
  ['1.3.101.112', 'Ed25519'],
  ['1.3.101.113', 'Ed448'],
  ['1.2.840.10040.4.3', 'SHA1withDSA'],
  ['2.16.840.1.101.3.4.3.1', 'SHA224withDSA'],
  ['2.16.840.1.101.3.4.3.2', 'SHA256withDSA'],
  ['2.16.840.1.101.3.4.3.3', 'SHA384withDSA'],
  ['2.16.840.1.101.3.4.3.4', 'SHA512withDSA'],
]);

/** Java name of a signature algorithm OID, or the OID itself when certkeeper has no name for it. */
export function signatureAlgorithmName(oid: string): string {
  return SIGNATURE_ALGORITHMS.get(oid) ?? oid;
}

/** SubjectPublicKeyInfo algorithm OIDs → certkeeper's key algorithm. */
export const KEY_ALGORITHMS: ReadonlyMap<string, KeyAlgorithm> = new Map([
  ['1.2.840.113549.1.1.1', 'RSA'],
  ['1.2.840.113549.1.1.10', 'RSA-PSS'],
  ['1.2.840.10045.2.1', 'EC'],
  ['1.3.101.112', 'Ed25519'],
  ['1.3.101.113', 'Ed448'],
  ['1.2.840.10040.4.1', 'DSA'],
]);

/**
 * Named curves by OID: the name certkeeper prints (`P-256` for the NIST curves, the OpenSSL short
 * name for the others, which is what Node's `asymmetricKeyDetails.namedCurve` returns) and the field
 * size in bits (what Java prints in `Sun EC public key, N bits`).
 */
export const EC_CURVES: ReadonlyMap<string, { name: string; bits: number }> = new Map([
  ['1.2.840.10045.3.1.7', { name: 'P-256', bits: 256 }],
  ['1.3.132.0.34', { name: 'P-384', bits: 384 }],
  ['1.3.132.0.35', { name: 'P-521', bits: 521 }],
  ['1.2.840.10045.3.1.1', { name: 'prime192v1', bits: 192 }],
  ['1.3.132.0.33', { name: 'secp224r1', bits: 224 }],
  ['1.3.132.0.10', { name: 'secp256k1', bits: 256 }],
  ['1.3.36.3.3.2.8.1.1.7', { name: 'brainpoolP256r1', bits: 256 }],
  ['1.3.36.3.3.2.8.1.1.11', { name: 'brainpoolP384r1', bits: 384 }],
  ['1.3.36.3.3.2.8.1.1.13', { name: 'brainpoolP512r1', bits: 512 }],
  ['1.2.156.10197.1.301', { name: 'SM2', bits: 256 }],
]);

/**
 * Key-agreement-only curves that can appear in a certificate's SubjectPublicKeyInfo (RFC 8410). They
 * are not a KeyAlgorithm certkeeper accepts, so they describe as `unknown`, with their size and curve
 * name (as keys.ts describes such keys too).
 */
export const MONTGOMERY_KEYS: ReadonlyMap<string, { curve: string; bits: number }> = new Map([
  ['1.3.101.110', { curve: 'X25519', bits: 255 }],
  ['1.3.101.111', { curve: 'X448', bits: 448 }],
]);

/**
 * `certPublicKeyInfo`: the first line of Java's `PublicKey.toString()`, which is what NCP prints
 * (`Sun RSA public key, 2048 bits`).
 *
 * - RSA, RSA-PSS, EC, DSA: exactly Java's first line (RSAPublicKeyImpl prints `Sun <keyAlgo> public
 *   key, <n.bitLength()> bits` with keyAlgo `RSA` or `RSASSA-PSS`; ECPublicKeyImpl prints
 *   `Sun EC public key, <field size> bits`; DSAPublicKey prints `Sun DSA Public Key`).
 * - Ed25519/Ed448: Java's X509Key.toString() prints `algorithm = Ed25519, unparsed keybits = ` and a
 *   hex dump, which says nothing useful; certkeeper prints `Ed25519 public key` instead (a choice,
 *   documented in docs/compat/x509.md).
 * - unknown: `Unknown public key (<OID>)`.
 */
export function publicKeyInfoText(algorithm: KeyAlgorithm, bits: number, algorithmOid: string): string {
  switch (algorithm) {
    case 'RSA':
      return `Sun RSA public key, ${bits} bits`;
    case 'RSA-PSS':
      return `Sun RSASSA-PSS public key, ${bits} bits`;
    case 'EC':
      return `Sun EC public key, ${bits} bits`;
    case 'DSA':
      return 'Sun DSA Public Key';
    case 'Ed25519':
      return 'Ed25519 public key';
    case 'Ed448':
      return 'Ed448 public key';
    case 'unknown':
      return `Unknown public key (${algorithmOid})`;
  }
}

/**
 * KeyUsage bit names in RFC 5280 bit order (bit 0 first). Bit 1 is printed `nonRepudiation`, the
 * name OpenSSL, Java, forge and @peculiar/x509 use, rather than X.509's newer `contentCommitment`.
 */
export const KEY_USAGE_NAMES: readonly string[] = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];

/** Extended key usage names (RFC 5280 §4.2.1.12); any other purpose prints as its dotted OID. */
export const EXTENDED_KEY_USAGE_NAMES: ReadonlyMap<string, string> = new Map([
  ['1.3.6.1.5.5.7.3.1', 'serverAuth'],
  ['1.3.6.1.5.5.7.3.2', 'clientAuth'],
  ['1.3.6.1.5.5.7.3.3', 'codeSigning'],
  ['1.3.6.1.5.5.7.3.4', 'emailProtection'],
  ['1.3.6.1.5.5.7.3.8', 'timeStamping'],
  ['1.3.6.1.5.5.7.3.9', 'OCSPSigning'],
]);
