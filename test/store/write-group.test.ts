/**
 * Contract: concurrent single inserts (`CertificateRepository.insert`, each with its audit event)
 * are each all or nothing, whatever else commits with them (store/write-group.ts: they share a
 * transaction, each row in a savepoint; on PostgreSQL only with inserts of the same tenant). A
 * refused or faulted insert leaves no row, search row, counter change or event; the others keep
 * all of theirs, the counters equal the rows and the audit chain verifies. Inserts that wait
 * together commit together: one WAL commit for the burst on SQLite, one transaction per tenant
 * on PostgreSQL.
 */
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { open } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { createAuditService } from '../../src/core/audit.ts';
import { normaliseSearchQuery } from '../../src/core/certificate-search.ts';
import { systemClock, type CertificateQuery, type NewAuditEvent } from '../../src/core/ports.ts';
import { isAppErrorWithCode } from '../../src/domain/errors.ts';
import { postgresDialect } from '../../src/store/dialect.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { groupedWrites } from '../../src/store/write-group.ts';
import {
  freshPostgres,
  makeTenant,
  newCertificate,
  postgresSkip,
  rawExec,
  rawQuery,
  storeTargets,
  type TestLocation,
} from '../helpers/db.ts';

const at = new Date('2026-11-02T03:04:05.678Z');
const event = (tenantId: number, target: string): NewAuditEvent => ({
  tenantId,
  actor: 'ak-test',
  action: 'certificate.import',
  target,
  result: 'success',
  remoteAddress: null,
  detail: {},
  at,
});

/** The certificate numbers a substring search of the tenant finds (every page). */
async function found(
  store: StoreHandle,
  tenantId: number,
  filter: Pick<CertificateQuery, 'nameContains' | 'domainContains'>,
): Promise<number[]> {
  const page = await store.certificates.list({
    ...normaliseSearchQuery({ ...filter, offset: 0, limit: 0 }),
    tenantId,
    asOf: at,
    offset: 0,
    limit: 100,
  });
  return page.items.map((c) => c.certificateNo).sort((a, b) => a - b);
}

/**
 * FTS5 segments of the certificate search index: the ids in its data rows' keys (a segment's
 * page `p` of id `s` is row `(s << 37) + p`; rows below 1 << 37 are the index's own records).
 */
async function ftsSegments(location: TestLocation): Promise<number> {
  const [row] = await rawQuery(
    location,
    `select count(distinct rowid >> 37) as n from certificate_search_data where rowid >= (1 << 37)`,
  );
  return Number(row?.n);
}

/** Commit frames in a WAL file (frames of the header's current salts). */
async function walCommits(file: string): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const header = Buffer.alloc(32);
    await handle.read(header, 0, 32, 0);
    const pageSize = header.readUInt32BE(8);
    const frame = Buffer.alloc(24);
    let commits = 0;
    for (let offset = 32; ; offset += 24 + pageSize) {
      const { bytesRead } = await handle.read(frame, 0, 24, offset);
      if (bytesRead < 24 || frame.readUInt32BE(8) !== header.readUInt32BE(16)) return commits;
      if (frame.readUInt32BE(12) !== header.readUInt32BE(20)) return commits;
      if (frame.readUInt32BE(4) !== 0) commits++;
    }
  } finally {
    await handle.close();
  }
}

