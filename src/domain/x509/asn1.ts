/**
 * Small helpers over node-forge's ASN.1 decoder, for the parts of a certificate that node:crypto
 * does not expose (exact DN structure, SAN entries, key usage bits, key parameters).
 *
 * Contract:
 * - Decoding is node-forge's (`forge.asn1.fromDer`); nothing here reads tag or length octets itself.
 * - Byte strings are forge "binary strings": one JS character per byte (U+0000..U+00FF).
 * - Accessors throw `Asn1ShapeError` when a node is not what the caller expects; callers turn it
 *   into an AppError with a message of their own (it never contains the bytes).
 *
 * Why forge and not @peculiar/asn1-schema or asn1js: forge decodes a certificate in ~10 µs on
 * Node 24, the schema parsers take 400–700 µs, and inspect() runs on every import and list.
 */
import { createRequire } from 'node:module';
import type forge from 'node-forge';

/**
 * forge's ASN.1 module alone (`node-forge/lib/asn1.js`: the same object as `forge.asn1`), not the
 * whole of forge: `import 'node-forge'` loads its 42 modules (ciphers, TLS, PKI…) for ~45 ms at
 * every start, the ASN.1 module and its 4 helpers take ~15 ms. node-forge 1.x publishes its
 * `lib/` files (no `exports` map); @types/node-forge types them only through the main entry.
 */
const asn1 = createRequire(import.meta.url)('node-forge/lib/asn1.js') as typeof forge.asn1;

export type Asn1Node = forge.asn1.Asn1;

/** Tag classes, as forge stores them in `tagClass`. */
export const CLASS_UNIVERSAL = 0x00;
export const CLASS_CONTEXT = 0x80;

/** Universal tag numbers used by certkeeper (X.680). */
export const TAG = {
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  NULL: 5,
  OID: 6,
  UTF8_STRING: 12,
  SEQUENCE: 16,
  SET: 17,
  NUMERIC_STRING: 18,
  PRINTABLE_STRING: 19,
  TELETEX_STRING: 20,
  VIDEOTEX_STRING: 21,
  IA5_STRING: 22,
  GRAPHIC_STRING: 25,
  VISIBLE_STRING: 26,
  GENERAL_STRING: 27,
  UNIVERSAL_STRING: 28,
  BMP_STRING: 30,
} as const;

/** A node was not of the expected shape. The message names the expectation, never the bytes. */
export class Asn1ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Asn1ShapeError';
  }
}

interface FromDerOptions {
  strict?: boolean;
  parseAllBytes?: boolean;
  decodeBitStrings?: boolean;
}
// @types/node-forge declares only the boolean form of the second argument; forge 1.x takes options.
const forgeFromDer = asn1.fromDer as unknown as (bytes: string, options: FromDerOptions) => Asn1Node;

/**
 * Decodes one DER element that must span all of `bytes` (a binary string). BIT STRINGs are left
 * undecoded (forge would otherwise try to parse every BIT STRING, the signature included, as ASN.1).
 * Throws Asn1ShapeError on malformed input.
 */
export function decodeDer(bytes: string): Asn1Node {
  try {
    return forgeFromDer(bytes, { strict: true, parseAllBytes: true, decodeBitStrings: false });
  } catch {
    throw new Asn1ShapeError('malformed DER');
  }
}

/** DER of a decoded node, re-encoded by forge (a binary string). Equal to the input bytes for DER input. */
export function encodeDer(node: Asn1Node): string {
  return asn1.toDer(node).getBytes();
}

export function isUniversal(node: Asn1Node, tag: number): boolean {
  return (node.tagClass as number) === CLASS_UNIVERSAL && (node.type as number) === tag;
}

export function isContext(node: Asn1Node, tag: number): boolean {
  return (node.tagClass as number) === CLASS_CONTEXT && (node.type as number) === tag;
}

/** The tag number of a node (meaningful together with its class). */
export function tagOf(node: Asn1Node): number {
  return node.type as number;
}

/** Children of a constructed node; throws if the node is primitive. */
export function childrenOf(node: Asn1Node, what: string): Asn1Node[] {
  if (!Array.isArray(node.value)) throw new Asn1ShapeError(`${what}: expected a constructed value`);
  return node.value;
}

/** Children of a universal SEQUENCE (or SET when `tag` says so); throws otherwise. */
export function sequenceOf(node: Asn1Node, what: string, tag: number = TAG.SEQUENCE): Asn1Node[] {
  if (!isUniversal(node, tag)) throw new Asn1ShapeError(`${what}: expected a ${tag === TAG.SET ? 'SET' : 'SEQUENCE'}`);
  return childrenOf(node, what);
}

