/**
 * GET /metrics at scale: the scrape with the days-to-expiry histogram read from the expiry-day
 * counters (repositories/expiry-histogram.ts) against the same scrape with the histogram computed
 * by the pass over every live certificate it replaced (the baseline, kept here as it was), both
 * measured in the same run on the same seeded store, interleaved.
 *
 *   npm run bench:metrics -- [--scale 1000000] [--stores sqlite,postgres] [--rounds 5] [--per-round 5] [--pool 100]
 *
 * Seeding is the HTTP suite's (bench/lib/seed.ts): `--scale` certificates in one tenant plus 10%
 * in a second, notAfter spread over [now − 200 days, now + 400 days), every 50th copy deleted,
 * counters rebuilt by the migrations' own backfills; PostgreSQL gets a VACUUM ANALYZE. Then, in
 * this process, two real servers (server/build.ts, no faces) on one store opened as `serve` opens
 * it, differing only in the histogram source; each scrape is `GET /metrics` through Fastify's
 * inject (no socket), so a figure is the whole scrape: HTTP and process metrics, the
 * certificates gauge (countByValidity over every tenant) and the histogram; a third server
 * without the histogram gives the floor of a scrape, and the two histogram sources are also
 * timed alone (the repository call, what the histogram adds). `--rounds` rounds each run every
 * case `--per-round` times in turn; the figure is the median (and the slowest) of all. Before timing, the two histograms must agree at the same instant (buckets
 * and count exactly, the sum to 1e-6 days), so the figure is of a correct answer.
 *
 * PostgreSQL: `CERTKEEPER_BENCH_PG_URL` (default: CERTKEEPER_TEST_PG_URL, else
 * postgres://postgres@127.0.0.1:5432/postgres) is an admin connection; the run creates a
 * database and drops it at the end. SQLite: a temp directory, removed.
 */
import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { openApp } from '../src/app/app.ts';
import { loadConfig } from '../src/config/config.ts';
import { buildServer, EXPIRY_BUCKETS_DAYS, type ExpiryHistogram } from '../src/server/index.ts';
import { connect } from '../src/store/connect.ts';
import { seedPool } from './lib/pools.ts';
import { freshLocation, seedStore, type Location } from './lib/seed.ts';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1000000' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    rounds: { type: 'string', default: '5' },
    'per-round': { type: 'string', default: '5' },
    pool: { type: 'string', default: '100' },
  },
});
const SCALE = Number(values.scale);
const ROUNDS = Number(values.rounds);
const PER_ROUND = Number(values['per-round']);
const STORES = values.stores.split(',').map((s) => s.trim()) as Array<'sqlite' | 'postgres'>;
const DAY = 86_400_000;

