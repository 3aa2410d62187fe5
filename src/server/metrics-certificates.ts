/**
 * Inventory metrics, computed from the store at scrape time (never cached, never stale):
 *
 * - `certkeeper_certificates{status}` gauge, status = valid | expired | not_yet_valid, from
 *   `store.certificates.countByValidity(null, clock.now())` (all tenants).
 * - `certkeeper_certificate_days_to_expiry` histogram over live certificates, buckets 0, 7, 14,
 *   30, 60, 90, 180, 365, +Inf days. Days are fractional and negative once expired, so the
 *   `le="0"` bucket counts the expired ones. Only exported when an `ExpiryHistogramSource` is
 *   given: the store reads it from its expiry-day counters, exactly, at a cost that does not grow
 *   with the number of certificates (store/repositories/expiry-histogram.ts).
 *
 * A failing store does not fail the scrape: HTTP and process metrics are still worth having.
 * The inventory metrics are then left without samples (not stale values) and a warning is logged.
 */
import { Gauge, type Metric, type Registry } from 'prom-client';
import type { FastifyBaseLogger } from 'fastify';
import type { CertificateRepository, Clock } from '../core/ports.ts';

export const EXPIRY_BUCKETS_DAYS: readonly number[] = [0, 7, 14, 30, 60, 90, 180, 365];

export interface ExpiryHistogram {
  /** `cumulativeCounts[i]` = live certificates with days to expiry <= `upperBoundsDays[i]`. */
  cumulativeCounts: number[];
  /** All live certificates (the `+Inf` bucket). */
  count: number;
  /** Sum of their days to expiry (fractional, negative for expired ones). */
  sumDays: number;
}

/**
 * Where the histogram comes from: `app/serve.ts` wires
 * `(asOf, bounds) => store.certificates.expiryHistogram(null, asOf, bounds)` (every tenant).
 */
export type ExpiryHistogramSource = (asOf: Date, upperBoundsDays: readonly number[]) => Promise<ExpiryHistogram>;

const DAY_MS = 86_400_000;

/** Reference implementation over a list of `notAfter`s: for fakes and to check a store's SQL. */
export function expiryHistogramOf(
  notAfters: readonly Date[],
  asOf: Date,
  upperBoundsDays: readonly number[],
): ExpiryHistogram {
  const days = notAfters.map((d) => (d.getTime() - asOf.getTime()) / DAY_MS);
  return {
    cumulativeCounts: upperBoundsDays.map((bound) => days.filter((d) => d <= bound).length),
    count: days.length,
    sumDays: days.reduce((sum, d) => sum + d, 0),
  };
}

export interface CertificateMetricsDeps {
  certificates: Pick<CertificateRepository, 'countByValidity'>;
  clock: Clock;
  log: FastifyBaseLogger;
  expiryHistogram?: ExpiryHistogramSource | undefined;
}

export function registerCertificateMetrics(registry: Registry, deps: CertificateMetricsDeps): void {
  new Gauge({
    name: 'certkeeper_certificates',
    help: 'Live certificates of all tenants by validity status at scrape time',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const counts = await deps.certificates.countByValidity(null, deps.clock.now());
        this.set({ status: 'valid' }, counts.valid);
        this.set({ status: 'expired' }, counts.expired);
        this.set({ status: 'not_yet_valid' }, counts.notYetValid);
      } catch (err) {
        deps.log.warn({ err }, 'metrics: counting certificates failed');
      }
    },
  });
  if (deps.expiryHistogram) registry.registerMetric(expiryHistogramMetric(deps.expiryHistogram, deps));
}

/**
 * prom-client's Histogram only accumulates observations; ours arrives as finished bucket counts
 * from the store. So this is a minimal metric object in the shape the registry reads
 * (`name`, `help`, `type`, `aggregator`, `get()`), cast once because prom-client's `Metric` type
 * is a union of its own classes.
 */
function expiryHistogramMetric(source: ExpiryHistogramSource, deps: CertificateMetricsDeps): Metric {
  const name = 'certkeeper_certificate_days_to_expiry';
  const help = 'Live certificates by days until notAfter at scrape time (negative once expired)';
  const base = { name, help, type: 'histogram', aggregator: 'sum' } as const;
  const metric = {
    ...base,
    async get() {
      try {
        const h = await source(deps.clock.now(), EXPIRY_BUCKETS_DAYS);
        const values = [
          ...EXPIRY_BUCKETS_DAYS.map((le, i) => ({
            metricName: `${name}_bucket`,
            labels: { le },
            value: h.cumulativeCounts[i] ?? 0,
          })),
          { metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: h.count },
          { metricName: `${name}_sum`, labels: {}, value: h.sumDays },
          { metricName: `${name}_count`, labels: {}, value: h.count },
        ];
        return { ...base, values };
      } catch (err) {
        deps.log.warn({ err }, 'metrics: computing the expiry histogram failed');
        return { ...base, values: [] };
      }
    },
  };
  return metric as unknown as Metric;
}