for (const target of storeTargets) {
  describe(`${target.name}: concurrent single inserts`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    /** beforeCommit calls that throw (1-based), counted from the test's start. */
    let failCalls = new Set<number>();
    let calls = 0;
    const hooks = {
      beforeCommit: () => {
        calls++;
        if (failCalls.has(calls)) throw new Error(`injected failure at call ${calls}`);
      },
    };
    beforeEach(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ hooks }));
      calls = 0;
      failCalls = new Set();
    });
    afterEach(async () => {
      await store?.close();
      await location?.cleanup();
    });
    after(async () => {
      await store?.close();
    });

    it('each is all or nothing: refused and faulted ones leave nothing, the others everything', async () => {
      const tenant = (await makeTenant(store)).id;
      // 12 at once: the first and the fifth to reach their commit point fault there; the 10th
      // takes the 9th's name, so whichever of those two comes second is refused by the live name index.
      failCalls = new Set([1, 5]);
      const inputs = Array.from({ length: 12 }, (_, i) => newCertificate(tenant, { name: `burst-${i === 9 ? 8 : i}` }));
      const settled = await Promise.allSettled(
        inputs.map((input, i) => store.certificates.insert(input, at, event(tenant, `t-${i}`))),
      );
      const fulfilled = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [i] : []));
      const rejected = settled.flatMap((s, i) => (s.status === 'rejected' ? [{ i, reason: s.reason as unknown }] : []));
      assert.equal(fulfilled.length, 9, JSON.stringify(rejected.map((r) => String(r.reason))));
      assert.equal(rejected.filter((r) => /injected failure/.test(String(r.reason))).length, 2);
      assert.equal(rejected.filter((r) => isAppErrorWithCode(r.reason, 'already_exists')).length, 1);

      // Rows: exactly the fulfilled ones, each whole.
      const live = await rawQuery(
        location,
        `select certificate_no, name from certificates where tenant_id = ${tenant} and deleted_at is null order by certificate_no`,
      );
      const stored = fulfilled.map((i) => (settled[i] as PromiseFulfilledResult<{ certificateNo: number }>).value);
      assert.deepEqual(
        live.map((r) => Number(r.certificate_no)),
        stored.map((c) => c.certificateNo).sort((a, b) => a - b),
      );
      for (const table of ['certificate_domains', 'certificate_names', 'certificate_name_grams']) {
        const owners = await rawQuery(location, `select distinct certificate_no from ${table} order by certificate_no`);
        assert.deepEqual(
          owners.map((r) => Number(r.certificate_no)),
          live.map((r) => Number(r.certificate_no)),
          table,
        );
      }
      if (target.name === 'sqlite') {
        const fts = await rawQuery(location, `select rowid as n from certificate_search order by rowid`);
        assert.deepEqual(
          fts.map((r) => Number(r.n)),
          live.map((r) => Number(r.certificate_no)),
        );
      }
      // Events: one per fulfilled insert, none for the others (their failure events are the caller's).
      const targets = await rawQuery(location, `select target from audit_events where tenant_id = ${tenant}`);
      assert.deepEqual(targets.map((r) => String(r.target)).sort(), fulfilled.map((i) => `t-${i}`).sort());
      const [report] = await createAuditService(store, systemClock).verify({ tenantId: tenant });
      assert.equal(report?.firstBreak, null, JSON.stringify(report));
      assert.equal(report?.events, 9);
      // Counters: the list's total and the validity counts are the live rows.
      const page = await store.certificates.list({ tenantId: tenant, asOf: at, offset: 0, limit: 100 });
      assert.equal(page.total, 9);
      assert.equal(page.items.length, 9);

      // And the store goes on: the names that did not land can be imported now.
      failCalls = new Set();
      for (const { i } of rejected.filter((r) => !isAppErrorWithCode(r.reason, 'already_exists')))
        await store.certificates.insert(inputs[i]!, at, event(tenant, `again-${i}`));
      assert.equal((await store.certificates.list({ tenantId: tenant, asOf: at, offset: 0, limit: 100 })).total, 11);
    });

    if (target.name === 'sqlite')
      it('a group that cannot start (another process holds the write lock) fails only its first insert', async () => {
        const tenant = (await makeTenant(store)).id;
        const file = join(location.dataDir, 'certkeeper.db');
        // Another process takes the write lock for 6 s: longer than the store's busy timeout (5 s).
        const holder = spawn(
          process.execPath,
          [
            '-e',
            `const D = require('better-sqlite3'); const d = new D(process.argv[1]); d.exec('begin immediate');
             console.log('locked'); setTimeout(() => { d.exec('commit'); d.close(); }, 6000);`,
            file,
          ],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
        const exited = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
        const settled = await Promise.allSettled(
          Array.from({ length: 3 }, (_, i) =>
            store.certificates.insert(newCertificate(tenant), at, event(tenant, `l-${i}`)),
          ),
        );
        await exited;
        // The first waited its busy timeout and failed, as its own transaction would have; the
        // others tried again and committed once the lock was free.
        assert.deepEqual(
          settled.map((s) => s.status),
          ['rejected', 'fulfilled', 'fulfilled'],
        );
        assert.equal((await store.certificates.list({ tenantId: tenant, asOf: at, offset: 0, limit: 100 })).total, 2);
      });

    if (target.name === 'postgres')
      it('inserts of one tenant waiting together commit together, apart from another tenant', async () => {
        const tenants = [(await makeTenant(store)).id, (await makeTenant(store)).id];
        await Promise.all(
          Array.from({ length: 16 }, (_, i) => {
            const tenant = tenants[i % 2]!;
            return store.certificates.insert(newCertificate(tenant), at, event(tenant, `g-${i}`));
          }),
        );
        // A group's events are written by one statement of its transaction: one xmin per group.
        const groups = await rawQuery(
          location,
          `select tenant_id, count(*) as events, count(distinct xmin::text) as transactions from audit_events
           where tenant_id in (${tenants.join(', ')}) group by tenant_id order by tenant_id`,
        );
        assert.deepEqual(
          groups.map((r) => [Number(r.tenant_id), Number(r.events), Number(r.transactions)]),
          tenants.map((tenant) => [tenant, 8, 1]),
        );
        const xmins = await rawQuery(
          location,
          `select count(distinct xmin::text) as n from audit_events where tenant_id in (${tenants.join(', ')})`,
        );
        assert.equal(Number(xmins[0]!.n), 2, 'one transaction per tenant');
        for (const tenant of tenants)
          assert.equal((await store.certificates.list({ tenantId: tenant, asOf: at, offset: 0, limit: 100 })).total, 8);
      });

    it('a refused insert rejects once its group has committed: the row that refused it is visible then', async () => {
      const tenant = (await makeTenant(store)).id;
      // Two uploads of one new name in one turn share a group: the second is refused by the live
      // name index for the first's row, which commits with the group. When the refusal arrives,
      // another connection must already see that row (core's upsertByName then replaces it). On
      // PostgreSQL that connection is open beforehand, so its read is one round trip, as a pooled
      // one's is: against the group's finish and commit, still in flight when a refusal came early.
      const count = `select count(*) as n from certificates where tenant_id = ${tenant} and name = 'same' and deleted_at is null`;
      let reader: pg.Client | null = null;
      if (location.databaseUrl) {
        reader = new pg.Client({ connectionString: location.databaseUrl });
        await reader.connect();
      }
      const liveRows = async (): Promise<number> =>
        Number((reader ? (await reader.query(count)).rows : await rawQuery(location, count))[0]!.n);
      const first = store.certificates.insert(newCertificate(tenant, { name: 'same' }), at, event(tenant, 'a'));
      const second = store.certificates.insert(newCertificate(tenant, { name: 'same' }), at, event(tenant, 'b')).then(
        () => assert.fail('the second insert of the name was stored'),
        async (error: unknown) => {
          assert.ok(isAppErrorWithCode(error, 'already_exists'), String(error));
          return liveRows();
        },
      );
      try {
        await first;
        assert.equal(await second, 1, 'the first row was not committed when the second was refused');
      } finally {
        await reader?.end();
      }
    });

    if (target.name === 'sqlite')
      it('inserts begun in separate callbacks of one event-loop turn commit together, as requests read in one turn', async () => {
        const tenant = (await makeTenant(store)).id;
        const file = join(location.dataDir, 'certkeeper.db');
        const reader = new Database(file, { readonly: true });
        try {
          reader.exec('begin');
          reader.prepare('select count(*) from sqlite_schema').get();
          const before = await walCommits(`${file}-wal`);
          // Each insert starts in a callback of its own (setImmediate: one check phase), as each
          // HTTP request's handler does; nothing else is queued when the first one starts.
          await Promise.all(
            Array.from(
              { length: 4 },
              (_, i) =>
                new Promise<unknown>((resolve, reject) =>
                  setImmediate(() => {
                    store.certificates
                      .insert(newCertificate(tenant), at, event(tenant, `c-${i}`))
                      .then(resolve, reject);
                  }),
                ),
            ),
          );
          assert.equal((await walCommits(`${file}-wal`)) - before, 1);
          reader.exec('commit');
        } finally {
          reader.close();
        }
        assert.equal((await store.certificates.list({ tenantId: tenant, asOf: at, offset: 0, limit: 100 })).total, 4);
      });

    if (target.name === 'sqlite')
      it('inserts waiting for the connection together commit together', async () => {
        const tenant = (await makeTenant(store)).id;
        const file = join(location.dataDir, 'certkeeper.db');
        // No automatic merges of FTS5 segments, so the segments written are the segments there.
        await rawExec(location, `insert into certificate_search (certificate_search, rank) values ('automerge', 0)`);
        const segmentsBefore = await ftsSegments(location);
        // A reader holding a snapshot keeps every frame in the WAL (no checkpoint resets it).
        const reader = new Database(file, { readonly: true });
        try {
          reader.exec('begin');
          reader.prepare('select count(*) from sqlite_schema').get();
          const before = await walCommits(`${file}-wal`);
          const inputs = Array.from({ length: 8 }, (_, i) => newCertificate(tenant, { name: `group-${i}` }));
          const stored = await Promise.all(
            inputs.map((input, i) => store.certificates.insert(input, at, event(tenant, `g-${i}`))),
          );
          assert.equal((await walCommits(`${file}-wal`)) - before, 1);
          reader.exec('commit');
          // One FTS5 segment for the group: its search rows are written together, in the group's
          // finish, after every member's savepoint (FTS5 flushes at each savepoint otherwise).
          assert.equal((await ftsSegments(location)) - segmentsBefore, 1);
          // Found by a search right after the group's commit, each by its name and its domain.
          for (const [i, input] of inputs.entries()) {
            assert.deepEqual(await found(store, tenant, { nameContains: `oup-${i}` }), [stored[i]!.certificateNo]);
            assert.deepEqual(await found(store, tenant, { domainContains: input.facts.domains[0]! }), [
              stored[i]!.certificateNo,
            ]);
          }
        } finally {
          reader.close();
        }
        assert.equal((await store.certificates.list({ tenantId: tenant, asOf: at, offset: 0, limit: 100 })).total, 8);
      });
  });
}