const log = (line: string): void => console.log(line);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number): string => (ms >= 10 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`);

/**
 * The baseline: the histogram as computed before migration 0007, one pass over every live row
 * with one filtered count per bucket (a bound becomes a not_after cut-off), on its own
 * connection to the same database.
 */
async function fullScanHistogram(where: Location): Promise<{
  source: (asOf: Date, bounds: readonly number[]) => Promise<ExpiryHistogram>;
  /** Rows of certificate_expiry_days (every tenant): what the counters' pass reads. */
  dayRows(): Promise<number>;
  close(): Promise<void>;
}> {
  const { db } = await connect(
    where.databaseUrl ? { dataDir: where.dataDir, databaseUrl: where.databaseUrl } : { dataDir: where.dataDir },
  );
  return {
    async source(asOf, bounds) {
      const at = asOf.getTime();
      const row = (await db
        .selectFrom('certificates')
        .where('deleted_at', 'is', null)
        .select((eb) => [
          eb.fn.countAll<number>().as('count'),
          eb.fn.coalesce(eb.fn.sum<number>(eb('not_after', '-', at)), eb.lit(0)).as('sum_ms'),
          ...bounds.map((bound, i) =>
            eb.fn
              .countAll<number>()
              .filterWhere('not_after', '<=', at + bound * DAY)
              .as(`b${i}`),
          ),
        ])
        .executeTakeFirstOrThrow()) as Record<string, unknown>;
      return {
        cumulativeCounts: bounds.map((_, i) => Number(row[`b${i}`])),
        count: Number(row.count),
        sumDays: Number(row.sum_ms) / DAY,
      };
    },
    async dayRows() {
      const { rows } = await sql<{ n: unknown }>`select count(*) as n from certificate_expiry_days`.execute(db);
      return Number(rows[0]!.n);
    },
    close: () => db.destroy(),
  };
}

async function scrapeMs(server: FastifyInstance, histogram = true): Promise<number> {
  const t = performance.now();
  const res = await server.inject({ method: 'GET', url: '/metrics' });
  const ms = performance.now() - t;
  if (res.statusCode !== 200 || res.body.includes('certkeeper_certificate_days_to_expiry_count ') !== histogram)
    throw new Error(`GET /metrics: ${res.statusCode}, histogram ${!histogram ? 'present' : 'missing'}`);
  return ms;
}

async function benchStore(store: 'sqlite' | 'postgres', pool: Awaited<ReturnType<typeof seedPool>>): Promise<void> {
  const where = await freshLocation(store);
  try {
    log(`\n${store}: seeding ${SCALE.toLocaleString('en-US')} certificates (+10% in a second tenant)`);
    const seeded = await seedStore(where, pool, SCALE, log);
    log(`  seeded in ${seeded.timings.totalS.toFixed(0)} s, ${(seeded.dbBytes / 1e6).toFixed(0)} MB`);

    const config = loadConfig({
      CERTKEEPER_DATA_DIR: where.dataDir,
      CERTKEEPER_MASTER_KEY: where.masterKey,
      CERTKEEPER_LOG_LEVEL: 'silent',
      ...(where.databaseUrl ? { DATABASE_URL: where.databaseUrl } : {}),
    });
    const app = await openApp(config);
    const baseline = await fullScanHistogram(where);
    const servers: FastifyInstance[] = [];
    try {
      const counters = (asOf: Date, bounds: readonly number[]) =>
        app.store.certificates.expiryHistogram(null, asOf, bounds);
      const asOf = app.core.clock.now();
      const [mine, theirs] = [
        await counters(asOf, EXPIRY_BUCKETS_DAYS),
        await baseline.source(asOf, EXPIRY_BUCKETS_DAYS),
      ];
      if (
        JSON.stringify(mine.cumulativeCounts) !== JSON.stringify(theirs.cumulativeCounts) ||
        mine.count !== theirs.count ||
        Math.abs(mine.sumDays - theirs.sumDays) > 1e-6
      )
        throw new Error(`the histograms disagree: ${JSON.stringify({ counters: mine, fullScan: theirs })}`);
      log(
        `  histograms agree at ${asOf.toISOString()}: count ${mine.count}, buckets ${mine.cumulativeCounts.join(' ')}, sum ${mine.sumDays.toFixed(3)} days; ${await baseline.dayRows()} day rows`,
      );

      const [withCounters, withFullScan, without] = await Promise.all(
        [counters, baseline.source, undefined].map((expiryHistogram) =>
          buildServer({ config, store: app.store, clock: app.core.clock, faces: [], expiryHistogram }),
        ),
      );
      servers.push(withCounters!, withFullScan!, without!);
      const timed = (run: () => Promise<unknown>) => async (): Promise<number> => {
        const t = performance.now();
        await run();
        return performance.now() - t;
      };
      const cases = [
        ['histogram alone, from the day counters', timed(() => counters(app.core.clock.now(), EXPIRY_BUCKETS_DAYS))],
        [
          'histogram alone, by full scan (baseline)',
          timed(() => baseline.source(app.core.clock.now(), EXPIRY_BUCKETS_DAYS)),
        ],
        ['GET /metrics, histogram from the day counters', () => scrapeMs(withCounters!)],
        ['GET /metrics, histogram by full scan (baseline)', () => scrapeMs(withFullScan!)],
        ['GET /metrics without the histogram (the floor)', () => scrapeMs(without!, false)],
      ].map(([label, run]) => ({ label: label as string, run: run as () => Promise<number>, samples: [] as number[] }));
      for (const c of cases) await c.run(); // warm-up
      for (let round = 0; round < ROUNDS; round++)
        for (const c of cases) for (let k = 0; k < PER_ROUND; k++) c.samples.push(await c.run());
      for (const c of cases)
        log(
          `  ${c.label.padEnd(50)} median ${fmt(median(c.samples)).padStart(9)}, slowest ${fmt(Math.max(...c.samples)).padStart(9)} (${c.samples.length} runs)`,
        );
      const ratio = (a: number, b: number) => (median(cases[a]!.samples) / median(cases[b]!.samples)).toFixed(0);
      log(
        `  full scan / counters at ${SCALE.toLocaleString('en-US')} certificates: histogram ${ratio(1, 0)}x, GET /metrics ${ratio(3, 2)}x`,
      );
    } finally {
      for (const server of servers) await server.close();
      await baseline.close();
      await app.close();
    }
  } finally {
    await where.cleanup();
  }
}

const pool = await seedPool(Number(values.pool));
for (const store of STORES) await benchStore(store, pool);
