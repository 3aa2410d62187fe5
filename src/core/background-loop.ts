/**
 * The background loop of core's lease workers (deploy/worker.ts, issuance/worker.ts,
 * notifications/worker.ts): when a pass runs, what stops it, and how a claim's lease is kept
 * while its work runs. The workers own what a pass does; this file owns only the timing.
 *
 * Contract of `createBackgroundLoop`:
 * - Passes never overlap, in one process: `runOnce()` and the loop's own passes are chained one
 *   after the other. A pass that throws rejects its own `runOnce()` promise only; the next pass
 *   still runs.
 * - `start()` runs the first pass at once, then the next one after each pass ends: at once when
 *   `again(result)` says there is more (a full batch) or a `kick()` came during the pass, else
 *   after `pollMs`. A pass that throws is logged (`<name> pass failed; …`) and the loop carries
 *   on after `pollMs`: a store hiccup never ends the loop. While started, every notice from
 *   `changes` kicks. `start()` twice, or after `stop()`, does nothing.
 * - `kick()` runs the next pass now instead of after the pause (or right after the running one).
 *   Before `start()` or after `stop()` it does nothing.
 * - `stop()` aborts `signal` (a pass checks it between claims, and work in flight gives its claim
 *   back when it sees it), cancels the pending pass and the `changes` subscription, then waits for
 *   the running pass and for `pending()` (work a pass started without waiting for it), at most
 *   `timeoutMs` (default 5 s). Nothing runs after it in the background; the caller closes the
 *   store afterwards.
 *
 * Timers are the process's own (setTimeout), not the injected clock: they only pace the passes,
 * and every decision a pass makes (what is due, backoff, leases) reads the injected clock.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isAppError } from '../domain/errors.ts';

export interface WorkerLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export const silentLog: WorkerLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Identifies one worker's claims in the store: `<host>:<pid>:<random>`, unique across processes. */
export const defaultWorkerId = (): string => `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

export interface BackgroundLoopOptions<Pass> {
  /** Names the loop in its log lines ("edge worker"). */
  name: string;
  workerId: string;
  /** Pause after a pass that found nothing more to do. */
  pollMs: number;
  log: WorkerLog;
  /**
   * One pass. `background` is true for the passes the loop runs itself and false for
   * `runOnce()`, so a worker may leave slow work running in the background yet let a caller of
   * `runOnce()` wait for all of it.
   */
  pass(background: boolean): Promise<Pass>;
  /** Whether the next pass follows at once (there is more to do). Default: never. */
  again?(result: Pass): boolean;
  /** Subscribes to "there is new work" notices while started; returns the unsubscribe. */
  changes?: (listener: () => void) => () => void;
  /** Work still running that a pass started without waiting for; `stop()` waits for it. */
  pending?(): Iterable<Promise<unknown>>;
}

/** What `serve` and the tests see of a worker: its claims' id and the loop's controls. */
export interface LeaseWorker<Pass> {
  readonly id: string;
  runOnce(): Promise<Pass>;
  start(): void;
  kick(): void;
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

export interface BackgroundLoop<Pass> extends LeaseWorker<Pass> {
  /** Aborted by `stop()`. */
  readonly signal: AbortSignal;
}

export function createBackgroundLoop<Pass>(options: BackgroundLoopOptions<Pass>): BackgroundLoop<Pass> {
  const { log, pollMs } = options;
  const stopping = new AbortController();
  let chain: Promise<unknown> = Promise.resolve();
  let started = false;
  let timer: NodeJS.Timeout | null = null;
  let kicked = false;
  let unsubscribe: (() => void) | null = null;

  function enqueue(background: boolean): Promise<Pass> {
    const next = chain.then(() => options.pass(background));
    chain = next.catch(() => undefined);
    return next;
  }

  function schedule(delayMs: number): void {
    if (stopping.signal.aborted) return;
    timer = setTimeout(tick, delayMs);
  }

  function tick(): void {
    timer = null;
    kicked = false;
    enqueue(true).then(
      (result) => schedule(kicked || options.again?.(result) ? 0 : pollMs),
      (error: unknown) => {
        // The store (or a CA) being unavailable is an outage logged once where it is watched
        // (store/availability.ts), not an error line per pass while it lasts.
        const level = isAppError(error) && error.code === 'unavailable' ? 'info' : 'error';
        log[level](
          { err: messageOf(error), workerId: options.workerId },
          `${options.name} pass failed; retrying after the poll pause`,
        );
        schedule(pollMs);
      },
    );
  }

  const loop: BackgroundLoop<Pass> = {
    id: options.workerId,
    signal: stopping.signal,
    runOnce: () => enqueue(false),
    start() {
      if (started || stopping.signal.aborted) return;
      started = true;
      unsubscribe = options.changes?.(() => loop.kick()) ?? null;
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
        Promise.all([chain, ...(options.pending?.() ?? [])]),
        new Promise((resolve) => (wait = setTimeout(resolve, stopOptions.timeoutMs ?? 5_000))),
      ]);
      clearTimeout(wait);
    },
  };
  return loop;
}

/**
 * Keeps a claim's lease while its work runs: `renew(until)` every third of `leaseMs` (at least
 * every 10 ms), with `until` = now + `leaseMs` on the injected `now`. A renewal that finds the
 * claim taken over, or that fails, is logged and the work goes on: every write of its outcome is
 * conditional on the claim anyway. Returns the function that ends the renewals (call it in a
 * `finally`). The timer does not keep the process alive.
 */
export function keepLease(options: {
  leaseMs: number;
  now: () => Date;
  renew: (until: Date) => Promise<boolean>;
  log: WorkerLog;
  fields: Record<string, unknown>;
  /** What is leased, for the log ("edge slot"). */
  what: string;
}): () => void {
  const { leaseMs, log, fields, what } = options;
  const heartbeat = setInterval(
    () => {
      options.renew(new Date(options.now().getTime() + leaseMs)).then(
        (held) => held || log.warn(fields, `${what}: lease lost while its work ran`),
        (error: unknown) => log.warn({ ...fields, err: messageOf(error) }, `${what}: lease renewal failed`),
      );
    },
    Math.max(Math.floor(leaseMs / 3), 10),
  );
  heartbeat.unref();
  return () => clearInterval(heartbeat);
}
