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
import type { StoredChainEvent } from '../domain/audit-chain.ts';
import type {
  AuditEvent,
  Certificate,
  CertificateOrigin,
  CertificateSummary,
  CertificateType,
  CertificateVersion,
  CertificateVersionDetail,
  Credential,
  Role,
  Tenant,
} from '../domain/model.ts';
import type { DeployTarget, DeployTargetKind, DeployTargetSpec, LastDeployment } from '../domain/deploy-target.ts';
import type { CipherProfile, EdgeSlot, ItemRegion, ServiceRegion, TlsVersion } from '../domain/edge-slot.ts';
import type { CertificateFacts } from '../domain/x509/types.ts';
import type { CertificateKeyKind } from './issuance/issuer.ts';
import type { OrderStep } from './issuance/ports.ts';
import type { NotificationRepository } from './notifications/ports.ts';

/** Injected clock: status and expiry are always computed against it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

// ---------------------------------------------------------------------------------------------
// A credential to confirm in a request's own read

/**
 * What a request's read must confirm when its face verified the signature or token with a
 * credential kept in this process (core/credentials.ts `cachedForVerification`, core/tokens.ts
 * `verify`'s `cached`): the credential row (by id) or the NHN token row (by hash) that
 * authenticated it. It may have been revoked since, by any process.
 */
export type CredentialCheck = { credentialId: number } | { tokenHash: string };

/**
 * The state a check finds, read in the same snapshot as the request's data: `live` (the row is
 * there and not revoked), `revoked` (the credential, or the token's credential, is revoked),
 * `unknown` (no such row: a token pruned since).
 */
export type CredentialState = 'live' | 'revoked' | 'unknown';

/**
 * A pending check, handed to the store methods that can answer it (`CertificateRepository.list`
 * and `getWithSecrets`, `SlotRepository.list`, `AcmRepository.list`). The store sets `state`
 * before it resolves: from the request's own statement where the dialect merges reads
 * (PostgreSQL), else from a statement of its own. Core reads it before it uses the answer
 * (core/actor.ts `settleCredential`).
 */
export interface CredentialConfirmation {
  readonly check: CredentialCheck;
  state?: CredentialState;
}

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
  /** Answers a pending check by a read of its own (a use-case with no read to carry it). */
  confirm(confirmation: CredentialConfirmation): Promise<void>;
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
  /**
   * A number reserved for this certificate beforehand (IssuanceRepository.createOrder); absent:
   * the next number. Inserting a reserved number twice is refused like any duplicate.
   */
  certificateNo?: number;
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
  /**
   * Edge slot (NCP `instanceNo`): only the certificates it uses (the slot not DELETED and the
   * actor's tenant's), by the same rule as `CertificateUsageRepository.usersOf`.
   */
  usedByInstanceNo?: number;
  /** Changed (created, replaced, deleted) within [from, to). Includes deleted rows. */
  changedBetween?: { from: Date; to: Date };
  // The search filters (issue 20). Core's list validates and normalises them
  // (core/certificate-search.ts) before the store sees them; the store reads them through the
  // search indexes of migration 0013 (repositories/certificate-search.ts).
  /**
   * Certificates that cover this host by RFC 6125 (domain/x509/hostname.ts `namesCovering`):
   * one of their names (`CertificateFacts.domains`: SAN dNSNames, else the CN) is the host or the
   * wildcard one label up. Lower-case A-labels.
   */
  coversHost?: string;
  /** An IP SAN, in the canonical form of domain/x509/ip-address.ts. */
  ipAddress?: string;
  /** Certificates with a name equal to this zone or below it, wildcards included. Lower-case A-labels. */
  zone?: string;
  /** Case-insensitive (ASCII) substring of one of the certificate's DNS names; 3 characters or more. */
  domainContains?: string;
  /** notAfter within [from, to). */
  notAfterBetween?: { from: Date; to: Date };
  /** Key algorithm (`RSA`, `EC`, …) and, when given, size in bits. */
  keyType?: { algorithm: string; bits?: number };
  /** The CA name the faces print (`CertificateFacts.caName`), exact, case-insensitive (ASCII). */
  issuer?: string;
  /**
   * Keyset paging: rows strictly after this one in the query's order (sort key value, then
   * certificateNo). With it, `offset` must be 0. Only the search path takes it.
   */
  after?: CertificateCursor;
  sort?: CertificateSort;
  order?: 'asc' | 'desc';
  offset: number;
  /** Maximum rows; the store caps it (see CERTIFICATE_PAGE_MAX). */
  limit: number;
  /**
   * Also answer which edge slots use each certificate of the page (`CertificatePage.usedBy`, as
   * `CertificateUsageRepository.usersOf` answers it): in the page's own statement where the
   * dialect merges reads (PostgreSQL), else one more read.
   */
  withUsers?: boolean;
}

