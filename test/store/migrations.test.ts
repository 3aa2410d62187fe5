/**
 * Contract: migrations and start-up are idempotent and safe when several processes start at once
 * against one database.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { migrateStore, openStore, StoreStartupError } from '../../src/store/open.ts';
import { migrationNames } from '../../src/store/migrations/index.ts';
import { sqliteDialect } from '../../src/store/dialect.ts';

/** Every migration the code ships, in order: a fresh store applies all of them once. */
const ALL_MIGRATIONS = migrationNames(sqliteDialect);
import {
  countRows,
  freshPostgres,
  freshSqlite,
  postgresSkip,
  rawQuery,
  storeTargets,
  testMasterKey,
  type TestLocation,
} from '../helpers/db.ts';

const run = promisify(execFile);
const OPEN_MODULE = fileURLToPath(new URL('../../src/store/open.ts', import.meta.url));
const sqliteSkip = storeTargets[0]!.skip;

async function withLocation(
  fresh: () => Promise<TestLocation>,
  work: (location: TestLocation) => Promise<void>,
): Promise<void> {
  const location = await fresh();
  try {
    await work(location);
  } finally {
    await location.cleanup();
  }
}

const EXPECTED_INDEXES = [
  'certificates_live_fingerprint',
  'certificates_live_spki',
  'certificates_live_name',
  'certificates_tenant_deleted_no',
  'certificates_live_not_after',
  'certificates_live_created',
  'certificates_tenant_updated',
  'certificate_domains_tenant_domain',
  'audit_events_tenant',
  'issuance_orders_active_name',
];

for (const target of storeTargets) {
  describe(`${target.name}: migrations`, { skip: target.skip }, () => {
    it('migrates once; later opens and migrate() apply nothing', () =>
      withLocation(target.fresh, async (location) => {
        assert.deepEqual(await migrateStore(location.options()), ALL_MIGRATIONS);
        assert.equal(existsSync(join(location.dataDir, 'master.key')), false, 'migrate alone needs no master key');
        assert.deepEqual(await migrateStore(location.options()), []);
        const store = await openStore(location.options());
        assert.deepEqual(await store.migrate(), []);
        await store.ping();
        await store.close();
        assert.equal(await countRows(location, 'kysely_migration'), ALL_MIGRATIONS.length);
        const indexes = location.databaseUrl
          ? await rawQuery(location, "select indexname as name from pg_indexes where schemaname = 'public'")
          : await rawQuery(location, "select name from sqlite_master where type = 'index'");
        const names = new Set(indexes.map((r) => String(r.name)));
        for (const index of EXPECTED_INDEXES) assert.ok(names.has(index), `index ${index}`);
      }));
  });
}

describe('postgres: two processes starting at once', { skip: postgresSkip }, () => {
  it('two openStore() on one fresh database (separate pools, one data dir) both succeed; migrations and the first data key happen once', () =>
    withLocation(freshPostgres, async (location) => {
      const [a, b] = await Promise.all([openStore(location.options()), openStore(location.options())]);
      try {
        assert.equal(await countRows(location, 'kysely_migration'), ALL_MIGRATIONS.length);
        assert.equal(await countRows(location, 'data_keys'), 1);
        const sealed = await a.vault.seal(Buffer.from('shared'), 'ctx');
        assert.equal((await b.vault.open(sealed, 'ctx')).toString(), 'shared');
      } finally {
        await a.close();
        await b.close();
      }
    }));

  it('with the same CERTKEEPER_MASTER_KEY, several starts at once agree', () =>
    withLocation(freshPostgres, async (location) => {
      const masterKey = testMasterKey();
      const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(location.options({ masterKey }))));
      try {
        assert.equal(await countRows(location, 'kysely_migration'), ALL_MIGRATIONS.length);
        assert.equal(await countRows(location, 'data_keys'), 1);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    }));

  it('two first starts with different data directories: one creates the key, the other refuses instead of making a second one', () =>
    withLocation(freshPostgres, async (location) => {
      const elsewhere = await freshSqlite();
      try {
        const results = await Promise.allSettled([
          openStore(location.options()),
          openStore(location.options({ dataDir: elsewhere.dataDir })),
        ]);
        const opened = results.filter((r) => r.status === 'fulfilled');
        const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(opened.length, 1);
        assert.equal(refused.length, 1);
        assert.ok(refused[0]!.reason instanceof StoreStartupError);
        assert.match(refused[0]!.reason.message, /holds encrypted data/);
        for (const r of opened) await r.value.close();
        assert.equal(await countRows(location, 'data_keys'), 1);
      } finally {
        await elsewhere.cleanup();
      }
    }));
});

describe('postgres: trigram indexes after migration 0029', { skip: postgresSkip }, () => {
  const trigramIndexes = async (location: TestLocation) =>
    (
      await rawQuery(
        location,
        "select indexname from pg_indexes where schemaname = 'public' and indexname like '%\\_trgm' order by indexname",
      )
    ).map((r) => r.indexname);

  it('0013 builds both, 0029 drops the name one, and no start builds it again; a missing domain one is rebuilt', () =>
    withLocation(freshPostgres, async (location) => {
      // A fresh store applies 0013 (both indexes, pg_trgm being available here), then 0029, then
      // the start-up check: what is left is what every later start expects.
      await (await openStore(location.options())).close();
      assert.deepEqual(await trigramIndexes(location), ['certificate_domains_domain_trgm']);
      await (await openStore(location.options())).close();
      assert.deepEqual(await trigramIndexes(location), ['certificate_domains_domain_trgm']);
      // The start-up check still builds the domain's when it is missing, and only that one.
      await rawQuery(location, 'drop index certificate_domains_domain_trgm');
      const store = await openStore(location.options());
      try {
        assert.deepEqual(store.notices, []);
      } finally {
        await store.close();
      }
      assert.deepEqual(await trigramIndexes(location), ['certificate_domains_domain_trgm']);
    }));
});

describe('sqlite: processes starting at once on one data directory', { skip: sqliteSkip }, () => {
  it('four processes opening a fresh store at once all succeed; migrations and the first data key happen once', () =>
    withLocation(freshSqlite, async (location) => {
      const script = `
        import { openStore } from ${JSON.stringify(OPEN_MODULE)};
        const store = await openStore({ dataDir: ${JSON.stringify(location.dataDir)} });
        const sealed = await store.vault.seal(Buffer.from('x'), 'ctx');
        await store.close();
        console.log(sealed.dataKeyId);
      `;
      const outputs = await Promise.all(
        Array.from({ length: 4 }, () => run(process.execPath, ['--input-type=module', '-e', script])),
      );
      assert.deepEqual(
        outputs.map((o) => o.stdout.trim()),
        ['1', '1', '1', '1'],
      );
      assert.equal(await countRows(location, 'kysely_migration'), ALL_MIGRATIONS.length);
      assert.equal(await countRows(location, 'data_keys'), 1);
    }));
});
