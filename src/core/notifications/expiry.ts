/**
 * The expiry pass: finds certificates that crossed a threshold or expired, and queues one
 * notice per (certificate version, event, threshold) and channel. It never reads every
 * certificate; per tenant that has an expiry rule it reads, with the scan cursor `L` (the `now`
 * of the tenant's previous pass) and the horizon `H` (its largest threshold):
 *
 * 1. certificates entering the horizon: live ones with notAfter in (L + H, now + H], one range
 *    of the (tenant_id, not_after) index, as wide as the time since the last pass;
 * 2. certificates changed since the last pass (imported, replaced, deleted): updated_at in
 *    [L − CHANGE_MARGIN, now), one range of the (tenant_id, updated_at) index. The margin covers
 *    a write whose transaction commits after the previous pass read (its updated_at is taken
 *    before commit); re-reading it is harmless (scheduling is idempotent);
 * 3. on a tenant's first pass (no cursor), the live certificates with notAfter in (now, now + H].
 *
 * Those inside the horizon go into `notify_schedule`, due at once. Then the due rows (index on
 * due_at, every tenant) are looked at: where the certificate stands now (model.ts `expiryState`)
 * decides the notice, queued with its event key; the row moves to the certificate's next
 * crossing, or is deleted after the `certificate.expired` notice (the notices and the moves are
 * written SETTLE_CHUNK rows at a time: settleSchedule). Queuing and rescheduling are
 * idempotent (unique event keys; a conditional reschedule), so two processes running the pass at
 * once, or a pass cut by a crash and run again, queue each notice once.
 */
import type { Store } from '../ports.ts';
import { eventCertificate, eventDeliveries, type EventContext } from './events.ts';
import type { NewDelivery, ScheduleEntry } from './ports.ts';
import { DAY_MS, DEFAULT_THRESHOLDS_DAYS, expiryState, type Rule } from './model.ts';

export const CHANGE_MARGIN_MS = 5_000;
/** Due rows settled per store call (one transaction on PostgreSQL): a short transaction. */
const SETTLE_CHUNK = 100;
/** Deliveries about a certificate's expiry are kept until a day after it, so no pass can queue them again. */
const KEEP_AFTER_EXPIRY_MS = DAY_MS;

export interface ExpiryPass {
  tenants: number;
  scheduled: number;
  due: number;
  queued: number;
}

