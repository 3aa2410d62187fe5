/**
 * The ports core/ owns and store/ implements. Narrow on purpose: each method is one thing a
 * use-case needs, named for that need. Every method that reads or writes tenant data takes the
 * tenant id first; no method crosses tenants.
 *
 * Failure contract for implementations:
 * - unique violations surface as `AppError('already_exists', …, { field })` where `field` names
 *   the colliding input (`name`, `certificate`, `privateKey`, `accessKey`), mapped from the
 *   driver's error code, never from its message text;
 * - a missing row is `null` from getters, never an exception;
 * - anything else propagates as is (the face turns it into its generic internal error).
 */
import type { AuditEvent, Certificate, CertificateOrigin, CertificateType, Credential, Role, Tenant } from '../domain/model.ts';
import type { CertificateFacts } from '../domain/x509/types.ts';

/** Injected clock: status and expiry are always computed against it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

// ---------------------------------------------------------------------------------------------
// Tenants and credentials

export interface NewTenant {
  name: string;
  memberNo: string;
  appKey: string;
}

export interface TenantRepository {
  create(tenant: NewTenant, at: Date): Promise<Tenant>;
  getById(id: number): Promise<Tenant | null>;
  getByName(name: string): Promise<Tenant | null>;
  getByAppKey(appKey: string): Promise<Tenant | null>;
  list(): Promise<Tenant[]>;
  setAppKeyAuth(id: number, enabled: boolean): Promise<void>;
  count(): Promise<number>;
}

export interface NewCredential {
  tenantId: number;
  accessKey: string;
  /** The secret, already sealed by the vault. */
  sealedSecret: SealedSecret;
  role: Role;
  description: string;
}

export interface CredentialWithSecret {
  credential: Credential;
  sealedSecret: SealedSecret;
}

export interface CredentialRepository {
  create(credential: NewCredential, at: Date): Promise<Credential>;
  /** Includes revoked credentials; callers check `revokedAt`. */
  getByAccessKey(accessKey: string): Promise<CredentialWithSecret | null>;
  list(tenantId: number | null): Promise<Credential[]>;
  revoke(accessKey: string, at: Date): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// Secrets at rest

/**
 * A secret sealed with AES-256-GCM under a data key. Opaque to core: only the vault opens it.
 * `dataKeyId` names the wrapped data key; `blob` is nonce ‖ ciphertext ‖ tag.
 */
export interface SealedSecret {
  dataKeyId: number;
  blob: Buffer;
}

export interface Vault {
  /** `context` is bound as additional authenticated data (e.g. `certificate-key:42`), so a blob moved to another row does not open. */
  seal(plaintext: Buffer, context: string): Promise<SealedSecret>;
  open(sealed: SealedSecret, context: string): Promise<Buffer>;
}

// ---------------------------------------------------------------------------------------------
// Certificates

export interface NewCertificate {
  tenantId: number;
  name: string;
  type: CertificateType;
  origin: CertificateOrigin;
  certificatePem: string;
  chainPems: string[];
  facts: CertificateFacts;
  /** PKCS#8 PEM of the private key, sealed by the store's vault inside the write transaction. */
  privateKeyPem: string | null;
  /** NHN file as uploaded, kept byte for byte, and its name. */
  file: { name: string; bytes: Buffer } | null;
}

export type CertificateSort = 'certificateNo' | 'name' | 'notAfter' | 'createdAt' | 'updatedAt';

/** Validity filter, evaluated against `asOf` (the injected clock), never a stored flag. */
export type ValidityFilter = 'all' | 'expired' | 'unexpired';

export interface CertificateQuery {
  tenantId: number;
  /** Exact name. */
  name?: string;
  /** Case-insensitive substring of the name (console search). */
  nameContains?: string;
  certificateNo?: number;
  /** A DNS name the certificate covers, exact, case-insensitive. */
  domain?: string;
  validity?: ValidityFilter;
  asOf: Date;
  /** Edge slot (NCP `instanceNo`) that uses the certificate. */
  usedByInstanceNo?: number;
  /** Changed (created, replaced, deleted) within [from, to). Includes deleted rows. */
  changedBetween?: { from: Date; to: Date };
  sort?: CertificateSort;
  order?: 'asc' | 'desc';
  offset: number;
  /** Maximum rows; the store caps it (see CERTIFICATE_PAGE_MAX). */
  limit: number;
}

export const CERTIFICATE_PAGE_MAX = 1000;

export interface CertificatePage {
  items: Certificate[];
  /** Exact count of rows matching the query without offset/limit. */
  total: number;
}

export interface CertificateFile {
  name: string;
  bytes: Buffer;
}

export interface CertificateRepository {
  /** Inserts in one transaction; assigns the next never-reused certificateNo of the tenant. */
  insert(certificate: NewCertificate, at: Date): Promise<Certificate>;
  /** Replaces bytes, facts, key and file of a live certificate, keeping its number and name. */
  replace(tenantId: number, certificateNo: number, replacement: Omit<NewCertificate, 'tenantId' | 'name' | 'type'>, at: Date): Promise<Certificate>;
  get(tenantId: number, certificateNo: number): Promise<Certificate | null>;
  getByName(tenantId: number, name: string): Promise<Certificate | null>;
  list(query: CertificateQuery): Promise<CertificatePage>;
  /** Live certificate whose leaf or public key fingerprint matches (duplicate detection). */
  findDuplicate(tenantId: number, facts: Pick<CertificateFacts, 'fingerprintSha256' | 'publicKeyFingerprintSha256'>): Promise<Certificate | null>;
  /** The decrypted PKCS#8 PEM, or null when the certificate has none. Callers audit every call. */
  readPrivateKey(tenantId: number, certificateNo: number): Promise<string | null>;
  /** The uploaded NHN file, or null when none was uploaded. */
  readFile(tenantId: number, certificateNo: number): Promise<CertificateFile | null>;
  /** Soft delete: the row stays for recentChanges and the number is never reused. */
  markDeleted(tenantId: number, certificateNo: number, at: Date): Promise<boolean>;
  /** Instance numbers (edge slots) that use the certificate. Empty until edge slots exist. */
  usedBy(tenantId: number, certificateNo: number): Promise<number[]>;
  /** Count by status bucket, for metrics and the dashboard. */
  countByValidity(tenantId: number | null, asOf: Date): Promise<{ valid: number; expired: number; notYetValid: number }>;
  /**
   * Days-to-expiry histogram of live certificates, for /metrics: `cumulativeCounts[i]` counts
   * those with (notAfter - asOf) in days <= `upperBoundsDays[i]`; `sumDays` is fractional and
   * negative for expired certificates.
   */
  expiryHistogram(tenantId: number | null, asOf: Date, upperBoundsDays: readonly number[]): Promise<{ cumulativeCounts: number[]; count: number; sumDays: number }>;
}

// ---------------------------------------------------------------------------------------------
// Audit

export type NewAuditEvent = Omit<AuditEvent, 'id'>;

export interface AuditQuery {
  tenantId: number | null;
  target?: string;
  action?: string;
  limit: number;
  /** Events with id < beforeId (keyset paging, newest first). */
  beforeId?: number;
}

export interface AuditRepository {
  append(event: NewAuditEvent): Promise<void>;
  list(query: AuditQuery): Promise<AuditEvent[]>;
}

// ---------------------------------------------------------------------------------------------
// The store as a whole

export interface Store {
  readonly tenants: TenantRepository;
  readonly credentials: CredentialRepository;
  readonly certificates: CertificateRepository;
  readonly audit: AuditRepository;
  readonly vault: Vault;
  /** Cheap round trip for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
