/**
 * HTTP for the ACME client: node:http / node:https with an optional extra CA to trust (a private
 * CA's or Pebble's directory certificate) on top of Node's bundled roots, a deadline per request,
 * a size cap on answers, and the mapping of every failure to an `IssuerError`.
 *
 * Contract:
 * - `request()` resolves with any HTTP answer (the caller decides what a status means) and rejects
 *   only with an `IssuerError`: `unreachable` (no connection, reset, TLS failure), `timeout` (no
 *   complete answer within the deadline), or `bad_response` (an answer over the size cap). All are
 *   retryable except a server certificate that does not verify against the trusted CAs (a wrong
 *   or missing CA file does not mend itself).
 * - Request bodies are JWS objects; they are never put into an error or event.
 */
import type http from 'node:http';
import type https from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import { IssuerError } from '../core/issuance/issuer.ts';

// From getBuiltinModule, not an ESM import: root-handlers.ts says why (Node's undici at start-up).
const { Agent: HttpAgent, request: httpRequest } = process.getBuiltinModule('node:http');
const { Agent: HttpsAgent, request: httpsRequest } = process.getBuiltinModule('node:https');

export interface TransportOptions {
  /** PEM of extra CA certificates to trust for HTTPS, in addition to Node's bundled roots. */
  readonly caPem?: string;
  /** Deadline for one request, connect to last byte. Default 30 s. */
  readonly timeoutMs?: number;
  /** Largest answer body accepted. Default 4 MiB (certificate chains are a few KiB). */
  readonly maxBodyBytes?: number;
  readonly userAgent?: string;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly url: string;
}

/** OpenSSL / Node codes of a certificate that did not verify (as opposed to a network failure). */
const UNTRUSTED_CERTIFICATE =
  /^(ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_[A-Z_]+)$/;

export class Transport {
  private readonly httpsAgent: https.Agent;
  private readonly httpAgent: http.Agent;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly userAgent: string;

  constructor(options: TransportOptions = {}) {
    // The extra CA goes in through ONE secure context made here, never as the agent's `ca`
    // option: https.Agent puts `ca` into the key it computes for every request and every socket
    // it frees (Agent.getName), so Node's ~140 bundled roots were joined into a ~200 KB string
    // several times per ACME request, and each new connection parsed them all again. With 100
    // orders in flight that was most of the issuance worker's CPU on the event loop, and the
    // list endpoints lost a large share of their throughput (BENCHMARKS.md, issuance load).
    this.httpsAgent = new HttpsAgent({
      keepAlive: true,
      ...(options.caPem === undefined
        ? {}
        : { secureContext: createSecureContext({ ca: [...rootCertificates, options.caPem] }) }),
    });
    this.httpAgent = new HttpAgent({ keepAlive: true });
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024;
    this.userAgent = options.userAgent ?? 'certkeeper-acme/1';
  }

  /** Closes idle keep-alive connections (for tests and shutdown). */
  close(): void {
    this.httpsAgent.destroy();
    this.httpAgent.destroy();
  }

  request(
    method: 'GET' | 'HEAD' | 'POST',
    url: string,
    options: { body?: string; contentType?: string; accept?: string } = {},
  ): Promise<HttpAnswer> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return Promise.reject(
        new IssuerError('bad_response', `not a URL: ${JSON.stringify(url.slice(0, 200))}`, { retryable: false }),
      );
    }
    if (target.protocol !== 'https:' && target.protocol !== 'http:') {
      return Promise.reject(
        new IssuerError('bad_response', `not an http(s) URL: ${target.protocol}`, { retryable: false, url }),
      );
    }
    const secure = target.protocol === 'https:';
    const headers: Record<string, string> = { 'user-agent': this.userAgent };
    if (options.accept) headers.accept = options.accept;
    if (options.body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/jose+json';
      headers['content-length'] = String(Buffer.byteLength(options.body));
    }
    return new Promise<HttpAnswer>((resolve, reject) => {
      let settled = false;
      const fail = (error: IssuerError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(error);
      };
      const req = (secure ? httpsRequest : httpRequest)(target, {
        method,
        headers,
        agent: secure ? this.httpsAgent : this.httpAgent,
      });
      const timer = setTimeout(
        () =>
          fail(
            new IssuerError('timeout', `${method} ${url}: no answer within ${this.timeoutMs} ms`, {
              retryable: true,
              url,
            }),
          ),
        this.timeoutMs,
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        const code = error.code ?? 'error';
        if (UNTRUSTED_CERTIFICATE.test(code)) {
          // The CA answered, but with a certificate we do not trust: configuration, not weather.
          fail(
            new IssuerError(
              'unreachable',
              `${method} ${url}: the server's TLS certificate is not trusted (${code}); is the CA file to trust right?`,
              { retryable: false, url, cause: error },
            ),
          );
          return;
        }
        fail(new IssuerError('unreachable', `${method} ${url}: ${code}`, { retryable: true, url, cause: error }));
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.maxBodyBytes) {
            fail(
              new IssuerError('bad_response', `${method} ${url}: answer larger than ${this.maxBodyBytes} bytes`, {
                retryable: true,
                url,
                httpStatus: res.statusCode,
              }),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (error: NodeJS.ErrnoException) =>
          fail(
            new IssuerError('unreachable', `${method} ${url}: answer cut off (${error.code ?? 'error'})`, {
              retryable: true,
              url,
              cause: error,
            }),
          ),
        );
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), url });
        });
      });
      req.end(options.body);
    });
  }
}

/**
 * Seconds from `Retry-After` (RFC 9110 10.2.3: delay-seconds or an HTTP-date), rounded up and
 * never negative; undefined when absent or unreadable.
 */
export function retryAfterSeconds(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  // HTTP-date in any of its three forms starts with a day name; Date.parse alone would read '-5'
  // as the year -5.
  if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** Links of a `Link` header (RFC 8288) with the given rel, resolved against `base`. */
export function links(header: string | string[] | undefined, rel: string, base: string): string[] {
  if (header === undefined) return [];
  const values = Array.isArray(header) ? header : [header];
  const out: string[] = [];
  for (const value of values) {
    // Split on commas outside <…> and quotes.
    for (const part of value.match(/<[^>]*>(?:\s*;\s*[^,;=]+(?:=(?:"[^"]*"|[^,;]*))?)*/g) ?? []) {
      const target = /^<([^>]*)>/.exec(part)?.[1];
      if (target === undefined) continue;
      const rels = /;\s*rel\s*=\s*(?:"([^"]*)"|([^;,\s]+))/i.exec(part);
      const relValue = rels?.[1] ?? rels?.[2] ?? '';
      if (!relValue.toLowerCase().split(/\s+/).includes(rel)) continue;
      try {
        out.push(new URL(target, base).toString());
      } catch {
        // An unparsable link is ignored, as RFC 8288 allows.
      }
    }
  }
  return out;
}
