/**
 * What bench/store-counts.ts and bench/search.ts share: deterministic random numbers, a
 * certificate row of realistic size inserted straight through Kysely (behind the repository's
 * back), and throw-away store locations (a temp directory; a PostgreSQL database made through
 * an admin connection and dropped by `cleanup`).
 *
 * A row: notAfter spread over [asOf - 200 days, asOf + 400 days), notBefore 397 days earlier,
 * creation time growing with `i`, unique fingerprints, no private key, 3% deleted. The caller
 * gives what differs (name, CN, facts, issuer, key). `random` is called twice per row, notAfter
 * first, so a seed gives the same rows as before this module existed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { CertificateRow } from '../../src/store/schema.ts';

export const DAY = 86_400_000;
export const AS_OF = Date.UTC(2026, 10, 15, 15, 37, 12, 345);
export const PG_ADMIN_URL =
  process.env.CERTKEEPER_BENCH_PG_URL ??
  process.env.CERTKEEPER_TEST_PG_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';

/** Deterministic, cheap pseudo-random numbers (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PEM = `-----BEGIN CERTIFICATE-----\n${randomBytes(950)
  .toString('base64')
  .replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;

export type BenchRow = Omit<CertificateRow, 'certificate_no' | 'version' | 'purged_at' | 'arn_id'>;

export function benchRow(
  tenantId: number,
  i: number,
  random: () => number,
  own: Pick<BenchRow, 'name' | 'common_name' | 'facts'> &
    Partial<Pick<BenchRow, 'ca_name' | 'key_algorithm' | 'key_bits'>>,
): BenchRow {
  const notAfter = AS_OF - 200 * DAY + Math.floor(random() * 600 * DAY);
  return {
    tenant_id: tenantId,
    name: own.name,
    type: 'EXT',
    origin: 'cli',
    common_name: own.common_name,
    ca_name: own.ca_name ?? 'bench',
    serial_number: i.toString(16),
    key_algorithm: own.key_algorithm ?? 'EC',
    key_bits: own.key_bits ?? 256,
    not_before: notAfter - 397 * DAY,
    not_after: notAfter,
    fingerprint_sha256: `${tenantId}-fp-${i}-`.padEnd(64, '0'),
    spki_sha256: `${tenantId}-spki-${i}-`.padEnd(64, '0'),
    facts: own.facts,
    certificate_pem: PEM,
    chain_pems: '[]',
    file_name: null,
    has_private_key: 0,
    created_at: AS_OF - 400 * DAY + i,
    updated_at: AS_OF - 400 * DAY + i,
    revoked_at: null,
    revocation_requested_at: null,
    deleted_at: random() < 0.03 ? AS_OF - DAY : null,
  };
}

export async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface BenchLocation {
  dataDir: string;
  databaseUrl?: string;
  cleanup(): Promise<void>;
}

export async function benchLocation(store: string): Promise<BenchLocation> {
  const dataDir = await mkdtemp(join(tmpdir(), 'certkeeper-bench-'));
  if (store === 'sqlite') return { dataDir, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
  const name = `certkeeper_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin((c) => c.query(`create database "${name}"`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    dataDir,
    databaseUrl: url.toString(),
    cleanup: async () => {
      await withAdmin((c) => c.query(`drop database if exists "${name}" with (force)`));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
