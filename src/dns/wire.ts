/**
 * The DNS message format (RFC 1035 4.1), as much of it as certkeeper speaks: queries, RFC 2136
 * UPDATE messages and RFC 8945 TSIG records.
 *
 * - Encoding never compresses names (RFC 1035 allows it; TSIG needs the uncompressed form of its
 *   own names anyway). Names are ASCII, without escapes; a trailing dot is optional.
 * - Decoding follows compression pointers, each of which must point strictly before the name it
 *   is part of (so a loop cannot be built), and checks every length against the buffer: any
 *   malformed input is a `WireError`, never a RangeError or a hang.
 * - Every record keeps its raw RDATA and the offsets of its bytes, so TSIG can MAC the exact
 *   bytes received.
 */

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, TXT: 16, AAAA: 28, OPT: 41, TSIG: 250, ANY: 255 } as const;
export const CLASS = { IN: 1, NONE: 254, ANY: 255 } as const;
export const OPCODE = { QUERY: 0, UPDATE: 5 } as const;

/** RCODE names (RFC 1035, RFC 2136) and TSIG error names (RFC 8945 3). */
const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
  16: 'BADSIG',
  17: 'BADKEY',
  18: 'BADTIME',
  22: 'BADTRUNC',
};

export function rcodeName(code: number): string {
  return RCODE_NAMES[code] ?? `RCODE${code}`;
}

/** Malformed input to the encoder or decoder. The message names the problem, never data. */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

export interface Header {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  rcode: number;
}

export interface Question {
  name: string;
  type: number;
  class: number;
}

export interface TsigData {
  algorithm: string;
  /** Seconds since the epoch (48 bits on the wire). */
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
}

export type RecordData =
  | { kind: 'name'; name: string } // CNAME, NS
  | { kind: 'txt'; strings: Buffer[] }
  | { kind: 'a'; address: string }
  | { kind: 'tsig'; tsig: TsigData }
  | { kind: 'raw' }; // anything else, or nothing (RDLENGTH 0, as in a delete)

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  rdata: Buffer;
  data: RecordData;
}

/** A decoded record and where its bytes were in the message. */
export interface DecodedRecord extends ResourceRecord {
  start: number;
  end: number;
}

/**
 * The four sections. For an UPDATE (RFC 2136 2) they are zone, prerequisite, update and
 * additional; the layout is the same.
 */
export interface Message {
  header: Header;
  questions: Question[];
  answers: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
}

export interface DecodedMessage extends Message {
  answers: DecodedRecord[];
  authority: DecodedRecord[];
  additional: DecodedRecord[];
}

// ---------------------------------------------------------------------------------------------
// Names

/** Lower case, without a trailing dot; '' is the root. */
export function canonicalName(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
}

/** The uncompressed wire form of `name` (RFC 1035 3.1), validated. */
export function encodeName(name: string): Buffer {
  const text = name.endsWith('.') ? name.slice(0, -1) : name;
  if (text === '') return Buffer.from([0]);
  const parts: Buffer[] = [];
  for (const label of text.split('.')) {
    if (label.length === 0) throw new WireError(`the name "${name}" has an empty label`);
    if (!/^[\x21-\x7e]+$/.test(label) || label.includes('\\'))
      throw new WireError(`the name "${name}" must be printable ASCII without escapes`);
    if (label.length > 63) throw new WireError(`a label of "${name}" is longer than 63 octets`);
    parts.push(Buffer.from([label.length]), Buffer.from(label, 'ascii'));
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > 255) throw new WireError(`the name "${name}" is longer than 255 octets`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding

export function encodeHeader(header: Header, counts: [number, number, number, number]): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(header.id, 0);
  const flags =
    (header.qr ? 0x8000 : 0) |
    ((header.opcode & 0xf) << 11) |
    (header.aa ? 0x0400 : 0) |
    (header.tc ? 0x0200 : 0) |
    (header.rd ? 0x0100 : 0) |
    (header.ra ? 0x0080 : 0) |
    (header.rcode & 0xf);
  out.writeUInt16BE(flags, 2);
  counts.forEach((count, i) => out.writeUInt16BE(count, 4 + 2 * i));
  return out;
}

export function encodeQuestion(question: Question): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(question.type, 0);
  tail.writeUInt16BE(question.class, 2);
  return Buffer.concat([encodeName(question.name), tail]);
}

