/**
 * The statements behind each bench/search.ts case, with their plans: for a store kept by
 * `node bench/search.ts --keep`. SQLite: EXPLAIN QUERY PLAN and the virtual machine steps of each
 * statement (sqlite3_stmt_status through the sqlite3 shell's `.stats`, a load-independent measure
 * of rows visited); PostgreSQL: EXPLAIN (ANALYZE, BUFFERS).
 *
 *   node bench/search-explain.ts --sqlite DIR | --postgres URL [--only substring-of-label]
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { normaliseSearchQuery } from '../src/core/certificate-search.ts';
import type { CertificateListQuery } from '../src/core/certificates.ts';
import type { CertificateQuery } from '../src/core/ports.ts';
import { postgresDialect, sqliteDialect } from '../src/store/dialect.ts';
import { searchObserver, type SearchPlanTrace } from '../src/store/repositories/certificate-search.ts';
import { certificateRepository } from '../src/store/repositories/certificates.ts';
import type { Database as Tables } from '../src/store/schema.ts';
import type { StoreVault } from '../src/store/vault.ts';
import { AS_OF, DAY } from './lib/bench-rows.ts';

const { values } = parseArgs({
  options: { sqlite: { type: 'string' }, postgres: { type: 'string' }, only: { type: 'string' } },
});
const captured: CompiledQuery[] = [];
const log = (event: { level: string; query: CompiledQuery }) => void captured.push(event.query);
const file = values.sqlite ? join(values.sqlite, 'certkeeper.db') : null;
pg.types.setTypeParser(20, (v) => Number(v));
const pool = values.postgres ? new pg.Pool({ connectionString: values.postgres, max: 1 }) : null;
const raw = file ? new Database(file, { readonly: true }) : null;
const db = new Kysely<Tables>({
  dialect: file ? new SqliteDialect({ database: raw! }) : new PostgresDialect({ pool: pool! }),
  log,
});
const dialect = file ? sqliteDialect : postgresDialect;
const repo = certificateRepository(db, dialect, {} as StoreVault);
const tenants = await db.selectFrom('tenants').select(['id', 'name']).execute();
const tenant = Number(tenants.find((t) => t.name === 'bench')!.id);
const rows = Number(
  (await db
    .selectFrom('certificates')
    .select((e) => e.fn.countAll().as('n'))
    .where('tenant_id', '=', tenant)
    .executeTakeFirst())!.n,
);
const ZONES = 2000;
const asOf = new Date(AS_OF);
const q = (extra: Partial<CertificateListQuery>): CertificateQuery => ({
  ...normaliseSearchQuery({ offset: 0, limit: 25, ...extra }),
  tenantId: tenant,
  asOf,
});
const mid = Math.floor(rows / 2);
const wild = mid - (mid % 10);
const within14 = { from: asOf, to: new Date(AS_OF + 14 * DAY) };
const cases: Array<[string, CertificateQuery]> = [
  [
    'covers host (wildcard one label up)',
    q({ coversHost: `www.z${wild % ZONES}.example.${wild % 2 ? 'org' : 'net'}`, sort: 'notAfter' }),
  ],
  ['under zone (one of 2,000)', q({ zone: `z${mid % ZONES}.example.com`, sort: 'name' })],
  ['under zone example.com (every one)', q({ zone: 'example.com', sort: 'notAfter' })],
  ['name contains (rare: one)', q({ nameContains: `pay-${mid - (mid % 8)}`, sort: 'name' })],
  ['name contains (1 in 8)', q({ nameContains: 'shop', sort: 'name' })],
  ['domain contains', q({ domainContains: `z${mid % ZONES}.example.n`, sort: 'createdAt', order: 'desc' })],
  ['expires within 14 days, by notAfter', q({ notAfterBetween: within14, sort: 'notAfter' })],
  [
    'expired, key type RSA, by name desc',
    q({ validity: 'expired', keyType: { algorithm: 'RSA' }, sort: 'name', order: 'desc' }),
  ],
  ['issuer, by registration date', q({ issuer: "Let's Encrypt", sort: 'createdAt' })],
  [
    'zone example.com + expires within 14 d, by name',
    q({ zone: 'example.com', notAfterBetween: within14, sort: 'name' }),
  ],
];

const literal = (v: unknown): string =>
  typeof v === 'number' ? String(v) : v === null ? 'null' : `'${String(v).replace(/'/g, "''")}'`;
/** The statement with its parameters inlined (for the sqlite3 shell). */
function inline(query: CompiledQuery): string {
  let i = 0;
  return query.sql.replace(/\?/g, () => literal(query.parameters[i++]));
}

for (const [label, query] of cases) {
  if (values.only && !label.includes(values.only)) continue;
  let trace: SearchPlanTrace | undefined;
  searchObserver.onPlan = (t) => (trace = t);
  captured.length = 0;
  const start = performance.now();
  const page = await repo.list(query);
  const ms = performance.now() - start;
  const statements = [...captured];
  console.log(
    `\n## ${label}: ${ms.toFixed(1)} ms, ${page.items.length} items, total ${page.totalExact ? '' : '> '}${page.total}`,
  );
  if (trace)
    console.log(
      `   plan ${trace.plan}, T ${trace.t}, counts ${trace.counts.join('/')}, windows ${trace.windows} (${trace.walkBound} entries)`,
    );
  for (const s of statements) {
    if (/certificate_counts/.test(s.sql)) continue;
    console.log(`\n-- ${s.sql.replace(/\s+/g, ' ').slice(0, 400)}`);
    if (file) {
      let steps = 'n/a (the sqlite3 shell is older than the FTS5 table)';
      try {
        const out = execFileSync('sqlite3', ['-readonly', file], {
          input: `.stats on\n${inline(s)};\n`,
          maxBuffer: 1 << 28,
          encoding: 'utf8',
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        steps = `${/Virtual Machine Steps:\s+(\d+)/.exec(out)?.[1]}, pages read ${/Page cache misses:\s+(\d+)/.exec(out)?.[1]}`;
      } catch {
        // the shell is older than the FTS5 table's options
      }
      const plan = raw!.prepare(`explain query plan ${s.sql}`).all(...(s.parameters as unknown[])) as Array<{
        id: number;
        parent: number;
        detail: string;
      }>;
      const depth = new Map<number, number>([[0, 0]]);
      console.log(`   VM steps ${steps}`);
      for (const p of plan) {
        depth.set(p.id, (depth.get(p.parent) ?? 0) + 1);
        console.log(`   ${'  '.repeat(depth.get(p.id)!)}${p.detail}`);
      }
    } else {
      const { rows: plan } = await pool!.query(
        `explain (analyze, buffers, costs off, timing off) ${s.sql.replace(/\$(\d+)/g, (_, n) => literal(s.parameters[Number(n) - 1]))}`,
      );
      console.log(plan.map((r: Record<string, string>) => `   ${r['QUERY PLAN']}`).join('\n'));
    }
  }
}
searchObserver.onPlan = undefined;
await db.destroy();
