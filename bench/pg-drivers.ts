/**
 * The PostgreSQL driver and the statements per request, side by side in one run: what a small
 * list request's reads cost the Node process and the PostgreSQL backends, per request.
 *
 *   node bench/pg-drivers.ts [--rows 100000] [--seconds 3] [--rounds 3] [--concurrency 32] [--pool 10]
 *
 * POSTGRES_JS=/path/to/node_modules/postgres/src/index.js loads postgres.js from elsewhere.
 *
 * A fresh database with a certificates-like table (`rows` live rows of one tenant, a partial
 * index as certificate_list's) and a credential. One "request" is what an NHN list request reads:
 * the credential by access key, then a page of 10 summaries by number with notAfter checked.
 * Modes, each with `concurrency` requests in flight over a pool of `pool` connections:
 * - `pg, 2 statements`: pg (what the store uses), named prepared statements as
 *   src/store/postgres-statements.ts sends them; the credential, then the page.
 * - `pg, 1 statement`: the same two reads in one statement (the credential's row left-joined to
 *   the page, lateral): what merging authentication into the request's read would save.
 * - `postgres.js, 2 statements` and `1 statement`: postgres.js (prepared statements by default,
 *   pipelining of the queries queued on a connection), the same statements.
 * - `postgres.js over PIPELINE_CONNECTIONS, 1 statement`: as the store's statement pipeline
 *   (src/store/postgres-pipeline.ts) runs it, on that many connections instead of `pool`.
 * Rounds alternate the modes, so whatever else the shared machine does hits them alike. CPU is
 * this process's (process.cpuUsage) and that of this run's own backends (found by
 * application_name in pg_stat_activity, read from /proc), per request.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { freshLocation } from './lib/seed.ts';
import { PIPELINE_CONNECTIONS } from '../src/store/postgres-pipeline.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '32' },
    pool: { type: 'string', default: '10' },
  },
});
const ROWS = Number(values.rows);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);
const POOL = Number(values.pool);

type PostgresJs = (url: string, options: Record<string, unknown>) => PostgresSql;
interface PostgresSql {
  unsafe(text: string, parameters: unknown[], options?: { prepare?: boolean }): Promise<unknown[]>;
  end(): Promise<void>;
}
const postgresJs = (
  (await import(process.env.POSTGRES_JS ?? 'postgres').catch(() => {
    throw new Error('postgres.js is not installed: run npm install (or set POSTGRES_JS)');
  })) as { default: PostgresJs }
).default;
const postgresJsVersion = await readFile(
  new URL('../package.json', import.meta.resolve(process.env.POSTGRES_JS ?? 'postgres')),
  'utf8',
).then((t) => (JSON.parse(t) as { version: string }).version);

const CREDENTIAL = 'select * from credentials where access_key = $1';
const PAGE_COLUMNS =
  'c.certificate_no, c.tenant_id, c.name, c.facts, c.not_before, c.not_after, c.created_at, c.updated_at';
const PAGE = `select ${PAGE_COLUMNS} from (select certificate_no from certificates where tenant_id = $1 and deleted_at is null and +not_after >= $2 order by certificate_no limit 10 offset 0) as page join certificates c on c.certificate_no = page.certificate_no order by page.certificate_no`;
const MERGED = `select k.id as credential_id, k.tenant_id as credential_tenant, k.secret, k.revoked_at, p.* from (${CREDENTIAL}) as k left join lateral (select ${PAGE_COLUMNS} from (select certificate_no from certificates where tenant_id = k.tenant_id and deleted_at is null and +not_after >= $2 order by certificate_no limit 10 offset 0) as page join certificates c on c.certificate_no = page.certificate_no) as p on true order by p.certificate_no`;

const where = await freshLocation('postgres');
const url = where.databaseUrl!;
const admin = new pg.Client({ connectionString: url });
await admin.connect();
try {
  await admin.query(`
    create table credentials (id bigint primary key, tenant_id bigint not null, access_key text unique not null, secret bytea not null, revoked_at bigint);
    insert into credentials values (1, 1, 'AK', decode(repeat('ab', 40), 'hex'), null);
    create table certificates (certificate_no bigint primary key, tenant_id bigint not null, name text not null, facts text not null,
      not_before bigint not null, not_after bigint not null, created_at bigint not null, updated_at bigint not null, deleted_at bigint);
    insert into certificates select n, 1, 'cert-' || n, repeat('{"subjectDn":"CN=host.example.com"}', 12),
      0, 1700000000000 + (n % 1000)::bigint * 86400000, n, n, case when n % 50 = 0 then n else null end
      from generate_series(1, ${ROWS}) as n;
    create index certificates_live_list on certificates (tenant_id, certificate_no, not_after) where deleted_at is null;`);
  await admin.query('vacuum analyze certificates');

  const asOf = 1700000000000 + 300 * 86400000;
  const pgPool = new pg.Pool({ connectionString: url, max: POOL, application_name: 'drv_pg' });
  const pgQuery = (name: string, text: string, params: unknown[]) =>
    pgPool.query({ name, text, values: params }).then((r) => r.rows);
  const js = postgresJs(url, { max: POOL, connection: { application_name: 'drv_js' }, onnotice: () => {} });
  const jsPipeline = postgresJs(url, {
    max: PIPELINE_CONNECTIONS,
    connection: { application_name: 'drv_js_pipeline' },
    onnotice: () => {},
  });

  const modes: Array<{ label: string; app: string; request: () => Promise<number> }> = [
    {
      label: 'pg, 2 statements',
      app: 'drv_pg',
      request: async () => {
        const [k] = (await pgQuery('c', CREDENTIAL, ['AK'])) as Array<{ tenant_id: string }>;
        return (await pgQuery('p', PAGE, [k!.tenant_id, asOf])).length;
      },
    },
    {
      label: 'pg, 1 statement',
      app: 'drv_pg',
      request: async () => (await pgQuery('m', MERGED, ['AK', asOf])).length,
    },
    {
      label: `postgres.js ${postgresJsVersion}, 2 statements`,
      app: 'drv_js',
      request: async () => {
        const [k] = (await js.unsafe(CREDENTIAL, ['AK'], { prepare: true })) as Array<{ tenant_id: string }>;
        return (await js.unsafe(PAGE, [k!.tenant_id, asOf], { prepare: true })).length;
      },
    },
    {
      label: `postgres.js ${postgresJsVersion}, 1 statement`,
      app: 'drv_js',
      request: async () => (await js.unsafe(MERGED, ['AK', asOf], { prepare: true })).length,
    },
    {
      label: `postgres.js over ${PIPELINE_CONNECTIONS}, 1 statement`,
      app: 'drv_js_pipeline',
      request: async () => (await jsPipeline.unsafe(MERGED, ['AK', asOf], { prepare: true })).length,
    },
  ];

  const backendCpu = async (app: string): Promise<number> => {
    const { rows } = await admin.query<{ pid: number }>(
      'select pid from pg_stat_activity where application_name = $1',
      [app],
    );
    let total = 0;
    for (const { pid } of rows) {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
      if (!stat) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) / 100;
    }
    return total;
  };

  const run = async (mode: (typeof modes)[number], seconds: number) => {
    let done = 0;
    const until = performance.now() + seconds * 1000;
    const cpu0 = process.cpuUsage();
    const be0 = await backendCpu(mode.app);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < until) {
          if ((await mode.request()) !== 10) throw new Error(`${mode.label}: page not of 10`);
          done++;
        }
      }),
    );
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const be = (await backendCpu(mode.app)) - be0;
    return { done, elapsed, clientUs: (cpu.user + cpu.system) / done, backendUs: (be * 1e6) / done };
  };

  for (const mode of modes) await run(mode, 1); // warm: connections open, statements prepared
  const totals = new Map<string, { done: number; elapsed: number; client: number; backend: number }>();
  for (let r = 0; r < ROUNDS; r++)
    for (const mode of modes) {
      const x = await run(mode, SECONDS);
      const t = totals.get(mode.label) ?? { done: 0, elapsed: 0, client: 0, backend: 0 };
      t.done += x.done;
      t.elapsed += x.elapsed;
      t.client += x.clientUs * x.done;
      t.backend += x.backendUs * x.done;
      totals.set(mode.label, t);
      console.log(
        `round ${r + 1} ${mode.label.padEnd(32)} ${(x.done / x.elapsed).toFixed(0).padStart(6)} req/s  client ${x.clientUs.toFixed(0).padStart(5)} µs/req  PostgreSQL ${x.backendUs.toFixed(0).padStart(5)} µs/req`,
      );
    }
  console.log(
    `\n${ROWS.toLocaleString('en-US')} rows, ${CONCURRENCY} requests in flight, pool ${POOL}, ${ROUNDS} × ${SECONDS} s each`,
  );
  console.log('| mode | req/s | Node CPU µs/request | PostgreSQL CPU µs/request |\n|---|---:|---:|---:|');
  for (const [label, t] of totals)
    console.log(
      `| ${label} | ${(t.done / t.elapsed).toFixed(0)} | ${(t.client / t.done).toFixed(0)} | ${(t.backend / t.done).toFixed(0)} |`,
    );
  await pgPool.end();
  await js.end();
  await jsPipeline.end();
} finally {
  await admin.end();
  await where.cleanup();
}
