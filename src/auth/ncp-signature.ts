/**
 * NCP API Gateway signature v2 (docs/compat/ncp.md, reference cloud-apis.md §3 and §6): the signing
 * function and the verifier the NCP faces (Certificate Manager v1/v2, Global Edge) put in front of
 * every route. Pure: no I/O besides the `lookupSecret` port the caller passes in.
 *
 *   message   = METHOD + " " + URI + "\n" + TIMESTAMP + "\n" + ACCESS_KEY
 *   signature = Base64(HMAC-SHA256(key = secretKey (UTF-8), data = message (UTF-8)))
 *
 * Verification, in this order (the first failing step decides the answer):
 *   1. headers      `x-ncp-apigw-timestamp`, `x-ncp-iam-access-key` and a signature header
 *                   (`x-ncp-apigw-signature-v2`, or its alias `-v1`) each present exactly once,
 *                   non-empty, at most 128 characters                         → 'missing_headers'
 *   2. timestamp    1 to 15 ASCII digits (milliseconds since the epoch)       → 'malformed_timestamp'
 *   3. clock skew   |now − timestamp| ≤ 300,000 ms (exactly 5 min is still accepted)
 *                                                                             → 'stale_timestamp'
 *   4. access key   `lookupSecret` returns null for unknown and revoked keys alike
 *                                                                             → 'unknown_access_key'
 *   5. signature    canonical standard Base64 of 32 bytes that matches one of the signed-URI
 *                   candidates (see `ncpSignedUriCandidates`) in constant time → 'bad_signature'
 *
 * Nothing here throws on hostile input; only a rejection of `lookupSecret` (store down) propagates,
 * because that is not an authentication failure.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

export const NCP_AUTH_FAILURES = [
  'missing_headers',
  'malformed_timestamp',
  'stale_timestamp',
  'unknown_access_key',
  'bad_signature',
] as const;

export type NcpAuthFailure = (typeof NCP_AUTH_FAILURES)[number];

/**
 * The `details` text of the gateway's 401 body (`{"error":{"errorCode":"200","message":
 * "Authentication Failed","details":…}}`) for each failure. The first and fourth are the real
 * gateway texts (reference §2.3); the gateway's texts for the others are unknown, so these are ours.
 */
export const NCP_AUTH_DETAILS: Readonly<Record<NcpAuthFailure, string>> = {
  missing_headers: 'Authentication information are missing.',
  malformed_timestamp: 'The timestamp must be the time in milliseconds since 1970-01-01 00:00:00 UTC, in digits.',
  stale_timestamp: 'The timestamp is more than 5 minutes from the server time.',
  unknown_access_key: 'Invalid authentication information.',
  bad_signature: 'The signature does not match the request.',
};

export const NCP_TIMESTAMP_HEADER = 'x-ncp-apigw-timestamp';
export const NCP_ACCESS_KEY_HEADER = 'x-ncp-iam-access-key';
export const NCP_SIGNATURE_V2_HEADER = 'x-ncp-apigw-signature-v2';
/** The official Go, JS and Python SDKs send the same HMAC-SHA256 signature under this name. */
export const NCP_SIGNATURE_V1_HEADER = 'x-ncp-apigw-signature-v1';

/** Largest accepted skew between the request timestamp and the server clock, both ways, inclusive. */
export const NCP_TIMESTAMP_TOLERANCE_MS = 300_000;
/** Largest accepted request target (`req.url`), in characters; longer is 'bad_signature' unhashed. */
export const NCP_MAX_URI_LENGTH = 8192;
/** Largest accepted value of each auth header, in characters; longer is 'missing_headers'. */
export const NCP_MAX_AUTH_HEADER_LENGTH = 128;

const MAX_METHOD_LENGTH = 32;
const TIMESTAMP_PATTERN = /^[0-9]{1,15}$/; // 15 digits stay below 2^53, so Number() is exact
const SIGNATURE_BYTES = 32; // HMAC-SHA256
const SIGNATURE_BASE64_LENGTH = 44;

