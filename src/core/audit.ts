/**
 * Audit trail. Every write and every private-key read goes through `record`; details carry
 * non-secret facts only (numbers, names, error codes), never key material or secrets.
 */
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
}

/**
 * What core offers outside itself: reading the trail. Recording stays inside core: each use-case
 * audits its own outcomes (misses and refusals included), so no face decides what is recorded.
 */
export type AuditTrail = Pick<AuditService, 'list'>;

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
    async list(actor, query) {
      authorize(actor, 'audit.read');
      return store.audit.list({ ...query, tenantId: actor.tenantId, limit: Math.min(Math.max(query.limit, 1), 500) });
    },
  };
  return service;
}
