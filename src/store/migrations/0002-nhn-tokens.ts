/**
 * Migration 0002: NHN bearer tokens (`POST /oauth2/token/create`).
 *
 * Only the SHA-256 of a token is kept (`token_hash`, lowercase hex): a database dump yields no
 * usable token. A token belongs to one credential and dies with it: verification joins
 * `credentials` and refuses a revoked one, so revocation needs no write here. Expired rows are
 * pruned when the same credential asks for a new token (see repositories/tokens.ts).
 */
import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

export function nhnTokensSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('nhn_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('credential_id', d.idType, (c) => c.notNull().references('credentials.id'))
        .addColumn('issued_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      // Pruning and the per-credential cap read a credential's tokens in expiry order.
      await db.schema
        .createIndex('nhn_tokens_credential_expires')
        .on('nhn_tokens')
        .columns(['credential_id', 'expires_at'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('nhn_tokens').execute();
    },
  };
}