export function encodeRecord(record: Pick<ResourceRecord, 'name' | 'type' | 'class' | 'ttl' | 'rdata'>): Buffer {
  if (record.rdata.length > 0xffff) throw new WireError('RDATA is longer than 65535 octets');
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(record.type, 0);
  fixed.writeUInt16BE(record.class, 2);
  fixed.writeUInt32BE(record.ttl >>> 0, 4);
  fixed.writeUInt16BE(record.rdata.length, 8);
  return Buffer.concat([encodeName(record.name), fixed, record.rdata]);
}

export function encodeMessage(
  message: Omit<Message, 'answers' | 'authority' | 'additional'> & Partial<Message>,
): Buffer {
  const answers = message.answers ?? [];
  const authority = message.authority ?? [];
  const additional = message.additional ?? [];
  return Buffer.concat([
    encodeHeader(message.header, [message.questions.length, answers.length, authority.length, additional.length]),
    ...message.questions.map(encodeQuestion),
    ...answers.map(encodeRecord),
    ...authority.map(encodeRecord),
    ...additional.map(encodeRecord),
  ]);
}

/**
 * TXT RDATA (RFC 1035 3.3.14): the value's UTF-8 bytes as character-strings of at most 255
 * octets each. Readers join them back (RFC 8555 8.4 values are 43 octets: one string).
 */
