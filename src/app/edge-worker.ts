/**
 * The edge provisioning worker as `serve` runs it: on the app's store, core and clock, publishing
 * through the real deployment targets (src/deployers/), woken by every slot change made through
 * this process, logging through the server's logger.
 */
import type { FastifyBaseLogger } from 'fastify';
import { createAuditService } from '../core/audit.ts';
import type { WorkerLog } from '../core/background-loop.ts';
import { createProvisioningWorker, type ProvisioningWorker } from '../core/deploy/worker.ts';
import { createDeployers } from '../deployers/index.ts';
import type { App } from './app.ts';
import type { EdgeWorkerSettings } from './edge-worker-settings.ts';

function workerLog(logger: FastifyBaseLogger): WorkerLog {
  const log = logger.child({ component: 'edge-worker' });
  return {
    info: (fields, message) => log.info(fields, message),
    warn: (fields, message) => log.warn(fields, message),
    error: (fields, message) => log.error(fields, message),
  };
}

export function startEdgeWorker(app: App, settings: EdgeWorkerSettings, logger: FastifyBaseLogger): ProvisioningWorker {
  const worker = createProvisioningWorker({
    store: app.store,
    clock: app.core.clock,
    // The worker records its own outcomes; core hands faces only the reading side of the trail.
    audit: createAuditService(app.store, app.core.clock),
    leaseMs: settings.leaseMs,
    pollMs: settings.pollMs,
    changes: (listener) => app.core.provisioning.onChange(listener),
    notify: (tenantId, subjectKey, input) => app.core.notifications.emit(tenantId, subjectKey, input),
    log: workerLog(logger),
    deployers: createDeployers({ clock: app.core.clock }),
  });
  worker.start();
  return worker;
}
