/**
 * Results of `npm run bench`: the JSON written to bench/results/<date>-<store>.json, the targets
 * checked against it, and the tables regenerated in BENCHMARKS.md between the markers
 * `<!-- bench:results:begin -->` and `<!-- bench:results:end -->` (from the newest result file of
 * each store, so a run on one store keeps the other store's latest figures in the page).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OpenLoopResult } from './open-loop.ts';
import type { ProbeReport } from './probe.ts';

export type CaseKind = 'list' | 'download' | 'import';

export interface LoadSummary {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  ok: number;
  non2xx: number;
  errors: number;
  seconds: number;
  /** CPU time of the serving process per request (server, or ceiling), µs; from /proc/<pid>/stat. */
  cpuUsPerRequest: number | null;
  /** CPU time of every PostgreSQL process per request, µs (other users of that PostgreSQL count too). */
  postgresCpuUsPerRequest: number | null;
}

export interface CaseResult {
  id: string;
  label: string;
  kind: CaseKind;
  /** Method and a typical target, e.g. `GET /api/v2/certificate/getCertificates?page=1&pageSize=100`. */
  request: string;
  responseBytes: number;
  ceilingResponseBytes: number;
  endpoint: LoadSummary;
  ceiling: LoadSummary;
  /** endpoint.rps / ceiling.rps */
  ratio: number;
  /** Largest server VmRSS during the endpoint's run, bytes. */
  rssMaxBytes: number | null;
  /** CPU share used by other processes just before the case (0–1; the machine is shared). */
  otherLoad: number;
  /** From bench/lib/server-probe.ts over the measured (closed-loop) rounds. */
  server?: {
    /** PostgreSQL statements per request (null on SQLite). */
    statementsPerRequest: number | null;
    eventLoopDelayMs: ProbeReport['eventLoopDelayMs'];
    gc: ProbeReport['gc'];
  };
  /** The open-loop run at `fraction` of the closed-loop req/s (bench/lib/open-loop.ts). */
  openLoop?: OpenLoopResult & {
    fraction: number;
    eventLoopDelayMs: ProbeReport['eventLoopDelayMs'] | null;
    gc: ProbeReport['gc'] | null;
    /** The same requests as the server saw them (parsed → finished), from its probe; absent before s12. */
    served?: { p99Ms: number; p999Ms: number; maxMs: number } | null;
  };
  note?: string;
}

export interface ScaleResult {
  scale: number;
  seed: {
    live: number;
    rows: { bench: number; other: number; deleted: number };
    slots: number;
    timings: { poolImportS: number; bulkS: number; countersS: number; slotsS: number; vacuumS: number; totalS: number };
    dbBytes: number;
  };
  startup: { readyMs: number[]; listeningMs: number[]; medianReadyMs: number };
  rss: { idleBytes: number | null; maxServingBytes: number | null };
  /** GET /metrics once the store is seeded (expiry histogram from the day counters since migration 0007; a full-table pass before), median of 3, ms. */
  metricsScrapeMs: number;
  cases: CaseResult[];
}

export interface Machine {
  nproc: number;
  cpu: string;
  memoryBytes: number;
  node: string;
  os: string;
}

export interface TargetCheck {
  target: string;
  scale: number;
  value: string;
  met: boolean;
}

export interface StoreResults {
  version: 1;
  date: string;
  startedAt: string;
  finishedAt: string;
  store: 'sqlite' | 'postgres';
  storeVersion: string;
  machine: Machine;
  command: string;
  settings: {
    connections: number;
    seconds: number;
    rounds: number;
    warmupSeconds: number;
    pageSize: number;
    imports: number;
    importWarmup: number;
    poolSize: number;
    logLevel: string;
  };
  scales: ScaleResult[];
  targets: TargetCheck[];
}

export const RESULTS_DIR = join(import.meta.dirname, '..', 'results');
const BEGIN = '<!-- bench:results:begin -->';
const END = '<!-- bench:results:end -->';

/**
 * Issue 23's targets. The ratios to the ceiling are figures on SQLite, not targets (the decision
 * that closed the first speed issue); on PostgreSQL every list and download must reach 15 % of the
 * ceiling and cost at most twice SQLite's server CPU for the same request (`crossStoreTargets`,
 * checked where both stores' results are at hand). Latency is the open loop's p99 at half the
 * measured maximum, not the closed loop's (queueing).
 */
