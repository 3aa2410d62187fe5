/**
 * Migration 0032 (issue 23): on SQLite, the per-day and per-block counters
 * (`certificate_expiry_days`, `certificate_number_blocks`, migration 0003) become WITHOUT ROWID
 * tables, stored in their primary key's order (tenant_id, day | block).
 *
 * Why: as rowid tables, their primary key was a separate index, and every sum over a range of it
 * looked each entry's `n` up in the table: the validity totals that every counted list reads
 * (the NCP v2 and NHN lists: Σ n over the tenant's past days) and the deep pages' block seek
 * (Σ n over the number blocks) each paid one table lookup per day or block. Stored in key order,
 * the sum reads the entries where they are. Measured on a copy of the 1,000,000 seed (601 days,
 * 200 of them past), before and after this migration: the totals statement 61–65 → 53–56 µs of
 * CPU, the block seek 459–466 → 416–433 µs (docs/performance.md, "Latency at a fixed load").
 * Writes should get cheaper too (one b-tree per counter row instead of two; not measured).
 *
 * The tables are small (a row per tenant and day or block), so they are rebuilt: a copy under the
 * new layout, the old table dropped, the copy renamed (all in the migrations' transaction).
 * PostgreSQL keeps them (its primary key is its index; a heap is not ordered by it). Down
 * rebuilds them as rowid tables, as 0003 and 0007 left them.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

const TABLES = {
  certificate_expiry_days: {
    columns:
      '"tenant_id" integer not null, "day" bigint not null, "n" bigint not null, "ms_sum" bigint default 0 not null, constraint "certificate_expiry_days_pkey" primary key ("tenant_id", "day")',
    names: 'tenant_id, day, n, ms_sum',
  },
  certificate_number_blocks: {
    columns:
      '"tenant_id" integer not null, "block" bigint not null, "n" bigint not null, constraint "certificate_number_blocks_pkey" primary key ("tenant_id", "block")',
    names: 'tenant_id, block, n',
  },
} as const;

async function rebuild(db: Kysely<unknown>, withoutRowid: boolean): Promise<void> {
  for (const [table, { columns, names }] of Object.entries(TABLES)) {
    const copy = `${table}_0032`;
    await sql`create table ${sql.id(copy)} (${sql.raw(columns)})${sql.raw(withoutRowid ? ' without rowid' : '')}`.execute(
      db,
    );
    await sql`insert into ${sql.id(copy)} (${sql.raw(names)}) select ${sql.raw(names)} from ${sql.id(table)}`.execute(
      db,
    );
    await sql`drop table ${sql.id(table)}`.execute(db);
    await sql`alter table ${sql.id(copy)} rename to ${sql.id(table)}`.execute(db);
  }
}

export function countersWithoutRowidSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (d.label !== 'SQLite') return;
      await rebuild(db, true);
    },
    async down(db: Kysely<unknown>) {
      if (d.label !== 'SQLite') return;
      await rebuild(db, false);
    },
  };
}
