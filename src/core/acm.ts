/**
 * The ACM face's use-cases (src/api/acm/): certificates named by ARN, tags, account configuration
 * and ListCertificates' keyset pages with tamper-evident NextTokens. Certificate import, replace,
 * export and delete are core.certificates' own (same ladder, same audit, same in-use rule); this
 * file adds what ACM names differently or has on top.
 *
 * - ARN: `arn:aws:acm:<region>:<account>:certificate/<arnId>`. The account is the tenant's NCP
 *   member number, zero-padded to 12 digits (derived, so stable and unique per tenant); the arnId
 *   is the certificate's UUID (migration 0009). The face checks region and account; this file
 *   resolves an arnId within the actor's tenant only: another tenant's answers like a missing one.
 * - Tags: ACM's rules (at most 50 per certificate; key 1–128, value 0–256 characters of
 *   `[\p{L}\p{Z}\p{N}_.:/=+\-@]`; keys starting `aws:` are reserved) are checked here, before
 *   anything is written.
 * - NextToken: base64url of the position and the query it belongs to, then an HMAC-SHA256 of it
 *   under a key kept sealed in the store; a token changed by one bit, from another tenant or from
 *   another query is refused (`invalid_argument`, field `NextToken`).
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { AppError } from '../domain/errors.ts';
import type { Certificate, CertificateSummary } from '../domain/model.ts';
import type { ImportInput } from '../domain/x509/ladder.ts';
import type { CertificateFacts } from '../domain/x509/types.ts';
import { confirmCredential, pendingCheck, settleCredential, type Actor } from './actor.ts';
import type { AuditService } from './audit.ts';
import type { CertificateService, ImportOptions } from './certificates.ts';
import type { NotificationService } from './notifications/service.ts';
import { authorize } from './policy.ts';
import type { CertificateKeyKind, RevocationReason } from './issuance/issuer.ts';
import { isCancelled } from './issuance/cancel.ts';
import { ORDER_STEPS, type IssuanceOrder, type OrderStep } from './issuance/ports.ts';
import { issuanceOffMessage, type IssuanceService, type VerificationRecord } from './issuance/service.ts';
import type {
  AcmCertificateState,
  AcmListed,
  AcmListPosition,
  AcmListQuery,
  AcmRequest,
  AcmTag,
  Clock,
  Store,
} from './ports.ts';

export const ACM_TAG_LIMITS = { perCertificate: 50, keyLength: 128, valueLength: 256 } as const;
/** ACM's bounds for DaysBeforeExpiry (PutAccountConfiguration). */
export const ACM_DAYS_BEFORE_EXPIRY = { min: 1, max: 45 } as const;
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** ACM's certificate statuses (INACTIVE is never any certificate's here). */
export const ACM_STATUSES = [
  'PENDING_VALIDATION',
  'ISSUED',
  'INACTIVE',
  'EXPIRED',
  'VALIDATION_TIMED_OUT',
  'REVOKED',
  'FAILED',
] as const;
export type AcmStatus = (typeof ACM_STATUSES)[number];

/**
 * The status of a requested certificate not issued (yet), from what its order has come to (the
 * step, or for `cleanup` its outcome): PENDING_VALIDATION while it runs, VALIDATION_TIMED_OUT
 * when the CNAME was not found in time, FAILED when validation or the CA failed.
 */
export function requestStatusOf(ended: OrderStep): AcmStatus {
  if (ended === 'validation_expired') return 'VALIDATION_TIMED_OUT';
  if (ended === 'failed' || ended === 'validation_failed') return 'FAILED';
  if (ended === 'revoked') return 'REVOKED';
  return 'PENDING_VALIDATION';
}

/** A certificate's state → its ACM status (a certificate that exists). */
const CERTIFICATE_STATUS: Readonly<Record<AcmCertificateState, AcmStatus>> = {
  issued: 'ISSUED',
  expired: 'EXPIRED',
  revoked: 'REVOKED',
};

/**
 * Every `ended` value of an order not delivered, by the status it gives (requestStatusOf
 * inverted). A withdrawn request (`cancelled`, DeleteCertificate) is listed under none.
 */
const REQUEST_STEPS: ReadonlyArray<{ step: OrderStep; status: AcmStatus }> = ORDER_STEPS.filter(
  (step) => step !== 'done' && step !== 'cancelled',
).map((step) => ({ step, status: requestStatusOf(step) }));

