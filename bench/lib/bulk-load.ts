/**
 * The fast path every bench seed shares (seed.ts for bench/run.ts, bench/search.ts,
 * bench/notify-scan.ts): `count` certificate rows, made one by one in JavaScript by the caller,
 * written into a migrated store behind the repository's back, with everything the repository's
 * import writes beside a row that has no key or file:
 *
 * - `certificates`, numbered here (from above the highest number and, on PostgreSQL, the identity
 *   sequence, which is moved past the last one; SQLite's AUTOINCREMENT follows by itself);
 * - `certificate_domains`: the row's DNS names, lower-cased and distinct (deleted rows keep
 *   theirs, as markDeleted leaves them);
 * - the search indexes of migration 0013 (repositories/certificate-search-index.ts), live rows
 *   only: `certificate_names` (`nameRowsOf`), migration 0023's `certificate_name_grams` (`nameGramRowsOf`)
 *   and, on SQLite, the FTS5 table `certificate_search`;
 *   PostgreSQL's pg_trgm GIN index is built over the rows at the end.
 *
 * How it is fast: the secondary indexes of those three tables (every index that backs no
 * constraint: b-trees and GIN alike) are dropped first and built again at the end from the very
 * statement the store reports for them (`sqlite_master.sql`, `pg_indexes.indexdef`): one sorted
 * build each instead of a million inserts into each. Rows go through one connection of the
 * database's own driver, not Kysely: SQLite (better-sqlite3) one prepared INSERT per table, run
 * in transactions of 50,000 certificates, `synchronous = OFF` on this connection only;
 * PostgreSQL one `INSERT … SELECT * FROM unnest($1::type[], …)` per table and 2,000 certificates
 * (a handful of parameters, whatever the row count), `synchronous_commit = off` and a larger
 * `maintenance_work_mem` for the index builds, on this session only. Nothing here changes the
 * schema for good: the schema (tables, columns, indexes, constraints, their definitions) is
 * read before the load and again after it, and any difference is an error.
 *
 * The caller rebuilds the counters afterwards (`rebuildCounters`: the migrations' own backfills,
 * then checked against COUNT(*)) and, on PostgreSQL, runs VACUUM ANALYZE (`settle`).
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { SQLITE_FILE } from '../../src/store/connect.ts';
import type { StoreDialect } from '../../src/store/dialect.ts';
import { backfillCertificateCounters } from '../../src/store/migrations/0003-certificate-counters.ts';
import { backfillExpiryDaySums } from '../../src/store/migrations/0007-expiry-day-sums.ts';
import { backfillExpiryHours } from '../../src/store/migrations/0035-expiry-hours.ts';
import {
  nameGramRowsOf,
  nameRowsOf,
  searchDomainsText,
} from '../../src/store/repositories/certificate-search-index.ts';
import type { CertificateRow, Database as StoreDatabase } from '../../src/store/schema.ts';
import { inTransaction } from '../../src/store/transaction.ts';

/** A certificate row as a bench makes it: every column but the number, the version and purged_at. */
export type BulkCertificate = Omit<CertificateRow, 'certificate_no' | 'version' | 'purged_at' | 'arn_id'>;

export interface BulkRow {
  row: BulkCertificate;
  /** The DNS names and IP SANs its facts JSON holds (`facts.domains`, `facts.sans.ip`). */
  domains: readonly string[];
  ips: readonly string[];
}

export interface BulkTarget {
  dataDir: string;
  databaseUrl?: string;
}

export interface BulkResult {
  inserted: number;
  deleted: number;
  firstNo: number;
  /** Seconds: writing the rows, building the dropped indexes again. */
  loadS: number;
  indexS: number;
  /** CPU seconds of this process and, on PostgreSQL, of the server backend that did the work. */
  cpu: string;
}

/** Tables whose secondary indexes are dropped during the load and built again after it. */
const TABLES = ['certificates', 'certificate_domains', 'certificate_names', 'certificate_name_grams'] as const;
const CHUNK = 2000;
const SQLITE_TRANSACTION = 50_000;

