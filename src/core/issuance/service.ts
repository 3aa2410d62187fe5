/**
 * Issuance use-cases for the faces and the CLI: request a certificate (an order row the worker
 * then carries out), read orders, and the records a user must create (the `_acme-challenge`
 * CNAME of each domain) with each domain's validation state.
 *
 * - Bad input is refused before anything is written (names.ts is the one rule for names; a
 *   certificate name already in use and a name held by another active order are `already_exists`).
 * - Issuance is off when no ACME/DCV configuration was given (`settings` null): every operation
 *   answers `AppError('unavailable')`, as the faces did before issue 16.
 * - The delegation-label key is an installation secret created once (sealed by the vault) and
 *   read through `labelKey()`; the KeyObject is cached, as it never changes.
 */
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { AppError } from '../../domain/errors.ts';
import { parseCsr } from '../../domain/x509/csr.ts';
import { armour } from '../../domain/x509/pem.ts';
import type { Actor } from '../actor.ts';
import type { AuditService } from '../audit.ts';
import { authorize } from '../policy.ts';
import type { Clock, Store } from '../ports.ts';
import { cancellationOf } from './cancel.ts';
import { challengeName, delegationTarget } from './dcv.ts';
import type { CertificateKeyKind, RevocationReason } from './issuer.ts';
import { normalizeRequestName, normalizeRequestNames } from './names.ts';
import {
  certificateNameTaken,
  isFinalStep,
  orderNameTaken,
  type IssuanceOrder,
  type IssuanceRepository,
  type IssuedCertificateType,
  type ValidationMethod,
} from './ports.ts';

export const LABEL_KEY_SECRET = 'dcv-label-key';

/** The reason when none was given (no configuration read at all). */
const UNCONFIGURED_REASON =
  "set CERTKEEPER_DCV_ZONE, CERTKEEPER_DCV_DNS_SERVER and CERTKEEPER_DCV_TSIG_KEY (DNS-01) or CERTKEEPER_HTTP01_PORT (HTTP-01), and CERTKEEPER_ACME_DIRECTORY_URL for a CA other than Let's Encrypt";

/**
 * What every face says while issuance is off (NCP 29001, console 409 `issuance_not_configured`,
 * ACM's RequestCertificate/RenewCertificate, core's `unavailable`): the one text. `reason` is the
 * configuration's (config.ts `loadIssuanceConfig`): it names the variables to set, never a value.
 */
export function issuanceOffMessage(reason: string | null | undefined): string {
  return `Certificate issuance is not configured on this server; ${reason ?? UNCONFIGURED_REASON}.`;
}

const labelKeyContext = `issuance-secret:${LABEL_KEY_SECRET}`;

export interface IssuanceSettings {
  /** The dcv zone (CERTKEEPER_DCV_ZONE); null when only HTTP-01 is configured. */
  readonly dcvZone: string | null;
  /** Whether HTTP-01 can be answered (CERTKEEPER_HTTP01_PORT set). */
  readonly http01: boolean;
}

/** Page of orders; `certificateNo` keeps one certificate's orders only (its history). */
export interface OrderPage {
  readonly offset: number;
  readonly limit: number;
  readonly certificateNo?: number;
}

export interface CertificateRequest {
  readonly name: string;
  readonly domains: readonly string[];
  /** The CN, first; `domains` may repeat it (names.ts). Absent: the first of `domains`. */
  readonly commonName?: string;
  /** Refuse Unicode names rather than convert them (names.ts; the NCP face). */
  readonly asciiOnly?: boolean;
  readonly keyKind?: CertificateKeyKind;
  readonly method?: ValidationMethod;
  readonly renewal?: boolean;
  /** `NCP_GLOBAL_EDGE_DEDICATED`: for edge slots only, its key never exported. Default `NCP_FREE_DV_01`. */
  readonly certificateType?: IssuedCertificateType;
}

