/** CredentialRepository over Kysely. The secret arrives sealed (core seals it) and leaves sealed. */
import type { Kysely } from 'kysely';
import type { CredentialRepository } from '../../core/ports.ts';
import { checkAlone } from '../credential-check.ts';
import { rethrowUniqueViolation } from '../errors.ts';
import { credentialFromRow, ms } from '../rows.ts';
import { queryTemplate } from '../query-template.ts';
import type { Database } from '../schema.ts';

/** Every NCP-signed request (and NHN v1.1 access-key request). */
const byAccessKey = queryTemplate((db: Kysely<Database>, accessKey: string) =>
  db.selectFrom('credentials').selectAll().where('access_key', '=', accessKey),
);

export function credentialRepository(db: Kysely<Database>): CredentialRepository {
  return {
    async create(credential, at) {
      try {
        const row = await db
          .insertInto('credentials')
          .values({
            tenant_id: credential.tenantId,
            access_key: credential.accessKey,
            role: credential.role,
            description: credential.description,
            secret_data_key_id: credential.sealedSecret.dataKeyId,
            secret_blob: credential.sealedSecret.blob,
            created_at: ms(at),
            revoked_at: null,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return credentialFromRow(row);
      } catch (error) {
        return rethrowUniqueViolation(error, [
          {
            field: 'accessKey',
            constraint: 'credentials_access_key_key',
            message: 'A credential with this access key already exists.',
            conflicts: async () =>
              (await db
                .selectFrom('credentials')
                .select('id')
                .where('access_key', '=', credential.accessKey)
                .executeTakeFirst()) !== undefined,
          },
        ]);
      }
    },
    async getByAccessKey(accessKey) {
      const row = await byAccessKey.first(db, accessKey);
      if (!row) return null;
      return {
        credential: credentialFromRow(row),
        sealedSecret: { dataKeyId: Number(row.secret_data_key_id), blob: row.secret_blob },
      };
    },
    async list(tenantId) {
      let query = db.selectFrom('credentials').selectAll().orderBy('id');
      if (tenantId !== null) query = query.where('tenant_id', '=', tenantId);
      return (await query.execute()).map(credentialFromRow);
    },
    async revoke(accessKey, at) {
      const result = await db
        .updateTable('credentials')
        .set({ revoked_at: ms(at) })
        .where('access_key', '=', accessKey)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    confirm: (confirmation) => checkAlone(db, confirmation),
  };
}
