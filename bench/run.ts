/**
 * The HTTP benchmark: certkeeper's hot endpoints at 10,000, 100,000 (and 1,000,000) certificates in
 * one tenant, on SQLite and PostgreSQL, through the real server over loopback, against a bare
 * Fastify ceiling measured in the same run.
 *
 *   npm run bench                               10,000 and 100,000 certificates, both stores
 *   npm run bench -- --scale 1000000            adds 1,000,000
 *   npm run bench -- --stores sqlite --scales 10000 --seconds 2      quick look
 *
 * Options: --scale N (repeatable: adds scales), --scales a,b (replaces the list), --stores
 * sqlite,postgres, --seconds 5 (per run), --warmup 2, --connections 32, --page-size 100 (NCP v2
 * pages), --imports 1500 and --import-warmup 150 (distinct RSA-2048 certificates per import
 * run), --import-cap 30 (seconds of import runs at most, see runCase), --pool 1000 (seed
 * pool), --startups 3, --rounds 5 (endpoint/ceiling slices), --quiet-cpu 0.3 and --quiet-wait 30
 * (wait for the shared machine to calm down before a case), --only id,id (cases), --profile
 * (server under --cpu-prof, profiles in bench/results/profiles/), --server-node-flags "…" (extra
 * node flags for the server, for experiments), --no-write (no JSON, no BENCHMARKS.md), --keep
 * (leave the stores behind), --open-loop 0.5 (after each list and download case, an open-loop run
 * at that fraction of the req/s just measured; 0 for none), --no-probe (server without
 * bench/lib/server-probe.ts), --no-warm (a reused SQLite file is not read into the page cache
 * first: see readIntoPageCache in lib/seed.ts).
 *
 * Seeding once, running many times (a million certificates take minutes to seed):
 * - --keep leaves each seeded store behind and prints the command that runs on it again;
 *   --sqlite-dir DIR / --postgres-db NAME seed into that (empty) directory or new database
 *   instead of a throw-away one, and keep it (one scale only);
 * - --seed-only seeds (and keeps) the stores and stops: no server, no cases;
 * - --reuse-sqlite DIR / --reuse-postgres URL run on a store so kept instead of seeding (its own
 *   scale; --scale(s) ignored for that store). The seed's manifest (bench/lib/seed.ts) gives the
 *   master key and credentials; the certificates earlier runs imported are deleted first and
 *   the counters rebuilt, so each run starts from the seeded rows. A reused store is never dropped.
 *   (bench/search.ts and bench/notify-scan.ts seed other data shapes: see their headers.)
 *
 * For each store and scale: a fresh store seeded by bench/lib/seed.ts; the server started
 * `--startups` times as `npm start` runs it (CERTKEEPER_LOG_LEVEL=warn), each in its own process on a
 * quiet machine, without the probe below, timing spawn → first 200 of /readyz; then once more, with
 * the probe, for the cases (that start is not counted); each case probed once
 * (must answer 200 and succeed), its response given to the ceiling server (bench/lib/ceiling-server.ts,
 * its own process, same Node and logger level), then autocannon drives the endpoint and the
 * ceiling with the same requests: warm-up, then `--rounds` slices of each in turn (so whatever
 * else the shared machine does hits both alike), server VmRSS sampled, and the CPU time of the
 * server (and of PostgreSQL), of the ceiling, per request read from /proc.
 * Import runs last, a fixed number of distinct certificates each sent once, NCP-signed per request.
 *
 * Inside the server, bench/lib/server-probe.ts (loaded with --import; src/ knows nothing of it)
 * counts PostgreSQL statements per request and records the event loop's delay histogram, the
 * GC pauses by kind, the stalls of the loop with its own CPU time in each, SQLite's time on the
 * loop, the disk reads and the requests' latency as the server saw them, for each measured run.
 * Open-loop runs (bench/lib/open-loop.ts): requests on a fixed schedule, latency from the
 * intended send time (no coordinated omission), p50/p99/p99.9, over 256 keep-alive connections
 * opened before the schedule, with the generator's own lag, loop delay and CPU, the
 * server's (and PostgreSQL's) CPU a request, and the server's probe of that run.
 *
 * Cases (NCP requests signed per request in autocannon's setupRequest, java-raw variant):
 * - ncp-v1-name   GET /api/v1/certificates?certificateName=<a random live name>
 * - ncp-v2-page1  GET /api/v2/certificate/getCertificates?page=1&pageSize=<page-size>
 * - ncp-v2-deep   the same, page = half the pages (offset ≈ live / 2)
 * - acm-list      POST / ListCertificates MaxItems <page-size> (SigV4; P-256 key types), oldest first
 * - acm-list-desc the same, newest first (SortOrder DESCENDING)
 * - nhn-list      GET /certmanager/v1.3/appkeys/<appKey>/certificates?status=UNEXPIRED (bearer token; NHN's default page of 10)
 * - nhn-download  GET /certmanager/v1.3/appkeys/<appKey>/certificates/<random pool name>/files
 * - edge-list     GET /api/v1/certificate/provisioning (1,000 slots; Global Edge's default page of 15)
 * - ncp-import    POST /api/v2/certificate/withExternal (RSA-2048 leaf + 2-certificate chain + key)
 */