export async function runExpiryPass(context: EventContext, options: { batch: number }): Promise<ExpiryPass> {
  const { store, clock } = context;
  const result: ExpiryPass = { tenants: 0, scheduled: 0, due: 0, queued: 0 };
  const now = clock.now();
  const t = now.getTime();
  const tenants = await store.notifications.tenantsWatchingExpiry();
  const thresholdsOf = new Map<number, readonly number[]>();
  for (const tenantId of tenants) {
    result.tenants += 1;
    const thresholds = (await store.notifications.getThresholds(tenantId)) ?? DEFAULT_THRESHOLDS_DAYS;
    thresholdsOf.set(tenantId, thresholds);
    result.scheduled += await scanTenant(store, tenantId, Math.max(...thresholds) * DAY_MS, now);
  }

  const due = await store.notifications.dueSchedule(now, options.batch);
  result.due = due.length;
  const rulesOf = new Map<number, Rule[]>();
  // What each due row comes to, written SETTLE_CHUNK rows at a time (one transaction each where
  // the store groups writes): a commit per row made the pass's cost the disk's, not the work's.
  let settled: Settled[] = [];
  const flush = async () => {
    result.queued += await store.notifications.settleSchedule(settled, now);
    settled = [];
  };
  for (const entry of due) {
    if (settled.length >= SETTLE_CHUNK) await flush();
    const { tenantId, certificateNo } = entry;
    const certificate = await store.certificates.get(tenantId, certificateNo);
    if (!certificate || certificate.facts.fingerprintSha256 !== entry.fingerprint || !thresholdsOf.has(tenantId)) {
      // Deleted, replaced (the scan schedules the new version), or no expiry rule any more.
      settled.push({ tenantId, entry, deliveries: [], nextDueAt: null });
      continue;
    }
    let rules = rulesOf.get(tenantId);
    if (!rules) rulesOf.set(tenantId, (rules = await store.notifications.listRules(tenantId)));
    const notBefore = certificate.facts.notBefore.getTime();
    const notAfter = certificate.facts.notAfter.getTime();
    const state = expiryState(notBefore, notAfter, thresholdsOf.get(tenantId)!, t);
    const subject = eventCertificate(certificate, t);
    const version = `${certificateNo}:${entry.fingerprint}`;
    const keepUntil = new Date(notAfter + KEEP_AFTER_EXPIRY_MS);
    if (state.kind === 'expired') {
      const deliveries = await eventDeliveries(
        context,
        tenantId,
        `certificate.expired:${version}`,
        {
          type: 'certificate.expired',
          certificate: subject,
          summary: `Certificate ${certificate.name} (${certificateNo}) expired at ${subject.notAfter}.`,
        },
        { keepUntil, rules },
      );
      settled.push({ tenantId, entry, deliveries, nextDueAt: null });
      continue;
    }
    let deliveries: NewDelivery[] = [];
    if (state.kind === 'expiring') {
      deliveries = await eventDeliveries(
        context,
        tenantId,
        `certificate.expiring:${version}:${state.threshold}`,
        {
          type: 'certificate.expiring',
          certificate: subject,
          thresholdDays: state.threshold,
          summary: `Certificate ${certificate.name} (${certificateNo}) expires in ${describeLeft(notAfter - t)}, at ${subject.notAfter}.`,
        },
        { keepUntil, rules },
      );
    }
    settled.push({ tenantId, entry, deliveries, nextDueAt: new Date(state.nextAt) });
  }
  await flush();
  return result;
}

interface Settled {
  tenantId: number;
  entry: ScheduleEntry;
  deliveries: NewDelivery[];
  nextDueAt: Date | null;
}

function describeLeft(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  if (days >= 1) return `${days} day${days === 1 ? '' : 's'}`;
  const hours = Math.floor(ms / 3_600_000);
  return hours >= 1 ? `${hours} hour${hours === 1 ? '' : 's'}` : 'less than an hour';
}

/** Steps 1–3 for one tenant; how many certificates it (re)scheduled. */
async function scanTenant(store: Store, tenantId: number, horizonMs: number, now: Date): Promise<number> {
  const t = now.getTime();
  const cursor = await store.notifications.scanCursor(tenantId);
  const inHorizon = new Map<number, string>();
  const gone: number[] = [];
  if (cursor === null) {
    for (const c of await store.notifications.certificatesExpiringBetween(tenantId, t, t + horizonMs))
      inHorizon.set(c.certificateNo, c.fingerprint);
  } else {
    const last = Math.min(cursor.getTime(), t);
    for (const c of await store.notifications.certificatesExpiringBetween(tenantId, last + horizonMs, t + horizonMs))
      inHorizon.set(c.certificateNo, c.fingerprint);
    for (const c of await store.notifications.certificatesChangedBetween(tenantId, last - CHANGE_MARGIN_MS, t + 1)) {
      if (c.deleted) gone.push(c.certificateNo);
      else if (c.notAfter <= t + horizonMs) inHorizon.set(c.certificateNo, c.fingerprint);
    }
  }
  if (gone.length > 0) await store.notifications.unschedule(tenantId, gone);
  if (inHorizon.size > 0)
    await store.notifications.schedule(
      tenantId,
      [...inHorizon].map(([certificateNo, fingerprint]) => ({ certificateNo, fingerprint })),
      now,
    );
  await store.notifications.advanceScanCursor(tenantId, cursor, now, now);
  return inHorizon.size;
}
