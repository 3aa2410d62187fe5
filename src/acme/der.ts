/**
 * A minimal DER encoder for the few structures the ACME client builds itself (PKCS#10 CSRs).
 * Decoding is not done here: the ARI id reads certificates with domain/x509/asn1.ts.
 *
 * Contract: every function returns the complete DER of one element (tag, definite length in the
 * shortest form, content), so the output is byte-exact DER when the inputs are.
 */

export function tlv(tag: number, content: Uint8Array): Buffer {
  const n = content.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

export const sequence = (...items: Uint8Array[]): Buffer => tlv(0x30, Buffer.concat(items));
export const set = (...items: Uint8Array[]): Buffer => tlv(0x31, Buffer.concat(items));
export const octetString = (bytes: Uint8Array): Buffer => tlv(0x04, bytes);
export const utf8String = (text: string): Buffer => tlv(0x0c, Buffer.from(text, 'utf8'));
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);
/** A BIT STRING with no unused bits. */
export const bitString = (bytes: Uint8Array): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]));

/** A non-negative INTEGER small enough for a JS number (versions). */
export function smallInteger(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) throw new RangeError('smallInteger: out of range');
  const bytes: number[] = [];
  for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

/** OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => Number(a));
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) throw new RangeError('oid: malformed');
  const out: number[] = [];
  const push = (value: number): void => {
    const chunk: number[] = [value & 0x7f];
    for (let v = Math.floor(value / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const arc of arcs.slice(2)) push(arc);
  return tlv(0x06, Buffer.from(out));
}

/** Context-specific tag `[n]`: primitive (IMPLICIT over a primitive type) or constructed. */
export const contextTag = (n: number, constructed: boolean, content: Uint8Array): Buffer =>
  tlv(0x80 | (constructed ? 0x20 : 0) | n, content);
