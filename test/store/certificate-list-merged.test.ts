/**
 * Contract (certificate-list.ts `mergedPage`, PostgreSQL): a counted list page (no filter but
 * validity, default order) reads its totals and its rows in one statement once the tenant has
 * been listed with that filter, and answers exactly what the two-statement path answers: the
 * same total and rows in every validity, direction and offset, an empty page past the end, and
 * after writes that make the previous totals (the plan hint) stale.
 *
 * Statements are counted at the driver (pg Client.query), as bench/lib/server-probe.ts does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CertificateQuery } from '../../src/core/ports.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import {
  freshPostgres,
  freshSqlite,
  makeTenant,
  newCertificate,
  postgresSkip,
  testMasterKey,
  type TestLocation,
} from '../helpers/db.ts';
import { statementsDuring } from '../helpers/pg-statements.ts';

const DAY = 86_400_000;
const AS_OF = Date.UTC(2026, 2, 1);

describe(
  'postgres: a counted list page is one statement, and the same answer as SQLite',
  { skip: postgresSkip },
  () => {
    let pgLocation: TestLocation;
    let sqliteLocation: TestLocation;
    let pgStore: StoreHandle;
    let sqliteStore: StoreHandle;
    const tenants = new Map<StoreHandle, number>();

    before(async () => {
      pgLocation = await freshPostgres();
      sqliteLocation = await freshSqlite();
      pgStore = await openStore(pgLocation.options({ masterKey: testMasterKey() }));
      sqliteStore = await openStore(sqliteLocation.options({ masterKey: testMasterKey() }));
      for (const store of [pgStore, sqliteStore]) {
        const tenantId = (await makeTenant(store)).id;
        tenants.set(store, tenantId);
        // 30 certificates, notAfter spread around AS_OF: some expired, most not.
        for (let i = 0; i < 30; i++)
          await store.certificates.insert(
            newCertificate(tenantId, {
              facts: { notBefore: new Date(AS_OF - 100 * DAY), notAfter: new Date(AS_OF + (i - 8) * DAY) },
            }),
            new Date(AS_OF - 50 * DAY),
          );
      }
    });
    after(async () => {
      await pgStore?.close();
      await sqliteStore?.close();
      await pgLocation?.cleanup();
      await sqliteLocation?.cleanup();
    });

    const page = (store: StoreHandle, q: Partial<CertificateQuery>) =>
      store.certificates.list({ tenantId: tenants.get(store)!, asOf: new Date(AS_OF), offset: 0, limit: 7, ...q });
    // Every certificate here has its own notAfter, so the notAfters name the rows of a page.
    const shape = (p: Awaited<ReturnType<typeof page>>) => ({
      total: p.total,
      notAfters: p.items.map((c) => c.facts.notAfter.getTime()),
    });

    it('one statement once hinted; totals and rows equal SQLite at every validity, direction and offset', async () => {
      for (const validity of ['all', 'unexpired', 'expired'] as const)
        for (const order of ['asc', 'desc'] as const)
          for (const offset of [0, 5, 21, 29, 40]) {
            const q = { validity, order, offset };
            await page(pgStore, q); // the hint, for validity filters
            const { result, statements } = await statementsDuring(() => page(pgStore, q));
            assert.equal(statements, 1, `${validity} ${order} offset ${offset}: statements`);
            const expected = await page(sqliteStore, q);
            assert.deepEqual(shape(result), shape(expected), `${validity} ${order} offset ${offset}`);
            assert.equal(result.items.length, Math.max(0, Math.min(7, expected.total - offset)));
          }
    });

    it('a stale hint (rows deleted and added since) changes nothing but the plan', async () => {
      await page(pgStore, { validity: 'unexpired' });
      for (const store of [pgStore, sqliteStore]) {
        const tenantId = tenants.get(store)!;
        const first = await store.certificates.list({ tenantId, asOf: new Date(AS_OF), offset: 0, limit: 3 });
        for (const c of first.items) await store.certificates.markDeleted(tenantId, c.certificateNo, new Date(AS_OF));
        for (let i = 0; i < 5; i++)
          await store.certificates.insert(
            newCertificate(tenantId, { facts: { notAfter: new Date(AS_OF + (40 + i) * DAY) } }),
            new Date(AS_OF),
          );
      }
      for (const validity of ['unexpired', 'expired', 'all'] as const) {
        const { result, statements } = await statementsDuring(() => page(pgStore, { validity, offset: 2 }));
        assert.equal(statements, 1, validity);
        assert.deepEqual(shape(result), shape(await page(sqliteStore, { validity, offset: 2 })), validity);
      }
    });
  },
);
