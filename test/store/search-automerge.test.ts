/**
 * Migration 0033 on both stores: SQLite's FTS5 search table merges its segments 8 at a time
 * (`automerge`, stored in the table's configuration, so every connection has it); PostgreSQL has
 * no such table and nothing changes. On both, a name search still finds exactly its certificates
 * after many single imports, each its own commit and so its own FTS5 segment (on SQLite: several
 * levels' merges ran in between).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { normaliseSearchQuery } from '../../src/core/certificate-search.ts';
import { SEARCH_AUTOMERGE_SEGMENTS } from '../../src/store/migrations/0033-search-automerge.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { makeTenant, newCertificate, rawQuery, storeTargets, type TestLocation } from '../helpers/db.ts';

const IMPORTS = 70;

for (const target of storeTargets) {
  describe(`${target.name}: the search table's merge setting (migration 0033)`, { skip: target.skip }, () => {
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

    it('is applied: SQLite stores automerge 8 in the FTS5 configuration; PostgreSQL has no such table', async () => {
      const applied = await rawQuery(
        location,
        "select name from kysely_migration where name = '0033-search-automerge'",
      );
      assert.equal(applied.length, 1);
      if (location.databaseUrl) {
        const tables = await rawQuery(
          location,
          "select 1 from pg_tables where tablename = 'certificate_search_config'",
        );
        assert.equal(tables.length, 0);
      } else {
        const config = await rawQuery(location, "select v from certificate_search_config where k = 'automerge'");
        assert.deepEqual(config, [{ v: SEARCH_AUTOMERGE_SEGMENTS }]);
      }
    });

    it(`finds exactly its certificates by name after ${IMPORTS} single imports`, async () => {
      const tenant = await makeTenant(store);
      const at = new Date('2026-12-01T00:00:00Z');
      for (let i = 0; i < IMPORTS; i++)
        await store.certificates.insert(newCertificate(tenant.id, { name: `merge-${i % 7}-${i}` }), at);
      const namesContaining = async (text: string): Promise<string[]> => {
        const page = await store.certificates.list({
          ...normaliseSearchQuery({ offset: 0, limit: 100, nameContains: text, sort: 'name' }),
          tenantId: tenant.id,
          asOf: at,
        });
        return page.items.map((c) => c.name).sort();
      };
      for (const k of [0, 3, 6]) {
        const expected = Array.from({ length: IMPORTS }, (_, i) => i)
          .filter((i) => i % 7 === k)
          .map((i) => `merge-${k}-${i}`)
          .sort();
        assert.deepEqual(await namesContaining(`merge-${k}-`), expected);
      }
      assert.deepEqual(await namesContaining('ge-5-68'), ['merge-5-68']);
    });
  });
}