/** A reissue of a certificate issued here, with the user's CSR (the user keeps the key). */
export interface ReissueRequest {
  /** PEM PKCS#10; its names must be exactly the request's (domain/x509/csr.ts). */
  readonly csr: string;
  /** The certificate's name as the caller knows it (NCP `certificateName`); another name is `not_found`. */
  readonly name?: string;
  /** The CN, first (names.ts); absent: the first of `domains`. */
  readonly commonName?: string;
  /** Absent (and no `commonName`): the names the certificate was issued for. */
  readonly domains?: readonly string[];
  readonly asciiOnly?: boolean;
}

export interface RevokeRequest {
  readonly certificateNo: number;
  /** NCP's `orderId`: an order of the tenant about the certificate; with `certificateNo` 0, its certificate. */
  readonly orderId?: number;
  readonly reason: RevocationReason;
}

/** One record the user creates, and how its domain's validation stands. */
export interface VerificationRecord {
  readonly domain: string;
  /** `_acme-challenge.<domain>` (DNS-01). */
  readonly recordName: string;
  readonly recordType: 'CNAME';
  /** `<label>.<dcv zone>`. */
  readonly recordValue: string;
  /** `pending` (not checked yet or not found), `valid`, `invalid`, `expired`. */
  readonly state: 'pending' | 'valid' | 'invalid' | 'expired';
  /** The last CNAME check, when one ran. */
  readonly cname: 'ok' | 'missing' | { readonly wrongTarget: string } | null;
}

export interface IssuanceService {
  /** Whether issuance is configured; when false every other call fails with `unavailable`. */
  readonly enabled: boolean;
  /** Why issuance is off (the missing variables, from the configuration), or null when on. */
  readonly offReason: string | null;
  /** `issuanceOffMessage(offReason)` when off, else null: what the faces say. */
  readonly offMessage: string | null;
  /** The validation methods this server can carry out (empty when off). */
  readonly methods: readonly ValidationMethod[];
  request(actor: Actor, request: CertificateRequest): Promise<IssuanceOrder>;
  getOrder(actor: Actor, orderId: number): Promise<IssuanceOrder>;
  listOrders(actor: Actor, page: OrderPage): Promise<IssuanceOrder[]>;
  /** The newest order about a certificate (NCP getVerificationInfo by certificateNo). */
  orderForCertificate(actor: Actor, certificateNo: number): Promise<IssuanceOrder>;
  /** The records to create for an order's domains (one per base domain: wildcard and apex share it). */
  verification(actor: Actor, order: IssuanceOrder): Promise<VerificationRecord[]>;
  /**
   * The newest order about a certificate (pending or issued) and its records; with `domain`, only
   * that domain's record (a wildcard names its base domain's), none when the order lacks it.
   */
  verificationFor(
    actor: Actor,
    certificateNo: number,
    domain?: string,
  ): Promise<{ order: IssuanceOrder; records: VerificationRecord[] }>;
  /**
   * Turns automatic renewal on or off for a certificate issued here or still pending (its active
   * orders and its renewal entry, in one transaction). `not_found` for a number with neither.
   */
  setRenewal(actor: Actor, certificateNo: number, renewal: boolean): Promise<void>;
  /**
   * Orders the certificate again for the CSR's key, replacing it in place when the CA delivers
   * (it then has no key: NCP status 2 until `certificates.registerKey`). Refused before anything
   * is written: a certificate not issued here or not live (`not_found`), revoked or being revoked
   * (`conflict`), a CSR that does not parse, is not self-signed or has a weak key, or whose names
   * are not exactly the request's (field `csr`), names held by another order (`already_exists`).
   */
  reissue(actor: Actor, certificateNo: number, request: ReissueRequest): Promise<IssuanceOrder>;
  /**
   * Asks the CA to revoke a certificate issued here: a `revoke` order, and the certificate is
   * revocation-requested (NCP -7) until the worker has the CA's confirmation (-5). `not_found` for
   * a certificate not issued here (nothing written), `conflict` when revoked or being revoked.
   */
  revoke(actor: Actor, request: RevokeRequest): Promise<IssuanceOrder>;
  /**
   * Renews a certificate issued here now, whatever its renewal window (ACM RenewCertificate): a
   * `renew` order from its renewal entry, as the worker's scan makes. An order about it still
   * running is answered instead of a second one. `not_found` for a number not issued here.
   */
  renewNow(actor: Actor, certificateNo: number): Promise<IssuanceOrder>;
  /**
   * A certificate's orders, newest first, and whether it renews automatically (its renewal entry,
   * else its newest order's flag); `renewal` null and no orders for a certificate not issued here.
   */
  history(actor: Actor, certificateNo: number): Promise<{ renewal: boolean | null; orders: IssuanceOrder[] }>;
  /**
   * Withdraws a certificate request (an `issue` order) by the rule of cancel.ts, audited as
   * `certificate.request.cancel`; answers the order as cancelled. `not_found` when there is no
   * request to withdraw (unknown, delivered, revoked, cancelled already, not an `issue` order),
   * `conflict` while the CA is issuing it or a worker is on it (nothing written either way).
   */
  cancel(actor: Actor, orderId: number): Promise<IssuanceOrder>;
  /** The installation's delegation-label key (created on first use). */
  labelKey(): Promise<KeyObject>;
}

