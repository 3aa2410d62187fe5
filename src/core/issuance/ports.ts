/**
 * The issuance store port: what core's issuance service and worker need from the store
 * (implemented by src/store/repositories/issuance.ts over migration 0008).
 *
 * - An order row is the whole state of one job (`issue`, `renew`, `reissue`): every worker step
 *   reads it, does ONE thing at the CA or in DNS, and writes its result back under its claim
 *   before the next step starts. Nothing lives in memory between steps, so kill -9 at any point
 *   resumes from the row (in this process or another).
 * - Claims are row leases taken with one conditional UPDATE (like the edge slots): across
 *   processes on one database exactly one worker holds an order; every worker write is
 *   conditional on `claimed_by = workerId`, so a worker whose lease was taken over changes nothing.
 * - Secrets arrive sealed by the vault (core seals, the store keeps bytes): the account key under
 *   AAD `acme-account-key:<directory URL>`, the certificate key under
 *   `issuance-order-key:<orderId>`, the delegation-label key under `issuance-secret:<name>`.
 * - A name is in at most one active order at a time (unique index of issuance_order_names):
 *   `createOrder` refuses with `already_exists` (field `dnsName`, `orderNameTaken`) when another
 *   active order, of any tenant, holds one of its names. The names are released when the order
 *   reaches a final step.
 * - A certificate name is in at most one active `issue` order of a tenant (migration 0018's
 *   partial unique index): `createOrder` refuses with `certificateNameTaken` (field
 *   `certificateName`), also when two requests race; a final step frees it.
 * - A `revoke` order claims no names; creating it marks the certificate revocation-requested in
 *   the same transaction (`conflict` when it is revoked or being revoked already, `not_found`
 *   when it is not live), and its final step marks it revoked (`revoked`) or clears the request.
 */
import { AppError } from '../../domain/errors.ts';
import type { SealedSecret } from '../ports.ts';
import type { CertificateKeyKind, ProblemDocument, RevocationReason } from './issuer.ts';

/** The refusal of a DNS name held by another active order (any tenant's). One text for core and store. */
export const orderNameTaken = (name: string): AppError =>
  new AppError('already_exists', `The name ${name} is already in a pending certificate order.`, {
    field: 'dnsName',
    details: { dnsName: name },
  });

/** The refusal of a certificate name in use: a live certificate, or another active `issue` order. */
export const certificateNameTaken = (name: string): AppError =>
  new AppError('already_exists', `A certificate named '${name}' already exists.`, { field: 'certificateName' });

/**
 * - `issue`: a new certificate (its number reserved at request time);
 * - `renew`: the same names again, replacing the certificate in place (the renewal scan);
 * - `reissue`: the names a user asked for again, with the user's CSR when one was given (then the
 *   certificate lands without a key: NCP status 2 until `registerKey`), replacing in place;
 * - `revoke`: asks the CA to revoke the certificate. Its steps: `new` (the account), `account`
 *   (the revocation request; the CA's "already revoked" counts as done), then `revoked`; a
 *   refusal ends `failed`. It claims no names (a renewal may run beside it), and the
 *   certificate's revocation state moves with it in the same transactions: requested when the
 *   order is created, revoked or cleared when it ends (repository `createOrder`, `advance`).
 */
export type OrderKind = 'issue' | 'renew' | 'reissue' | 'revoke';

/** The stored type of what an order issues (model.ts CertificateType). */
export type IssuedCertificateType = 'NCP_FREE_DV_01' | 'NCP_GLOBAL_EDGE_DEDICATED';
export type ValidationMethod = 'dns-01' | 'http-01';

