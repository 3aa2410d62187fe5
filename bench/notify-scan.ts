/**
 * The notification expiry pass at scale: what one pass costs with a million certificates.
 *
 *   npm run bench:notify-scan -- [--rows 1000000] [--stores sqlite,postgres] [--passes 100] [--api-seconds 10] [--keep]
 *
 * Seeds `--rows` certificates for one tenant through bench/lib/bulk-load.ts (rows, domain rows
 * and search rows, indexes built after the load; facts JSON of the usual size; notAfter spread
 * evenly over [now − 200 days, now + 400 days), notBefore 397 days earlier), rebuilds the
 * counters with the migrations' backfills (checked against COUNT(*)), then gives the tenant a webhook channel and a rule for certificate.expiring and
 * certificate.expired (the default thresholds, horizon 30 days). Then, through the real code
 * (core/notifications/expiry.ts on the store's repositories):
 * 1. the tenant's first pass (its scan fills the schedule with every certificate inside the
 *    30-day horizon, about 5% of them) and the catch-up passes that queue their first notices,
 *    500 a pass: a one-time cost, reported as such;
 * 2. `--passes` steady-state passes, the clock moved 60 s (the default scan interval) before
 *    each, with 20 certificates imported through core between passes (so the changed-rows range
 *    has work): median, p99 and maximum per pass, to compare with the 50 ms budget of issue 18.
 *    Same-run baseline, interleaved pass by pass: every other pass issues the statements per due
 *    row as the pass did before it read and wrote a pass's rows together (the certificate and the
 *    tenant read, the notices enqueued and the row moved, one by one, a commit each; the scan's
 *    reads and writes are the new ones in both). The store runs as
 *    `serve` runs it: SQLite's WAL checkpoints on their background thread. Each slow pass
 *    (over 25 ms) is printed with the time of each store call, to say where it went.
 * 3. The API with and without the scan: a real server (`bin/certkeeper.js serve`, a child process)
 *    on the same database answers NCP v1 list with a name filter under autocannon for
 *    `--api-seconds`, alternately while this process runs expiry passes back to back on the same
 *    database (each a minute later on its clock: a scan 600 times busier than the default) and
 *    while it runs none; req/s and p99 of each.
 * The pass reads index ranges bounded by what happened since the previous pass, never every
 * certificate: its cost should not grow with `--rows` (try 100000 vs 1000000).
 *
 * No `--reuse-*`: a run is not read-only. It writes what it measures the first time (the
 * channel and rule, the schedule the first pass fills, the notices, the tenant's scan cursor)
 * and imports 20 certificates a pass under fixed names, so a second run on the same store would
 * measure a warm schedule instead of the first pass, and collide on names; undoing all of that
 * would mean knowing every notification table. Seeding 1,000,000 rows through bulk-load.ts costs
 * about what bench/run.ts's seed does, so a fresh seed per run is the sound choice.
 *
 * PostgreSQL: `CERTKEEPER_BENCH_PG_URL` (default CERTKEEPER_TEST_PG_URL, else
 * postgres://postgres@127.0.0.1:5432/postgres) is an admin connection; the run creates
 * `certkeeper_bench_<pid>_<random>` and drops it at the end (unless --keep).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import type { AutocannonRequest } from 'autocannon';
import { createCore } from '../src/core/core.ts';
import { runExpiryPass } from '../src/core/notifications/expiry.ts';
import { DEFAULT_NOTIFICATION_SETTINGS } from '../src/core/notifications/service.ts';
import type { Clock, Store } from '../src/core/ports.ts';
import { connect } from '../src/store/connect.ts';
import { openStore } from '../src/store/open.ts';
import { signedHeaders } from '../test/helpers/ncp-client.ts';
import { bulkLoad, rebuildCounters, settle, type BulkCertificate, type BulkRow } from './lib/bulk-load.ts';
import { combine, runLoad, type LoadResult } from './lib/load.ts';
import { startCertkeeper } from './lib/processes.ts';

const DAY = 86_400_000;
const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    stores: { type: 'string', default: 'sqlite' },
    passes: { type: 'string', default: '100' },
    'api-seconds': { type: 'string', default: '10' },
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
const percentile = (xs: number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
};
const summary = (xs: number[]): string =>
  `median ${percentile(xs, 50).toFixed(2)} ms, p99 ${percentile(xs, 99).toFixed(2)} ms, max ${Math.max(...xs).toFixed(2)} ms (${xs.length} passes)`;

/**
 * Statements seen by the drivers, for the per-call breakdown: better-sqlite3's Statement methods
 * (synchronous: the time is the library's, WAL writes included) and pg's Client.query (the time
 * is the round trip). The WAL checkpointer runs its own connection on a worker thread, outside
 * this count. Plus this thread's I/O (/proc/thread-self/io: bytes handed to write(), and bytes
 * read from the disk rather than the page cache).
 */
