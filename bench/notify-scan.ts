/**
 * The notification expiry pass at scale: what one pass costs with a million certificates.
 *
 *   npm run bench:notify-scan -- [--rows 1000000] [--stores sqlite,postgres] [--passes 30] [--keep]
 *
 * Seeds `--rows` certificates for one tenant straight through the store's Kysely connection in
 * multi-row inserts (facts JSON of the usual size; notAfter spread evenly over [now − 200 days,
 * now + 400 days), notBefore 397 days earlier), rebuilds the counters with migration 0003's
 * backfill, then gives the tenant a webhook channel and a rule for certificate.expiring and
 * certificate.expired (the default thresholds, horizon 30 days). Then, through the real code
 * (core/notifications/expiry.ts on the store's repositories):
 * 1. the tenant's first pass (its scan fills the schedule with every certificate inside the
 *    30-day horizon, about 5% of them) and the catch-up passes that queue their first notices,
 *    500 a pass: a one-time cost, reported as such;
 * 2. `--passes` steady-state passes, the clock moved 60 s (the default scan interval) before
 *    each, with 20 certificates imported through core between passes (so the changed-rows range
 *    has work): the median and the maximum per pass are the figures to compare with the 50 ms
 *    budget of issue 18.
 * The pass reads index ranges bounded by what happened since the previous pass, never every
 * certificate: its cost should not grow with `--rows` (try 100000 vs 1000000).
 *
 * PostgreSQL: `CERTKEEPER_BENCH_PG_URL` (default CERTKEEPER_TEST_PG_URL, else
 * postgres://postgres@127.0.0.1:5432/postgres) is an admin connection; the run creates
 * `certkeeper_bench_<pid>_<random>` and drops it at the end (unless --keep).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Insertable, type Kysely } from 'kysely';
import pg from 'pg';
import { createCore } from '../src/core/core.ts';
import { runExpiryPass } from '../src/core/notifications/expiry.ts';
import { DEFAULT_NOTIFICATION_SETTINGS } from '../src/core/notifications/service.ts';
import type { Clock } from '../src/core/ports.ts';
import { connect } from '../src/store/connect.ts';
import { backfillCertificateCounters } from '../src/store/migrations/0003-certificate-counters.ts';
import { openStore } from '../src/store/open.ts';
import type { CertificateRow, Database } from '../src/store/schema.ts';
import { inTransaction } from '../src/store/transaction.ts';

const DAY = 86_400_000;
const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    stores: { type: 'string', default: 'sqlite' },
    passes: { type: 'string', default: '30' },
    keep: { type: 'boolean', default: false },
  },
});
const ROWS = Number(values.rows);
const PASSES = Number(values.passes);
const PG_ADMIN =
  process.env.CERTKEEPER_BENCH_PG_URL ??
  process.env.CERTKEEPER_TEST_PG_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';

class BenchClock implements Clock {
  private t: number;
  constructor(t: number) {
    this.t = t;
  }
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function location(store: string) {
  const dataDir = await mkdtemp(join(tmpdir(), 'certkeeper-bench-notify-'));
  if (store === 'sqlite') return { dataDir, databaseUrl: undefined, drop: async () => undefined };
  const name = `certkeeper_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN);
  url.pathname = `/${name}`;
  return {
    dataDir,
    databaseUrl: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

async function bench(storeName: string): Promise<void> {
  const where = await location(storeName);
  const masterKey = randomBytes(32).toString('base64');
  const t0 = Date.UTC(2027, 2, 1, 15, 0, 0);
  const clock = new BenchClock(t0);
  const store = await openStore({
    dataDir: where.dataDir,
    masterKey,
    clock,
    ...(where.databaseUrl ? { databaseUrl: where.databaseUrl } : {}),
  });
  const core = createCore(store, clock, { ...DEFAULT_NOTIFICATION_SETTINGS, publicBaseUrl: 'https://certs.example' });
  const tenant = await core.tenants.create('bench');
  const admin = { tenantId: tenant.id, id: 'cli', role: 'ADMIN' as const, remoteAddress: null };

  // Seed.
  let t = performance.now();
  const { db, dialect } = await connect(
    where.databaseUrl ? { dataDir: where.dataDir, databaseUrl: where.databaseUrl } : { dataDir: where.dataDir },
  );
  const pem = `-----BEGIN CERTIFICATE-----\n${randomBytes(900)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
  const row = (i: number): Insertable<CertificateRow> => {
    const notAfter = t0 - 200 * DAY + Math.floor((i * 600 * DAY) / ROWS);
    const notBefore = notAfter - 397 * DAY;
    const fingerprint = sha(`fp-${i}`);
    const cn = `host-${i}.example.com`;
    const facts = {
      subjectDn: `CN=${cn}`,
      commonName: cn,
      sans: { dns: [cn], ip: [], email: [], uri: [] },
      domains: [cn],
      issuerDn: 'CN=Bench CA, O=certkeeper',
      issuerCommonName: 'Bench CA',
      caName: 'certkeeper',
      serialNumber: i.toString(16),
      notBefore: new Date(notBefore).toISOString(),
      notAfter: new Date(notAfter).toISOString(),
      key: { algorithm: 'EC', bits: 256, curve: 'P-256' },
      signatureAlgorithm: 'SHA256withECDSA',
      signatureAlgorithmOid: '1.2.840.10045.4.3.2',
      publicKeyInfo: 'Sun EC public key, 256 bits',
      fingerprintSha256: fingerprint,
      publicKeyFingerprintSha256: sha(`key-${i}`),
      keyUsage: ['digitalSignature'],
      extendedKeyUsage: ['serverAuth'],
      isCa: false,
      selfSigned: false,
    };
    return {
      tenant_id: tenant.id,
      name: `cert-${i}`,
      type: 'EXT',
      origin: 'cli',
      common_name: cn,
      ca_name: 'certkeeper',
      serial_number: facts.serialNumber,
      key_algorithm: 'EC',
      key_bits: 256,
      not_before: notBefore,
      not_after: notAfter,
      fingerprint_sha256: fingerprint,
      spki_sha256: facts.publicKeyFingerprintSha256,
      facts: JSON.stringify(facts),
      certificate_pem: pem,
      chain_pems: '[]',
      file_name: null,
      has_private_key: 0,
      created_at: t0 - 400 * DAY + i,
      updated_at: t0 - 400 * DAY + i,
      revoked_at: null,
      deleted_at: null,
    };
  };
  const BATCH = 1000;
  for (let i = 0; i < ROWS; i += BATCH * 20) {
    await inTransaction(db, dialect, async (trx) => {
      for (let j = i; j < Math.min(i + BATCH * 20, ROWS); j += BATCH) {
        const rows = [];
        for (let k = j; k < Math.min(j + BATCH, ROWS); k++) rows.push(row(k));
        await trx.insertInto('certificates').values(rows).execute();
      }
    });
  }
  await inTransaction(db, dialect, async (trx) => {
    await trx.deleteFrom('certificate_counts').execute();
    await trx.deleteFrom('certificate_expiry_days').execute();
    await trx.deleteFrom('certificate_number_blocks').execute();
    await backfillCertificateCounters(trx as unknown as Kysely<unknown>);
  });
  if (dialect.label === 'PostgreSQL') await (await import('kysely')).sql`vacuum analyze`.execute(db);
  await (db as Kysely<Database>).destroy();
  console.log(`${storeName}: ${ROWS} certificates seeded in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  await core.notifications.addChannel(admin, { kind: 'webhook', name: 'ops', url: 'https://hooks.example/ck' });
  await core.notifications.addRule(admin, {
    name: 'expiry',
    events: ['certificate.expiring', 'certificate.expired'],
    channels: ['ops'],
  });
  const context = { store, clock, publicBaseUrl: 'https://certs.example', retentionMs: 30 * DAY };

  // 1. First pass and catch-up.
  t = performance.now();
  let pass = await runExpiryPass(context, { batch: 500 });
  const firstMs = performance.now() - t;
  const scheduled = pass.scheduled;
  let catchUp = 0;
  t = performance.now();
  let queued = pass.queued;
  while (pass.due >= 500) {
    pass = await runExpiryPass(context, { batch: 500 });
    queued += pass.queued;
    catchUp += 1;
  }
  console.log(
    `${storeName}: first pass ${firstMs.toFixed(0)} ms (${scheduled} certificates into the schedule); catch-up: ${catchUp} passes, ${((performance.now() - t) / 1000).toFixed(1)} s, ${queued} notices queued`,
  );

  // 2. Steady state.
  const times: number[] = [];
  let steadyQueued = 0;
  const { mintLeaf, mintRoot } = await import('../test/helpers/pki.ts');
  const root = await mintRoot({ cn: 'bench notify root' });
  for (let p = 0; p < PASSES; p++) {
    clock.advance(60_000);
    for (let k = 0; k < 20; k++) {
      const leaf = await mintLeaf(root, {
        cn: `new-${p}-${k}.example.com`,
        key: { kind: 'ec', curve: 'P-256' },
        freshKey: true,
        notBefore: new Date(clock.now().getTime() - 80 * DAY),
        notAfter: new Date(clock.now().getTime() + (k % 2 === 0 ? 10 : 300) * DAY),
      });
      await core.certificates.import(
        admin,
        { name: `new-${p}-${k}`, certificate: leaf.pem, chain: root.pem },
        { origin: 'cli', policy: { requireKey: false, allowEd25519: false, nameRule: null } },
      );
    }
    t = performance.now();
    const result = await runExpiryPass(context, { batch: 500 });
    times.push(performance.now() - t);
    steadyQueued += result.queued;
  }
  console.log(
    `${storeName}: steady state over ${PASSES} passes (60 s apart, 20 imports between): median ${median(times).toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms a pass; ${steadyQueued} notices queued`,
  );
  await store.close();
  if (!values.keep) {
    await where.drop();
    await rm(where.dataDir, { recursive: true, force: true });
  } else console.log(`kept: ${where.dataDir} ${where.databaseUrl ?? ''}`);
}

for (const store of values.stores.split(',')) await bench(store.trim());
