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
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock, Store } from '../ports.ts';
import { deliver, type DeliveryOutcome } from './delivery.ts';
import type { EventContext } from './events.ts';
import { runExpiryPass, type ExpiryPass } from './expiry.ts';
import type { NotificationSender } from './ports.ts';

export interface NotifyWorkerLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

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
  log?: NotifyWorkerLog;
}

export interface NotifyPass {
  expiry: ExpiryPass | null;
  pruned: number;
  sent: number;
  failed: number;
}

export interface NotificationWorker {
  readonly id: string;
  /** One pass, waiting for every delivery it started. */
  runOnce(): Promise<NotifyPass>;
  start(): void;
  kick(): void;
  /** No new work; deliveries in flight are aborted and released (retried by the next start). */
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

const silent: NotifyWorkerLog = { info: () => undefined, warn: () => undefined, error: () => undefined };
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const HOUR_MS = 3_600_000;

export function createNotificationWorker(options: NotifyWorkerOptions): NotificationWorker {
  const { store, clock } = options;
  const id = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const retentionMs = options.retentionMs ?? 30 * 24 * HOUR_MS;
  const leaseMs = options.leaseMs ?? 60_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const pollMs = options.pollMs ?? 1_000;
  const scanEveryMs = options.scanEveryMs ?? 60_000;
  const concurrency = options.concurrency ?? 8;
  const log = options.log ?? silent;
  const stopping = new AbortController();
  const context: EventContext = { store, clock, publicBaseUrl: options.publicBaseUrl, retentionMs };
  const inFlight = new Map<number, Promise<DeliveryOutcome>>();
  let lastScan: number | null = null;
  let lastPrune: number | null = null;
  let chain: Promise<unknown> = Promise.resolve();

  function start(deliveryId: number, tally: NotifyPass): Promise<DeliveryOutcome> {
    const work = deliver(
      { store, clock, sender: options.sender, workerId: id, leaseMs, timeoutMs, signal: stopping.signal },
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
    if (room > 0 && !stopping.signal.aborted) {
      for (const deliveryId of await store.notifications.dueDeliveries(clock.now(), room + inFlight.size)) {
        if (inFlight.has(deliveryId) || started.length >= room) continue;
        started.push(start(deliveryId, tally));
      }
    }
    if (wait) await Promise.all(started);
    return tally;
  }

  let started = false;
  let timer: NodeJS.Timeout | null = null;
  let kicked = false;
  let unsubscribe: (() => void) | null = null;

  function schedule(delayMs: number): void {
    if (stopping.signal.aborted) return;
    timer = setTimeout(tick, delayMs);
  }

  function tick(): void {
    timer = null;
    kicked = false;
    const next = chain.then(() => pass(false));
    chain = next.catch(() => undefined);
    next.then(
      () => schedule(kicked ? 0 : pollMs),
      (error: unknown) => {
        log.error(
          { err: messageOf(error), workerId: id },
          'notification worker pass failed; retrying after the poll pause',
        );
        schedule(pollMs);
      },
    );
  }

  const worker: NotificationWorker = {
    id,
    runOnce() {
      const next = chain.then(() => pass(true));
      chain = next.catch(() => undefined);
      return next;
    },
    start() {
      if (started || stopping.signal.aborted) return;
      started = true;
      unsubscribe = options.changes?.(() => worker.kick()) ?? null;
      schedule(0);
    },
    kick() {
      if (!started || stopping.signal.aborted) return;
      if (timer) {
        clearTimeout(timer);
        schedule(0);
      } else kicked = true;
    },
    async stop(stopOptions = {}) {
      if (!stopping.signal.aborted) stopping.abort(new Error('certkeeper is stopping'));
      if (timer) clearTimeout(timer);
      timer = null;
      unsubscribe?.();
      unsubscribe = null;
      let wait: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([chain, ...inFlight.values()]),
        new Promise((resolve) => (wait = setTimeout(resolve, stopOptions.timeoutMs ?? 5_000))),
      ]);
      clearTimeout(wait);
    },
  };
  return worker;
}
