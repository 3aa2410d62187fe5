/**
 * Seeds a fresh store with `scale` certificates in one tenant (`bench`), plus 10% of that in a
 * second tenant (`other`, so indexes and counter tables are shared as in real life), and 1,000
 * Global Edge slots of the bench tenant. bench/run.ts seeds with it; a store seeded so can be
 * kept and serve later runs (`reuseStore`).
 *
 * How (fast, and the counters stay exact):
 * 1. through the real code paths (the app's core, as the CLI would): both tenants, an ADMIN
 *    credential, and the seed pool (pools.ts: distinct leaves with their chain and key) imported
 *    one by one through `core.certificates.import`: full ladder, sealed keys, domain rows, search
 *    rows, audit, counters. These are the certificates the download case reads and the slots publish.
 * 2. the rest, `scale - pool` rows for `bench` and `scale / 10` for `other` (interleaved in
 *    proportion), written by bulk-load.ts (secondary indexes dropped, rows through the driver in
 *    large transactions, indexes built again, schema checked against the one before), each a copy
 *    of a pool row (real PEM, chain and facts) with a unique name (`cert-<i>`, `other-<i>`),
 *    unique certificate and key fingerprints, its own ARN id, notAfter spread over
 *    [now - 200 days, now + 400 days) (a third already expired), notBefore 397 days earlier, a
 *    creation time that grows with the number, no private key, and every 50th row deleted. The
 *    facts JSON carries the row's own dates and fingerprints, so what the faces print agrees
 *    with the columns (the PEM of a copy is its template's, and so are its DNS names). Beside
 *    each row, what the repository's import writes: its domain rows and, for live rows, its
 *    search rows (migration 0013: `certificate_names`, SQLite's FTS5 table; PostgreSQL's
 *    trigram indexes are built over the rows).
 * 3. the counter tables are emptied and rebuilt with migrations 0003's and 0007's own backfills
 *    (bulk-load.ts `rebuildCounters`) and checked against COUNT(*) for every tenant.
 * 4. edge slots: 1,000 RUNNING slots (deployed, so the edge worker has nothing to do), each
 *    publishing one pool certificate, inserted directly.
 * 5. PostgreSQL: VACUUM ANALYZE (the steady state autovacuum reaches); SQLite: nothing (the store
 *    never runs ANALYZE).
 * 6. a manifest (master key, the bench tenant's credentials, the last seeded certificate number)
 *    beside the SQLite file or as the PostgreSQL database's comment, for `reuseStore`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely, type Selectable } from 'kysely';
import pg from 'pg';
import { openApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { connect } from '../../src/store/connect.ts';
import type { StoreDialect } from '../../src/store/dialect.ts';
import { backfillEdgeSlotCounts } from '../../src/store/migrations/0006-edge-slot-counts.ts';
import { applyMigrations } from '../../src/store/migrations/index.ts';
import type { SlotTables } from '../../src/store/repositories/slot-rows.ts';
import type { CertificateRow, Database } from '../../src/store/schema.ts';
import { inTransaction } from '../../src/store/transaction.ts';
import { bulkLoad, rebuildCounters, settle, type BulkRow } from './bulk-load.ts';
import type { Pool } from './pools.ts';

const DAY = 86_400_000;
/** Every DELETED_EVERY-th copy (at DELETED_AT in the cycle) is a deleted row. */
const DELETED_EVERY = 50;
const DELETED_AT = 7;
const SLOTS = 1000;

export const PG_ADMIN_URL =
  process.env.CERTKEEPER_BENCH_PG_URL ??
  process.env.CERTKEEPER_TEST_PG_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';

