/**
 * Checks what a tenant asks for (channels, rules, thresholds) and turns it into what is stored.
 * Every refusal is `invalid_argument` naming the input (`field`), thrown before anything is
 * written. The address rule (no loopback or link-local unless the operator allows) is address.ts.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { AppError } from '../../domain/errors.ts';
import { parseHttpUrl } from '../../domain/url.ts';
import { isForbiddenHost } from './address.ts';
import {
  CHANNEL_KINDS,
  EVENT_TYPES,
  isEventType,
  THRESHOLD_MAX_DAYS,
  THRESHOLD_MIN_DAYS,
  THRESHOLDS_MAX,
  type ChannelConfig,
  type ChannelSecrets,
  type EventType,
} from './model.ts';

const URL_MAX = 2048;
const NAME_MAX = 64;
const PATTERN_MAX = 253;
const RECIPIENTS_MAX = 20;

export type ChannelInput =
  | { kind: 'webhook'; name: string; url: string }
  | { kind: 'slack'; name: string; url: string }
  | {
      kind: 'email';
      name: string;
      host: string;
      port?: number;
      security?: 'starttls' | 'tls';
      username?: string | null;
      password?: string | null;
      from: string;
      to: string[] | string;
    };

export interface RuleInput {
  name: string;
  events: string[] | string;
  certificatePattern?: string | null;
  /** Channel names. */
  channels: string[] | string;
}

export interface SpecOptions {
  /** The operator's switch: channels may reach loopback and link-local addresses. */
  allowPrivateAddresses: boolean;
}

const invalid = (field: string, message: string): AppError => new AppError('invalid_argument', message, { field });

const list = (value: string[] | string | undefined): string[] =>
  (Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [])
    .map((v) => String(v).trim())
    .filter((v) => v !== '');

export function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.length > NAME_MAX)
    throw invalid(
      'name',
      `The ${what} name must be 1 to ${NAME_MAX} letters, digits, '.', '_' or '-', starting with a letter or digit.`,
    );
  return name;
}

function httpUrl(text: unknown, options: SpecOptions): URL {
  const url = parseHttpUrl(text, 'url', URL_MAX, 'A URL is required (https://host/path).');
  if (!options.allowPrivateAddresses && isForbiddenHost(url.hostname))
    throw invalid(
      'url',
      'The URL points at a loopback or link-local address, which channels may not reach (the operator can allow it with CERTKEEPER_NOTIFY_ALLOW_PRIVATE=1).',
    );
  return url;
}

/** An address without display name: `local@domain`, no spaces, quotes, angle brackets, commas or line breaks. */
export function checkEmailAddress(value: unknown, field: string): string {
  const text = typeof value === 'string' ? value.trim() : '';
  const at = text.lastIndexOf('@');
  const local = text.slice(0, at);
  const domain = text.slice(at + 1);
  const ok =
    text.length <= 254 &&
    at > 0 &&
    local.length <= 64 &&
    /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/.test(local) &&
    /^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$|^localhost$/.test(domain);
  if (!ok) throw invalid(field, `${JSON.stringify(text.slice(0, 80))} is not an e-mail address (name@example.com).`);
  return text;
}

function checkHost(value: unknown, options: SpecOptions): string {
  const host = typeof value === 'string' ? value.trim() : '';
  const hostname = /^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
  if (host === '' || host.length > 253 || (!isIP(host) && !hostname.test(host)))
    throw invalid('host', 'The SMTP host must be a host name or an IP address.');
  if (!options.allowPrivateAddresses && isForbiddenHost(host))
    throw invalid(
      'host',
      'The SMTP host is a loopback or link-local address, which channels may not reach (the operator can allow it with CERTKEEPER_NOTIFY_ALLOW_PRIVATE=1).',
    );
  return host;
}