const CERTIFICATE_COLUMNS = [
  'certificate_no',
  'tenant_id',
  'name',
  'type',
  'origin',
  'common_name',
  'ca_name',
  'serial_number',
  'key_algorithm',
  'key_bits',
  'not_before',
  'not_after',
  'fingerprint_sha256',
  'spki_sha256',
  'facts',
  'certificate_pem',
  'chain_pems',
  'file_name',
  'has_private_key',
  'created_at',
  'updated_at',
  'revoked_at',
  'revocation_requested_at',
  'deleted_at',
  'arn_id',
] as const;

type Cell = string | number | null;
interface Chunk {
  certificates: Cell[][];
  domains: Cell[][];
  names: Cell[][];
  grams: Cell[][];
  search: Cell[][];
}

/** One chunk's rows of every table, numbered from `no`. */
function chunkOf(rows: BulkRow[], no: number, fts: boolean): { chunk: Chunk; deleted: number } {
  const chunk: Chunk = { certificates: [], domains: [], names: [], grams: [], search: [] };
  let deleted = 0;
  for (const { row, domains, ips } of rows) {
    const certificateNo = no++;
    // arn_id given (a v4 UUID, as migration 0009's default makes), so SQLite's trigger that
    // fills a missing one does not rewrite every row.
    const full: Record<string, Cell> = { ...row, certificate_no: certificateNo, arn_id: randomUUID() };
    chunk.certificates.push(CERTIFICATE_COLUMNS.map((c) => full[c] ?? null));
    for (const domain of new Set(domains.map((d) => d.toLowerCase())))
      chunk.domains.push([certificateNo, row.tenant_id, domain]);
    if (row.deleted_at !== null) {
      deleted++;
      continue;
    }
    for (const r of nameRowsOf(row.tenant_id, certificateNo, {
      domains: [...domains],
      sans: { dns: [], ip: [...ips], email: [], uri: [] },
    }))
      chunk.names.push([r.tenant_id, r.kind, r.name_key, r.certificate_no]);
    for (const r of nameGramRowsOf(row.tenant_id, certificateNo, row.name))
      chunk.grams.push([r.tenant_id, r.gram_key, r.certificate_no]);
    if (fts) chunk.search.push([certificateNo, row.name, searchDomainsText({ domains: [...domains] })]);
  }
  return { chunk, deleted };
}

const COLUMNS = {
  certificates: [...CERTIFICATE_COLUMNS],
  certificate_domains: ['certificate_no', 'tenant_id', 'domain'],
  certificate_names: ['tenant_id', 'kind', 'name_key', 'certificate_no'],
  certificate_name_grams: ['tenant_id', 'gram_key', 'certificate_no'],
  certificate_search: ['rowid', 'name', 'domains'],
};

/**
 * Writes `count` rows made by `rowAt(0 … count-1)` into the migrated store at `target` (no other
 * connection may be writing). Throws if the schema afterwards differs from the schema before.
 */
export async function bulkLoad(
  target: BulkTarget,
  count: number,
  rowAt: (k: number) => BulkRow,
  log: (line: string) => void,
): Promise<BulkResult> {
  return target.databaseUrl
    ? bulkLoadPostgres(target.databaseUrl, count, rowAt, log)
    : bulkLoadSqlite(join(target.dataDir, SQLITE_FILE), count, rowAt, log);
}

const progress = (log: (line: string) => void, count: number) => {
  let reported = 0;
  return (done: number) => {
    if (done - reported >= 250_000 && done < count) {
      reported = done;
      log(`    ${done}/${count} rows`);
    }
  };
};

