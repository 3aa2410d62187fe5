/**
 * Settings of the edge provisioning worker (src/core/deploy/worker.ts), read from the
 * environment by `certkeeper serve`:
 *
 * | Variable | Default | Range | Meaning |
 * |---|---|---|---|
 * | `CERTKEEPER_EDGE_LEASE_SECONDS` | 30 | 2–3600 | a worker's claim on a slot; renewed every third while a target works, so it only bounds how long a crashed process's slot waits before another process takes it over |
 * | `CERTKEEPER_EDGE_POLL_MS` | 1000 | 50–60000 | pause between passes when there is nothing to do (changes made through this process wake it at once) |
 *
 * Kept beside `loadConfig` rather than in it for now (the Config object is pinned by its own
 * tests); same rules: empty means unset, a bad value stops the start with a message naming the
 * variable and the accepted range.
 */
export interface EdgeWorkerSettings {
  leaseMs: number;
  pollMs: number;
}

export const EDGE_WORKER_DEFAULTS: EdgeWorkerSettings = { leaseMs: 30_000, pollMs: 1_000 };

/** An integer variable: unset or empty gives `fallback`; anything outside `min`–`max` stops the start. */
export function integerSetting(
  env: NodeJS.ProcessEnv,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^[0-9]{1,9}$/.test(text) || Number(text) < min || Number(text) > max) {
    const error = new Error(
      `${name} must be an integer from ${min} to ${max}; got ${JSON.stringify(text.slice(0, 40))}.`,
    );
    error.name = 'ConfigError';
    throw error;
  }
  return Number(text);
}

export function edgeWorkerSettings(env: NodeJS.ProcessEnv): EdgeWorkerSettings {
  return {
    leaseMs: integerSetting(env, 'CERTKEEPER_EDGE_LEASE_SECONDS', 2, 3600, EDGE_WORKER_DEFAULTS.leaseMs / 1000) * 1000,
    pollMs: integerSetting(env, 'CERTKEEPER_EDGE_POLL_MS', 50, 60_000, EDGE_WORKER_DEFAULTS.pollMs),
  };
}
