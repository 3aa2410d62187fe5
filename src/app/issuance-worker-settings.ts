/**
 * Timings of the issuance worker (src/core/issuance/worker.ts), read from the environment by
 * `certkeeper serve`, with the edge worker's rules (edge-worker-settings.ts: empty means unset, a
 * bad value stops the start naming the variable and the range):
 *
 * | Variable | Default | Range | Meaning |
 * |---|---|---|---|
 * | `CERTKEEPER_ISSUANCE_LEASE_SECONDS` | 60 | 2–3600 | a process's claim on an order; renewed while a step runs, so it only bounds how long a crashed process's order waits before another process resumes it |
 * | `CERTKEEPER_ISSUANCE_POLL_MS` | 1000 | 50–60000 | pause between passes when no order is due |
 * | `CERTKEEPER_ISSUANCE_BUSY_STEP_MS` | 250 | 0–60000 | while API requests are in flight, at most one order step per this many ms (core/background-pace.ts); 0: never wait for the API |
 *
 * The validation window (`CERTKEEPER_DCV_WINDOW_SECONDS`) is the issuance configuration's
 * (config.ts `loadIssuanceConfig`, its one reader), not a worker timing.
 */
import { integerSetting } from './edge-worker-settings.ts';
import type { IssuanceWorkerSettings } from './issuance.ts';

export function issuanceWorkerSettings(env: NodeJS.ProcessEnv): IssuanceWorkerSettings {
  return {
    leaseMs: integerSetting(env, 'CERTKEEPER_ISSUANCE_LEASE_SECONDS', 2, 3600, 60) * 1000,
    pollMs: integerSetting(env, 'CERTKEEPER_ISSUANCE_POLL_MS', 50, 60_000, 1000),
    busyStepGapMs: integerSetting(env, 'CERTKEEPER_ISSUANCE_BUSY_STEP_MS', 0, 60_000, 250),
  };
}