/**
 * The steps of an order, in the order the worker takes them. Each names what the NEXT claim does:
 * - `new`: make sure the ACME account exists (created once per directory URL);
 * - `account`: ask the CA for a new order (`replaces` when renewing with ARI);
 * - `ordered`: read the authorizations and pick each one's challenge;
 * - `publishing`: write the TXT values at the delegation targets (DNS-01) or the HTTP-01 tokens;
 * - `awaiting_cname`: check each `_acme-challenge` CNAME points at its delegation target;
 * - `responding`: tell the CA the challenges are ready;
 * - `polling`: read the order until it is `ready` (or `invalid`);
 * - `finalizing`: send the CSR made from the stored certificate key;
 * - `downloading`: fetch the chain;
 * - `storing`: import it through core's certificate service (or replace in place);
 * - `cleanup`: remove the TXT values / tokens, then move to `outcome`.
 * Final: `done`, `failed`, `validation_failed`, `validation_expired`, `revoked`, `cancelled` (a
 * user withdrew the request: cancel.ts; `outcome` keeps what a failed order had come to).
 */
export const ORDER_STEPS = [
  'new',
  'account',
  'ordered',
  'publishing',
  'awaiting_cname',
  'responding',
  'polling',
  'finalizing',
  'downloading',
  'storing',
  'cleanup',
  'done',
  'failed',
  'validation_failed',
  'validation_expired',
  'revoked',
  'cancelled',
] as const;
export type OrderStep = (typeof ORDER_STEPS)[number];

export const FINAL_STEPS = [
  'done',
  'failed',
  'validation_failed',
  'validation_expired',
  'revoked',
  'cancelled',
] as const;
export type FinalStep = (typeof FINAL_STEPS)[number];
export const isFinalStep = (step: OrderStep): step is FinalStep => (FINAL_STEPS as readonly string[]).includes(step);

/** One authorization of an order as the worker recorded it (persisted as JSON on the order row). */
export interface OrderAuthorization {
  readonly url: string;
  /** The identifier's value as the CA has it (`*.example.com` for a wildcard). */
  readonly domain: string;
  readonly wildcard: boolean;
  /** The CA's status when last read. */
  readonly status: string;
  /** The chosen challenge (the order's method); absent when the authorization is already valid. */
  readonly challengeUrl?: string;
  readonly token?: string;
  /** DNS-01: the TXT value, and where certkeeper writes it (`<label>.<dcv zone>`). */
  readonly txtValue?: string;
  readonly delegationTarget?: string;
  /** HTTP-01: the body to serve at `/.well-known/acme-challenge/<token>`. */
  readonly keyAuthorization?: string;
  /** The last CNAME check of `_acme-challenge.<domain>`: `ok`, `missing`, or the wrong target found. */
  readonly cname?: 'ok' | 'missing' | { readonly wrongTarget: string };
}