export interface NcpSignatureInput {
  method: string;
  /** Path from the host root plus `?query` when there is one, exactly as signed. */
  uri: string;
  timestamp: string;
  accessKey: string;
  /** The secret key's text, or its UTF-8 bytes as a secret KeyObject (no conversion per HMAC). */
  secretKey: string | KeyObject;
}

function signatureBytes(input: NcpSignatureInput): Buffer {
  const message = `${input.method.toUpperCase()} ${input.uri}\n${input.timestamp}\n${input.accessKey}`;
  const key = typeof input.secretKey === 'string' ? Buffer.from(input.secretKey, 'utf8') : input.secretKey;
  return createHmac('sha256', key).update(message, 'utf8').digest();
}

/** Base64(HMAC-SHA256(secretKey, `${METHOD} ${uri}\n${timestamp}\n${accessKey}`)); the method is upper-cased. */
export function ncpSignature(input: NcpSignatureInput): string {
  return signatureBytes(input).toString('base64');
}

/** Request headers as Node gives them (`req.headers`, or `req.headersDistinct`). */
export type NcpRequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

export type NcpAuthHeadersResult =
  { ok: true; timestamp: string; accessKey: string; signature: string } | { ok: false; failure: NcpAuthFailure };

type HeaderRead = { kind: 'absent' } | { kind: 'value'; value: string } | { kind: 'unusable' };

/**
 * One header by lower-case name, matched case-insensitively. A header given twice (an array of two
 * or more values, two keys differing only in case, or Node's `a, b` join of a repeated header: no
 * auth header value legitimately contains a comma), empty, or over the length cap is unusable.
 * A one-element array (`req.headersDistinct`) is that value.
 */
function readHeader(headers: NcpRequestHeaders, name: string): HeaderRead {
  let found: string | readonly string[] | undefined;
  let count = 0;
  for (const key of Object.keys(headers)) {
    if (key.length !== name.length || key.toLowerCase() !== name) continue;
    const value = headers[key];
    if (value === undefined) continue;
    found = value;
    count += 1;
  }
  if (count === 0 || found === undefined) return { kind: 'absent' };
  if (count > 1) return { kind: 'unusable' };
  let value: string;
  if (typeof found === 'string') value = found;
  else if (found.length === 1 && typeof found[0] === 'string') value = found[0];
  else if (found.length === 0) return { kind: 'absent' };
  else return { kind: 'unusable' };
  if (value.length === 0 || value.length > NCP_MAX_AUTH_HEADER_LENGTH || value.includes(','))
    return { kind: 'unusable' };
  return { kind: 'value', value };
}

/**
 * Reads the three auth headers. The signature comes from `x-ncp-apigw-signature-v2` when that
 * header is present at all (usable or not); `x-ncp-apigw-signature-v1` is read only when `-v2` is
 * absent. `x-ncp-apigw-api-key` is ignored. Absent, repeated, empty or over-long → 'missing_headers'.
 */
export function readNcpAuthHeaders(headers: NcpRequestHeaders): NcpAuthHeadersResult {
  const timestamp = readHeader(headers, NCP_TIMESTAMP_HEADER);
  const accessKey = readHeader(headers, NCP_ACCESS_KEY_HEADER);
  let signature = readHeader(headers, NCP_SIGNATURE_V2_HEADER);
  if (signature.kind === 'absent') signature = readHeader(headers, NCP_SIGNATURE_V1_HEADER);
  if (timestamp.kind !== 'value' || accessKey.kind !== 'value' || signature.kind !== 'value')
    return { ok: false, failure: 'missing_headers' };
  return { ok: true, timestamp: timestamp.value, accessKey: accessKey.value, signature: signature.value };
}

function tryDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null; // malformed percent-encoding: no such candidate
  }
}