/** The i-th child; throws when absent. */
export function childAt(children: readonly Asn1Node[], index: number, what: string): Asn1Node {
  const child = children[index];
  if (child === undefined) throw new Asn1ShapeError(`${what}: missing element ${index}`);
  return child;
}

/** Content octets of a primitive node (a binary string); throws if the node is constructed. */
export function contentOf(node: Asn1Node, what: string): string {
  if (typeof node.value !== 'string') throw new Asn1ShapeError(`${what}: expected a primitive value`);
  return node.value;
}

/** Dotted form of an OBJECT IDENTIFIER node. */
export function oidOf(node: Asn1Node, what: string): string {
  if (!isUniversal(node, TAG.OID)) throw new Asn1ShapeError(`${what}: expected an OBJECT IDENTIFIER`);
  return asn1.derToOid(contentOf(node, what));
}

/**
 * The bits of a primitive BIT STRING without its leading "unused bits" octet (a binary string).
 * Requires BIT STRINGs to have been left undecoded (see decodeDer).
 */
export function bitStringBytes(node: Asn1Node, what: string): string {
  if (!isUniversal(node, TAG.BIT_STRING)) throw new Asn1ShapeError(`${what}: expected a BIT STRING`);
  const content = contentOf(node, what);
  if (content.length === 0) throw new Asn1ShapeError(`${what}: empty BIT STRING`);
  return content.slice(1);
}

/** Lowercase hex of a binary string, no separators. */
export function hexOf(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('hex');
}

/** Bit length of an unsigned big-endian magnitude (leading zero octets ignored). */
export function bitLengthOf(bytes: string): number {
  let i = 0;
  while (i < bytes.length && bytes.charCodeAt(i) === 0) i += 1;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes.charCodeAt(i)));
}

/**
 * Text of an ASN.1 character-string node, or null when the node is not a character string
 * (callers then print the DER as `#hex`).
 *
 * - UTF8String: UTF-8 (invalid sequences become U+FFFD).
 * - BMPString: UTF-16BE; forge has already turned it into a JS string.
 * - UniversalString: UTF-32BE (invalid code points become U+FFFD).
 * - TeletexString: ISO 8859-1, as OpenSSL and Java read it in practice (T.61 proper is never used).
 * - Printable, IA5, Visible, Numeric, Graphic, General, Videotex: one character per octet (ISO 8859-1),
 *   so an out-of-range octet shows up as itself instead of being dropped.
 */
export function characterString(node: Asn1Node): string | null {
  if ((node.tagClass as number) !== CLASS_UNIVERSAL || typeof node.value !== 'string') return null;
  const bytes = node.value;
  switch (node.type as number) {
    case TAG.UTF8_STRING:
      return Buffer.from(bytes, 'latin1').toString('utf8');
    case TAG.BMP_STRING:
      return bytes;
    case TAG.UNIVERSAL_STRING:
      return decodeUtf32be(bytes);
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.TELETEX_STRING:
    case TAG.VISIBLE_STRING:
    case TAG.NUMERIC_STRING:
    case TAG.GRAPHIC_STRING:
    case TAG.GENERAL_STRING:
    case TAG.VIDEOTEX_STRING:
      return bytes;
    default:
      return null;
  }
}

function decodeUtf32be(bytes: string): string {
  let out = '';
  for (let i = 0; i + 3 < bytes.length; i += 4) {
    const cp =
      bytes.charCodeAt(i) * 0x1000000 +
      (bytes.charCodeAt(i + 1) << 16) +
      (bytes.charCodeAt(i + 2) << 8) +
      bytes.charCodeAt(i + 3);
    out += cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : '\ufffd';
  }
  if (bytes.length % 4 !== 0) out += '\ufffd';
  return out;
}

/**
 * Structural equality of two decoded nodes. For DER input this is equality of their encodings
 * (DER has one encoding per value), without re-encoding either node.
 */
export function sameNode(a: Asn1Node, b: Asn1Node): boolean {
  if (a.tagClass !== b.tagClass || a.type !== b.type || a.constructed !== b.constructed) return false;
  const av = a.value;
  const bv = b.value;
  if (typeof av === 'string' || typeof bv === 'string') return av === bv;
  if (av.length !== bv.length) return false;
  for (let i = 0; i < av.length; i += 1) {
    if (!sameNode(av[i]!, bv[i]!)) return false;
  }
  return true;
}
