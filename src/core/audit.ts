/**
 * Audit trail. Every write and every private-key read goes through `record`; details carry
 * non-secret facts only (numbers, names, error codes), never key material or secrets.
 */
import { ChainVerifier, type ChainBreak } from '../domain/audit-chain.ts';
import { isAppError } from '../domain/errors.ts';
import type { AuditEvent, AuditResult } from '../domain/model.ts';
import type { Actor } from './actor.ts';
import { authorize } from './policy.ts';
import type { AuditQuery, Clock, Store } from './ports.ts';

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
  const service: AuditService = {
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
      await store.audit.append({
        tenantId: actor?.tenantId ?? null,
        actor: actor?.id ?? 'system',
        action,
        target,
        result,
        remoteAddress: actor?.remoteAddress ?? null,
        detail,
        at: clock.now(),
      });
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
