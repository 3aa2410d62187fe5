/**
 * The string by which file-set.ts pairs a private key with its certificate, read from the DER of
 * each without OpenSSL: `createPublicKey(key).export({ type: 'spki' })` and
 * `X509Certificate.publicKey.export(…)` cost about 100 µs each on OpenSSL 3 (its encoder), which
 * was the largest part of pairing a directory's files.
 *
 * Contract:
 * - Only the common shapes are read: RSA (PKCS#1, or PKCS#8 rsaEncryption) → `rsa/` + the
 *   modulus and exponent TLVs; EC on a named curve whose key carries its public point
 *   uncompressed (SEC1's `[1] publicKey`, which OpenSSL writes) → `ec/` + curve OID + point.
 *   Anything else, or DER not shaped as expected: null, and the caller falls back to the SHA-256
 *   of the SubjectPublicKeyInfo that OpenSSL exports.
 * - Equal strings mean the same algorithm and the same public key bytes. OpenSSL takes the public
 *   key of such a private key from these same fields (it does not recompute an EC point that the
 *   key carries), so the pairing is the one its export gives.
 */
import type { ParsedPrivateKey } from './types.ts';

interface Tlv {
  tag: number;
  /** Start of the whole TLV and of its content; end of the content. */
  start: number;
  content: number;
  end: number;
}

/** One DER TLV at `pos` within `[pos, limit)`, or null (indefinite or overlong length, overrun). */
function tlvAt(der: Buffer, pos: number, limit: number): Tlv | null {
  if (pos + 2 > limit) return null;
  const tag = der[pos]!;
  let length = der[pos + 1]!;
  let content = pos + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 3 || content + octets > limit) return null;
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[content + i]!;
    content += octets;
  }
  const end = content + length;
  return end > limit ? null : { tag, start: pos, content, end };
}

/** The children of a constructed TLV, or null when they do not exactly fill it. */
function childrenOf(der: Buffer, parent: Tlv): Tlv[] | null {
  const children: Tlv[] = [];
  for (let pos = parent.content; pos < parent.end;) {
    const child = tlvAt(der, pos, parent.end);
    if (child === null) return null;
    children.push(child);
    pos = child.end;
  }
  return children;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const OID = 0x06;
const RSA_ENCRYPTION = '2a864886f70d010101';
const EC_PUBLIC_KEY = '2a8648ce3d0201';

const hex = (der: Buffer, from: number, to: number): string => der.toString('hex', from, to);
const whole = (der: Buffer): Tlv | null => {
  const top = tlvAt(der, 0, der.length);
  return top !== null && top.tag === SEQUENCE && top.end === der.length ? top : null;
};

/** RSAPublicKey or RSAPrivateKey content: the modulus and exponent TLVs. */
function rsaOf(der: Buffer, seq: Tlv, first: number): string | null {
  const parts = childrenOf(der, seq);
  const n = parts?.[first];
  const e = parts?.[first + 1];
  if (!n || !e || n.tag !== INTEGER || e.tag !== INTEGER) return null;
  return `rsa/${hex(der, n.start, e.end)}`;
}

/** An uncompressed EC point on a named curve (`curve`: the OID TLV's hex). */
function ecOf(curve: string | null, der: Buffer, point: Tlv): string | null {
  // A BIT STRING's first content byte counts unused bits (0 here), then the point: 04 ‖ X ‖ Y.
  if (curve === null || point.tag !== BIT_STRING || point.end - point.content < 4) return null;
  if (der[point.content] !== 0 || der[point.content + 1] !== 0x04) return null;
  return `ec/${curve}/${hex(der, point.content + 2, point.end)}`;
}

/** SEC1 ECPrivateKey: version, d, [0] curve (or `curve` from PKCS#8), [1] public point. */
function sec1Of(der: Buffer, seq: Tlv, outerCurve: string | null): string | null {
  const parts = childrenOf(der, seq);
  if (parts === null) return null;
  let curve = outerCurve;
  let point: Tlv | null = null;
  for (const part of parts.slice(2)) {
    const inner = tlvAt(der, part.content, part.end);
    if (inner === null) return null;
    if (part.tag === 0xa0) {
      if (inner.tag !== OID) return null;
      const own = hex(der, inner.start, inner.end);
      if (curve !== null && curve !== own) return null;
      curve = own;
    } else if (part.tag === 0xa1) point = inner;
  }
  return point === null ? null : ecOf(curve, der, point);
}

/** The pairing string of a parsed private key's DER, or null (see the module comment). */
export function privateKeyMatch(der: Buffer, format: ParsedPrivateKey['format']): string | null {
  const top = whole(der);
  if (top === null) return null;
  if (format === 'pkcs1') return rsaOf(der, top, 1);
  if (format === 'sec1') return sec1Of(der, top, null);
  // PKCS#8: version, AlgorithmIdentifier, OCTET STRING holding the algorithm's own private key.
  const parts = childrenOf(der, top);
  const algorithm = parts?.[1];
  const key = parts?.[2];
  if (!algorithm || !key || algorithm.tag !== SEQUENCE || key.tag !== OCTET_STRING) return null;
  const ids = childrenOf(der, algorithm);
  const oid = ids?.[0];
  if (!oid || oid.tag !== OID) return null;
  const inner = tlvAt(der, key.content, key.end);
  if (inner === null || inner.tag !== SEQUENCE || inner.end !== key.end) return null;
  const which = hex(der, oid.content, oid.end);
  if (which === RSA_ENCRYPTION) return rsaOf(der, inner, 1);
  const params = ids?.[1];
  if (which === EC_PUBLIC_KEY && params?.tag === OID) return sec1Of(der, inner, hex(der, params.start, params.end));
  return null;
}

/** The pairing string of a certificate's SubjectPublicKeyInfo, or null (see the module comment). */
export function certificateKeyMatch(der: Buffer): string | null {
  const top = whole(der);
  const tbs = top && tlvAt(der, top.content, top.end);
  if (!tbs || tbs.tag !== SEQUENCE) return null;
  const fields = childrenOf(der, tbs);
  if (fields === null) return null;
  // version [0] is optional; then serial, signature, issuer, validity, subject, SubjectPublicKeyInfo.
  const spki = fields[fields[0]?.tag === 0xa0 ? 6 : 5];
  if (!spki || spki.tag !== SEQUENCE) return null;
  const [algorithm, bits] = childrenOf(der, spki) ?? [];
  if (!algorithm || !bits || algorithm.tag !== SEQUENCE || bits.tag !== BIT_STRING) return null;
  const ids = childrenOf(der, algorithm);
  const oid = ids?.[0];
  if (!oid || oid.tag !== OID) return null;
  const which = hex(der, oid.content, oid.end);
  if (which === RSA_ENCRYPTION) {
    if (der[bits.content] !== 0) return null;
    const key = tlvAt(der, bits.content + 1, bits.end);
    return key !== null && key.tag === SEQUENCE && key.end === bits.end ? rsaOf(der, key, 0) : null;
  }
  const params = ids?.[1];
  if (which === EC_PUBLIC_KEY && params?.tag === OID) return ecOf(hex(der, params.start, params.end), der, bits);
  return null;
}
