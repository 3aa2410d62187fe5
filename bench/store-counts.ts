/**
 * List totals and pages at scale: naive COUNT(*) against the counters of migration 0003, and
 * page 1 against a deep page of the default order, on SQLite and PostgreSQL in the same run.
 *
 *   node bench/store-counts.ts [--rows 200000] [--stores sqlite,postgres] [--seconds 2] [--rounds 4] [--no-explain] [--keep]
 *
 * Seeds `--rows` certificates for one tenant (plus 10% for a second tenant, so indexes and
 * counter tables are shared as in real life) straight through the store's Kysely connection in
 * batched multi-row inserts, rows about the size of real ones (PEM and facts JSON), notAfter
 * spread over [asOf - 200 days, asOf + 400 days), 3% deleted; then fills the counters with the
 * migration's own backfill (timed: that is what 0003 costs an existing install). PostgreSQL gets
 * a VACUUM ANALYZE after the load (the steady state autovacuum reaches); SQLite gets nothing (the
 * store never runs ANALYZE). Every figure is the median of repeated calls through the
 * repository (`list`, `countByValidity`), so it includes Kysely, the driver and row decoding, as
 * a request would; cases are interleaved over `--rounds` rounds of `--seconds` in all, so noise
 * from other work hits every case alike. asOf is mid-afternoon UTC, so the EXPIRED total counts
 * the tail half of the day. "index walk" is the same deep page with the block seek switched off.
 *
 * PostgreSQL: `CERTKEEPER_BENCH_PG_URL` (default: CERTKEEPER_TEST_PG_URL, else
 * postgres://postgres@127.0.0.1:5432/postgres) is an admin connection; the run creates
 * `certkeeper_bench_<pid>_<random>` and drops it at the end. SQLite: a temp directory, removed.
 */
import { parseArgs } from 'node:util';
import { sql, type Kysely } from 'kysely';
import type { CertificateQuery, CertificateRepository } from '../src/core/ports.ts';
import { connect } from '../src/store/connect.ts';
import type { StoreDialect } from '../src/store/dialect.ts';
import { backfillCertificateCounters } from '../src/store/migrations/0003-certificate-counters.ts';
import { backfillExpiryDaySums } from '../src/store/migrations/0007-expiry-day-sums.ts';
import { backfillExpiryHours } from '../src/store/migrations/0035-expiry-hours.ts';
import { applyMigrations } from '../src/store/migrations/index.ts';
import { cutAt } from '../src/store/repositories/certificate-counters.ts';
import { listTuning } from '../src/store/repositories/certificate-list.ts';
import { certificateRepository } from '../src/store/repositories/certificates.ts';
import type { Database } from '../src/store/schema.ts';
import { inTransaction } from '../src/store/transaction.ts';
import type { StoreVault } from '../src/store/vault.ts';
import { AS_OF, benchLocation, benchRow, prng, type BenchRow } from './lib/bench-rows.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '4' },
    'no-explain': { type: 'boolean', default: false },
    /** Leave the databases behind (printed) to look at plans by hand; drop them yourself. */
    keep: { type: 'boolean', default: false },
  },
});
const ROWS = Number(values.rows);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const STORES = values.stores.split(',').map((s) => s.trim());

const PAGE = 100;
const defaultSeek = listTuning.blockSeekFromOffset;

// ---------------------------------------------------------------------------------------------
// Seeding

const FACTS = JSON.stringify({
  subjectDn: 'CN=host.example.com',
  issuerDn: 'CN=Bench CA, O=certkeeper',
  sans: { dns: ['host.example.com', 'www.host.example.com'] },
  pad: 'x'.repeat(500),
});

const row = (tenantId: number, i: number, random: () => number): BenchRow =>
  benchRow(tenantId, i, random, { name: `t${tenantId}-cert-${i}`, common_name: `host-${i}.example.com`, facts: FACTS });

