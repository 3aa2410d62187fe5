/**
 * URLs and hosts that users type for the server to call (deploy webhooks, notification channels)
 * or that the server listens on: the checks every such URL gets, written once. What each caller
 * then allows (http:// only to loopback; no private addresses) stays with the caller.
 */
import { isIP } from 'node:net';
import { AppError } from './errors.ts';

/** Whether `host` (a name, an IPv4/IPv6 literal, IPv6 with or without brackets) is this machine only. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (host.toLowerCase() === 'localhost') return true;
  if (isIP(host) === 4) return host.split('.')[0] === '127';
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * `text` as an absolute http(s) URL without credentials or fragment, or `invalid_argument` on
 * `field` saying which rule it broke (a user name or password would be stored in clear; a fragment
 * is never sent). `missing` is the message for an absent or empty value.
 */
export function parseHttpUrl(text: unknown, field: string, maxLength: number, missing: string): URL {
  const invalid = (message: string) => new AppError('invalid_argument', message, { field });
  if (typeof text !== 'string' || text === '') throw invalid(missing);
  if (text.length > maxLength) throw invalid(`The URL must be at most ${maxLength} characters.`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('The URL is not an absolute URL (https://host/path).');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid('The URL must be https:// or http://.');
  if (url.username !== '' || url.password !== '')
    throw invalid('The URL may not carry a user name or password: it would be stored in clear.');
  if (url.hash !== '') throw invalid('The URL may not have a fragment (#…).');
  return url;
}
