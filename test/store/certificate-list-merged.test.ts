/**
 * Contract (certificate-list.ts `mergedPage`, PostgreSQL): a counted list page (no filter but
 * validity, default order) reads its totals and its rows in one statement once the tenant has
 * been listed with that filter, and answers exactly what the two-statement path answers: the
 * same total and rows in every validity, direction and offset, an empty page past the end, and
 * after writes that make the previous totals (the plan hint) stale. A deep unfiltered page
 * (from `listTuning.blockSeekFromOffset` on) reads its block-counter seek in that statement too.
 *
 * And its statement keeps a generic plan (`PageShape.fetch`): PostgreSQL stops planning it on
 * every run once five custom plans have been made, also when it carries a request's credential
 * check (store/credential-check.ts wraps it as a subquery).
 *
 * Its rows come as arrays (query-template.ts `rowSet`), read back to the same answer.
 *
 * Statements are counted at the driver (pg Client.query), as bench/lib/server-probe.ts does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CertificateQuery, CredentialConfirmation } from '../../src/core/ports.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { listTuning } from '../../src/store/repositories/certificate-list.ts';
import {
  freshPostgres,
  freshSqlite,
  makeCredential,
  makeTenant,
  newCertificate,
  postgresSkip,
  rawExec,
  testMasterKey,
  type TestLocation,
} from '../helpers/db.ts';
import pg from 'pg';
import { planCountsOverSevenRuns, statementsDuring } from '../helpers/pg-statements.ts';

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
            const { result, statements, sent } = await statementsDuring(() => page(pgStore, q));
            assert.equal(statements, 1, `${validity} ${order} offset ${offset}: statements`);
            assert.ok(sent[0]?.arrays, 'its rows read as arrays (query-template.ts rowSet)');
            const expected = await page(sqliteStore, q);
            assert.deepEqual(shape(result), shape(expected), `${validity} ${order} offset ${offset}`);
            assert.equal(result.items.length, Math.max(0, Math.min(7, expected.total - offset)));
          }
    });

    it('without a validity filter, the statement reads the live total alone', async () => {
      for (const offset of [0, 5]) {
        const { result, sent } = await statementsDuring(() => page(pgStore, { offset }));
        assert.equal(sent.length, 1);
        assert.doesNotMatch(sent[0]!.text, /certificate_expiry_(days|hours)/);
        assert.match(sent[0]!.text, /certificate_counts/);
        const expected = await page(sqliteStore, { offset });
        assert.deepEqual(shape(result), shape(expected));
      }
      const { sent } = await statementsDuring(() => page(pgStore, { validity: 'unexpired' }));
      assert.match(sent.at(-1)!.text, /certificate_expiry_days/, 'a validity filter reads the expired count');
    });

    it('deep pages (block seek) are one statement too, at every offset and direction, past the end included', async () => {
      const defaultSeek = listTuning.blockSeekFromOffset;
      listTuning.blockSeekFromOffset = 1;
      try {
        for (const order of ['asc', 'desc'] as const)
          for (const offset of [1, 5, 21, 29, 30, 40]) {
            const q = { validity: 'all' as const, order, offset };
            const { result, statements } = await statementsDuring(() => page(pgStore, q));
            assert.equal(statements, 1, `${order} offset ${offset}: statements`);
            const expected = await page(sqliteStore, q);
            assert.deepEqual(shape(result), shape(expected), `${order} offset ${offset}`);
            assert.equal(result.items.length, Math.max(0, Math.min(7, expected.total - offset)));
          }
      } finally {
        listTuning.blockSeekFromOffset = defaultSeek;
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

describe('postgres: the merged page statement keeps a generic plan', { skip: postgresSkip }, () => {
  let location: TestLocation;
  let store: StoreHandle;
  let tenantId: number;
  let credentialId: number;

  before(async () => {
    location = await freshPostgres();
    store = await openStore(location.options({ masterKey: testMasterKey() }));
    // Enough rows, analysed, that a parameter limit or offset costed at 10 % of the tenant's rows
    // outweighs a custom plan's exact one, as in any real store: 3,000 here, 300 in another tenant.
    for (const [count, id] of [
      [300, (await makeTenant(store)).id],
      [3000, (tenantId = (await makeTenant(store)).id)],
    ] as const)
      for (let from = 0; from < count; from += 250)
        await store.certificates.insertMany(
          id,
          Array.from({ length: Math.min(250, count - from) }, (_, i) =>
            newCertificate(id, {
              facts: {
                notBefore: new Date(AS_OF - 100 * DAY),
                notAfter: new Date(AS_OF + (((from + i) % 400) - 40) * DAY + i),
              },
            }),
          ),
          new Date(AS_OF - 50 * DAY),
        );
    credentialId = await makeCredential(store, tenantId, 'PLANCHECK00000000001', new Date(AS_OF));
    await rawExec(location, 'analyze');
  });
  after(async () => {
    await store?.close();
    await location?.cleanup();
  });

  it('first, later and deep pages, ALL and UNEXPIRED, with and without a credential check: the 6th and 7th runs use the generic plan', async () => {
    const client = new pg.Client({ connectionString: location.databaseUrl });
    await client.connect();
    const defaultSeek = listTuning.blockSeekFromOffset;
    // Offset 2,000 is a deep page (its block seek in the statement), 200 is not.
    listTuning.blockSeekFromOffset = 1000;
    try {
      for (const [validity, offset, limit, checked] of [
        ['all', 0, 100, false],
        ['unexpired', 0, 10, false],
        ['unexpired', 30, 10, false],
        ['all', 200, 100, false],
        ['all', 0, 100, true],
        ['unexpired', 0, 10, true],
        ['all', 200, 100, true],
        ['all', 2000, 100, false],
        ['all', 2000, 100, true],
      ] as const) {
        const q = { tenantId, asOf: new Date(AS_OF), validity, offset, limit };
        await store.certificates.list(q); // the hint, for validity filters
        const confirm: CredentialConfirmation | undefined = checked ? { check: { credentialId } } : undefined;
        const { sent } = await statementsDuring(() => store.certificates.list(q, confirm));
        assert.equal(sent.length, 1, `${validity} offset ${offset}: one statement`);
        if (confirm) assert.equal(confirm.state, 'live', 'the check answered by the same statement');
        const name = `merged_${validity}_${offset}_${checked ? 'checked' : 'plain'}`;
        assert.deepEqual(
          await planCountsOverSevenRuns(client, name, sent[0]!),
          [2, 5],
          `${validity} offset ${offset}: [generic, custom] plans`,
        );
      }
    } finally {
      listTuning.blockSeekFromOffset = defaultSeek;
      await client.end();
    }
  });
});