/** The issuance key kind of an (algorithm, bits) key type; null when issuance does not make it. */
function keyKindOf(type: { algorithm: string; bits: number }): CertificateKeyKind | null {
  if (type.algorithm === 'RSA' && type.bits === 2048) return 'rsa-2048';
  if (type.algorithm === 'EC' && type.bits === 256) return 'ec-p256';
  if (type.algorithm === 'EC' && type.bits === 384) return 'ec-p384';
  return null;
}
const KEY_KINDS: readonly CertificateKeyKind[] = ['rsa-2048', 'ec-p256', 'ec-p384'];

export interface AcmListRequest {
  /** Keep only these statuses; null keeps every one. */
  statuses: readonly AcmStatus[] | null;
  keyTypes: ReadonlyArray<{ algorithm: string; bits: number }> | null;
  order: 'asc' | 'desc';
  limit: number;
  /**
   * Facts filters applied to each row (key usage, extended key usage); null keeps every row. A
   * requested certificate not issued has no facts yet: the filter is asked with null.
   */
  filter: ((summary: CertificateSummary | null) => boolean) | null;
  /** Names the filters for the NextToken binding: the same query must present the same text. */
  queryKey: string;
  nextToken: string | null;
}

export type AcmListedCertificate =
  | { kind: 'certificate'; summary: CertificateSummary; arnId: string; inUse: boolean }
  | {
      kind: 'requested';
      arnId: string;
      createdAt: Date;
      /** The requested names, DomainName first. */
      names: string[];
      keyKind: CertificateKeyKind;
      status: AcmStatus;
    };

export interface AcmService {
  /** The tenant's 12-digit account id. */
  accountId(actor: Actor): Promise<string>;
  /** The live certificate's number, or `not_found`. */
  resolve(actor: Actor, arnId: string): Promise<number>;
  /** New certificate (with tags), or a re-import in place of `arnId`; returns the arnId. */
  import(
    actor: Actor,
    input: Omit<ImportInput, 'name'>,
    options: { arnId: string | null; tags: readonly AcmTag[] | null; origin: ImportOptions['origin'] },
  ): Promise<string>;
  /**
   * A certificate that exists (with, when it was issued here, its order and validation records),
   * or a requested one not issued (yet): its order and records. `not_found` otherwise.
   */
  describe(actor: Actor, arnId: string): Promise<AcmDescribed>;
  /**
   * RequestCertificate: an issuance order for `domainName` and `alternativeNames` (DNS-01), and
   * the ARN id printed at once; the certificate gets that ARN id, the request's creation time and
   * the request's `tags` (checked first, as AddTagsToCertificate checks them) when it lands. A
   * repeat with the same `idempotencyToken` within an hour answers the first request's ARN id and
   * orders nothing.
   * Issuance not configured: `unavailable` with reason `issuance_unavailable`.
   */
  request(actor: Actor, request: AcmCertificateRequest): Promise<string>;
  /**
   * RenewCertificate: a certificate issued here is renewed now (issuance's renewNow); an imported
   * one is refused with reason `imported`.
   */
  renew(actor: Actor, arnId: string): Promise<void>;
  /**
   * Leaf and chain; with `includeKey`, the private key too (audited as every key read). A
   * requested certificate not issued (pending, failed, timed out) is refused with reason
   * `request_in_progress` (ACM's RequestInProgressException), naming its status.
   */
  export(
    actor: Actor,
    arnId: string,
    includeKey: boolean,
  ): Promise<{ certificatePem: string; chainPems: string[]; privateKeyPem: string | null }>;
  /**
   * A certificate is deleted (core.certificates: in-use rule, audit). A requested one not issued
   * is withdrawn through issuance's `cancel` (core/issuance/cancel.ts: pending or failed, audited)
   * and its request row and tags go; `conflict` while the CA is issuing it (ACM's
   * ConflictException: the certificate lands in seconds and is deleted then).
   */
  delete(actor: Actor, arnId: string): Promise<void>;
  list(actor: Actor, request: AcmListRequest): Promise<{ items: AcmListedCertificate[]; nextToken: string | null }>;
  listTags(actor: Actor, arnId: string): Promise<AcmTag[]>;
  addTags(actor: Actor, arnId: string, tags: readonly AcmTag[]): Promise<void>;
  removeTags(actor: Actor, arnId: string, tags: ReadonlyArray<{ key: string; value?: string | null }>): Promise<void>;
  /**
   * UpdateCertificateOptions and ResendValidationEmail: certkeeper keeps no certificate options
   * and validates by DNS only. Each checks the caller's rights and the ARN, then refuses with
   * `details.reason` naming why: `imported_state`, `email_validation`.
   */
  refuseIssuance(actor: Actor, operation: 'options' | 'resend', arnId: string): Promise<never>;
  /**
   * DaysBeforeExpiry is the tenant's first (largest) expiry-notification threshold
   * (core/notifications): one setting, read and written through the notifications use-cases.
   */
  daysBeforeExpiry(actor: Actor): Promise<number>;
  /**
   * Makes `days` the first threshold: it replaces the first, later ones at or above it are
   * dropped (30,14,7,3,1 with 10 becomes 10,7,3,1; with 45, 45,14,7,3,1). Null changes nothing (a PutAccountConfiguration
   * without ExpiryEvents), after the same rights check.
   */
  setDaysBeforeExpiry(actor: Actor, days: number | null): Promise<void>;
}

