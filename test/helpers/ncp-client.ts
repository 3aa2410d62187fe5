/**
 * A signing NCP API client for tests, reproducing each way real clients sign (reference
 * cloud-apis.md §3.2 and §6). Each variant builds its wire query its own way and signs its own
 * string; the server must accept them all.
 *
 * | variant           | wire query encoding                                   | signs                          | header |
 * |-------------------|-------------------------------------------------------|--------------------------------|--------|
 * | `java-raw`        | strict RFC 3986 (`%20`, `!'()*` encoded)              | the wire target exactly        | -v2    |
 * |                   | ncloud-sdk-java (`getRawPath()+getRawQuery()`), Go `RequestURI()`, GreedyLabs SDK       |        |
 * | `js-decoded`      | `encodeURIComponent` (`%20`, `!'()*` left raw)        | path + `?k=v&…` unencoded      | -v2    |
 * |                   | community clients copying the JS SDK's signing code under the -v2 name                  |        |
 * | `urlsearchparams` | `URLSearchParams` form encoding (space → `+`)         | path + `?k=v&…` unencoded      | -v2    |
 * |                   | form-encoding clients that sign their params (ncloud-sdk-python via urllib's quote_plus) |        |
 * | `v1-header`       | strict RFC 3986 (`qs`, as the `request` library does) | path + `?k=v&…` unencoded      | -v1    |
 * |                   | the official ncloud-sdk-js (`signature.js`, `x-ncp-apigw-signature-v1`)                  |        |
 *
 * A client that sends a `URLSearchParams` query and signs exactly what it sends (sjk4425
 * ncloud-mcp-server) is `signedHeaders({ variant: 'java-raw', url })` on that URL.
 *
 * `fetch` parses the URL with the WHATWG parser, which may percent-encode a few more characters
 * (e.g. `'` in a query); `ncpFetch` signs the target as it will really go on the wire.
 */
import { createHmac } from 'node:crypto';

export type NcpClientVariant = 'java-raw' | 'js-decoded' | 'urlsearchparams' | 'v1-header';

export const NCP_CLIENT_VARIANTS: readonly NcpClientVariant[] = [
  'java-raw',
  'js-decoded',
  'urlsearchparams',
  'v1-header',
];

export interface NcpCredentials {
  accessKey: string;
  secretKey: string;
}

/** Query parameters in order; `undefined` and `null` values are left out. */
export type NcpQuery =
  Readonly<Record<string, string | number | boolean | null | undefined>> | ReadonlyArray<readonly [string, string]>;

function queryPairs(query: NcpQuery | undefined): Array<[string, string]> {
  if (query === undefined) return [];
  if (Array.isArray(query)) return query.map(([k, v]): [string, string] => [k, v]);
  const pairs: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(
    query as Readonly<Record<string, string | number | boolean | null | undefined>>,
  )) {
    if (v === undefined || v === null) continue;
    pairs.push([k, String(v)]);
  }
  return pairs;
}

/** Strict RFC 3986: everything but `A-Za-z0-9-._~` percent-encoded (Java's raw URI, `qs`). */
export function rfc3986Encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The query string (without `?`) as the variant puts it on the wire. */
export function wireQuery(query: NcpQuery | undefined, variant: NcpClientVariant): string {
  const pairs = queryPairs(query);
  switch (variant) {
    case 'java-raw':
    case 'v1-header':
      return pairs.map(([k, v]) => `${rfc3986Encode(k)}=${rfc3986Encode(v)}`).join('&');
    case 'js-decoded':
      return pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
    case 'urlsearchparams':
      return new URLSearchParams(pairs).toString();
  }
}

/** Path + `?query` (when there are parameters) as the variant sends it. */
export function wireUrl(path: string, query: NcpQuery | undefined, variant: NcpClientVariant): string {
  const q = wireQuery(query, variant);
  return q === '' ? path : `${path}?${q}`;
}