/** The channel's shown settings and its secrets (a webhook's signing secret is made here, random). */
export function channelSpec(
  input: ChannelInput,
  options: SpecOptions,
): { name: string; config: ChannelConfig; secrets: ChannelSecrets } {
  if (typeof input !== 'object' || input === null) throw invalid('kind', 'A channel is required.');
  const name = checkName(input.name, 'channel');
  switch (input.kind) {
    case 'webhook': {
      const url = httpUrl(input.url, options);
      return {
        name,
        config: { kind: 'webhook', url: url.toString() },
        secrets: { kind: 'webhook', secret: randomBytes(32).toString('base64url') },
      };
    }
    case 'slack': {
      const url = httpUrl(input.url, options);
      return { name, config: { kind: 'slack', host: url.host }, secrets: { kind: 'slack', url: url.toString() } };
    }
    case 'email': {
      const host = checkHost(input.host, options);
      const security = input.security ?? 'starttls';
      if (security !== 'starttls' && security !== 'tls')
        throw invalid('security', 'The SMTP security must be starttls or tls.');
      const port = input.port ?? (security === 'tls' ? 465 : 587);
      if (!Number.isInteger(port) || port < 1 || port > 65_535)
        throw invalid('port', 'The SMTP port must be an integer from 1 to 65535.');
      const username = input.username == null || input.username === '' ? null : String(input.username);
      if (username !== null && (username.length > 256 || /[\r\n\0]/.test(username)))
        throw invalid('username', 'The SMTP user name must be at most 256 characters, on one line.');
      const password = input.password == null || input.password === '' ? null : String(input.password);
      if ((username === null) !== (password === null))
        throw invalid('password', 'SMTP authentication needs both a user name and a password (or neither).');
      if (password !== null && password.length > 1024) throw invalid('password', 'The SMTP password is too long.');
      const from = checkEmailAddress(input.from, 'from');
      const to = list(input.to).map((address) => checkEmailAddress(address, 'to'));
      if (to.length === 0) throw invalid('to', 'At least one recipient is required.');
      if (to.length > RECIPIENTS_MAX) throw invalid('to', `At most ${RECIPIENTS_MAX} recipients.`);
      return {
        name,
        config: { kind: 'email', host, port, security, username, from, to: [...new Set(to)] },
        secrets: { kind: 'email', password },
      };
    }
    default:
      throw invalid('kind', `The channel kind must be one of ${CHANNEL_KINDS.join(', ')}.`);
  }
}

export function ruleSpec(input: RuleInput): {
  name: string;
  events: EventType[];
  certificatePattern: string | null;
  channels: string[];
} {
  const name = checkName(input.name, 'rule');
  const events = list(input.events);
  if (events.length === 0) throw invalid('events', `Name at least one event: ${EVENT_TYPES.join(', ')}.`);
  for (const event of events)
    if (!isEventType(event))
      throw invalid(
        'events',
        `Unknown event ${JSON.stringify(event.slice(0, 60))}; the events are ${EVENT_TYPES.join(', ')}.`,
      );
  const pattern =
    input.certificatePattern == null || input.certificatePattern === '' ? null : String(input.certificatePattern);
  if (pattern !== null && (pattern.length > PATTERN_MAX || !/^[A-Za-z0-9*._-]+$/.test(pattern)))
    throw invalid(
      'certificatePattern',
      `The certificate pattern is a name or DNS name with * wildcards (letters, digits, '.', '_', '-', '*'), at most ${PATTERN_MAX} characters.`,
    );
  const channels = [...new Set(list(input.channels))];
  if (channels.length === 0) throw invalid('channels', 'Name at least one channel.');
  return { name, events: [...new Set(events)] as EventType[], certificatePattern: pattern, channels };
}

export function thresholdsSpec(value: unknown): number[] {
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : null;
  if (!items || items.length === 0 || items.length > THRESHOLDS_MAX)
    throw invalid('thresholds', `Give 1 to ${THRESHOLDS_MAX} thresholds in days, e.g. 30,14,7,3,1.`);
  const days = items.map((item) => (typeof item === 'string' && /^\s*\d{1,4}\s*$/.test(item) ? Number(item) : item));
  for (const day of days)
    if (!Number.isInteger(day) || (day as number) < THRESHOLD_MIN_DAYS || (day as number) > THRESHOLD_MAX_DAYS)
      throw invalid(
        'thresholds',
        `Each threshold must be a whole number of days from ${THRESHOLD_MIN_DAYS} to ${THRESHOLD_MAX_DAYS}.`,
      );
  return [...new Set(days as number[])].sort((a, b) => b - a);
}
