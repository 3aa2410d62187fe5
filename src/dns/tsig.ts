/**
 * TSIG (RFC 8945): signing requests and verifying responses with a shared HMAC key.
 *
 * The key is configured as one string `algorithm:name:base64secret` (CERTKEEPER_DCV_TSIG_KEY),
 * e.g. `hmac-sha256:certkeeper-dcv:3q2+7w==…` (what `tsig-keygen -a hmac-sha256 certkeeper-dcv`
 * prints, in one line). The secret lives in a KeyObject from the moment it is parsed: it never
 * appears in an error message, `inspect()` or JSON.
 *
 * What is MACed (RFC 8945 4.3.3, 5.3):
 *   request:  message (without the TSIG RR) ‖ TSIG variables
 *   response: u16 request-MAC length ‖ request MAC ‖ message (TSIG RR removed, ARCOUNT − 1, ID set
 *             back to the TSIG's Original ID) ‖ TSIG variables
 *   TSIG variables: key name (canonical wire form) ‖ class ANY ‖ TTL 0 ‖ algorithm name
 *             (canonical) ‖ time signed (u48) ‖ fudge ‖ error ‖ other length ‖ other data
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { DcvError } from '../core/issuance/dcv.ts';
import {
  CLASS,
  TYPE,
  WireError,
  canonicalName,
  encodeName,
  encodeRecord,
  rcodeName,
  tsigRdata,
  writeUint48,
  type DecodedMessage,
  type TsigData,
} from './wire.ts';

/** The algorithms certkeeper signs with, by their TSIG names; the value is node:crypto's digest. */
const ALGORITHMS = {
  'hmac-sha256': 'sha256',
  'hmac-sha384': 'sha384',
  'hmac-sha512': 'sha512',
  'hmac-sha224': 'sha224',
  'hmac-sha1': 'sha1',
} as const;

export type TsigAlgorithm = keyof typeof ALGORITHMS;

export interface TsigKey {
  algorithm: TsigAlgorithm;
  /** Canonical (lower case, no trailing dot). */
  name: string;
  secret: KeyObject;
}

/** Seconds of clock difference either side accepted in a response (RFC 8945 recommends 300). */
export const DEFAULT_FUDGE = 300;

/**
 * Parses `algorithm:name:base64secret`. Every error says which part is wrong and never repeats
 * the secret (nor the whole string, which holds it).
 */
export function parseTsigKey(text: string): TsigKey {
  const fail = (why: string) =>
    new DcvError('config', `The TSIG key must be "algorithm:name:base64secret" (e.g. hmac-sha256:…): ${why}.`);
  const first = text.indexOf(':');
  const second = first < 0 ? -1 : text.indexOf(':', first + 1);
  if (first < 0 || second < 0) throw fail('it does not have three parts separated by ":"');
  const algorithmText = canonicalName(text.slice(0, first).trim());
  const nameText = text.slice(first + 1, second).trim();
  const secretText = text.slice(second + 1).trim();
  if (!(algorithmText in ALGORITHMS))
    throw fail(
      `the algorithm "${algorithmText.slice(0, 40)}" is not one of ${Object.keys(ALGORITHMS).join(', ')}` +
        (algorithmText.startsWith('hmac-md5') ? ' (HMAC-MD5 is not supported)' : ''),
    );
  if (nameText === '' || nameText === '.') throw fail('the key name is empty');
  try {
    encodeName(nameText);
  } catch (error) {
    throw fail(`the key name is not a domain name (${(error as WireError).message})`);
  }
  const secret = Buffer.from(secretText, 'base64');
  // Node's base64 decoder skips junk; accept only text that is exactly the encoding of its bytes.
  const unpadded = (s: string) => s.replace(/=+$/, '');
  if (secret.length === 0 || unpadded(secret.toString('base64')) !== unpadded(secretText))
    throw fail('the secret is not non-empty base64');
  return { algorithm: algorithmText as TsigAlgorithm, name: canonicalName(nameText), secret: createSecretKey(secret) };
}

/** Full MAC length of an algorithm, in octets. */
function macLength(key: TsigKey): number {
  return createHmac(ALGORITHMS[key.algorithm], key.secret).digest().length;
}

/** The TSIG variables (RFC 8945 4.3.3) of a TSIG record with these fields. */
export function tsigVariables(keyName: string, tsig: Omit<TsigData, 'mac' | 'originalId'>): Buffer {
  const classTtl = Buffer.alloc(6);
  classTtl.writeUInt16BE(CLASS.ANY, 0);
  classTtl.writeUInt32BE(0, 2);
  const timers = Buffer.alloc(8);
  writeUint48(timers, 0, tsig.timeSigned);
  timers.writeUInt16BE(tsig.fudge, 6);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(tsig.error, 0);
  tail.writeUInt16BE(tsig.other.length, 2);
  return Buffer.concat([
    encodeName(canonicalName(keyName)),
    classTtl,
    encodeName(canonicalName(tsig.algorithm)),
    timers,
    tail,
    tsig.other,
  ]);
}