/**
 * The URIs a client may have signed for a request whose target arrived as `rawUrl` (Node
 * `req.url`), de-duplicated, in this order:
 *   (a) `rawUrl` exactly as received (Java SDK, Go `RequestURI()`, clients that sign what they send);
 *   (b) the path as received + `?` + the whole query percent-decoded (JS and Python SDKs sign
 *       unencoded `key=value&…`, so `%26`/`%3D` inside values become `&`/`=`);
 *   (c) as (b), but `+` in the query read as a space first (form-encoding clients: URLSearchParams,
 *       Python requests).
 * The path is never decoded. A query whose percent-encoding is malformed yields only (a).
 */
export function ncpSignedUriCandidates(rawUrl: string): string[] {
  const candidates = [rawUrl];
  const q = rawUrl.indexOf('?');
  if (q === -1) return candidates;
  const head = rawUrl.slice(0, q + 1);
  const query = rawUrl.slice(q + 1);
  for (const decoded of [tryDecode(query), tryDecode(query.replaceAll('+', ' '))]) {
    if (decoded === null) continue;
    const candidate = head + decoded;
    if (!candidates.includes(candidate)) candidates.push(candidate);
  }
  return candidates;
}

/** The 32 signature bytes if `signature` is canonical standard Base64 of exactly 32 bytes, else null. */
function decodeSignature(signature: string): Buffer | null {
  if (signature.length !== SIGNATURE_BASE64_LENGTH) return null;
  const bytes = Buffer.from(signature, 'base64');
  // Buffer's decoder skips junk characters and accepts base64url; the round trip rejects both, and
  // non-zero padding bits, so exactly one text is accepted for each signature.
  if (bytes.length !== SIGNATURE_BYTES || bytes.toString('base64') !== signature) return null;
  return bytes;
}

export interface NcpVerifyInput {
  /** The request method as received (Node gives it upper-case). */
  method: string;
  /** Node `req.url` as received: path + raw query. */
  rawUrl: string;
  headers: NcpRequestHeaders;
  now: Date;
  /**
   * The secret of an active access key (text, or its UTF-8 bytes as a secret KeyObject); null for
   * an unknown or revoked key (not distinguished).
   */
  lookupSecret: (accessKey: string) => Promise<string | KeyObject | null>;
}

export type NcpVerifyResult = { ok: true; accessKey: string } | { ok: false; failure: NcpAuthFailure };

export async function verifyNcpRequest(input: NcpVerifyInput): Promise<NcpVerifyResult> {
  const auth = readNcpAuthHeaders(input.headers);
  if (!auth.ok) return auth;

  if (!TIMESTAMP_PATTERN.test(auth.timestamp)) return { ok: false, failure: 'malformed_timestamp' };
  const skew = input.now.getTime() - Number(auth.timestamp);
  if (!(Math.abs(skew) <= NCP_TIMESTAMP_TOLERANCE_MS)) return { ok: false, failure: 'stale_timestamp' };

  const secret = await input.lookupSecret(auth.accessKey);
  if (secret === null) return { ok: false, failure: 'unknown_access_key' };
  // One key object for every candidate below (each HMAC would otherwise convert the text again).
  const secretKey = typeof secret === 'string' ? createSecretKey(Buffer.from(secret, 'utf8')) : secret;

  const provided = decodeSignature(auth.signature);
  if (provided === null || input.rawUrl.length > NCP_MAX_URI_LENGTH || input.method.length > MAX_METHOD_LENGTH) {
    return { ok: false, failure: 'bad_signature' };
  }
  let matched = false;
  for (const uri of ncpSignedUriCandidates(input.rawUrl)) {
    const expected = signatureBytes({
      method: input.method,
      uri,
      timestamp: auth.timestamp,
      accessKey: auth.accessKey,
      secretKey,
    });
    // Every candidate is compared (no early exit), each in constant time on 32-byte buffers.
    if (timingSafeEqual(expected, provided)) matched = true;
  }
  return matched ? { ok: true, accessKey: auth.accessKey } : { ok: false, failure: 'bad_signature' };
}
