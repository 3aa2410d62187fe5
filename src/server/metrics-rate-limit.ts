/**
 * The per-credential rate limiter's figures (core/rate-limit.ts) at scrape time:
 * `certkeeper_rate_limited_requests_total` (requests refused by this process since it started) and
 * `certkeeper_rate_limit_buckets` (credentials with a bucket in this process's memory). Both are
 * per process, like the limiter; zero while rate limits are off.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export type RateLimitStatsSource = () => { buckets: number; refused: number };

export function registerRateLimitMetrics(registry: Registry, stats: RateLimitStatsSource): void {
  new Counter({
    name: 'certkeeper_rate_limited_requests_total',
    help: 'Requests refused by the per-credential rate limit in this process (CERTKEEPER_RATE_LIMIT)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats().refused);
    },
  });
  new Gauge({
    name: 'certkeeper_rate_limit_buckets',
    help: 'Credentials with a rate-limit bucket in this process memory',
    registers: [registry],
    collect() {
      this.set(stats().buckets);
    },
  });
}
