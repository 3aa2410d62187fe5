/**
 * The certificate search (issue 20) at scale: first-page server time of every search query,
 * on SQLite and PostgreSQL in the same run, and its ratio to a baseline measured in the same run
 * (the unfiltered first page of the default list: what a page costs without a search).
 *
 *   node bench/search.ts [--rows 1000000] [--stores sqlite,postgres] [--runs 40] [--keep]
 *     [--reuse-sqlite DIR] [--reuse-postgres URL] [--explain] [--time-backfill]
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
 */
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { sql, type Kysely } from 'kysely';
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
  },
});
let ROWS = Number(values.rows);
const RUNS = Number(values.runs);
const STORES = values.stores.split(',').map((s) => s.trim());
const ZONES = 2000;
const WORDS = ['pay', 'shop', 'api', 'mail', 'auth', 'cdn', 'blog', 'admin'];
const PAGE = 25;
const TARGET_MS = 20;

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
  const facts = JSON.stringify({
    subjectDn: `CN=${domains[0]}`,
    commonName: domains[0],
    sans: { dns: domains, ip, email: [], uri: [] },
    domains,
    issuerDn: 'CN=Bench CA, O=certkeeper',
    pad: 'x'.repeat(300),
  });
  return {
    domains,
    row: benchRow(tenantId, i, random, {
      name: `${WORDS[i % WORDS.length]}-${i}`,
      common_name: domains[0]!,
      facts,
      ca_name: i % 3 === 0 ? "Let's Encrypt" : 'DigiCert Inc',
      key_algorithm: rsa ? 'RSA' : 'EC',
      key_bits: rsa ? 2048 : 256,
    }),
  };
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
  try {
    if (reuse) {
      await inTransaction(db, dialect, (trx) => applyMigrations(trx, dialect), { exclusive: true });
      await measure(db, dialect, await tenantIds(db));
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
    await measure(db, dialect, { tenant, other });
  } finally {
    await db.destroy();
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
  { tenant }: { tenant: number; other: number },
): Promise<void> {
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
    const cases: Array<{ label: string; query: CertificateQuery; samples: number[]; total?: string }> = [
      { label: 'baseline: first page, no filter (default list)', query: q({ sort: 'certificateNo' }) },
      {
        label: 'covers host (exact name)',
        query: q({ coversHost: `host-${mid}.z${mid % ZONES}.example.com`, sort: 'name' }),
      },
      {
        label: 'covers host (wildcard one label up)',
        query: q({ coversHost: wildHost, sort: 'notAfter' }),
      },
      {
        label: 'IP SAN (IPv6, other form)',
        query: q({
          ipAddress: `2001:0db8:0:0:0:0:0:${((mid - (mid % 20)) & 0xffff).toString(16).padStart(4, '0')}`,
        }),
      },
      { label: 'under zone (one of 2,000)', query: q({ zone: `z${mid % ZONES}.example.com`, sort: 'name' }) },
      { label: 'under zone example.com (every one)', query: q({ zone: 'example.com', sort: 'notAfter' }) },
      { label: 'name contains (rare: one)', query: q({ nameContains: `pay-${mid - (mid % 8)}`, sort: 'name' }) },
      { label: 'name contains (1 in 8)', query: q({ nameContains: 'shop', sort: 'name' }) },
      {
        label: 'domain contains',
        query: q({ domainContains: `z${mid % ZONES}.example.n`, sort: 'createdAt', order: 'desc' }),
      },
      { label: 'expires within 14 days, by notAfter', query: q({ notAfterBetween: within14, sort: 'notAfter' }) },
      {
        label: 'expired, key type RSA, by name desc',
        query: q({ validity: 'expired', keyType: { algorithm: 'RSA' }, sort: 'name', order: 'desc' }),
      },
      { label: 'issuer, by registration date', query: q({ issuer: "Let's Encrypt", sort: 'createdAt' }) },
      {
        label: 'zone example.com + expires within 14 d, by name',
        query: q({ zone: 'example.com', notAfterBetween: within14, sort: 'name' }),
      },
    ].map((c) => ({ ...c, samples: [] }));
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
  }
}

for (const store of STORES) await benchStore(store);
