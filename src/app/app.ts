/**
 * The composition root: the one place that knows every part. It opens the store, builds the core
 * on it, and (for `serve`) the HTTP server with its faces. The CLI and the server both start here,
 * so they run the same migrations and the same master-key checks against the same data.
 */
import { createAuditService } from '../core/audit.ts';
import { loadIssuanceConfig, type Config, type IssuanceSetting } from '../config/config.ts';
import type { IssuanceService } from '../core/issuance/service.ts';
import { createCore, type Core } from '../core/core.ts';
import { createTargetFolders } from '../deployers/target-folders.ts';
import { systemClock, type Clock } from '../core/ports.ts';
import type { NotificationSender } from '../core/notifications/ports.ts';
import { createNotificationSender } from '../notifiers/index.ts';
import { openStore, type RotateMasterKeyResult, type StoreHandle } from '../store/open.ts';
import { buildIssuanceService } from './issuance.ts';
import { notifySettings, type NotifySettings } from './notify-settings.ts';
import { DEFAULT_RETENTION, type RetentionSettings } from '../core/certificates.ts';

export interface App {
  core: Core;
  store: StoreHandle;
  /** Certificate issuance (core/issuance/); off (`enabled: false`) without an ACME/DCV configuration. */
  issuance: IssuanceService;
  /** What `loadIssuanceConfig` said (serve logs the reason when it is off). */
  issuanceSetting: IssuanceSetting;
  /** Notification settings (notify-settings.ts) and the senders (src/notifiers/). */
  notify: NotifySettings;
  sender: NotificationSender;
  /** How long versions and deleted certificates are kept (retention-settings.ts). */
  retention: RetentionSettings;
  migrate(): Promise<string[]>;
  rotateMasterKey(newKeyBase64?: string): Promise<RotateMasterKeyResult>;
  close(): Promise<void>;
}

export async function openApp(
  config: Config,
  options: {
    clock?: Clock;
    issuance?: IssuanceSetting;
    notify?: NotifySettings;
    notifyCa?: string[];
    retention?: RetentionSettings;
  } = {},
): Promise<App> {
  const clock = options.clock ?? systemClock;
  const notify = options.notify ?? notifySettings({}, config);
  const sender = createNotificationSender({
    clock,
    allowPrivateAddresses: notify.allowPrivateAddresses,
    ...(options.notifyCa ? { ca: options.notifyCa } : {}),
  });
  const databaseUrl = config.databaseUrl?.reveal();
  const masterKey = config.masterKey?.reveal().toString('base64');
  const store = await openStore({
    dataDir: config.dataDir,
    clock,
    ...(databaseUrl ? { databaseUrl } : {}),
    ...(masterKey ? { masterKey } : {}),
  });
  const retention = options.retention ?? DEFAULT_RETENTION;
  // No setting given (tests, tools): issuance off, with the reason a server without any issuance
  // variable gives (it names the variables to set).
  const issuanceSetting: IssuanceSetting = options.issuance ?? loadIssuanceConfig({});
  const issuance = buildIssuanceService(store, createAuditService(store, clock), clock, issuanceSetting);
  const core = createCore(
    store,
    clock,
    { ...notify, sender },
    retention,
    issuance,
    config.rateLimit,
    createTargetFolders(),
  );
  return {
    core,
    store,
    issuance,
    issuanceSetting,
    notify,
    sender,
    retention,
    migrate: () => store.migrate(),
    rotateMasterKey: (newKeyBase64) => store.rotateMasterKey(newKeyBase64),
    close: () => store.close(),
  };
}
