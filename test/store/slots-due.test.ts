/**
 * Contract: the edge worker's scan for due slots (slots.ts `dueSlotsQuery`) reads the partial
 * index edge_slots_due in its order and stops after `limit` rows: it neither reads every slot
 * (RUNNING and DELETED ones are most of them) nor sorts every pending one. The plan is checked on
 * a migrated SQLite store with 3,000 slots of which 1,000 are pending, after ANALYZE, so the
 * planner chooses with real statistics.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CompiledQuery, sql, type Kysely } from 'kysely';
import { connect } from '../../src/store/connect.ts';
import { openStore } from '../../src/store/open.ts';
import { dueSlotsQuery } from '../../src/store/repositories/slots.ts';
import type { SlotTables } from '../../src/store/repositories/slot-rows.ts';
import type { Database } from '../../src/store/schema.ts';
import { freshSqlite, testMasterKey } from '../helpers/db.ts';

describe('edge worker scan for due slots (SQLite)', () => {
  it('uses edge_slots_due in index order: no full scan, no sort', async () => {
    const location = await freshSqlite();
    const masterKey = testMasterKey();
    const store = await openStore(location.options({ masterKey }));
    await store.close();
    const { db: base } = await connect(location.options());
    const db = base as unknown as Kysely<Database & SlotTables>;
    try {
      const now = Date.now();
      // Slots only: the plan is the point, not the tenants and certificates they would belong to.
      await sql`pragma foreign_keys = off`.execute(db);
      await sql`
        with recursive n(i) as (select 1 union all select i + 1 from n where i < 3000)
        insert into edge_slots (tenant_id, service_region, tls_version, cipher_profile, status, generation, deployed_generation, attempts, next_attempt_at, created_at, provisioned_at, updated_at)
        select 1, 'KR', 'TLSv1.2', 'default',
               case i % 3 when 0 then 'RUNNING' when 1 then 'DELETED' else 'PUBLISHING' end,
               1, 0, 0, case when i % 6 = 2 then ${now - 1000} else null end, ${now}, ${now}, ${now}
        from n`.execute(db);
      await sql`analyze`.execute(db);

      const compiled = dueSlotsQuery(db, new Date(now), 50).compile();
      const plan = (
        await db.executeQuery<{ detail: string }>(
          CompiledQuery.raw(`explain query plan ${compiled.sql}`, [...compiled.parameters]),
        )
      ).rows.map((r) => r.detail);
      assert.ok(
        plan.some((step) => step.includes('USING INDEX edge_slots_due')),
        plan.join('\n'),
      );
      assert.ok(!plan.some((step) => step.includes('TEMP B-TREE')), plan.join('\n'));

      const due = await dueSlotsQuery(db, new Date(now), 2000).execute();
      assert.equal(due.length, 1000, 'every pending slot is due: never tried, or its backoff ended');
      const ids = due.map((r) => Number(r.slot_id));
      const never = ids.slice(0, 500);
      const retried = ids.slice(500);
      assert.ok(
        never.every((id) => id % 6 === 5),
        'never-tried slots (no due time) first on SQLite',
      );
      assert.ok(
        retried.every((id) => id % 6 === 2),
        'then the ones whose backoff ended',
      );
      assert.deepEqual(
        never,
        [...never].sort((a, b) => a - b),
        'by id among equal due times',
      );
      assert.equal(
        (await dueSlotsQuery(db, new Date(now - 2000), 2000).execute()).length,
        500,
        'a slot in backoff is not due before its time',
      );
    } finally {
      await db.destroy();
      await location.cleanup();
    }
  });
});