const PG_RATIO_TARGET = 0.15;
const PG_CPU_VS_SQLITE_TARGET = 2;
const OPEN_LOOP_P99_TARGET_MS = { sqlite: 10, postgres: 20 } as const;
const IMPORT_RPS_TARGET = { sqlite: 500, postgres: 300 } as const;
const SCALE_DRIFT_TARGET = 1.5;
const RSS_TARGET_BYTES = 300e6;
const STARTUP_TARGET_MS = 1000;

const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const mb = (bytes: number | null): string => (bytes === null ? 'n/a' : `${(bytes / 1e6).toFixed(0)} MB`);
const int = (x: number): string => Math.round(x).toLocaleString('en-US');
const rate = (x: number): string => (x >= 10 ? int(x) : x.toFixed(1));
const us = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : int(x));

/** The largest scale of a run (the million when it ran). */
const topScale = (scales: ScaleResult[]): ScaleResult | undefined =>
  scales.reduce<ScaleResult | undefined>((a, s) => (a === undefined || s.scale > a.scale ? s : a), undefined);

/** Targets of issue 23 that one store's run answers, on its largest scale (drift: against 10,000). */
export function checkTargets(results: Pick<StoreResults, 'store' | 'scales'>): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const top = topScale(results.scales);
  if (!top) return checks;
  const base = results.scales.find((s) => s.scale === 10_000);
  const p99Target = OPEN_LOOP_P99_TARGET_MS[results.store];
  for (const c of top.cases) {
    if (c.kind === 'import') {
      const target = IMPORT_RPS_TARGET[results.store];
      checks.push({
        target: `${c.label}: ≥ ${target} RSA-2048 certificates with chains per second`,
        scale: top.scale,
        value: `${rate(c.endpoint.rps)}/s`,
        met: c.endpoint.rps >= target,
      });
      continue;
    }
    if (results.store === 'postgres')
      checks.push({
        target: `${c.label}: ≥ ${pct(PG_RATIO_TARGET)} of the ceiling`,
        scale: top.scale,
        value: pct(c.ratio),
        met: c.ratio >= PG_RATIO_TARGET,
      });
    if (c.openLoop)
      checks.push({
        target: `${c.label}: open-loop p99 ≤ ${p99Target} ms at ${pct(c.openLoop.fraction)} of its maximum`,
        scale: top.scale,
        value: `${ms(c.openLoop.p99Ms)} ms (p99.9 ${ms(c.openLoop.p999Ms)} ms, ${rate(c.openLoop.rate)}/s)`,
        met: c.openLoop.p99Ms <= p99Target,
      });
    const b = base?.cases.find((x) => x.id === c.id);
    if (c.kind === 'list' && b && base !== top) {
      const drift = b.ratio / c.ratio;
      const raw = b.endpoint.rps / c.endpoint.rps;
      checks.push({
        target: `${c.label}: at ${int(top.scale)} within ${SCALE_DRIFT_TARGET}× of 10,000 (ceiling-normalised)`,
        scale: top.scale,
        value: `${drift.toFixed(2)}× (raw req/s ${raw.toFixed(2)}×)`,
        met: drift <= SCALE_DRIFT_TARGET,
      });
    }
  }
  const rss = top.rss.maxServingBytes;
  checks.push({
    target: 'RSS while serving < 300 MB',
    scale: top.scale,
    value: mb(rss),
    met: rss !== null && rss < RSS_TARGET_BYTES,
  });
  checks.push({
    target: 'start-up to /readyz < 1 s (median of starts)',
    scale: top.scale,
    value: `${int(top.startup.medianReadyMs)} ms (${top.startup.readyMs.map(int).join(', ')})`,
    met: top.startup.medianReadyMs < STARTUP_TARGET_MS,
  });
  return checks;
}

/**
 * PostgreSQL's server CPU per request against SQLite's for the same case and scale (issue 23:
 * within 2×), from the two stores' newest results. Runs of different days are compared as they
 * are: the line names both dates.
 */
