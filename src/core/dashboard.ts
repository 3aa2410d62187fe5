/**
 * The console's dashboard in one read: certificates by status, how many expire within the next
 * 7, 30 and 90 days, the soonest to expire, and the tenant's recent audit events. Every figure is
 * exact at the injected clock's reading and costs the same at a million certificates as at ten
 * (counters; see store/repositories/certificate-stats.ts and certificate-counters.ts).
 */
import type { AuditEvent, CertificateSummary } from '../domain/model.ts';
import type { Actor } from './actor.ts';
import type { AuditService } from './audit.ts';
import { authorize } from './policy.ts';
import type { Clock, Store } from './ports.ts';

export const EXPIRY_WINDOWS_DAYS = [7, 30, 90] as const;

export interface Dashboard {
  asOf: Date;
  counts: { total: number; valid: number; expired: number; notYetValid: number };
  /** Live certificates not yet expired whose notAfter is within the next `days` days. */
  expiring: Array<{ days: number; count: number }>;
  /** Unexpired certificates, soonest notAfter first. */
  soonest: CertificateSummary[];
  /** Newest first; logins, logouts and token issues left out. */
  recent: AuditEvent[];
}

export interface DashboardService {
  read(actor: Actor, options?: { soonest?: number; recent?: number }): Promise<Dashboard>;
}

const DAY_MS = 86_400_000;

/** Audit actions that change nothing: not "recent changes" (they stay in the audit trail). */
const NOT_CHANGES = new Set(['console.login', 'console.logout', 'token.issue']);
const AUDIT_PAGE = 100;

/** The newest `limit` events that are changes, reading at most a few pages of the trail. */
async function recentChanges(audit: AuditService, actor: Actor, limit: number): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  let beforeId: number | undefined;
  for (let page = 0; page < 3 && out.length < limit; page++) {
    const events = await audit.list(actor, { limit: AUDIT_PAGE, ...(beforeId === undefined ? {} : { beforeId }) });
    out.push(...events.filter((e) => !NOT_CHANGES.has(e.action)));
    if (events.length < AUDIT_PAGE) break;
    beforeId = events.at(-1)?.id;
  }
  return out.slice(0, limit);
}

export function createDashboardService(store: Store, clock: Clock, audit: AuditService): DashboardService {
  return {
    async read(actor, options = {}) {
      authorize(actor, 'certificate.read');
      const asOf = clock.now();
      const windows = EXPIRY_WINDOWS_DAYS.map((days) => ({ from: asOf, to: new Date(asOf.getTime() + days * DAY_MS) }));
      const [counts, page, expiring, soonest, recent] = await Promise.all([
        store.certificates.countByValidity(actor.tenantId, asOf),
        store.certificates.list({ tenantId: actor.tenantId, asOf, offset: 0, limit: 0 }),
        store.certificateStats.countNotAfterBetween(actor.tenantId, windows),
        store.certificates.list({
          tenantId: actor.tenantId,
          asOf,
          validity: 'unexpired',
          sort: 'notAfter',
          order: 'asc',
          offset: 0,
          limit: Math.min(options.soonest ?? 10, 100),
        }),
        recentChanges(audit, actor, Math.min(options.recent ?? 15, 100)),
      ]);
      return {
        asOf,
        counts: { total: page.total, ...counts },
        expiring: EXPIRY_WINDOWS_DAYS.map((days, i) => ({ days, count: expiring[i] ?? 0 })),
        soonest: soonest.items,
        recent,
      };
    },
  };
}
