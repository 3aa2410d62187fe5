/**
 * TokenRepository over Kysely (both dialects): NHN bearer tokens, kept as SHA-256 hashes.
 *
 * The table is not in schema.ts's `Database` (that file belongs to the initial schema's owners);
 * its row type lives here and joins the query builder's view through `withTables`.
 */
import type { Kysely } from 'kysely';
import type { TokenRepository } from '../../core/ports.ts';
import type { StoreDialect } from '../dialect.ts';
import { CREDENTIAL_COLUMNS, credentialFromRow, ms, tenantFromRow } from '../rows.ts';
import { queryTemplate } from '../query-template.ts';
import type { Database } from '../schema.ts';
import { inTransaction } from '../transaction.ts';

export interface NhnTokenRow {
  /** SHA-256 of the token, lowercase hex (primary key). */
  token_hash: string;
  credential_id: number;
  issued_at: number;
  expires_at: number;
}

type TokenDatabase = Database & { nhn_tokens: NhnTokenRow };

/** Most surplus rows one insert prunes (SQLite wants a LIMIT with an OFFSET); the cap itself is the caller's. */
const PRUNE_BATCH = 10_000;

/** Every request of the NHN v1.3 face: the credential behind a bearer token, and its tenant. */
const findByHash = queryTemplate((db: Kysely<TokenDatabase>, tokenHash: string) =>
  db
    .selectFrom('nhn_tokens')
    .innerJoin('credentials', 'credentials.id', 'nhn_tokens.credential_id')
    .select(CREDENTIAL_COLUMNS.map((column) => `credentials.${column}` as const))
    .select(['nhn_tokens.issued_at as token_issued_at', 'nhn_tokens.expires_at as token_expires_at'])
    .innerJoin('tenants', 'tenants.id', 'credentials.tenant_id')
    .select([
      'tenants.name as tenant_name',
      'tenants.member_no as tenant_member_no',
      'tenants.app_key as tenant_app_key',
      'tenants.app_key_auth_enabled as tenant_app_key_auth_enabled',
      'tenants.created_at as tenant_created_at',
    ])
    .where('nhn_tokens.token_hash', '=', tokenHash),
);

export function tokenRepository(database: Kysely<Database>, dialect: StoreDialect): TokenRepository {
  const db = database.withTables<{ nhn_tokens: NhnTokenRow }>();
  return {
    async insert(token, maxLivePerCredential) {
      const keep = Math.max(Math.trunc(maxLivePerCredential), 1) - 1;
      await inTransaction(db, dialect, async (trx: Kysely<TokenDatabase>) => {
        await trx
          .deleteFrom('nhn_tokens')
          .where('credential_id', '=', token.credentialId)
          .where('expires_at', '<=', ms(token.issuedAt))
          .execute();
        const surplus = await trx
          .selectFrom('nhn_tokens')
          .select('token_hash')
          .where('credential_id', '=', token.credentialId)
          .orderBy('expires_at', 'desc')
          .orderBy('token_hash')
          .limit(PRUNE_BATCH)
          .offset(keep)
          .execute();
        if (surplus.length > 0) {
          await trx
            .deleteFrom('nhn_tokens')
            .where(
              'token_hash',
              'in',
              surplus.map((row) => row.token_hash),
            )
            .execute();
        }
        await trx
          .insertInto('nhn_tokens')
          .values({
            token_hash: token.tokenHash,
            credential_id: token.credentialId,
            issued_at: ms(token.issuedAt),
            expires_at: ms(token.expiresAt),
          })
          .execute();
      });
    },

    async findByHash(tokenHash) {
      const row = await findByHash.first(db, tokenHash);
      if (!row) return null;
      const {
        token_issued_at,
        token_expires_at,
        tenant_name,
        tenant_member_no,
        tenant_app_key,
        tenant_app_key_auth_enabled,
        tenant_created_at,
        ...credential
      } = row;
      const tenant = tenantFromRow({
        id: credential.tenant_id,
        name: tenant_name,
        member_no: tenant_member_no,
        app_key: tenant_app_key,
        app_key_auth_enabled: tenant_app_key_auth_enabled,
        created_at: tenant_created_at,
      });
      return {
        credential: credentialFromRow(credential),
        tenant,
        issuedAt: new Date(Number(token_issued_at)),
        expiresAt: new Date(Number(token_expires_at)),
      };
    },
  };
}
