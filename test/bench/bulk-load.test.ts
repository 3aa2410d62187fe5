/**
 * bench/lib/bulk-load.ts, the bench seeds' fast path, on both stores: 2,000 rows leave exactly
 * the schema a freshly migrated store has (the dropped indexes built again, nothing else),
 * counters that the migrations' backfills rebuild to COUNT(*), domain rows for every row, and
 * search rows equal to what migration 0013's own backfill makes of the same rows, which the
 * repository's search then reads.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { normaliseSearchQuery } from '../../src/core/certificate-search.ts';
import { connect, SQLITE_FILE } from '../../src/store/connect.ts';
import { backfillSearchIndexes } from '../../src/store/migrations/0013-certificate-search.ts';
import { backfillNameGrams } from '../../src/store/migrations/0023-certificate-search-walks.ts';
import { applyMigrations } from '../../src/store/migrations/index.ts';
import { certificateRepository } from '../../src/store/repositories/certificates.ts';
import { inTransaction } from '../../src/store/transaction.ts';
import type { StoreVault } from '../../src/store/vault.ts';
import { bulkLoad, postgresSchema, rebuildCounters, sqliteSchema, type BulkRow } from '../../bench/lib/bulk-load.ts';
import { storeTargets, type TestLocation } from '../helpers/db.ts';

const ROWS = 2000;
const DAY = 86_400_000;
const AS_OF = Date.UTC(2026, 10, 15);

function rowAt(tenantId: number): (k: number) => BulkRow {
  return (k) => {
    const domains = [`host-${k}.z${k % 50}.example.com`, ...(k % 5 === 0 ? [`*.Z${k % 50}.example.org`] : [])];
    const ips = k % 10 === 0 ? [`10.0.${k >> 8}.${k & 255}`] : [];
    const notAfter = AS_OF - 200 * DAY + ((k * 7919) % 600) * DAY;
    return {
      domains,
      ips,
      row: {
        tenant_id: tenantId,
        name: `cert-${k}`,
        type: 'EXT',
        origin: 'cli',
        common_name: domains[0]!,
        ca_name: 'bench',
        serial_number: k.toString(16),
        key_algorithm: 'EC',
        key_bits: 256,
        not_before: notAfter - 397 * DAY,
        not_after: notAfter,
        fingerprint_sha256: `fp-${k}-`.padEnd(64, '0'),
        spki_sha256: `spki-${k}-`.padEnd(64, '0'),
        facts: JSON.stringify({ commonName: domains[0], domains, sans: { dns: domains, ip: ips, email: [], uri: [] } }),
        certificate_pem: 'PEM',
        chain_pems: '[]',
        file_name: null,
        has_private_key: 0,
        created_at: AS_OF - 400 * DAY + k,
        updated_at: AS_OF - 400 * DAY + k,
        revoked_at: null,
        revocation_requested_at: null,
        deleted_at: k % 50 === 7 ? AS_OF - DAY : null,
      },
    };
  };
}

async function migrated(location: TestLocation): Promise<number> {
  const { db, dialect } = await connect(location.options());
  try {
    await inTransaction(db, dialect, (trx) => applyMigrations(trx, dialect), { exclusive: true });
    const t = await db
      .insertInto('tenants')
      .values({ name: 'bench', member_no: 'bench', app_key: 'bench', app_key_auth_enabled: 0, created_at: AS_OF })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(t.id);
  } finally {
    await db.destroy();
  }
}

async function schemaOf(location: TestLocation): Promise<string[]> {
  if (!location.databaseUrl) {
    const db = new Database(join(location.dataDir, SQLITE_FILE), { readonly: true });
    try {
      return sqliteSchema(db);
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: location.databaseUrl });
  await client.connect();
  try {
    return await postgresSchema(client);
  } finally {
    await client.end();
  }
}

const nameRows = async (db: Kysely<never>) =>
  (
    await sql<{ r: string }>`select tenant_id || ' ' || kind || ' ' || name_key || ' ' || certificate_no as r
      from certificate_names order by certificate_no, kind, name_key`.execute(db)
  ).rows
    .map((x) => x.r)
    .concat(
      (
        await sql<{ r: string }>`select tenant_id || ' ' || gram_key || ' ' || certificate_no as r
          from certificate_name_grams order by certificate_no, gram_key`.execute(db)
      ).rows.map((x) => x.r),
    );

for (const target of storeTargets) {
  describe(`bench bulk load (${target.name})`, { skip: target.skip }, () => {
    it('leaves the migrated schema, exact counters, and the search rows migration 0013 would make', async () => {
      const loaded = await target.fresh();
      const plain = await target.fresh();
      try {
        const tenantId = await migrated(loaded);
        await migrated(plain);
        const result = await bulkLoad(loaded, ROWS, rowAt(tenantId), () => undefined);
        const deleted = Array.from({ length: ROWS }, (_, k) => k).filter((k) => k % 50 === 7).length;
        assert.equal(result.deleted, deleted);

        assert.deepEqual(await schemaOf(loaded), await schemaOf(plain));

        const { db, dialect } = await connect(loaded.options());
        try {
          const live = await rebuildCounters(db, dialect);
          assert.equal(live.get(tenantId), ROWS - deleted);
          const domains = await sql<{ n: unknown }>`select count(*) as n from certificate_domains`.execute(db);
          assert.equal(Number(domains.rows[0]!.n), ROWS + ROWS / 5);

          // The repository's search reads the loaded rows: a domain substring (FTS5 or pg_trgm),
          // an IP SAN and a zone (certificate_names).
          const repo = certificateRepository(db, dialect, {} as StoreVault);
          const query = (extra: object) => ({
            ...normaliseSearchQuery({ offset: 0, limit: 100, sort: 'name', ...extra }),
            tenantId,
            asOf: new Date(AS_OF),
          });
          const inZone = await repo.list(query({ zone: 'z7.example.com' }));
          assert.equal(inZone.total, 0); // every host-k with k % 50 = 7 is a deleted row
          const zone3 = await repo.list(query({ zone: 'z3.example.com' }));
          assert.equal(zone3.total, ROWS / 50);
          const contains = await repo.list(query({ domainContains: 'host-1234.z34' }));
          assert.deepEqual(
            contains.items.map((c) => c.name),
            ['cert-1234'],
          );
          const ip = await repo.list(query({ ipAddress: '10.0.4.176' }));
          assert.deepEqual(
            ip.items.map((c) => c.name),
            ['cert-1200'],
          );

          // Migrations 0013's and 0023's backfills over the same rows make the same name rows.
          const bulkNames = await nameRows(db as unknown as Kysely<never>);
          await inTransaction(db, dialect, async (trx) => {
            await trx.deleteFrom('certificate_names').execute();
            await trx.deleteFrom('certificate_name_grams').execute();
            if (dialect.substringIndex === 'fts5') await sql`delete from certificate_search`.execute(trx);
            await backfillSearchIndexes(trx as unknown as Kysely<unknown>, dialect);
            await backfillNameGrams(trx as unknown as Kysely<unknown>);
          });
          assert.deepEqual(bulkNames, await nameRows(db as unknown as Kysely<never>));
        } finally {
          await db.destroy();
        }
      } finally {
        await loaded.cleanup();
        await plain.cleanup();
      }
    });
  });
}
