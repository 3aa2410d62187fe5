/**
 * One JSON POST for the webhook and Slack senders: node:http(s) with the guarded lookup (guard.ts),
 * no redirects followed (a 3xx is a failure: the notification goes where the tenant said, not
 * where a server sends it), the whole exchange cut at `timeoutMs`. Any 2xx is success; anything
 * else is a DeliveryError with the status and the start of the answer (one line, 200
 * characters: a hint for the log, not trusted further).
 */
import { isIP } from 'node:net';
import { isForbiddenAddress, isForbiddenHost } from '../core/notifications/address.ts';
import { DeliveryError, type SendOutcome } from '../core/notifications/ports.ts';
import { forbidden, guardedLookup } from './guard.ts';

// From getBuiltinModule, not an ESM import: root-handlers.ts says why (Node's undici at start-up).
const { request: httpRequest } = process.getBuiltinModule('node:http');
const { request: httpsRequest } = process.getBuiltinModule('node:https');

export interface PostOptions {
  signal: AbortSignal;
  timeoutMs: number;
  allowPrivate: boolean;
  /** Extra trusted CA certificates (PEM), for tests' receivers. */
  ca?: string[];
  /** How the URL is named in messages (a Slack URL is a secret: its host only). */
  shownAs: string;
}

export function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: PostOptions,
): Promise<SendOutcome> {
  const target = new URL(url);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  if (!options.allowPrivate && (isForbiddenHost(host) || (isIP(host) && isForbiddenAddress(host))))
    return Promise.reject(forbidden(options.shownAs));
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<SendOutcome>((resolve, reject) => {
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = AbortSignal.any([options.signal, timeout]);
    const req = request(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers },
        lookup: guardedLookup(options.allowPrivate),
        signal,
        ...(options.ca ? { ca: options.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < 4096) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status <= 299) return resolve({ statusCode: status });
          const text = Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 200);
          reject(new DeliveryError(`${options.shownAs} answered HTTP ${status}${text ? `: ${text}` : ''}.`, status));
        });
        res.on('error', (error) => reject(failure(error)));
      },
    );
    const failure = (error: unknown): DeliveryError => {
      if (error instanceof DeliveryError) return error;
      const cause = (error as { cause?: unknown }).cause;
      if (cause instanceof DeliveryError) return cause;
      if (timeout.aborted)
        return new DeliveryError(`${options.shownAs} gave no answer within ${options.timeoutMs / 1000} s.`);
      if (options.signal.aborted) return new DeliveryError('certkeeper is stopping.');
      const code = (error as { code?: string }).code ?? (error as Error).name;
      return new DeliveryError(`${options.shownAs} could not be reached (${code}).`);
    };
    req.on('error', (error) => reject(failure(error)));
    req.end(body);
  });
}
