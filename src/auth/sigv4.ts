/**
 * AWS Signature Version 4 (header form), as the ACM face verifies it: pure logic, no I/O besides
 * the `lookupSecret` port the caller passes in. The algorithm is AWS's ("Create a signed AWS API
 * request", docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html):
 *
 *   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n
 *                      SignedHeaders \n hex(SHA256(body))
 *   StringToSign     = "AWS4-HMAC-SHA256" \n X-Amz-Date \n <date>/<region>/<service>/aws4_request \n
 *                      hex(SHA256(CanonicalRequest))
 *   SigningKey       = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
 *   Signature        = hex(HMAC(SigningKey, StringToSign))
 *
 * Verification has two halves, so a caller can refuse a request before reading its body:
 * `checkSigV4Headers` (Authorization syntax, scope, date and skew, session token, access key) and
 * `verifySigV4Body` (the signature over the canonical request, body included). Every refusal
 * names the AWS exception a real endpoint sends for it (`SigV4Failure.type`) and a message in
 * AWS's words where AWS's are known. Nothing here throws on hostile input.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS accepts a request whose X-Amz-Date is at most this far from its clock, both ways. */
export const SIGV4_MAX_SKEW_MS = 15 * 60_000;
/** The payload hash AWS's S3 accepts and every other service refuses: the body must be signed. */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export type SigV4FailureType =
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException'
  | 'InvalidSignatureException'
  | 'UnrecognizedClientException';

export interface SigV4Failure {
  ok: false;
  type: SigV4FailureType;
  message: string;
}

/** What the Authorization header and X-Amz-Date say, checked for syntax, scope and time. */
export interface SigV4Claim {
  accessKey: string;
  /** `YYYYMMDD` of the credential scope. */
  date: string;
  region: string;
  service: string;
  /** Lower-case names, in the order given (which must be sorted). */
  signedHeaders: string[];
  /** 64 lower-case hex digits. */
  signature: string;
  /** `YYYYMMDDTHHMMSSZ`. */
  amzDate: string;
}

/** A request's headers as Node's `rawHeaders`: name, value, name, value, … (case and repeats kept). */
export type RawHeaders = readonly string[];

export interface SigV4Request {
  method: string;
  /** Node `req.url`: path plus raw query, as received. */
  rawUrl: string;
  rawHeaders: RawHeaders;
}

const fail = (type: SigV4FailureType, message: string): SigV4Failure => ({ ok: false, type, message });

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const SIGNATURE = /^[0-9a-f]{64}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
/** Longest Authorization header accepted (a real one is about 250 characters plus signed header names). */
const MAX_AUTHORIZATION_LENGTH = 4096;

/** Every value of a header (case-insensitive name), in order. */
export function headerValues(rawHeaders: RawHeaders, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === name) out.push(rawHeaders[i + 1] as string);
  }
  return out;
}

/** The instant of an X-Amz-Date value, or null when it is not a real `YYYYMMDDTHHMMSSZ` time. */
export function parseAmzDate(value: string): Date | null {
  const m = AMZ_DATE.exec(value);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(t);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return null;
  return back;
}