export interface AcmCertificateRequest {
  domainName: string;
  alternativeNames: readonly string[];
  keyKind: CertificateKeyKind;
  idempotencyToken: string | null;
  tags: readonly AcmTag[];
}

/** How long an IdempotencyToken names its first request (ACM: one hour). */
export const ACM_IDEMPOTENCY_MS = 3_600_000;

export interface AcmIssuanceView {
  order: IssuanceOrder;
  records: VerificationRecord[];
}

export type AcmDescribed =
  | {
      kind: 'certificate';
      certificate: Certificate;
      arnId: string;
      usedBy: number[];
      /** For a certificate issued here: the newest order about it and its records; else null. */
      issuance: AcmIssuanceView | null;
      /** A revoked certificate issued here: the RFC 5280 code its revoke order sent; else null. */
      revocationReason: RevocationReason | null;
    }
  | { kind: 'requested'; arnId: string; request: AcmRequest; issuance: AcmIssuanceView };

const issuanceUnavailable = (issuance: IssuanceService | null): AppError =>
  new AppError(
    'unavailable',
    `${issuance?.offMessage ?? issuanceOffMessage(null)} RequestCertificate and RenewCertificate cannot be served; import certificates with ImportCertificate.`,
    { details: { reason: 'issuance_unavailable' } },
  );

const notFound = (arnId: string): AppError =>
  new AppError('not_found', `Could not find certificate with id ${arnId}.`, { field: 'CertificateArn' });

/** Refuses tags ACM refuses; `reason` details say which ACM exception applies. */
const reimportRefused = (message: string): AppError =>
  new AppError('invalid_argument', message, { field: 'Certificate', details: { reason: 'reimport' } });

/** `RSA 2048` / `EC P-256`: a key's type and size as the re-import messages name them. */
const keyLabel = (key: CertificateFacts['key']): string =>
  key.algorithm === 'EC' ? `EC ${key.curve ?? `${key.bits} bits`}` : `${key.algorithm} ${key.bits}`;

/**
 * ACM's re-import conditions (user guide, "Reimport a certificate"), checked on the new
 * certificate's facts against the current one's as the ladder's last step, so nothing is written
 * when one fails: the key's type and size stay; every key usage and extended key usage the
 * current certificate has stays, except `keyEncipherment` on an EC key (RFC 5480 section 3 does not
 * allow it there) and `clientAuth` (public CAs no longer issue it). Domain names may change.
 */
export function reimportCheck(current: CertificateFacts): (candidate: { facts: CertificateFacts }) => void {
  return ({ facts }) => {
    const was = current.key;
    const now = facts.key;
    if (was.algorithm !== now.algorithm || was.bits !== now.bits || was.curve !== now.curve)
      throw reimportRefused(
        `The key type and size cannot change on re-import: the certificate has ${keyLabel(was)}, the new one ${keyLabel(now)}.`,
      );
    const droppedUsages = current.keyUsage.filter(
      (usage) => !facts.keyUsage.includes(usage) && !(usage === 'keyEncipherment' && now.algorithm === 'EC'),
    );
    if (current.keyUsage.length > 0 && droppedUsages.length > 0)
      throw reimportRefused(
        `A re-import cannot remove key usages the certificate has: ${droppedUsages.join(', ')} missing from the new one.`,
      );
    const droppedExtended = current.extendedKeyUsage.filter(
      (usage) => !facts.extendedKeyUsage.includes(usage) && usage !== 'clientAuth',
    );
    if (droppedExtended.length > 0)
      throw reimportRefused(
        `A re-import cannot remove extended key usages the certificate has: ${droppedExtended.join(', ')} missing from the new one.`,
      );
  };
}

