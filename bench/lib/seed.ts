/**
 * Seeds a fresh store with `scale` certificates in one tenant (`bench`), plus 10% of that in a
 * second tenant (`other`, so indexes and counter tables are shared as in real life), and 1,000
 * Global Edge slots of the bench tenant.
 *
 * How (fast, and the counters stay exact):
 * 1. through the real code paths (the app's core, as the CLI would): both tenants, an ADMIN
 *    credential, and the seed pool (pools.ts: distinct leaves with their chain and key) imported
 *    one by one through `core.certificates.import`: full ladder, sealed keys, domain rows, audit,
 *    counters. These are the certificates the download case reads and the slots publish.
 * 2. the rest, `scale - pool` rows for `bench` and `scale / 10` for `other`, bulk-inserted
 *    straight through the store's Kysely connection in multi-row inserts (as bench/store-counts.ts
 *    does), each a copy of a pool row (real PEM, chain and facts) with a unique name
 *    (`cert-<i>`, `other-<i>`), unique certificate and key fingerprints, notAfter spread over
 *    [now - 200 days, now + 400 days) (a third already expired), notBefore 397 days earlier, a
 *    creation time that grows with the number, no private key, and every 50th row deleted.
 *    The facts JSON carries the row's own dates and fingerprints, so what the faces print agrees
 *    with the columns (the PEM of a copy is its template's).
 * 3. the counter tables are emptied and rebuilt with migrations 0003's and 0007's own backfills
 *    (`backfillCertificateCounters`, `backfillExpiryDaySums`), so every total equals a count of the rows; checked here
 *    against naive COUNT(*)s before the server starts.
 * 4. edge slots: 1,000 RUNNING slots (deployed, so the edge worker has nothing to do), each
 *    publishing one pool certificate, inserted directly.
 * 5. PostgreSQL: VACUUM ANALYZE (the steady state autovacuum reaches); SQLite: nothing (the store
 *    never runs ANALYZE).
 * Not seeded for copies: certificate_domains rows (no benchmarked endpoint reads them).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import pg from 'pg';
import { openApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { connect } from '../../src/store/connect.ts';
import type { StoreDialect } from '../../src/store/dialect.ts';
import { backfillCertificateCounters } from '../../src/store/migrations/0003-certificate-counters.ts';
import { backfillEdgeSlotCounts } from '../../src/store/migrations/0006-edge-slot-counts.ts';
import { backfillExpiryDaySums } from '../../src/store/migrations/0007-expiry-day-sums.ts';
import type { SlotTables } from '../../src/store/repositories/slot-rows.ts';
import type { CertificateRow, Database } from '../../src/store/schema.ts';
import { inTransaction } from '../../src/store/transaction.ts';
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

/** A fresh, empty store: a temp data dir, and for PostgreSQL a new database dropped by cleanup(). */
export async function freshLocation(store: 'sqlite' | 'postgres'): Promise<Location> {
  const dataDir = await mkdtemp(join(tmpdir(), 'certkeeper-bench-'));
  const masterKey = randomBytes(32).toString('base64');
  if (store === 'sqlite') {
    return {
      store,
      dataDir,
      masterKey,
      cleanup: () => rm(dataDir, { recursive: true, force: true }),
      async size() {
        let total = 0;
        for (const f of ['certkeeper.db', 'certkeeper.db-wal'])
          total += await stat(join(dataDir, f)).then(
            (s) => s.size,
            () => 0,
          );
        return total;
      },
    };
  }
  const name = `certkeeper_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
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
  let t = performance.now();
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
  const poolImportS = secondsSince(t);
  log(`  pool: ${poolSize} certificates imported through core in ${poolImportS.toFixed(1)} s`);

  const { db, dialect } = await connect(
    where.databaseUrl ? { dataDir: where.dataDir, databaseUrl: where.databaseUrl } : { dataDir: where.dataDir },
  );
  try {
    // 2. Bulk copies.
    t = performance.now();
    const templates = await db
      .selectFrom('certificates')
      .selectAll()
      .where('tenant_id', '=', benchId)
      .orderBy('certificate_no')
      .execute();
    const counts = await bulkInsert(
      db,
      dialect,
      templates,
      [
        { id: benchId, prefix: 'cert', from: poolSize, to: scale },
        { id: otherId, prefix: 'other', from: 0, to: Math.floor(scale / 10) },
      ],
      log,
    );
    const bulkS = secondsSince(t);
    log(
      `  bulk: ${counts.inserted} rows inserted in ${bulkS.toFixed(1)} s (${Math.round(counts.inserted / bulkS)} rows/s)`,
    );

    // 3. Counters, rebuilt by the migration's backfill.
    t = performance.now();
    await inTransaction(db, dialect, async (trx) => {
      await trx.deleteFrom('certificate_counts').execute();
      await trx.deleteFrom('certificate_expiry_days').execute();
      await trx.deleteFrom('certificate_number_blocks').execute();
      await backfillCertificateCounters(trx as unknown as Kysely<unknown>);
      await backfillExpiryDaySums(trx as unknown as Kysely<unknown>);
    });
    const countersS = secondsSince(t);

    // 4. Edge slots.
    t = performance.now();
    const slots = await seedSlots(db, benchId, templates.slice(0, Math.min(SLOTS, templates.length)));
    const slotsS = secondsSince(t);

    // 5. Planner statistics (PostgreSQL).
    t = performance.now();
    if (dialect.label === 'PostgreSQL') await sql`vacuum analyze`.execute(db);
    const vacuumS = secondsSince(t);

    // Check: the counters agree with the rows.
    const naive = Number(
      (
        await sql<{
          n: unknown;
        }>`select count(*) as n from certificates where tenant_id = ${benchId} and deleted_at is null`.execute(db)
      ).rows[0]!.n,
    );
    const counter = Number(
      (
        await db
          .selectFrom('certificate_counts')
          .select('live')
          .where('tenant_id', '=', benchId)
          .executeTakeFirstOrThrow()
      ).live,
    );
    if (naive !== counter) throw new Error(`counters disagree with the rows: ${counter} vs ${naive}`);
    log(
      `  counters rebuilt in ${countersS.toFixed(1)} s (live ${naive}); ${slots} edge slots in ${slotsS.toFixed(1)} s${vacuumS > 0.01 ? `; VACUUM ANALYZE ${vacuumS.toFixed(1)} s` : ''}`,
    );

    const benchCopies = scale - poolSize;
    const liveName = (r: number): string => {
      let i = Math.floor(r * scale);
      while (i >= poolSize && isDeletedCopy(i)) i = i + 1 < scale ? i + 1 : poolSize;
      return i < poolSize ? `pool-${i}` : `cert-${i}`;
    };
    return {
      appKey,
      accessKey,
      secretKey,
      live: naive,
      poolNames: Array.from({ length: poolSize }, (_, i) => `pool-${i}`),
      liveName,
      slots,
      rows: { bench: poolSize + benchCopies, other: Math.floor(scale / 10), deleted: counts.deleted },
      timings: { poolImportS, bulkS, countersS, slotsS, vacuumS, totalS: secondsSince(tAll) },
      dbBytes: await where.size(),
    };
  } finally {
    await db.destroy();
  }
}

interface BulkTenant {
  id: number;
  prefix: string;
  /** Copy numbers [from, to) (also the names' numbers). */
  from: number;
  to: number;
}

async function bulkInsert(
  db: Kysely<Database>,
  dialect: StoreDialect,
  templates: ReadonlyArray<Selectable<CertificateRow>>,
  tenants: BulkTenant[],
  log: (line: string) => void,
): Promise<{ inserted: number; deleted: number }> {
  const now = Date.now();
  const parsed = templates.map((row) => ({ row, facts: JSON.parse(row.facts) as Record<string, unknown> }));
  const total = tenants.reduce((n, c) => n + Math.max(0, c.to - c.from), 0);
  const BATCH = 1000; // 22 columns: 22,000 parameters a statement, under both dialects' limits
  const cursors = tenants.map((c) => ({ ...c, next: c.from }));
  let inserted = 0;
  let deleted = 0;
  let reported = 0;

  const copy = (c: BulkTenant, i: number): Insertable<CertificateRow> => {
    const { row, facts } = parsed[i % parsed.length]!;
    // Deterministic spread (a multiplicative hash of the number), a third in the past.
    const notAfter =
      now - 200 * DAY + Math.floor((((i * 2654435761) >>> 0) / 4294967296) * 600 * DAY) + (c.id % 7) * 1000;
    const notBefore = notAfter - 397 * DAY;
    const fingerprint = createHash('sha256').update(`cert:${c.id}:${i}`).digest('hex');
    const spki = createHash('sha256').update(`spki:${c.id}:${i}`).digest('hex');
    const created = now - 400 * DAY + Math.floor((i / Math.max(1, c.to)) * 399 * DAY);
    const isDeleted = isDeletedCopy(i);
    if (isDeleted) deleted++;
    return {
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
      deleted_at: isDeleted ? now - DAY : null,
    };
  };

  // Interleave the tenants' inserts in proportion, as real traffic would.
  while (cursors.some((c) => c.next < c.to)) {
    await inTransaction(db, dialect, async (trx) => {
      for (let k = 0; k < 20; k++) {
        for (const c of cursors) {
          const share = Math.max(1, Math.ceil((BATCH * (c.to - c.from)) / Math.max(1, total)));
          const n = Math.min(share, c.to - c.next);
          if (n <= 0) continue;
          const batch = Array.from({ length: n }, (_, j) => copy(c, c.next + j));
          await trx.insertInto('certificates').values(batch).execute();
          c.next += n;
          inserted += n;
        }
      }
    });
    if (inserted - reported >= 200_000) {
      reported = inserted;
      log(`    ${inserted}/${total} rows`);
    }
  }
  return { inserted, deleted };
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
