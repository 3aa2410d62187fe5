/**
 * Contract (slots.ts `list`): the Edge list page with its items' certificates and the tenant's
 * target kind. On PostgreSQL (`dialect.mergesReads`) it is one statement (`mergedList`), and it
 * answers exactly what the separate reads answer (the same repository with the merge turned
 * off, on the same database), in the cases a face's golden answers never show: no target, no
 * slot, a page past the end, a slot with two items, a slot with no item, an item whose
 * certificate was deleted, DELETED slots and another tenant's slots left out, a page size
 * that is not one of the sizes the merged statement fetches. The same cases on
 * SQLite check the separate reads against the expected answer.
 *
 * Statements are counted at the driver (pg Client.query), as bench/lib/server-probe.ts does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import type { SlotPage } from '../../src/core/ports.ts';
import { connect } from '../../src/store/connect.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { slotRepository } from '../../src/store/repositories/slots.ts';
import type { Database } from '../../src/store/schema.ts';
import { makeTenant, newCertificate, storeTargets, testMasterKey, type TestLocation } from '../helpers/db.ts';
import { statementsDuring } from '../helpers/pg-statements.ts';

const AT = new Date(Date.UTC(2026, 2, 1));

for (const target of storeTargets) {
  describe(`Edge slot list with its certificates on ${target.name}`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    let db: Kysely<Database>;
    /** The same queries with the reads apart, whatever the dialect. */
    let separate: ReturnType<typeof slotRepository>;
    let tenantId: number;
    let otherTenantId: number;
    const certificateNos: number[] = [];
    const slotIds: Record<string, number> = {};

    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ masterKey: testMasterKey() }));
      const connection = await connect(location.options());
      db = connection.db as unknown as Kysely<Database>;
      separate = slotRepository(db, { ...connection.dialect, mergesReads: false });
      tenantId = (await makeTenant(store)).id;
      otherTenantId = (await makeTenant(store)).id;
    });
    after(async () => {
      await db?.destroy();
      await store?.close();
      await location?.cleanup();
    });

    const list = (offset: number, limit: number, tenant = tenantId) => store.slots.list(tenant, { offset, limit });

    /** The list and the separate reads agree; on PostgreSQL in one statement. */
    async function checked(offset: number, limit: number, tenant = tenantId): Promise<SlotPage> {
      const { result, statements } = await statementsDuring(() => list(offset, limit, tenant));
      assert.deepEqual(result, await separate.list(tenant, { offset, limit }));
      if (target.name === 'postgres') assert.equal(statements, 1, 'one statement');
      return result;
    }

    it('no target and no slot: an empty page, total 0, no target kind', async () => {
      const page = await checked(0, 10);
      assert.deepEqual(page, { items: [], total: 0, certificates: new Map(), targetKind: null });
    });

    it('slots with one, two and no items, and a deleted certificate', async () => {
      await store.targets.set(
        tenantId,
        { kind: 'directory', path: '/tmp/nowhere', reloadCommand: null, reloadTimeoutMs: 1000 },
        null,
        AT,
      );
      for (let i = 0; i < 6; i++)
        certificateNos.push((await store.certificates.insert(newCertificate(tenantId), AT)).certificateNo);
      const otherCertificate = (await store.certificates.insert(newCertificate(otherTenantId), AT)).certificateNo;
      const [c1, c2, c3, c4, c5, c6] = certificateNos as [number, number, number, number, number, number];
      const create = (tenant: number, items: Array<{ region: 'KR_JP' | 'GLOBAL'; certificateNo: number }>) =>
        store.slots.create(
          { tenantId: tenant, serviceRegion: 'KR_JP', tlsVersion: 'TLS_ALL_VERSIONS', cipherProfile: 'DEFAULT', items },
          AT,
        );
      slotIds.one = (await create(tenantId, [{ region: 'KR_JP', certificateNo: c1 }])).slotId;
      slotIds.two = (
        await create(tenantId, [
          { region: 'KR_JP', certificateNo: c2 },
          { region: 'GLOBAL', certificateNo: c3 },
        ])
      ).slotId;
      slotIds.gone = (await create(tenantId, [{ region: 'KR_JP', certificateNo: c4 }])).slotId;
      slotIds.deleted = (await create(tenantId, [{ region: 'KR_JP', certificateNo: c5 }])).slotId;
      slotIds.empty = (await create(tenantId, [{ region: 'KR_JP', certificateNo: c6 }])).slotId;
      slotIds.other = (await create(otherTenantId, [{ region: 'KR_JP', certificateNo: otherCertificate }])).slotId;

      // DELETED the way the worker gets there: delete, claim, succeed.
      const deleting = await store.slots.change(tenantId, slotIds.deleted, { kind: 'delete' }, AT);
      assert.ok(deleting);
      assert.ok(await store.slotLeases.claim(slotIds.deleted, 'w', AT, new Date(AT.getTime() + 60_000)));
      assert.equal(
        await store.slotLeases.succeed(
          slotIds.deleted,
          'w',
          deleting.deployment.generation,
          { fingerprints: new Map() },
          AT,
        ),
        'done',
      );
      // States no use-case makes (a live slot's certificate cannot be deleted, a slot always has
      // an item), made behind the store's back so the left joins are seen keeping their row.
      await sql`update certificates set deleted_at = ${AT.getTime()} where certificate_no = ${c4}`.execute(db);
      await sql`delete from edge_slot_items where slot_id = ${slotIds.empty}`.execute(db);

      const page = await checked(0, 10);
      assert.equal(page.total, 4);
      assert.equal(page.targetKind, 'directory');
      assert.deepEqual(
        page.items.map((slot) => slot.slotId),
        [slotIds.empty, slotIds.gone, slotIds.two, slotIds.one],
        'newest first; the DELETED slot and the other tenant’s left out',
      );
      assert.deepEqual(
        page.items.map((slot) => slot.items.map((item) => [item.region, item.certificateNo])),
        [
          [],
          [['KR_JP', c4]],
          [
            ['KR_JP', c2],
            ['GLOBAL', c3],
          ],
          [['KR_JP', c1]],
        ],
      );
      assert.deepEqual(
        [...page.certificates.keys()].sort((a, b) => a - b),
        [c1, c2, c3],
        'the deleted certificate is not among them',
      );
      assert.equal(page.certificates.get(c2)?.tenantId, tenantId);
    });

    it('pages: the middle, the last, past the end, and another tenant', async () => {
      // 3 rows are fetched as 4 on PostgreSQL (mergedList's fetch sizes): the 4th slot and its
      // certificate are dropped.
      const three = await checked(0, 3);
      assert.deepEqual(
        three.items.map((slot) => slot.slotId),
        [slotIds.empty, slotIds.gone, slotIds.two],
      );
      assert.deepEqual(
        [...three.certificates.keys()].sort((a, b) => a - b),
        [certificateNos[1], certificateNos[2]],
      );
      assert.deepEqual(
        (await checked(1, 2)).items.map((slot) => slot.slotId),
        [slotIds.gone, slotIds.two],
      );
      assert.deepEqual(
        (await checked(3, 2)).items.map((slot) => slot.slotId),
        [slotIds.one],
      );
      const past = await checked(4, 2);
      assert.deepEqual(past, { items: [], total: 4, certificates: new Map(), targetKind: 'directory' });
      const other = await checked(0, 10, otherTenantId);
      assert.deepEqual(
        other.items.map((slot) => slot.slotId),
        [slotIds.other],
      );
      assert.equal(other.targetKind, null);
      assert.equal(other.certificates.size, 1);
    });
  });
}