import { cpus, availableParallelism, totalmem, type as osType, release } from 'node:os';
import { mkdir, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { AutocannonRequest } from 'autocannon';
import { cases, nhnToken, send, type Case, type Context } from './lib/cases.ts';
import { combine, machineBusy, perRequestUs, runLoad, summary, type LoadResult } from './lib/load.ts';
import { importPool, seedPool, type Pool } from './lib/pools.ts';
import { ROOT, rssBytes, startCeiling, startCertkeeper, type Child } from './lib/processes.ts';
import {
  checkTargets,
  RESULTS_DIR,
  updateBenchmarksMd,
  writeResults,
  type CaseResult,
  type Machine,
  type ScaleResult,
  type StoreResults,
} from './lib/results.ts';
import { MAX_SECONDS as OPEN_LOOP_MAX_SECONDS, runOpenLoop, type OpenLoopResult } from './lib/open-loop.ts';
import { probeSettings, readProbe, type ProbeReport } from './lib/probe.ts';
import {
  freshLocation,
  PG_ADMIN_URL,
  readIntoPageCache,
  reuseStore,
  seedStore,
  type Location,
  type Seeded,
} from './lib/seed.ts';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', multiple: true, default: [] },
    scales: { type: 'string' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    'page-size': { type: 'string', default: '100' },
    imports: { type: 'string', default: '1500' },
    'import-warmup': { type: 'string', default: '150' },
    pool: { type: 'string', default: '1000' },
    startups: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '5' },
    'quiet-cpu': { type: 'string', default: '0.3' },
    'quiet-wait': { type: 'string', default: '30' },
    'import-cap': { type: 'string', default: '30' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'server-node-flags': { type: 'string', default: '' },
    'no-write': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'reuse-sqlite': { type: 'string' },
    'reuse-postgres': { type: 'string' },
    'seed-only': { type: 'boolean', default: false },
    'sqlite-dir': { type: 'string' },
    'postgres-db': { type: 'string' },
    'open-loop': { type: 'string', default: '0.5' },
    'no-probe': { type: 'boolean', default: false },
    'no-warm': { type: 'boolean', default: false },
  },
});

const SCALES = [
  ...new Set([...(values.scales ?? '10000,100000').split(','), ...values.scale].map((s) => Number(s.trim()))),
]
  .filter((n) => Number.isInteger(n) && n > 0)
  .sort((a, b) => a - b);
const STORES = values.stores.split(',').map((s) => s.trim()) as Array<'sqlite' | 'postgres'>;
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const CONNECTIONS = Number(values.connections);
const PAGE_SIZE = Number(values['page-size']);
const IMPORTS = Number(values.imports);
const IMPORT_WARMUP = Number(values['import-warmup']);
const POOL = Number(values.pool);
const STARTUPS = Math.max(1, Number(values.startups));
const ROUNDS = Math.max(1, Number(values.rounds));
const QUIET_CPU = Number(values['quiet-cpu']);
const QUIET_WAIT_S = Number(values['quiet-wait']);
const IMPORT_CAP_S = Number(values['import-cap']);
const SERVER_NODE_FLAGS = values['server-node-flags'].split(/\s+/).filter(Boolean);
const ONLY = values.only ? new Set(values.only.split(',')) : null;
const LOG_LEVEL = 'warn';
const OPEN_LOOP = Number(values['open-loop']);
// Checked before any store is seeded or started, not when the first open loop refuses it.
if (OPEN_LOOP > 0 && SECONDS > OPEN_LOOP_MAX_SECONDS)
  throw new Error(
    `--seconds ${SECONDS} with --open-loop: an open loop signs its requests beforehand, at most ${OPEN_LOOP_MAX_SECONDS} s`,
  );
const PROBE = !values['no-probe'];
const PROBE_FILE = join(tmpdir(), `certkeeper-bench-probe-${process.pid}.json`);
for (const s of STORES) if (s !== 'sqlite' && s !== 'postgres') throw new Error(`unknown store ${s}`);