/** A row's place in a list order: its sort key's value (a name, or epoch ms) and its number. */
export interface CertificateCursor {
  key: string | number;
  certificateNo: number;
}

export const CERTIFICATE_PAGE_MAX = 1000;

export interface CertificatePage {
  /** Summaries: list pages never carry PEM text (read one certificate for that). */
  items: CertificateSummary[];
  /**
   * Count of rows matching the query without offset/limit: exact when `totalExact`, else a lower
   * bound (more than `total - 1` match; only search queries whose exact count would need a scan).
   */
  total: number;
  totalExact: boolean;
  /** With `withUsers`: slot ids using each certificate of `items`, ascending; every item's number is a key. */
  usedBy?: Map<number, number[]>;
}

export interface CertificateFile {
  name: string;
  bytes: Buffer;
}

/**
 * A live certificate with the secrets its NHN file is made of (CertificateRepository
 * `getWithSecrets`). The secrets are unsealed only by these calls, which the caller audits as
 * it audits `readFile` and `readPrivateKey`.
 */
export interface CertificateWithSecrets {
  certificate: Certificate;
  /** The uploaded NHN file, or null when none was uploaded (as `readFile`). */
  readFile(): Promise<CertificateFile | null>;
  /** The decrypted PKCS#8 PEM, or null when the certificate has none (as `readPrivateKey`). */
  readPrivateKey(): Promise<string | null>;
}

/** What step 9 needs to know of a live certificate (CertificateRepository.findLiveHolders). */
export interface LiveHolder {
  certificateNo: number;
  name: string;
  fingerprintSha256: string;
  publicKeyFingerprintSha256: string;
}

