/**
 * Migration 0005: console sessions (the web console at `/console`, src/api/console/).
 *
 * A session is a random id handed to the browser in an HttpOnly cookie; only its SHA-256
 * (`id_hash`, lowercase hex) is kept, so a database dump yields no usable session. The table
 * lives in the store, not in process memory, so several certkeeper processes on one PostgreSQL
 * share sessions (a browser may land on any of them).
 *
 * A session belongs to one credential and dies with it: lookups join `credentials` and refuse a
 * revoked one, so revocation needs no write here. `expires_at` is the absolute end; the idle end
 * is `last_seen_at` + the idle timeout (core/sessions.ts). Dead rows are pruned when the same
 * credential logs in again (repositories/sessions.ts).
 */
import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

export function consoleSessionsSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('console_sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('credential_id', d.idType, (c) => c.notNull().references('credentials.id'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      // Pruning and the per-credential cap read a credential's sessions in expiry order.
      await db.schema
        .createIndex('console_sessions_credential_expires')
        .on('console_sessions')
        .columns(['credential_id', 'expires_at'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('console_sessions').execute();
    },
  };
}