describe('postgres: a group chosen as a deadlock victim', { skip: postgresSkip }, () => {
  let location: TestLocation;
  const pools: pg.Pool[] = [];
  after(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    await location?.cleanup();
  });

  it('runs the victim work again after its group, so no caller sees the deadlock', async () => {
    location = await freshPostgres();
    await rawExec(location, 'create table crossed (v text primary key)');
    // Two processes' groups (a pool each), two works each, inserting the same two keys in
    // crossed order: A holds x and waits for B's y, B holds y and waits for A's x.
    const groupOf = () => {
      const pool = new pg.Pool({ connectionString: location.databaseUrl!, max: 2 });
      pools.push(pool);
      const db = new Kysely<{ crossed: { v: string } }>({ dialect: new PostgresDialect({ pool }) });
      return groupedWrites(db, postgresDialect);
    };
    const [a, b] = [groupOf(), groupOf()];
    const signal = () => {
      let open!: () => void;
      return { opened: new Promise<void>((resolve) => (open = resolve)), open: () => open() };
    };
    const aHoldsX = signal();
    const bHoldsY = signal();
    const insert = (trx: Kysely<{ crossed: { v: string } }>, v: string) =>
      trx.insertInto('crossed').values({ v }).execute();
    const runs = [0, 0, 0, 0];
    const outcomes = await Promise.allSettled([
      a.run('t', async (trx) => {
        runs[0]!++;
        await insert(trx, 'x');
        aHoldsX.open();
      }),
      a.run('t', async (trx) => {
        runs[1]!++;
        await bHoldsY.opened;
        await insert(trx, 'y');
      }),
      b.run('t', async (trx) => {
        runs[2]!++;
        await aHoldsX.opened;
        await insert(trx, 'y');
        bHoldsY.open();
      }),
      b.run('t', async (trx) => {
        runs[3]!++;
        await insert(trx, 'x');
      }),
    ]);
    // The first works committed; the crossed ones end as unique violations (the other group's
    // row stored first), one of them after being run a second time: never the deadlock.
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as { code?: string }).code)),
      ['ok', '23505', 'ok', '23505'],
    );
    assert.deepEqual(runs.slice().sort(), [1, 1, 1, 2]);
    assert.deepEqual(await rawQuery(location, 'select v from crossed order by v'), [{ v: 'x' }, { v: 'y' }]);
  });
});