async function bulkLoadSqlite(
  file: string,
  count: number,
  rowAt: (k: number) => BulkRow,
  log: (line: string) => void,
): Promise<BulkResult> {
  const db = new Database(file);
  try {
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    const cpu0 = process.cpuUsage();
    const before = sqliteSchema(db);
    const indexes = db
      .prepare<[], { name: string; sql: string }>(
        `select name, sql from sqlite_master where type = 'index' and sql is not null
           and tbl_name in (${TABLES.map((t) => `'${t}'`).join(', ')}) order by rowid`,
      )
      .all();
    for (const index of indexes) db.exec(`drop index "${index.name}"`);

    let t = performance.now();
    const highest = db
      .prepare<[], { n: number | null }>(
        `select max(n) as n from (select max(certificate_no) as n from certificates
           union all select seq from sqlite_sequence where name = 'certificates')`,
      )
      .get();
    const firstNo = (highest?.n ?? 0) + 1;
    const insert = (table: keyof typeof COLUMNS) =>
      db.prepare(
        `insert into ${table} (${COLUMNS[table].join(', ')}) values (${COLUMNS[table].map(() => '?').join(', ')})`,
      );
    const statements = {
      certificates: insert('certificates'),
      domains: insert('certificate_domains'),
      names: insert('certificate_names'),
      grams: insert('certificate_name_grams'),
      search: insert('certificate_search'),
    };
    const writeChunk = (chunk: Chunk) => {
      for (const key of ['certificates', 'domains', 'names', 'grams', 'search'] as const)
        for (const r of chunk[key]) statements[key].run(r);
    };
    let deleted = 0;
    const report = progress(log, count);
    for (let from = 0; from < count; from += SQLITE_TRANSACTION) {
      db.exec('begin');
      try {
        for (let k = from; k < Math.min(count, from + SQLITE_TRANSACTION); k += CHUNK) {
          const rows = [];
          for (let j = k; j < Math.min(count, k + CHUNK); j++) rows.push(rowAt(j));
          const made = chunkOf(rows, firstNo + k, true);
          deleted += made.deleted;
          writeChunk(made.chunk);
        }
        db.exec('commit');
      } catch (error) {
        db.exec('rollback');
        throw error;
      }
      report(Math.min(count, from + SQLITE_TRANSACTION));
    }
    const loadS = (performance.now() - t) / 1000;

    t = performance.now();
    for (const index of indexes) db.exec(index.sql);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const indexS = (performance.now() - t) / 1000;
    assertSameSchema(before, sqliteSchema(db));
    return { inserted: count, deleted, firstNo, loadS, indexS, cpu: `node ${cpuSince(cpu0).toFixed(1)} s` };
  } finally {
    db.close();
  }
}

