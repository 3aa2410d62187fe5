/**
 * SessionRepository over Kysely (both dialects): console sessions, kept as SHA-256 hashes of
 * their ids (migration 0005).
 *
 * The table is not in schema.ts's `Database` (that file belongs to the initial schema's owners);
 * its row type lives here and joins the query builder's view through `withTables`, as tokens.ts does.
 */
import type { Kysely } from 'kysely';
import type { SessionRepository } from '../../core/ports.ts';
import type { StoreDialect } from '../dialect.ts';
import { credentialFromRow, ms } from '../rows.ts';
import type { Database } from '../schema.ts';
import { inTransaction } from '../transaction.ts';

export interface ConsoleSessionRow {
  /** SHA-256 of the session id, lowercase hex (primary key). */
  id_hash: string;
  credential_id: number;
  created_at: number;
  last_seen_at: number;
  /** Absolute end. */
  expires_at: number;
}

type SessionDatabase = Database & { console_sessions: ConsoleSessionRow };

/** Most surplus rows one insert prunes; the cap itself is the caller's. */
const PRUNE_BATCH = 10_000;

export function sessionRepository(database: Kysely<Database>, dialect: StoreDialect): SessionRepository {
  const db = database.withTables<{ console_sessions: ConsoleSessionRow }>();
  return {
    async insert(session, options) {
      const keep = Math.max(Math.trunc(options.maxLivePerCredential), 1) - 1;
      await inTransaction(db, dialect, async (trx: Kysely<SessionDatabase>) => {
        await trx
          .deleteFrom('console_sessions')
          .where('credential_id', '=', session.credentialId)
          .where((eb) =>
            eb.or([eb('expires_at', '<=', ms(session.createdAt)), eb('last_seen_at', '<', ms(options.idleCutoff))]),
          )
          .execute();
        const surplus = await trx
          .selectFrom('console_sessions')
          .select('id_hash')
          .where('credential_id', '=', session.credentialId)
          .orderBy('expires_at', 'desc')
          .orderBy('id_hash')
          .limit(PRUNE_BATCH)
          .offset(keep)
          .execute();
        if (surplus.length > 0) {
          await trx
            .deleteFrom('console_sessions')
            .where(
              'id_hash',
              'in',
              surplus.map((row) => row.id_hash),
            )
            .execute();
        }
        await trx
          .insertInto('console_sessions')
          .values({
            id_hash: session.idHash,
            credential_id: session.credentialId,
            created_at: ms(session.createdAt),
            last_seen_at: ms(session.createdAt),
            expires_at: ms(session.expiresAt),
          })
          .execute();
      });
    },

    async findByHash(idHash) {
      const row = await db
        .selectFrom('console_sessions')
        .innerJoin('credentials', 'credentials.id', 'console_sessions.credential_id')
        .selectAll('credentials')
        .select([
          'console_sessions.created_at as session_created_at',
          'console_sessions.last_seen_at as session_last_seen_at',
          'console_sessions.expires_at as session_expires_at',
        ])
        .where('console_sessions.id_hash', '=', idHash)
        .executeTakeFirst();
      if (!row) return null;
      const { session_created_at, session_last_seen_at, session_expires_at, ...credential } = row;
      return {
        credential: credentialFromRow(credential),
        createdAt: new Date(Number(session_created_at)),
        lastSeenAt: new Date(Number(session_last_seen_at)),
        expiresAt: new Date(Number(session_expires_at)),
      };
    },

    async touch(idHash, at) {
      await db
        .updateTable('console_sessions')
        .set({ last_seen_at: ms(at) })
        .where('id_hash', '=', idHash)
        .where('last_seen_at', '<', ms(at))
        .execute();
    },

    async delete(idHash) {
      await db.deleteFrom('console_sessions').where('id_hash', '=', idHash).execute();
    },
  };
}
