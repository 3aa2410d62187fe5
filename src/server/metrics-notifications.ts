/**
 * `certkeeper_notification_deliveries{status}`: notification deliveries (outbox rows) of every
 * tenant by status at scrape time: `pending` (queued or waiting for a retry), `sent`, `failed`
 * (gave up after the last retry). Finished rows leave the count when the delivery log's retention
 * prunes them. A failing store leaves the gauge without samples and logs a warning, like the
 * certificate metrics. The store answers without reading a finished row (pending ones through
 * their partial index, sent and failed from counts kept with the writes: migration 0027).
 */
import { Gauge, type Registry } from 'prom-client';
import type { FastifyBaseLogger } from 'fastify';

export type NotificationCountsSource = () => Promise<Record<'pending' | 'sent' | 'failed', number>>;

export function registerNotificationMetrics(
  registry: Registry,
  deps: { counts: NotificationCountsSource; log: FastifyBaseLogger },
): void {
  new Gauge({
    name: 'certkeeper_notification_deliveries',
    help: 'Notification deliveries of all tenants by status at scrape time (pending, sent, failed)',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const counts = await deps.counts();
        for (const status of ['pending', 'sent', 'failed'] as const) this.set({ status }, counts[status]);
      } catch (err) {
        deps.log.warn({ err }, 'metrics: counting notification deliveries failed');
      }
    },
  });
}