export interface CertificateRepository {
  /**
   * Inserts in one transaction; assigns the next never-reused certificateNo of the tenant. With
   * `audit`, also appends that event to its chain in the same transaction (AuditRepository's
   * `append`, but committed with the certificate, or rolled back with it): the success event of
   * an import, one commit for both (core/audit.ts `aroundWrite`).
   */
  insert(certificate: NewCertificate, at: Date, audit?: NewAuditEvent): Promise<Certificate>;
  /**
   * Inserts several certificates of one tenant in one transaction (the bulk import), with what
   * `insert` writes for each and one counter update for all: all land, or none does. A refusal
   * (a unique index) fails the whole batch with the driver's error, unmapped: the caller retries
   * each through `insert`, which says which field collided.
   */
  insertMany(tenantId: number, certificates: readonly NewCertificate[], at: Date): Promise<Certificate[]>;
  /**
   * Replaces bytes, facts, key and file of a live certificate, keeping its number and name, and
   * keeps what it replaced as a version (CertificateVersionRepository) recorded as replaced by
   * `replacedBy` (an actor id); one transaction: a crash leaves the old or the new version current.
   */
  replace(
    tenantId: number,
    certificateNo: number,
    replacement: Omit<NewCertificate, 'tenantId' | 'name' | 'type'>,
    at: Date,
    replacedBy?: string,
  ): Promise<Certificate>;
  get(tenantId: number, certificateNo: number): Promise<Certificate | null>;
  getByName(tenantId: number, name: string): Promise<Certificate | null>;
  /** Summaries of the live ones of `certificateNos`, by number, in one query (numbers not live are absent). */
  getMany(tenantId: number, certificateNos: readonly number[]): Promise<Map<number, CertificateSummary>>;
  list(query: CertificateQuery, confirm?: CredentialConfirmation): Promise<CertificatePage>;
  /**
   * The live certificates that hold any of these certificate fingerprints, public key
   * fingerprints or names (the bulk import's step 9 for a batch, in a few queries instead of three
   * per certificate). Each at most once, in no particular order.
   */
  findLiveHolders(
    tenantId: number,
    keys: { fingerprints: readonly string[]; spkis: readonly string[]; names: readonly string[] },
  ): Promise<LiveHolder[]>;
  /** Live certificate whose leaf or public key fingerprint matches (duplicate detection). */
  findDuplicate(
    tenantId: number,
    facts: Pick<CertificateFacts, 'fingerprintSha256' | 'publicKeyFingerprintSha256'>,
  ): Promise<Certificate | null>;
  /** The decrypted PKCS#8 PEM, or null when the certificate has none. Callers audit every call. */
  readPrivateKey(tenantId: number, certificateNo: number): Promise<string | null>;
  /** The uploaded NHN file, or null when none was uploaded. */
  readFile(tenantId: number, certificateNo: number): Promise<CertificateFile | null>;
  /**
   * The live certificate by number or name (as `get`, `getByName`), null when there is none,
   * with its uploaded file and key to unseal on demand. Where the dialect merges reads
   * (PostgreSQL) the row, the sealed file and the sealed key come in one statement (one round
   * trip instead of three) and are unsealed only when asked; elsewhere each secret is read when
   * asked, as `readFile` and `readPrivateKey` read it.
   */
  getWithSecrets(
    tenantId: number,
    ref: { certificateNo: number } | { name: string },
    confirm?: CredentialConfirmation,
  ): Promise<CertificateWithSecrets | null>;
  /**
   * Soft delete: the row stays for recentChanges and the number is never reused. Refused with
   * `AppError('in_use')` while a slot uses the certificate, decided under the certificate row's
   * lock (see CertificateUsageRepository), so a delete racing a provision never leaves a deleted
   * certificate in a live slot. False when the certificate is missing or already deleted.
   */
  markDeleted(tenantId: number, certificateNo: number, at: Date, options?: { purge?: boolean }): Promise<boolean>;
  /**
   * Recoverable deletion (migration 0012): a deleted certificate keeps its key, file and versions
   * until it is purged, but frees its name, certificate and key for new imports at once. `restore`
   * makes it live again (the unique live indexes refuse it, `already_exists` with the field, while
   * another live certificate holds its name, certificate or key); `purge` drops key, file and
   * versions for good (the row stays for recentChanges). Both conditional on the row's state, so
   * a restore and a purge racing (or two purges) cannot both apply.
   */
  restore(tenantId: number, certificateNo: number, at: Date): Promise<Certificate | RecoveryRefusal>;
  /** A recoverable (deleted, not purged) certificate; null otherwise. */
  getRecoverable(tenantId: number, certificateNo: number): Promise<Certificate | null>;
  purge(tenantId: number, certificateNo: number, at: Date): Promise<true | RecoveryRefusal>;
  /** Recoverable (deleted, not purged) certificates of the tenant, most recently deleted first; exact total. */
  listDeleted(tenantId: number, page: { offset: number; limit: number }): Promise<CertificatePage>;
  /**
   * The retention pass: purges at most `limit` certificates deleted before `deletedBefore` and
   * drops at most `limit` versions replaced before `replacedBefore` (null: none), each by a
   * conditional write, so several processes running it at once purge each row once.
   */
  purgeExpired(options: {
    deletedBefore: Date | null;
    replacedBefore: Date | null;
    limit: number;
    at: Date;
  }): Promise<{ certificates: number; versions: number }>;
  /**
   * Part of the retention pass: the store's count of each tenant's certificates expired before a
   * day (what the EXPIRED and UNEXPIRED totals read) moves forward to `at`'s UTC day for at most
   * `limit` tenants; returns how many moved. Totals are exact whether or not it has run; it only
   * keeps them from reading one counter row per day of each tenant's history.
   */
  advanceExpiredBefore(options: { at: Date; limit: number }): Promise<number>;
  /** Count by status bucket, for metrics and the dashboard. */
  countByValidity(
    tenantId: number | null,
    asOf: Date,
  ): Promise<{ valid: number; expired: number; notYetValid: number }>;
  /**
   * Days-to-expiry histogram of live certificates, for /metrics: `cumulativeCounts[i]` counts
   * those with (notAfter - asOf) in days <= `upperBoundsDays[i]`; `sumDays` is fractional and
   * negative for expired certificates.
   */
  expiryHistogram(
    tenantId: number | null,
    asOf: Date,
    upperBoundsDays: readonly number[],
  ): Promise<{ cumulativeCounts: number[]; count: number; sumDays: number }>;
}

