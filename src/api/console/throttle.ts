/**
 * Login throttling, per access key and per remote address, in this process's memory.
 *
 * Contract:
 * - Each key (`key:<accessKey>`, `ip:<address>`) counts failed logins. The first `freeFailures`
 *   (5) cost nothing; from then on each failure blocks the key for `baseDelayMs` × 2^(n − free)
 *   (1 s, 2 s, 4 s, … capped at `maxDelayMs`, 15 min). While any key of an attempt is blocked the
 *   attempt is refused (429 with Retry-After) before the secret is looked at, and does not count.
 * - A key's count is forgotten `forgetAfterMs` (1 h) after its last failure. A successful login
 *   clears its access key's count, not its address's (a valid credential must not reset an
 *   address that is guessing others).
 * - Time comes from the injected clock. At most `maxEntries` keys are kept; the oldest go first.
 * - Per process: with several processes behind a load balancer an attacker gets the allowance of
 *   each. The exponential delay still bounds the rate (docs/console.md).
 */
import type { Clock } from '../../core/ports.ts';
import { touchBounded } from '../../core/recency-map.ts';

export interface ThrottleOptions {
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  forgetAfterMs: number;
  maxEntries: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  freeFailures: 5,
  baseDelayMs: 1000,
  maxDelayMs: 15 * 60_000,
  forgetAfterMs: 60 * 60_000,
  maxEntries: 10_000,
};

interface Entry {
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
}

export type ThrottleCheck = { allowed: true } | { allowed: false; retryAfterMs: number };

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly options: ThrottleOptions;

  constructor(clock: Clock, options: ThrottleOptions = DEFAULT_THROTTLE) {
    this.clock = clock;
    this.options = options;
  }

  check(keys: readonly string[]): ThrottleCheck {
    const now = this.clock.now().getTime();
    let wait = 0;
    for (const key of keys) {
      const entry = this.live(key, now);
      if (entry && entry.blockedUntil > now) wait = Math.max(wait, entry.blockedUntil - now);
    }
    return wait > 0 ? { allowed: false, retryAfterMs: wait } : { allowed: true };
  }

  fail(keys: readonly string[]): void {
    const now = this.clock.now().getTime();
    for (const key of keys) {
      const entry = this.live(key, now) ?? { failures: 0, lastFailureAt: now, blockedUntil: 0 };
      entry.failures += 1;
      entry.lastFailureAt = now;
      const over = entry.failures - this.options.freeFailures;
      if (over >= 0)
        entry.blockedUntil =
          now + Math.min(this.options.baseDelayMs * 2 ** Math.min(over, 30), this.options.maxDelayMs);
      // The Map's order is least recently failed first, for eviction.
      touchBounded(this.entries, key, entry, this.options.maxEntries);
    }
  }

  clear(key: string): void {
    this.entries.delete(key);
  }

  private live(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && now - entry.lastFailureAt > this.options.forgetAfterMs && entry.blockedUntil <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

export const throttleKeys = (accessKey: string, remoteAddress: string): string[] => [
  `key:${accessKey}`,
  `ip:${remoteAddress}`,
];