export interface Location {
  store: 'sqlite' | 'postgres';
  dataDir: string;
  databaseUrl?: string;
  /** `CERTKEEPER_MASTER_KEY` for this store (seeding and server). */
  masterKey: string;
  cleanup(): Promise<void>;
  /** Bytes on disk (SQLite file + WAL, or pg_database_size). */
  size(): Promise<number>;
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * A fresh, empty store: a temp data dir, and for PostgreSQL a new database dropped by cleanup().
 * With `place` (run.ts `--sqlite-dir` / `--postgres-db`), the store goes there instead, to be
 * kept: an SQLite data directory that must be empty (made if missing), or the name of a
 * PostgreSQL database that must not exist yet.
 */
export async function freshLocation(store: 'sqlite' | 'postgres', place?: string): Promise<Location> {
  const masterKey = randomBytes(32).toString('base64');
  if (store === 'sqlite') {
    const dataDir = place ?? (await mkdtemp(join(tmpdir(), 'certkeeper-bench-')));
    if (place !== undefined) {
      await mkdir(place, { recursive: true });
      if ((await readdir(place)).length > 0) throw new Error(`${place} is not empty`);
    }
    return {
      store,
      dataDir,
      masterKey,
      cleanup: () => rm(dataDir, { recursive: true, force: true }),
      size: () => sqliteSize(dataDir),
    };
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'certkeeper-bench-'));
  const name = place ?? `certkeeper_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin((c) => c.query(`create database "${name}"`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    store,
    dataDir,
    databaseUrl: url.toString(),
    masterKey,
    cleanup: async () => {
      await withAdmin((c) => c.query(`drop database if exists "${name}" with (force)`));
      await rm(dataDir, { recursive: true, force: true });
    },
    size: () =>
      withAdmin(async (c) =>
        Number((await c.query<{ n: string }>(`select pg_database_size('${name}') as n`)).rows[0]!.n),
      ),
  };
}

export interface Seeded {
  appKey: string;
  accessKey: string;
  secretKey: string;
  /** Live certificates of the bench tenant. */
  live: number;
  /** Names of the pool certificates (with key and chain): the download targets. */
  poolNames: string[];
  /** A live certificate name of the bench tenant, drawn uniformly from `r` in [0, 1). */
  liveName(r: number): string;
  slots: number;
  rows: { bench: number; other: number; deleted: number };
  timings: { poolImportS: number; bulkS: number; countersS: number; slotsS: number; vacuumS: number; totalS: number };
  dbBytes: number;
}

const isDeletedCopy = (i: number): boolean => i % DELETED_EVERY === DELETED_AT;

const secondsSince = (t: number): number => (performance.now() - t) / 1000;

export async function seedStore(
  where: Location,
  pool: Pool,
  scale: number,
  log: (line: string) => void,
): Promise<Seeded> {
  const tAll = performance.now();
  const poolSize = Math.min(pool.leaves.length, scale);
  const env: NodeJS.ProcessEnv = {
    CERTKEEPER_DATA_DIR: where.dataDir,
    CERTKEEPER_MASTER_KEY: where.masterKey,
    CERTKEEPER_LOG_LEVEL: 'warn',
    ...(where.databaseUrl ? { DATABASE_URL: where.databaseUrl } : {}),
  };

  // 1. Real code paths: tenants, credential, the pool.
  const tPool = performance.now();
  const app = await openApp(loadConfig(env));
  let benchId: number;
  let otherId: number;
  let appKey: string;
  let accessKey: string;
  let secretKey: string;
  try {
    const bench = await app.core.tenants.create('bench');
    const other = await app.core.tenants.create('other');
    benchId = bench.id;
    otherId = other.id;
    appKey = bench.appKey;
    const created = await app.core.credentials.createForTenant(bench.id, 'ADMIN', 'benchmark');
    accessKey = created.credential.accessKey;
    secretKey = created.secretKey;
    const actor = { tenantId: bench.id, id: 'cli', role: 'ADMIN' as const, remoteAddress: null };
    const options = { origin: 'cli' as const, policy: { requireKey: true, allowEd25519: false, nameRule: null } };
    for (let i = 0; i < poolSize; i++) {
      const leaf = pool.leaves[i]!;
      await app.core.certificates.import(
        actor,
        { name: `pool-${i}`, certificate: leaf.certPem, privateKey: leaf.keyPem, chain: pool.chainPem },
        options,
      );
    }
  } finally {
    await app.close();
  }
  const poolImportS = secondsSince(tPool);
  log(`  pool: ${poolSize} certificates imported through core in ${poolImportS.toFixed(1)} s`);

  // 2. Bulk copies (bulk-load.ts), of the pool's rows as written by the import.
  let t = performance.now();
  let templates: Array<Selectable<CertificateRow>>;
  {
    const { db } = await connect(storeOptions(where));
    try {
      templates = await db
        .selectFrom('certificates')
        .selectAll()
        .where('tenant_id', '=', benchId)
        .orderBy('certificate_no')
        .execute();
    } finally {
      await db.destroy();
    }
  }
  const made = copies(
    templates,
    { id: benchId, prefix: 'cert', from: poolSize, to: scale },
    { id: otherId, prefix: 'other', from: 0, to: Math.floor(scale / 10) },
    Date.now(),
  );
  const bulk = await bulkLoad(where, made.total, made.rowAt, log);
  const bulkS = secondsSince(t);
  log(
    `  bulk: ${bulk.inserted} rows (+ domain and search rows) in ${bulkS.toFixed(1)} s: written in ${bulk.loadS.toFixed(1)} s (${Math.round(bulk.inserted / bulk.loadS)} rows/s), indexes built in ${bulk.indexS.toFixed(1)} s; CPU: ${bulk.cpu}; schema as migrated`,
  );

  const { db, dialect } = await connect(storeOptions(where));
  try {
    // 3. Counters, rebuilt by the migrations' backfills and checked against COUNT(*).
    t = performance.now();
    const live = await rebuildCounters(db, dialect);
    const countersS = secondsSince(t);

    // 4. Edge slots.
    t = performance.now();
    const slots = await seedSlots(db, benchId, templates.slice(0, Math.min(SLOTS, templates.length)));
    const slotsS = secondsSince(t);

    // 5. Planner statistics (PostgreSQL).
    const vacuumS = await settle(db, dialect);
    const naive = live.get(benchId) ?? 0;
    log(
      `  counters rebuilt and checked in ${countersS.toFixed(1)} s (live ${naive}); ${slots} edge slots in ${slotsS.toFixed(1)} s${vacuumS > 0.01 ? `; VACUUM ANALYZE ${vacuumS.toFixed(1)} s` : ''}`,
    );

    const manifest: Manifest = {
      version: 1,
      masterKey: where.masterKey,
      appKey,
      accessKey,
      secretKey,
      scale,
      poolSize,
      lastCertificateNo: bulk.firstNo + bulk.inserted - 1,
      rows: { bench: scale, other: Math.floor(scale / 10), deleted: bulk.deleted },
      seededAt: new Date().toISOString(),
    };
    await writeManifest(where, db, manifest);
    return {
      ...seededFrom(manifest, naive, slots),
      timings: { poolImportS, bulkS, countersS, slotsS, vacuumS, totalS: secondsSince(tAll) },
      dbBytes: await where.size(),
    };
  } finally {
    await db.destroy();
  }
}

/**
 * What a kept store needs to serve another run: its master key and the bench tenant's
 * credentials (stored only hashed or sealed), and where its seeded rows end. Written beside the
 * SQLite file (`bench-seed.json`, mode 0600), or as PostgreSQL's comment on the database (so the
 * schema stays the migrations'). Bench secrets of a bench store, nothing else.
 */
interface Manifest {
  version: 1;
  masterKey: string;
  appKey: string;
  accessKey: string;
  secretKey: string;
  scale: number;
  poolSize: number;
  /** The highest certificate number the seed wrote: rows above it came from runs (imports). */
  lastCertificateNo: number;
  rows: Seeded['rows'];
  seededAt: string;
}

const MANIFEST_FILE = 'bench-seed.json';

const storeOptions = (where: { dataDir: string; databaseUrl?: string }) =>
  where.databaseUrl ? { dataDir: where.dataDir, databaseUrl: where.databaseUrl } : { dataDir: where.dataDir };

async function writeManifest(where: Location, db: Kysely<Database>, manifest: Manifest): Promise<void> {
  const text = JSON.stringify(manifest);
  if (where.databaseUrl) {
    // COMMENT takes no bound parameter: a literal, quotes doubled.
    await sql`comment on database ${sql.id(new URL(where.databaseUrl).pathname.slice(1))} is ${sql.lit(text)}`.execute(
      db,
    );
  } else await writeFile(join(where.dataDir, MANIFEST_FILE), text, { mode: 0o600 });
}

function seededFrom(manifest: Manifest, live: number, slots: number): Omit<Seeded, 'timings' | 'dbBytes'> {
  const { scale, poolSize } = manifest;
  const liveName = (r: number): string => {
    let i = Math.floor(r * scale);
    while (i >= poolSize && isDeletedCopy(i)) i = i + 1 < scale ? i + 1 : poolSize;
    return i < poolSize ? `pool-${i}` : `cert-${i}`;
  };
  return {
    appKey: manifest.appKey,
    accessKey: manifest.accessKey,
    secretKey: manifest.secretKey,
    live,
    poolNames: Array.from({ length: poolSize }, (_, i) => `pool-${i}`),
    liveName,
    slots,
    rows: manifest.rows,
  };
}

/**
 * Reads a kept SQLite file once, start to end, so that its pages are in the operating system's
 * page cache before a benchmark runs, as they are after a seed in the same run. A kept store that
 * other work pushed out of the cache answers each page it misses with a synchronous disk read on
 * the event loop: at 1,000,000 a random name lookup (NCP v1) needs one 4 KiB page of a 4.5 GB
 * table, and such a run measured the disk (about 10 KiB read and +100 µs of CPU a request;
 * docs/performance.md, "Latency at a fixed load"), and an import's random-key reads moved its
 * CPU by a third between runs of the same code ("s12-importcpu"). bench/run.ts's probe has a disk
 * line that says whether a run still read from the disk (the cache may not hold the file on a
 * busy machine). `log` gets one line: bytes read and time.
 */
export async function readIntoPageCache(dataDir: string, log: (line: string) => void): Promise<void> {
  const file = join(dataDir, 'certkeeper.db');
  const t0 = performance.now();
  const handle = await open(file, 'r');
  const buffer = Buffer.allocUnsafe(8 << 20);
  let bytes = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, bytes);
      if (bytesRead === 0) break;
      bytes += bytesRead;
    }
  } finally {
    await handle.close();
  }
  const s = (performance.now() - t0) / 1000;
  log(
    `  read ${(bytes / 1e6).toFixed(0)} MB of ${file} into the page cache in ${s.toFixed(1)} s (--no-warm skips this)`,
  );
}

/**
 * A store kept by an earlier seed (`--keep`), for another run: its location (never dropped:
 * cleanup does nothing) and what the seed returned. The rows that earlier runs added (numbers
 * above the seed's last: the import case's certificates, with their key, domain and search rows)
 * are deleted first and the counters rebuilt, so every run starts from the seeded state.
 */
export async function reuseStore(
  store: 'sqlite' | 'postgres',
  given: string,
  log: (line: string) => void,
): Promise<{ where: Location; seeded: Seeded }> {
  const databaseUrl = store === 'postgres' ? given : undefined;
  const dataDir = store === 'sqlite' ? given : await mkdtemp(join(tmpdir(), 'certkeeper-bench-'));
  let manifest: Manifest;
  if (databaseUrl) {
    const name = new URL(databaseUrl).pathname.slice(1);
    const comment = await withAdmin(
      async (c) =>
        (
          await c.query<{ d: string | null }>(
            `select shobj_description(oid, 'pg_database') as d from pg_database where datname = $1`,
            [name],
          )
        ).rows[0]?.d,
    );
    if (!comment) throw new Error(`${databaseUrl} was not made by bench/lib/seed.ts (no seed comment on it)`);
    manifest = JSON.parse(comment) as Manifest;
  } else manifest = JSON.parse(await readFile(join(dataDir, MANIFEST_FILE), 'utf8')) as Manifest;
  const where: Location = {
    store,
    dataDir,
    ...(databaseUrl ? { databaseUrl } : {}),
    masterKey: manifest.masterKey,
    cleanup: async () => {
      if (databaseUrl) await rm(dataDir, { recursive: true, force: true });
    },
    size: databaseUrl
      ? () =>
          withAdmin(async (c) =>
            Number(
              (
                await c.query<{ n: string }>(`select pg_database_size($1) as n`, [
                  new URL(databaseUrl).pathname.slice(1),
                ])
              ).rows[0]!.n,
            ),
          )
      : () => sqliteSize(dataDir),
  };
  const { db, dialect } = await connect(storeOptions(where));
  try {
    // The store's migrations, as the server would run them at start (a no-op when current).
    await inTransaction(db, dialect, (trx) => applyMigrations(trx, dialect), { exclusive: true });
    const removed = await dropRunRows(db, dialect, manifest.lastCertificateNo);
    const live = await rebuildCounters(db, dialect);
    // PostgreSQL: the rebuilt counters and the dropped rows leave dead tuples; a server whose
    // autovacuum is off (as the shared one here) never clears them, and every reuse added about
    // 30,000 to the expiry hours, so the validity totals read ever more heap pages from one run
    // to the next. VACUUM ANALYZE, as after seeding (about 5 s at 1,000,000).
    await settle(db, dialect);
    const bench = await db.selectFrom('tenants').select('id').where('name', '=', 'bench').executeTakeFirstOrThrow();
    const slots = Number(
      (await sql<{ n: unknown }>`select count(*) as n from edge_slots where tenant_id = ${bench.id}`.execute(db))
        .rows[0]!.n,
    );
    log(
      `  reused ${databaseUrl ?? dataDir} (seeded ${manifest.seededAt}, ${manifest.scale} certificates); ${removed} rows of earlier runs removed; counters rebuilt and checked${dialect.label === 'PostgreSQL' ? ', VACUUM ANALYZE' : ''}`,
    );
    return {
      where,
      seeded: {
        ...seededFrom(manifest, live.get(Number(bench.id)) ?? 0, slots),
        timings: { poolImportS: 0, bulkS: 0, countersS: 0, slotsS: 0, vacuumS: 0, totalS: 0 },
        dbBytes: await where.size(),
      },
    };
  } finally {
    await db.destroy();
  }
}

/** Deletes the certificates numbered above `last` and every row naming them (search rows included). */
async function dropRunRows(db: Kysely<Database>, dialect: StoreDialect, last: number): Promise<number> {
  return inTransaction(db, dialect, async (trx) => {
    const tables =
      dialect.label === 'PostgreSQL'
        ? (
            await sql<{ t: string }>`select table_name as t from information_schema.columns
              where table_schema = current_schema() and column_name = 'certificate_no' and table_name <> 'certificates'`.execute(
              trx,
            )
          ).rows.map((r) => r.t)
        : (
            await sql<{ t: string }>`select m.name as t from sqlite_master m join pragma_table_info(m.name) p
              where m.type = 'table' and p.name = 'certificate_no' and m.name <> 'certificates'`.execute(trx)
          ).rows.map((r) => r.t);
    for (const table of tables) await sql`delete from ${sql.table(table)} where certificate_no > ${last}`.execute(trx);
    if (dialect.substringIndex === 'fts5') await sql`delete from certificate_search where rowid > ${last}`.execute(trx);
    const deleted = await trx.deleteFrom('certificates').where('certificate_no', '>', last).executeTakeFirst();
    return Number(deleted.numDeletedRows);
  });
}

async function sqliteSize(dataDir: string): Promise<number> {
  let total = 0;
  for (const f of ['certkeeper.db', 'certkeeper.db-wal'])
    total += await stat(join(dataDir, f)).then(
      (s) => s.size,
      () => 0,
    );
  return total;
}

interface BulkTenant {
  id: number;
  prefix: string;
  /** Copy numbers [from, to) (also the names' numbers). */
  from: number;
  to: number;
}

/**
 * The k-th bulk row (bulk-load.ts calls it for k = 0 … total - 1): the tenants' copies
 * interleaved in proportion, as real traffic would write them, each a copy of a template.
 */
function copies(
  templates: ReadonlyArray<Selectable<CertificateRow>>,
  bench: BulkTenant,
  other: BulkTenant,
  now: number,
): { total: number; rowAt: (k: number) => BulkRow } {
  const parsed = templates.map((row) => {
    const facts = JSON.parse(row.facts) as Record<string, unknown> & {
      domains?: string[];
      sans?: { ip?: string[] };
    };
    return { row, facts, domains: facts.domains ?? [], ips: facts.sans?.ip ?? [] };
  });
  const nb = Math.max(0, bench.to - bench.from);
  const no = Math.max(0, other.to - other.from);
  const total = nb + no;
  const copy = (c: BulkTenant, i: number): BulkRow => {
    const { row, facts, domains, ips } = parsed[i % parsed.length]!;
    // Deterministic spread (a multiplicative hash of the number), a third in the past.
    const notAfter =
      now - 200 * DAY + Math.floor((((i * 2654435761) >>> 0) / 4294967296) * 600 * DAY) + (c.id % 7) * 1000;
    const notBefore = notAfter - 397 * DAY;
    const fingerprint = createHash('sha256').update(`cert:${c.id}:${i}`).digest('hex');
    const spki = createHash('sha256').update(`spki:${c.id}:${i}`).digest('hex');
    const created = now - 400 * DAY + Math.floor((i / Math.max(1, c.to)) * 399 * DAY);
    const isDeleted = isDeletedCopy(i);
    return {
      domains,
      ips,
      row: {
        tenant_id: c.id,
        name: `${c.prefix}-${i}`,
        type: row.type,
        origin: row.origin,
        common_name: row.common_name,
        ca_name: row.ca_name,
        serial_number: row.serial_number,
        key_algorithm: row.key_algorithm,
        key_bits: row.key_bits,
        not_before: notBefore,
        not_after: notAfter,
        fingerprint_sha256: fingerprint,
        spki_sha256: spki,
        facts: JSON.stringify({
          ...facts,
          notBefore: new Date(notBefore).toISOString(),
          notAfter: new Date(notAfter).toISOString(),
          fingerprintSha256: fingerprint,
          publicKeyFingerprintSha256: spki,
        }),
        certificate_pem: row.certificate_pem,
        chain_pems: row.chain_pems,
        file_name: null,
        has_private_key: 0,
        created_at: created,
        updated_at: isDeleted ? now - DAY : created,
        revoked_at: null,
        revocation_requested_at: null,
        deleted_at: isDeleted ? now - DAY : null,
      },
    };
  };
  return {
    total,
    rowAt: (k) => {
      // Other's rows so far among the first k: floor(k * no / total); row k is other's when that steps.
      const before = Math.floor((k * no) / total);
      const isOther = Math.floor(((k + 1) * no) / total) > before;
      return isOther ? copy(other, other.from + before) : copy(bench, bench.from + (k - before));
    },
  };
}

async function seedSlots(
  base: Kysely<Database>,
  tenantId: number,
  certificates: ReadonlyArray<Selectable<CertificateRow>>,
): Promise<number> {
  const db = base.withTables<SlotTables>();
  const now = Date.now();
  const BATCH = 200;
  for (let from = 0; from < certificates.length; from += BATCH) {
    const part = certificates.slice(from, from + BATCH);
    const at = now - DAY + from;
    const slots = await db
      .insertInto('edge_slots')
      .values(
        part.map(() => ({
          tenant_id: tenantId,
          service_region: 'KR_JP',
          tls_version: 'TLS_MIN_VERSION_1_2',
          cipher_profile: 'DEFAULT',
          status: 'RUNNING',
          generation: 1,
          deployed_generation: 1,
          attempts: 0,
          last_error: null,
          last_error_at: null,
          next_attempt_at: null,
          claimed_by: null,
          lease_until: null,
          created_at: at,
          provisioned_at: at,
          updated_at: at,
          deleted_at: null,
        })),
      )
      .returning('slot_id')
      .execute();
    await db
      .insertInto('edge_slot_items')
      .values(
        part.map((cert, j) => ({
          slot_id: Number(slots[j]!.slot_id),
          tenant_id: tenantId,
          region: 'KR_JP',
          certificate_no: Number(cert.certificate_no),
          deployed_fingerprint: cert.fingerprint_sha256,
        })),
      )
      .execute();
  }
  // Bulk inserts bypass the repository, which keeps the count with each slot write.
  await backfillEdgeSlotCounts(base as unknown as Kysely<unknown>);
  return certificates.length;
}
