/**
 * The notification worker as `serve` runs it (core/notifications/worker.ts): on the app's store,
 * clock and sender, woken when this process queues a delivery, logging through the server's
 * logger. Started next to the edge worker; stopped before the store closes.
 */
import type { FastifyBaseLogger } from 'fastify';
import { createNotificationWorker, type NotificationWorker } from '../core/notifications/worker.ts';
import type { App } from './app.ts';

export function startNotificationWorker(app: App, logger: FastifyBaseLogger): NotificationWorker {
  const log = logger.child({ component: 'notify-worker' });
  const settings = app.notify;
  const worker = createNotificationWorker({
    store: app.store,
    clock: app.core.clock,
    sender: app.sender,
    publicBaseUrl: settings.publicBaseUrl,
    retentionMs: settings.retentionMs,
    timeoutMs: settings.timeoutMs,
    leaseMs: settings.leaseMs,
    pollMs: settings.pollMs,
    scanEveryMs: settings.scanEveryMs,
    changes: (listener) => app.core.notifications.onQueued(listener),
    log: {
      info: (fields, message) => log.info(fields, message),
      warn: (fields, message) => log.warn(fields, message),
      error: (fields, message) => log.error(fields, message),
    },
  });
  worker.start();
  return worker;
}
