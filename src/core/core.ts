/** The core as one object: every use-case, wired to one store and one clock. */
import { createAuditService, type AuditService } from './audit.ts';
import { createCertificateService, type CertificateService } from './certificates.ts';
import { createCredentialService, type CredentialService } from './credentials.ts';
import type { Clock, Store } from './ports.ts';
import { createTenantService, type TenantService } from './tenants.ts';

export interface Core {
  clock: Clock;
  tenants: TenantService;
  credentials: CredentialService;
  certificates: CertificateService;
  audit: AuditService;
  /** Store reachability, for /readyz. */
  ping(): Promise<void>;
}

export function createCore(store: Store, clock: Clock): Core {
  const audit = createAuditService(store, clock);
  return {
    clock,
    audit,
    tenants: createTenantService(store, clock),
    credentials: createCredentialService(store, clock, audit),
    certificates: createCertificateService(store, clock, audit),
    ping: () => store.ping(),
  };
}
