/**
 * The certificate search (issue 20) at scale: first-page server time of every search query,
 * on SQLite and PostgreSQL in the same run, and its ratio to a baseline measured in the same run
 * (the unfiltered first page of the default list: what a page costs without a search).
 *
 *   node bench/search.ts [--rows 1000000] [--stores sqlite,postgres] [--runs 40] [--keep]
 *     [--reuse-sqlite DIR] [--reuse-postgres URL] [--explain] [--time-backfill]
 *     [--load SECONDS [--connections 32] [--rounds 3] [--no-write]]
 *   npm run bench:search -- --rows 200000
 *
 * `--keep` leaves the seeded stores behind (their data directory and database URL are printed);
 * `--reuse-sqlite` / `--reuse-postgres` measure such a store again without seeding (the rows count
 * is read from it, `--rows` ignored); a reused store is never dropped. `--explain` prints each
 * case's plan choice (repositories/certificate-search.ts `searchTrace`).
 *
 * Seeds `--rows` certificates in one tenant (plus 10% in a second) through bench/lib/bulk-load.ts
 * (rows, their domain rows and migration 0013's search rows written with the secondary indexes
 * dropped, the indexes built again after, the schema checked against the migrated one): names
 * `<word>-<i>` (8 words), two DNS names each (`host-<i>.z<k>.example.com` and, for every 5th,
 * `*.z<k>.example.<tld>`; 2,000 zones), an IPv4 SAN on every 10th, an IPv6 SAN on every 20th,
 * notAfter over [asOf - 200 d, asOf + 400 d), 1 in 8 RSA keys, 3% deleted; then the counters
 * (the migrations' backfills, checked against COUNT(*)). `--time-backfill` then builds the search
 * indexes again with migration 0013's own backfill and times it (what the migration costs an
 * existing install). PostgreSQL gets VACUUM ANALYZE.
 * This data shape is search.ts's own (zones, IP SANs, RSA keys for the filters): a store seeded
 * by bench/run.ts (`--reuse-*` of run.ts) has other names and would answer other totals.
 * Each figure is the median of `--runs` calls of the repository's `list` (Kysely, driver and row
 * decoding included, as a request), 25 a page, the cases interleaved so machine noise hits all.
 *
 * `--load SECONDS` (off by default) then runs every case through HTTP under load, as bench/run.ts
 * runs the API lists: the real server (`npm start`'s command) on the same store, a console session
 * of a VIEWER credential made for the run (master key LOAD_MASTER_KEY below), autocannon with
 * `--connections` on `GET /console/api/certificates?<the case's query string>` (docs/search.md),
 * then on the ceiling (bench/lib/ceiling-server.ts) answering the same body to the same headers:
 * 1 s warm-up each, `--rounds` alternating slices of SECONDS / rounds each side. Per case: req/s,
 * p99, the server's CPU µs per request (and PostgreSQL's), the ceiling's, and endpoint req/s over
 * the ceiling's; written to bench/results/<date>-search-load.json unless `--no-write`. The console
 * reads validity and dates at the server's clock, not AS_OF: a total that differs is printed.
 * It fills in the facts the console presents on stores seeded before the seed wrote them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql, type Kysely } from 'kysely';
import { openApp } from '../src/app/app.ts';
import { loadConfig } from '../src/config/config.ts';
import { normaliseSearchQuery } from '../src/core/certificate-search.ts';
import type { CertificateListQuery } from '../src/core/certificates.ts';
import type { CertificateQuery } from '../src/core/ports.ts';
import { connect } from '../src/store/connect.ts';
import { backfillSearchIndexes } from '../src/store/migrations/0013-certificate-search.ts';
import { backfillNameGrams } from '../src/store/migrations/0023-certificate-search-walks.ts';
import { applyMigrations } from '../src/store/migrations/index.ts';
import { searchObserver, type SearchPlanTrace } from '../src/store/repositories/certificate-search.ts';
import { certificateRepository } from '../src/store/repositories/certificates.ts';
import type { Database } from '../src/store/schema.ts';
import { inTransaction } from '../src/store/transaction.ts';
import type { StoreVault } from '../src/store/vault.ts';
import { AS_OF, benchLocation, benchRow, DAY, prng, type BenchRow } from './lib/bench-rows.ts';
import { bulkLoad, rebuildCounters, settle, type BulkRow } from './lib/bulk-load.ts';
import { combine, machineBusy, perRequestUs, runLoad, summary, type LoadResult } from './lib/load.ts';
import { startCeiling, startCertkeeper, type Child } from './lib/processes.ts';
import { RESULTS_DIR, type LoadSummary } from './lib/results.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    runs: { type: 'string', default: '40' },
    keep: { type: 'boolean', default: false },
    'reuse-sqlite': { type: 'string' },
    'reuse-postgres': { type: 'string' },
    explain: { type: 'boolean', default: false },
    'time-backfill': { type: 'boolean', default: false },
    load: { type: 'string', default: '0' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    'no-write': { type: 'boolean', default: false },
  },
});
let ROWS = Number(values.rows);
const RUNS = Number(values.runs);
const STORES = values.stores.split(',').map((s) => s.trim());
const ZONES = 2000;
const WORDS = ['pay', 'shop', 'api', 'mail', 'auth', 'cdn', 'blog', 'admin'];
const PAGE = 25;
const TARGET_MS = 20;
const LOAD_S = Number(values.load);
const CONNECTIONS = Number(values.connections);
const ROUNDS = Number(values.rounds);
/**
 * `--load`'s master key. A store seeded here holds no secret until `--load` makes its console
 * credential, sealed under this key; a fixed key lets a kept store be loaded again in another run.
 * Bench stores only.
 */
