/**
 * Audit trail. Every write and every private-key read goes through `record` (or, for a single
 * import, `aroundWrite`); details carry non-secret facts only (numbers, names, error codes),
 * never key material or secrets.
 *
 * Where an event is written: `record` appends through the store's group commit (store/
 * repositories/audit.ts): its own transaction, shared with the events of other requests of the
 * same moment, committed before `record` resolves. `aroundWrite` hands the success event to the
 * write itself, which commits it in the write's own transaction (CertificateRepository.insert's
 * `audit`): one commit instead of two, and the write and its event land together or not at all
 * (before, a crash between the two commits could leave an import unaudited). Either way every
 * event is written exactly once, a refused or failed write leaves no success event and records
 * its failure through `record`, and each tenant's hash chain stays one sequence in id order; an
 * event written in a write's transaction takes its place in the chain when that commits.
 */
import { ChainVerifier, type ChainBreak } from '../domain/audit-chain.ts';
import { AppError, isAppError } from '../domain/errors.ts';
import type { AuditEvent, AuditResult } from '../domain/model.ts';
import { isConfirmed, type Actor } from './actor.ts';
import { authorize } from './policy.ts';
import type { AuditQuery, Clock, NewAuditEvent, Store } from './ports.ts';

export interface AuditService {
  record(
    actor: Actor | null,
    action: string,
    target: string,
    result: AuditResult,
    detail?: AuditEvent['detail'],
  ): Promise<void>;
  /**
   * Runs `work` and records its outcome: `success`, or `failure` with the error code (never the
   * error's message, which may quote input). The work's error is rethrown unchanged.
   */
  around<T>(
    actor: Actor,
    action: string,
    target: string,
    work: () => Promise<T>,
    detail?: AuditEvent['detail'],
  ): Promise<T>;
  /**
   * `around` for a write that commits its own success event: `work` gets `success`, which builds
   * the event (its `at` is when it is called), and must write it in the write's transaction (the
   * store's `audit` argument), so it commits with the write or not at all. A failure is recorded
   * as `around` records it. Only for work whose last step is that transaction: once it has
   * committed, nothing after it may throw (the event would be followed by a failure).
   */
  aroundWrite<T>(
    actor: Actor,
    action: string,
    target: string,
    work: (success: () => NewAuditEvent) => Promise<T>,
    detail?: AuditEvent['detail'],
  ): Promise<T>;
  list(actor: Actor, query: Omit<AuditQuery, 'tenantId'>): Promise<AuditEvent[]>;
  /**
   * The operator's check of the hash chains (domain/audit-chain.ts): every tenant's chain and the
   * chain of events without a tenant, or only `tenantId`'s. Reads every event of the chains it
   * checks, oldest first, a page at a time; writes nothing.
   */
  verify(scope?: { tenantId?: number }): Promise<AuditChainReport[]>;
}

export interface AuditChainReport {
  /** Null: the chain of events without a tenant (the operator's and the system's). */
  tenantId: number | null;
  /** Events checked (up to and including the first break). */
  events: number;
  /** The first break found, or null when the chain verifies. */
  firstBreak: ChainBreak | null;
  /** The hash of the last event verified: record it elsewhere to detect a later truncation. */
  head: string;
}

const VERIFY_PAGE = 1000;

/**
 * What core offers outside itself: reading the trail. Recording stays inside core: each use-case
 * audits its own outcomes (misses and refusals included), so no face decides what is recorded.
 */
export type AuditTrail = Pick<AuditService, 'list' | 'verify'>;

export function createAuditService(store: Store, clock: Clock): AuditService {
  const eventOf = (
    actor: Actor | null,
    action: string,
    target: string,
    result: AuditResult,
    detail: AuditEvent['detail'],
  ): NewAuditEvent => {
    // Nothing is recorded for a request whose credential its own read has not confirmed live
    // (core/actor.ts): a use-case that audits must settle the check first.
    if (actor && !isConfirmed(actor)) throw new AppError('internal', 'Audit of an unconfirmed credential.');
    return eventFields(actor, action, target, result, detail);
  };
  const eventFields = (
    actor: Actor | null,
    action: string,
    target: string,
    result: AuditResult,
    detail: AuditEvent['detail'],
  ): NewAuditEvent => ({
    tenantId: actor?.tenantId ?? null,
    actor: actor?.id ?? 'system',
    action,
    target,
    result,
    remoteAddress: actor?.remoteAddress ?? null,
    detail,
    at: clock.now(),
  });
  const service: AuditService = {
    async aroundWrite(actor, action, target, work, detail = {}) {
      try {
        return await work(() => eventOf(actor, action, target, 'success', detail));
      } catch (error) {
        await service.record(actor, action, target, 'failure', {
          ...detail,
          code: isAppError(error) ? error.code : 'internal',
        });
        throw error;
      }
    },
    async around(actor, action, target, work, detail = {}) {
      try {
        const result = await work();
        await service.record(actor, action, target, 'success', detail);
        return result;
      } catch (error) {
        await service.record(actor, action, target, 'failure', {
          ...detail,
          code: isAppError(error) ? error.code : 'internal',
        });
        throw error;
      }
    },
    async record(actor, action, target, result, detail = {}) {
      await store.audit.append(eventOf(actor, action, target, result, detail));
    },
    async verify(scope = {}) {
      const heads = new Map((await store.audit.chainHeads()).map((h) => [h.tenantId, h.headHash]));
      const chains = new Set<number | null>(heads.keys());
      if (scope.tenantId === undefined) {
        chains.add(null);
        for (const tenant of await store.tenants.list()) chains.add(tenant.id);
      }
      const checked = scope.tenantId === undefined ? [...chains] : [scope.tenantId];
      const reports: AuditChainReport[] = [];
      for (const tenantId of checked.sort((a, b) => (a ?? 0) - (b ?? 0))) {
        const verifier = new ChainVerifier(tenantId);
        let afterId = 0;
        for (;;) {
          const events = await store.audit.chainEvents(tenantId, afterId, VERIFY_PAGE);
          if (!events.every((event) => verifier.next(event)) || events.length < VERIFY_PAGE) break;
          afterId = events[events.length - 1]!.id;
        }
        const firstBreak = verifier.end(heads.get(tenantId) ?? null);
        reports.push({ tenantId, events: verifier.events, firstBreak, head: verifier.head });
      }
      return reports;
    },
    async list(actor, query) {
      authorize(actor, 'audit.read');
      return store.audit.list({ ...query, tenantId: actor.tenantId, limit: Math.min(Math.max(query.limit, 1), 500) });
    },
  };
  return service;
}
