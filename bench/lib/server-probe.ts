/**
 * A bench-only probe loaded into the certkeeper server with `--import` (nothing in src/ knows of
 * it): what a request costs inside the process, read without a profiler.
 *
 * - PostgreSQL statements: every statement the store sends (its statement channel, on a `pg`
 *   client or pipelined) is counted, by SQL text (first 120 characters), so statements per
 *   request are counted, not guessed; each one's round trip is timed (the slowest texts kept),
 *   and so is each wait for a client of the `pg` pool (`Pool.connect`), which only transactions
 *   take.
 * - The event loop's delay: perf_hooks.monitorEventLoopDelay at 1 ms resolution (the histogram of
 *   how late the loop ran a timer), and the garbage collector's pauses (PerformanceObserver 'gc'),
 *   by kind (minor, major, incremental, weak callbacks).
 * - Stalls, time-stamped: a 1 ms interval timer that ran more than STALL_MS late (the loop was
 *   busy that long), each with the event-loop thread's own CPU time in it
 *   (process.threadCpuUsage) and the GC pauses and long SQLite calls that ended inside it. The CPU
 *   time is what survives a loaded machine: a stall the thread spent computing is certkeeper's
 *   own work; one it spent off the CPU is the disk (a synchronous read) or the scheduler.
 * - SQLite: every better-sqlite3 statement run (`run`, `get`, `all`) and `exec` /
 *   `pragma` is timed; calls over LONG_SQLITE_MS are kept with their SQL (first 120 characters),
 *   and the total time and count of calls are reported (the synchronous part of the store).
 * - Disk reads: /proc/self/io's `read_bytes` (what the kernel read from the disk for this
 *   process: page-cache misses) and `syscr` (read calls), so a store that is not in memory shows
 *   as disk bytes per request rather than as a mystery in the CPU figure.
 * - Memory: `process.memoryUsage()` every 200 ms, the largest of each part (RSS, V8 heap committed
 *   and used, external and array buffers: what the RSS target is made of) and the RSS sample's split.
 * - Requests as the server sees them (diagnostics_channel `http.server.request.start` to
 *   `http.server.response.finish`): their latency percentiles, to compare with the load
 *   generator's (what the server does not see is the kernel, the generator and the scheduler).
 *
 * On SIGUSR2 the probe writes what it gathered since the last signal as JSON to
 * $CERTKEEPER_BENCH_PROBE_FILE (a rename, so the reader never sees half a file) and starts over.
 * bench/lib/probe.ts reads it.
 */