async function bulkLoadPostgres(
  url: string,
  count: number,
  rowAt: (k: number) => BulkRow,
  log: (line: string) => void,
): Promise<BulkResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`set synchronous_commit = off`);
    await client.query(`set maintenance_work_mem = '256MB'`);
    const cpu0 = process.cpuUsage();
    const backend = Number((await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid);
    const backend0 = await processCpuS(backend);
    const before = await postgresSchema(client);
    const { rows: indexes } = await client.query<{ name: string; sql: string }>(
      `select i.indexname as name, i.indexdef as sql from pg_indexes i
         where i.schemaname = current_schema() and i.tablename = any($1)
           and not exists (select 1 from pg_constraint c where c.conname = i.indexname
                           and c.connamespace = (select oid from pg_namespace where nspname = current_schema()))
         order by i.indexname`,
      [[...TABLES]],
    );
    for (const index of indexes) await client.query(`drop index "${index.name}"`);

    // unnest's argument types: each column's own type, from the catalog.
    const { rows: types } = await client.query<{ table_name: string; column_name: string; udt_name: string }>(
      `select table_name, column_name, udt_name from information_schema.columns
         where table_schema = current_schema() and table_name = any($1)`,
      [[...TABLES]],
    );
    const insert = (table: (typeof TABLES)[number]) => {
      const columns = COLUMNS[table];
      const typed = columns.map((c, i) => {
        const udt = types.find((r) => r.table_name === table && r.column_name === c)?.udt_name;
        if (!udt) throw new Error(`no column ${table}.${c}`);
        return `$${i + 1}::${udt}[]`;
      });
      const text = `insert into ${table} (${columns.join(', ')}) select * from unnest(${typed.join(', ')})`;
      return async (rows: Cell[][]) => {
        if (rows.length === 0) return;
        await client.query(
          text,
          columns.map((_, i) => rows.map((r) => r[i] ?? null)),
        );
      };
    };
    const writers = {
      certificates: insert('certificates'),
      domains: insert('certificate_domains'),
      names: insert('certificate_names'),
      grams: insert('certificate_name_grams'),
    };

    let t = performance.now();
    const { rows: highest } = await client.query<{ n: string | null }>(
      `select greatest((select max(certificate_no) from certificates),
                       (select last_value from pg_sequences
                          where sequencename = split_part(pg_get_serial_sequence('certificates', 'certificate_no'), '.', 2)
                            and schemaname = current_schema())) as n`,
    );
    const firstNo = Number(highest[0]?.n ?? 0) + 1;
    let deleted = 0;
    const report = progress(log, count);
    // One chunk's statements in flight while the next chunk is made.
    let inFlight: Promise<unknown> = Promise.resolve();
    for (let k = 0; k < count; k += CHUNK) {
      const rows = [];
      for (let j = k; j < Math.min(count, k + CHUNK); j++) rows.push(rowAt(j));
      const made = chunkOf(rows, firstNo + k, false);
      deleted += made.deleted;
      await inFlight;
      report(k);
      inFlight = (async () => {
        await client.query('begin');
        await writers.certificates(made.chunk.certificates);
        await writers.domains(made.chunk.domains);
        await writers.names(made.chunk.names);
        await writers.grams(made.chunk.grams);
        await client.query('commit');
      })();
      // Settled on the next turn; kept from being reported unhandled meanwhile.
      inFlight.catch(() => undefined);
    }
    await inFlight;
    if (count > 0)
      await client.query(`select setval(pg_get_serial_sequence('certificates', 'certificate_no'), $1)`, [
        firstNo + count - 1,
      ]);
    const loadS = (performance.now() - t) / 1000;

    t = performance.now();
    for (const index of indexes) await client.query(index.sql);
    const indexS = (performance.now() - t) / 1000;
    assertSameSchema(before, await postgresSchema(client));
    const backendS = (await processCpuS(backend)) - backend0;
    return {
      inserted: count,
      deleted,
      firstNo,
      loadS,
      indexS,
      cpu: `node ${cpuSince(cpu0).toFixed(1)} s, PostgreSQL backend ${Number.isNaN(backendS) ? '?' : backendS.toFixed(1)} s (index builds' parallel workers not counted)`,
    };
  } finally {
    await client.end();
  }
}

const cpuSince = (from: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
};

