/**
 * Notifications: the events certkeeper tells people about, the channels it tells them through,
 * and the rules that connect the two (docs/notifications.md). Types and pure rules only; the
 * store keeps them (NotificationRepository, ports.ts beside this file), the senders live in
 * src/notifiers/.
 */

import type { DeployTargetIdentity } from '../../domain/deploy-target.ts';

/** Every event type, in the order the docs list them. Names are part of the wire format. */
export const EVENT_TYPES = [
  'certificate.expiring',
  'certificate.expired',
  'issuance.succeeded',
  'issuance.failed',
  'renewal.failed',
  'renewal.recovered',
  'deployment.failed',
  'deployment.recovered',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const isEventType = (value: unknown): value is EventType =>
  typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);

export const CHANNEL_KINDS = ['webhook', 'slack', 'email'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** What may be shown of a channel. Secrets are not part of it (see ChannelSecrets). */
export type ChannelConfig =
  | { kind: 'webhook'; url: string }
  /** `host`: the host of the (secret) incoming-webhook URL, to tell channels apart. */
  | { kind: 'slack'; host: string }
  | {
      kind: 'email';
      host: string;
      port: number;
      /** `starttls`: plain connection upgraded with STARTTLS (required); `tls`: TLS from the first byte. */
      security: 'starttls' | 'tls';
      username: string | null;
      from: string;
      to: string[];
    };

/** The secret half of a channel, sealed by the vault; opened only by the delivery worker. */
export type ChannelSecrets =
  { kind: 'webhook'; secret: string } | { kind: 'slack'; url: string } | { kind: 'email'; password: string | null };

export interface Channel {
  id: number;
  tenantId: number;
  name: string;
  config: ChannelConfig;
  createdAt: Date;
}

export interface Rule {
  id: number;
  tenantId: number;
  name: string;
  events: EventType[];
  /**
   * Optional glob (`*` any run of characters, case-insensitive) matched against the certificate's
   * name and each of its DNS names; null matches every certificate (and events without one).
   */
  certificatePattern: string | null;
  channelIds: number[];
  createdAt: Date;
}

/** Default expiry thresholds, in days before notAfter. */
export const DEFAULT_THRESHOLDS_DAYS: readonly number[] = [30, 14, 7, 3, 1];
export const THRESHOLD_MIN_DAYS = 1;
export const THRESHOLD_MAX_DAYS = 365;
export const THRESHOLDS_MAX = 10;

/**
 * Certificates whose whole lifetime (notAfter − notBefore) is shorter than this are judged by the
 * fraction of their lifetime left: threshold `t` days becomes `t × lifetime / 60 days`. A 6-day
 * certificate then gets its 30-day notice at 3 days left (half its life), not at issuance.
 */
export const SHORT_LIFETIME_DAYS = 60;
export const DAY_MS = 86_400_000;

/** The instant at which threshold `days` is crossed by a certificate valid [notBefore, notAfter]. */
export function crossingAt(notBefore: number, notAfter: number, days: number): number {
  const lifetime = notAfter - notBefore;
  const effective = lifetime < SHORT_LIFETIME_DAYS * DAY_MS ? (days * lifetime) / SHORT_LIFETIME_DAYS : days * DAY_MS;
  return notAfter - effective;
}

export type ExpiryState =
  /** Not inside any threshold yet; the first notice is due at `nextAt`. */
  | { kind: 'before'; nextAt: number }
  /** Inside `threshold` (the smallest crossed one); the next notice (a smaller threshold or the expiry) at `nextAt`. */
  | { kind: 'expiring'; threshold: number; nextAt: number }
  | { kind: 'expired' };

/**
 * Where a certificate stands at `now` against `thresholds` (days, any order). A certificate is
 * expired from its notAfter instant on (valid through notAfter, as everywhere in certkeeper).
 * When several thresholds were crossed since the last look, only the smallest counts: a
 * certificate imported 5 days before expiry gets the 7-day notice, not also the 30 and 14.
 */
export function expiryState(
  notBefore: number,
  notAfter: number,
  thresholds: readonly number[],
  now: number,
): ExpiryState {
  if (now >= notAfter) return { kind: 'expired' };
  let crossed: number | null = null;
  let nextAt = notAfter;
  for (const days of thresholds) {
    const at = crossingAt(notBefore, notAfter, days);
    if (at <= now) crossed = crossed === null ? days : Math.min(crossed, days);
    else if (at < nextAt) nextAt = at;
  }
  return crossed === null ? { kind: 'before', nextAt } : { kind: 'expiring', threshold: crossed, nextAt };
}

/** Whole days left, rounded down (0 on the last day); negative once expired. */
export const daysLeft = (notAfter: number, now: number): number => Math.floor((notAfter - now) / DAY_MS);

/** The rule's glob as a test on a name or DNS name. */
export function patternMatcher(pattern: string | null): (candidates: readonly string[]) => boolean {
  if (pattern === null) return () => true;
  const source = pattern
    .toLowerCase()
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const regex = new RegExp(`^${source}$`, 's');
  return (candidates) => candidates.some((candidate) => regex.test(candidate.toLowerCase()));
}

/** The certificate an event is about, as every payload carries it. */
export interface EventCertificate {
  certificateNo: number;
  name: string;
  domains: string[];
  notAfter: string;
  daysLeft: number;
  fingerprintSha256: string;
}

/**
 * What a deployment event is about: an edge slot (`kind`), the generation that was being
 * deployed, whether it was being published or removed, and the tenant's deployment target it
 * went to, by kind and what identifies it (a directory's path, a webhook's host; never a secret),
 * or null when none is configured. deployment.failed also says which part failed: the deploy
 * target (its write, reload command or webhook call threw) or the edge slot itself (no target,
 * the certificate or its key gone), before the target was called.
 */
export interface DeploymentSubject {
  kind: 'edge-slot';
  slotId: number;
  generation: number;
  operation: 'publish' | 'remove';
  target: DeployTargetIdentity | null;
  failedAt?: 'edge-slot' | 'deploy-target';
}

/**
 * The JSON every channel receives (webhook body as is; Slack and e-mail render it as text).
 * docs/notifications.md documents each field.
 */
export interface EventPayload {
  /** Unique per (channel-independent) event: the same on every retry and every channel. */
  id: string;
  type: EventType;
  /** True for `certkeeper notify test` and the console's test send. */
  test: boolean;
  occurredAt: string;
  tenant: { id: number; name: string };
  certificate: EventCertificate | null;
  /** certificate.expiring: the threshold crossed, in days. */
  thresholdDays?: number;
  /** renewal.failed, deployment.failed: failures in a row so far. */
  failures?: number;
  /** deployment.*: what was deployed where (docs/notifications.md, "Deployment events"). */
  deployment?: DeploymentSubject;
  /** One sentence saying what happened. */
  summary: string;
  /** What went wrong (failure events), as the failing part said it. */
  error?: string;
  /** The certificate's console page, or the console itself. */
  link: string;
}
