/**
 * Contract (CertificateQuery `withUsers`, the NCP v1 list's `usedInstanceNoList`): a list page
 * also answers which edge slots use each of its certificates, exactly as
 * `CertificateUsageRepository.usersOf` answers (ascending, each slot once even when it holds the
 * certificate in two regions, DELETED slots left out, every item a key), on both stores and in
 * every list path: a name filter that finds nothing or one row, the `usedByInstanceNo` filter, the
 * counted default list (merged with its totals on PostgreSQL), another order, past the end, and
 * a search filter (read apart). On PostgreSQL the users ride in the page's statement: no
 * statement more than the same list without them.
 *
 * Statements are counted at the driver (pg Client.query), as bench/lib/server-probe.ts does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CertificateQuery } from '../../src/core/ports.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { makeTenant, newCertificate, storeTargets, testMasterKey, type TestLocation } from '../helpers/db.ts';
import { statementsDuring } from '../helpers/pg-statements.ts';

const AT = new Date(Date.UTC(2026, 2, 1));

for (const target of storeTargets) {
  describe(`a list page with the slots using its certificates on ${target.name}`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    let tenantId: number;
    const certificates: Array<{ certificateNo: number; name: string }> = [];
    let twoRegions = 0;

    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ masterKey: testMasterKey() }));
      tenantId = (await makeTenant(store)).id;
      const other = (await makeTenant(store)).id;
      for (let i = 0; i < 6; i++)
        certificates.push(
          await store.certificates.insert(newCertificate(tenantId, { name: `users-${i}.example.com` }), AT),
        );
      const [c0, c1, c2] = certificates.map((c) => c.certificateNo) as [number, number, number];
      const create = (tenant: number, items: Array<{ region: 'KR_JP' | 'GLOBAL'; certificateNo: number }>) =>
        store.slots.create(
          {
            tenantId: tenant,
            serviceRegion: items.length > 1 ? 'KR_JP_GLOBAL' : 'KR_JP',
            tlsVersion: 'TLS_ALL_VERSIONS',
            cipherProfile: 'DEFAULT',
            items,
          },
          AT,
        );
      // c0: two slots; c1: one slot holding it in both regions; c2: only a DELETED slot; the rest none.
      await create(tenantId, [{ region: 'KR_JP', certificateNo: c0 }]);
      await create(tenantId, [{ region: 'KR_JP', certificateNo: c0 }]);
      twoRegions = (
        await create(tenantId, [
          { region: 'KR_JP', certificateNo: c1 },
          { region: 'GLOBAL', certificateNo: c1 },
        ])
      ).slotId;
      const gone = await create(tenantId, [{ region: 'KR_JP', certificateNo: c2 }]);
      const deleting = await store.slots.change(tenantId, gone.slotId, { kind: 'delete' }, AT);
      assert.ok(deleting);
      assert.ok(await store.slotLeases.claim(gone.slotId, 'w', AT, new Date(AT.getTime() + 60_000)));
      await store.slotLeases.succeed(gone.slotId, 'w', deleting.deployment.generation, { fingerprints: new Map() }, AT);
      // Another tenant's certificate in a slot: not this tenant's users.
      const foreign = await store.certificates.insert(newCertificate(other), AT);
      await create(other, [{ region: 'KR_JP', certificateNo: foreign.certificateNo }]);
    });
    after(async () => {
      await store?.close();
      await location?.cleanup();
    });

    /** The page with users; its users equal usersOf; on PostgreSQL no statement more than without. */
    async function checked(query: Partial<CertificateQuery>) {
      const full: CertificateQuery = { tenantId, asOf: AT, offset: 0, limit: 100, ...query };
      await store.certificates.list(full); // warm: the counted list's plan hint, as a server has it
      const without = await statementsDuring(() => store.certificates.list(full));
      const { result, statements } = await statementsDuring(() =>
        store.certificates.list({ ...full, withUsers: true }),
      );
      const { usedBy, ...page } = result;
      assert.deepEqual(page, without.result, 'the same page');
      assert.ok(usedBy);
      const numbers = page.items.map((item) => item.certificateNo);
      assert.deepEqual(usedBy, await store.usage.usersOf(tenantId, numbers));
      assert.deepEqual([...usedBy.keys()], numbers, 'every item a key, in page order');
      if (target.name === 'postgres' && query.nameContains === undefined)
        assert.equal(statements, without.statements, `the users ride in the page statement: ${JSON.stringify(query)}`);
      return { numbers, usedBy };
    }

    it('the counted default list, both directions, a page and past the end', async () => {
      const [c0, c1, c2] = certificates.map((c) => c.certificateNo) as [number, number, number];
      const { usedBy } = await checked({});
      assert.equal(usedBy.get(c0)?.length, 2);
      assert.deepEqual(usedBy.get(c1), [twoRegions], 'once, though it holds it in two regions');
      assert.deepEqual(usedBy.get(c2), [], 'a DELETED slot does not use it');
      await checked({ sort: 'certificateNo', order: 'desc' });
      await checked({ offset: 2, limit: 2 });
      assert.deepEqual((await checked({ offset: 50 })).numbers, []);
      await checked({ validity: 'unexpired' });
    });

    it('filters: a name that finds nothing or one, a slot, another order, a search', async () => {
      assert.deepEqual((await checked({ name: 'no-such-name' })).numbers, []);
      const one = await checked({ name: certificates[0]!.name, sort: 'certificateNo', order: 'desc', limit: 1000 });
      assert.deepEqual(one.numbers, [certificates[0]!.certificateNo]);
      assert.deepEqual((await checked({ usedByInstanceNo: twoRegions })).numbers, [certificates[1]!.certificateNo]);
      await checked({ sort: 'name', order: 'desc' });
      await checked({ nameContains: 'users-' });
    });
  });
}
