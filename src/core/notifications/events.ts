/**
 * Turning something that happened into outbox rows: the rules of the tenant pick the channels,
 * and each (channel, event key) becomes one delivery row (the store's unique key drops a second
 * one). Used by the expiry pass, by `emit` (issuance, renewal and deployment events) and by test
 * sends. The event key says what makes an event the same event:
 *
 *   certificate.expiring:<no>:<sha256>:<threshold>   one per certificate version and threshold
 *   certificate.expired:<no>:<sha256>                one per certificate version
 *   <type>:<subject key given by the caller>         e.g. deployment.failed:edge-slot:7:3
 *   test:<random>                                    every test send is new
 */
import type { Certificate, CertificateSummary } from '../../domain/model.ts';
import type { Clock, Store } from '../ports.ts';
import {
  daysLeft,
  patternMatcher,
  type EventCertificate,
  type EventPayload,
  type EventType,
  type Rule,
} from './model.ts';
import type { NewDelivery } from './ports.ts';

export interface EventContext {
  store: Store;
  clock: Clock;
  /** `<public base URL>`, no trailing slash: links go to `<base>/console/#/certificates/<no>`. */
  publicBaseUrl: string;
  /** How long finished deliveries and log lines are kept. */
  retentionMs: number;
}

export function eventCertificate(certificate: Certificate | CertificateSummary, now: number): EventCertificate {
  const { facts } = certificate;
  return {
    certificateNo: certificate.certificateNo,
    name: certificate.name,
    domains: [...facts.domains],
    notAfter: facts.notAfter.toISOString(),
    daysLeft: daysLeft(facts.notAfter.getTime(), now),
    fingerprintSha256: facts.fingerprintSha256,
  };
}

export const consoleLink = (base: string, certificateNo: number | null): string =>
  certificateNo === null ? `${base}/console/` : `${base}/console/#/certificates/${certificateNo}`;

/** Whether a rule sends `event` about `certificate` (null: events not about one certificate). */
export function ruleMatches(rule: Rule, event: EventType, certificate: EventCertificate | null): boolean {
  if (!rule.events.includes(event)) return false;
  if (rule.certificatePattern === null) return true;
  if (certificate === null) return false;
  return patternMatcher(rule.certificatePattern)([certificate.name, ...certificate.domains]);
}

export type PayloadInput = Omit<EventPayload, 'id' | 'tenant' | 'link' | 'occurredAt' | 'test'> & { test?: boolean };

/**
 * The delivery rows of `event`: one for every channel a rule of the tenant picks (none when no
 * rule matches). `keepUntil`: the row is the proof that the event went, kept at least that long.
 * `rules` and `tenantName`, when the caller has them, save their reads.
 */
export async function eventDeliveries(
  context: EventContext,
  tenantId: number,
  eventKey: string,
  input: PayloadInput,
  options: { keepUntil?: Date; channelIds?: number[]; rules?: Rule[]; tenantName?: string } = {},
): Promise<NewDelivery[]> {
  const { store, clock } = context;
  const now = clock.now();
  let channelIds = options.channelIds;
  if (!channelIds) {
    const rules = options.rules ?? (await store.notifications.listRules(tenantId));
    channelIds = [
      ...new Set(rules.filter((r) => ruleMatches(r, input.type, input.certificate)).flatMap((r) => r.channelIds)),
    ];
  }
  if (channelIds.length === 0) return [];
  const tenantName = options.tenantName ?? (await store.tenants.getById(tenantId))?.name ?? String(tenantId);
  const payload: EventPayload = {
    id: eventKey,
    ...input,
    test: input.test ?? false,
    occurredAt: now.toISOString(),
    tenant: { id: tenantId, name: tenantName },
    link: consoleLink(context.publicBaseUrl, input.certificate?.certificateNo ?? null),
  };
  const minimum = now.getTime() + context.retentionMs;
  const keepUntil = new Date(Math.max(minimum, options.keepUntil?.getTime() ?? 0));
  return channelIds.map((channelId) => ({ channelId, eventKey, payload, keepUntil }));
}

/**
 * Queues `event` (eventDeliveries); returns the ids of the rows inserted (empty when no rule
 * matches, or every channel had it already).
 */
export async function enqueueEvent(...args: Parameters<typeof eventDeliveries>): Promise<number[]> {
  const [context, tenantId] = args;
  const rows = await eventDeliveries(...args);
  if (rows.length === 0) return [];
  return context.store.notifications.enqueue(tenantId, rows, context.clock.now());
}
