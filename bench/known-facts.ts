/**
 * What a list page read costs through the store with and without its `facts` column
 * (store/known-facts.ts), in one process, on a store kept by `bench/run.ts --seed-only`:
 *
 *   node bench/known-facts.ts --store sqlite --at /path/to/kept/dir [--reads 1000] [--rounds 3]
 *   node bench/known-facts.ts --store postgres --at postgres://…/kept_db …
 *
 * Pages of the seeded tenant, 100 rows: the counted list's first page and a deep one (offset
 * half the live rows: NCP v2 getCertificates), and ACM's first page (ListCertificates, all
 * states). Each read either way, alternated within each round:
 * - `cold`: the held facts forgotten before each read, so it takes the column: a page's first
 *   read, and every read before known-facts.ts;
 * - `hot`: the same page read again, without the column.
 * A read that misses (a row changed since the page's last read) costs one of each.
 * Per read: the CPU of this process (process.cpuUsage, every thread) and, on PostgreSQL, of the
 * database's backends (their /proc ticks: 10 ms, so keep reads × µs well above that).
 */
import { parseArgs } from 'node:util';
import type { AcmListQuery, CertificateQuery } from '../src/core/ports.ts';
import { forgetKnownFacts } from '../src/store/known-facts.ts';
import { openStore } from '../src/store/open.ts';
import { postgresCpuByPid, postgresCpuSince } from './lib/processes.ts';
import { reuseStore } from './lib/seed.ts';

const { values } = parseArgs({
  options: {
    store: { type: 'string' },
    at: { type: 'string' },
    reads: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
  },
});
if ((values.store !== 'sqlite' && values.store !== 'postgres') || !values.at)
  throw new Error('--store sqlite|postgres and --at DIR|URL (a store kept by bench/run.ts) are required');
const READS = Number(values.reads);
const ROUNDS = Number(values.rounds);

const { where, seeded } = await reuseStore(values.store, values.at, (line) => console.log(line));
const store = await openStore({
  dataDir: where.dataDir,
  ...(where.databaseUrl ? { databaseUrl: where.databaseUrl } : {}),
  masterKey: where.masterKey,
});
const database = where.databaseUrl ? new URL(where.databaseUrl).pathname.slice(1) : null;
const tenantId = (await store.tenants.getByAppKey(seeded.appKey))!.id;
const asOf = () => new Date();
const counted = (offset: number) => () =>
  store.certificates.list({ tenantId, asOf: asOf(), offset, limit: 100 } satisfies CertificateQuery);
const acm = () =>
  store.acm.list({
    tenantId,
    asOf: asOf(),
    certificates: ['issued', 'expired', 'revoked'],
    keyTypes: null,
    requests: null,
    order: 'asc',
    after: null,
    limit: 100,
  } satisfies AcmListQuery);
const pages: Array<[string, () => Promise<unknown>]> = [
  ['counted list, page 1 (100)', counted(0)],
  [`counted list, offset ${Math.floor(seeded.live / 2)} (100)`, counted(Math.floor(seeded.live / 2))],
  ['ACM ListCertificates (100)', acm],
];

/** CPU µs per read of `reads` reads, this process's and its backends'. */
async function measure(read: () => Promise<unknown>, cold: boolean): Promise<{ node: number; backend: number | null }> {
  // Warm: the statement prepared (and past PostgreSQL's custom plans), the page's facts held.
  for (let i = 0; i < 20; i++) await read();
  const pg0 = database ? await postgresCpuByPid(database) : null;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < READS; i++) {
    if (cold) forgetKnownFacts();
    await read();
  }
  const cpu = process.cpuUsage(cpu0);
  const pg1 = database ? await postgresCpuByPid(database) : null;
  return {
    node: (cpu.user + cpu.system) / READS,
    backend: pg0 && pg1 ? (postgresCpuSince(pg0, pg1) * 1e6) / READS : null,
  };
}

console.log(
  `${values.store}, ${seeded.live} live certificates of the seeded tenant; ${READS} reads a form, ${ROUNDS} rounds`,
);
try {
  for (const [label, read] of pages) {
    const figures: Record<'cold' | 'hot', string[]> = { cold: [], hot: [] };
    for (let round = 0; round < ROUNDS; round++)
      for (const form of round % 2 === 0 ? (['cold', 'hot'] as const) : (['hot', 'cold'] as const)) {
        const { node, backend } = await measure(read, form === 'cold');
        figures[form].push(`${node.toFixed(0)}${backend === null ? '' : ` + ${backend.toFixed(0)}`}`);
      }
    console.log(`  ${label}: µs a read (this process${database ? ' + its backends' : ''}), by round`);
    console.log(`    with facts (cold):    ${figures.cold.join(', ')}`);
    console.log(`    without facts (hot):  ${figures.hot.join(', ')}`);
  }
} finally {
  await store.close();
  await where.cleanup();
}
