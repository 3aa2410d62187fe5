/**
 * `countDeliveries` (the `certkeeper_notification_deliveries{status}` gauge of /metrics) at scale:
 * the kept counts (migration 0027: finished deliveries from `notify_delivery_counts`, pending
 * ones through the partial index `notify_deliveries_due`) against the GROUP BY over the whole
 * outbox it replaced, in the same run on the same rows, interleaved.
 *
 *   node bench/delivery-counts.ts [--rows 100000] [--pending 0.05] [--stores sqlite,postgres] [--rounds 30] [--postgres-db NAME]
 *
 * Seeding: `--rows` deliveries over three tenants and seven channels, a `--pending` share pending,
 * 5 % failed, the rest sent, each with a 500-byte payload; inserted in bulk, so the counts are then
 * set by the migration's own backfill; PostgreSQL gets a VACUUM ANALYZE. Figures: median wall
 * time and this process's CPU per call, and the query plan of the new statement. PostgreSQL:
 * CERTKEEPER_BENCH_PG_URL or CERTKEEPER_TEST_PG_URL (an admin connection; a database is created,
 * named `--postgres-db` if given, and dropped at the end).
 */
import { parseArgs } from 'node:util';
import { sql, type Kysely } from 'kysely';
import { connect } from '../src/store/connect.ts';
import { backfillNotifyDeliveryCounts } from '../src/store/migrations/0027-notify-delivery-counts.ts';
import { openStore } from '../src/store/open.ts';
import { freshLocation } from './lib/seed.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    pending: { type: 'string', default: '0.05' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    rounds: { type: 'string', default: '30' },
    'postgres-db': { type: 'string' },
  },
});
const ROWS = Number(values.rows);
const PENDING = Number(values.pending);
const ROUNDS = Number(values.rounds);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(run: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1000 };
}

async function seed(db: Kysely<unknown>): Promise<void> {
  const payload = JSON.stringify({ type: 'certificate.expiring', text: 'x'.repeat(500) });
  const now = Date.now();
  for (let start = 0; start < ROWS; start += 1000) {
    const rows = [];
    for (let i = start; i < Math.min(ROWS, start + 1000); i++) {
      const share = (i % 1000) / 1000;
      const status = share < PENDING ? 'pending' : share < PENDING + 0.05 ? 'failed' : 'sent';
      rows.push({
        tenant_id: 1 + (i % 3),
        channel_id: 1 + (i % 7),
        event_key: `k${i}`,
        event: 'certificate.expiring',
        payload,
        status,
        attempts: 1,
        next_attempt_at: now,
        keep_until: now + 86_400_000,
        created_at: now,
        updated_at: now,
      });
    }
    await db
      .insertInto('notify_deliveries' as never)
      .values(rows as never)
      .execute();
  }
  await backfillNotifyDeliveryCounts(db);
}

for (const name of values.stores.split(',') as Array<'sqlite' | 'postgres'>) {
  const where = await freshLocation(name, name === 'postgres' ? values['postgres-db'] : undefined);
  const options = { dataDir: where.dataDir, ...(where.databaseUrl ? { databaseUrl: where.databaseUrl } : {}) };
  const store = await openStore({ ...options, masterKey: where.masterKey });
  const { db } = await connect(options);
  try {
    await seed(db as Kysely<unknown>);
    await sql`${sql.raw(name === 'postgres' ? 'vacuum analyze' : 'analyze')}`.execute(db);
    const fullScan = async () => {
      const { rows } = await sql<{
        status: string;
        n: unknown;
      }>`select status, count(*) as n from notify_deliveries group by status`.execute(db);
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    };
    const kept = await store.notifications.countDeliveries();
    const scanned = await fullScan();
    for (const status of ['pending', 'sent', 'failed'] as const)
      if ((scanned[status] ?? 0) !== kept[status])
        throw new Error(`the counts disagree: ${JSON.stringify({ kept, scanned })}`);
    const results = {
      kept: [] as Array<{ wall: number; cpu: number }>,
      scan: [] as Array<{ wall: number; cpu: number }>,
    };
    for (let round = 0; round < ROUNDS; round++) {
      results.kept.push(await timed(() => store.notifications.countDeliveries()));
      results.scan.push(await timed(fullScan));
    }
    const line = (label: string, xs: Array<{ wall: number; cpu: number }>) =>
      `  ${label}: median ${median(xs.map((x) => x.wall)).toFixed(2)} ms wall, ${median(xs.map((x) => x.cpu)).toFixed(2)} ms CPU of this process`;
    console.log(`${name}: ${ROWS.toLocaleString('en-US')} deliveries ${JSON.stringify(kept)}`);
    console.log(line('kept counts (countDeliveries)', results.kept));
    console.log(line('GROUP BY over the outbox (before)', results.scan));
    const statement = `select (select count(*) from notify_deliveries where status = 'pending'), (select coalesce(sum(n), 0) from notify_delivery_counts where status = 'sent'), (select coalesce(sum(n), 0) from notify_delivery_counts where status = 'failed')`;
    const plan = await sql
      .raw(`${name === 'postgres' ? 'explain (analyze, buffers)' : 'explain query plan'} ${statement}`)
      .execute(db);
    for (const row of plan.rows as Array<Record<string, unknown>>)
      console.log(`    ${name === 'postgres' ? String(Object.values(row)[0]) : String(row.detail)}`);
  } finally {
    await store.close();
    await db.destroy();
    await where.cleanup();
  }
}
