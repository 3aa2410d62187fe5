/**
 * How a background worker yields to the foreground (the API) on the process's one event loop.
 *
 * Why: the issuance worker's CPU (JWS signatures, TLS, JSON, the order's writes, about 2–3 ms of
 * the event loop per CA request) comes out of the same thread that answers the API, and the
 * machine has no spare core to move it to. Costing less is one half; the other is not taking the
 * thread while requests are waiting for it (issue 16: with 200 orders in flight the lists keep
 * within 10 % of their throughput with none).
 *
 * Contract of `createForegroundYield`:
 * - `beforeStep(signal)` is awaited by the worker before it claims the next order; it never holds
 *   a claim or a lease while it waits, so no lease can run out because of it.
 * - The foreground is busy while `inFlight()` (API requests being answered by this process) is
 *   above zero, or while the event loop's utilisation over the last `sampleMs` is at or above
 *   `busyUtilization` (other foreground work: a large import, another worker's burst).
 * - While it is busy, a step waits, checking every `checkEveryMs`, until the foreground is quiet
 *   or `busyStepGapMs` has passed since the previous step began: under any load the worker still
 *   takes one step per `busyStepGapMs` (no starvation), and with none it does not wait at all.
 * - `stats()` counts the steps that waited, for the log and the tests; nothing reads the clock
 *   of core (timers only pace, they decide nothing about orders).
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ForegroundYieldOptions {
  /** API requests in flight in this process; absent means only the event loop's utilisation is read. */
  inFlight?: () => number;
  /** Utilisation (0–1) at or above which the loop counts as busy. Default 0.9. */
  busyUtilization?: number;
  /** Under load, at most one step per this many ms. Default 250 (about 1 % of a core at today's cost). */
  busyStepGapMs?: number;
  /** How often a waiting step looks again. Default 20 ms. */
  checkEveryMs?: number;
  /** Shortest window the utilisation is measured over. Default 100 ms. */
  sampleMs?: number;
}

export interface ForegroundYieldStats {
  /** Steps that found the foreground busy and waited (up to the gap) before they ran. */
  deferredSteps: number;
  /** Steps that ran without waiting. */
  freeSteps: number;
}

export interface ForegroundYield {
  beforeStep(signal?: AbortSignal): Promise<void>;
  /** Whether the foreground is busy now (in-flight requests or a loaded event loop). */
  busy(): boolean;
  stats(): ForegroundYieldStats;
}

export const FOREGROUND_YIELD_DEFAULTS = {
  busyUtilization: 0.9,
  busyStepGapMs: 250,
  checkEveryMs: 20,
  sampleMs: 100,
} as const;

export function createForegroundYield(options: ForegroundYieldOptions = {}): ForegroundYield {
  const busyUtilization = options.busyUtilization ?? FOREGROUND_YIELD_DEFAULTS.busyUtilization;
  const gapMs = options.busyStepGapMs ?? FOREGROUND_YIELD_DEFAULTS.busyStepGapMs;
  const checkEveryMs = options.checkEveryMs ?? FOREGROUND_YIELD_DEFAULTS.checkEveryMs;
  const sampleMs = options.sampleMs ?? FOREGROUND_YIELD_DEFAULTS.sampleMs;
  const stats: ForegroundYieldStats = { deferredSteps: 0, freeSteps: 0 };
  let lastSample: EventLoopUtilization = performance.eventLoopUtilization();
  let lastUtilization = 0;
  let lastStepAt = -Infinity;

  /** Utilisation over the window since the last sample, once that window is `sampleMs` long. */
  function utilization(): number {
    const now = performance.eventLoopUtilization();
    if (now.idle + now.active - (lastSample.idle + lastSample.active) >= sampleMs) {
      lastUtilization = performance.eventLoopUtilization(now, lastSample).utilization;
      lastSample = now;
    }
    return lastUtilization;
  }

  const busy = (): boolean => (options.inFlight?.() ?? 0) > 0 || utilization() >= busyUtilization;

  return {
    busy,
    stats: () => ({ ...stats }),
    async beforeStep(signal) {
      let waited = false;
      for (;;) {
        if (signal?.aborted || !busy()) break;
        const left = lastStepAt + gapMs - performance.now();
        if (left <= 0) break;
        waited = true;
        try {
          await sleep(Math.min(checkEveryMs, left), undefined, signal ? { signal } : {});
        } catch {
          break; // aborted: the worker is stopping and looks at its signal itself
        }
      }
      if (waited) stats.deferredSteps += 1;
      else stats.freeSteps += 1;
      lastStepAt = performance.now();
    },
  };
}