const statements = { count: 0, ms: 0, texts: new Map<string, { n: number; ms: number }>() };
const countStatement = (text: string, ms: number): void => {
  statements.count += 1;
  statements.ms += ms;
  const key = text.replace(/\s+/g, ' ').trim().slice(0, 70);
  const e = statements.texts.get(key) ?? { n: 0, ms: 0 };
  statements.texts.set(key, { n: e.n + 1, ms: e.ms + ms });
};
{
  const probe = new Sqlite(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('select 1')) as Record<string, unknown>;
  probe.close();
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = proto[method] as (this: Sqlite.Statement, ...args: unknown[]) => unknown;
    proto[method] = function (this: Sqlite.Statement, ...args: unknown[]) {
      const t1 = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        countStatement(this.source, performance.now() - t1);
      }
    };
  }
  const pgProto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = pgProto.query;
  pgProto.query = function (this: pg.Client, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string } | undefined)?.text ?? '?');
    const t1 = performance.now();
    const result = query.apply(this, args);
    if (result instanceof Promise) return result.finally(() => countStatement(text, performance.now() - t1));
    countStatement(text, performance.now() - t1);
    return result;
  };
}
/**
 * This thread's I/O and scheduling: /proc/thread-self/io (bytes handed to write(), bytes read from
 * the disk rather than the page cache), its CPU time, and /proc/thread-self/schedstat's time spent
 * runnable but waiting for a CPU. A call's wall time minus both is time blocked: on the disk, a
 * lock, or (PostgreSQL) the server's answer.
 */
