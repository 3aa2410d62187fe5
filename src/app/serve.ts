/**
 * `certkeeper serve` (and `npm start`): open the app, create the first tenant and credential on an
 * empty store, serve HTTP, run the edge provisioning worker, and shut down gracefully on
 * SIGTERM/SIGINT: HTTP drains first, then the worker stops (its current target call is aborted
 * and its claim released), then the store closes.
 */
import { createAuditService } from '../core/audit.ts';
import type { Config, IssuanceSetting } from '../config/config.ts';
import type { ProvisioningWorker } from '../core/deploy/worker.ts';
import { installSignalHandlers, startServer } from '../server/index.ts';
import { httpsServerOf } from '../server/build.ts';
import { countRequestsInFlight } from '../server/in-flight.ts';
import { STABLE_PLANS_EXTENSION } from '../store/connect.ts';
import { openApp } from './app.ts';
import { bootstrapIfEmpty } from './bootstrap.ts';
import { startEdgeWorker } from './edge-worker.ts';
import { EDGE_WORKER_DEFAULTS, type EdgeWorkerSettings } from './edge-worker-settings.ts';
import { buildFaces, CONSOLE_HOME } from './faces.ts';
import { PACKAGE_VERSION } from './version.ts';
import { startIssuance, type IssuanceWorkerSettings, type RunningIssuance } from './issuance.ts';
import type { NotifySettings } from './notify-settings.ts';
import { startNotificationWorker } from './notify-worker.ts';
import type { NotificationWorker } from '../core/notifications/worker.ts';
import type { RetentionSettings } from '../core/certificates.ts';
import type { RetentionWorker } from '../core/retention.ts';
import { startRetentionWorker } from './retention-worker.ts';

export interface ServeOptions {
  /** The edge worker's lease and poll pause (edge-worker-settings.ts). */
  edgeWorker?: EdgeWorkerSettings;
  /** `loadIssuanceConfig(env)`; issuance is off when absent or off. */
  issuance?: IssuanceSetting;
  /** The issuance worker's timings (tests shorten them). */
  issuanceWorker?: IssuanceWorkerSettings;
  /** Notifications (notify-settings.ts); defaults when absent. */
  notify?: NotifySettings;
  /** Version and deletion retention (retention-settings.ts); defaults when absent. */
  retention?: RetentionSettings;
}

export async function serve(
  config: Config,
  io: { stdout: { write(text: string): unknown } },
  options: ServeOptions = {},
): Promise<void> {
  const app = await openApp(config, {
    ...(options.issuance ? { issuance: options.issuance } : {}),
    ...(options.notify ? { notify: options.notify } : {}),
    ...(options.retention ? { retention: options.retention } : {}),
  });
  let worker: ProvisioningWorker | null = null;
  let issuance: RunningIssuance | null = null;
  let notifyWorker: NotificationWorker | null = null;
  let retentionWorker: RetentionWorker | null = null;
  try {
    const { credentialsFile } = await bootstrapIfEmpty(app.core, config.dataDir);
    const running = await startServer({
      config,
      store: app.store,
      clock: app.core.clock,
      faces: buildFaces(app.core, config, app.issuance),
      homePath: CONSOLE_HOME,
      version: PACKAGE_VERSION,
      expiryHistogram: (asOf, bounds) => app.store.certificates.expiryHistogram(null, asOf, bounds),
      notificationCounts: () => app.store.notifications.countDeliveries(),
      rateLimitStats: () => app.core.rateLimit.stats(),
    });
    // A store outage is one event: an error line when it starts, an info line when it ends
    // (store/availability.ts); each request it fails is the face's 503, logged at info.
    const storeLog = running.app.log.child({ component: 'store' });
    // A relapse (the same cause again within a minute of recovering) is the same incident: a warning.
    app.store.onAvailabilityChange((event) =>
      event.kind === 'recovered'
        ? storeLog.info(
            { code: event.code, downMs: event.downMs, failedStatements: event.failures },
            'store available again',
          )
        : event.relapse
          ? storeLog.warn({ code: event.code }, 'store unavailable again soon after recovering: requests get 503')
          : storeLog.error({ code: event.code }, 'store unavailable: requests get 503 until it recovers'),
    );
    // SQLite: WAL checkpoints off the event loop from now on (store/sqlite-checkpointer.ts).
    app.store.startBackgroundCheckpoints((message) => running.app.log.warn(message));
    worker = startEdgeWorker(app, options.edgeWorker ?? EDGE_WORKER_DEFAULTS, running.app.log);
    notifyWorker = startNotificationWorker(app, running.app.log);
    retentionWorker = startRetentionWorker(app, running.app.log);
    const retention = retentionWorker;
    const edgeWorker = worker;
    for (const warning of app.issuanceSetting.warnings ?? []) running.app.log.warn(warning);
    if (app.issuanceSetting.on) {
      const log = running.app.log.child({ component: 'issuance' });
      issuance = await startIssuance(
        {
          store: app.store,
          service: app.issuance,
          certificates: app.core.certificates,
          audit: createAuditService(app.store, app.core.clock),
          clock: app.core.clock,
          config: app.issuanceSetting.config,
          log: {
            info: (fields, message) => log.info(fields, message),
            warn: (fields, message) => log.warn(fields, message),
            error: (fields, message) => log.error(fields, message),
          },
          host: config.host,
          notify: (tenantId, subjectKey, input) => app.core.notifications.emit(tenantId, subjectKey, input),
          inFlight: countRequestsInFlight([running.app.server, httpsServerOf(running.app)]),
        },
        options.issuanceWorker,
      );
      running.app.log.info(
        { directoryUrl: app.issuanceSetting.config.directoryUrl, http01Port: issuance.http01Port },
        'certificate issuance is on',
      );
    } else {
      running.app.log.info(`certificate issuance is off: ${app.issuanceSetting.reason}`);
    }
    const runningIssuance = issuance;
    const notifications = notifyWorker;
    // The workers write to the store: they stop before the store closes.
    installSignalHandlers(running.app, {
      async close() {
        await runningIssuance?.stop();
        await Promise.all([edgeWorker.stop(), notifications.stop(), retention.stop()]);
        await app.store.close();
      },
    });
    io.stdout.write(`certkeeper listening on ${running.address} (${app.store.dialect}: ${app.store.location})\n`);
    if (running.secure) io.stdout.write(`certkeeper listening on ${running.secure.address} (HTTPS)\n`);
    io.stdout.write(`Console: ${(running.secure ?? running).address}${CONSOLE_HOME}\n`);
    if (app.store.stablePlans === false) {
      running.app.log.warn(
        { extension: STABLE_PLANS_EXTENSION },
        'SQLite stable-plans extension not loaded: joins and list pages are planned again on every run (about twice the CPU of a list request). Build it with `npm run build:sqlite-extension` (needs a C compiler).',
      );
    }
    for (const notice of app.store.notices) running.app.log.warn({ notice: notice.code }, notice.message);
    if (app.store.sqliteFastPaths === false) {
      running.app.log.warn(
        'SQLite fast paths are off (CERTKEEPER_SQLITE_FAST_PATHS=off): every query is built, prepared and run by Kysely, for A/B measurements only (store/sqlite-fast-paths.ts).',
      );
    }
    if (credentialsFile) {
      // The path only: the secret stays in the 0600 file.
      io.stdout.write(
        `First start: tenant 'default' and an ADMIN credential were created. They are in ${credentialsFile}\n`,
      );
    }
  } catch (error) {
    await issuance?.stop();
    await worker?.stop();
    await notifyWorker?.stop();
    await retentionWorker?.stop();
    await app.close();
    throw error;
  }
}
