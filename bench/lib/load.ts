/**
 * One load run with autocannon over loopback: `connections` concurrent keep-alive connections,
 * no pipelining, for a fixed duration or a fixed number of requests. Latencies are taken from
 * autocannon's per-response event (high-resolution milliseconds; its own histogram keeps whole
 * milliseconds only, too coarse for sub-millisecond answers), so p50/p99 are exact over every
 * 2xx response of the run. Requests/s counts 2xx responses over the run's wall time (with a fixed
 * number of requests, up to the last answer).
 */
import { readFile } from 'node:fs/promises';
import autocannon, { type AutocannonRequest } from 'autocannon';
import { cpuSeconds, postgresCpuByPid, postgresCpuSince, sampleRss } from './processes.ts';
import type { LoadSummary } from './results.ts';

export interface LoadSpec {
  url: string;
  connections: number;
  /** Seconds; ignored when `amount` is given. */
  seconds?: number;
  amount?: number;
  /** Stops the run after this many seconds even if `amount` is not reached (in-flight requests are abandoned). */
  maxSeconds?: number;
  /** Seconds before a request counts as timed out (default 30). */
  timeoutSeconds?: number;
  requests: AutocannonRequest[];
  /** Samples this process's VmRSS during the run. */
  rssPid?: number;
  /** Measures the CPU time this process (the server) uses during the run. */
  cpuPid?: number;
  /**
   * Measures the CPU time of PostgreSQL's processes during the run: every one (true), or the
   * backends of one database (its name: other users of the server do not count).
   */
  postgresCpu?: boolean | string;
}

export interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  ok: number;
  non2xx: number;
  errors: number;
  seconds: number;
  /** Largest VmRSS of `rssPid` during the run, bytes. */
  rssMaxBytes: number | null;
  /** One status code seen that was not 2xx (for the report). */
  firstBadStatus: number | null;
  /** Every 2xx latency of the run, ms, sorted. */
  latencies: Float64Array;
  /** True when `maxSeconds` cut the run short. */
  stopped: boolean;
  /** CPU seconds used by `cpuPid` during the run (null when not asked for). */
  cpuSeconds: number | null;
  /** CPU seconds used by PostgreSQL's processes during the run (null when not asked for). */
  postgresCpuSeconds: number | null;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  let latencies = new Float64Array(1 << 16);
  let ok = 0;
  let non2xx = 0;
  let firstBadStatus: number | null = null;
  const rss = spec.rssPid === undefined ? null : sampleRss(spec.rssPid);
  const cpu0 = spec.cpuPid === undefined ? null : await cpuSeconds(spec.cpuPid);
  const pgDatabase = typeof spec.postgresCpu === 'string' ? spec.postgresCpu : undefined;
  const pg0 = spec.postgresCpu ? await postgresCpuByPid(pgDatabase) : null;
  const t0 = performance.now();
  let stopped = false;
  let answered = 0;
  let endedAt: number | null = null;
  let timer: NodeJS.Timeout | undefined;
  const result = await new Promise<{ errors: number }>((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        pipelining: 1,
        timeout: spec.timeoutSeconds ?? 30,
        ...(spec.amount !== undefined ? { amount: spec.amount } : { duration: spec.seconds ?? 5 }),
        requests: spec.requests,
      },
      (error, res) => (error ? reject(error) : resolve({ errors: res.errors + res.timeouts })),
    );
    if (spec.maxSeconds !== undefined) {
      timer = setTimeout(() => {
        stopped = true;
        instance.stop();
      }, spec.maxSeconds * 1000);
    }
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      // autocannon notices that `amount` is reached only on its next one-second tick: left
      // alone, a run of 300 imports done in 0.55 s would count as 1 s. Stop at the last answer.
      if (spec.amount !== undefined && ++answered === spec.amount) {
        endedAt = performance.now();
        instance.stop();
      }
      if (statusCode >= 200 && statusCode < 300) {
        if (ok === latencies.length) {
          const bigger = new Float64Array(latencies.length * 2);
          bigger.set(latencies);
          latencies = bigger;
        }
        latencies[ok++] = responseTime;
      } else {
        non2xx++;
        firstBadStatus ??= statusCode;
      }
    });
  });
  clearTimeout(timer);
  const seconds = ((endedAt ?? performance.now()) - t0) / 1000;
  const cpu1 = spec.cpuPid === undefined ? null : await cpuSeconds(spec.cpuPid);
  const pg1 = spec.postgresCpu ? await postgresCpuByPid(pgDatabase) : null;
  const rssMaxBytes = rss ? await rss.stop() : null;
  const sorted = latencies.subarray(0, ok).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    rps: ok / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    meanMs: ok > 0 ? sum / ok : Number.NaN,
    ok,
    non2xx,
    errors: result.errors,
    seconds,
    rssMaxBytes,
    firstBadStatus,
    latencies: sorted,
    stopped,
    cpuSeconds: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null,
    postgresCpuSeconds: pg0 !== null && pg1 !== null ? postgresCpuSince(pg0, pg1) : null,
  };
}

/** CPU seconds of a run per request (2xx or not), µs; null when not measured. */
export const perRequestUs = (cpu: number | null, r: LoadResult): number | null =>
  cpu === null || r.ok + r.non2xx === 0 ? null : (cpu * 1e6) / (r.ok + r.non2xx);

/** What a result file keeps of a run. */
export const summary = (r: LoadResult): LoadSummary => ({
  rps: r.rps,
  p50Ms: r.p50Ms,
  p99Ms: r.p99Ms,
  meanMs: r.meanMs,
  ok: r.ok,
  non2xx: r.non2xx,
  errors: r.errors,
  seconds: r.seconds,
  cpuUsPerRequest: perRequestUs(r.cpuSeconds, r),
  postgresCpuUsPerRequest: perRequestUs(r.postgresCpuSeconds, r),
});

/** Several runs as one: requests over the sum of their wall times, percentiles over every latency. */
export function combine(runs: readonly LoadResult[]): LoadResult {
  const ok = runs.reduce((n, r) => n + r.ok, 0);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  const all = new Float64Array(ok);
  let at = 0;
  for (const r of runs) {
    all.set(r.latencies, at);
    at += r.latencies.length;
  }
  all.sort();
  let sum = 0;
  for (const v of all) sum += v;
  const rss = runs.map((r) => r.rssMaxBytes).filter((x): x is number => x !== null);
  return {
    rps: ok / seconds,
    p50Ms: percentile(all, 50),
    p99Ms: percentile(all, 99),
    meanMs: ok > 0 ? sum / ok : Number.NaN,
    ok,
    non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    seconds,
    rssMaxBytes: rss.length > 0 ? Math.max(...rss) : null,
    firstBadStatus: runs.find((r) => r.firstBadStatus !== null)?.firstBadStatus ?? null,
    latencies: all,
    stopped: runs.some((r) => r.stopped),
    cpuSeconds: runs.every((r) => r.cpuSeconds !== null) ? runs.reduce((n, r) => n + r.cpuSeconds!, 0) : null,
    postgresCpuSeconds: runs.every((r) => r.postgresCpuSeconds !== null)
      ? runs.reduce((n, r) => n + r.postgresCpuSeconds!, 0)
      : null,
  };
}

/**
 * Share of the machine's CPU time spent busy over `ms` (from /proc/stat): taken while the
 * benchmark's own processes are idle, it is the load of everything else on the machine.
 */
export async function machineBusy(ms = 1000): Promise<number> {
  const read = async (): Promise<{ busy: number; total: number }> => {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  };
  const a = await read();
  await new Promise((r) => setTimeout(r, ms));
  const b = await read();
  return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;
}
