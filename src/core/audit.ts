/**
 * Audit trail. Every write and every private-key read goes through `record`; details carry
 * non-secret facts only (numbers, names, error codes), never key material or secrets.
 */
import type { AuditEvent, AuditResult } from '../domain/model.ts';
import type { Actor } from './actor.ts';
import { authorize } from './policy.ts';
import type { AuditQuery, Clock, Store } from './ports.ts';

export interface AuditService {
  record(actor: Actor | null, action: string, target: string, result: AuditResult, detail?: AuditEvent['detail']): Promise<void>;
  list(actor: Actor, query: Omit<AuditQuery, 'tenantId'>): Promise<AuditEvent[]>;
}

export function createAuditService(store: Store, clock: Clock): AuditService {
  return {
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
}
