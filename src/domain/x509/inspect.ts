/**
 * inspect(cert) -> CertificateFacts: every fact the cloud APIs print about a certificate, derived
 * from its DER and nothing else. docs/compat/x509.md maps each fact to the wire fields of each API
 * and records the formatting choices made here.
 *
 * Contract:
 * - Pure and synchronous; the only crypto performed is SHA-256 twice, and one signature
 *   verification when the subject and issuer names are equal (to decide `selfSigned`).
 * - Cost: one forge decode of the certificate per call plus small decodes of the extensions read.
 *   No node:crypto KeyObject is materialised for leaves; key size and curve come from the
 *   SubjectPublicKeyInfo itself (Node's `asymmetricKeyDetails` and `export()` cost 25–60 µs each
 *   on OpenSSL 3, more than the rest of inspect() together).
 * - A certificate that OpenSSL parsed but whose TBS or one of the extensions read here is not the
 *   DER that RFC 5280 requires throws AppError('certificate_invalid'); no partial facts.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { AppError } from '../errors.ts';
import {
  Asn1ShapeError,
  TAG,
  bitLengthOf,
  bitStringBytes,
  characterString,
  childAt,
  childrenOf,
  contentOf,
  decodeDer,
  encodeDer,
  hexOf,
  isContext,
  isUniversal,
  oidOf,
  sameNode,
  sequenceOf,
  tagOf,
  type Asn1Node,
} from './asn1.ts';
import {
  DN_KEYWORDS,
  EC_CURVES,
  EXTENDED_KEY_USAGE_NAMES,
  KEY_ALGORITHMS,
  KEY_USAGE_NAMES,
  MONTGOMERY_KEYS,
  OID_COMMON_NAME,
  OID_EXT_BASIC_CONSTRAINTS,
  OID_EXT_EXTENDED_KEY_USAGE,
  OID_EXT_KEY_USAGE,
  OID_EXT_SUBJECT_ALT_NAME,
  OID_ORGANIZATION,
  publicKeyInfoText,
  signatureAlgorithmName,
} from './names.ts';
import { armour } from './pem.ts';
import type { CertificateFacts, KeyDescription, ParsedCertificate, SubjectAltNames } from './types.ts';

/**
 * Builds the certificate from DER and inspects it.
 *
 * Throws AppError('certificate_invalid', field 'certificate') when the bytes are not exactly one
 * DER-encoded X.509 certificate: not parseable, PEM text instead of DER, trailing bytes after the
 * certificate, or a BER encoding that OpenSSL re-encodes differently (fingerprints and duplicate
 * detection are defined over the DER, so certkeeper does not keep a second, re-encoded form).
 * Messages never contain the input bytes. `parsed`, when given and its DER is `der`, is taken
 * instead of parsing again (a caller that parsed the bytes already: the bulk import's pairing).
 */
export function parseCertificateDer(der: Buffer, parsed?: X509Certificate): ParsedCertificate {
  // 0x30 is the SEQUENCE tag every certificate starts with. Node's constructor would also accept
  // PEM text; DER was asked for, so PEM is refused here rather than silently decoded.
  if (der.length === 0 || der[0] !== 0x30) {
    throw new AppError('certificate_invalid', 'The certificate is not a DER-encoded X.509 certificate.', {
      field: 'certificate',
    });
  }
  let x509: X509Certificate;
  try {
    // `parsed`: these bytes as the caller parsed them already; used only when its DER is `der`.
    x509 = parsed !== undefined && parsed.raw.equals(der) ? parsed : new X509Certificate(der);
  } catch (cause) {
    throw new AppError('certificate_invalid', 'The certificate could not be parsed as an X.509 certificate.', {
      field: 'certificate',
      cause,
    });
  }
  // OpenSSL reads one certificate and ignores what follows, and re-encodes BER as DER: either way
  // `raw` differs from the input.
  const raw = x509.raw;
  if (!raw.equals(der)) {
    throw new AppError(
      'certificate_invalid',
      raw.length < der.length && der.subarray(0, raw.length).equals(raw)
        ? 'The certificate is followed by extra bytes; supply exactly one certificate.'
        : 'The certificate is not DER-encoded (it uses a BER or non-canonical encoding); re-export it as DER or PEM.',
      { field: 'certificate' },
    );
  }
  const facts = inspect(x509);
  return { x509, der: raw, pem: armour('CERTIFICATE', raw), facts };
}