export interface IssuanceOrder {
  readonly orderId: number;
  readonly tenantId: number;
  readonly kind: OrderKind;
  readonly certificateName: string;
  /**
   * The certificate renewed/reissued; for an `issue`, the number reserved for the certificate when
   * the order was created (it is inserted with that number when it lands). Null only on `issue`
   * orders created before migration 0011, which get the next number when stored.
   */
  readonly certificateNo: number | null;
  /** Names to order, in request order (the first is the CSR's CN); A-labels, lower case. */
  readonly names: readonly string[];
  readonly keyKind: CertificateKeyKind;
  readonly method: ValidationMethod;
  readonly renewal: boolean;
  readonly step: OrderStep;
  /** The final step `cleanup` leads to (set with `cleanup`). */
  readonly outcome: FinalStep | null;
  readonly accountId: number | null;
  readonly orderUrl: string | null;
  readonly finalizeUrl: string | null;
  readonly certificateUrl: string | null;
  /** RFC 9773 ARI id of the certificate this order replaces. */
  readonly replaces: string | null;
  readonly authorizations: readonly OrderAuthorization[];
  /** The certificate key, sealed (`issuance-order-key:<orderId>`); null until generated. */
  readonly sealedKey: SealedSecret | null;
  /** The downloaded chain (PEM, public), kept between `downloading` and `storing`. */
  readonly certificatePem: string | null;
  /** The CA's problem document of the failure, as sent. */
  readonly problem: ProblemDocument | null;
  readonly lastError: string | null;
  readonly attempts: number;
  readonly nextAttemptAt: Date | null;
  /** When the order entered `awaiting_cname` (the validation window counts from here). */
  readonly awaitingSince: Date | null;
  /** `reissue` with the user's CSR (PEM): finalized with it; the order holds no key then. */
  readonly csr: string | null;
  /** `revoke`: the RFC 5280 CRLReason code sent to the CA. */
  readonly revocationReason: RevocationReason | null;
  readonly certificateType: IssuedCertificateType;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface NewIssuanceOrder {
  readonly tenantId: number;
  readonly kind: OrderKind;
  readonly certificateName: string;
  readonly certificateNo: number | null;
  readonly names: readonly string[];
  readonly keyKind: CertificateKeyKind;
  readonly method: ValidationMethod;
  readonly renewal: boolean;
  readonly replaces: string | null;
  readonly csr?: string | null;
  readonly revocationReason?: RevocationReason | null;
  /** Default `NCP_FREE_DV_01`. */
  readonly certificateType?: IssuedCertificateType;
}

/** What a step writes back: any subset of the mutable fields. `attempts` resets unless given. */
export interface OrderUpdate {
  readonly step: OrderStep;
  readonly outcome?: FinalStep | null;
  readonly accountId?: number;
  readonly orderUrl?: string;
  readonly finalizeUrl?: string;
  readonly certificateUrl?: string;
  readonly certificateNo?: number;
  readonly authorizations?: readonly OrderAuthorization[];
  readonly sealedKey?: SealedSecret;
  readonly certificatePem?: string;
  readonly problem?: ProblemDocument | null;
  readonly lastError?: string | null;
  readonly attempts?: number;
  /** Not before this time for the next claim; null means at once. */
  readonly nextAttemptAt: Date | null;
  readonly awaitingSince?: Date | null;
}

export interface AcmeAccountRow {
  readonly accountId: number;
  readonly directoryUrl: string;
  /** Null until the CA confirmed the account (the key may be stored before the call). */
  readonly accountUrl: string | null;
  /** Sealed with `acme-account-key:<directoryUrl>`. */
  readonly sealedKey: SealedSecret;
}

/** A certificate issued here, for the renewal scan. */
export interface RenewalEntry {
  readonly tenantId: number;
  readonly certificateNo: number;
  readonly certificateName: string;
  readonly names: readonly string[];
  readonly keyKind: CertificateKeyKind;
  readonly method: ValidationMethod;
  readonly renewal: boolean;
  readonly nextCheckAt: Date;
}

export interface IssuanceRepository {
  // Accounts and installation secrets: created once, the first writer wins, everyone reads that.
  /** Inserts the account's key unless the directory has one already; returns the row that exists. */
  ensureAccount(directoryUrl: string, sealedKey: SealedSecret, at: Date): Promise<AcmeAccountRow>;
  getAccount(directoryUrl: string): Promise<AcmeAccountRow | null>;
  setAccountUrl(accountId: number, accountUrl: string, at: Date): Promise<void>;
  /** Inserts the secret unless one of that name exists; returns the one that exists. */
  ensureSecret(name: string, sealed: SealedSecret, at: Date): Promise<SealedSecret>;
  getSecret(name: string): Promise<SealedSecret | null>;

