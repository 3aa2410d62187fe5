/**
 * Request rate limits per credential: one token bucket per caller (tenant and credential id), in this process's memory.
 * The one place that decides whether a request may proceed; each API face calls `take` from its
 * authentication hook once it knows who is calling, and renders the `rate_limited` AppError in its
 * own envelope (docs/operations.md, "Rate limits").
 *
 * Contract:
 * - A caller's bucket holds up to `burst` tokens and refills at `perSecond` tokens a second, measured
 *   on the injected clock (a clock that goes back refills nothing). Each request takes one token;
 *   with none left `take` throws `rate_limited` with `details.retryAfterSeconds`: whole seconds
 *   until a token is back (at least 1). A refused request takes nothing.
 * - Only authenticated callers reach `take` (the faces call it after authentication), so unknown
 *   keys cannot grow the table. It is bounded anyway: at most `maxBuckets` keys, least recently
 *   used first out. A bucket idle long enough to be full again is dropped as it is met, since a
 *   fresh bucket behaves the same; evicting one that is not full only forgives that key's debt.
 * - Per process: with several processes behind a load balancer each enforces its own limit, so a
 *   credential gets the allowance of each.
 * - Off (`settings` null): `take` does nothing and keeps nothing.
 */
import { AppError } from '../domain/errors.ts';
import type { Actor } from './actor.ts';
import type { Clock } from './ports.ts';
import { touchBounded } from './recency-map.ts';

export interface RateLimitSettings {
  /** Tokens added per second (requests per second sustained). */
  readonly perSecond: number;
  /** Bucket size: requests allowed at once after an idle spell. */
  readonly burst: number;
}

export const DEFAULT_MAX_BUCKETS = 10_000;

export interface RateLimiter {
  /** Takes one token from the bucket of `actor`'s credential (tenant and id) or throws `rate_limited`. */
  take(actor: Pick<Actor, 'tenantId' | 'id'>): void;
  /** Buckets held and requests refused so far (for tests and operators). */
  stats(): { buckets: number; refused: number };
}

interface Bucket {
  tokens: number;
  at: number;
}

export function createRateLimiter(
  clock: Clock,
  settings: RateLimitSettings | null,
  maxBuckets: number = DEFAULT_MAX_BUCKETS,
): RateLimiter {
  if (settings === null) return { take: () => undefined, stats: () => ({ buckets: 0, refused: 0 }) };
  const { perSecond, burst } = settings;
  const buckets = new Map<string, Bucket>();
  let refused = 0;

  const refill = (bucket: Bucket, now: number): number =>
    Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.at) * perSecond) / 1000);

  /** Drops least recently used buckets that are full again: they carry no state worth keeping. */
  const sweep = (now: number): void => {
    for (const [key, bucket] of buckets) {
      if (refill(bucket, now) < burst) return;
      buckets.delete(key);
    }
  };

  return {
    take(actor) {
      const key = `${actor.tenantId}\u0000${actor.id}`;
      const now = clock.now().getTime();
      sweep(now);
      const previous = buckets.get(key);
      const tokens = previous === undefined ? burst : refill(previous, now);
      if (tokens < 1) {
        refused += 1;
        // Keep the refill so far; the refusal costs nothing.
        touchBounded(buckets, key, { tokens, at: now }, maxBuckets);
        const retryAfterSeconds = Math.max(1, Math.ceil((1 - tokens) / perSecond));
        throw new AppError('rate_limited', `Too many requests for this credential; retry in ${retryAfterSeconds} s.`, {
          details: { retryAfterSeconds },
        });
      }
      touchBounded(buckets, key, { tokens: tokens - 1, at: now }, maxBuckets);
    },
    stats: () => ({ buckets: buckets.size, refused }),
  };
}