export function checkTags(tags: readonly AcmTag[], options: { removal: boolean }): void {
  const tagError = (message: string) =>
    new AppError('invalid_argument', message, { field: 'Tags', details: { reason: 'invalid_tag' } });
  if (tags.length === 0) throw tagError('Tags must hold at least 1 tag.');
  if (tags.length > ACM_TAG_LIMITS.perCertificate)
    throw new AppError('invalid_argument', `A certificate can have at most ${ACM_TAG_LIMITS.perCertificate} tags.`, {
      field: 'Tags',
      details: { reason: 'too_many_tags' },
    });
  const seen = new Set<string>();
  for (const { key, value } of tags) {
    const keyLength = [...key].length;
    if (keyLength < 1 || keyLength > ACM_TAG_LIMITS.keyLength || !TAG_TEXT.test(key))
      throw tagError(
        `Tag key '${key.slice(0, 130)}' must be 1 to ${ACM_TAG_LIMITS.keyLength} characters of letters, digits, spaces and _ . : / = + - @.`,
      );
    if (value !== null && ([...value].length > ACM_TAG_LIMITS.valueLength || !TAG_TEXT.test(value)))
      throw tagError(
        `Tag value of key '${key}' must be 0 to ${ACM_TAG_LIMITS.valueLength} characters of letters, digits, spaces and _ . : / = + - @.`,
      );
    if (key.toLowerCase().startsWith('aws:')) throw tagError(`Tag key '${key}' uses the reserved prefix 'aws:'.`);
    if (!options.removal && seen.has(key))
      throw new AppError('invalid_argument', `Tag key '${key}' is given more than once.`, {
        field: 'Tags',
        details: { reason: 'invalid_parameter' },
      });
    seen.add(key);
  }
}

interface TokenBody {
  /** tenant */
  t: number;
  /** query key */
  q: string;
  /** position */
  c: number;
  n: number;
}