  // Orders.
  /**
   * Inserts the order (step `new`, due at once) and claims its names, in one transaction. An
   * `issue` order given no `certificateNo` gets one reserved from the certificates' own sequence
   * in that transaction (store/dialect.ts `reservedIds`): the pending certificate has its number
   * from now on, while no certificate row, list entry or counter exists for it until it lands.
   */
  createOrder(order: NewIssuanceOrder, at: Date): Promise<IssuanceOrder>;
  getOrder(tenantId: number, orderId: number): Promise<IssuanceOrder | null>;
  /** The tenant's orders, newest first. */
  listOrders(
    tenantId: number,
    page: { offset: number; limit: number; certificateNo?: number },
  ): Promise<IssuanceOrder[]>;
  /**
   * The newest order of the tenant that issued, renewed or reissued `certificateNo` (revoke orders
   * are not: they have no validation to show).
   */
  latestOrderFor(tenantId: number, certificateNo: number): Promise<IssuanceOrder | null>;
  /** The tenant's orders about `certificateNo` older than order `before`, newest first, at most `limit`. */
  ordersBefore(tenantId: number, certificateNo: number, before: number, limit: number): Promise<IssuanceOrder[]>;
  /** Whether the tenant has an active (not final) order for a certificate of this name. */
  activeOrderNamed(tenantId: number, certificateName: string): Promise<boolean>;
  /** Which of `names` are held by an active order, with the holding tenant and order. */
  activeNames(names: readonly string[]): Promise<Array<{ name: string; tenantId: number; orderId: number }>>;

  // The worker's side (see the top of this file).
  /** Ids of active orders, unclaimed or with an expired lease, due by `now`; by due time. */
  due(now: Date, limit: number): Promise<number[]>;
  /** Takes the order if it is due: one conditional UPDATE. Null when another worker holds it or it is final. */
  claim(orderId: number, workerId: string, now: Date, leaseUntil: Date): Promise<IssuanceOrder | null>;
  /** Extends a held lease; false when the claim was lost. */
  renew(orderId: number, workerId: string, leaseUntil: Date): Promise<boolean>;
  /**
   * Writes a step's result and releases the claim; on a final step the order's names are freed in
   * the same transaction. False when another worker holds the order (nothing written).
   */
  advance(orderId: number, workerId: string, update: OrderUpdate, at: Date): Promise<boolean>;
  /** Releases the claim without recording anything (shutdown). */
  release(orderId: number, workerId: string): Promise<void>;
  /**
   * Cancels the tenant's order (core/issuance/cancel.ts decides what `next` is): ONE conditional
   * UPDATE, applied only if the row is still as the caller read it (`expected`: same step,
   * `updated_at` and attempts) and no worker holds a live lease on it, so a cancel and a worker's
   * claim or advance never both win. It writes `next` (due at once, attempts 0, claim cleared)
   * and, in the same transaction, frees the order's DNS names and HTTP-01 tokens (a cancelled
   * order holds no name, even while its cleanup runs). False when nothing was written.
   */
  cancel(
    tenantId: number,
    orderId: number,
    expected: { readonly step: OrderStep; readonly updatedAt: Date; readonly attempts: number },
    next: { readonly step: 'cleanup' | 'cancelled'; readonly outcome: FinalStep },
    at: Date,
  ): Promise<boolean>;

  // Renewal bookkeeping of issued certificates.
  /** Creates or updates the entry of an issued certificate. */
  upsertRenewal(entry: RenewalEntry, at: Date): Promise<void>;
  getRenewal(tenantId: number, certificateNo: number): Promise<RenewalEntry | null>;
  /** Entries with renewal on and `nextCheckAt <= now`, soonest first. */
  renewalsDue(now: Date, limit: number): Promise<RenewalEntry[]>;
  setRenewalCheck(tenantId: number, certificateNo: number, nextCheckAt: Date): Promise<void>;
  /**
   * Sets the renewal flag of the tenant's certificate `certificateNo`: its renewal entry and its
   * active orders (which copy the flag into the entry when they store), in one transaction.
   * False when neither exists (nothing written).
   */
  setRenewal(tenantId: number, certificateNo: number, renewal: boolean, at: Date): Promise<boolean>;
  /** The HTTP-01 key authorization for `token`, from active orders; null when none. */
  http01Response(token: string): Promise<string | null>;
}
