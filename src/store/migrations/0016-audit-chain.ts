/**
 * Migration 0016: the audit log becomes a hash chain (domain/audit-chain.ts).
 *
 * - `audit_events.prev_hash`, `audit_events.hash`: every event carries the hash of the event
 *   before it in its chain (one chain per tenant, one for events without a tenant) and its own.
 * - `audit_chain_heads`: each chain's last hash, one row per chain (`chain_key`: the tenant id as
 *   text, or `system`). Writers move a head with a compare-and-set on it, which is also what
 *   serialises two processes appending to one chain (repositories/audit.ts).
 *
 * Events written before this migration are chained here, in id order, so the whole log is covered
 * from its first event. That is one UPDATE per existing event, once, inside the migration's
 * transaction: a store with millions of events takes a while to start the first time
 * (docs/operations.md says so).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { chainHash, chainKey, genesisHash } from '../../domain/audit-chain.ts';
import type { StoreDialect } from '../dialect.ts';

interface LegacyEventRow {
  id: number | string;
  tenant_id: number | string | null;
  actor: string;
  action: string;
  target: string;
  result: string;
  remote_address: string | null;
  detail: string;
  at: number | string;
}

const BACKFILL_BATCH = 1000;

export function auditChainSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await sql`alter table audit_events add column prev_hash text`.execute(db);
      await sql`alter table audit_events add column hash text`.execute(db);
      await db.schema
        .createTable('audit_chain_heads')
        .addColumn('chain_key', d.sortableTextType, (c) => c.primaryKey())
        .addColumn('head_hash', 'text', (c) => c.notNull())
        .execute();

      const heads = new Map<string, string>();
      let afterId = 0;
      for (;;) {
        const { rows } = await sql<LegacyEventRow>`select id, tenant_id, actor, action, target, result,
          remote_address, detail, at from audit_events where id > ${afterId} order by id limit ${BACKFILL_BATCH}`.execute(
          db,
        );
        for (const row of rows) {
          const tenantId = row.tenant_id === null ? null : Number(row.tenant_id);
          const key = chainKey(tenantId);
          const prevHash = heads.get(key) ?? genesisHash(tenantId);
          const hash = chainHash(prevHash, {
            tenantId,
            actor: row.actor,
            action: row.action,
            target: row.target,
            result: row.result,
            remoteAddress: row.remote_address,
            detailJson: row.detail,
            atMs: Number(row.at),
          });
          await sql`update audit_events set prev_hash = ${prevHash}, hash = ${hash} where id = ${row.id}`.execute(db);
          heads.set(key, hash);
        }
        if (rows.length < BACKFILL_BATCH) break;
        afterId = Number(rows[rows.length - 1]!.id);
      }
      for (const [key, hash] of heads) {
        await sql`insert into audit_chain_heads (chain_key, head_hash) values (${key}, ${hash})`.execute(db);
      }
    },
  };
}