export function createAcmService(
  store: Store,
  clock: Clock,
  audit: AuditService,
  certificates: CertificateService,
  notifications: Pick<NotificationService, 'thresholds' | 'setThresholds'>,
  issuance: IssuanceService | null,
): AcmService {
  const issuing = (): IssuanceService => {
    if (issuance === null || !issuance.enabled) throw issuanceUnavailable(issuance);
    return issuance;
  };

  /** The newest order about a certificate issued here and its records; null when there is none. */
  async function issuanceOf(actor: Actor, certificateNo: number): Promise<AcmIssuanceView | null> {
    if (issuance === null || !issuance.enabled) return null;
    try {
      return await issuance.verificationFor(actor, certificateNo);
    } catch (error) {
      if (error instanceof AppError && error.code === 'not_found') return null;
      throw error;
    }
  }

  let pagingKey: Promise<Buffer> | null = null;
  const key = (): Promise<Buffer> => {
    pagingKey ??= store.acm
      .pagingKey(() => store.vault.seal(randomBytes(32), 'acm-paging-key'))
      .then((sealed) => store.vault.open(sealed, 'acm-paging-key'))
      .catch((error: unknown) => {
        pagingKey = null;
        throw error;
      });
    return pagingKey;
  };

  const badToken = () =>
    new AppError('invalid_argument', 'The NextToken is not valid for this request.', { field: 'NextToken' });

  async function encodeToken(body: TokenBody): Promise<string> {
    const payload = Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
    const mac = createHmac('sha256', await key())
      .update(payload)
      .digest('base64url');
    return `${payload}.${mac}`;
  }

  async function decodeToken(token: string, tenantId: number, queryKey: string): Promise<AcmListPosition> {
    const dot = token.indexOf('.');
    if (dot <= 0 || token.length > 2048) throw badToken();
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = createHmac('sha256', await key())
      .update(payload)
      .digest();
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw badToken();
    if (given.toString('base64url') !== token.slice(dot + 1)) throw badToken();
    let body: TokenBody;
    try {
      body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenBody;
    } catch {
      throw badToken();
    }
    if (body.t !== tenantId || body.q !== queryKey || !Number.isSafeInteger(body.c) || !Number.isSafeInteger(body.n))
      throw badToken();
    return { createdAt: body.c, certificateNo: body.n };
  }

  async function resolve(actor: Actor, arnId: string): Promise<number> {
    const certificateNo = await store.acm.certificateNoOf(actor.tenantId, arnId);
    if (certificateNo === null) throw notFound(arnId);
    return certificateNo;
  }

  /** The number a tag operation works on: the live certificate's, or a pending request's. */
  async function taggable(actor: Actor, arnId: string): Promise<number> {
    const certificateNo = await store.acm.taggableNo(actor.tenantId, arnId);
    if (certificateNo === null) throw notFound(arnId);
    return certificateNo;
  }

  /**
   * A requested certificate not issued (yet) and its order: null when the ARN names none (never
   * requested, landed, delivered, withdrawn, or issuance is off), as DescribeCertificate sees it.
   */
  async function unissued(actor: Actor, arnId: string): Promise<{ request: AcmRequest; order: IssuanceOrder } | null> {
    const request = await store.acm.requestByArnId(actor.tenantId, arnId);
    if (request === null || request.landedAt !== null || issuance === null || !issuance.enabled) return null;
    const order = await issuance.getOrder(actor, request.orderId);
    // Delivered and since deleted: gone, as a deleted certificate is; withdrawn: gone too.
    if (order.step === 'done' || (order.step === 'cleanup' && order.outcome === 'done') || isCancelled(order))
      return null;
    return { request, order };
  }

  /** What ListCertificates reads for these statuses and key types (requests only while issuance is served). */
  function listQuery(request: AcmListRequest): Pick<AcmListQuery, 'certificates' | 'requests'> {
    const wanted = (status: AcmStatus) => request.statuses === null || request.statuses.includes(status);
    const certificates = (Object.keys(CERTIFICATE_STATUS) as AcmCertificateState[]).filter((state) =>
      wanted(CERTIFICATE_STATUS[state]),
    );
    const steps = REQUEST_STEPS.filter((s) => wanted(s.status)).map((s) => s.step);
    const keyKinds =
      request.keyTypes === null
        ? KEY_KINDS
        : request.keyTypes.map(keyKindOf).filter((kind): kind is CertificateKeyKind => kind !== null);
    const served = issuance !== null && issuance.enabled;
    return { certificates, requests: served && steps.length > 0 ? { steps, keyKinds } : null };
  }

  async function arnIdOf(tenantId: number, certificateNo: number): Promise<string> {
    const id = (await store.acm.arnIds(tenantId, [certificateNo])).get(certificateNo);
    if (id === undefined) throw new AppError('internal', `Certificate ${certificateNo} has no ARN id.`);
    return id;
  }

  /**
   * Account ids by tenant id, read once per tenant and kept: a tenant's member number never
   * changes and tenants are never deleted (the NCP face keeps member numbers the same way). Saves
   * a statement on every ACM request (a round trip on PostgreSQL). Bounded: past it, start over.
   */
  const accountIds = new Map<number, string>();

  return {
    async accountId(actor) {
      const known = accountIds.get(actor.tenantId);
      if (known !== undefined) return known;
      const tenant = await store.tenants.getById(actor.tenantId);
      if (!tenant) throw new AppError('unauthenticated', 'The tenant of this credential no longer exists.');
      const id = tenant.memberNo.padStart(12, '0');
      if (accountIds.size >= 10_000) accountIds.clear();
      accountIds.set(actor.tenantId, id);
      return id;
    },

    async resolve(actor, arnId) {
      authorize(actor, 'certificate.read');
      return resolve(actor, arnId);
    },

    async import(actor, input, options) {
      authorize(actor, 'certificate.write');
      if (options.tags !== null) {
        if (options.arnId !== null)
          throw new AppError('invalid_argument', 'Tags cannot be applied when re-importing a certificate.', {
            field: 'Tags',
            details: { reason: 'invalid_parameter' },
          });
        checkTags(options.tags, { removal: false });
      }
      const importOptions: ImportOptions = {
        origin: options.origin,
        policy: { requireKey: true, allowEd25519: false, nameRule: null },
      };
      if (options.arnId !== null) {
        const certificateNo = await resolve(actor, options.arnId);
        const current = await certificates.get(actor, certificateNo);
        if (current.origin === 'acme')
          throw reimportRefused(
            `Certificate ${options.arnId} was issued through certkeeper's CA: only an imported certificate can be re-imported; renew it instead.`,
          );
        const policy = { ...importOptions.policy, check: reimportCheck(current.facts) };
        await certificates.replace(
          actor,
          certificateNo,
          { ...input, name: current.name },
          { ...importOptions, policy },
        );
        return options.arnId;
      }
      // The name is what the other faces show; ACM itself never shows one.
      const name = `acm-${randomBytes(8).toString('hex')}`;
      const created = await certificates.import(actor, { ...input, name }, importOptions);
      if (options.tags !== null && options.tags.length > 0) {
        const outcome = await store.acm.addTags(
          actor.tenantId,
          created.certificateNo,
          options.tags,
          ACM_TAG_LIMITS.perCertificate,
        );
        if (outcome !== 'ok') throw new AppError('conflict', 'The certificate changed while its tags were written.');
      }
      return arnIdOf(actor.tenantId, created.certificateNo);
    },

    async describe(actor, arnId) {
      authorize(actor, 'certificate.read');
      const live = await store.acm.certificateNoOf(actor.tenantId, arnId);
      if (live !== null) {
        const certificate = await certificates.get(actor, live);
        const usedBy = await certificates.usedBy(actor, live);
        const issued = certificate.origin === 'acme' ? await issuanceOf(actor, live) : null;
        let revocationReason: RevocationReason | null = null;
        if (certificate.revokedAt && certificate.origin === 'acme' && issuance !== null && issuance.enabled) {
          const { orders } = await issuance.history(actor, live);
          revocationReason = orders.find((o) => o.kind === 'revoke' && o.step === 'revoked')?.revocationReason ?? null;
        }
        return { kind: 'certificate', certificate, arnId, usedBy, issuance: issued, revocationReason };
      }
      const requested = await unissued(actor, arnId);
      if (requested === null) throw notFound(arnId);
      const { request, order } = requested;
      return {
        kind: 'requested',
        arnId,
        request,
        issuance: { order, records: await issuance!.verification(actor, order) },
      };
    },

    async request(actor, request) {
      authorize(actor, 'certificate.write');
      if (request.tags.length > 0) checkTags(request.tags, { removal: false });
      const service = issuing();
      const now = clock.now();
      if (request.idempotencyToken !== null) {
        const earlier = await store.acm.requestByToken(
          actor.tenantId,
          request.idempotencyToken,
          new Date(now.getTime() - ACM_IDEMPOTENCY_MS),
        );
        if (earlier !== null) return earlier.arnId;
      }
      const order = await service.request(actor, {
        // The name is what the other faces show; ACM itself never shows one.
        name: `acm-${randomBytes(8).toString('hex')}`,
        domains: [request.domainName, ...request.alternativeNames],
        commonName: request.domainName,
        keyKind: request.keyKind,
        method: 'dns-01',
      });
      if (order.certificateNo === null) throw new AppError('internal', 'An issue order was created without a number.');
      const arnId = randomUUID();
      // After the order: its number is reserved and the worker cannot deliver before the user's
      // CNAME exists, which needs this ARN's DescribeCertificate first.
      await store.acm.createRequest(
        {
          arnId,
          tenantId: actor.tenantId,
          certificateNo: order.certificateNo,
          orderId: order.orderId,
          idempotencyToken: request.idempotencyToken,
          createdAt: now,
          landedAt: null,
        },
        request.tags,
      );
      return arnId;
    },

    async renew(actor, arnId) {
      authorize(actor, 'certificate.write');
      const certificateNo = await resolve(actor, arnId);
      const certificate = await certificates.get(actor, certificateNo);
      if (certificate.origin !== 'acme')
        throw new AppError(
          'invalid_argument',
          `Certificate ${arnId} is an imported certificate and is not eligible for renewal: import its successor with ImportCertificate and this CertificateArn.`,
          { details: { reason: 'imported' }, field: 'CertificateArn' },
        );
      await issuing().renewNow(actor, certificateNo);
    },

    async export(actor, arnId, includeKey) {
      authorize(actor, 'certificate.read');
      const certificateNo = await store.acm.certificateNoOf(actor.tenantId, arnId);
      if (certificateNo === null) {
        const requested = await unissued(actor, arnId);
        if (requested === null) throw notFound(arnId);
        const { order } = requested;
        const status = requestStatusOf(order.step === 'cleanup' ? (order.outcome ?? 'cleanup') : order.step);
        throw new AppError(
          'conflict',
          status === 'PENDING_VALIDATION'
            ? `Certificate ${arnId} is pending validation: it has not been issued yet. Create the CNAME records DescribeCertificate prints.`
            : `Certificate ${arnId} is ${status}: it was not issued. Delete it and request it again.`,
          { field: 'CertificateArn', details: { reason: 'request_in_progress', status } },
        );
      }
      const bundle = await certificates.export(actor, certificateNo, { includeKey });
      return {
        certificatePem: bundle.certificatePem,
        chainPems: bundle.chainPems,
        privateKeyPem: bundle.privateKeyPem,
      };
    },

    async delete(actor, arnId) {
      authorize(actor, 'certificate.write');
      /** Deletes the live certificate of the ARN, if there is one (a request may land meanwhile). */
      const asCertificate = async (): Promise<boolean> => {
        const certificateNo = await store.acm.certificateNoOf(actor.tenantId, arnId);
        if (certificateNo === null) return false;
        await certificates.delete(actor, certificateNo);
        return true;
      };
      if (await asCertificate()) return;
      const requested = await unissued(actor, arnId);
      if (requested === null) {
        if (await asCertificate()) return;
        // A withdrawal whose row removal never ran (the process died between): finish it.
        const stale = await store.acm.requestByArnId(actor.tenantId, arnId);
        if (stale !== null && stale.landedAt === null && issuance?.enabled)
          if (isCancelled(await issuance.getOrder(actor, stale.orderId)))
            await store.acm.deleteRequest(actor.tenantId, arnId);
        throw notFound(arnId);
      }
      try {
        await issuance!.cancel(actor, requested.order.orderId);
      } catch (error) {
        // Delivered or withdrawn since the read: a certificate now, or gone.
        if (error instanceof AppError && error.code === 'not_found') {
          if (await asCertificate()) return;
          throw notFound(arnId);
        }
        throw error;
      }
      // The order is withdrawn (lists and reads skip it from here on); the row and its tags go.
      await store.acm.deleteRequest(actor.tenantId, arnId);
    },

    async list(actor, request) {
      authorize(actor, 'certificate.read');
      const after =
        request.nextToken === null ? null : await decodeToken(request.nextToken, actor.tenantId, request.queryKey);
      const asOf = clock.now();
      const { certificates: states, requests } = listQuery(request);
      const items: AcmListed[] = [];
      let position = after;
      let more = true;
      // One row past what the page needs tells whether another page exists. A facts filter may
      // drop rows: read on, a bounded number of times, until the page is full or the rows end (a
      // short page with a NextToken is allowed, as on ACM).
      for (let round = 0; round < 20 && more && items.length < request.limit; round++) {
        const need = request.limit - items.length;
        const batch = (request.filter === null ? need : Math.max(100, need)) + 1;
        const rows = await store.acm.list(
          {
            tenantId: actor.tenantId,
            asOf,
            certificates: states,
            keyTypes: request.keyTypes,
            requests,
            order: request.order,
            after: position,
            limit: batch,
          },
          pendingCheck(actor),
        );
        settleCredential(actor);
        let consumed = 0;
        for (const row of rows) {
          if (items.length >= request.limit) break;
          consumed += 1;
          const summary = row.kind === 'certificate' ? row.summary : null;
          position =
            row.kind === 'certificate'
              ? { createdAt: row.summary.createdAt.getTime(), certificateNo: row.summary.certificateNo }
              : { createdAt: row.createdAt.getTime(), certificateNo: row.certificateNo };
          if (request.filter === null || request.filter(summary)) items.push(row);
        }
        if (consumed === rows.length && rows.length < batch) more = false;
      }
      // No round ran (a limit of 0): the check by a read of its own.
      await confirmCredential(store, actor);
      // Asked only for the rows the store did not answer it with (SQLite reads it apart).
      const users = await store.usage.usersOf(
        actor.tenantId,
        items.flatMap((i) => (i.kind === 'certificate' && i.inUse === undefined ? [i.summary.certificateNo] : [])),
      );
      const nextToken =
        !more || position === null
          ? null
          : await encodeToken({
              t: actor.tenantId,
              q: request.queryKey,
              c: position.createdAt,
              n: position.certificateNo,
            });
      return {
        items: items.map((i): AcmListedCertificate =>
          i.kind === 'certificate'
            ? { ...i, inUse: i.inUse ?? (users.get(i.summary.certificateNo) ?? []).length > 0 }
            : {
                kind: 'requested',
                arnId: i.arnId,
                createdAt: i.createdAt,
                names: i.names,
                keyKind: i.keyKind,
                status: requestStatusOf(i.ended),
              },
        ),
        nextToken,
      };
    },

    async listTags(actor, arnId) {
      authorize(actor, 'certificate.read');
      const certificateNo = await taggable(actor, arnId);
      return store.acm.tags(actor.tenantId, certificateNo);
    },

    async addTags(actor, arnId, tags) {
      authorize(actor, 'certificate.write');
      checkTags(tags, { removal: false });
      await audit.around(actor, 'certificate.tags.add', `certificate-arn:${arnId}`, async () => {
        const certificateNo = await taggable(actor, arnId);
        const outcome = await store.acm.addTags(actor.tenantId, certificateNo, tags, ACM_TAG_LIMITS.perCertificate);
        if (outcome === 'not_found') throw notFound(arnId);
        if (outcome === 'too_many')
          throw new AppError(
            'invalid_argument',
            `the TagSet: ${tags.length} tags would take the certificate over its limit of ${ACM_TAG_LIMITS.perCertificate} tags.`,
            { field: 'Tags', details: { reason: 'too_many_tags' } },
          );
      });
    },

    async removeTags(actor, arnId, tags) {
      authorize(actor, 'certificate.write');
      checkTags(
        tags.map((t) => ({ key: t.key, value: t.value ?? null })),
        { removal: true },
      );
      await audit.around(actor, 'certificate.tags.remove', `certificate-arn:${arnId}`, async () => {
        const certificateNo = await taggable(actor, arnId);
        if (!(await store.acm.removeTags(actor.tenantId, certificateNo, tags))) throw notFound(arnId);
      });
    },

    async refuseIssuance(actor, operation, arnId) {
      authorize(actor, operation === 'resend' ? 'certificate.read' : 'certificate.write');
      // A certificate, or a requested one not issued (DescribeCertificate shows both; a withdrawn
      // or delivered-and-deleted request is gone for these as for it).
      if ((await store.acm.certificateNoOf(actor.tenantId, arnId)) === null && (await unissued(actor, arnId)) === null)
        throw notFound(arnId);
      if (operation === 'options')
        throw new AppError(
          'invalid_argument',
          `Certificate ${arnId}: certkeeper keeps no certificate options (certificate transparency logging is the CA's); they cannot be updated.`,
          { details: { reason: 'imported_state' }, field: 'CertificateArn' },
        );
      throw new AppError(
        'invalid_argument',
        'certkeeper validates domains by DNS only: there is no validation e-mail to resend. Create the CNAME records DescribeCertificate prints.',
        { details: { reason: 'email_validation' } },
      );
    },

    async daysBeforeExpiry(actor) {
      authorize(actor, 'certificate.read');
      const { days } = await notifications.thresholds(actor);
      return Math.max(...days);
    },

    async setDaysBeforeExpiry(actor, days) {
      authorize(actor, 'certificate.write');
      if (days === null) return;
      if (!Number.isInteger(days) || days < ACM_DAYS_BEFORE_EXPIRY.min || days > ACM_DAYS_BEFORE_EXPIRY.max)
        throw new AppError(
          'invalid_argument',
          `DaysBeforeExpiry must be an integer from ${ACM_DAYS_BEFORE_EXPIRY.min} to ${ACM_DAYS_BEFORE_EXPIRY.max}.`,
          { field: 'DaysBeforeExpiry' },
        );
      const current = await notifications.thresholds(actor);
      const [, ...later] = current.days;
      await notifications.setThresholds(actor, [days, ...later.filter((d) => d < days)]);
    },
  };
}
