/** Tenants: create (with generated memberNo and appKey), look up, list, appKey auth switch. */
import { AppError, isAppErrorWithCode } from '../domain/errors.ts';
import type { Tenant } from '../domain/model.ts';
import { newAppKey, newMemberNo } from './ids.ts';
import type { Clock, Store } from './ports.ts';

/** Tenant names: what an operator types on the CLI. */
const TENANT_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export interface TenantService {
  create(name: string): Promise<Tenant>;
  get(name: string): Promise<Tenant>;
  getById(id: number): Promise<Tenant | null>;
  getByAppKey(appKey: string): Promise<Tenant | null>;
  list(): Promise<Tenant[]>;
  setAppKeyAuth(name: string, enabled: boolean): Promise<Tenant>;
}

export function createTenantService(store: Store, clock: Clock): TenantService {
  const service: TenantService = {
    async create(name) {
      if (!TENANT_NAME.test(name)) {
        throw new AppError(
          'invalid_argument',
          'A tenant name is 1–63 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit.',
          { field: 'name' },
        );
      }
      if (await store.tenants.getByName(name))
        throw new AppError('already_exists', `A tenant named '${name}' already exists.`, { field: 'tenant' });
      // memberNo and appKey are random; a collision is retried rather than reported.
      for (let attempt = 0; ; attempt++) {
        try {
          return await store.tenants.create({ name, memberNo: newMemberNo(), appKey: newAppKey() }, clock.now());
        } catch (error) {
          const collided =
            isAppErrorWithCode(error, 'already_exists') && error.field !== 'tenant' && error.field !== 'name';
          if (!collided || attempt >= 5) throw error;
        }
      }
    },
    async get(name) {
      const tenant = await store.tenants.getByName(name);
      if (!tenant) throw new AppError('not_found', `No tenant named '${name}'.`, { field: 'tenant' });
      return tenant;
    },
    getById: (id) => store.tenants.getById(id),
    getByAppKey: (appKey) => store.tenants.getByAppKey(appKey),
    list: () => store.tenants.list(),
    async setAppKeyAuth(name, enabled) {
      const tenant = await service.get(name);
      await store.tenants.setAppKeyAuth(tenant.id, enabled);
      return { ...tenant, appKeyAuthEnabled: enabled };
    },
  };
  return service;
}