export function txtRdata(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const parts: Buffer[] = [];
  for (let i = 0; i === 0 || i < bytes.length; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

export function tsigRdata(tsig: TsigData): Buffer {
  const fixed = Buffer.alloc(10);
  writeUint48(fixed, 0, tsig.timeSigned);
  fixed.writeUInt16BE(tsig.fudge, 6);
  fixed.writeUInt16BE(tsig.mac.length, 8);
  const tail = Buffer.alloc(6);
  tail.writeUInt16BE(tsig.originalId, 0);
  tail.writeUInt16BE(tsig.error, 2);
  tail.writeUInt16BE(tsig.other.length, 4);
  return Buffer.concat([encodeName(canonicalName(tsig.algorithm)), fixed, tsig.mac, tail, tsig.other]);
}

export function writeUint48(buffer: Buffer, offset: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value >= 2 ** 48) throw new WireError('time out of range');
  buffer.writeUInt16BE(Math.floor(value / 2 ** 32), offset);
  buffer.writeUInt32BE(value % 2 ** 32, offset + 2);
}

// ---------------------------------------------------------------------------------------------
// Decoding

class Reader {
  offset = 0;
  readonly bytes: Buffer;
  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }

  need(n: number, what: string): void {
    if (this.offset + n > this.bytes.length) throw new WireError(`the message ends inside ${what}`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.bytes.readUInt8(this.offset++);
  }
  u16(what: string): number {
    this.need(2, what);
    const value = this.bytes.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }
  u32(what: string): number {
    this.need(4, what);
    const value = this.bytes.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  take(n: number, what: string): Buffer {
    this.need(n, what);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  name(): string {
    const [name, next] = readName(this.bytes, this.offset);
    this.offset = next;
    return name;
  }
}

/**
 * Reads a possibly compressed name at `offset`; returns it (lower case kept as sent, no trailing
 * dot) and the offset after its bytes in place. A pointer must point before the start of the
 * label sequence it interrupts, which makes every chain of pointers finite.
 */
export function readName(bytes: Buffer, offset: number): [string, number] {
  const labels: string[] = [];
  let wireLength = 1;
  let position = offset;
  let floor = offset; // a pointer must go strictly below this
  let after = -1;
  for (;;) {
    if (position >= bytes.length) throw new WireError('the message ends inside a name');
    const length = bytes[position]!;
    if (length === 0) {
      if (after < 0) after = position + 1;
      break;
    }
    const kind = length & 0xc0;
    if (kind === 0xc0) {
      if (position + 1 >= bytes.length) throw new WireError('the message ends inside a name');
      const target = ((length & 0x3f) << 8) | bytes[position + 1]!;
      if (target >= floor) throw new WireError('a compression pointer does not point backwards');
      if (after < 0) after = position + 2;
      floor = target;
      position = target;
      continue;
    }
    if (kind !== 0) throw new WireError('a name uses an unknown label type');
    if (position + 1 + length > bytes.length) throw new WireError('the message ends inside a name');
    wireLength += length + 1;
    if (wireLength > 255) throw new WireError('a name is longer than 255 octets');
    const label = bytes.subarray(position + 1, position + 1 + length);
    // Bytes outside printable ASCII (or a dot inside a label) are kept visible but unambiguous.
    labels.push(
      Array.from(label, (b) =>
        b > 0x20 && b < 0x7f && b !== 0x2e && b !== 0x5c
          ? String.fromCharCode(b)
          : `\\${b.toString().padStart(3, '0')}`,
      ).join(''),
    );
    position += 1 + length;
  }
  return [labels.join('.'), after];
}

function readRecord(reader: Reader): DecodedRecord {
  const start = reader.offset;
  const name = reader.name();
  const type = reader.u16('a record');
  const klass = reader.u16('a record');
  const ttl = reader.u32('a record');
  const length = reader.u16('a record');
  const rdataStart = reader.offset;
  const rdata = reader.take(length, 'a record');
  return {
    name,
    type,
    class: klass,
    ttl,
    rdata,
    data: readData(reader.bytes, type, rdataStart, rdata),
    start,
    end: reader.offset,
  };
}

function readData(bytes: Buffer, type: number, start: number, rdata: Buffer): RecordData {
  if (rdata.length === 0) return { kind: 'raw' };
  switch (type) {
    case TYPE.CNAME:
    case TYPE.NS: {
      const [name, end] = readName(bytes, start);
      if (end !== start + rdata.length) throw new WireError('a name record has trailing bytes');
      return { kind: 'name', name };
    }
    case TYPE.A:
      if (rdata.length !== 4) throw new WireError('an A record is not 4 octets');
      return { kind: 'a', address: Array.from(rdata).join('.') };
    case TYPE.TXT: {
      const strings: Buffer[] = [];
      for (let i = 0; i < rdata.length;) {
        const n = rdata[i]!;
        if (i + 1 + n > rdata.length) throw new WireError('a TXT string runs past its record');
        strings.push(rdata.subarray(i + 1, i + 1 + n));
        i += 1 + n;
      }
      return { kind: 'txt', strings };
    }
    case TYPE.TSIG: {
      const reader = new Reader(bytes.subarray(0, start + rdata.length));
      reader.offset = start;
      const algorithm = reader.name();
      const high = reader.u16('a TSIG record');
      const low = reader.u32('a TSIG record');
      const fudge = reader.u16('a TSIG record');
      const mac = Buffer.from(reader.take(reader.u16('a TSIG record'), 'a TSIG MAC'));
      const originalId = reader.u16('a TSIG record');
      const error = reader.u16('a TSIG record');
      const other = Buffer.from(reader.take(reader.u16('a TSIG record'), 'a TSIG record'));
      if (reader.offset !== start + rdata.length) throw new WireError('a TSIG record has trailing bytes');
      return {
        kind: 'tsig',
        tsig: { algorithm, timeSigned: high * 2 ** 32 + low, fudge, mac, originalId, error, other },
      };
    }
    default:
      return { kind: 'raw' };
  }
}

export function decodeHeader(bytes: Buffer): Header {
  if (bytes.length < 12) throw new WireError('the message is shorter than a header');
  const flags = bytes.readUInt16BE(2);
  return {
    id: bytes.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    rcode: flags & 0xf,
  };
}

/** Decodes a whole message; trailing bytes after the counted records are an error. */
export function decodeMessage(bytes: Buffer): DecodedMessage {
  const header = decodeHeader(bytes);
  const reader = new Reader(bytes);
  reader.offset = 12;
  const counts = [4, 6, 8, 10].map((at) => bytes.readUInt16BE(at)) as [number, number, number, number];
  const questions: Question[] = [];
  for (let i = 0; i < counts[0]; i++) {
    const name = reader.name();
    questions.push({ name, type: reader.u16('a question'), class: reader.u16('a question') });
  }
  const section = (count: number) => Array.from({ length: count }, () => readRecord(reader));
  const answers = section(counts[1]);
  const authority = section(counts[2]);
  const additional = section(counts[3]);
  if (reader.offset !== bytes.length) throw new WireError('the message has bytes after its last record');
  return { header, questions, answers, authority, additional };
}
