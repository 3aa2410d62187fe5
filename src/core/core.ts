/** The core as one object: every use-case, wired to one store and one clock. */
import { createAcmService, type AcmService } from './acm.ts';
import { createAuditService, type AuditTrail } from './audit.ts';
import {
  createCertificateService,
  DEFAULT_RETENTION,
  type CertificateService,
  type RetentionSettings,
} from './certificates.ts';
import { createCredentialService, type CredentialService } from './credentials.ts';
import type { TargetFolders } from './deploy/deployer.ts';
import { createDeployTargetService, type DeployTargetService } from './deploy/targets.ts';
import { createDashboardService, type DashboardService } from './dashboard.ts';
import {
  createNotificationService,
  DEFAULT_NOTIFICATION_SETTINGS,
  type NotificationService,
  type NotificationSettings,
} from './notifications/service.ts';
import type { IssuanceService } from './issuance/service.ts';
import type { Clock, Store } from './ports.ts';
import { createProvisioningService, type ProvisioningService } from './provisioning.ts';
import { createRateLimiter, type RateLimiter, type RateLimitSettings } from './rate-limit.ts';
import { createSessionService, type SessionService } from './sessions.ts';
import { createTenantService, type TenantService } from './tenants.ts';
import { createTokenService, type TokenService } from './tokens.ts';

export interface Core {
  clock: Clock;
  tenants: TenantService;
  credentials: CredentialService;
  certificates: CertificateService;
  /** Reading the audit trail; use-cases record their own events. */
  audit: AuditTrail;
  /** NHN bearer tokens: issue for an access key and secret, verify. */
  tokens: TokenService;
  /** Web console sessions: login with an access key and secret, verify, logout. */
  sessions: SessionService;
  /** The web console's dashboard figures. */
  dashboard: DashboardService;
  /** Global Edge slots: provisioning use-cases (the worker is deploy/worker.ts, started by serve). */
  provisioning: ProvisioningService;
  /** Each tenant's deployment target for its slots (CLI `certkeeper target`, the console's target card). */
  targets: DeployTargetService;
  /** The ACM face's use-cases: ARNs, tags, account configuration, keyset lists. */
  acm: AcmService;
  /** Notification channels, rules, test sends, the delivery log; `emit` for events (notifications/). */
  notifications: NotificationService;
  /** Requests per credential (rate-limit.ts): the API faces take a token after authentication. */
  rateLimit: RateLimiter;
  /** Store reachability, for /readyz. */
  ping(): Promise<void>;
}

export function createCore(
  store: Store,
  clock: Clock,
  notifications: NotificationSettings = DEFAULT_NOTIFICATION_SETTINGS,
  retention: RetentionSettings = DEFAULT_RETENTION,
  /** Certificate issuance (app/issuance.ts), for the ACM face's RequestCertificate and RenewCertificate. */
  issuance: IssuanceService | null = null,
  rateLimit: RateLimitSettings | null = null,
  /** A directory target's folder check for `targets.update` (src/deployers/target-folders.ts). */
  folders: TargetFolders | null = null,
): Core {
  const audit = createAuditService(store, clock);
  const credentials = createCredentialService(store, clock, audit);
  const provisioning = createProvisioningService(store, clock, audit);
  // Replacing a certificate republishes the edge slots that use it (a step of `replace`).
  const certificates = createCertificateService(store, clock, audit, provisioning, retention);
  const notify = createNotificationService(store, clock, audit, notifications);
  return {
    clock,
    audit: { list: audit.list, verify: audit.verify },
    tenants: createTenantService(store, clock),
    credentials,
    tokens: createTokenService(store, clock, credentials, audit),
    certificates,
    acm: createAcmService(store, clock, audit, certificates, notify, issuance),
    provisioning,
    targets: createDeployTargetService(store, clock, audit, () => provisioning.wake(), folders),
    sessions: createSessionService(store, clock, credentials, audit),
    dashboard: createDashboardService(store, clock, audit),
    notifications: notify,
    rateLimit: createRateLimiter(clock, rateLimit),
    ping: () => store.ping(),
  };
}