/** Every fact of CertificateFacts, derived from the certificate's DER (see the module comment). */
export function inspect(cert: X509Certificate): CertificateFacts {
  const der = cert.raw;
  try {
    return inspectDecoded(cert, der);
  } catch (error) {
    if (error instanceof Asn1ShapeError) {
      throw new AppError('certificate_invalid', `The certificate is malformed (${error.message}).`, {
        field: 'certificate',
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * The X.509 version of a certificate (1, 2 or 3) from its DER: the TBSCertificate's optional
 * `[0] EXPLICIT` version field, absent for version 1. Node's X509Certificate does not expose it.
 * Throws Asn1ShapeError on bytes that are not a certificate (callers pass parsed certificates).
 */
export function x509Version(der: Buffer): number {
  const tbs = sequenceOf(
    childAt(sequenceOf(decodeDer(der.toString('latin1')), 'Certificate'), 0, 'Certificate'),
    'TBSCertificate',
  );
  const first = childAt(tbs, 0, 'TBSCertificate');
  if (!isContext(first, 0)) return 1;
  const version = childAt(childrenOf(first, 'version'), 0, 'version');
  if (!isUniversal(version, TAG.INTEGER)) throw new Asn1ShapeError('version: expected an INTEGER');
  const bytes = contentOf(version, 'version');
  // v1(0), v2(1), v3(2): one content byte.
  if (bytes.length !== 1) throw new Asn1ShapeError('version: expected a one-byte INTEGER');
  return bytes.charCodeAt(0) + 1;
}

function inspectDecoded(cert: X509Certificate, der: Buffer): CertificateFacts {
  const root = sequenceOf(decodeDer(der.toString('latin1')), 'Certificate');
  const tbs = sequenceOf(childAt(root, 0, 'Certificate'), 'TBSCertificate');
  const signatureAlgorithmOid = oidOf(
    childAt(sequenceOf(childAt(root, 1, 'Certificate'), 'signatureAlgorithm'), 0, 'signatureAlgorithm'),
    'signatureAlgorithm',
  );

  // version [0] EXPLICIT is optional (absent means v1); every later field shifts by one if present.
  const at = isContext(childAt(tbs, 0, 'TBSCertificate'), 0) ? 1 : 0;
  const serialNode = childAt(tbs, at, 'TBSCertificate');
  if (!isUniversal(serialNode, TAG.INTEGER)) throw new Asn1ShapeError('serialNumber: expected an INTEGER');
  const issuerNode = childAt(tbs, at + 2, 'TBSCertificate');
  const subjectNode = childAt(tbs, at + 4, 'TBSCertificate');
  const spkiNode = childAt(tbs, at + 5, 'TBSCertificate');

  const subject = readName(subjectNode, 'subject');
  const issuer = readName(issuerNode, 'issuer');
  const spkiDer = encodeDer(spkiNode);
  const key = describeKey(spkiNode);
  const ext = readExtensions(tbs.slice(at + 6));

  const subjectIsIssuer = sameNode(subjectNode, issuerNode);
  return {
    subjectDn: subject.dn,
    commonName: subject.commonName,
    sans: ext.sans,
    domains: domainsOf(ext.sans.dns, subject.commonName),
    issuerDn: issuer.dn,
    issuerCommonName: issuer.commonName,
    caName: issuer.organization ?? issuer.commonName ?? issuer.dn,
    serialNumber: serialHex(contentOf(serialNode, 'serialNumber')),
    notBefore: cert.validFromDate,
    notAfter: cert.validToDate,
    key: key.description,
    signatureAlgorithm: signatureAlgorithmName(signatureAlgorithmOid),
    signatureAlgorithmOid,
    publicKeyInfo: publicKeyInfoText(key.description.algorithm, key.description.bits, key.algorithmOid),
    fingerprintSha256: sha256Hex(der),
    publicKeyFingerprintSha256: sha256Hex(Buffer.from(spkiDer, 'latin1')),
    keyUsage: ext.keyUsage,
    extendedKeyUsage: ext.extendedKeyUsage,
    isCa: ext.isCa,
    // Equal names first (cheap, and false for every issued leaf), then the signature.
    selfSigned: subjectIsIssuer && verifiesWithOwnKey(cert),
  };
}

function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function verifiesWithOwnKey(cert: X509Certificate): boolean {
  try {
    return cert.verify(cert.publicKey);
  } catch {
    // A key type OpenSSL cannot load or verify with: the self-signature is not established.
    return false;
  }
}

/**
 * Serial as NCP prints `certSerialNumber`: lowercase hex of the INTEGER content octets as encoded,
 * minus the single 0x00 sign octet DER adds before a high bit (so `0134f7…` keeps its leading zero
 * nibble and `00 92 cf…` prints `92cf…`). A zero serial prints `00`.
 */
function serialHex(content: string): string {
  const bytes = content.length > 1 && content.charCodeAt(0) === 0 ? content.slice(1) : content;
  return hexOf(bytes);
}

// ---------------------------------------------------------------------------------------------
// Distinguished names

interface NameFacts {
  dn: string;
  /** Last CN (the most specific one), unescaped. */
  commonName: string | null;
  /** Last O, unescaped. */
  organization: string | null;
}

/**
 * Formats a Name as Java's X500Principal.toString() orders it (most specific RDN first, RDNs joined
 * with `, `, the AVAs of a multi-valued RDN joined with ` + ` in their encoded order, Java's keyword
 * table in names.ts), with RFC 2253 backslash escaping of values instead of Java's RFC 1779 quoting.
 */
function readName(node: Asn1Node, what: string): NameFacts {
  const rdns = sequenceOf(node, what);
  const printed: string[] = [];
  let commonName: string | null = null;
  let organization: string | null = null;
  for (const rdn of rdns) {
    const avas = sequenceOf(rdn, `${what} RDN`, TAG.SET);
    const parts: string[] = [];
    for (const ava of avas) {
      const pair = sequenceOf(ava, `${what} attribute`);
      const oid = oidOf(childAt(pair, 0, `${what} attribute`), `${what} attribute type`);
      const valueNode = childAt(pair, 1, `${what} attribute`);
      const text = characterString(valueNode);
      if (text !== null) {
        if (oid === OID_COMMON_NAME) commonName = text;
        else if (oid === OID_ORGANIZATION) organization = text;
      }
      // A value that is not a character string prints as RFC 2253 `#` + hex of its DER.
      const value = text === null ? `#${hexOf(encodeDer(valueNode))}` : escapeDnValue(text);
      parts.push(`${DN_KEYWORDS.get(oid) ?? oid}=${value}`);
    }
    printed.push(parts.join(' + '));
  }
  return { dn: printed.reverse().join(', '), commonName, organization };
}

const DN_SPECIALS = new Set([',', '+', '=', '"', '\\', '<', '>', ';']);

/**
 * RFC 2253 escaping (with RFC 4514's hex form for control characters): a backslash before
 * `,+="\<>;`, before a leading `#` or space and before a trailing space; control characters
 * (U+0000–U+001F, U+007F) as `\XX`, so a hostile value cannot forge an RDN or break a log line.
 */
export function escapeDnValue(value: string): string {
  let out = '';
  const last = value.length - 1;
  for (let i = 0; i <= last; i += 1) {
    const c = value[i]!;
    const code = c.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).toUpperCase().padStart(2, '0')}`;
    else if (DN_SPECIALS.has(c) || (i === 0 && (c === ' ' || c === '#')) || (i === last && c === ' ')) out += `\\${c}`;
    else out += c;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Subject public key

interface KeyFacts {
  description: KeyDescription;
  algorithmOid: string;
}

/**
 * Key algorithm, size and curve from the SubjectPublicKeyInfo: RSA and RSA-PSS from the modulus,
 * EC from the named-curve parameter (field size in bits; the point length when the curve is not in
 * names.ts), DSA from p, EdDSA fixed (Ed25519 is 255 bits: the curve is over GF(2^255 - 19); Ed448
 * is 448).
 */
function describeKey(spki: Asn1Node): KeyFacts {
  const [algorithmId, keyBits] = sequenceOf(spki, 'subjectPublicKeyInfo');
  if (algorithmId === undefined || keyBits === undefined)
    throw new Asn1ShapeError('subjectPublicKeyInfo: missing elements');
  const algorithmParts = sequenceOf(algorithmId, 'subjectPublicKeyInfo algorithm');
  const algorithmOid = oidOf(
    childAt(algorithmParts, 0, 'subjectPublicKeyInfo algorithm'),
    'subjectPublicKeyInfo algorithm',
  );
  const parameters = algorithmParts[1];
  const keyBytes = bitStringBytes(keyBits, 'subjectPublicKey');
  const algorithm = KEY_ALGORITHMS.get(algorithmOid) ?? 'unknown';
  const describe = (bits: number, curve: string | null = null): KeyFacts => ({
    description: { algorithm, bits, curve },
    algorithmOid,
  });

  switch (algorithm) {
    case 'RSA':
    case 'RSA-PSS': {
      const rsaKey = sequenceOf(decodeDer(keyBytes), 'RSAPublicKey');
      const modulus = childAt(rsaKey, 0, 'RSAPublicKey');
      if (!isUniversal(modulus, TAG.INTEGER)) throw new Asn1ShapeError('RSAPublicKey: expected an INTEGER modulus');
      return describe(bitLengthOf(contentOf(modulus, 'RSA modulus')));
    }
    case 'EC': {
      if (parameters !== undefined && isUniversal(parameters, TAG.OID)) {
        const curveOid = oidOf(parameters, 'EC parameters');
        const known = EC_CURVES.get(curveOid);
        if (known) return describe(known.bits, known.name);
        return describe(ecPointBits(keyBytes), curveOid);
      }
      // Explicit curve parameters (forbidden by RFC 5480, still seen): no name to give.
      return describe(ecPointBits(keyBytes), null);
    }
    case 'Ed25519':
      return describe(255);
    case 'Ed448':
      return describe(448);
    case 'DSA': {
      if (parameters === undefined || !isUniversal(parameters, TAG.SEQUENCE)) return describe(0);
      const p = childAt(childrenOf(parameters, 'DSA parameters'), 0, 'DSA parameters');
      return describe(bitLengthOf(contentOf(p, 'DSA p')));
    }
    case 'unknown': {
      const montgomery = MONTGOMERY_KEYS.get(algorithmOid);
      return montgomery ? describe(montgomery.bits, montgomery.curve) : describe(0);
    }
  }
}

/** Field size implied by an EC point (uncompressed 04‖X‖Y or compressed 02/03‖X); 66-octet fields are P-521's 521 bits. */
function ecPointBits(point: string): number {
  const first = point.charCodeAt(0);
  const fieldOctets = first === 0x04 ? (point.length - 1) / 2 : point.length - 1;
  return fieldOctets === 66 ? 521 : Math.max(0, Math.floor(fieldOctets)) * 8;
}

// ---------------------------------------------------------------------------------------------
// Extensions

interface ExtensionFacts {
  sans: SubjectAltNames;
  keyUsage: string[];
  extendedKeyUsage: string[];
  isCa: boolean;
}

/**
 * Reads subjectAltName, keyUsage, extendedKeyUsage and basicConstraints from the fields after the
 * SubjectPublicKeyInfo ([1] issuerUniqueID, [2] subjectUniqueID, [3] extensions). RFC 5280 forbids
 * repeating an extension; if a certificate does, the first occurrence counts.
 */
function readExtensions(rest: readonly Asn1Node[]): ExtensionFacts {
  const facts: ExtensionFacts = {
    sans: { dns: [], ip: [], email: [], uri: [] },
    keyUsage: [],
    extendedKeyUsage: [],
    isCa: false,
  };
  const wrapper = rest.find((node) => isContext(node, 3));
  if (wrapper === undefined) return facts;
  const extensions = sequenceOf(childAt(childrenOf(wrapper, 'extensions'), 0, 'extensions'), 'extensions');
  const seen = new Set<string>();
  for (const extension of extensions) {
    const parts = sequenceOf(extension, 'extension');
    const oid = oidOf(childAt(parts, 0, 'extension'), 'extension id');
    if (seen.has(oid)) continue;
    seen.add(oid);
    if (
      oid !== OID_EXT_SUBJECT_ALT_NAME &&
      oid !== OID_EXT_KEY_USAGE &&
      oid !== OID_EXT_EXTENDED_KEY_USAGE &&
      oid !== OID_EXT_BASIC_CONSTRAINTS
    )
      continue;
    // extnValue is the last element (critical BOOLEAN DEFAULT FALSE may precede it).
    const octets = parts.length >= 2 ? parts[parts.length - 1] : undefined;
    if (octets === undefined || !isUniversal(octets, TAG.OCTET_STRING))
      throw new Asn1ShapeError('extension: expected an OCTET STRING value');
    const value = decodeDer(contentOf(octets, 'extension value'));
    switch (oid) {
      case OID_EXT_SUBJECT_ALT_NAME:
        facts.sans = readSubjectAltNames(value);
        break;
      case OID_EXT_KEY_USAGE:
        facts.keyUsage = readKeyUsage(value);
        break;
      case OID_EXT_EXTENDED_KEY_USAGE:
        facts.extendedKeyUsage = sequenceOf(value, 'extendedKeyUsage').map((purpose) => {
          const purposeOid = oidOf(purpose, 'extendedKeyUsage purpose');
          return EXTENDED_KEY_USAGE_NAMES.get(purposeOid) ?? purposeOid;
        });
        break;
      case OID_EXT_BASIC_CONSTRAINTS: {
        const first = sequenceOf(value, 'basicConstraints')[0];
        facts.isCa =
          first !== undefined && isUniversal(first, TAG.BOOLEAN) && contentOf(first, 'basicConstraints cA') !== '\x00';
        break;
      }
    }
  }
  return facts;
}

/**
 * GeneralNames in certificate order: dNSName [2], iPAddress [7], rfc822Name [1] and
 * uniformResourceIdentifier [6]. IA5String values are kept octet for octet. Other name forms
 * (otherName, directoryName, registeredID, …) are not facts any API prints and are skipped.
 */
function readSubjectAltNames(value: Asn1Node): SubjectAltNames {
  const sans: SubjectAltNames = { dns: [], ip: [], email: [], uri: [] };
  for (const name of sequenceOf(value, 'subjectAltName')) {
    if (!isContext(name, 1) && !isContext(name, 2) && !isContext(name, 6) && !isContext(name, 7)) continue;
    const content = contentOf(name, 'subjectAltName entry');
    switch (tagOf(name)) {
      case 1:
        sans.email.push(content);
        break;
      case 2:
        sans.dns.push(content);
        break;
      case 6:
        sans.uri.push(content);
        break;
      case 7:
        sans.ip.push(formatIpAddress(content));
        break;
    }
  }
  return sans;
}

/**
 * IPv4 dotted quad; IPv6 in RFC 5952 form (lowercase, no leading zeros, the longest run of two or
 * more zero groups, the first on a tie, as `::`; IPv4-mapped addresses as `::ffff:192.0.2.1`, §5).
 * Any other length (not a valid SAN) prints as lowercase hex.
 */
export function formatIpAddress(bytes: string): string {
  if (bytes.length === 4) {
    return `${bytes.charCodeAt(0)}.${bytes.charCodeAt(1)}.${bytes.charCodeAt(2)}.${bytes.charCodeAt(3)}`;
  }
  if (bytes.length !== 16) return hexOf(bytes);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes.charCodeAt(i) << 8) | bytes.charCodeAt(i + 1));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatIpAddress(bytes.slice(12))}`;
  }
  let bestStart = -1;
  let bestLength = 1; // a single zero group is never compressed (RFC 5952 §4.2.2)
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Names of the KeyUsage bits set, in RFC 5280 bit order. */
function readKeyUsage(value: Asn1Node): string[] {
  const bits = bitStringBytes(value, 'keyUsage');
  const names: string[] = [];
  KEY_USAGE_NAMES.forEach((name, bit) => {
    const octet = bits.charCodeAt(bit >> 3);
    if (!Number.isNaN(octet) && (octet & (0x80 >> (bit & 7))) !== 0) names.push(name);
  });
  return names;
}

/**
 * `domains`: the SAN dNSNames in certificate order without repeats (compared case-insensitively, as
 * DNS names are; the first spelling is kept), or the CN alone when there is no dNSName at all.
 */
function domainsOf(dns: readonly string[], commonName: string | null): string[] {
  if (dns.length === 0) return commonName === null ? [] : [commonName];
  const seen = new Set<string>();
  const out: string[] = [];
  for (const name of dns) {
    const folded = name.toLowerCase();
    if (seen.has(folded)) continue;
    seen.add(folded);
    out.push(name);
  }
  return out;
}