const log = (line: string): void => console.log(line);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// ---------------------------------------------------------------------------------------------
// Cases

// ---------------------------------------------------------------------------------------------
// Running a case

/**
 * The machine is shared: before a case, wait (up to --quiet-wait seconds) until everything else
 * uses less than --quiet-cpu of the CPUs, measured over one second while the benchmark is idle.
 * Returns the last measurement, recorded with the case.
 */
async function waitForQuiet(): Promise<number> {
  const until = performance.now() + QUIET_WAIT_S * 1000;
  let busy = await machineBusy();
  let told = false;
  while (busy > QUIET_CPU && performance.now() < until) {
    if (!told)
      log(
        `      (other processes use ${(busy * 100).toFixed(0)}% of the CPUs: waiting up to ${QUIET_WAIT_S} s for < ${(QUIET_CPU * 100).toFixed(0)}%)`,
      );
    told = true;
    await new Promise((r) => setTimeout(r, 2000));
    busy = await machineBusy();
  }
  return busy;
}

/** Waits until the server answers /healthz within 50 ms again (it may still be working through abandoned requests). */
async function drained(url: string): Promise<true> {
  const t0 = performance.now();
  for (;;) {
    const t = performance.now();
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok && performance.now() - t < 50) break;
    if (performance.now() - t0 > 600_000) throw new Error('server did not drain within 10 minutes');
    await new Promise((r) => setTimeout(r, 500));
  }
  log(`      (run cut short; server drained in ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  return true;
}

/** autocannon's request list: every request built by `next`, its path rewritten for the ceiling. */
function requestsOf(
  c: Case,
  ceilingPath: string | null,
  onBody?: (status: number, body: string) => void,
): AutocannonRequest[] {
  return [
    {
      method: c.method,
      // Replaced by setupRequest before every request (autocannon builds each client's first one too).
      path: ceilingPath ?? '/',
      setupRequest: (request) => {
        const wire = c.next();
        request.path = ceilingPath ?? wire.path;
        request.headers = wire.headers;
        if (wire.body !== undefined) request.body = wire.body;
        return request;
      },
      ...(onBody ? { onResponse: (status: number, body: string) => onBody(status, body) } : {}),
    },
  ];
}

const fmtRun = (r: LoadResult): string =>
  `${(r.rps >= 10 ? Math.round(r.rps).toString() : r.rps.toFixed(1)).padStart(6)} req/s  p50 ${r.p50Ms.toFixed(2).padStart(6)} ms  p99 ${r.p99Ms.toFixed(2).padStart(6)} ms${r.cpuSeconds !== null ? `  CPU ${Math.round(perRequestUs(r.cpuSeconds, r) ?? 0)} µs/req` : ''}${r.postgresCpuSeconds !== null ? ` + PostgreSQL ${Math.round(perRequestUs(r.postgresCpuSeconds, r) ?? 0)}` : ''}${r.non2xx + r.errors > 0 ? `  (${r.non2xx} non-2xx${r.firstBadStatus ? ` e.g. ${r.firstBadStatus}` : ''}, ${r.errors} errors)` : ''}`;

const fmtUs = (us: number | null | undefined): string => (us === null || us === undefined ? '?' : us.toFixed(0));

const fmtProbe = (p: ProbeReport, requests: number, store: 'sqlite' | 'postgres'): string => {
  const lines = [
    `${store === 'postgres' && requests > 0 ? `${(p.statements / requests).toFixed(2)} statements/req  ` : ''}event-loop delay p50 ${p.eventLoopDelayMs.p50.toFixed(1)} p99 ${p.eventLoopDelayMs.p99.toFixed(1)} p99.9 ${p.eventLoopDelayMs.p999.toFixed(1)} max ${p.eventLoopDelayMs.max.toFixed(1)} ms  GC ${p.gc.count} pauses, ${p.gc.totalMs.toFixed(0)} ms, max ${p.gc.maxMs.toFixed(1)} ms`,
  ];
  const kinds = Object.entries(p.gc.byKind ?? {})
    .map(([kind, k]) => `${kind} ${k.count} (${k.totalMs.toFixed(0)} ms, max ${k.maxMs.toFixed(1)})`)
    .join(', ');
  if (kinds) lines.push(`GC by kind: ${kinds}`);
  if (p.disk)
    lines.push(
      `disk: ${(p.disk.readBytes / 1024 / Math.max(1, requests)).toFixed(2)} KiB read from the disk, ${(p.disk.readCalls / Math.max(1, requests)).toFixed(2)} read calls a request`,
    );
  if (p.memory) {
    const mb = (bytes: number) => (bytes / 1e6).toFixed(0);
    const at = p.memory.atRssMax;
    lines.push(
      `memory at the RSS peak: RSS ${mb(at.rss)} MB = V8 heap ${mb(at.heapTotal)} MB (${mb(at.heapUsed)} used) + external ${mb(at.external)} MB (array buffers ${mb(at.arrayBuffers)}) + the rest (code, native, allocator) ${mb(at.rss - at.heapTotal - at.external)} MB`,
    );
  }
  if (p.served)
    lines.push(
      `as served (parsed → finished): p50 ${p.served.p50Ms.toFixed(2)} p99 ${p.served.p99Ms.toFixed(2)} p99.9 ${p.served.p999Ms.toFixed(2)} max ${p.served.maxMs.toFixed(1)} ms`,
    );
  if (p.postgres && p.postgres.poolWaits.count > 0) {
    const { roundTripMs, poolWaits, slowest } = p.postgres;
    lines.push(
      `PostgreSQL round trips p50 ${roundTripMs.p50.toFixed(2)} p99 ${roundTripMs.p99.toFixed(2)} max ${roundTripMs.max.toFixed(1)} ms; waits for a pool client: ${poolWaits.over1Ms} of ${poolWaits.count} over 1 ms, p99 ${poolWaits.p99Ms.toFixed(2)} max ${poolWaits.maxMs.toFixed(1)} ms`,
      ...slowest
        .slice(0, 3)
        .map(
          (s) => `  slowest ${s.maxMs.toFixed(1)} ms (mean ${s.meanMs.toFixed(2)}, ${s.count}×): ${s.sql.slice(0, 90)}`,
        ),
    );
  }
  if (p.sqlite && p.sqlite.calls > 0)
    lines.push(
      `SQLite on the loop: ${(p.sqlite.calls / Math.max(1, requests)).toFixed(2)} calls, ${((p.sqlite.totalMs * 1000) / Math.max(1, requests)).toFixed(0)} µs a request (wall); ${p.sqlite.long.length} over 2 ms${p.sqlite.long.length ? `, longest ${p.sqlite.long[0]!.ms.toFixed(1)} ms: ${p.sqlite.long[0]!.sql}` : ''}`,
    );
  if (p.stalls) {
    lines.push(
      `stalls ≥ 5 ms: ${p.stalls.count}, ${p.stalls.totalMs.toFixed(0)} ms in all, the loop's thread on the CPU ${p.stalls.cpuMs.toFixed(0)} ms of it; on the CPU most of the stall: ${p.stalls.busy} (longest ${p.stalls.busyMaxMs.toFixed(1)} ms)`,
    );
    const stall = (s: NonNullable<ProbeReport['stalls']>['longest'][number]): string =>
      `  ${s.ms.toFixed(1)} ms (CPU ${s.cpuMs.toFixed(1)}) at ${(s.at / 1000).toFixed(3)} s${s.gc.length ? `  GC: ${s.gc.join(', ')}` : ''}${s.sqlite.length ? `  SQLite: ${s.sqlite.slice(0, 3).join(' | ')}` : ''}`;
    lines.push('longest:', ...p.stalls.longest.slice(0, 3).map(stall));
    lines.push('most CPU:', ...p.stalls.busiest.slice(0, 5).map(stall));
  }
  return lines.join('\n               ');
};