async function seed(
  db: Kysely<Database>,
  dialect: StoreDialect,
  tenants: Array<{ id: number; rows: number }>,
): Promise<void> {
  const random = prng(42);
  const BATCH = 1000; // 22 columns: 22,000 parameters per statement, under both dialects' limits
  // Interleave the tenants' inserts, as real traffic would.
  const cursors = tenants.map((t) => ({ ...t, done: 0 }));
  while (cursors.some((c) => c.done < c.rows)) {
    await inTransaction(db, dialect, async (trx) => {
      for (let k = 0; k < 20; k++) {
        for (const c of cursors) {
          const n = Math.min(BATCH * (c.rows / ROWS), c.rows - c.done);
          if (n <= 0) continue;
          const batch = Array.from({ length: Math.ceil(n) }, (_, j) => row(c.id, c.done + j, random));
          await trx.insertInto('certificates').values(batch).execute();
          c.done += batch.length;
        }
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring

const fmt = (us: number): string => (us >= 10_000 ? `${(us / 1000).toFixed(1)} ms` : `${Math.round(us)} µs`);

async function explain(
  db: Kysely<Database>,
  dialect: StoreDialect,
  label: string,
  text: string,
  params: unknown[],
): Promise<void> {
  const prefix = dialect.label === 'SQLite' ? 'explain query plan ' : 'explain (costs off) ';
  const query = sql.raw(prefix + text.replace(/\$(\d+)/g, (_, n: string) => String(params[Number(n) - 1])));
  const { rows } = await query.execute(db);
  const lines = rows.map((r) =>
    String((r as Record<string, unknown>).detail ?? (r as Record<string, unknown>)['QUERY PLAN']),
  );
  console.log(`  plan, ${label}:\n${lines.map((l) => `      ${l}`).join('\n')}`);
}

interface Case {
  label: string;
  run: () => Promise<unknown>;
  samples: number[];
}

/**
 * Interleaved: `ROUNDS` rounds, each giving every case SECONDS / ROUNDS, so that noise from
 * other work on the machine hits every case alike; the figure is the median over all samples.
 */
async function measureAll(cases: Case[]): Promise<void> {
  for (const c of cases) for (let i = 0; i < 3; i++) await c.run();
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) {
      const end = performance.now() + (SECONDS * 1000) / ROUNDS;
      let n = 0;
      while ((performance.now() < end || n < 2) && n < 2000) {
        const start = performance.now();
        await c.run();
        c.samples.push((performance.now() - start) * 1000);
        n++;
      }
    }
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function benchStore(store: string): Promise<void> {
  const where = await benchLocation(store);
  const { db, dialect } = await connect(where);
  try {
    console.log(
      `\n${dialect.label}: ${ROWS} certificates in one tenant (+${ROWS / 10} in another), asOf ${new Date(AS_OF).toISOString()}`,
    );
    await inTransaction(db, dialect, (trx) => applyMigrations(trx, dialect), { exclusive: true });
    const tenantIds: number[] = [];
    for (const name of ['bench', 'other']) {
      const t = await db
        .insertInto('tenants')
        .values({ name, member_no: name, app_key: name, app_key_auth_enabled: 0, created_at: AS_OF })
        .returning('id')
        .executeTakeFirstOrThrow();
      tenantIds.push(Number(t.id));
    }
    const [tenant, other] = tenantIds as [number, number];

    let t = performance.now();
    await seed(db, dialect, [
      { id: tenant, rows: ROWS },
      { id: other, rows: ROWS / 10 },
    ]);
    console.log(`  seeded in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    t = performance.now();
    await inTransaction(db, dialect, async (trx) => {
      await trx.deleteFrom('certificate_counts').execute();
      await trx.deleteFrom('certificate_expiry_days').execute();
      await trx.deleteFrom('certificate_number_blocks').execute();
      await trx.deleteFrom('certificate_expiry_hours').execute();
      await backfillCertificateCounters(trx as unknown as Kysely<unknown>);
      await backfillExpiryDaySums(trx as unknown as Kysely<unknown>);
      await backfillExpiryHours(trx as unknown as Kysely<unknown>);
    });
    console.log(
      `  counters backfilled (migrations 0003's, 0007's and 0035's backfills) in ${Math.round(performance.now() - t)} ms`,
    );
    if (dialect.label === 'PostgreSQL') await sql`vacuum analyze`.execute(db);

    const repo: CertificateRepository = certificateRepository(db, dialect, {} as StoreVault);
    const q = (extra: Partial<CertificateQuery>): CertificateQuery => ({
      tenantId: tenant,
      asOf: new Date(AS_OF),
      offset: 0,
      limit: 0,
      ...extra,
    });
    const naive = async (cond: string) => {
      const { rows } = await sql<{
        n: unknown;
      }>`select count(*) as n from certificates where tenant_id = ${tenant} and deleted_at is null ${sql.raw(cond)}`.execute(
        db,
      );
      return Number(rows[0]!.n);
    };
    /** The page with the block seek switched off: the walk from the start of the index. */
    const walking = async (query: CertificateQuery) => {
      listTuning.blockSeekFromOffset = Number.POSITIVE_INFINITY;
      try {
        return await repo.list(query);
      } finally {
        listTuning.blockSeekFromOffset = defaultSeek;
      }
    };

    // Check first: the counters and both page paths agree with the rows.
    const [liveN, expiredN] = [await naive(''), await naive(`and not_after < ${AS_OF}`)];
    const [all, expired, unexpired] = await Promise.all(
      (['all', 'expired', 'unexpired'] as const).map(async (validity) => (await repo.list(q({ validity }))).total),
    );
    if (all !== liveN || expired !== expiredN || unexpired !== liveN - expiredN)
      throw new Error(`counters disagree: ${JSON.stringify({ all, expired, unexpired, liveN, expiredN })}`);
    const deep = Math.floor(ROWS / 2);
    for (const order of ['asc', 'desc'] as const) {
      const seeking = (await repo.list(q({ limit: PAGE, offset: deep, order }))).items
        .map((c) => c.certificateNo)
        .join();
      const walked = (await walking(q({ limit: PAGE, offset: deep, order }))).items.map((c) => c.certificateNo).join();
      if (seeking !== walked || seeking === '') throw new Error(`block seek and walk disagree (${order})`);
    }
    const [{ days }] = (
      await sql<{
        days: unknown;
      }>`select count(*) as days from certificate_expiry_days where tenant_id = ${tenant}`.execute(db)
    ).rows as [{ days: unknown }];
    const [{ blocks }] = (
      await sql<{
        blocks: unknown;
      }>`select count(*) as blocks from certificate_number_blocks where tenant_id = ${tenant}`.execute(db)
    ).rows as [{ blocks: unknown }];
    console.log(
      `  live ${liveN}, expired ${expiredN}, unexpired ${liveN - expiredN}; ${Number(days)} day rows and ${Number(blocks)} block rows for the tenant`,
    );

    const halfExpired = Math.floor(expiredN / 2);
    const halfUnexpired = Math.floor((liveN - expiredN) / 2);
    const cases: Case[] = [
      ['round trip alone: select 1', () => sql`select 1`.execute(db)],
      ['naive COUNT(*) of live rows', () => naive('')],
      ['naive COUNT(*) where not_after < asOf', () => naive(`and not_after < ${AS_OF}`)],
      ['counter total ALL         (list, limit 0)', () => repo.list(q({ validity: 'all' }))],
      ['counter total EXPIRED     (list, limit 0)', () => repo.list(q({ validity: 'expired' }))],
      ['counter total UNEXPIRED   (list, limit 0)', () => repo.list(q({ validity: 'unexpired' }))],
      [
        'naive countByValidity (one filtered pass)',
        () =>
          sql`select count(*) filter (where not_after < ${AS_OF}) as e, count(*) filter (where not_before > ${AS_OF}) as n, count(*) filter (where not_before <= ${AS_OF} and not_after >= ${AS_OF}) as v from certificates where tenant_id = ${tenant} and deleted_at is null`.execute(
            db,
          ),
      ],
      ['countByValidity(tenant)', () => repo.countByValidity(tenant, new Date(AS_OF))],
      ['countByValidity(null: every tenant)', () => repo.countByValidity(null, new Date(AS_OF))],
      [`page 1 asc, ${PAGE} rows (total + page)`, () => repo.list(q({ limit: PAGE }))],
      [`page 1 desc (NCP v2 order)`, () => repo.list(q({ limit: PAGE, order: 'desc' }))],
      [`deep asc, offset ${deep}: block seek`, () => repo.list(q({ limit: PAGE, offset: deep }))],
      [`deep desc, offset ${deep}: block seek`, () => repo.list(q({ limit: PAGE, offset: deep, order: 'desc' }))],
      [`deep asc, offset ${deep}: index walk`, () => walking(q({ limit: PAGE, offset: deep }))],
      [`deep desc, offset ${deep}: index walk`, () => walking(q({ limit: PAGE, offset: deep, order: 'desc' }))],
      [
        `old deep page: select * … offset ${deep}`,
        () =>
          db
            .selectFrom('certificates')
            .selectAll()
            .where('tenant_id', '=', tenant)
            .where('deleted_at', 'is', null)
            .orderBy('certificate_no')
            .limit(PAGE)
            .offset(deep)
            .execute(),
      ],
      [`page 1 UNEXPIRED (NHN default)`, () => repo.list(q({ limit: PAGE, validity: 'unexpired' }))],
      [`page 1 EXPIRED`, () => repo.list(q({ limit: PAGE, validity: 'expired' }))],
      [
        `deep UNEXPIRED, offset ${halfUnexpired}`,
        () => repo.list(q({ limit: PAGE, offset: halfUnexpired, validity: 'unexpired' })),
      ],
      [
        `deep EXPIRED, offset ${halfExpired}`,
        () => repo.list(q({ limit: PAGE, offset: halfExpired, validity: 'expired' })),
      ],
      [`nameContains '12345' (COUNT + page, linear)`, () => repo.list(q({ limit: PAGE, nameContains: '12345' }))],
    ].map(([label, run]) => ({ label: label as string, run: run as () => Promise<unknown>, samples: [] }));
    await measureAll(cases);

    const us = (label: string) => median(cases.find((c) => c.label.startsWith(label))!.samples);
    console.log(`  ${'query (median of interleaved runs)'.padEnd(50)} ${'time'.padStart(10)}`);
    for (const c of cases) console.log(`  ${c.label.padEnd(50)} ${fmt(median(c.samples)).padStart(10)}`);
    const ratio = (a: string, b: string) => `${(us(a) / us(b)).toFixed(0)}x`;
    console.log(
      `  ratio naive/counter: ALL ${ratio('naive COUNT(*) of live', 'counter total ALL')}, EXPIRED ${ratio('naive COUNT(*) where', 'counter total EXPIRED')},` +
        ` UNEXPIRED ${ratio('naive COUNT(*) where', 'counter total UNEXPIRED')} (against the naive expired count), countByValidity ${ratio('naive countByValidity', 'countByValidity(tenant)')};` +
        ` deep page walk/seek: asc ${ratio('deep asc, offset ' + deep + ': index walk', 'deep asc, offset ' + deep + ': block seek')}, desc ${ratio('deep desc, offset ' + deep + ': index walk', 'deep desc, offset ' + deep + ': block seek')}`,
    );

    if (!values['no-explain']) {
      const live = `from certificates where tenant_id = ${tenant} and deleted_at is null`;
      const cut = cutAt(AS_OF);
      await explain(
        db,
        dialect,
        'counter totals',
        `select (select live from certificate_counts where tenant_id = $1) as live, (select sum(n) from certificate_expiry_days where tenant_id = $1 and day < $2) as past, (select sum(n) from certificate_expiry_hours where tenant_id = $1 and hour >= $3 and hour < $4) as hours, (select count(*) from certificates where tenant_id = $1 and deleted_at is null and not_after >= $5 and not_after < $6) as part`,
        [tenant, cut.day, cut.hoursFrom, cut.hoursTo, cut.lo, cut.hi],
      );
      await explain(
        db,
        dialect,
        'page numbers after a block seek',
        `select certificate_no ${live} and certificate_no >= 4096 order by certificate_no limit ${PAGE} offset 1000`,
        [],
      );
      await explain(
        db,
        dialect,
        'page numbers, UNEXPIRED (walk)',
        `select certificate_no ${live} and +not_after >= ${AS_OF} order by certificate_no limit ${PAGE} offset ${halfUnexpired}`,
        [],
      );
      await explain(
        db,
        dialect,
        'page numbers, EXPIRED (range + sort)',
        `select certificate_no ${live} and not_after < ${AS_OF} order by +certificate_no limit ${PAGE} offset ${halfExpired}`,
        [],
      );
      await explain(db, dialect, 'nameContains count', `select count(*) ${live} and lower(name) like '%12345%'`, []);
      await explain(db, dialect, 'not yet valid', `select count(*) ${live} and not_before > ${AS_OF}`, []);
    }
  } finally {
    await db.destroy();
    if (values.keep) console.log(`  kept: ${where.databaseUrl ?? where.dataDir}`);
    else await where.cleanup();
  }
}

for (const store of STORES) await benchStore(store);
