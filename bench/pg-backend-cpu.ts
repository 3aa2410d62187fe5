/**
 * CPU per request of certkeeper on PostgreSQL, counted apart from the rest of the machine: the
 * server process and its own backends (the pids `pg_stat_activity` shows for the database),
 * where bench/run.ts sums every `postgres` process, other sessions' included.
 *
 *   node bench/pg-backend-cpu.ts --url postgres://…/kept_db [--tree DIR] [--only edge-list,…] [--requests 1500]
 *
 * `--only ncp-import` measures the NCP v2 import too (not in the default list: each request adds
 * a certificate, from bench/lib/pools.ts's cached RSA-2048 pool; a later run removes them).
 *
 * Runs on a store kept by `bench/run.ts --keep` or `--seed-only` (its manifest gives the seeded
 * tenant; the rows of earlier runs are removed and the counters rebuilt, as `--reuse-postgres`
 * does). `--tree` runs the server and the cases of another checkout (e.g. a worktree of main),
 * so two versions can be measured back to back on one store. Per case: 300 requests of warm-up
 * (statements prepared and past PostgreSQL's first five custom plans), then `--requests`, 8 in
 * flight. CPU times are clock ticks (10 ms): keep `--requests` × µs/request well above that.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { importPool } from './lib/pools.ts';
import type * as cases_ from './lib/cases.ts';
import type * as processes_ from './lib/processes.ts';
import type * as seed_ from './lib/seed.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    tree: { type: 'string', default: resolve(import.meta.dirname, '..') },
    only: { type: 'string', default: 'ncp-v1-name,ncp-v2-page1,nhn-list,nhn-download,edge-list,acm-list' },
    requests: { type: 'string', default: '1500' },
  },
});
if (!values.url) throw new Error('--url postgres://… (a store kept by bench/run.ts) is required');
const url = values.url;
const tree = resolve(values.tree);
const REQUESTS = Number(values.requests);
const IN_FLIGHT = 8;

// The tree's own bench modules (its cases and its server start), typed as this tree's.
type CasesModule = typeof cases_;
type ProcessesModule = typeof processes_;
type SeedModule = typeof seed_;
const { cases, nhnToken, send } = (await import(`${tree}/bench/lib/cases.ts`)) as CasesModule;
const { startCertkeeper, cpuSeconds } = (await import(`${tree}/bench/lib/processes.ts`)) as ProcessesModule;
const { reuseStore } = (await import(`${tree}/bench/lib/seed.ts`)) as SeedModule;

const { where, seeded } = await reuseStore('postgres', url, () => {});
const server = await startCertkeeper({
  dataDir: where.dataDir,
  masterKey: where.masterKey,
  logLevel: 'warn',
  databaseUrl: url,
});
const admin = new pg.Client({ connectionString: url });
await admin.connect();
const database = new URL(url).pathname.slice(1);

/** CPU seconds so far of every backend connected to the database (this admin connection excepted). */
async function backendsCpu(): Promise<number> {
  const { rows } = await admin.query<{ pid: number }>(
    'select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
    [database],
  );
  let total = 0;
  for (const { pid } of rows) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // ended meanwhile
    }
  }
  return total;
}

try {
  const ctx = {
    url: server.url,
    seeded,
    token: await nhnToken(server.url, seeded),
    // The import case (`--only ncp-import`) sends each leaf once: warm-up and measured requests.
    importPool: values.only.split(',').includes('ncp-import')
      ? await importPool(300 + REQUESTS, () => {})
      : { chainPem: '', leaves: [] },
    importNext: { i: 0 },
  };
  console.log(`${tree}: ${REQUESTS} requests per case, ${IN_FLIGHT} in flight`);
  for (const c of cases(ctx, 100, new Set(values.only.split(',')))) {
    const run = async (count: number): Promise<void> => {
      let next = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next++ < count) {
            const r = await send(ctx.url, c.method, c.next());
            if (r.status !== 200) throw new Error(`${c.id}: HTTP ${r.status}`);
          }
        }),
      );
    };
    await run(300);
    const [s0, b0, t0] = [await cpuSeconds(server.pid), await backendsCpu(), performance.now()];
    await run(REQUESTS);
    const [s1, b1, t1] = [await cpuSeconds(server.pid), await backendsCpu(), performance.now()];
    const perRequest = (seconds: number): number => Math.round((seconds * 1e6) / REQUESTS);
    console.log(
      `${c.id}\tserver ${perRequest(s1! - s0!)} µs/req\tbackends ${perRequest(b1 - b0)} µs/req\t${Math.round(REQUESTS / ((t1 - t0) / 1000))} req/s`,
    );
  }
} finally {
  await admin.end();
  await server.stop();
  await where.cleanup();
}