const KEY_KINDS: readonly CertificateKeyKind[] = ['ec-p256', 'ec-p384', 'rsa-2048'];

export function createIssuanceService(deps: {
  store: Store;
  issuance: IssuanceRepository;
  audit: AuditService;
  clock: Clock;
  settings: IssuanceSettings | null;
  /** Why `settings` is null (names the missing variables); shown by the faces that say so. */
  offReason?: string;
}): IssuanceService {
  const { store, issuance, audit, clock, settings } = deps;
  let labelKeyPromise: Promise<KeyObject> | null = null;

  const offMessage = settings ? null : issuanceOffMessage(deps.offReason);

  function enabled(): IssuanceSettings {
    if (!settings) throw new AppError('unavailable', offMessage!);
    return settings;
  }

  async function loadLabelKey(): Promise<KeyObject> {
    const existing = await issuance.getSecret(LABEL_KEY_SECRET);
    const sealed =
      existing ??
      (await issuance.ensureSecret(
        LABEL_KEY_SECRET,
        await store.vault.seal(randomBytes(32), labelKeyContext),
        clock.now(),
      ));
    return createSecretKey(await store.vault.open(sealed, labelKeyContext));
  }

  /** A live certificate issued here (it has a renewal entry), or `not_found` saying which. */
  async function issuedHere(tenantId: number, certificateNo: number, verb: string) {
    const certificate = await store.certificates.get(tenantId, certificateNo);
    const entry = certificate ? await issuance.getRenewal(tenantId, certificateNo) : null;
    if (!certificate || !entry)
      throw new AppError(
        'not_found',
        `No certificate number ${certificateNo} issued here; only certificates issued by certkeeper can be ${verb}.`,
        { field: 'certificateNo' },
      );
    return { certificate, entry };
  }

  /** `already_exists` (field dnsName) when an active order holds one of `names`. */
  async function refuseHeldNames(names: readonly string[]): Promise<void> {
    const held = await issuance.activeNames(names);
    if (held.length > 0) throw orderNameTaken(held[0]!.name);
  }

  const service: IssuanceService = {
    enabled: settings !== null,
    offReason: settings ? null : (deps.offReason ?? UNCONFIGURED_REASON),
    offMessage,
    methods: settings
      ? [
          ...(settings.dcvZone !== null ? (['dns-01'] as const) : []),
          ...(settings.http01 ? (['http-01'] as const) : []),
        ]
      : [],

    labelKey() {
      labelKeyPromise ??= loadLabelKey().catch((error: unknown) => {
        labelKeyPromise = null;
        throw error;
      });
      return labelKeyPromise;
    },

    async request(actor, request) {
      authorize(actor, 'certificate.write');
      const config = enabled();
      return audit.around(
        actor,
        'certificate.request',
        `certificate-name:${request.name}`,
        async () => {
          const name = request.name.trim();
          if (name === '' || name.length > 255)
            throw new AppError('invalid_argument', 'The certificate name must be 1-255 characters.', {
              field: 'certificateName',
            });
          const method = request.method ?? 'dns-01';
          if (method === 'dns-01' && config.dcvZone === null)
            throw new AppError('invalid_argument', 'DNS-01 validation is not configured (CERTKEEPER_DCV_ZONE).', {
              field: 'validationMethod',
            });
          if (method === 'http-01' && !config.http01)
            throw new AppError('invalid_argument', 'HTTP-01 validation is not configured (CERTKEEPER_HTTP01_PORT).', {
              field: 'validationMethod',
            });
          const keyKind = request.keyKind ?? 'ec-p256';
          if (!KEY_KINDS.includes(keyKind))
            throw new AppError('invalid_argument', `The key type must be one of ${KEY_KINDS.join(', ')}.`, {
              field: 'keyType',
            });
          const names = normalizeRequestNames(request.domains, {
            ...(request.commonName !== undefined ? { commonName: request.commonName } : {}),
            ...(request.asciiOnly ? { asciiOnly: true } : {}),
          });
          if (method === 'http-01' && names.some((n) => n.startsWith('*.')))
            throw new AppError('invalid_argument', 'A wildcard name can only be validated with DNS-01.', {
              field: 'dnsName',
            });
          const existing = await store.certificates.getByName(actor.tenantId, name);
          // The friendly refusal; migration 0018's unique index refuses a request that raced this one.
          if ((existing && !existing.deletedAt) || (await issuance.activeOrderNamed(actor.tenantId, name)))
            throw certificateNameTaken(name);
          await refuseHeldNames(names);
          return issuance.createOrder(
            {
              tenantId: actor.tenantId,
              kind: 'issue',
              certificateName: name,
              certificateNo: null,
              names,
              keyKind,
              method,
              renewal: request.renewal ?? true,
              replaces: null,
              ...(request.certificateType ? { certificateType: request.certificateType } : {}),
            },
            clock.now(),
          );
        },
        { names: request.domains.length, method: request.method ?? 'dns-01' },
      );
    },

    async reissue(actor, certificateNo, request) {
      authorize(actor, 'certificate.write');
      enabled();
      return audit.around(actor, 'certificate.reissue.request', `certificate:${certificateNo}`, async () => {
        const { certificate, entry } = await issuedHere(actor.tenantId, certificateNo, 'reissued');
        if (request.name !== undefined && request.name !== certificate.name)
          throw new AppError(
            'not_found',
            `Certificate ${certificateNo} is not named '${request.name.slice(0, 255)}'.`,
            {
              field: 'certificateName',
            },
          );
        if (certificate.revokedAt || certificate.revocationRequestedAt)
          throw new AppError('conflict', `Certificate ${certificateNo} is revoked or being revoked.`, {
            field: 'certificateNo',
          });
        const options = {
          ...(request.commonName !== undefined ? { commonName: request.commonName } : {}),
          ...(request.asciiOnly ? { asciiOnly: true } : {}),
        };
        const names =
          request.domains === undefined && request.commonName === undefined
            ? [...entry.names]
            : normalizeRequestNames(request.domains ?? [], options);
        const csr = parseCsr(request.csr);
        const asked = new Set<string>();
        for (const raw of [...(csr.commonName === null ? [] : [csr.commonName]), ...csr.dnsNames]) {
          try {
            asked.add(normalizeRequestName(raw, options));
          } catch (error) {
            throw new AppError(
              'invalid_argument',
              `The CSR names ${JSON.stringify(raw.slice(0, 300))}, which cannot be ordered.`,
              {
                field: 'csr',
                cause: error,
              },
            );
          }
        }
        if (asked.size !== names.length || names.some((n) => !asked.has(n)))
          throw new AppError(
            'invalid_argument',
            `The CSR names ${[...asked].join(', ') || 'nothing'}; the request names ${names.join(', ')}. They must be the same names.`,
            { field: 'csr' },
          );
        await refuseHeldNames(names);
        return issuance.createOrder(
          {
            tenantId: actor.tenantId,
            kind: 'reissue',
            certificateName: certificate.name,
            certificateNo,
            names,
            keyKind: entry.keyKind,
            method: entry.method,
            renewal: entry.renewal,
            replaces: null,
            csr: armour('CERTIFICATE REQUEST', csr.der),
          },
          clock.now(),
        );
      });
    },

    async revoke(actor, request) {
      authorize(actor, 'certificate.write');
      enabled();
      let certificateNo = request.certificateNo;
      return audit.around(
        actor,
        'certificate.revoke.request',
        `certificate:${certificateNo}`,
        async () => {
          if (request.orderId !== undefined) {
            const order = await issuance.getOrder(actor.tenantId, request.orderId);
            if (
              !order ||
              order.certificateNo === null ||
              (certificateNo !== 0 && order.certificateNo !== certificateNo)
            )
              throw new AppError(
                'not_found',
                `No certificate order ${request.orderId} for certificate ${certificateNo}.`,
                {
                  field: 'orderId',
                },
              );
            certificateNo = order.certificateNo;
          }
          const { certificate, entry } = await issuedHere(actor.tenantId, certificateNo, 'revoked');
          return issuance.createOrder(
            {
              tenantId: actor.tenantId,
              kind: 'revoke',
              certificateName: certificate.name,
              certificateNo,
              names: entry.names,
              keyKind: entry.keyKind,
              method: entry.method,
              renewal: false,
              replaces: null,
              revocationReason: request.reason,
            },
            clock.now(),
          );
        },
        { reason: request.reason },
      );
    },

    async cancel(actor, orderId) {
      authorize(actor, 'certificate.write');
      enabled();
      return audit.around(actor, 'certificate.request.cancel', `certificate-order:${orderId}`, async () => {
        const order = await issuance.getOrder(actor.tenantId, orderId);
        const decided = order ? cancellationOf(order) : ({ kind: 'nothing' } as const);
        if (!order || decided.kind === 'nothing')
          throw new AppError('not_found', `No pending certificate request number ${orderId}.`, { field: 'orderId' });
        if (decided.kind === 'issuing')
          throw new AppError(
            'conflict',
            `The CA has validated every name of certificate request ${orderId} and is issuing it; it cannot be withdrawn now. Try again in a few seconds, then delete the issued certificate.`,
            { field: 'orderId' },
          );
        const at = clock.now();
        if (!(await issuance.cancel(actor.tenantId, orderId, order, decided.next, at)))
          throw new AppError(
            'conflict',
            `Certificate request ${orderId} is being worked on right now; try again in a few seconds.`,
            { field: 'orderId' },
          );
        return { ...order, step: decided.next.step, outcome: decided.next.outcome, attempts: 0, updatedAt: at };
      });
    },

    async getOrder(actor, orderId) {
      authorize(actor, 'certificate.read');
      enabled();
      const order = await issuance.getOrder(actor.tenantId, orderId);
      if (!order) throw new AppError('not_found', `No certificate order number ${orderId}.`, { field: 'orderId' });
      return order;
    },

    async listOrders(actor, page) {
      authorize(actor, 'certificate.read');
      enabled();
      return issuance.listOrders(actor.tenantId, {
        offset: Math.max(Math.trunc(page.offset), 0),
        limit: Math.min(Math.max(Math.trunc(page.limit), 1), 1000),
        ...(page.certificateNo !== undefined ? { certificateNo: page.certificateNo } : {}),
      });
    },

    async orderForCertificate(actor, certificateNo) {
      authorize(actor, 'certificate.read');
      enabled();
      const order = await issuance.latestOrderFor(actor.tenantId, certificateNo);
      if (!order)
        throw new AppError('not_found', `No certificate order for certificate number ${certificateNo}.`, {
          field: 'certificateNo',
        });
      return order;
    },

    async verification(actor, order) {
      authorize(actor, 'certificate.read');
      const config = enabled();
      if (order.method !== 'dns-01' || config.dcvZone === null) return [];
      const key = await service.labelKey();
      const byBase = new Map<string, VerificationRecord>();
      for (const domain of order.names) {
        const base = domain.startsWith('*.') ? domain.slice(2) : domain;
        if (byBase.has(base)) continue;
        const authorizations = order.authorizations.filter(
          (a) => (a.domain.startsWith('*.') ? a.domain.slice(2) : a.domain) === base,
        );
        const statuses = authorizations.map((a) => a.status);
        const state: VerificationRecord['state'] =
          order.step === 'validation_expired' || statuses.includes('expired')
            ? 'expired'
            : statuses.includes('invalid') || order.step === 'validation_failed'
              ? 'invalid'
              : statuses.length > 0 && statuses.every((s) => s === 'valid')
                ? 'valid'
                : 'pending';
        byBase.set(base, {
          domain: base,
          recordName: challengeName(base),
          recordType: 'CNAME',
          recordValue: delegationTarget(key, order.tenantId, base, config.dcvZone),
          state,
          cname: authorizations.find((a) => a.cname !== undefined)?.cname ?? null,
        });
      }
      return [...byBase.values()];
    },

    async verificationFor(actor, certificateNo, domain) {
      const order = await service.orderForCertificate(actor, certificateNo);
      const records = await service.verification(actor, order);
      if (domain === undefined) return { order, records };
      const name = normalizeRequestName(domain, { asciiOnly: true });
      const wanted = name.startsWith('*.') ? name.slice(2) : name;
      return { order, records: records.filter((r) => r.domain === wanted) };
    },

    async renewNow(actor, certificateNo) {
      authorize(actor, 'certificate.write');
      enabled();
      return audit.around(actor, 'certificate.renew.request', `certificate:${certificateNo}`, async () => {
        const running = await issuance.latestOrderFor(actor.tenantId, certificateNo);
        if (running && !isFinalStep(running.step)) return running;
        const entry = await issuance.getRenewal(actor.tenantId, certificateNo);
        const certificate = await store.certificates.get(actor.tenantId, certificateNo);
        if (!entry || !certificate || certificate.deletedAt)
          throw new AppError('not_found', `No certificate number ${certificateNo} issued here.`, {
            field: 'certificateNo',
          });
        return issuance.createOrder(
          {
            tenantId: actor.tenantId,
            kind: 'renew',
            certificateName: certificate.name,
            certificateNo,
            names: entry.names,
            keyKind: entry.keyKind,
            method: entry.method,
            renewal: entry.renewal,
            replaces: null,
          },
          clock.now(),
        );
      });
    },
    async history(actor, certificateNo) {
      authorize(actor, 'certificate.read');
      enabled();
      const orders = await issuance.listOrders(actor.tenantId, { offset: 0, limit: 100, certificateNo });
      const entry = await issuance.getRenewal(actor.tenantId, certificateNo);
      return { renewal: entry?.renewal ?? orders[0]?.renewal ?? null, orders };
    },

    async setRenewal(actor, certificateNo, renewal) {
      authorize(actor, 'certificate.write');
      enabled();
      await audit.around(
        actor,
        'certificate.renewal.set',
        `certificate:${certificateNo}`,
        async () => {
          if (!(await issuance.setRenewal(actor.tenantId, certificateNo, renewal, clock.now())))
            throw new AppError(
              'not_found',
              `No certificate number ${certificateNo} issued or being issued here; renewal applies to those only.`,
              { field: 'certificateNo' },
            );
        },
        { renewal },
      );
    },
  };
  return service;
}