import { subscribe, tracingChannel } from 'node:diagnostics_channel';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { constants, createHistogram, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pg from 'pg';

const FILE = process.env.CERTKEEPER_BENCH_PROBE_FILE;
/** A stall: the 1 ms interval ran at least this late. */
const STALL_MS = Number(process.env.CERTKEEPER_BENCH_PROBE_STALL_MS ?? '5');
const LONG_SQLITE_MS = Number(process.env.CERTKEEPER_BENCH_PROBE_SQLITE_MS ?? '2');
/** Kept per interval at most (the longest), so a bad run cannot grow the probe without bound. */
const KEEP = 200;

let statements = 0;
let byText = new Map<string, number>();
/** Each statement's round trip (query call → its answer), by SQL text, ms: total and slowest. */
let roundTrips = new Map<string, { count: number; totalMs: number; maxMs: number }>();
let roundTripHistogram = createHistogram();
/**
 * Calls `call` with `args` and reports how long it took to complete: to its callback when the last
 * argument is one (pg-pool's own `query` and `connect` use callbacks), else to the settling of
 * the promise it returns. The caller gets the same result (or the same promise) as without it.
 */
function timed(args: unknown[], call: (args: unknown[]) => unknown, done: (ms: number) => void): unknown {
  const t = performance.now();
  const callback = args.at(-1);
  if (typeof callback === 'function') {
    return call([
      ...args.slice(0, -1),
      (...results: unknown[]) => {
        done(performance.now() - t);
        return (callback as (...a: unknown[]) => unknown)(...results);
      },
    ]);
  }
  const result = call(args);
  if (result instanceof Promise) {
    const settled = (): void => done(performance.now() - t);
    result.then(settled, settled);
  }
  return result;
}

// The store publishes each statement it sends to PostgreSQL, on a `pg` client or on the
// statement pipeline (src/store/postgres-statements.ts STATEMENT_CHANNEL; channels are found by
// name, so the probe needs none of src/'s modules).
const sentAt = new WeakMap<object, number>();
tracingChannel<unknown, { text: string }>('certkeeper:store:statement').subscribe({
  start(context) {
    statements++;
    const key = context.text.slice(0, 120);
    byText.set(key, (byText.get(key) ?? 0) + 1);
    sentAt.set(context, performance.now());
  },
  asyncEnd: answered,
  error: answered,
  end() {},
  asyncStart() {},
});
function answered(context: { text: string }): void {
  const t = sentAt.get(context);
  if (t === undefined) return;
  sentAt.delete(context);
  const ms = performance.now() - t;
  const key = context.text.slice(0, 120);
  const entry = roundTrips.get(key) ?? { count: 0, totalMs: 0, maxMs: 0 };
  roundTrips.set(key, { count: entry.count + 1, totalMs: entry.totalMs + ms, maxMs: Math.max(entry.maxMs, ms) });
  roundTripHistogram.record(Math.max(1, Math.round(ms * 1000)));
}

// The pool: how long a query waited for a client (pool.connect() → the client handed over),
// including the opening of a connection when the pool grows. A request that finds all of the
// pool's clients busy waits here, which neither the event loop's delay nor a statement's round
// trip shows.
let poolWaits = createHistogram();
let poolWaitsOver1Ms = 0;
const poolConnect = pg.Pool.prototype.connect;
pg.Pool.prototype.connect = function (this: pg.Pool, ...args: unknown[]) {
  return timed(
    args,
    (wrapped) => (poolConnect as (...a: unknown[]) => unknown).apply(this, wrapped),
    (ms) => {
      poolWaits.record(Math.max(1, Math.round(ms * 1000)));
      if (ms >= 1) poolWaitsOver1Ms++;
    },
  );
} as typeof poolConnect;

const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();

interface Timed {
  /** performance.now() at the end, ms. */
  at: number;
  ms: number;
  /** The thread's CPU time in it, ms. */
  cpuMs?: number;
}
interface GcPause extends Timed {
  kind: string;
}
interface SqliteCall extends Timed {
  sql: string;
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
let gc: GcPause[] = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind =
      GC_KINDS[((entry as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind ?? -1] ?? 'other';
    gc.push({ at: entry.startTime + entry.duration, ms: entry.duration, kind });
  }
}).observe({ entryTypes: ['gc'] });

// Memory: the largest of each part since the last report; `atRssMax`, every part at the RSS peak.
type MemoryParts = { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
let memoryMax: MemoryParts | null = null;
let memoryAtRssMax: MemoryParts | null = null;
setInterval(() => {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  const now = { rss, heapTotal, heapUsed, external, arrayBuffers };
  if (!memoryAtRssMax || rss > memoryAtRssMax.rss) memoryAtRssMax = now;
  memoryMax = memoryMax
    ? (Object.fromEntries(
        Object.entries(now).map(([part, bytes]) => [part, Math.max(bytes, memoryMax![part as keyof MemoryParts])]),
      ) as MemoryParts)
    : now;
}, 200).unref();

// Stalls: how late a 1 ms interval ran, time-stamped.
let stalls: Timed[] = [];
const threadCpuMs = (): number => {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
};
let last = performance.now();
let lastCpu = threadCpuMs();
setInterval(() => {
  const now = performance.now();
  const cpu = threadCpuMs();
  const late = now - last - 1;
  if (late >= STALL_MS) stalls.push({ at: now, ms: late, cpuMs: cpu - lastCpu });
  last = now;
  lastCpu = cpu;
}, 1).unref();

// SQLite: better-sqlite3's statements are one prototype, shared by every connection of this thread.
let sqliteCalls = 0;
let sqliteMs = 0;
let longSqlite: SqliteCall[] = [];
try {
  const scratch = new Database(':memory:');
  const statementProto = Object.getPrototypeOf(scratch.prepare('select 1')) as Record<string, unknown>;
  scratch.close();
  const wrap = (target: Record<string, unknown>, name: string, sqlOf: (self: unknown, args: unknown[]) => string) => {
    const original = target[name] as (...a: unknown[]) => unknown;
    target[name] = function (this: unknown, ...args: unknown[]) {
      const t = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        const now = performance.now();
        const ms = now - t;
        sqliteCalls++;
        sqliteMs += ms;
        if (ms >= LONG_SQLITE_MS)
          longSqlite.push({ at: now, ms, sql: sqlOf(this, args).replace(/\s+/g, ' ').trim().slice(0, 120) });
      }
    };
  };
  const source = (self: unknown): string => (self as { source: string }).source;
  // `iterate` is not timed: it returns at once and its rows are stepped later, outside any call.
  for (const name of ['run', 'get', 'all']) wrap(statementProto, name, source);
  const dbProto = Database.prototype as unknown as Record<string, unknown>;
  wrap(dbProto, 'exec', (_, args) => `exec ${String(args[0])}`);
  wrap(dbProto, 'pragma', (_, args) => `pragma ${String(args[0])}`);
} catch {
  // better-sqlite3 not loadable (no native build): nothing to time.
}

// Requests as the server sees them.
const requestStart = new WeakMap<object, number>();
let served = createHistogram();
let longRequests: Array<Timed & { url: string }> = [];
subscribe('http.server.request.start', (message) => {
  requestStart.set((message as { request: object }).request, performance.now());
});
subscribe('http.server.response.finish', (message) => {
  const { request } = message as { request: { url?: string } };
  const start = requestStart.get(request);
  if (start === undefined) return;
  const now = performance.now();
  const ms = now - start;
  served.record(Math.max(1, Math.round(ms * 1000)));
  if (ms >= STALL_MS) longRequests.push({ at: now, ms, url: (request.url ?? '').slice(0, 80) });
});

/** /proc/self/io's read_bytes and syscr (Linux; zeros elsewhere). */
const io = (): { readBytes: number; readCalls: number } => {
  try {
    const text = readFileSync('/proc/self/io', 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return { readBytes: field('read_bytes'), readCalls: field('syscr') };
  } catch {
    return { readBytes: 0, readCalls: 0 };
  }
};
let io0 = io();

const ms = (ns: number): number => ns / 1e6;
const longest = <T extends Timed>(xs: T[]): T[] => [...xs].sort((a, b) => b.ms - a.ms).slice(0, KEEP);
const round = (x: number): number => Math.round(x * 100) / 100;

process.on('SIGUSR2', () => {
  if (!FILE) return;
  const sortedGc = gc.map((p) => p.ms).sort((a, b) => a - b);
  const byKind: Record<string, { count: number; totalMs: number; maxMs: number }> = {};
  for (const p of gc) {
    const k = (byKind[p.kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
    k.count++;
    k.totalMs += p.ms;
    k.maxMs = Math.max(k.maxMs, p.ms);
  }
  // Each stall with what ended inside it (GC pauses, long SQLite calls): its cause when one covers it.
  const describe = (s: Timed) => {
    const from = s.at - s.ms - 1;
    const inside = <T extends Timed>(xs: T[]): T[] => xs.filter((x) => x.at >= from && x.at <= s.at + 1);
    return {
      at: round(s.at),
      ms: round(s.ms),
      cpuMs: round(s.cpuMs ?? 0),
      gc: inside(gc).map((p) => `${p.kind} ${p.ms.toFixed(1)}`),
      sqlite: inside(longSqlite).map((c) => `${c.ms.toFixed(1)} ${c.sql.slice(0, 60)}`),
    };
  };
  const stallReport = longest(stalls).map(describe);
  const busiest = [...stalls]
    .sort((a, b) => (b.cpuMs ?? 0) - (a.cpuMs ?? 0))
    .slice(0, KEEP)
    .map(describe);
  const io1 = io();
  const report = {
    statements,
    disk: { readBytes: io1.readBytes - io0.readBytes, readCalls: io1.readCalls - io0.readCalls },
    memory: memoryMax && memoryAtRssMax ? { max: memoryMax, atRssMax: memoryAtRssMax } : undefined,
    byText: Object.fromEntries([...byText].sort((a, b) => b[1] - a[1])),
    eventLoopDelayMs: {
      count: loop.count,
      min: ms(loop.min),
      mean: ms(loop.mean),
      p50: ms(loop.percentile(50)),
      p90: ms(loop.percentile(90)),
      p99: ms(loop.percentile(99)),
      p999: ms(loop.percentile(99.9)),
      max: ms(loop.max),
    },
    gc: {
      count: sortedGc.length,
      totalMs: sortedGc.reduce((a, b) => a + b, 0),
      maxMs: sortedGc.at(-1) ?? 0,
      p99Ms: sortedGc[Math.floor(sortedGc.length * 0.99)] ?? 0,
      over5Ms: sortedGc.filter((d) => d > 5).length,
      byKind,
    },
    stalls: {
      count: stalls.length,
      totalMs: stalls.reduce((a, s) => a + s.ms, 0),
      cpuMs: stalls.reduce((a, s) => a + (s.cpuMs ?? 0), 0),
      // Stalls the thread spent mostly on the CPU: certkeeper's own synchronous work (or GC).
      busy: stalls.filter((s) => (s.cpuMs ?? 0) >= s.ms / 2).length,
      busyMaxMs: Math.max(0, ...stalls.filter((s) => (s.cpuMs ?? 0) >= s.ms / 2).map((s) => s.ms)),
      longest: stallReport,
      /** The same, most CPU first. */
      busiest,
    },
    postgres: {
      roundTripMs: {
        p50: roundTripHistogram.count ? roundTripHistogram.percentile(50) / 1000 : 0,
        p99: roundTripHistogram.count ? roundTripHistogram.percentile(99) / 1000 : 0,
        max: roundTripHistogram.count ? roundTripHistogram.max / 1000 : 0,
      },
      slowest: [...roundTrips]
        .sort((a, b) => b[1].maxMs - a[1].maxMs)
        .slice(0, 5)
        .map(([sql, r]) => ({ sql, count: r.count, meanMs: round(r.totalMs / r.count), maxMs: round(r.maxMs) })),
      poolWaits: {
        count: poolWaits.count,
        over1Ms: poolWaitsOver1Ms,
        p99Ms: poolWaits.count ? poolWaits.percentile(99) / 1000 : 0,
        maxMs: poolWaits.count ? poolWaits.max / 1000 : 0,
      },
    },
    sqlite: {
      calls: sqliteCalls,
      totalMs: sqliteMs,
      long: longest(longSqlite).map((c) => ({ at: round(c.at), ms: round(c.ms), sql: c.sql })),
    },
    served: {
      count: served.count,
      p50Ms: served.count ? served.percentile(50) / 1000 : 0,
      p99Ms: served.count ? served.percentile(99) / 1000 : 0,
      p999Ms: served.count ? served.percentile(99.9) / 1000 : 0,
      maxMs: served.count ? served.max / 1000 : 0,
      long: longest(longRequests)
        .slice(0, 20)
        .map((r) => ({ at: round(r.at), ms: round(r.ms), url: r.url })),
    },
  };
  writeFileSync(`${FILE}.tmp`, JSON.stringify(report));
  renameSync(`${FILE}.tmp`, FILE);
  io0 = io();
  memoryMax = null;
  memoryAtRssMax = null;
  statements = 0;
  byText = new Map();
  roundTrips = new Map();
  roundTripHistogram = createHistogram();
  poolWaits = createHistogram();
  poolWaitsOver1Ms = 0;
  gc = [];
  stalls = [];
  sqliteCalls = 0;
  sqliteMs = 0;
  longSqlite = [];
  served = createHistogram();
  longRequests = [];
  loop.reset();
});