/** Why a restore or purge did not apply: no such certificate, it is live, or it is purged already. */
export type RecoveryRefusal = 'missing' | 'live' | 'purged';

/** Replaced versions of certificates (migration 0012); the current version is the certificate itself. */
export interface CertificateVersionRepository {
  /** The certificate's replaced versions, newest first (read whatever the certificate's state: core checks it). */
  list(tenantId: number, certificateNo: number): Promise<CertificateVersion[]>;
  get(tenantId: number, certificateNo: number, version: number): Promise<CertificateVersionDetail | null>;
  /** The decrypted PKCS#8 PEM of that version, or null when it has none. Callers audit every call. */
  readPrivateKey(tenantId: number, certificateNo: number, version: number): Promise<string | null>;
  /** The current version number of a live certificate; null when it is not live. */
  currentVersion(tenantId: number, certificateNo: number): Promise<number | null>;
}

// ---------------------------------------------------------------------------------------------
// Certificate usage

/**
 * Which certificates are in use: a certificate is in use while an edge slot that is not DELETED
 * holds it (DELETING still does: the target may still serve it). The one answer to "in use":
 * core's delete check, NCP's `usedInstanceNoList`, the console's and CLI's `usedBy`, the
 * `usedByInstanceNo` list filter and the store's own check under lock in `markDeleted` all ask
 * it. Slot writes that make a slot hold a certificate lock the certificate row the same way
 * deletion does (shared for slots, exclusive for deletion), so the two are serialised.
 */
