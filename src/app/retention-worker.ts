/**
 * The retention pass as `serve` runs it (core/retention.ts): on the app's store, clock and
 * retention settings, logging through the server's logger. Stopped before the store closes.
 */
import type { FastifyBaseLogger } from 'fastify';
import { createRetentionWorker, type RetentionWorker } from '../core/retention.ts';
import type { App } from './app.ts';

export function startRetentionWorker(app: App, logger: FastifyBaseLogger): RetentionWorker {
  const log = logger.child({ component: 'retention' });
  const worker = createRetentionWorker({
    store: app.store,
    clock: app.core.clock,
    settings: app.retention,
    log: {
      info: (fields, message) => log.info(fields, message),
      error: (fields, message) => log.error(fields, message),
    },
  });
  worker.start();
  return worker;
}