export function crossStoreTargets(postgres: StoreResults, sqlite: StoreResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const top = topScale(postgres.scales);
  const same = sqlite.scales.find((s) => s.scale === top?.scale);
  if (!top || !same) return checks;
  for (const c of top.cases) {
    const s = same.cases.find((x) => x.id === c.id);
    const pgCpu = c.endpoint.cpuUsPerRequest;
    const sqliteCpu = s?.endpoint.cpuUsPerRequest;
    if (c.kind === 'import' || !pgCpu || !sqliteCpu) continue;
    const times = pgCpu / sqliteCpu;
    checks.push({
      target: `${c.label}: server CPU ≤ ${PG_CPU_VS_SQLITE_TARGET}× SQLite's (SQLite run of ${sqlite.date})`,
      scale: top.scale,
      value: `${times.toFixed(2)}× (${us(pgCpu)} against ${us(sqliteCpu)} µs)`,
      met: times <= PG_CPU_VS_SQLITE_TARGET,
    });
  }
  return checks;
}

export async function writeResults(results: StoreResults): Promise<string> {
  const file = join(RESULTS_DIR, `${results.date}-${results.store}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

/** The newest result file of each store. */
async function latestResults(): Promise<StoreResults[]> {
  const files = (await readdir(RESULTS_DIR).catch(() => [] as string[]))
    .filter((f) => /^\d{4}-\d{2}-\d{2}-(sqlite|postgres)\.json$/.test(f))
    .sort();
  const newest = new Map<string, string>();
  for (const f of files) newest.set(f.replace(/^\d{4}-\d{2}-\d{2}-|\.json$/g, ''), f);
  const out: StoreResults[] = [];
  for (const store of ['sqlite', 'postgres']) {
    const f = newest.get(store);
    if (f) out.push(JSON.parse(await readFile(join(RESULTS_DIR, f), 'utf8')) as StoreResults);
  }
  return out;
}

/** One store's part of BENCHMARKS.md: its tables and its targets. */
export function storeSection(r: StoreResults, extraTargets: TargetCheck[] = []): string {
  const lines: string[] = [];
  const label = r.store === 'sqlite' ? 'SQLite' : 'PostgreSQL';
  lines.push(`### ${label} (${r.storeVersion}), ${r.date}`);
  lines.push('');
  lines.push(
    `Machine: ${r.machine.nproc} CPUs (${r.machine.cpu}), ${(r.machine.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM, Node ${r.machine.node}, ${r.machine.os}. ` +
      `Command: \`${r.command}\`. autocannon, ${r.settings.connections} connections, ${r.settings.seconds} s per run after ${r.settings.warmupSeconds} s of warm-up; server log level \`${r.settings.logLevel}\`. ` +
      `Result file: \`bench/results/${r.date}-${r.store}.json\`.`,
  );
  lines.push('');
  const pgCol = r.store === 'postgres';
  lines.push(
    `| certificates | endpoint | req/s | p50 ms | p99 ms | ceiling req/s | ratio | server CPU µs/req${pgCol ? ' (+ PostgreSQL)' : ''} | ceiling CPU µs/req | response bytes | server RSS |`,
  );
  lines.push('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of r.scales) {
    for (const c of s.cases) {
      const bad =
        c.endpoint.non2xx + c.endpoint.errors > 0 ? ` (${c.endpoint.non2xx} non-2xx, ${c.endpoint.errors} errors)` : '';
      const cpu = `${us(c.endpoint.cpuUsPerRequest)}${pgCol ? ` (+ ${us(c.endpoint.postgresCpuUsPerRequest)})` : ''}`;
      lines.push(
        `| ${int(s.scale)} | ${c.label}${bad}${c.note ? ` (${c.note})` : ''} | ${rate(c.endpoint.rps)} | ${ms(c.endpoint.p50Ms)} | ${ms(c.endpoint.p99Ms)} | ${int(c.ceiling.rps)} | ${pct(c.ratio)} | ${cpu} | ${us(c.ceiling.cpuUsPerRequest)} | ${int(c.responseBytes)} | ${mb(c.rssMaxBytes)} |`,
      );
    }
  }
  lines.push('');
  lines.push(
    '| certificates | seeding (pool import + bulk + counters + slots) | database size | start-up to /readyz (median; all) | RSS idle / max serving | GET /metrics |',
  );
  lines.push('|---:|---|---:|---|---|---:|');
  for (const s of r.scales) {
    const t = s.seed.timings;
    lines.push(
      `| ${int(s.scale)} | ${t.totalS.toFixed(0)} s (${t.poolImportS.toFixed(1)} + ${t.bulkS.toFixed(1)} + ${t.countersS.toFixed(1)} + ${t.slotsS.toFixed(1)}${t.vacuumS > 0.01 ? ` + vacuum ${t.vacuumS.toFixed(1)}` : ''}) | ${mb(s.seed.dbBytes)} | ${int(s.startup.medianReadyMs)} ms; ${s.startup.readyMs.map(int).join(', ')} | ${mb(s.rss.idleBytes)} / ${mb(s.rss.maxServingBytes)} | ${ms(s.metricsScrapeMs)} ms |`,
    );
  }
  lines.push('');
  const open = r.scales.flatMap((s) => s.cases.filter((c) => c.openLoop).map((c) => ({ s, c, o: c.openLoop! })));
  if (open.length > 0) {
    lines.push(
      "Open loop (bench/lib/open-loop.ts): a fixed arrival rate at the fraction shown of the req/s just measured, latency from the intended send time, every request made (signed) before the schedule and sent over connections opened before it; the same requests as the server saw them (parsed → finished), its event-loop delay and GC pauses over the same run (bench/lib/server-probe.ts), its CPU a request against the closed loop's, the requests that waited for a free connection, and the generator's own lag and CPU a request (it shares the machine's CPUs with the server).",
    );
    lines.push('');
    lines.push(
      '| certificates | endpoint | rate | p50 ms | p99 ms | p99.9 ms | max ms | as served p99 / max ms | event loop p99 / max ms | GC max ms | server µs/req (closed loop) | waited for a connection | generator lag p99 ms, CPU µs/req |',
    );
    lines.push('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const { s, c, o } of open) {
      const loop = o.eventLoopDelayMs ? `${ms(o.eventLoopDelayMs.p99)} / ${ms(o.eventLoopDelayMs.max)}` : 'n/a';
      const served = o.served ? `${ms(o.served.p99Ms)} / ${ms(o.served.maxMs)}` : 'n/a';
      const cpu =
        typeof o.serverCpuUsPerRequest === 'number'
          ? `${us(o.serverCpuUsPerRequest)} (${us(c.endpoint.cpuUsPerRequest)})`
          : 'n/a';
      const waited = typeof o.queued === 'number' ? int(o.queued) : 'n/a';
      lines.push(
        `| ${int(s.scale)} | ${c.label} | ${rate(o.rate)}/s (${pct(o.fraction)}) | ${ms(o.p50Ms)} | ${ms(o.p99Ms)} | ${ms(o.p999Ms)} | ${ms(o.maxMs)} | ${served} | ${loop} | ${o.gc ? ms(o.gc.maxMs) : 'n/a'} | ${cpu} | ${waited} | ${ms(o.sendLagP99Ms)}${typeof o.generatorCpuUsPerRequest === 'number' ? `, ${us(o.generatorCpuUsPerRequest)}` : ''} |`,
      );
    }
    lines.push('');
  }
  lines.push('| target (issue 23) | at | measured | met |');
  lines.push('|---|---:|---|---|');
  for (const t of [...checkTargets(r), ...extraTargets])
    lines.push(`| ${t.target} | ${int(t.scale)} | ${t.value} | ${t.met ? 'yes' : '**no**'} |`);
  lines.push('');
  return lines.join('\n');
}

/** Rewrites the generated part of BENCHMARKS.md (creating the markers at the end if missing). */
export async function updateBenchmarksMd(file: string): Promise<void> {
  const all = await latestResults();
  const generated = [
    BEGIN,
    '',
    '<!-- Generated by `npm run bench` (bench/lib/results.ts) from the newest bench/results/*.json of each store; edits here are overwritten. -->',
    '',
    ...all.map((r) => {
      const sqlite = all.find((x) => x.store === 'sqlite');
      return storeSection(r, r.store === 'postgres' && sqlite ? crossStoreTargets(r, sqlite) : []);
    }),
    END,
  ].join('\n');
  const current = await readFile(file, 'utf8').catch(() => '# Benchmarks\n');
  const begin = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  const next =
    begin !== -1 && end > begin
      ? current.slice(0, begin) + generated + current.slice(end + END.length)
      : `${current.trimEnd()}\n\n${generated}\n`;
  await writeFile(file, next);
}