export interface CertificateUsageRepository {
  /** Slot ids (NCP instance numbers) using each certificate, ascending; every asked number is a key. */
  usersOf(tenantId: number, certificateNos: readonly number[]): Promise<Map<number, number[]>>;
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

/** One audit chain's recorded head (domain/audit-chain.ts). */
export interface AuditChainHead {
  tenantId: number | null;
  headHash: string;
}

export interface AuditRepository {
  /**
   * Appends to the event's chain (its tenant's, or the chain of events without a tenant): the
   * event is stored with the hash of the chain's previous event and its own, and the chain's
   * head moves to it, atomically, also with several processes appending to one chain.
   */
  append(event: NewAuditEvent): Promise<void>;
  list(query: AuditQuery): Promise<AuditEvent[]>;
  /** Every chain's head: the chains there are. */
  chainHeads(): Promise<AuditChainHead[]>;
  /** One chain's events with id > afterId, oldest first, as stored. */
  chainEvents(tenantId: number | null, afterId: number, limit: number): Promise<StoredChainEvent[]>;
}

// ---------------------------------------------------------------------------------------------
// Bearer tokens (NHN `POST /oauth2/token/create`)

export interface NewToken {
  /** SHA-256 of the token, lowercase hex. The token itself is never stored. */
  tokenHash: string;
  credentialId: number;
  issuedAt: Date;
  expiresAt: Date;
}

export interface TokenLookup {
  /** The credential the token was issued to, revoked or not: callers check `revokedAt`. */
  credential: Credential;
  /** The credential's tenant (read with it: one lookup for the NHN face's token and appKey). */
  tenant: Tenant;
  issuedAt: Date;
  expiresAt: Date;
}

export interface TokenRepository {
  /**
   * Stores a token. In the same transaction, drops the credential's tokens that expired by
   * `issuedAt` and, when it would hold more than `maxLivePerCredential`, its soonest-expiring ones.
   */
  insert(token: NewToken, maxLivePerCredential: number): Promise<void>;
  findByHash(tokenHash: string): Promise<TokenLookup | null>;
}

// ---------------------------------------------------------------------------------------------
// Edge slots (Global Edge face) and deployment targets

export interface NewSlot {
  tenantId: number;
  serviceRegion: ServiceRegion;
  tlsVersion: TlsVersion;
  cipherProfile: CipherProfile;
  items: ReadonlyArray<{ region: ItemRegion; certificateNo: number }>;
}

export interface SlotPage {
  items: EdgeSlot[];
  /** Slots of the tenant that are not DELETED. */
  total: number;
  /** The live certificates of the page's items, by number (as `CertificateRepository.getMany`). */
  certificates: Map<number, CertificateSummary>;
  /** The kind of the tenant's deployment target, null when none is set. */
  targetKind: DeployTargetKind | null;
}

/** A user's change to a live slot. */
export type SlotChange =
  | { kind: 'certificate'; region: ItemRegion; certificateNo: number }
  /** Drops these GLOBAL items (a KR_JP item is never removed this way). */
  | { kind: 'remove-global'; itemIds: readonly number[] }
  | { kind: 'tls'; tlsVersion: TlsVersion; cipherProfile: CipherProfile }
  | { kind: 'delete' };

/** What a worker's successful deployment published: the fingerprint of each item's certificate. */
export interface PublishedItems {
  /** itemId → SHA-256 fingerprint of the certificate published for it. */
  fingerprints: ReadonlyMap<number, string>;
}

/** How a worker's completion went. */
export type SlotCompletion = 'done' | 'changed' | 'lost';

/**
 * Slots as the provisioning use-cases see them (core/provisioning.ts, the deployment target
 * service): what users ask for. The worker's side is SlotLeaseRepository.
 */
export interface SlotRepository {
  /**
   * Inserts the slot (READY, generation 1) and its items in one transaction. `not_found` when one
   * of its certificates is no longer live, checked under the certificate row's lock (see
   * CertificateUsageRepository), as is the certificate of a `change` of kind 'certificate'.
   */
  create(slot: NewSlot, at: Date): Promise<EdgeSlot>;
  /** Any status, DELETED included; null when missing or another tenant's. */
  get(tenantId: number, slotId: number): Promise<EdgeSlot | null>;
  /**
   * Slots that are not DELETED, newest first, with what the list shows of them: their items'
   * certificates and the tenant's target kind. One statement where the dialect merges reads
   * (PostgreSQL: one round trip instead of five), the same answer as the separate reads.
   */
  list(tenantId: number, page: { offset: number; limit: number }, confirm?: CredentialConfirmation): Promise<SlotPage>;
  /**
   * Applies a user change to a slot in READY, PUBLISHING or RUNNING: bumps the generation, clears
   * the backoff, sets the status (`statusAfterChange`, or DELETING). Null when the slot is missing,
   * another tenant's, or not in one of those states.
   */
  change(tenantId: number, slotId: number, change: SlotChange, at: Date): Promise<EdgeSlot | null>;
  /** Marks the tenant's RUNNING/PUBLISHING/READY slots that use the certificate for republishing; their ids. */
  republishCertificate(tenantId: number, certificateNo: number, at: Date): Promise<number[]>;
  /**
   * Marks every RUNNING/PUBLISHING/READY slot of the tenant for republishing (its target changed);
   * their ids. A slot one of whose certificates has no private key (a reissue waiting for
   * `registerKey`) is left alone, as republishStale does: the key's replace republishes it.
   */
  republishTenant(tenantId: number, at: Date): Promise<number[]>;
  /** Slots of the tenant that are not DELETED. */
  countLive(tenantId: number): Promise<number>;
}

/**
 * The provisioning worker's side of the slots (core/deploy/worker.ts): finding work, leasing it,
 * recording the outcome. Claims are row leases (`claimed_by`, `lease_until`), taken with one
 * conditional UPDATE, so across processes on one database exactly one worker holds a slot. Every
 * worker write is conditional on `claimed_by = workerId`: a worker whose lease was taken over
 * changes nothing. Across tenants: the worker serves them all.
 */
export interface SlotLeaseRepository {
  /**
   * RUNNING slots whose published certificate is no longer the stored one (a replacement whose
   * republish request was lost to a crash) are marked for republishing; their ids. A stored
   * certificate without its private key (a reissue waiting for `registerKey`) is left alone.
   */
  republishStale(at: Date): Promise<number[]>;
  /** Ids of slots with work (READY, PUBLISHING, DELETING), unclaimed or with an expired lease, not in backoff; by due time. */
  due(now: Date, limit: number): Promise<number[]>;
  /** Takes the slot if it is due: one conditional UPDATE. Null when another worker holds it or it has no work. */
  claim(slotId: number, workerId: string, now: Date, leaseUntil: Date): Promise<EdgeSlot | null>;
  /** Extends a held lease; false when the claim was lost. */
  renew(slotId: number, workerId: string, leaseUntil: Date): Promise<boolean>;
  /** READY → PUBLISHING under the worker's claim. */
  markPublishing(slotId: number, workerId: string, at: Date): Promise<boolean>;
  /**
   * The target accepted `generation`: PUBLISHING/READY → RUNNING or DELETING → DELETED, claim
   * released. 'changed' when the slot changed meanwhile (claim released, work stays due), 'lost'
   * when another worker holds it.
   */
  succeed(
    slotId: number,
    workerId: string,
    generation: number,
    published: PublishedItems,
    at: Date,
  ): Promise<SlotCompletion>;
  /**
   * The target failed on `generation`: error recorded, attempts + 1, retry not before
   * `nextAttemptAt`, claim released. When the slot changed meanwhile only the claim is released
   * (the change is due at once). False when another worker holds the slot.
   */
  fail(
    slotId: number,
    workerId: string,
    generation: number,
    error: string,
    nextAttemptAt: Date,
    at: Date,
  ): Promise<boolean>;
  /** Releases the claim without recording anything (shutdown). */
  release(slotId: number, workerId: string): Promise<void>;
}

export interface StoredDeployTarget {
  target: DeployTarget;
  /** The webhook secret, sealed with context `deploy-target-secret:<tenantId>`. */
  sealedSecret: SealedSecret | null;
  /** The worker's last publish or removal to this target; null since `set`, until the next one. */
  lastDeployment: LastDeployment | null;
}

export interface DeployTargetRepository {
  get(tenantId: number): Promise<StoredDeployTarget | null>;
  /** Creates or replaces the tenant's target (its last deployment cleared: none to this one yet). */
  set(tenantId: number, spec: DeployTargetSpec, sealedSecret: SealedSecret | null, at: Date): Promise<DeployTarget>;
  /** Records a publish or removal the worker finished, if the tenant still has a target. */
  recordDeployment(tenantId: number, deployment: LastDeployment): Promise<void>;
  /** False when there was none. */
  clear(tenantId: number): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// Console sessions (the web console, src/api/console/)

export interface NewSession {
  /** SHA-256 of the session id, lowercase hex. The id itself is never stored. */
  idHash: string;
  credentialId: number;
  createdAt: Date;
  /** Absolute end of the session; the idle end is computed by core from `lastSeenAt`. */
  expiresAt: Date;
}

export interface SessionLookup {
  /** The credential the session belongs to, revoked or not: callers check `revokedAt`. */
  credential: Credential;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
}

export interface SessionRepository {
  /**
   * Stores a session (`lastSeenAt` = `createdAt`). In the same transaction, drops the
   * credential's sessions that are dead at `createdAt` (absolute end passed, or last seen before
   * `idleCutoff`) and, when it would hold more than `maxLivePerCredential`, its soonest-ending ones.
   */
  insert(session: NewSession, options: { idleCutoff: Date; maxLivePerCredential: number }): Promise<void>;
  findByHash(idHash: string): Promise<SessionLookup | null>;
  /** Moves `lastSeenAt` forward to `at` (never back). */
  touch(idHash: string, at: Date): Promise<void>;
  /** Logout: the row is gone; deleting a missing session is not an error. */
  delete(idHash: string): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Dashboard figures

export interface CertificateStatsRepository {
  /**
   * For each window, the exact number of the tenant's live certificates whose notAfter lies in
   * [from, to). Cost independent of the tenant's size (the expiry-day counters of migration 0003
   * plus two partial days read from the not_after index).
   */
  countNotAfterBetween(tenantId: number, windows: ReadonlyArray<{ from: Date; to: Date }>): Promise<number[]>;
}

// ---------------------------------------------------------------------------------------------
// The ACM face's own data (src/api/acm/, core/acm.ts): ARN ids, tags, account configuration

export interface AcmTag {
  key: string;
  /** ACM allows an absent value; certkeeper stores it as null. */
  value: string | null;
}

/** Where a ListCertificates page starts: after this row of the (created_at, certificate_no) order. */
export interface AcmListPosition {
  createdAt: number;
  certificateNo: number;
}

/** What a listed certificate is, for ListCertificates' CertificateStatuses (revoked wins over expired). */
export type AcmCertificateState = 'issued' | 'expired' | 'revoked';

export interface AcmListQuery {
  tenantId: number;
  asOf: Date;
  /**
   * Live certificates in these states (`issued`: not revoked, notAfter after `asOf`; `expired`:
   * not revoked, the others; `revoked`); empty lists none.
   */
  certificates: readonly AcmCertificateState[];
  /** Keep only certificates of these key types; null keeps every one. */
  keyTypes: ReadonlyArray<{ algorithm: string; bits: number }> | null;
  /**
   * Requests whose certificate has not landed (migration 0017), when their order's step (for
   * `cleanup`, its outcome) is one of `steps` and their key kind one of `keyKinds`; null lists none.
   */
  requests: { steps: readonly OrderStep[]; keyKinds: readonly CertificateKeyKind[] } | null;
  order: 'asc' | 'desc';
  /** Keyset position: rows strictly after it in `order`; null starts at the first. */
  after: AcmListPosition | null;
  limit: number;
}

export type AcmListed =
  | {
      kind: 'certificate';
      summary: CertificateSummary;
      arnId: string;
      /**
       * Whether an edge slot uses it (`CertificateUsageRepository.usersOf` not empty), answered
       * with the row where the dialect merges reads (PostgreSQL); absent elsewhere, where the
       * caller asks `usersOf` for the rows it keeps.
       */
      inUse?: boolean;
    }
  | {
      kind: 'requested';
      arnId: string;
      /** The reserved number; with `createdAt`, the row's place in the list's order. */
      certificateNo: number;
      createdAt: Date;
      /** The order's names, the requested DomainName first. */
      names: string[];
      keyKind: CertificateKeyKind;
      /** The order's step, or for `cleanup` its outcome once known. */
      ended: OrderStep;
    };

/**
 * A RequestCertificate: its ARN id is the certificate's once the order delivers (the store gives
 * the certificate inserted with `certificateNo` this ARN id and this `createdAt`, migration 0017).
 */
export interface AcmRequest {
  arnId: string;
  tenantId: number;
  certificateNo: number;
  orderId: number;
  idempotencyToken: string | null;
  createdAt: Date;
  /** When the certificate was inserted; null while it has not been. */
  landedAt: Date | null;
}

export interface AcmRepository {
  /** The ARN ids of the tenant's certificates among `certificateNos` (live or not). */
  arnIds(tenantId: number, certificateNos: readonly number[]): Promise<Map<number, string>>;
  /** The live certificate with this ARN id in the tenant, or null. */
  certificateNoOf(tenantId: number, arnId: string): Promise<number | null>;
  /**
   * Live certificates and requests not landed, merged in (created_at, certificate_no) order, each
   * read from its index in that order (keyset paging); at most `limit`. A request that lands
   * while this reads is answered once (as the certificate when both are seen).
   */
  list(query: AcmListQuery, confirm?: CredentialConfirmation): Promise<AcmListed[]>;
  /**
   * What tags hang on for this ARN id in the tenant: the live certificate's number, else the
   * number a request not landed reserved; null for neither.
   */
  taggableNo(tenantId: number, arnId: string): Promise<number | null>;
  /** Tags by key (of the certificate, or of the request not landed, with that number). */
  tags(tenantId: number, certificateNo: number): Promise<AcmTag[]>;
  /**
   * Adds or overwrites tags of a live certificate (or of a request not landed: they move to the
   * certificate when it lands) in one transaction under the row's lock; refuses (changing
   * nothing) when the result would hold more than `max`; `not_found` when neither is there.
   */
  addTags(
    tenantId: number,
    certificateNo: number,
    tags: readonly AcmTag[],
    max: number,
  ): Promise<'ok' | 'not_found' | 'too_many'>;
  /**
   * Removes each tag with that key (and, when `value` is not undefined, that value), of the live
   * certificate or the request not landed. False when neither is there.
   */
  removeTags(
    tenantId: number,
    certificateNo: number,
    tags: ReadonlyArray<{ key: string; value?: string | null }>,
  ): Promise<boolean>;
  /**
   * Records a RequestCertificate (migration 0015) with its tags (0017) in one transaction: the
   * ARN id printed, its order and reserved number. `landedAt` is ignored (null).
   */
  createRequest(request: AcmRequest, tags: readonly AcmTag[]): Promise<void>;
  /** The tenant's request with this ARN id, or null. */
  requestByArnId(tenantId: number, arnId: string): Promise<AcmRequest | null>;
  /**
   * Removes the tenant's request not landed with this ARN id and its tags, in one transaction
   * (DeleteCertificate of a withdrawn request: core/acm.ts). A landed request is kept (its ARN is
   * the certificate's). False when there was none.
   */
  deleteRequest(tenantId: number, arnId: string): Promise<boolean>;
  /** The tenant's newest request made with `token` at or after `since`, or null. */
  requestByToken(tenantId: number, token: string, since: Date): Promise<AcmRequest | null>;
  /**
   * The sealed HMAC key of ListCertificates NextTokens: the stored one, or `create()`'s stored
   * first (several processes racing agree on one).
   */
  pagingKey(create: () => Promise<SealedSecret>): Promise<SealedSecret>;
}

// ---------------------------------------------------------------------------------------------
// The store as a whole

export interface Store {
  readonly tenants: TenantRepository;
  readonly credentials: CredentialRepository;
  readonly certificates: CertificateRepository;
  readonly certificateVersions: CertificateVersionRepository;
  readonly usage: CertificateUsageRepository;
  readonly audit: AuditRepository;
  readonly tokens: TokenRepository;
  readonly sessions: SessionRepository;
  readonly certificateStats: CertificateStatsRepository;
  readonly slots: SlotRepository;
  readonly slotLeases: SlotLeaseRepository;
  readonly targets: DeployTargetRepository;
  /** The ACM face's ARN ids, tags and account configuration. */
  readonly acm: AcmRepository;
  /** Notification channels, rules, schedule, outbox and delivery log (core/notifications/ports.ts). */
  readonly notifications: NotificationRepository;
  readonly vault: Vault;
  /** Cheap round trip for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