const LOAD_MASTER_KEY = Buffer.alloc(32, 'search-bench').toString('base64');

interface SearchCase {
  label: string;
  query: CertificateQuery;
  /** The console JSON API's query string for the same search (pageSize added). */
  http: Record<string, string>;
  samples: number[];
  total?: string;
}

interface Measured {
  store: string;
  label: string;
  rows: number;
  tenant: number;
  cases: SearchCase[];
}

interface LoadCase {
  label: string;
  request: string;
  responseBytes: number;
  ceilingResponseBytes: number;
  /** The in-process total, and the console's (which may differ where the server's clock matters). */
  total: string;
  httpTotal: string;
  inProcessMedianMs: number;
  endpoint: LoadSummary;
  ceiling: LoadSummary;
  ratio: number;
  /** Share of the CPUs other processes used just before the case. */
  otherLoad: number;
}
const loadResults: Array<{ store: string; rows: number; cases: LoadCase[] }> = [];

interface Seeded {
  row: BenchRow;
  domains: string[];
}

function certificate(tenantId: number, i: number, random: () => number): Seeded {
  const zone = `z${i % ZONES}.example.com`;
  const domains = [`host-${i}.${zone}`, ...(i % 5 === 0 ? [`*.z${i % ZONES}.example.${i % 2 ? 'org' : 'net'}`] : [])];
  const ip = [
    ...(i % 10 === 0 ? [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`] : []),
    ...(i % 20 === 0 ? [`2001:db8::${(i & 0xffff).toString(16)}`] : []),
  ];
  const rsa = i % 8 === 3;
  const row = benchRow(tenantId, i, random, {
    name: `${WORDS[i % WORDS.length]}-${i}`,
    common_name: domains[0]!,
    facts: '',
    ca_name: i % 3 === 0 ? "Let's Encrypt" : 'DigiCert Inc',
    key_algorithm: rsa ? 'RSA' : 'EC',
    key_bits: rsa ? 2048 : 256,
  });
  // What the console's summary presents (`--load` serves these rows), from the row's own columns.
  row.facts = JSON.stringify({
    subjectDn: `CN=${domains[0]}`,
    commonName: domains[0],
    sans: { dns: domains, ip, email: [], uri: [] },
    domains,
    issuerDn: 'CN=Bench CA, O=certkeeper',
    caName: row.ca_name,
    notBefore: new Date(row.not_before).toISOString(),
    notAfter: new Date(row.not_after).toISOString(),
    key: { algorithm: row.key_algorithm, bits: row.key_bits, curve: rsa ? null : 'P-256' },
    pad: 'x'.repeat(300),
  });
  return { domains, row };
}

/**
 * Stores seeded before the facts above carried dates, key and CA name (the s10-search stores)
 * cannot be presented by the console: `--load` completes their facts once, from the same columns.
 */
async function completeFacts(db: Kysely<Database>, dialect: Parameters<typeof inTransaction>[1]): Promise<number> {
  const t = performance.now();
  const { numAffectedRows } =
    dialect.label === 'SQLite'
      ? await sql`update certificates set facts = json_set(facts,
          '$.caName', ca_name,
          '$.notBefore', strftime('%Y-%m-%dT%H:%M:%fZ', not_before / 1000.0, 'unixepoch'),
          '$.notAfter', strftime('%Y-%m-%dT%H:%M:%fZ', not_after / 1000.0, 'unixepoch'),
          '$.key', json_object('algorithm', key_algorithm, 'bits', key_bits,
            'curve', case when key_algorithm = 'EC' then 'P-256' end))
        where json_extract(facts, '$.notAfter') is null`.execute(db)
      : await sql`update certificates set facts = (facts::jsonb || jsonb_build_object(
          'caName', ca_name,
          'notBefore', to_char(to_timestamp(not_before / 1000.0) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'notAfter', to_char(to_timestamp(not_after / 1000.0) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'key', jsonb_build_object('algorithm', key_algorithm, 'bits', key_bits,
            'curve', case when key_algorithm = 'EC' then 'P-256' end)))::text
        where (facts::jsonb ->> 'notAfter') is null`.execute(db);
  const n = Number(numAffectedRows ?? 0);
  if (n > 0)
    console.log(
      `  facts completed for the console on ${n} rows in ${((performance.now() - t) / 1000).toFixed(1)} s (seeded before they carried dates and key)`,
    );
  return n;
}

/** The k-th row of a tenant's `rows` (bulk-load.ts calls it in order, so `random` runs as before). */
function rowsOf(tenantId: number): (k: number) => BulkRow {
  const random = prng(tenantId * 7919);
  return (k) => {
    const { row, domains } = certificate(tenantId, k, random);
    return { row, domains, ips: (JSON.parse(row.facts) as { sans: { ip: string[] } }).sans.ip };
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function reused(store: string) {
  const given = store === 'sqlite' ? values['reuse-sqlite'] : values['reuse-postgres'];
  if (given === undefined) return null;
  const kept = async () => undefined;
  return store === 'sqlite'
    ? { dataDir: given, cleanup: kept }
    : { dataDir: tmpdir(), databaseUrl: given, cleanup: kept };
}

async function benchStore(store: string): Promise<void> {
  const reuse = await reused(store);
  const where = reuse ?? (await benchLocation(store));
  let { db, dialect } = await connect(where);
  let closed = false;
  // The server of `--load` opens the store itself: this process's connection is closed first.
  const thenLoad = async (measured: Measured): Promise<void> => {
    if (LOAD_S > 0) await completeFacts(db, dialect);
    await db.destroy();
    closed = true;
    if (LOAD_S > 0) loadResults.push({ store, rows: ROWS, cases: await loadStore(where, measured) });
  };
  try {
    if (reuse) {
      await inTransaction(db, dialect, (trx) => applyMigrations(trx, dialect), { exclusive: true });
      await thenLoad(await measure(db, dialect, store, await tenantIds(db)));
      return;
    }
    console.log(`\n${dialect.label}: ${ROWS} certificates in one tenant (+${ROWS / 10} in another)`);
    await inTransaction(db, dialect, (trx) => applyMigrations(trx, dialect), { exclusive: true });
    const ids: number[] = [];
    for (const name of ['bench', 'other']) {
      const t = await db
        .insertInto('tenants')
        .values({ name, member_no: name, app_key: name, app_key_auth_enabled: 0, created_at: AS_OF })
        .returning('id')
        .executeTakeFirstOrThrow();
      ids.push(Number(t.id));
    }
    const [tenant, other] = ids as [number, number];
    // The bulk load needs the store to itself (one SQLite connection a process).
    await db.destroy();
    let t = performance.now();
    const benchRows = rowsOf(tenant);
    const otherRows = rowsOf(other);
    const bulk = await bulkLoad(
      where,
      ROWS + ROWS / 10,
      (k) => (k < ROWS ? benchRows(k) : otherRows(k - ROWS)),
      console.log,
    );
    console.log(
      `  ${bulk.inserted} rows written in ${bulk.loadS.toFixed(1)} s, indexes built again in ${bulk.indexS.toFixed(1)} s (CPU: ${bulk.cpu})`,
    );
    console.log(
      `  seeded in ${((performance.now() - t) / 1000).toFixed(1)} s (certificates, domain rows, search indexes; schema as migrated)`,
    );
    ({ db, dialect } = await connect(where));
    t = performance.now();
    await rebuildCounters(db, dialect);
    console.log(`  counters rebuilt and checked in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    if (values['time-backfill']) {
      t = performance.now();
      await inTransaction(db, dialect, async (trx) => {
        await trx.deleteFrom('certificate_names').execute();
        await trx.deleteFrom('certificate_name_grams').execute();
        if (dialect.substringIndex === 'fts5') await sql`delete from certificate_search`.execute(trx);
        await backfillSearchIndexes(trx as unknown as Kysely<unknown>, dialect);
        await backfillNameGrams(trx as unknown as Kysely<unknown>);
      });
      console.log(
        `  search indexes built again by migrations 0013's and 0023's backfills (what the migration costs an existing install) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
      );
    }
    await settle(db, dialect);
    await thenLoad(await measure(db, dialect, store, { tenant, other }));
  } finally {
    if (!closed) await db.destroy();
    if (values.keep || reuse) console.log(`  kept: ${where.databaseUrl ?? where.dataDir}`);
    else await where.cleanup();
  }
}

/** The tenants of a kept store, and its rows count (the bench tenant's rows, deleted ones included). */
async function tenantIds(db: Kysely<Database>): Promise<{ tenant: number; other: number }> {
  const rows = await db.selectFrom('tenants').select(['id', 'name']).execute();
  const id = (name: string) => Number(rows.find((r) => r.name === name)?.id ?? Number.NaN);
  const { rows: counted } = await sql<{ n: unknown }>`select count(*) as n from certificates where tenant_id = ${id(
    'bench',
  )}`.execute(db);
  ROWS = Number(counted[0]?.n);
  return { tenant: id('bench'), other: id('other') };
}

async function measure(
  db: Kysely<Database>,
  dialect: Parameters<typeof inTransaction>[1],
  store: string,
  { tenant }: { tenant: number; other: number },
): Promise<Measured> {
  {
    console.log(`\n${dialect.label}: ${ROWS} certificates in the bench tenant`);
    const repo = certificateRepository(db, dialect, {} as StoreVault);
    const asOf = new Date(AS_OF);
    const q = (extra: Partial<CertificateListQuery>): CertificateQuery => ({
      ...normaliseSearchQuery({ offset: 0, limit: PAGE, ...extra }),
      tenantId: tenant,
      asOf,
    });
    const mid = Math.floor(ROWS / 2);
    // A certificate with a wildcard name (every 5th): its zone and top-level domain.
    const wild = mid - (mid % 10);
    const wildHost = `www.z${wild % ZONES}.example.${wild % 2 ? 'org' : 'net'}`;
    const within14 = { from: asOf, to: new Date(AS_OF + 14 * DAY) };
    // `http`: the same search as the console JSON API's query string (docs/search.md), for `--load`.
    const ipv6 = `2001:0db8:0:0:0:0:0:${((mid - (mid % 20)) & 0xffff).toString(16).padStart(4, '0')}`;
    const host = `host-${mid}.z${mid % ZONES}.example.com`;
    const rare = `pay-${mid - (mid % 8)}`;
    const zone = `z${mid % ZONES}.example.com`;
    const domainPart = `z${mid % ZONES}.example.n`;
    const window14 = { expiresFrom: within14.from.toISOString(), expiresTo: within14.to.toISOString() };
    const cases: SearchCase[] = (
      [
        {
          label: 'baseline: first page, no filter (default list)',
          query: q({ sort: 'certificateNo' }),
          http: { sort: 'certificateNo' },
        },
        {
          label: 'covers host (exact name)',
          query: q({ coversHost: host, sort: 'name' }),
          http: { q: host, sort: 'name' },
        },
        {
          label: 'covers host (wildcard one label up)',
          query: q({ coversHost: wildHost, sort: 'notAfter' }),
          http: { q: wildHost, sort: 'notAfter' },
        },
        { label: 'IP SAN (IPv6, other form)', query: q({ ipAddress: ipv6 }), http: { q: ipv6 } },
        {
          label: 'under zone (one of 2,000)',
          query: q({ zone, sort: 'name' }),
          http: { q: `zone:${zone}`, sort: 'name' },
        },
        {
          label: 'under zone example.com (every one)',
          query: q({ zone: 'example.com', sort: 'notAfter' }),
          http: { q: 'zone:example.com', sort: 'notAfter' },
        },
        {
          label: 'name contains (rare: one)',
          query: q({ nameContains: rare, sort: 'name' }),
          http: { q: `name:${rare}`, sort: 'name' },
        },
        {
          label: 'name contains (1 in 8)',
          query: q({ nameContains: 'shop', sort: 'name' }),
          http: { q: 'name:shop', sort: 'name' },
        },
        {
          label: 'domain contains',
          query: q({ domainContains: domainPart, sort: 'createdAt', order: 'desc' }),
          http: { q: `domain:${domainPart}`, sort: 'createdAt', order: 'desc' },
        },
        {
          label: 'expires within 14 days, by notAfter',
          query: q({ notAfterBetween: within14, sort: 'notAfter' }),
          http: { ...window14, sort: 'notAfter' },
        },
        {
          // The console's `expired` is at the server's clock, not AS_OF: its total may differ a little.
          label: 'expired, key type RSA, by name desc',
          query: q({ validity: 'expired', keyType: { algorithm: 'RSA' }, sort: 'name', order: 'desc' }),
          http: { status: 'expired', keyType: 'RSA', sort: 'name', order: 'desc' },
        },
        {
          label: 'issuer, by registration date',
          query: q({ issuer: "Let's Encrypt", sort: 'createdAt' }),
          http: { issuer: "Let's Encrypt", sort: 'createdAt' },
        },
        {
          label: 'zone example.com + expires within 14 d, by name',
          query: q({ zone: 'example.com', notAfterBetween: within14, sort: 'name' }),
          http: { q: 'zone:example.com', ...window14, sort: 'name' },
        },
      ] as Array<Omit<SearchCase, 'samples'>>
    ).map((c) => ({ ...c, samples: [] }));
    for (const c of cases) {
      let trace: SearchPlanTrace | undefined;
      searchObserver.onPlan = (t) => (trace = t);
      const page = await repo.list(c.query);
      searchObserver.onPlan = undefined;
      c.total = `${page.totalExact ? '' : '> '}${page.totalExact ? page.total : page.total - 1}`;
      if (values.explain && trace)
        console.log(
          `  ${c.label}: ${trace.plan}, T ${trace.t}, counts ${trace.counts.join('/')}, ${trace.windows} windows of up to ${trace.walkBound} entries`,
        );
      if (page.items.length === 0 && !c.label.startsWith('IP')) console.log(`  (no rows: ${c.label})`);
    }
    for (let run = 0; run < RUNS; run++) {
      for (const c of cases) {
        const start = performance.now();
        await repo.list(c.query);
        c.samples.push(performance.now() - start);
      }
    }
    const baseline = median(cases[0]!.samples);
    console.log(`  ${'query'.padEnd(52)} ${'median'.padStart(9)} ${'ratio'.padStart(7)}  total`);
    for (const c of cases) {
      const m = median(c.samples);
      const flag = m > TARGET_MS ? '  over 20 ms' : '';
      console.log(
        `  ${c.label.padEnd(52)} ${`${m.toFixed(2)} ms`.padStart(9)} ${`${(m / baseline).toFixed(1)}x`.padStart(7)}  ${c.total}${flag}`,
      );
    }
    return { store, label: dialect.label, rows: ROWS, tenant, cases };
  }
}

const fmtLoad = (r: LoadResult): string =>
  `${(r.rps >= 10 ? Math.round(r.rps).toString() : r.rps.toFixed(1)).padStart(6)} req/s  p99 ${r.p99Ms.toFixed(1).padStart(6)} ms  CPU ${Math.round(perRequestUs(r.cpuSeconds, r) ?? Number.NaN)}${r.postgresCpuSeconds !== null ? ` + PostgreSQL ${Math.round(perRequestUs(r.postgresCpuSeconds, r) ?? Number.NaN)}` : ''} µs/req${r.non2xx + r.errors > 0 ? `  (${r.non2xx} non-2xx${r.firstBadStatus ? ` e.g. ${r.firstBadStatus}` : ''}, ${r.errors} errors)` : ''}`;

/**
 * `--load`: every case through HTTP under load. The real server (`npm start`'s command, bench/lib/
 * processes.ts) on the store just measured, logged in to the console with a VIEWER credential
 * made for the run; autocannon (bench/lib/load.ts) drives `GET /console/api/certificates?<query>`
 * with the session cookie, then the ceiling (bench/lib/ceiling-server.ts) answering the same body,
 * with the same headers, in `--rounds` alternating slices so the shared machine's noise hits both.
 */
async function loadStore(where: { dataDir: string; databaseUrl?: string }, measured: Measured): Promise<LoadCase[]> {
  const env = {
    CERTKEEPER_DATA_DIR: where.dataDir,
    CERTKEEPER_MASTER_KEY: LOAD_MASTER_KEY,
    CERTKEEPER_LOG_LEVEL: 'warn',
    ...(where.databaseUrl ? { DATABASE_URL: where.databaseUrl } : {}),
  };
  const app = await openApp(loadConfig(env));
  let accessKey: string;
  let secretKey: string;
  try {
    const created = await app.core.credentials.createForTenant(measured.tenant, 'VIEWER', 'bench/search.ts --load');
    ({ accessKey, secretKey } = { accessKey: created.credential.accessKey, secretKey: created.secretKey });
  } finally {
    await app.close();
  }
  let server: Child | undefined;
  let ceiling: Child | undefined;
  try {
    server = await startCertkeeper({
      dataDir: where.dataDir,
      masterKey: LOAD_MASTER_KEY,
      logLevel: 'warn',
      ...(where.databaseUrl ? { databaseUrl: where.databaseUrl } : {}),
    });
    ceiling = await startCeiling('warn');
    const login = await fetch(`${server.url}/console/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accessKey, secretKey }),
    });
    const cookie = login.headers.get('set-cookie')?.split(';')[0];
    if (login.status !== 200 || !cookie) throw new Error(`console login: HTTP ${login.status} ${await login.text()}`);
    const headers = { cookie };
    const [load1, load5] = loadavg();
    console.log(
      `\n${measured.label}, through HTTP: GET /console/api/certificates under load (${CONNECTIONS} connections, ${ROUNDS} × ${(LOAD_S / ROUNDS).toFixed(1)} s a side after 1 s warm-up; load average ${load1!.toFixed(1)} / ${load5!.toFixed(1)})`,
    );
    console.log(`  ${'query'.padEnd(52)} ${'endpoint'.padEnd(58)} ${'ceiling'.padEnd(42)} ratio`);
    const out: LoadCase[] = [];
    for (const [i, c] of measured.cases.entries()) {
      const path = `/console/api/certificates?${new URLSearchParams({ pageSize: String(PAGE), ...c.http }).toString()}`;
      const probe = await fetch(`${server.url}${path}`, { headers });
      const body = Buffer.from(await probe.arrayBuffer());
      if (probe.status !== 200)
        throw new Error(`${c.label}: HTTP ${probe.status}: ${body.toString('utf8').slice(0, 300)}`);
      const json = JSON.parse(body.toString('utf8')) as { total: number; totalExact: boolean };
      const httpTotal = `${json.totalExact ? '' : '> '}${json.totalExact ? json.total : json.total - 1}`;
      const id = `search-${i}`;
      await fetch(`${ceiling.url}/__payload/${id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          contentType: probe.headers.get('content-type'),
          json: JSON.parse(body.toString('utf8')),
        }),
      });
      const ceilingBytes = (await (await fetch(`${ceiling.url}/c/${id}`, { headers })).arrayBuffer()).byteLength;
      const otherLoad = await machineBusy(500);
      const endpointRun = (seconds: number, measure: boolean): Promise<LoadResult> =>
        runLoad({
          url: server!.url,
          connections: CONNECTIONS,
          seconds,
          requests: [{ method: 'GET', path, headers }],
          // PostgreSQL: the backends of the store's database only (others share the server).
          ...(measure
            ? {
                cpuPid: server!.pid,
                postgresCpu: where.databaseUrl ? new URL(where.databaseUrl).pathname.slice(1) : false,
              }
            : {}),
        });
      const ceilingRun = (seconds: number): Promise<LoadResult> =>
        runLoad({
          url: ceiling!.url,
          connections: CONNECTIONS,
          seconds,
          requests: [{ method: 'GET', path: `/c/${id}`, headers }],
          cpuPid: ceiling!.pid,
        });
      await endpointRun(1, false);
      await ceilingRun(1);
      const endpointRuns: LoadResult[] = [];
      const ceilingRuns: LoadResult[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        endpointRuns.push(await endpointRun(LOAD_S / ROUNDS, true));
        ceilingRuns.push(await ceilingRun(LOAD_S / ROUNDS));
      }
      const endpoint = combine(endpointRuns);
      const ceil = combine(ceilingRuns);
      const ratio = endpoint.rps / ceil.rps;
      const totals = httpTotal === c.total ? '' : `  (total ${httpTotal} through HTTP, ${c.total} in process)`;
      console.log(
        `  ${c.label.padEnd(52)} ${fmtLoad(endpoint).padEnd(58)} ${fmtLoad(ceil).padEnd(42)} ${`${(ratio * 100).toFixed(1)}%`.padStart(6)}${totals}`,
      );
      out.push({
        label: c.label,
        request: `GET ${path}`,
        responseBytes: body.length,
        ceilingResponseBytes: ceilingBytes,
        total: c.total ?? '',
        httpTotal,
        inProcessMedianMs: median(c.samples),
        endpoint: summary(endpoint),
        ceiling: summary(ceil),
        ratio,
        otherLoad,
      });
    }
    return out;
  } finally {
    await server?.stop();
    await ceiling?.stop();
  }
}

for (const store of STORES) await benchStore(store);
if (LOAD_S > 0 && !values['no-write']) {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${new Date().toISOString().slice(0, 10)}-search-load.json`);
  const settings = { seconds: LOAD_S, rounds: ROUNDS, warmupSeconds: 1, connections: CONNECTIONS, pageSize: PAGE };
  await writeFile(
    file,
    `${JSON.stringify(
      {
        command: `node bench/search.ts ${process.argv.slice(2).join(' ')}`.trim(),
        at: new Date().toISOString(),
        loadAverage: loadavg(),
        settings,
        stores: loadResults,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nresults: ${file}`);
}
