/**
 * The notification worker, started by `serve` next to the edge worker and stopped before the
 * store closes; tests drive it with `runOnce()`.
 *
 * Each pass: the expiry pass (expiry.ts) at most every `scanEveryMs`, the log's pruning at most
 * hourly, then the due deliveries. Deliveries run concurrently (at most `concurrency` at once),
 * each under its own lease and timeout, and the background loop does not wait for a slow one
 * before claiming the next: a channel that is down or slow never holds up the others, and no
 * delivery runs on the API's request path. State is in the store only (outbox rows with leases),
 * so a restart or another process carries on; a process killed between claim and send leaves a
 * lease that expires, and the delivery is retried, not dropped.
 */
import {
  createBackgroundLoop,
  defaultWorkerId,
  messageOf,
  silentLog,
  type LeaseWorker,
  type WorkerLog,
} from '../background-loop.ts';
import type { Clock, Store } from '../ports.ts';
import { deliver, type DeliveryOutcome } from './delivery.ts';
import type { EventContext } from './events.ts';
import { runExpiryPass, type ExpiryPass } from './expiry.ts';
import type { NotificationSender } from './ports.ts';

export interface NotifyWorkerOptions {
  store: Store;
  clock: Clock;
  sender: NotificationSender;
  publicBaseUrl: string;
  /** Delivery log and finished deliveries kept this long. Default 30 days. */
  retentionMs?: number;
  workerId?: string;
  /** Lease on a delivery; it bounds how long a crashed process's delivery waits. Default 60 s. */
  leaseMs?: number;
  /** Per attempt. Default 10 s. */
  timeoutMs?: number;
  /** Pause between passes. Default 1 s. */
  pollMs?: number;
  /** Expiry pass at most this often. Default 60 s. */
  scanEveryMs?: number;
  /** Deliveries in flight at once. Default 8. */
  concurrency?: number;
  /** Wakes the worker (a delivery was queued through this process). */
  changes?: (listener: () => void) => () => void;
  log?: WorkerLog;
}

export interface NotifyPass {
  expiry: ExpiryPass | null;
  pruned: number;
  sent: number;
  failed: number;
}

/**
 * runOnce: one pass, waiting for every delivery it started (the loop's own passes do not wait);
 * start, kick, stop: core/background-loop.ts. Stop aborts the deliveries in flight and releases
 * them (the next start retries them).
 */
export type NotificationWorker = LeaseWorker<NotifyPass>;
const HOUR_MS = 3_600_000;

export function createNotificationWorker(options: NotifyWorkerOptions): NotificationWorker {
  const { store, clock } = options;
  const id = options.workerId ?? defaultWorkerId();
  const retentionMs = options.retentionMs ?? 30 * 24 * HOUR_MS;
  const leaseMs = options.leaseMs ?? 60_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const scanEveryMs = options.scanEveryMs ?? 60_000;
  const concurrency = options.concurrency ?? 8;
  const log = options.log ?? silentLog;
  const context: EventContext = { store, clock, publicBaseUrl: options.publicBaseUrl, retentionMs };
  const inFlight = new Map<number, Promise<DeliveryOutcome>>();
  let lastScan: number | null = null;
  let lastPrune: number | null = null;
  const loop = createBackgroundLoop({
    name: 'notification worker',
    workerId: id,
    pollMs: options.pollMs ?? 1_000,
    log,
    // The loop's passes leave deliveries running (a slow channel holds up nobody); runOnce waits.
    pass: (background) => pass(!background),
    ...(options.changes ? { changes: options.changes } : {}),
    pending: () => inFlight.values(),
  });

  function start(deliveryId: number, tally: NotifyPass): Promise<DeliveryOutcome> {
    const work = deliver(
      { store, clock, sender: options.sender, workerId: id, leaseMs, timeoutMs, signal: loop.signal },
      deliveryId,
    )
      .then((outcome) => {
        if (outcome.kind === 'sent') tally.sent += 1;
        if (outcome.kind === 'failed') {
          tally.failed += 1;
          log.warn(
            {
              deliveryId,
              statusCode: outcome.statusCode,
              nextAttemptAt: outcome.nextAttemptAt?.toISOString() ?? null,
              err: outcome.error,
            },
            outcome.nextAttemptAt
              ? 'notification: delivery failed; will retry'
              : 'notification: delivery failed; giving up',
          );
        }
        return outcome;
      })
      .catch((error: unknown): DeliveryOutcome => {
        log.error({ deliveryId, err: messageOf(error) }, 'notification: delivery could not be recorded');
        return { kind: 'skipped' };
      })
      .finally(() => inFlight.delete(deliveryId));
    inFlight.set(deliveryId, work);
    return work;
  }

  async function pass(wait: boolean): Promise<NotifyPass> {
    const tally: NotifyPass = { expiry: null, pruned: 0, sent: 0, failed: 0 };
    const now = clock.now().getTime();
    if (lastScan === null || now - lastScan >= scanEveryMs) {
      tally.expiry = await runExpiryPass(context, { batch: 500 });
      lastScan = now;
    }
    if (lastPrune === null || now - lastPrune >= HOUR_MS) {
      tally.pruned = await store.notifications.prune(new Date(now - retentionMs), clock.now());
      lastPrune = now;
    }
    const started: Promise<DeliveryOutcome>[] = [];
    const room = concurrency - inFlight.size;
    if (room > 0 && !loop.signal.aborted) {
      for (const deliveryId of await store.notifications.dueDeliveries(clock.now(), room + inFlight.size)) {
        if (inFlight.has(deliveryId) || started.length >= room) continue;
        started.push(start(deliveryId, tally));
      }
    }
    if (wait) await Promise.all(started);
    return tally;
  }

  return loop;
}