export function computeMac(key: TsigKey, parts: Buffer[]): Buffer {
  const hmac = createHmac(ALGORITHMS[key.algorithm], key.secret);
  for (const part of parts) hmac.update(part);
  return hmac.digest();
}

/**
 * Signs an unsigned message (its ARCOUNT not counting the TSIG RR yet): returns the message with
 * the TSIG RR appended and ARCOUNT + 1, and the MAC (needed to verify the response).
 */
export function signMessage(
  message: Buffer,
  key: TsigKey,
  timeSigned: number,
  fudge = DEFAULT_FUDGE,
): { signed: Buffer; mac: Buffer } {
  const fields = { algorithm: key.algorithm, timeSigned, fudge, error: 0, other: Buffer.alloc(0) };
  const mac = computeMac(key, [message, tsigVariables(key.name, fields)]);
  const record = encodeRecord({
    name: key.name,
    type: TYPE.TSIG,
    class: CLASS.ANY,
    ttl: 0,
    rdata: tsigRdata({ ...fields, mac, originalId: message.readUInt16BE(0) }),
  });
  const signed = Buffer.concat([message, record]);
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return { signed, mac };
}

/**
 * The MAC input of a received signed message: its bytes up to the TSIG RR, with ARCOUNT − 1 and
 * the Original ID, after `requestMac` (length-prefixed) when it answers a signed request.
 */
export function receivedMacInput(bytes: Buffer, message: DecodedMessage, requestMac: Buffer | null): Buffer[] {
  const record = message.additional.at(-1);
  if (!record || record.data.kind !== 'tsig') throw new WireError('the message is not signed');
  const body = Buffer.from(bytes.subarray(0, record.start));
  body.writeUInt16BE(record.data.tsig.originalId, 0);
  body.writeUInt16BE(bytes.readUInt16BE(10) - 1, 10);
  const vars = tsigVariables(record.name, record.data.tsig);
  if (requestMac === null) return [body, vars];
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(requestMac.length, 0);
  return [prefix, requestMac, body, vars];
}

/**
 * Verifies the TSIG of a response to a request signed with `requestMac` (RFC 8945 5.3.2). Throws
 * a `DcvError('tsig')` when the server reports a TSIG error (the request's signature was not
 * accepted), or when the response is unsigned, signed with another key, carries a wrong or too
 * short MAC, or was signed outside the fudge window of `nowSeconds`.
 */
export function verifyResponse(
  bytes: Buffer,
  message: DecodedMessage,
  key: TsigKey,
  requestMac: Buffer,
  nowSeconds: number,
  server: string,
): void {
  const fail = (why: string, tsigError?: string) =>
    new DcvError('tsig', `The DNS server ${server} ${why}.`, {
      rcode: rcodeName(message.header.rcode),
      ...(tsigError ? { tsigError } : {}),
    });
  const record = message.additional.at(-1);
  if (!record || record.data.kind !== 'tsig') {
    const rcode = rcodeName(message.header.rcode);
    throw fail(`answered ${rcode} without a TSIG signature (is the key "${key.name}" configured there?)`);
  }
  // A TSIG record anywhere but last is malformed (RFC 8945 5.1).
  if (message.additional.slice(0, -1).some((r) => r.type === TYPE.TSIG))
    throw new DcvError('malformed', `The DNS server ${server} answered with a TSIG record that is not the last one.`);
  const tsig = record.data.tsig;
  if (tsig.error !== 0) {
    const name = rcodeName(tsig.error);
    const hint =
      name === 'BADTIME'
        ? 'the clocks of certkeeper and the server differ by more than the fudge'
        : name === 'BADKEY'
          ? `it does not know the key "${key.name}" with algorithm ${key.algorithm}`
          : name === 'BADSIG'
            ? `the signature made with the key "${key.name}" does not verify: the secret differs`
            : 'the signature was not accepted';
    throw fail(`rejected the request's TSIG signature with ${name}: ${hint}`, name);
  }
  if (canonicalName(record.name) !== key.name || canonicalName(tsig.algorithm) !== key.algorithm)
    throw fail(
      `signed its answer with another key ("${canonicalName(record.name)}", ${canonicalName(tsig.algorithm)})`,
    );
  const full = macLength(key);
  // RFC 8945 5.2.2.1: a truncated MAC is accepted down to max(10, half the length).
  if (tsig.mac.length > full || tsig.mac.length < Math.max(10, Math.ceil(full / 2)))
    throw fail('signed its answer with a MAC of a wrong length', 'BADTRUNC');
  const expected = computeMac(key, receivedMacInput(bytes, message, requestMac)).subarray(0, tsig.mac.length);
  if (!timingSafeEqual(expected, tsig.mac)) throw fail('signed its answer with a MAC that does not verify', 'BADSIG');
  if (Math.abs(nowSeconds - tsig.timeSigned) > tsig.fudge)
    throw fail('signed its answer at a time outside the fudge window: check both clocks', 'BADTIME');
}
