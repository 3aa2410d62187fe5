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
 * Those inside the horizon go into `notify_schedule`, due at once, and the cursor moves to `now`
 * (recordScan: one write). A scan that found nothing writes nothing and leaves the cursor where
 * it was: the next pass reads from there, ranges that held nothing then and hold only what came
 * since. Then the due rows (index on due_at, every tenant) are read with their certificates
 * (one read): where the certificate stands now (model.ts `expiryState`) decides the notice,
 * queued with its event key; the row moves to the certificate's next crossing, or is deleted
 * after the `certificate.expired` notice (settleSchedule: the notices and the moves of a pass in
 * one statement on PostgreSQL, three on SQLite: the notices, the moves, the deletions). Queuing and rescheduling are idempotent (unique event keys; a
 * conditional reschedule), so two processes running the pass at once, or a pass cut by a crash
 * and run again, queue each notice once.
 *
 * What a pass costs is therefore a fixed number of statements: one read of the watching tenants
 * (rules, thresholds, cursor, name), per tenant one read of both ranges and at most one write,
 * one read of the due rows and one write settling them (three statements on SQLite); nothing per
 * certificate or per due row.
 */
import type { Store } from '../ports.ts';
import { eventDeliveries, type EventContext } from './events.ts';
import type { DueEntry, ExpiryTenant, NewDelivery, ScheduleEntry } from './ports.ts';
import { DAY_MS, DEFAULT_THRESHOLDS_DAYS, daysLeft, expiryState, type EventCertificate } from './model.ts';

export const CHANGE_MARGIN_MS = 5_000;
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
  const tenants = new Map<number, Omit<ExpiryTenant, 'thresholds'> & { thresholds: readonly number[] }>();
  for (const tenant of await store.notifications.expiryTenants()) {
    const thresholds = tenant.thresholds ?? DEFAULT_THRESHOLDS_DAYS;
    tenants.set(tenant.tenantId, { ...tenant, thresholds });
    result.tenants += 1;
    result.scheduled += await scanTenant(store, tenant, Math.max(...thresholds) * DAY_MS, now);
  }

  const due = await store.notifications.dueSchedule(now, options.batch);
  result.due = due.length;
  const settled: Settled[] = [];
  for (const entry of due) {
    const { tenantId, certificateNo, certificate } = entry;
    const tenant = tenants.get(tenantId);
    if (!certificate || certificate.fingerprint !== entry.fingerprint || !tenant) {
      // Deleted, replaced (the scan schedules the new version), or no expiry rule any more.
      settled.push({ tenantId, entry, deliveries: [], nextDueAt: null });
      continue;
    }
    const { notBefore, notAfter } = certificate;
    const state = expiryState(notBefore, notAfter, tenant.thresholds, t);
    const subject = eventCertificate(entry, certificate, t);
    const version = `${certificateNo}:${entry.fingerprint}`;
    const options = {
      keepUntil: new Date(notAfter + KEEP_AFTER_EXPIRY_MS),
      rules: tenant.rules,
      tenantName: tenant.tenantName,
    };
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
        options,
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
        options,
      );
    }
    settled.push({ tenantId, entry, deliveries, nextDueAt: new Date(state.nextAt) });
  }
  // One write for the whole pass: the notices and the moves are idempotent each, and the batch
  // (at most `options.batch` rows) keeps the statement short.
  if (settled.length > 0) result.queued = await store.notifications.settleSchedule(settled, now);
  return result;
}

interface Settled {
  tenantId: number;
  entry: ScheduleEntry;
  deliveries: NewDelivery[];
  nextDueAt: Date | null;
}

/** events.ts `eventCertificate`, from the columns the due read returns. */
function eventCertificate(
  entry: DueEntry,
  certificate: NonNullable<DueEntry['certificate']>,
  now: number,
): EventCertificate {
  return {
    certificateNo: entry.certificateNo,
    name: certificate.name,
    domains: [...certificate.domains],
    notAfter: new Date(certificate.notAfter).toISOString(),
    daysLeft: daysLeft(certificate.notAfter, now),
    fingerprintSha256: certificate.fingerprint,
  };
}

function describeLeft(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  if (days >= 1) return `${days} day${days === 1 ? '' : 's'}`;
  const hours = Math.floor(ms / 3_600_000);
  return hours >= 1 ? `${hours} hour${hours === 1 ? '' : 's'}` : 'less than an hour';
}

/** Steps 1–3 for one tenant; how many certificates it (re)scheduled. */
async function scanTenant(store: Store, tenant: ExpiryTenant, horizonMs: number, now: Date): Promise<number> {
  const t = now.getTime();
  const { tenantId, scannedUntil: cursor } = tenant;
  const inHorizon = new Map<number, string>();
  const gone = new Set<number>();
  const last = cursor === null ? null : Math.min(cursor.getTime(), t);
  const found = await store.notifications.scanCertificates(
    tenantId,
    last === null ? { after: t, upTo: t + horizonMs } : { after: last + horizonMs, upTo: t + horizonMs },
    last === null ? null : { from: last - CHANGE_MARGIN_MS, to: t + 1 },
  );
  for (const c of found.expiring) inHorizon.set(c.certificateNo, c.fingerprint);
  for (const c of found.changed) {
    if (c.deleted) {
      gone.add(c.certificateNo);
      inHorizon.delete(c.certificateNo);
    } else if (c.notAfter <= t + horizonMs) inHorizon.set(c.certificateNo, c.fingerprint);
  }
  // Nothing found, cursor set: nothing to write (see the top of this file).
  if (cursor !== null && inHorizon.size === 0 && gone.size === 0) return 0;
  await store.notifications.recordScan(
    tenantId,
    {
      unschedule: [...gone],
      schedule: [...inHorizon].map(([certificateNo, fingerprint]) => ({ certificateNo, fingerprint })),
      dueAt: now,
    },
    { from: cursor, to: now },
    now,
  );
  return inHorizon.size;
}