/** The URI the variant signs for a request whose target on the wire is `url` (path + query). */
export function signedUri(url: string, variant: NcpClientVariant): string {
  const q = url.indexOf('?');
  if (variant === 'java-raw' || q === -1 || q === url.length - 1) return url;
  const plusIsSpace = variant === 'urlsearchparams';
  const decode = (part: string): string => decodeURIComponent(plusIsSpace ? part.replaceAll('+', ' ') : part);
  // The client signs its parameters unencoded, `key=value` joined by `&`, in the order it sends them.
  const unencoded = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq === -1 ? decode(pair) : `${decode(pair.slice(0, eq))}=${decode(pair.slice(eq + 1))}`;
    })
    .join('&');
  return `${url.slice(0, q)}?${unencoded}`;
}

export interface SignedHeadersInput extends NcpCredentials {
  method: string;
  /** Path + query exactly as it will be sent on the wire. */
  url: string;
  /** Milliseconds since the epoch; default now. */
  timestamp?: string | number;
  variant: NcpClientVariant;
}

/** The three auth headers that variant sends for `method url`. */
export function signedHeaders(input: SignedHeadersInput): Record<string, string> {
  const timestamp = String(input.timestamp ?? Date.now());
  const message = `${input.method.toUpperCase()} ${signedUri(input.url, input.variant)}\n${timestamp}\n${input.accessKey}`;
  const signature = createHmac('sha256', Buffer.from(input.secretKey, 'utf8')).update(message, 'utf8').digest('base64');
  return {
    'x-ncp-apigw-timestamp': timestamp,
    'x-ncp-iam-access-key': input.accessKey,
    [input.variant === 'v1-header' ? 'x-ncp-apigw-signature-v1' : 'x-ncp-apigw-signature-v2']: signature,
  };
}

export interface NcpFetchOptions {
  method: string;
  /** Path from the host root, e.g. `/api/v2/certificate/getCertificates` (no query). */
  path: string;
  query?: NcpQuery;
  /** A string or bytes are sent as they are; anything else as JSON. */
  body?: unknown;
  credentials: NcpCredentials;
  /** Default `java-raw`. */
  variant?: NcpClientVariant;
  /** Added to the clock for the timestamp header (e.g. -300_001 for a stale request). */
  timestampOffsetMs?: number;
  /** Extra headers, applied after the defaults and the auth headers (so they can override them). */
  headers?: Readonly<Record<string, string>>;
}

export interface NcpResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** The parsed body when the response is JSON and parses. */
  json?: unknown;
  body: Buffer;
}

export async function ncpFetch(baseUrl: string, options: NcpFetchOptions): Promise<NcpResponse> {
  const variant = options.variant ?? 'java-raw';
  const target = new URL(wireUrl(options.path, options.query, variant), baseUrl);
  const sent = target.pathname + target.search;
  const headers: Record<string, string> = {
    accept: 'application/json',
    ...signedHeaders({
      method: options.method,
      url: sent,
      accessKey: options.credentials.accessKey,
      secretKey: options.credentials.secretKey,
      timestamp: Date.now() + (options.timestampOffsetMs ?? 0),
      variant,
    }),
  };
  let body: string | Uint8Array | undefined;
  if (options.body !== undefined) {
    if (typeof options.body === 'string' || options.body instanceof Uint8Array) body = options.body;
    else body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  Object.assign(headers, options.headers);

  const response = await fetch(target, { method: options.method.toUpperCase(), headers, body: body ?? null });
  const bytes = Buffer.from(await response.arrayBuffer());
  const responseHeaders: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    responseHeaders[name] = value;
  });
  const result: NcpResponse = { status: response.status, headers: responseHeaders, body: bytes };
  if ((responseHeaders['content-type'] ?? '').includes('json') && bytes.length > 0) {
    try {
      result.json = JSON.parse(bytes.toString('utf8'));
    } catch {
      // not JSON after all: leave `json` unset, the bytes are in `body`
    }
  }
  return result;
}
