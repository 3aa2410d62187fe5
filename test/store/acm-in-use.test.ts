/**
 * Contract (AcmListed `inUse`, ACM ListCertificates' `InUse`): on PostgreSQL
 * (`dialect.mergesReads`) each certificate row of `acm.list` says whether an edge slot uses it,
 * in the page's own statement, exactly as `CertificateUsageRepository.usersOf` would (a DELETED
 * slot does not, a slot holding it in two regions does, another tenant's slot is not this
 * tenant's); elsewhere it is left out for core to ask `usersOf`. A page shorter than the rows
 * holds exactly its limit, in order. On PostgreSQL the page's statement keeps a generic plan
 * (acm.ts `CertificateShape.fetch`): PostgreSQL stops planning it on every run. Its rows come
 * as arrays there (query-template.ts `rowSet`).
 *
 * Statements are counted at the driver (pg Client.query), as bench/lib/server-probe.ts does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AcmListQuery } from '../../src/core/ports.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import pg from 'pg';
import {
  freshPostgres,
  makeTenant,
  newCertificate,
  postgresSkip,
  rawExec,
  storeTargets,
  testMasterKey,
  type TestLocation,
} from '../helpers/db.ts';
import { planCountsOverSevenRuns, statementsDuring } from '../helpers/pg-statements.ts';

const AT = new Date(Date.UTC(2026, 2, 1));

for (const target of storeTargets) {
  describe(`ACM list rows say whether a slot uses them on ${target.name}`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    let tenantId: number;
    const numbers: number[] = [];

    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ masterKey: testMasterKey() }));
      tenantId = (await makeTenant(store)).id;
      const other = (await makeTenant(store)).id;
      for (let i = 0; i < 5; i++)
        numbers.push((await store.certificates.insert(newCertificate(tenantId), AT)).certificateNo);
      const [c0, c1, c2] = numbers as [number, number, number];
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
      // c0: a live slot; c1: one slot in both regions; c2: only a DELETED slot; c3, c4: none.
      await create(tenantId, [{ region: 'KR_JP', certificateNo: c0 }]);
      await create(tenantId, [
        { region: 'KR_JP', certificateNo: c1 },
        { region: 'GLOBAL', certificateNo: c1 },
      ]);
      const gone = await create(tenantId, [{ region: 'KR_JP', certificateNo: c2 }]);
      const deleting = await store.slots.change(tenantId, gone.slotId, { kind: 'delete' }, AT);
      assert.ok(deleting);
      assert.ok(await store.slotLeases.claim(gone.slotId, 'w', AT, new Date(AT.getTime() + 60_000)));
      await store.slotLeases.succeed(gone.slotId, 'w', deleting.deployment.generation, { fingerprints: new Map() }, AT);
      const foreign = await store.certificates.insert(newCertificate(other), AT);
      await create(other, [{ region: 'KR_JP', certificateNo: foreign.certificateNo }]);
    });
    after(async () => {
      await store?.close();
      await location?.cleanup();
    });

    const query = (over: Partial<AcmListQuery> = {}): AcmListQuery => ({
      tenantId,
      asOf: AT,
      certificates: ['issued', 'expired', 'revoked'],
      keyTypes: null,
      requests: null,
      order: 'asc',
      after: null,
      limit: 100,
      ...over,
    });

    for (const order of ['asc', 'desc'] as const) {
      it(`in use as usersOf says, ${order}, in one statement on PostgreSQL`, async () => {
        const { result: rows, statements, sent } = await statementsDuring(() => store.acm.list(query({ order })));
        const certificates = rows.flatMap((row) => (row.kind === 'certificate' ? [row] : []));
        assert.equal(certificates.length, numbers.length);
        const users = await store.usage.usersOf(
          tenantId,
          certificates.map((row) => row.summary.certificateNo),
        );
        if (target.name === 'postgres') {
          assert.equal(statements, 1);
          assert.ok(sent[0]?.arrays, 'its rows read as arrays (query-template.ts rowSet)');
          for (const row of certificates)
            assert.equal(
              row.inUse,
              users.get(row.summary.certificateNo)!.length > 0,
              `certificate ${row.summary.certificateNo}`,
            );
          assert.deepEqual(
            certificates
              .filter((row) => row.inUse)
              .map((row) => row.summary.certificateNo)
              .sort((a, b) => a - b),
            [numbers[0], numbers[1]],
          );
        } else {
          assert.ok(certificates.every((row) => row.inUse === undefined));
        }
      });
      it(`a page shorter than the rows holds exactly its limit, ${order}`, async () => {
        const all = await store.acm.list(query({ order }));
        // 3 rows: read with a literal limit of 4 on PostgreSQL, cut to 3 above it.
        const short = await store.acm.list(query({ order, limit: 3 }));
        assert.deepEqual(
          short.map((row) => (row.kind === 'certificate' ? row.summary.certificateNo : null)),
          all.slice(0, 3).map((row) => (row.kind === 'certificate' ? row.summary.certificateNo : null)),
        );
      });
    }
  });
}

describe('postgres: the ACM page statement keeps a generic plan', { skip: postgresSkip }, () => {
  let location: TestLocation;
  let store: StoreHandle;
  let tenantId: number;

  before(async () => {
    location = await freshPostgres();
    store = await openStore(location.options({ masterKey: testMasterKey() }));
    tenantId = (await makeTenant(store)).id;
    // Enough rows, analysed, that a parameter limit costed at 10 % of the tenant's rows outweighs
    // a custom plan's exact one, as in any real store.
    for (let from = 0; from < 3000; from += 250)
      await store.certificates.insertMany(
        tenantId,
        Array.from({ length: 250 }, () => newCertificate(tenantId)),
        AT,
      );
    await rawExec(location, 'analyze');
  });
  after(async () => {
    await store?.close();
    await location?.cleanup();
  });

  it('pages of 100 and of 10, both orders, key types or not: the 6th and 7th runs use the generic plan', async () => {
    const client = new pg.Client({ connectionString: location.databaseUrl });
    await client.connect();
    try {
      for (const [order, limit, keyTypes] of [
        ['asc', 101, null],
        ['desc', 11, null],
        ['asc', 101, [{ algorithm: 'EC', bits: 256 }]],
      ] as const) {
        const q: AcmListQuery = {
          tenantId,
          asOf: AT,
          certificates: ['issued', 'expired', 'revoked'],
          keyTypes: keyTypes === null ? null : [...keyTypes],
          requests: null,
          order,
          after: null,
          limit,
        };
        const { sent } = await statementsDuring(() => store.acm.list(q));
        assert.equal(sent.length, 1, `${order} ${limit}: one statement`);
        const name = `acm_${order}_${limit}_${keyTypes === null ? 'any' : 'ec'}`;
        assert.deepEqual(
          await planCountsOverSevenRuns(client, name, sent[0]!),
          [2, 5],
          `${order} ${limit}: [generic, custom] plans`,
        );
      }
    } finally {
      await client.end();
    }
  });
});