/** `YYYYMMDDTHHMMSSZ` of an instant (what AWS prints in its skew message). */
export function formatAmzDate(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/**
 * Parses `AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/acm/aws4_request,
 * SignedHeaders=a;b, Signature=hex` (parameters in any order, separated by commas and optional
 * spaces, each exactly once).
 */
export function parseAuthorization(
  value: string,
): { ok: true; credential: string[]; signedHeaders: string[]; signature: string } | SigV4Failure {
  if (value.length > MAX_AUTHORIZATION_LENGTH)
    return fail('IncompleteSignatureException', 'The Authorization header is too long.');
  const space = value.indexOf(' ');
  const algorithm = space === -1 ? value : value.slice(0, space);
  if (algorithm !== SIGV4_ALGORITHM) {
    return fail(
      'IncompleteSignatureException',
      `Unsupported AWS 'algorithm': '${algorithm.slice(0, 64)}'. Only ${SIGV4_ALGORITHM} (Signature Version 4) is accepted.`,
    );
  }
  const params = new Map<string, string>();
  for (const part of value.slice(space + 1).split(',')) {
    const item = part.trim();
    const eq = item.indexOf('=');
    if (eq <= 0)
      return fail(
        'IncompleteSignatureException',
        `Authorization header requires a key=value pair: '${item.slice(0, 64)}'.`,
      );
    const key = item.slice(0, eq);
    if (params.has(key)) return fail('IncompleteSignatureException', `Authorization header repeats '${key}'.`);
    params.set(key, item.slice(eq + 1));
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((k) => !params.has(k));
  if (missing.length > 0) {
    return fail(
      'IncompleteSignatureException',
      `Authorization header requires ${missing.map((k) => `'${k}'`).join(', ')} parameter${missing.length > 1 ? 's' : ''}. Authorization=${SIGV4_ALGORITHM} …`,
    );
  }
  const extra = [...params.keys()].filter((k) => !['Credential', 'SignedHeaders', 'Signature'].includes(k));
  if (extra.length > 0)
    return fail(
      'IncompleteSignatureException',
      `Authorization header has an unknown parameter '${extra[0]?.slice(0, 64)}'.`,
    );
  const signature = params.get('Signature') as string;
  if (!SIGNATURE.test(signature))
    return fail('IncompleteSignatureException', 'The Signature must be 64 lower-case hexadecimal digits.');
  const signedHeaders = (params.get('SignedHeaders') as string).split(';');
  if (signedHeaders.some((h) => !HEADER_NAME.test(h)))
    return fail('IncompleteSignatureException', 'SignedHeaders must be lower-case header names separated by ";".');
  for (let i = 1; i < signedHeaders.length; i++) {
    if ((signedHeaders[i - 1] as string) >= (signedHeaders[i] as string))
      return fail('IncompleteSignatureException', 'SignedHeaders must be sorted and hold each name once.');
  }
  return { ok: true, credential: (params.get('Credential') as string).split('/'), signedHeaders, signature };
}

export interface SigV4HeaderCheck {
  request: SigV4Request;
  now: Date;
  /** The service name the scope must carry (`acm`). */
  service: string;
}

/**
 * The checks that need no body and no secret: one Authorization header, well formed; a credential
 * scope `<key>/<YYYYMMDD>/<region>/<service>/aws4_request` whose date is X-Amz-Date's; X-Amz-Date
 * present once and within 15 minutes; host and x-amz-date signed; no session token.
 */
export function checkSigV4Headers(input: SigV4HeaderCheck): { ok: true; claim: SigV4Claim } | SigV4Failure {
  const { rawHeaders } = input.request;
  const authorizations = headerValues(rawHeaders, 'authorization');
  if (authorizations.length === 0) {
    // AWS answers an unsigned request with this exception and text.
    return fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  if (authorizations.length > 1) return fail('IncompleteSignatureException', 'The Authorization header is repeated.');
  if (headerValues(rawHeaders, 'x-amz-security-token').length > 0) {
    return fail(
      'UnrecognizedClientException',
      'The security token included in the request is invalid: certkeeper has no temporary credentials (X-Amz-Security-Token). Sign with a certkeeper access key and secret, without a session token.',
    );
  }
  const parsed = parseAuthorization(authorizations[0] as string);
  if (!parsed.ok) return parsed;
  const [accessKey, date, region, service, terminator, ...rest] = parsed.credential;
  if (rest.length > 0 || terminator !== 'aws4_request' || !accessKey || !date || region === undefined || !service) {
    return fail(
      'IncompleteSignatureException',
      'Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term.',
    );
  }
  const amzDates = headerValues(rawHeaders, 'x-amz-date');
  if (amzDates.length !== 1) {
    return fail(
      'IncompleteSignatureException',
      amzDates.length === 0
        ? "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        : 'The X-Amz-Date header is repeated.',
    );
  }
  const amzDate = (amzDates[0] as string).trim();
  const at = parseAmzDate(amzDate);
  if (!at)
    return fail(
      'IncompleteSignatureException',
      `X-Amz-Date must be in the ISO8601 basic format YYYYMMDD'T'HHMMSS'Z': '${amzDate.slice(0, 32)}'.`,
    );
  if (date !== amzDate.slice(0, 8)) {
    return fail(
      'InvalidSignatureException',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${date.slice(0, 16)}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    );
  }
  if (service !== input.service) {
    return fail('InvalidSignatureException', `Credential should be scoped to correct service: '${input.service}'.`);
  }
  if (!/^[a-z0-9-]{1,32}$/.test(region)) {
    return fail('InvalidSignatureException', 'Credential should be scoped to a valid region.');
  }
  const skew = at.getTime() - input.now.getTime();
  if (Math.abs(skew) > SIGV4_MAX_SKEW_MS) {
    const now = formatAmzDate(input.now);
    const message =
      skew < 0
        ? `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(new Date(input.now.getTime() - SIGV4_MAX_SKEW_MS))} (${now} - 15 min.)`
        : `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(new Date(input.now.getTime() + SIGV4_MAX_SKEW_MS))} (${now} + 15 min.)`;
    return fail('InvalidSignatureException', message);
  }
  for (const required of ['host', 'x-amz-date']) {
    if (!parsed.signedHeaders.includes(required))
      return fail('InvalidSignatureException', `'${required}' must be a signed header.`);
  }
  for (const name of parsed.signedHeaders) {
    if (headerValues(rawHeaders, name).length === 0)
      return fail('InvalidSignatureException', `The signed header '${name}' is not in the request.`);
  }
  return {
    ok: true,
    claim: {
      accessKey,
      date,
      region,
      service,
      signedHeaders: parsed.signedHeaders,
      signature: parsed.signature,
      amzDate,
    },
  };
}

/** RFC 3986 percent-encoding as SigV4 wants it: every byte but unreserved characters, upper-case hex. */
export function awsUriEncode(text: string, keepSlash = false): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function decodeComponent(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/**
 * Canonical URI and query of a request target. The path is normalised (`.`/`..` segments and
 * repeated slashes removed) and each segment encoded twice, as every service but S3 expects; the
 * query's pairs are decoded, encoded canonically and sorted by name then value. Null when the
 * target's percent-encoding is malformed.
 */
export function canonicalTarget(rawUrl: string): { uri: string; query: string } | null {
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const segments: string[] = [];
  for (const raw of path.split('/')) {
    const segment = decodeComponent(raw);
    if (segment === null) return null;
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = path.length > 1 && path.endsWith('/') && segments.length > 0 ? '/' : '';
  const uri = `/${segments.map((s) => awsUriEncode(awsUriEncode(s))).join('/')}${trailing}`;
  const pairs: Array<[string, string]> = [];
  if (q !== -1 && q + 1 < rawUrl.length) {
    for (const item of rawUrl.slice(q + 1).split('&')) {
      if (item === '') continue;
      const eq = item.indexOf('=');
      const key = decodeComponent(eq === -1 ? item : item.slice(0, eq));
      const value = decodeComponent(eq === -1 ? '' : item.slice(eq + 1));
      if (key === null || value === null) return null;
      pairs.push([awsUriEncode(key), awsUriEncode(value)]);
    }
  }
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return { uri, query: pairs.map(([k, v]) => `${k}=${v}`).join('&') };
}

/** A header value as SigV4 canonicalises it: trimmed, runs of spaces collapsed to one. */
const canonicalValue = (value: string): string => value.trim().replace(/ +/g, ' ');

export function canonicalRequest(
  request: SigV4Request,
  signedHeaders: readonly string[],
  payloadHash: string,
): string | null {
  const target = canonicalTarget(request.rawUrl);
  if (!target) return null;
  const headers = signedHeaders
    .map((name) => `${name}:${headerValues(request.rawHeaders, name).map(canonicalValue).join(',')}\n`)
    .join('');
  return [request.method, target.uri, target.query, headers, signedHeaders.join(';'), payloadHash].join('\n');
}

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

export function stringToSign(
  claim: Pick<SigV4Claim, 'amzDate' | 'date' | 'region' | 'service'>,
  canonical: string,
): string {
  const scope = `${claim.date}/${claim.region}/${claim.service}/aws4_request`;
  return `${SIGV4_ALGORITHM}\n${claim.amzDate}\n${scope}\n${sha256Hex(canonical)}`;
}

/**
 * Derived signing keys by (secret, date, region, service). A key depends on nothing else, so a
 * client's requests of one day share one: four HMACs (a third of a verification's CPU) once a day
 * per client instead of per request, as AWS's own SDKs cache them. In memory only, never printed;
 * bounded (emptied when full). Only keys of known access keys get here (checkSigV4Headers' caller
 * looks the access key up first).
 */
const signingKeys = new Map<string, Buffer>();
const SIGNING_KEYS_MAX = 1024;

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${date}\n${region}\n${service}\n${secret}`;
  const known = signingKeys.get(id);
  if (known !== undefined) return known;
  const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  const key = createHmac('sha256', kService).update('aws4_request').digest();
  if (signingKeys.size >= SIGNING_KEYS_MAX) signingKeys.clear();
  signingKeys.set(id, key);
  return key;
}

/** The hex signature of a request (what a client computes; tests sign with it too). */
export function sigV4Signature(
  request: SigV4Request,
  claim: Pick<SigV4Claim, 'amzDate' | 'date' | 'region' | 'service' | 'signedHeaders'>,
  body: Buffer,
  secret: string,
  bodyHash: string = sha256Hex(body),
): string | null {
  const canonical = canonicalRequest(request, claim.signedHeaders, bodyHash);
  if (canonical === null) return null;
  return createHmac('sha256', signingKey(secret, claim.date, claim.region, claim.service))
    .update(stringToSign(claim, canonical))
    .digest('hex');
}

/**
 * The second half: the payload is signed (an `X-Amz-Content-Sha256` header, when sent, is the
 * body's hash, and never `UNSIGNED-PAYLOAD`), and the signature is the one computed with `secret`
 * (compared in constant time).
 */
export function verifySigV4Body(
  request: SigV4Request,
  claim: SigV4Claim,
  body: Buffer,
  secret: string,
): { ok: true } | SigV4Failure {
  const declared = headerValues(request.rawHeaders, 'x-amz-content-sha256');
  const hash = sha256Hex(body);
  if (declared.length > 0) {
    const value = (declared[0] as string).trim();
    if (declared.length > 1 || value === UNSIGNED_PAYLOAD || value.startsWith('STREAMING-')) {
      return fail(
        'InvalidSignatureException',
        'The payload must be signed: UNSIGNED-PAYLOAD and streaming payloads are refused.',
      );
    }
    if (value.toLowerCase() !== hash)
      return fail(
        'InvalidSignatureException',
        'The provided X-Amz-Content-Sha256 header does not match what was computed.',
      );
  }
  const expected = sigV4Signature(request, claim, body, secret, hash);
  if (expected !== null && timingSafeEqual(Buffer.from(expected, 'utf8'), Buffer.from(claim.signature, 'utf8')))
    return { ok: true };
  return fail(
    'InvalidSignatureException',
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  );
}
