/** AuditRepository over Kysely: append-only, read newest first with keyset paging on id. */
import type { Kysely } from 'kysely';
import type { AuditRepository } from '../../core/ports.ts';
import { auditEventFromRow, ms } from '../rows.ts';
import type { Database } from '../schema.ts';

/** Upper bound on one read, whatever the caller asks. */
const AUDIT_PAGE_MAX = 1000;

export function auditRepository(db: Kysely<Database>): AuditRepository {
  return {
    async append(event) {
      await db
        .insertInto('audit_events')
        .values({
          tenant_id: event.tenantId,
          actor: event.actor,
          action: event.action,
          target: event.target,
          result: event.result,
          remote_address: event.remoteAddress,
          detail: JSON.stringify(event.detail),
          at: ms(event.at),
        })
        .execute();
    },
    /** `tenantId: null` reads every tenant's events (the operator's view). */
    async list(query) {
      const limit = Math.min(Math.max(Math.trunc(query.limit), 0), AUDIT_PAGE_MAX);
      if (limit === 0) return [];
      let select = db.selectFrom('audit_events').selectAll().orderBy('id', 'desc').limit(limit);
      if (query.tenantId !== null) select = select.where('tenant_id', '=', query.tenantId);
      if (query.target !== undefined) select = select.where('target', '=', query.target);
      if (query.action !== undefined) select = select.where('action', '=', query.action);
      if (query.beforeId !== undefined) select = select.where('id', '<', query.beforeId);
      return (await select.execute()).map(auditEventFromRow);
    },
  };
}
