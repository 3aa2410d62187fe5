/** The core as one object: every use-case, wired to one store and one clock. */
import { createAuditService, type AuditService } from './audit.ts';
import { createCertificateService, type CertificateService } from './certificates.ts';
import { createCredentialService, type CredentialService } from './credentials.ts';
import { republishOnReplace } from './deploy/republish.ts';
import { createDeployTargetService, type DeployTargetService } from './deploy/targets.ts';
import { createDashboardService, type DashboardService } from './dashboard.ts';
import {
  createNotificationService,
  DEFAULT_NOTIFICATION_SETTINGS,
  type NotificationService,
  type NotificationSettings,
} from './notifications/service.ts';
import type { Clock, Store } from './ports.ts';
import { createProvisioningService, type ProvisioningService } from './provisioning.ts';
import { createSessionService, type SessionService } from './sessions.ts';
import { createTenantService, type TenantService } from './tenants.ts';
import { createTokenService, type TokenService } from './tokens.ts';

export interface Core {
  clock: Clock;
  tenants: TenantService;
  credentials: CredentialService;
  certificates: CertificateService;
  audit: AuditService;
  /** NHN bearer tokens: issue for an access key and secret, verify. */
  tokens: TokenService;
  /** Web console sessions: login with an access key and secret, verify, logout. */
  sessions: SessionService;
  /** The web console's dashboard figures. */
  dashboard: DashboardService;
  /** Global Edge slots: provisioning use-cases (the worker is deploy/worker.ts, started by serve). */
  provisioning: ProvisioningService;
  /** Each tenant's deployment target for its slots (CLI `certkeeper target`). */
  targets: DeployTargetService;
  /** Notification channels, rules, test sends, the delivery log; `emit` for events (notifications/). */
  notifications: NotificationService;
  /** Store reachability, for /readyz. */
  ping(): Promise<void>;
}

export function createCore(
  store: Store,
  clock: Clock,
  notifications: NotificationSettings = DEFAULT_NOTIFICATION_SETTINGS,
): Core {
  const audit = createAuditService(store, clock);
  const credentials = createCredentialService(store, clock, audit);
  const provisioning = createProvisioningService(store, clock, audit);
  return {
    clock,
    audit,
    tenants: createTenantService(store, clock),
    credentials,
    tokens: createTokenService(store, clock, credentials, audit),
    // A replaced certificate republishes the edge slots that use it (deploy/republish.ts).
    certificates: republishOnReplace(createCertificateService(store, clock, audit), provisioning),
    provisioning,
    targets: createDeployTargetService(store, clock, audit, () => provisioning.wake()),
    sessions: createSessionService(store, clock, credentials, audit),
    dashboard: createDashboardService(store, clock, audit),
    notifications: createNotificationService(store, clock, audit, notifications),
    ping: () => store.ping(),
  };
}