const threadIo = (): { wchar: number; readBytes: number; cpuMs: number; queuedMs: number } => {
  const text = readFileSync('/proc/thread-self/io', 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  // schedstat's CPU time is brought up to date only at a tick or a switch: the CPU comes from
  // process.threadCpuUsage() (getrusage of this thread) instead.
  const [, queuedNs = 0] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number);
  const cpu = process.threadCpuUsage();
  return {
    wchar: field('wchar'),
    readBytes: field('read_bytes'),
    cpuMs: (cpu.user + cpu.system) / 1000,
    queuedMs: queuedNs / 1e6,
  };
};

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
  // As `serve` runs the store: SQLite's WAL checkpoints on their own thread, not in a commit.
  store.startBackgroundCheckpoints((message) => console.error(`checkpointer: ${message}`));
  const core = createCore(store, clock, { ...DEFAULT_NOTIFICATION_SETTINGS, publicBaseUrl: 'https://certs.example' });
  const tenant = await core.tenants.create('bench');
  const admin = { tenantId: tenant.id, id: 'cli', role: 'ADMIN' as const, remoteAddress: null };

  // Seed.
  let t = performance.now();
  const storeOptions = where.databaseUrl
    ? { dataDir: where.dataDir, databaseUrl: where.databaseUrl }
    : { dataDir: where.dataDir };
  const pem = `-----BEGIN CERTIFICATE-----\n${randomBytes(900)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
  const row = (i: number): BulkRow => {
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
    const certificate: BulkCertificate = {
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
      revocation_requested_at: null,
      deleted_at: null,
    };
    return { row: certificate, domains: [cn], ips: [] };
  };
  // bulk-load.ts: rows, domain rows and search rows, indexes built after; then the counters.
  const bulk = await bulkLoad(where, ROWS, row, console.log);
  const { db, dialect } = await connect(storeOptions);
  await rebuildCounters(db, dialect);
  await settle(db, dialect);
  await db.destroy();
  console.log(
    `${storeName}: ${ROWS} certificates seeded in ${((performance.now() - t) / 1000).toFixed(1)} s (written in ${bulk.loadS.toFixed(1)} s, indexes ${bulk.indexS.toFixed(1)} s; CPU: ${bulk.cpu}); counters checked`,
  );

  await core.notifications.addChannel(admin, { kind: 'webhook', name: 'ops', url: 'https://hooks.example/ck' });
  await core.notifications.addRule(admin, {
    name: 'expiry',
    events: ['certificate.expiring', 'certificate.expired'],
    channels: ['ops'],
  });
  // Per-call timing of the store (to say where a slow pass went), and the baseline's writes.
  interface Call {
    name: string;
    ms: number;
    statements: number;
    statementMs: number;
    wchar: number;
    readBytes: number;
    cpuMs: number;
    queuedMs: number;
  }
  const calls: Call[] = [];
  const timed = <T extends object>(label: string, target: T): T =>
    new Proxy(target, {
      get(obj, key, receiver) {
        const value = Reflect.get(obj, key, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const s0 = statements.count;
          const sm0 = statements.ms;
          const io0 = threadIo();
          const t1 = performance.now();
          try {
            return (await (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args)) as unknown;
          } finally {
            const ms = performance.now() - t1;
            const io1 = threadIo();
            calls.push({
              name: `${label}.${String(key)}`,
              ms,
              statements: statements.count - s0,
              statementMs: statements.ms - sm0,
              wchar: io1.wchar - io0.wchar,
              readBytes: io1.readBytes - io0.readBytes,
              cpuMs: io1.cpuMs - io0.cpuMs,
              queuedMs: io1.queuedMs - io0.queuedMs,
            });
          }
        };
      },
    });
  const timedStore = (perRow: boolean): Store => {
    const notifications = timed('notifications', store.notifications);
    const certificates = timed('certificates', store.certificates);
    const tenants = timed('tenants', store.tenants);
    return new Proxy(store, {
      get(obj, key, receiver) {
        if (key === 'certificates') return certificates;
        if (key === 'tenants') return tenants;
        if (key !== 'notifications') return Reflect.get(obj, key, receiver) as unknown;
        if (!perRow) return notifications;
        // The baseline: the statements per due row as the pass issued them before it read and
        // wrote a pass's rows together: its certificate and its tenant read one by one, and its
        // notices and its move written one by one, a commit each.
        return new Proxy(notifications, {
          get(n, k, r) {
            if (k === 'dueSchedule') {
              const due: typeof store.notifications.dueSchedule = async (now, limit) => {
                const entries = await n.dueSchedule(now, limit);
                for (const entry of entries) {
                  await certificates.get(entry.tenantId, entry.certificateNo);
                  await tenants.getById(entry.tenantId);
                }
                return entries;
              };
              return due;
            }
            if (k !== 'settleSchedule') return Reflect.get(n, k, r) as unknown;
            const settle: typeof store.notifications.settleSchedule = async (items, at) => {
              let inserted = 0;
              for (const item of items) {
                inserted += (await n.enqueue(item.tenantId, item.deliveries, at)).length;
                await n.reschedule(item.entry, item.nextDueAt);
              }
              return inserted;
            };
            return settle;
          },
        });
      },
    });
  };
  const contextOf = (perRow: boolean) => ({
    store: timedStore(perRow),
    clock,
    publicBaseUrl: 'https://certs.example',
    retentionMs: 30 * DAY,
  });
  const context = contextOf(false);

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

  // 2. Steady state, interleaved with the baseline.
  const times: number[] = [];
  const baseline: number[] = [];
  // Store calls per pass (one statement each on PostgreSQL for the pass's own calls), and the
  // garbage collector's pauses that fell inside a pass (to tell a GC pause from a slow store).
  const callCounts: number[] = [];
  const baselineCallCounts: number[] = [];
  const gcPauses: { start: number; end: number }[] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcPauses.push({ start: e.startTime, end: e.startTime + e.duration });
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const cpuTimes: number[] = [];
  const baselineCpu: number[] = [];
  let gcInPasses = 0;
  let maxGc = 0;
  const gcWithin = (from: number, to: number): number =>
    gcPauses.reduce((sum, g) => sum + Math.max(0, Math.min(to, g.end) - Math.max(from, g.start)), 0);
  let steadyQueued = 0;
  // The pass's store calls, pass by pass (not the baseline's), for the breakdown.
  const perCall = new Map<string, Call[]>();
  const passStatements: number[] = [];
  const passTexts = new Map<string, { n: number; ms: number }>();
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
    const isBaseline = p % 2 === 1;
    calls.length = 0;
    if (!isBaseline) statements.texts = new Map();
    const statements0 = statements.count;
    const cpu0 = process.cpuUsage();
    t = performance.now();
    const result = await runExpiryPass(contextOf(isBaseline), { batch: 500 });
    const took = performance.now() - t;
    const cpuSpent = process.cpuUsage(cpu0);
    // This process's CPU (every thread, the checkpointer's included) during the pass: far below
    // the wall time means the pass waited (for the CPU under load, the disk, or the server).
    const cpuMs = (cpuSpent.user + cpuSpent.system) / 1000;
    (isBaseline ? baselineCpu : cpuTimes).push(cpuMs);
    (isBaseline ? baseline : times).push(took);
    (isBaseline ? baselineCallCounts : callCounts).push(calls.length);
    if (!isBaseline) {
      passStatements.push(statements.count - statements0);
      for (const c of calls) {
        const list = perCall.get(c.name) ?? [];
        list.push(c);
        perCall.set(c.name, list);
      }
      for (const [text, e] of statements.texts) {
        const all = passTexts.get(text) ?? { n: 0, ms: 0 };
        passTexts.set(text, { n: all.n + e.n, ms: all.ms + e.ms });
      }
    }
    const gc = gcWithin(t, t + took);
    gcInPasses += gc;
    maxGc = Math.max(maxGc, gc);
    steadyQueued += result.queued;
    if (took > 25) {
      const by = new Map<string, [number, number]>();
      for (const c of calls) {
        const e = by.get(c.name) ?? [0, 0];
        by.set(c.name, [e[0] + 1, e[1] + c.ms]);
      }
      console.log(
        `  slow pass ${p}${isBaseline ? ' (baseline)' : ''}: ${took.toFixed(1)} ms, ${result.due} due, cpu ${cpuMs.toFixed(1)} ms, gc ${gc.toFixed(1)} ms: ` +
          [...by]
            .filter(([, [, ms]]) => ms >= 1)
            .map(([n, [k, ms]]) => `${n}×${k} ${ms.toFixed(1)} ms`)
            .join(', '),
      );
    }
  }
  console.log(
    `${storeName}: steady state, passes 60 s apart with 20 imports between, ${steadyQueued} notices queued:\n` +
      `  the pass:                         ${summary(times)}\n` +
      `  baseline (per due row: 2 reads, 2 commits): ${summary(baseline)}\n` +
      `  store calls a pass (median): ${percentile(callCounts, 50)}, baseline ${percentile(baselineCallCounts, 50)}; ` +
      `this process's CPU a pass (median / max): ${percentile(cpuTimes, 50).toFixed(1)} / ${Math.max(...cpuTimes).toFixed(1)} ms, ` +
      `baseline ${percentile(baselineCpu, 50).toFixed(1)} / ${Math.max(...baselineCpu).toFixed(1)} ms; ` +
      `gc inside passes: ${gcInPasses.toFixed(1)} ms in all, at most ${maxGc.toFixed(1)} ms in one`,
  );
  gcObserver.disconnect();
  // Where the pass's time goes, call by call: wall time; statements and the time inside the
  // driver (SQLite: the library's, WAL writes included; PostgreSQL: round trips); this thread's
  // write() bytes and disk reads. Medians over the pass's passes (the maximum of the wall time).
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
  console.log(
    `${storeName}: the pass call by call (${times.length} passes; statements a pass: median ${percentile(passStatements, 50)}, max ${Math.max(...passStatements)}):`,
  );
  for (const [name, list] of perCall) {
    const m = (f: (c: Call) => number) => percentile(list.map(f), 50);
    console.log(
      `  ${name.padEnd(38)} ×${(list.length / times.length).toFixed(2)}/pass  wall median ${m((c) => c.ms).toFixed(2)} ms, max ${Math.max(...list.map((c) => c.ms)).toFixed(2)} ms; ` +
        `thread CPU ${m((c) => c.cpuMs).toFixed(2)} ms, waiting for a CPU ${m((c) => c.queuedMs).toFixed(2)} ms (max ${Math.max(...list.map((c) => c.queuedMs)).toFixed(1)}), ` +
        `blocked ${m((c) => c.ms - c.cpuMs - c.queuedMs).toFixed(2)} ms (max ${Math.max(...list.map((c) => c.ms - c.cpuMs - c.queuedMs)).toFixed(1)}); ` +
        `statements median ${m((c) => c.statements)}, max ${Math.max(...list.map((c) => c.statements))}, in the driver ${m((c) => c.statementMs).toFixed(2)} ms; ` +
        `write() ${kb(m((c) => c.wchar))}, disk reads ${kb(m((c) => c.readBytes))}`,
    );
  }
  console.log(`  statement texts over those passes (count, total ms):`);
  for (const [text, e] of [...passTexts].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12))
    console.log(`    ${String(e.n).padStart(6)} ${e.ms.toFixed(1).padStart(8)} ms  ${text}`);

  // 3. The API with and without the scan.
  const viewer = await core.credentials.createForTenant(tenant.id, 'VIEWER', 'bench');
  await store.close();
  const server = await startCertkeeper({
    dataDir: where.dataDir,
    ...(where.databaseUrl ? { databaseUrl: where.databaseUrl } : {}),
    masterKey,
    logLevel: 'warn',
    // The server's own expiry pass stays out of the way: its clock is not the bench's.
    env: { CERTKEEPER_NOTIFY_SCAN_SECONDS: '3600' },
  });
  const scanner = await openStore({
    dataDir: where.dataDir,
    masterKey,
    clock,
    ...(where.databaseUrl ? { databaseUrl: where.databaseUrl } : {}),
  });
  const scanContext = { store: scanner, clock, publicBaseUrl: 'https://certs.example', retentionMs: 30 * DAY };
  // The server ran its first pass at start on its own (real) clock, moving the scan cursor to
  // it; put the cursor back on the bench's clock, or the next pass would read months of range.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  await scanner.notifications.advanceScanCursor(
    tenant.id,
    (await scanner.notifications.expiryTenants()).find((e) => e.tenantId === tenant.id)?.scannedUntil ?? null,
    clock.now(),
    clock.now(),
  );
  const requests: AutocannonRequest[] = [
    {
      method: 'GET',
      setupRequest: (request) => {
        const path = `/api/v1/certificates?certificateName=cert-${Math.floor(Math.random() * ROWS)}`;
        return {
          ...request,
          method: 'GET',
          path,
          headers: {
            accept: 'application/json',
            ...signedHeaders({
              method: 'GET',
              url: path,
              accessKey: viewer.credential.accessKey,
              secretKey: viewer.secretKey,
              variant: 'java-raw',
            }),
          },
        };
      },
    },
  ];
  const load = () =>
    runLoad({ url: server.url, connections: 8, seconds: Number(values['api-seconds']), requests, cpuPid: server.pid });
  await runLoad({ url: server.url, connections: 8, seconds: 2, requests }); // warm-up
  const withScan: LoadResult[] = [];
  const without: LoadResult[] = [];
  let scanPasses = 0;
  for (let round = 0; round < 2; round++) {
    without.push(await load());
    let scanning = true;
    const loop = (async () => {
      while (scanning) {
        clock.advance(60_000);
        await runExpiryPass(scanContext, { batch: 500 });
        scanPasses += 1;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    withScan.push(await load());
    scanning = false;
    await loop;
  }
  const describeLoad = (runs: LoadResult[]) => {
    const all = combine(runs);
    return `${all.rps.toFixed(0)} req/s, p50 ${all.p50Ms.toFixed(2)} ms, p99 ${all.p99Ms.toFixed(2)} ms (${all.non2xx} non-2xx)`;
  };
  console.log(
    `${storeName}: API (NCP v1 list, name filter; 8 connections, 2 × ${values['api-seconds']} s each, alternating):\n` +
      `  without the scan:                 ${describeLoad(without)}\n` +
      `  with passes back to back (${scanPasses} passes, 100 ms apart): ${describeLoad(withScan)}`,
  );
  await scanner.close();
  await server.stop();
  if (!values.keep) {
    await where.drop();
    await rm(where.dataDir, { recursive: true, force: true });
  } else console.log(`kept: ${where.dataDir} ${where.databaseUrl ?? ''}`);
}

for (const store of values.stores.split(',')) await bench(store.trim());
