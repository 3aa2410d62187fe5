/**
 * `GET /metrics` in Prometheus text format, from a registry owned by one server instance (not
 * prom-client's global default registry), so several servers in one process (tests, or a future
 * admin listener) never collide on metric names or mix their counts.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { instrumentHttp } from './metrics-http.ts';
import { registerCertificateMetrics, type CertificateMetricsDeps } from './metrics-certificates.ts';
import { registerNotificationMetrics, type NotificationCountsSource } from './metrics-notifications.ts';
import { registerRateLimitMetrics, type RateLimitStatsSource } from './metrics-rate-limit.ts';

export function registerMetrics(
  app: FastifyInstance,
  deps: Omit<CertificateMetricsDeps, 'log'> & {
    notificationCounts?: NotificationCountsSource | undefined;
    rateLimitStats?: RateLimitStatsSource | undefined;
  },
): Registry {
  const registry = new Registry();
  // Process metrics (CPU, memory, event-loop lag, GC) under the usual names.
  collectDefaultMetrics({ register: registry });
  instrumentHttp(app, registry);
  registerCertificateMetrics(registry, { ...deps, log: app.log });
  if (deps.notificationCounts) registerNotificationMetrics(registry, { counts: deps.notificationCounts, log: app.log });
  if (deps.rateLimitStats) registerRateLimitMetrics(registry, deps.rateLimitStats);
  app.get('/metrics', async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
  return registry;
}
