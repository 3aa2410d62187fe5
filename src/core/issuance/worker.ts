/**
 * The issuance worker: carries out order rows (ports.ts) against the ACME CA (issuer.ts) and the
 * dcv zone (dcv.ts), ONE step per claim, writing each step's result before the next starts.
 * Started by `serve` next to the edge worker, stopped before the store closes; tests drive it
 * with `runOnce()`.
 *
 * - Resumable: a step reads only the row (URLs, authorizations, the sealed certificate key) and
 *   persistent secrets; kill -9 anywhere leaves a lease that expires, and the next worker repeats
 *   at most the step that was running. Every step is safe to repeat: account creation finds the
 *   key's account, TXT writes and removals are idempotent, challenge responses and polls are
 *   re-sent, a finalize the CA already took (`orderNotReady`) goes back to polling, and storing
 *   first looks whether the certificate is already stored. Only `newOrder` is not idempotent at
 *   the CA: its result is written right after the call returns.
 * - One worker per order across processes: the claim is one conditional UPDATE; the lease is
 *   renewed while a step runs; every write is conditional on the claim (repository `advance`).
 * - Failures: an `IssuerError`/`DcvError` that is retryable (or any other error, which is
 *   treated as retryable: a store hiccup must not kill an order) backs off per order (5 s
 *   doubling to 10 min, or the CA's `Retry-After` when it said) up to `maxAttempts`; one that is
 *   not retryable (a refused request, a dcv name outside the zone) ends the order `failed` with the CA's
 *   problem document kept. Either way the message is on the row (`lastError`) and in the log,
 *   and no secret is in it (the ports guarantee their messages hold none).
 * - DNS-01 by CNAME delegation: TXT values go to `<label>.<dcv zone>` (one value per
 *   authorization, so wildcard + apex put two values at one name); before responding, the user's
 *   `_acme-challenge.<domain>` must be a CNAME to that target (checked every 2 s doubling to
 *   5 min; `validation_expired` after `cnameWindowMs`). HTTP-01 tokens are served from the rows
 *   by http01.ts. Values are removed in `cleanup`, whatever the outcome.
 * - The certificate goes through core's certificate service (the import ladder, duplicate check,
 *   audit), origin `acme`, type `NCP_FREE_DV_01`; a renewal or reissue replaces the certificate in
 *   place (same certificateNo; edge slots using it are republished).
 * - A `reissue` with the user's CSR finalizes with that CSR and generates no key; its certificate
 *   lands without one (NCP status 2). A `revoke` order asks the CA to revoke at its `account`
 *   step (a CA answering "already revoked" means an earlier attempt got through) and ends
 *   `revoked`; the repository moves the certificate's revocation state with the final step.
 * - Renewal scan (every `renewalScanEveryMs`): certificates issued here with renewal on get a
 *   `renew` order inside the ARI window when the directory offers `renewalInfo`, else once a
 *   third of their lifetime is left. The scan looks at a certificate again an hour after it
 *   queued its renewal, so a renewal that failed is tried again then.
 * - Notifications: `renewal.failed` carries the failed renewals in a row (renewalFailuresInARow,
 *   read from the certificate's orders, so no counter can drift), and a renewal that lands after
 *   one or more failed ones emits `renewal.recovered` once (its event key is the order's).
 */
import { X509Certificate } from 'node:crypto';
import { AppError, isAppError } from '../../domain/errors.ts';
import { parseCsr } from '../../domain/x509/csr.ts';
import type { Actor } from '../actor.ts';
import type { NotificationService } from '../notifications/service.ts';
import { eventCertificate } from '../notifications/events.ts';
import type { AuditService } from '../audit.ts';
import {
  createBackgroundLoop,
  defaultWorkerId,
  keepLease,
  messageOf,
  silentLog,
  type LeaseWorker,
  type WorkerLog,
} from '../background-loop.ts';
import { createForegroundYield, type ForegroundYield } from '../background-pace.ts';
import type { CertificateService } from '../certificates.ts';
import type { Clock, Store } from '../ports.ts';
import { challengeName, checkDelegation, DcvError, delegationTarget, type DcvResolver, type DcvZone } from './dcv.ts';
import {
  IssuerError,
  type AccountRef,
  type AcmeAuthorization,
  type ExternalAccountBinding,
  type Issuer,
  type ProblemDocument,
} from './issuer.ts';
import type { FinalStep, IssuanceOrder, IssuanceRepository, OrderAuthorization, OrderUpdate } from './ports.ts';
import type { IssuanceService } from './service.ts';