async function runCase(
  c: Case,
  ctx: Context,
  server: Child,
  ceiling: Child,
  store: 'sqlite' | 'postgres',
  /** The PostgreSQL database the server uses: only its backends' CPU counts (other users of the server may be busy). */
  database: string | undefined,
): Promise<CaseResult> {
  // Probe: the endpoint must answer 200 and succeed; its answer becomes the ceiling's.
  const probe = await send(ctx.url, c.method, c.next());
  if (probe.status !== 200)
    throw new Error(`${c.id}: HTTP ${probe.status}: ${probe.body.toString('utf8').slice(0, 300)}`);
  const note = c.check(probe.body, probe.type);
  const isJson = probe.type.includes('json');
  const payload = isJson
    ? { contentType: probe.type, json: JSON.parse(probe.body.toString('utf8')) as unknown }
    : { contentType: probe.type, base64: probe.body.toString('base64') };
  await fetch(`${ceiling.url}/__payload/${c.id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  const ceilingPath = `/c/${c.id}`;
  const ceilingProbe = await send(ceiling.url, c.method, { ...c.next(), path: ceilingPath });
  log(`    ${c.label}: ${note}; response ${probe.body.length} bytes (ceiling ${ceilingProbe.body.length})`);

  const otherLoad = await waitForQuiet();
  let failures = 0;
  const onBody = (status: number, body: string): void => {
    if (status !== 200 || !body.includes('"returnCode":"0"')) failures++;
  };
  const endpointRun = (spec: {
    seconds?: number;
    amount?: number;
    maxSeconds?: number;
    rss: boolean;
  }): Promise<LoadResult> =>
    runLoad({
      url: ctx.url,
      connections: CONNECTIONS,
      ...(spec.amount !== undefined ? { amount: spec.amount } : { seconds: spec.seconds! }),
      ...(spec.maxSeconds !== undefined ? { maxSeconds: spec.maxSeconds, timeoutSeconds: spec.maxSeconds + 30 } : {}),
      requests: requestsOf(c, null, c.kind === 'import' ? onBody : undefined),
      ...(spec.rss ? { rssPid: server.pid, cpuPid: server.pid, ...(database ? { postgresCpu: database } : {}) } : {}),
    });
  const ceilingRun = async (seconds: number): Promise<LoadResult> => {
    // Same requests (headers, bodies); the import pool index moves on, which the ceiling ignores.
    const saved = ctx.importNext.i;
    try {
      return await runLoad({
        url: ceiling.url,
        connections: CONNECTIONS,
        seconds,
        requests: requestsOf(c, ceilingPath),
        cpuPid: ceiling.pid,
      });
    } finally {
      ctx.importNext.i = saved;
    }
  };

  // Warm-up, then ROUNDS slices of endpoint and ceiling in turn, so that whatever else the
  // machine does hits both alike. Import: a fixed number of distinct certificates, each sent once.
  // Import rounds are capped in time (--import-cap seconds in all): when imports take seconds
  // each, the run is cut short, the server left to drain, and the remaining rounds skipped.
  let capped = false;
  if (c.kind === 'import') {
    const warm = await endpointRun({
      amount: Math.max(IMPORT_WARMUP, CONNECTIONS),
      maxSeconds: IMPORT_CAP_S / ROUNDS,
      rss: false,
    });
    if (warm.stopped) capped = await drained(ctx.url);
  } else await endpointRun({ seconds: WARMUP, rss: false });
  await ceilingRun(Math.min(WARMUP, 1));
  failures = 0;
  if (PROBE) await readProbe(server.pid, PROBE_FILE);
  const endpointRuns: LoadResult[] = [];
  const ceilingRuns: LoadResult[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const run = await endpointRun(
      c.kind === 'import'
        ? { amount: Math.max(Math.ceil(IMPORTS / ROUNDS), CONNECTIONS), maxSeconds: IMPORT_CAP_S / ROUNDS, rss: true }
        : { seconds: SECONDS / ROUNDS, rss: true },
    );
    endpointRuns.push(run);
    if (run.stopped) capped = await drained(ctx.url);
    ceilingRuns.push(await ceilingRun(SECONDS / ROUNDS));
    if (run.stopped) break;
  }
  const endpoint = combine(endpointRuns);
  const ceil = combine(ceilingRuns);
  const closedProbe = PROBE ? await readProbe(server.pid, PROBE_FILE) : null;
  log(
    `      endpoint ${fmtRun(endpoint)}${endpoint.rssMaxBytes ? `  RSS ${(endpoint.rssMaxBytes / 1e6).toFixed(0)} MB` : ''}${failures ? `  ${failures} imports refused` : ''}`,
  );
  log(
    `      ceiling  ${fmtRun(ceil)}  → ratio ${((endpoint.rps / ceil.rps) * 100).toFixed(0)}%   (other load before: ${(otherLoad * 100).toFixed(0)}% CPU)`,
  );
  const requests = endpoint.ok + endpoint.non2xx;
  if (closedProbe) log(`      server   ${fmtProbe(closedProbe, requests, store)}`);
  // Open loop: a fixed arrival rate at a fraction of the maximum just measured.
  let openLoop: { result: OpenLoopResult; probe: ProbeReport | null } | null = null;
  if (OPEN_LOOP > 0 && c.kind !== 'import' && endpoint.rps > 0) {
    await waitForQuiet();
    const result = await runOpenLoop({
      url: ctx.url,
      rate: endpoint.rps * OPEN_LOOP,
      seconds: SECONDS,
      next: () => ({ method: c.method, ...c.next() }),
      // The probe starts over once the connections are open: its figures are the schedule's.
      onReady: () => (PROBE ? readProbe(server.pid, PROBE_FILE) : Promise.resolve()),
      cpuPid: server.pid,
      ...(database ? { postgresCpu: database } : {}),
    });
    const probe = PROBE ? await readProbe(server.pid, PROBE_FILE) : null;
    openLoop = { result, probe };
    log(
      `      open loop at ${Math.round(result.rate)} req/s (${Math.round(OPEN_LOOP * 100)}%): p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  p99.9 ${result.p999Ms.toFixed(2)} ms  max ${result.maxMs.toFixed(1)} ms  (${result.ok} ok, ${result.non2xx} non-2xx, ${result.errors} errors; generator lag p99 ${result.sendLagP99Ms.toFixed(1)} max ${result.sendLagMaxMs.toFixed(1)} ms, its loop p99 ${result.generatorLoopP99Ms.toFixed(1)} max ${result.generatorLoopMaxMs.toFixed(1)} ms, its GC ${result.generatorGcCount ?? 0} pauses max ${(result.generatorGcMaxMs ?? 0).toFixed(1)} ms, ${result.connections} connections, ${result.queued ?? 0} requests waited for one, at most ${result.maxOutstanding ?? 0} outstanding)`,
    );
    log(
      `      CPU a request in the open loop: server ${fmtUs(result.serverCpuUsPerRequest)}${store === 'postgres' ? ` + PostgreSQL ${fmtUs(result.postgresCpuUsPerRequest)}` : ''}, generator ${fmtUs(result.generatorCpuUsPerRequest)} µs (closed loop: server ${fmtUs(perRequestUs(endpoint.cpuSeconds, endpoint))})`,
    );
    if (probe) log(`      server   ${fmtProbe(probe, result.ok + result.non2xx, store)}`);
  }
  return {
    id: c.id,
    label: c.label,
    kind: c.kind,
    request: c.shown,
    responseBytes: probe.body.length,
    ceilingResponseBytes: ceilingProbe.body.length,
    endpoint: summary(endpoint),
    ceiling: summary(ceil),
    ratio: endpoint.rps / ceil.rps,
    rssMaxBytes: endpoint.rssMaxBytes,
    otherLoad,
    ...(closedProbe
      ? {
          server: {
            statementsPerRequest: store === 'postgres' && requests > 0 ? closedProbe.statements / requests : null,
            eventLoopDelayMs: closedProbe.eventLoopDelayMs,
            gc: closedProbe.gc,
          },
        }
      : {}),
    ...(openLoop
      ? {
          openLoop: {
            fraction: OPEN_LOOP,
            ...openLoop.result,
            eventLoopDelayMs: openLoop.probe?.eventLoopDelayMs ?? null,
            gc: openLoop.probe?.gc ?? null,
            served: openLoop.probe?.served
              ? {
                  p99Ms: openLoop.probe.served.p99Ms,
                  p999Ms: openLoop.probe.served.p999Ms,
                  maxMs: openLoop.probe.served.maxMs,
                }
              : null,
          },
        }
      : {}),
    ...(failures > 0 || capped
      ? {
          note: [
            failures > 0 ? `${failures} imports refused` : '',
            capped ? `run cut at ${IMPORT_CAP_S / ROUNDS} s (imports too slow), in-flight requests abandoned` : '',
          ]
            .filter(Boolean)
            .join('; '),
        }
      : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// A store at one scale

async function timeMetrics(url: string): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const r = await fetch(`${url}/metrics`);
    await r.arrayBuffer();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

/** The store a kept one was given for (`--reuse-sqlite` / `--reuse-postgres`), if any. */
const reuseOf = (store: 'sqlite' | 'postgres'): string | undefined =>
  store === 'sqlite' ? values['reuse-sqlite'] : values['reuse-postgres'];

/** Where a fresh store goes: `--sqlite-dir` / `--postgres-db` (then kept), else a throw-away one. */
const placeOf = (store: 'sqlite' | 'postgres'): string | undefined =>
  store === 'sqlite' ? values['sqlite-dir'] : values['postgres-db'];

/** How to run on a kept store again (search.ts and notify-scan.ts seed their own data shapes). */
const reuseCommand = (where: Location): string =>
  `npm run bench -- --stores ${where.store} ${where.databaseUrl ? `--reuse-postgres ${where.databaseUrl}` : `--reuse-sqlite ${where.dataDir}`}`;

async function runScale(
  store: 'sqlite' | 'postgres',
  scale: number,
  pools: { seed: Pool; imports: Pool },
  ceiling: Child | null,
): Promise<ScaleResult | null> {
  const reuse = reuseOf(store);
  const place = placeOf(store);
  const kept = values.keep || reuse !== undefined || place !== undefined || values['seed-only'];
  let where: Location | null = null;
  let server: Child | null = null;
  try {
    let seeded: Seeded;
    if (reuse !== undefined) {
      log(`\n== ${store}, the kept store ${reuse}`);
      ({ where, seeded } = await reuseStore(store, reuse, log));
      scale = seeded.rows.bench;
      if (store === 'sqlite' && !values['no-warm']) await readIntoPageCache(where.dataDir, log);
    } else {
      log(`\n== ${store}, ${scale.toLocaleString('en-US')} certificates`);
      where = await freshLocation(store, place);
      seeded = await seedStore(where, pools.seed, scale, log);
      log(`  seeded in ${seeded.timings.totalS.toFixed(1)} s; database ${(seeded.dbBytes / 1e6).toFixed(0)} MB`);
    }
    if (kept) log(`  kept: ${where.databaseUrl ?? where.dataDir}; to run on it again: ${reuseCommand(where)}`);
    if (values['seed-only'] || ceiling === null) return null;

    const readyMs: number[] = [];
    const listeningMs: number[] = [];
    const profileDir = join(RESULTS_DIR, 'profiles', `${store}-${scale}`);
    if (values.profile) await mkdir(profileDir, { recursive: true });
    // Start-up as users start it: `npm start`'s command on a quiet machine, without the probe.
    // The probe is a TypeScript file loaded with --import, before bin/certkeeper.js turns on the
    // compile cache, so Node strips its types on every start (70–100 ms a start here). The server
    // the cases run on starts once more, with the probe; that start is not counted.
    const settings = {
      dataDir: where.dataDir,
      masterKey: where.masterKey,
      logLevel: LOG_LEVEL,
      ...(where.databaseUrl ? { databaseUrl: where.databaseUrl } : {}),
    };
    for (let k = 0; k < STARTUPS; k++) {
      await waitForQuiet();
      const started = await startCertkeeper({ ...settings, nodeFlags: SERVER_NODE_FLAGS });
      readyMs.push(started.readyMs);
      listeningMs.push(started.listeningMs);
      await started.stop();
    }
    server = await startCertkeeper({
      ...settings,
      nodeFlags: [
        ...(PROBE ? probeSettings(PROBE_FILE).nodeFlags : []),
        ...SERVER_NODE_FLAGS,
        ...(values.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      ],
      ...(PROBE ? { env: probeSettings(PROBE_FILE).env } : {}),
    });
    const running = server;
    log(
      `  start-up to /readyz: ${readyMs.map((x) => `${Math.round(x)} ms`).join(', ')} (listening at ${listeningMs.map((x) => Math.round(x)).join(', ')} ms)`,
    );

    const ctx: Context = {
      url: running.url,
      seeded,
      token: await nhnToken(running.url, seeded),
      importPool: pools.imports,
      importNext: { i: 0 },
    };
    const idle = await rssBytes(running.pid);
    let maxServing = idle ?? 0;
    const results: CaseResult[] = [];
    const database = where.databaseUrl ? new URL(where.databaseUrl).pathname.slice(1) : undefined;
    for (const c of cases(ctx, PAGE_SIZE, ONLY)) {
      const r = await runCase(c, ctx, running, ceiling, store, database);
      results.push(r);
      maxServing = Math.max(maxServing, r.rssMaxBytes ?? 0);
    }
    // ACM ListCertificates against the NCP v2 list in this run, same page size (issue 19).
    const ncpList = results.find((r) => r.id === 'ncp-v2-page1');
    for (const acmList of results.filter((r) => r.id.startsWith('acm-list'))) {
      if (!ncpList) break;
      log(
        `  ${acmList.id} vs ncp-v2-page1: ${acmList.endpoint.rps.toFixed(0)} vs ${ncpList.endpoint.rps.toFixed(0)} req/s (${((acmList.endpoint.rps / ncpList.endpoint.rps) * 100).toFixed(0)}%), CPU ${acmList.endpoint.cpuUsPerRequest?.toFixed(0) ?? '?'} vs ${ncpList.endpoint.cpuUsPerRequest?.toFixed(0) ?? '?'} µs/request`,
      );
    }
    const metricsScrapeMs = await timeMetrics(running.url);
    log(
      `  RSS idle ${((idle ?? 0) / 1e6).toFixed(0)} MB, max while serving ${(maxServing / 1e6).toFixed(0)} MB; GET /metrics ${metricsScrapeMs.toFixed(0)} ms`,
    );
    return {
      scale,
      seed: {
        live: seeded.live,
        rows: seeded.rows,
        slots: seeded.slots,
        timings: seeded.timings,
        dbBytes: seeded.dbBytes,
      },
      startup: { readyMs, listeningMs, medianReadyMs: median(readyMs) },
      rss: { idleBytes: idle, maxServingBytes: maxServing },
      metricsScrapeMs,
      cases: results,
    };
  } finally {
    await server?.stop();
    if (!kept || reuse !== undefined)
      await where?.cleanup(); // a reused store's cleanup drops nothing
    // A kept PostgreSQL store's temp data directory: removed if the server left nothing in it.
    else if (where?.databaseUrl) await rmdir(where.dataDir).catch(() => undefined);
  }
}

async function storeVersion(store: 'sqlite' | 'postgres'): Promise<string> {
  if (store === 'sqlite') {
    const db = new Database(':memory:');
    try {
      return `SQLite ${(db.prepare('select sqlite_version() as v').get() as { v: string }).v}, better-sqlite3`;
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return `PostgreSQL ${(await client.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v.split(' ')[0] ?? ''}`;
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Main

const machine: Machine = {
  nproc: availableParallelism(),
  cpu: cpus()[0]?.model ?? 'unknown',
  memoryBytes: totalmem(),
  node: process.version,
  os: `${osType()} ${release()}`,
};
const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
log(
  `certkeeper HTTP benchmark: ${STORES.join(', ')} × ${SCALES.map((s) => s.toLocaleString('en-US')).join(', ')} certificates`,
);
log(
  `machine: ${machine.nproc} CPUs (${machine.cpu}), ${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${machine.node}; ${CONNECTIONS} connections, ${SECONDS} s per run after ${WARMUP} s warm-up`,
);

for (const store of STORES) {
  if (values['seed-only'] && reuseOf(store) !== undefined) throw new Error('--seed-only seeds: it takes no --reuse-*');
  if (placeOf(store) !== undefined && SCALES.length !== 1)
    throw new Error('--sqlite-dir / --postgres-db hold one store: give one scale (--scales N)');
}
const t = performance.now();
const seed = STORES.every((s) => reuseOf(s) !== undefined) ? { chainPem: '', leaves: [] } : await seedPool(POOL);
log(`seed pool: ${seed.leaves.length} P-256 leaves minted in ${((performance.now() - t) / 1000).toFixed(1)} s`);
const imports =
  values['seed-only'] || (ONLY && !ONLY.has('ncp-import'))
    ? { chainPem: '', leaves: [] }
    : await importPool(IMPORTS + IMPORT_WARMUP + CONNECTIONS * 8 + 50, log);

if (values['seed-only']) {
  for (const store of STORES) for (const scale of SCALES) await runScale(store, scale, { seed, imports }, null);
  process.exit(0);
}
const ceiling = await startCeiling(LOG_LEVEL);
if (!values['no-write']) await mkdir(RESULTS_DIR, { recursive: true });
try {
  for (const store of STORES) {
    const startedAt = new Date().toISOString();
    const results: StoreResults = {
      version: 1,
      date: startedAt.slice(0, 10),
      startedAt,
      finishedAt: startedAt,
      store,
      storeVersion: await storeVersion(store),
      machine,
      command,
      settings: {
        connections: CONNECTIONS,
        seconds: SECONDS,
        rounds: ROUNDS,
        warmupSeconds: WARMUP,
        pageSize: PAGE_SIZE,
        imports: IMPORTS,
        importWarmup: IMPORT_WARMUP,
        poolSize: POOL,
        logLevel: LOG_LEVEL,
      },
      scales: [],
      targets: [],
    };
    // A kept store is one scale: its own.
    for (const scale of reuseOf(store) !== undefined ? [0] : SCALES) {
      const result = await runScale(store, scale, { seed, imports }, ceiling);
      if (result) results.scales.push(result);
      results.finishedAt = new Date().toISOString();
      results.targets = checkTargets(results);
      if (!values['no-write']) await writeResults(results);
    }
    log(
      `\n${store}: targets at ${Math.max(...results.scales.map((r) => r.scale)).toLocaleString('en-US')} certificates`,
    );
    for (const check of results.targets) log(`  ${check.met ? 'met   ' : 'MISSED'} ${check.target}: ${check.value}`);
    if (!values['no-write']) {
      log(`  written: ${await writeResults(results)}`);
      await updateBenchmarksMd(join(ROOT, 'BENCHMARKS.md'));
    }
  }
} finally {
  await ceiling.stop();
}
