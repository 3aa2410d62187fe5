/** TenantRepository over Kysely (both dialects). */
import type { Kysely } from 'kysely';
import type { NewTenant, TenantRepository } from '../../core/ports.ts';
import { rethrowUniqueViolation, type UniqueCandidate } from '../errors.ts';
import { ms, tenantFromRow } from '../rows.ts';
import { queryTemplate } from '../query-template.ts';
import type { Database } from '../schema.ts';

/** Every request of the NHN face. */
const byAppKey = queryTemplate((db: Kysely<Database>, appKey: string) =>
  db.selectFrom('tenants').selectAll().where('app_key', '=', appKey),
);
const byId = queryTemplate((db: Kysely<Database>, id: number) =>
  db.selectFrom('tenants').selectAll().where('id', '=', id),
);

export function tenantRepository(db: Kysely<Database>): TenantRepository {
  const exists = async (column: 'name' | 'member_no' | 'app_key', value: string): Promise<boolean> =>
    (await db.selectFrom('tenants').select('id').where(column, '=', value).executeTakeFirst()) !== undefined;

  /** In this order: the name is what the operator chose; memberNo and appKey are generated (core retries those). */
  const candidates = (tenant: NewTenant): UniqueCandidate[] => [
    {
      field: 'tenant',
      constraint: 'tenants_name_key',
      message: `A tenant named '${tenant.name}' already exists.`,
      conflicts: () => exists('name', tenant.name),
    },
    {
      field: 'memberNo',
      constraint: 'tenants_member_no_key',
      message: 'The generated member number is already taken.',
      conflicts: () => exists('member_no', tenant.memberNo),
    },
    {
      field: 'appKey',
      constraint: 'tenants_app_key_key',
      message: 'The generated appKey is already taken.',
      conflicts: () => exists('app_key', tenant.appKey),
    },
  ];

  return {
    async create(tenant, at) {
      try {
        const row = await db
          .insertInto('tenants')
          .values({
            name: tenant.name,
            member_no: tenant.memberNo,
            app_key: tenant.appKey,
            app_key_auth_enabled: 0,
            created_at: ms(at),
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return tenantFromRow(row);
      } catch (error) {
        return rethrowUniqueViolation(error, candidates(tenant));
      }
    },
    async getById(id) {
      const row = await byId.first(db, id);
      return row ? tenantFromRow(row) : null;
    },
    async getByName(name) {
      const row = await db.selectFrom('tenants').selectAll().where('name', '=', name).executeTakeFirst();
      return row ? tenantFromRow(row) : null;
    },
    async getByAppKey(appKey) {
      const row = await byAppKey.first(db, appKey);
      return row ? tenantFromRow(row) : null;
    },
    async list() {
      return (await db.selectFrom('tenants').selectAll().orderBy('id').execute()).map(tenantFromRow);
    },
    async setAppKeyAuth(id, enabled) {
      await db
        .updateTable('tenants')
        .set({ app_key_auth_enabled: enabled ? 1 : 0 })
        .where('id', '=', id)
        .execute();
    },
    async count() {
      const { count } = await db
        .selectFrom('tenants')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .executeTakeFirstOrThrow();
      return Number(count);
    },
  };
}