export interface IssuanceWorkerOptions {
  store: Store;
  issuance: IssuanceRepository;
  service: IssuanceService;
  certificates: CertificateService;
  audit: AuditService;
  clock: Clock;
  issuer: Issuer;
  directoryUrl: string;
  contact?: readonly string[];
  eab?: ExternalAccountBinding;
  /** DNS-01; null when only HTTP-01 is configured. */
  dcv: { zone: DcvZone; resolver: DcvResolver } | null;
  workerId?: string;
  /** Lease length; renewed every third of it while a step runs. Default 60 s. */
  leaseMs?: number;
  /** Pause between passes when there is nothing to do. Default 1 s. */
  pollMs?: number;
  /** Orders looked at per pass. Default 20. */
  batch?: number;
  /** Failed attempts of one step before the order fails. Default 12. */
  maxAttempts?: number;
  /** How long a user has to create the CNAME. Default 72 h. */
  cnameWindowMs?: number;
  /** How often certificates are checked for renewal. Default 1 h. */
  renewalScanEveryMs?: number;
  log?: WorkerLog;
  /**
   * How the worker yields to the API on the event loop (core/background-pace.ts): before each
   * step it waits while requests are in flight, up to one step per gap. Default: the event
   * loop's utilisation only (no request count).
   */
  foreground?: ForegroundYield;
  /**
   * Notifications (core/notifications/): `issuance.succeeded` when a certificate lands (issued or
   * renewed), `issuance.failed` / `renewal.failed` when an order ends without one. Best effort:
   * emit never throws, and a lost event never holds an order back.
   */
  notify?: NotificationService['emit'];
}

export interface IssuanceWorkerPass {
  /** Orders this pass claimed (one step each). */
  claimed: number;
  /** Renewal orders the scan created. */
  renewalsQueued: number;
}

/** runOnce, start, kick, stop: core/background-loop.ts; a pass that claimed an order runs the next at once. */
export type IssuanceWorker = LeaseWorker<IssuanceWorkerPass>;

const accountKeyContext = (directoryUrl: string): string => `acme-account-key:${directoryUrl}`;
export const orderKeyContext = (orderId: number): string => `issuance-order-key:${orderId}`;
const ORDER_NOT_READY = 'urn:ietf:params:acme:error:orderNotReady';
const ALREADY_REVOKED = 'urn:ietf:params:acme:error:alreadyRevoked';
const base = (domain: string): string => (domain.startsWith('*.') ? domain.slice(2) : domain);
const isRetryable = (error: unknown): boolean =>
  error instanceof IssuerError || error instanceof DcvError ? error.retryable : !isAppError(error);

/** Orders read back to count a certificate's failed renewals in a row; a longer run reads as this many. */
export const RENEWAL_HISTORY = 100;
const FAILED_STEPS: readonly FinalStep[] = ['failed', 'validation_failed', 'validation_expired'];

/**
 * Failed renewals in a row before an order, from the certificate's earlier orders (newest
 * first): `renew` orders that ended without a certificate, counted back to the last order that
 * stored one (`done`, of any kind: a reissue that landed ends the run too). Orders still running,
 * and failed issues or reissues, do not count either way.
 */
export function renewalFailuresInARow(earlier: readonly IssuanceOrder[]): number {
  let failures = 0;
  for (const order of earlier) {
    if (order.step === 'done') break;
    if (order.kind === 'renew' && (FAILED_STEPS as readonly string[]).includes(order.step)) failures += 1;
  }
  return failures;
}

/** Backoff of failed attempts: 5 s doubling, capped at 10 min. */
export function failureDelayMs(attempts: number): number {
  return Math.min(5_000 * 2 ** Math.max(attempts - 1, 0), 600_000);
}

/** Between CNAME checks: 2 s doubling, capped at 5 min (a user who just created it waits seconds). */
export function cnameDelayMs(checks: number): number {
  return Math.min(2_000 * 2 ** Math.max(checks - 1, 0), 300_000);
}

/**
 * The first poll after the challenges were answered: CAs take seconds to validate (Let's
 * Encrypt typically 1–5 s, Pebble's VA up to 15 s), and a poll of an order the CA has not moved
 * is a signed request, a store round trip and a step for nothing.
 */
