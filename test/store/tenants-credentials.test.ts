/** Contract: tenants, credentials and audit events, on every store (test/helpers/db.ts). */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isAppErrorWithCode } from '../../src/domain/errors.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { makeTenant, storeTargets, type TestLocation } from '../helpers/db.ts';

const at = new Date('2026-11-01T00:00:00.000Z');

function alreadyExists(field: string) {
  return (error: unknown) => isAppErrorWithCode(error, 'already_exists') && error.field === field;
}

for (const target of storeTargets) {
  describe(`${target.name}: tenants, credentials, audit`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options());
    });
    after(async () => {
      await store?.close();
      await location?.cleanup();
    });

    it('creates tenants and finds them by id, name and appKey', async () => {
      const created = await store.tenants.create({ name: 'acme', memberNo: '1000001', appKey: 'appkey-acme' }, at);
      assert.equal(created.name, 'acme');
      assert.equal(created.appKeyAuthEnabled, false);
      assert.deepEqual(created.createdAt, at);
      assert.deepEqual(await store.tenants.getById(created.id), created);
      assert.deepEqual(await store.tenants.getByName('acme'), created);
      assert.deepEqual(await store.tenants.getByAppKey('appkey-acme'), created);
      assert.equal(await store.tenants.getByName('nobody'), null);
      assert.equal(await store.tenants.getById(999_999), null);
      assert.equal(await store.tenants.getByAppKey('nope'), null);
    });

    it('refuses a duplicate tenant name, memberNo or appKey with the colliding field', async () => {
      await store.tenants.create({ name: 'dup', memberNo: '2000001', appKey: 'appkey-dup' }, at);
      await assert.rejects(
        store.tenants.create({ name: 'dup', memberNo: '2000002', appKey: 'appkey-dup2' }, at),
        alreadyExists('tenant'),
      );
      await assert.rejects(
        store.tenants.create({ name: 'dup2', memberNo: '2000001', appKey: 'appkey-dup3' }, at),
        alreadyExists('memberNo'),
      );
      await assert.rejects(
        store.tenants.create({ name: 'dup3', memberNo: '2000003', appKey: 'appkey-dup' }, at),
        alreadyExists('appKey'),
      );
    });

    it('lists, counts and switches appKey auth', async () => {
      const before = await store.tenants.count();
      const tenant = await makeTenant(store);
      assert.equal(await store.tenants.count(), before + 1);
      const listed = await store.tenants.list();
      assert.equal(listed.length, before + 1);
      assert.deepEqual(listed.at(-1), tenant, 'ordered by id');
      await store.tenants.setAppKeyAuth(tenant.id, true);
      assert.equal((await store.tenants.getById(tenant.id))?.appKeyAuthEnabled, true);
      await store.tenants.setAppKeyAuth(tenant.id, false);
      assert.equal((await store.tenants.getById(tenant.id))?.appKeyAuthEnabled, false);
    });

    it('creates credentials with a sealed secret that opens again', async () => {
      const tenant = await makeTenant(store);
      const sealedSecret = await store.vault.seal(Buffer.from('s3cret'), 'credential-secret:AK1');
      const credential = await store.credentials.create(
        { tenantId: tenant.id, accessKey: 'AK1', sealedSecret, role: 'ADMIN', description: 'first' },
        at,
      );
      assert.deepEqual(credential, {
        id: credential.id,
        tenantId: tenant.id,
        accessKey: 'AK1',
        role: 'ADMIN',
        description: 'first',
        createdAt: at,
        revokedAt: null,
      });
      const found = await store.credentials.getByAccessKey('AK1');
      assert.ok(found);
      assert.deepEqual(found.credential, credential);
      assert.equal((await store.vault.open(found.sealedSecret, 'credential-secret:AK1')).toString(), 's3cret');
      assert.equal(await store.credentials.getByAccessKey('AK-missing'), null);
    });

    it("finds a token's credential and that credential's tenant in one lookup", async () => {
      const tenant = await makeTenant(store);
      await store.tenants.setAppKeyAuth(tenant.id, true); // a tenant field that is not the default
      const sealedSecret = await store.vault.seal(Buffer.from('x'), 'credential-secret:AK-tok');
      const credential = await store.credentials.create(
        { tenantId: tenant.id, accessKey: 'AK-tok', sealedSecret, role: 'VIEWER', description: '' },
        at,
      );
      const expiresAt = new Date(at.getTime() + 3_600_000);
      await store.tokens.insert(
        { tokenHash: 'a'.repeat(64), credentialId: credential.id, issuedAt: at, expiresAt },
        10,
      );
      const found = await store.tokens.findByHash('a'.repeat(64));
      assert.deepEqual(found, { credential, tenant: await store.tenants.getById(tenant.id), issuedAt: at, expiresAt });
      assert.equal(await store.tokens.findByHash('b'.repeat(64)), null);
    });

    it('refuses a duplicate access key (field accessKey)', async () => {
      const tenant = await makeTenant(store);
      const sealedSecret = await store.vault.seal(Buffer.from('x'), 'credential-secret:AK2');
      await store.credentials.create(
        { tenantId: tenant.id, accessKey: 'AK2', sealedSecret, role: 'VIEWER', description: '' },
        at,
      );
      await assert.rejects(
        store.credentials.create(
          { tenantId: tenant.id, accessKey: 'AK2', sealedSecret, role: 'ADMIN', description: '' },
          at,
        ),
        alreadyExists('accessKey'),
      );
    });

    it('lists credentials per tenant or all, and revokes once', async () => {
      const a = await makeTenant(store);
      const b = await makeTenant(store);
      const sealedSecret = await store.vault.seal(Buffer.from('x'), 'c');
      await store.credentials.create(
        { tenantId: a.id, accessKey: 'AK-a1', sealedSecret, role: 'ADMIN', description: '' },
        at,
      );
      await store.credentials.create(
        { tenantId: a.id, accessKey: 'AK-a2', sealedSecret, role: 'VIEWER', description: '' },
        at,
      );
      await store.credentials.create(
        { tenantId: b.id, accessKey: 'AK-b1', sealedSecret, role: 'VIEWER', description: '' },
        at,
      );
      assert.deepEqual(
        (await store.credentials.list(a.id)).map((c) => c.accessKey),
        ['AK-a1', 'AK-a2'],
      );
      assert.deepEqual(
        (await store.credentials.list(b.id)).map((c) => c.accessKey),
        ['AK-b1'],
      );
      const all = (await store.credentials.list(null)).map((c) => c.accessKey);
      for (const key of ['AK-a1', 'AK-a2', 'AK-b1']) assert.ok(all.includes(key));

      const revokedAt = new Date('2026-11-02T00:00:00.000Z');
      assert.equal(await store.credentials.revoke('AK-a2', revokedAt), true);
      assert.equal(await store.credentials.revoke('AK-a2', new Date()), false, 'already revoked');
      assert.equal(await store.credentials.revoke('AK-none', new Date()), false);
      assert.deepEqual((await store.credentials.getByAccessKey('AK-a2'))?.credential.revokedAt, revokedAt);
    });

    it('appends audit events and reads them newest first, filtered and paged by id', async () => {
      const tenant = await makeTenant(store);
      const other = await makeTenant(store);
      for (let i = 0; i < 5; i++) {
        await store.audit.append({
          tenantId: tenant.id,
          actor: 'AK1',
          action: i % 2 === 0 ? 'certificate.import' : 'certificate.key.read',
          target: `certificate:${i}`,
          result: 'success',
          remoteAddress: '127.0.0.1',
          detail: { n: i, ok: true, note: null },
          at: new Date(at.getTime() + i),
        });
      }
      await store.audit.append({
        tenantId: other.id,
        actor: 'cli',
        action: 'certificate.import',
        target: 'certificate:0',
        result: 'failure',
        remoteAddress: null,
        detail: {},
        at,
      });
      await store.audit.append({
        tenantId: null,
        actor: 'system',
        action: 'store.start',
        target: 'store',
        result: 'success',
        remoteAddress: null,
        detail: {},
        at,
      });

      const mine = await store.audit.list({ tenantId: tenant.id, limit: 10 });
      assert.deepEqual(
        mine.map((e) => e.target),
        ['certificate:4', 'certificate:3', 'certificate:2', 'certificate:1', 'certificate:0'],
      );
      assert.deepEqual(mine[0]?.detail, { n: 4, ok: true, note: null });
      assert.deepEqual(mine[0]?.at, new Date(at.getTime() + 4));
      assert.equal(mine[0]?.remoteAddress, '127.0.0.1');

      const page = await store.audit.list({ tenantId: tenant.id, limit: 2, beforeId: mine[1]!.id });
      assert.deepEqual(
        page.map((e) => e.target),
        ['certificate:2', 'certificate:1'],
      );
      assert.deepEqual(
        (await store.audit.list({ tenantId: tenant.id, limit: 10, action: 'certificate.key.read' })).map(
          (e) => e.target,
        ),
        ['certificate:3', 'certificate:1'],
      );
      assert.deepEqual((await store.audit.list({ tenantId: tenant.id, limit: 10, target: 'certificate:0' })).length, 1);
      const everyone = await store.audit.list({ tenantId: null, limit: 3 });
      assert.deepEqual(
        everyone.map((e) => e.actor),
        ['system', 'cli', 'AK1'],
      );
      assert.equal(everyone[0]?.tenantId, null);
    });
  });
}
