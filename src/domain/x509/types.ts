/**
 * Shared shapes of the X.509 domain. Everything here is derived from certificate or key bytes;
 * nothing is taken from the caller's word.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';

/** One armoured block found in user text. */
export interface PemBlock {
  /** The label between `BEGIN ` and `-----`, e.g. `CERTIFICATE`, `RSA PRIVATE KEY`. */
  label: string;
  /** RFC 1421 headers inside the block (e.g. `Proc-Type: 4,ENCRYPTED`), keys as written. */
  headers: Readonly<Record<string, string>>;
  /** Decoded body. */
  der: Buffer;
  /** The block re-armoured canonically: LF endings, 64-column base64, trailing newline. */
  pem: string;
  /** 1-based position of the block among all blocks of the input, for error messages. */
  index: number;
}

export type KeyAlgorithm = 'RSA' | 'RSA-PSS' | 'EC' | 'Ed25519' | 'Ed448' | 'DSA' | 'unknown';

/** Size and kind of a public or private key. */
export interface KeyDescription {
  algorithm: KeyAlgorithm;
  /** Modulus size for RSA, field size for EC, 255/448 for EdDSA. */
  bits: number;
  /** Named curve for EC keys (`P-256`, `P-384`, `P-521`, or the OpenSSL name for others). */
  curve: string | null;
}

export interface SubjectAltNames {
  dns: string[];
  ip: string[];
  email: string[];
  uri: string[];
}

/**
 * Every fact the three cloud APIs print about a certificate, derived from its DER.
 * docs/compat/x509.md maps each field to the wire fields of each API.
 */
export interface CertificateFacts {
  /** Subject DN as NCP prints it: most specific RDN first, `CN=a, O=b, C=KR`. Empty if none. */
  subjectDn: string;
  /** Last CN of the subject, or null when the subject has none (SAN-only certificates). */
  commonName: string | null;
  sans: SubjectAltNames;
  /** DNS names the certificate covers: SAN dNSNames, or the CN when there are no SANs. */
  domains: string[];
  issuerDn: string;
  issuerCommonName: string | null;
  /**
   * Issuer O, else issuer CN, else the issuer DN: NHN's CA name check (52006) reads it. The CA name
   * the faces print is `caNameOf(facts)` (ca-name.ts), never this field directly.
   */
  caName: string;
  /** Serial as lowercase hex of the DER INTEGER content bytes (NCP `certSerialNumber`). */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  key: KeyDescription;
  /** Signature algorithm in Java naming: `SHA256withRSA`, `SHA384withECDSA`, `RSASSA-PSS`, `Ed25519`. */
  signatureAlgorithm: string;
  /** The OID of the signature algorithm. */
  signatureAlgorithmOid: string;
  /** Public key as NCP prints it: `Sun RSA public key, 2048 bits`, `Sun EC public key, 256 bits`. */
  publicKeyInfo: string;
  /** SHA-256 of the certificate DER, lowercase hex without separators. */
  fingerprintSha256: string;
  /** SHA-256 of the SubjectPublicKeyInfo DER, lowercase hex without separators. */
  publicKeyFingerprintSha256: string;
  /** RFC 5280 names of the key usage bits, e.g. `digitalSignature`; empty when the extension is absent. */
  keyUsage: string[];
  /** Extended key usages as names where known (`serverAuth`), else dotted OIDs. */
  extendedKeyUsage: string[];
  isCa: boolean;
  /** Subject equals issuer and the certificate verifies with its own key. */
  selfSigned: boolean;
}

/** A certificate parsed once and kept with its facts. */
export interface ParsedCertificate {
  x509: X509Certificate;
  der: Buffer;
  /** Canonical PEM (LF, 64 columns, trailing newline). */
  pem: string;
  facts: CertificateFacts;
}

export interface ParsedPrivateKey {
  keyObject: KeyObject;
  /** Which PEM encoding it came in. */
  format: 'pkcs1' | 'pkcs8' | 'sec1';
  description: KeyDescription;
  /** The key re-encoded as PKCS#8 PEM: what certkeeper stores (encrypted) and exports. */
  pkcs8Pem: string;
}