export const FIRST_POLL_MS = 2_000;

/**
 * Between later polls of an order the CA is validating or processing (unless it sent
 * Retry-After): 4 s doubling, capped at 30 s, so polls fall 2, 6, 14, 30 s after the response.
 * Measured against Pebble validating in 0–15 s: 2.9 polls an order instead of 4.2 with 0.5 s
 * then 1 s doubling (bench/issuance-cpu.ts --va-sleep; BENCHMARKS.md, issuance load).
 */
export function pollDelayMs(polls: number): number {
  return Math.min(FIRST_POLL_MS * 2 ** Math.max(polls, 1), 30_000);
}

export function createIssuanceWorker(options: IssuanceWorkerOptions): IssuanceWorker {
  const { store, issuance, service, certificates, audit, clock, issuer, dcv } = options;
  const id = options.workerId ?? defaultWorkerId();
  const leaseMs = options.leaseMs ?? 60_000;
  const batch = options.batch ?? 20;
  const maxAttempts = options.maxAttempts ?? 12;
  const cnameWindowMs = options.cnameWindowMs ?? 72 * 3_600_000;
  const renewalScanEveryMs = options.renewalScanEveryMs ?? 3_600_000;
  const log = options.log ?? silentLog;
  const foreground = options.foreground ?? createForegroundYield();
  const loop = createBackgroundLoop({
    name: 'issuance worker',
    workerId: id,
    pollMs: options.pollMs ?? 1_000,
    log,
    pass,
    again: (done) => done.claimed > 0,
  });
  const actorFor = (tenantId: number): Actor => ({ tenantId, id: 'acme-worker', role: 'ADMIN', remoteAddress: null });
  const after = (ms: number): Date => new Date(clock.now().getTime() + ms);

  /**
   * The account once the CA confirmed it: its row never changes after that (one key and one URL
   * per directory), so later steps skip the store read and the vault's decryption.
   */
  let confirmedAccount: (AccountRef & { accountId: number }) | null = null;

  /** The account key (created and sealed once per directory) and URL (once the CA confirmed it). */
  async function account(): Promise<AccountRef & { accountId: number }> {
    if (confirmedAccount) return confirmedAccount;
    const context = accountKeyContext(options.directoryUrl);
    let row = await issuance.getAccount(options.directoryUrl);
    if (!row) {
      const keyPem = await issuer.generateAccountKey('ES256');
      row = await issuance.ensureAccount(
        options.directoryUrl,
        await store.vault.seal(Buffer.from(keyPem, 'utf8'), context),
        clock.now(),
      );
    }
    const keyPem = (await store.vault.open(row.sealedKey, context)).toString('utf8');
    if (row.accountUrl !== null) return (confirmedAccount = { url: row.accountUrl, keyPem, accountId: row.accountId });
    // Creating an account twice with one key finds the first (RFC 8555 7.3.1): safe to repeat.
    const created = await issuer.account({
      keyPem,
      ...(options.contact && options.contact.length > 0 ? { contact: options.contact } : {}),
      ...(options.eab ? { eab: options.eab } : {}),
    });
    await issuance.setAccountUrl(row.accountId, created.url, clock.now());
    log.info({ accountUrl: created.url, created: created.created }, 'ACME account ready');
    return (confirmedAccount = { url: created.url, keyPem, accountId: row.accountId });
  }

  async function certificateKey(order: IssuanceOrder): Promise<string> {
    if (!order.sealedKey) throw new Error(`Order ${order.orderId} has no certificate key.`);
    return (await store.vault.open(order.sealedKey, orderKeyContext(order.orderId))).toString('utf8');
  }

  /** Records an authorization as read from the CA, with its chosen challenge and what to publish. */
  async function describe(
    order: IssuanceOrder,
    acct: AccountRef,
    authorization: AcmeAuthorization,
  ): Promise<OrderAuthorization> {
    const domain = authorization.wildcard ? `*.${authorization.identifier.value}` : authorization.identifier.value;
    const entry: OrderAuthorization = {
      url: authorization.url,
      domain,
      wildcard: authorization.wildcard,
      status: authorization.status,
    };
    if (authorization.status !== 'pending') return entry;
    const challenge = authorization.challenges.find((c) => c.type === order.method);
    if (!challenge)
      throw new AppError('invalid_argument', `The CA offers no ${order.method} challenge for ${domain}.`, {
        field: 'validationMethod',
      });
    const response = issuer.challengeResponse(acct.keyPem, authorization, challenge);
    if (order.method === 'http-01')
      return { ...entry, challengeUrl: challenge.url, token: challenge.token, keyAuthorization: response.http01Body };
    const target = delegationTarget(
      await service.labelKey(),
      order.tenantId,
      authorization.identifier.value,
      dcv!.zone.zone,
    );
    return {
      ...entry,
      challengeUrl: challenge.url,
      token: challenge.token,
      txtValue: response.dns01TxtValue,
      delegationTarget: target,
    };
  }

  /** The problem of an invalid order: its own, or the first failed challenge's. */
  async function problemOf(
    order: IssuanceOrder,
    acct: AccountRef,
  ): Promise<{ problem: ProblemDocument | null; expired: boolean; authorizations: OrderAuthorization[] }> {
    const authorizations: OrderAuthorization[] = [];
    let problem: ProblemDocument | null = null;
    let expired = false;
    for (const entry of order.authorizations) {
      const read = await issuer.getAuthorization(acct, entry.url);
      authorizations.push({ ...entry, status: read.status });
      if (read.status === 'expired') expired = true;
      const failed = read.challenges.find((c) => c.error !== undefined);
      if (!problem && failed?.error) problem = failed.error;
    }
    return { problem, expired, authorizations };
  }

  /** One step of a claimed order: what to write back. Throws on failure (see `work`). */
  async function step(order: IssuanceOrder): Promise<OrderUpdate> {
    switch (order.step) {
      case 'new': {
        const acct = await account();
        return { step: 'account', accountId: acct.accountId, nextAttemptAt: null };
      }
      case 'account': {
        const acct = await account();
        if (order.kind === 'revoke') return revokeAtCa(order, acct);
        // The key first (persisted with the order URL), so finalize never waits on a lost key.
        // A reissue with the user's CSR has no key of ours: the user keeps it.
        const sealedKey =
          order.csr !== null
            ? undefined
            : (order.sealedKey ??
              (await store.vault.seal(
                Buffer.from(await issuer.generateCertificateKey(order.keyKind), 'utf8'),
                orderKeyContext(order.orderId),
              )));
        const created = await issuer.newOrder(acct, {
          identifiers: order.names.map((value) => ({ type: 'dns' as const, value })),
          ...(order.replaces ? { replaces: order.replaces } : {}),
        });
        return {
          step: 'ordered',
          orderUrl: created.url,
          finalizeUrl: created.finalize,
          authorizations: created.authorizations.map((url) => ({
            url,
            domain: '',
            wildcard: false,
            status: 'pending',
          })),
          ...(sealedKey ? { sealedKey } : {}),
          nextAttemptAt: null,
        };
      }
      case 'ordered': {
        const acct = await account();
        const authorizations: OrderAuthorization[] = [];
        for (const entry of order.authorizations)
          authorizations.push(await describe(order, acct, await issuer.getAuthorization(acct, entry.url)));
        return { step: 'publishing', authorizations, nextAttemptAt: null };
      }
      case 'publishing': {
        if (order.method === 'dns-01') {
          for (const a of order.authorizations)
            if (a.txtValue && a.delegationTarget) await dcv!.zone.addTxt(a.delegationTarget, a.txtValue);
          return { step: 'awaiting_cname', awaitingSince: clock.now(), nextAttemptAt: null };
        }
        return { step: 'responding', nextAttemptAt: null };
      }
      case 'awaiting_cname': {
        const authorizations: OrderAuthorization[] = [];
        let missing = false;
        for (const a of order.authorizations) {
          if (!a.delegationTarget) {
            authorizations.push(a);
            continue;
          }
          const check = checkDelegation(
            await dcv!.resolver.lookupCname(challengeName(base(a.domain))),
            a.delegationTarget,
          );
          const cname = check.ok ? 'ok' : check.reason === 'missing' ? 'missing' : { wrongTarget: check.found };
          if (!check.ok) missing = true;
          authorizations.push({ ...a, cname });
        }
        if (!missing) return { step: 'responding', authorizations, nextAttemptAt: null };
        const since = order.awaitingSince ?? order.updatedAt;
        if (clock.now().getTime() - since.getTime() >= cnameWindowMs) {
          return {
            step: 'cleanup',
            outcome: 'validation_expired',
            authorizations,
            lastError: 'The _acme-challenge CNAME records were not found within the validation window.',
            nextAttemptAt: null,
          };
        }
        // Not a failure: attempts counts the checks here, for the back-off.
        const checks = order.attempts + 1;
        return { step: 'awaiting_cname', authorizations, attempts: checks, nextAttemptAt: after(cnameDelayMs(checks)) };
      }
      case 'responding': {
        const acct = await account();
        for (const a of order.authorizations)
          if (a.status === 'pending' && a.challengeUrl) await issuer.respondToChallenge(acct, a.challengeUrl);
        return { step: 'polling', nextAttemptAt: after(FIRST_POLL_MS) };
      }
      case 'polling': {
        const acct = await account();
        const current = await issuer.getOrder(acct, order.orderUrl!);
        const polls = order.attempts + 1;
        switch (current.status) {
          case 'pending':
          case 'processing':
            return {
              step: 'polling',
              attempts: polls,
              nextAttemptAt: after(current.retryAfter !== undefined ? current.retryAfter * 1000 : pollDelayMs(polls)),
            };
          case 'ready':
            return { step: 'finalizing', authorizations: allValid(order), nextAttemptAt: null };
          case 'valid':
            return {
              step: 'downloading',
              authorizations: allValid(order),
              ...(current.certificate ? { certificateUrl: current.certificate } : {}),
              nextAttemptAt: null,
            };
          case 'invalid': {
            const found = await problemOf(order, acct);
            return {
              step: 'cleanup',
              outcome: found.expired ? 'validation_expired' : 'validation_failed',
              authorizations: found.authorizations,
              problem: found.problem ?? current.error ?? null,
              lastError: found.problem?.detail ?? current.error?.detail ?? 'The CA marked the order invalid.',
              nextAttemptAt: null,
            };
          }
        }
        throw new Error(`Unexpected order status ${String(current.status)}`);
      }
      case 'finalizing': {
        const acct = await account();
        const csr =
          order.csr !== null ? parseCsr(order.csr).der : issuer.createCsr(await certificateKey(order), order.names);
        try {
          const finalized = await issuer.finalize(acct, { url: order.orderUrl!, finalize: order.finalizeUrl! }, csr);
          if (finalized.status === 'valid' && finalized.certificate)
            return { step: 'downloading', certificateUrl: finalized.certificate, nextAttemptAt: null };
          return { step: 'polling', nextAttemptAt: after(500) };
        } catch (error) {
          // Finalized already (a crash after the CA took our CSR): the order is processing or valid.
          if (error instanceof IssuerError && error.problem?.type === ORDER_NOT_READY)
            return { step: 'polling', nextAttemptAt: null };
          throw error;
        }
      }
      case 'downloading': {
        const acct = await account();
        const url = order.certificateUrl ?? (await issuer.getOrder(acct, order.orderUrl!)).certificate;
        if (!url) return { step: 'polling', nextAttemptAt: after(1000) };
        const chain = await issuer.downloadCertificate(acct, url);
        return { step: 'storing', certificateUrl: url, certificatePem: chain.pem, nextAttemptAt: null };
      }
      case 'storing': {
        const certificateNo = await storeCertificate(order);
        return { step: 'cleanup', outcome: 'done', certificateNo, nextAttemptAt: null };
      }
      case 'cleanup': {
        for (const a of order.authorizations)
          if (a.txtValue && a.delegationTarget) await dcv?.zone.removeTxt(a.delegationTarget, a.txtValue);
        return { step: order.outcome ?? 'failed', nextAttemptAt: null };
      }
      default:
        throw new Error(`Order ${order.orderId} is in final step ${order.step}.`);
    }
  }

  /** The revocation request of a `revoke` order (see the top of this file). */
  async function revokeAtCa(order: IssuanceOrder, acct: AccountRef): Promise<OrderUpdate> {
    const certificate =
      order.certificateNo === null ? null : await store.certificates.get(order.tenantId, order.certificateNo);
    if (!certificate)
      throw new AppError('not_found', `Certificate ${order.certificateNo} no longer exists; nothing to revoke.`);
    try {
      await issuer.revoke(acct, certificate.certificatePem, order.revocationReason ?? 0);
    } catch (error) {
      if (!(error instanceof IssuerError && error.problem?.type === ALREADY_REVOKED)) throw error;
    }
    return { step: 'revoked', lastError: null, problem: null, nextAttemptAt: null };
  }

  function allValid(order: IssuanceOrder): OrderAuthorization[] {
    return order.authorizations.map((a) => ({ ...a, status: 'valid' }));
  }

  /** Imports (or replaces in place) the downloaded chain; repeating it finds what was stored. */
  async function storeCertificate(order: IssuanceOrder): Promise<number> {
    const pem = order.certificatePem!;
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\s*/g) ?? [];
    if (blocks.length === 0) throw new AppError('invalid_argument', 'The CA sent no certificate.');
    const [leaf, ...issuers] = blocks;
    // With the user's CSR there is no key here: the certificate lands without one (status 2).
    const withKey = order.csr === null;
    const input = {
      name: order.certificateName,
      certificate: leaf,
      chain: issuers.join(''),
      ...(withKey ? { privateKey: await certificateKey(order) } : {}),
    };
    const importOptions = {
      origin: 'acme' as const,
      type: order.certificateType,
      policy: { requireKey: withKey, allowEd25519: false, nameRule: null },
    };
    const actor = actorFor(order.tenantId);
    const leafDer = new X509Certificate(leaf!).raw;
    const holds = (stored: { certificatePem: string } | null): boolean =>
      stored !== null && new X509Certificate(stored.certificatePem).raw.equals(leafDer);
    let certificateNo: number;
    if (order.kind === 'issue' && order.certificateNo !== null) {
      // The number reserved at request time. Stored already when this step ran before and the
      // process died before recording it; a second insert of the number would be refused anyway.
      const existing = await store.certificates.get(order.tenantId, order.certificateNo);
      certificateNo =
        existing && holds(existing)
          ? existing.certificateNo
          : (await certificates.import(actor, input, { ...importOptions, certificateNo: order.certificateNo }))
              .certificateNo;
    } else if (order.kind === 'issue') {
      // An order created before numbers were reserved (migration 0011): the next number.
      const existing = await store.certificates.getByName(order.tenantId, order.certificateName);
      certificateNo =
        existing && !existing.deletedAt && holds(existing)
          ? existing.certificateNo
          : (await certificates.import(actor, input, importOptions)).certificateNo;
    } else {
      const stored =
        order.certificateNo === null ? null : await store.certificates.get(order.tenantId, order.certificateNo);
      if (!stored || stored.deletedAt)
        throw new AppError('not_found', `Certificate ${order.certificateNo} no longer exists; nothing to renew.`);
      certificateNo = stored.certificateNo;
      // The replacement is the order's one audit event (`certificate.renew` / `.reissue`).
      if (!holds(stored))
        await certificates.replace(actor, certificateNo, input, {
          ...importOptions,
          audit: { action: `certificate.${order.kind}`, detail: { orderId: order.orderId, kind: order.kind } },
        });
    }
    // The flag as it is now: setRenewal may have changed it on the row since this claim read it.
    const renewal = (await issuance.getOrder(order.tenantId, order.orderId))?.renewal ?? order.renewal;
    await issuance.upsertRenewal(
      {
        tenantId: order.tenantId,
        certificateNo,
        certificateName: order.certificateName,
        names: order.names,
        keyKind: order.keyKind,
        method: order.method,
        renewal,
        nextCheckAt: clock.now(),
      },
      clock.now(),
    );
    if (order.kind === 'issue')
      await audit.record(actor, 'certificate.issue', `certificate:${certificateNo}`, 'success', {
        orderId: order.orderId,
        kind: order.kind,
      });
    if (options.notify) {
      const landed = await store.certificates.get(order.tenantId, certificateNo);
      const subject = landed ? eventCertificate(landed, clock.now().getTime()) : null;
      await options.notify(order.tenantId, `certificate-order:${order.orderId}`, {
        type: 'issuance.succeeded',
        certificate: subject,
        summary: `Certificate '${order.certificateName}' was ${order.kind === 'renew' ? 'renewed' : 'issued'} by the ACME CA.`,
      });
      const failures = order.kind === 'renew' ? await failuresBefore(order, certificateNo) : 0;
      if (failures > 0)
        await options.notify(order.tenantId, `certificate-order:${order.orderId}`, {
          type: 'renewal.recovered',
          certificate: subject,
          failures,
          summary: `Certificate '${order.certificateName}' was renewed after ${failures} failed renewal${failures === 1 ? '' : 's'}.`,
        });
    }
    return certificateNo;
  }

  async function failuresBefore(order: IssuanceOrder, certificateNo: number): Promise<number> {
    return renewalFailuresInARow(
      await issuance.ordersBefore(order.tenantId, certificateNo, order.orderId, RENEWAL_HISTORY),
    );
  }

  /**
   * `issuance.failed`, or for a renewal `renewal.failed` with the failed renewals in a row
   * including this one, for an order that ended without a certificate.
   */
  async function notifyFailure(order: IssuanceOrder, error: string): Promise<void> {
    if (!options.notify) return;
    const stored =
      order.certificateNo === null ? null : await store.certificates.get(order.tenantId, order.certificateNo);
    const renewal = order.kind === 'renew';
    const failures =
      renewal && order.certificateNo !== null ? (await failuresBefore(order, order.certificateNo)) + 1 : 0;
    await options.notify(order.tenantId, `certificate-order:${order.orderId}`, {
      type: renewal ? 'renewal.failed' : 'issuance.failed',
      certificate: stored && !stored.deletedAt ? eventCertificate(stored, clock.now().getTime()) : null,
      ...(renewal ? { failures } : {}),
      summary: renewal
        ? `Certificate '${order.certificateName}' could not be renewed (${failures} failed renewal${failures === 1 ? '' : 's'} in a row).`
        : `Certificate '${order.certificateName}' could not be issued.`,
      error: error.slice(0, 500),
    });
  }

  /** Runs one step of a claimed order and writes its outcome; never throws for a step failure. */
  async function work(order: IssuanceOrder): Promise<void> {
    const fields = { orderId: order.orderId, tenantId: order.tenantId, step: order.step, workerId: id };
    const endLease = keepLease({
      leaseMs,
      now: () => clock.now(),
      renew: (until) => issuance.renew(order.orderId, id, until),
      log,
      fields,
      what: 'issuance order',
    });
    try {
      const update = await step(order);
      const written = await issuance.advance(order.orderId, id, update, clock.now());
      if (!written) {
        log.warn(fields, 'issuance order: taken over by another worker; this step is not recorded');
        return;
      }
      if (update.step !== order.step) log.info({ ...fields, next: update.step }, 'issuance order advanced');
      if (update.step === 'revoked')
        await audit.record(
          actorFor(order.tenantId),
          'certificate.revoke',
          `certificate:${order.certificateNo}`,
          'success',
          {
            orderId: order.orderId,
            reason: order.revocationReason ?? 0,
          },
        );
      if (update.outcome && update.outcome !== 'done')
        await audit.record(
          actorFor(order.tenantId),
          `certificate.${order.kind}`,
          `certificate-order:${order.orderId}`,
          'failure',
          {
            orderId: order.orderId,
            code: update.outcome,
          },
        );
      if (update.outcome && update.outcome !== 'done' && order.outcome !== update.outcome)
        await notifyFailure(order, update.lastError ?? update.outcome);
    } catch (error) {
      if (loop.signal.aborted) {
        await issuance.release(order.orderId, id).catch(() => undefined);
        return;
      }
      const message = messageOf(error);
      const attempts = order.attempts + 1;
      const problem = error instanceof IssuerError ? (error.problem ?? null) : null;
      if (isRetryable(error) && attempts < maxAttempts) {
        const retryAfter = error instanceof IssuerError ? error.retryAfter : undefined;
        const delay = retryAfter !== undefined ? Math.min(retryAfter * 1000, 86_400_000) : failureDelayMs(attempts);
        await issuance.advance(
          order.orderId,
          id,
          { step: order.step, attempts, lastError: message, problem, nextAttemptAt: after(delay) },
          clock.now(),
        );
        log.warn({ ...fields, attempts, err: message, delayMs: delay }, 'issuance order: step failed; will retry');
        return;
      }
      // Give up: clean up what was published, then `failed` (cleanup failing again just retries).
      // A withdrawn request stays withdrawn (cancel.ts) even when its cleanup gives up.
      const outcome: FinalStep = order.outcome === 'cancelled' ? 'cancelled' : 'failed';
      const next = order.step === 'cleanup' ? outcome : 'cleanup';
      await issuance.advance(
        order.orderId,
        id,
        { step: next, outcome, attempts: 0, lastError: message, problem, nextAttemptAt: null },
        clock.now(),
      );
      log.error({ ...fields, attempts, err: message }, 'issuance order failed');
      await audit.record(
        actorFor(order.tenantId),
        `certificate.${order.kind}`,
        `certificate-order:${order.orderId}`,
        'failure',
        {
          orderId: order.orderId,
          code: isAppError(error) ? error.code : error instanceof IssuerError ? error.kind : 'failed',
        },
      );
      if (order.outcome !== outcome) await notifyFailure(order, message);
    } finally {
      endLease();
    }
  }

  let lastScan: number | null = null;

  /** Queues `renew` orders for due certificates (see the top of this file). */
  async function renewalScan(): Promise<number> {
    const now = clock.now();
    let queued = 0;
    const info = await issuer.directory();
    for (const entry of await issuance.renewalsDue(now, batch)) {
      const certificate = await store.certificates.get(entry.tenantId, entry.certificateNo);
      if (!certificate || certificate.deletedAt || certificate.revokedAt || certificate.revocationRequestedAt) {
        // Gone or revoked: nothing to renew any more.
        await issuance.upsertRenewal({ ...entry, renewal: false }, now);
        continue;
      }
      const { notBefore, notAfter } = certificate.facts;
      const start = new Date(notBefore).getTime();
      const end = new Date(notAfter).getTime();
      let dueAt = end - (end - start) / 3;
      let replaces: string | null = null;
      let nextCheck: number | null = null;
      if (info.ari) {
        try {
          const ari = await issuer.renewalInfo(certificate.certificatePem);
          dueAt = new Date(ari.suggestedWindow.start).getTime();
          replaces = ari.certId;
          if (ari.retryAfter !== undefined) nextCheck = now.getTime() + ari.retryAfter * 1000;
        } catch (error) {
          log.warn(
            { certificateNo: entry.certificateNo, err: messageOf(error) },
            'ARI lookup failed; using a third of the lifetime',
          );
        }
      }
      if (now.getTime() < dueAt) {
        await issuance.setRenewalCheck(
          entry.tenantId,
          entry.certificateNo,
          new Date(Math.min(dueAt, nextCheck ?? dueAt)),
        );
        continue;
      }
      try {
        await issuance.createOrder(
          {
            tenantId: entry.tenantId,
            kind: 'renew',
            certificateName: certificate.name,
            certificateNo: entry.certificateNo,
            names: entry.names,
            keyKind: entry.keyKind,
            method: entry.method,
            renewal: entry.renewal,
            replaces,
          },
          now,
        );
        queued += 1;
        await audit.record(
          actorFor(entry.tenantId),
          'certificate.renew.request',
          `certificate:${entry.certificateNo}`,
          'success',
          {},
        );
      } catch (error) {
        // A name still in an active order (a renewal already running): look again later.
        if (!(isAppError(error) && error.code === 'already_exists')) throw error;
      }
      // The stored renewal resets the check; until then, look again in an hour.
      await issuance.setRenewalCheck(entry.tenantId, entry.certificateNo, new Date(now.getTime() + 3_600_000));
    }
    return queued;
  }

  async function pass(): Promise<IssuanceWorkerPass> {
    const result: IssuanceWorkerPass = { claimed: 0, renewalsQueued: 0 };
    const now = clock.now();
    if (lastScan === null || now.getTime() - lastScan >= renewalScanEveryMs) {
      lastScan = now.getTime();
      try {
        result.renewalsQueued = await renewalScan();
      } catch (error) {
        log.warn({ err: messageOf(error) }, 'renewal scan failed; trying again on the next scan');
      }
    }
    for (const orderId of await issuance.due(now, batch)) {
      // Between steps, never inside one: no claim is held while the API has the thread.
      await foreground.beforeStep(loop.signal);
      if (loop.signal.aborted) break;
      const current = clock.now();
      const order = await issuance.claim(orderId, id, current, new Date(current.getTime() + leaseMs));
      if (!order) continue;
      result.claimed += 1;
      await work(order);
    }
    return result;
  }

  return loop;
}