/** user + system CPU seconds of a process of this machine (/proc), NaN when unreadable. */
async function processCpuS(pid: number): Promise<number> {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** The schema as lines (tables, columns, indexes with their definitions, constraints), sorted. */
export function sqliteSchema(db: Database.Database): string[] {
  return db
    .prepare<[], { type: string; name: string; tbl_name: string; sql: string | null }>(
      `select type, name, tbl_name, sql from sqlite_master order by type, name`,
    )
    .all()
    .map((r) => `${r.type} ${r.name} on ${r.tbl_name}: ${r.sql ?? '(automatic)'}`);
}

export async function postgresSchema(client: pg.Client): Promise<string[]> {
  const lines: string[] = [];
  const columns = await client.query<Record<string, string | null>>(
    `select table_name, column_name, data_type, is_nullable, column_default, is_identity, identity_generation
       from information_schema.columns where table_schema = current_schema()`,
  );
  for (const r of columns.rows) lines.push(`column ${Object.values(r).join(' ')}`);
  const indexes = await client.query<{ indexname: string; indexdef: string }>(
    `select indexname, indexdef from pg_indexes where schemaname = current_schema()`,
  );
  for (const r of indexes.rows) lines.push(`index ${r.indexname}: ${r.indexdef}`);
  const constraints = await client.query<{ conname: string; def: string; rel: string }>(
    `select conname, conrelid::regclass::text as rel, pg_get_constraintdef(oid) as def from pg_constraint
       where connamespace = (select oid from pg_namespace where nspname = current_schema())`,
  );
  for (const r of constraints.rows) lines.push(`constraint ${r.conname} on ${r.rel}: ${r.def}`);
  const extensions = await client.query<{ extname: string }>(`select extname from pg_extension`);
  for (const r of extensions.rows) lines.push(`extension ${r.extname}`);
  return lines.sort();
}

export function assertSameSchema(before: readonly string[], after: readonly string[]): void {
  const gone = before.filter((l) => !after.includes(l));
  const added = after.filter((l) => !before.includes(l));
  if (gone.length > 0 || added.length > 0)
    throw new Error(
      `bulk load changed the schema: missing ${JSON.stringify(gone)}, unexpected ${JSON.stringify(added)}`,
    );
}

/**
 * The counter tables emptied and rebuilt with migrations 0003's, 0007's and 0035's own backfills,
 * then checked: every tenant's live count against COUNT(*), the expiry-day, expiry-hour and
 * number-block sums against the live rows. Returns the live count of each tenant.
 */
export async function rebuildCounters(db: Kysely<StoreDatabase>, dialect: StoreDialect): Promise<Map<number, number>> {
  await inTransaction(db, dialect, async (trx) => {
    await trx.deleteFrom('certificate_counts').execute();
    await trx.deleteFrom('certificate_expiry_days').execute();
    await trx.deleteFrom('certificate_number_blocks').execute();
    await trx.deleteFrom('certificate_expiry_hours').execute();
    await backfillCertificateCounters(trx as unknown as Kysely<unknown>);
    await backfillExpiryDaySums(trx as unknown as Kysely<unknown>);
    await backfillExpiryHours(trx as unknown as Kysely<unknown>);
  });
  const { rows } = await sql<{
    tenant_id: unknown;
    naive: unknown;
    live: unknown;
    days: unknown;
    hours: unknown;
    blocks: unknown;
  }>`
    select t.id as tenant_id,
      (select count(*) from certificates c where c.tenant_id = t.id and c.deleted_at is null) as naive,
      coalesce((select live from certificate_counts k where k.tenant_id = t.id), 0) as live,
      coalesce((select sum(n) from certificate_expiry_days e where e.tenant_id = t.id), 0) as days,
      coalesce((select sum(n) from certificate_expiry_hours h where h.tenant_id = t.id), 0) as hours,
      coalesce((select sum(n) from certificate_number_blocks b where b.tenant_id = t.id), 0) as blocks
    from tenants t`.execute(db);
  const live = new Map<number, number>();
  for (const r of rows) {
    const naive = Number(r.naive);
    if ([r.live, r.days, r.hours, r.blocks].some((sum) => Number(sum) !== naive))
      throw new Error(
        `counters disagree with the rows for tenant ${String(r.tenant_id)}: live ${String(r.live)}, expiry days ${String(r.days)}, expiry hours ${String(r.hours)}, number blocks ${String(r.blocks)}, COUNT(*) ${naive}`,
      );
    live.set(Number(r.tenant_id), naive);
  }
  return live;
}

/** PostgreSQL: VACUUM ANALYZE (the steady state autovacuum reaches); SQLite: nothing (the store never runs ANALYZE). */
export async function settle(db: Kysely<StoreDatabase>, dialect: StoreDialect): Promise<number> {
  const t = performance.now();
  if (dialect.label === 'PostgreSQL') await sql`vacuum analyze`.execute(db);
  return (performance.now() - t) / 1000;
}
