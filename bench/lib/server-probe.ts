/**
 * A bench-only probe loaded into the certkeeper server with `--import` (nothing in src/ knows of
 * it): what a request costs inside the process, read without a profiler.
 *
 * - PostgreSQL statements: every `pg` Client.query call is counted, by SQL text (first 120
 *   characters), so statements per request are counted, not guessed.
 * - The event loop's delay: perf_hooks.monitorEventLoopDelay at 1 ms resolution (the histogram of
 *   how late the loop ran a timer), and the garbage collector's pauses (PerformanceObserver 'gc').
 *
 * On SIGUSR2 the probe writes what it gathered since the last signal as JSON to
 * $CERTKEEPER_BENCH_PROBE_FILE (a rename, so the reader never sees half a file) and starts over.
 * bench/lib/probe.ts reads it.
 */
import { writeFileSync, renameSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import pg from 'pg';

const FILE = process.env.CERTKEEPER_BENCH_PROBE_FILE;

let statements = 0;
let byText = new Map<string, number>();
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements++;
  const first = args[0];
  const text = typeof first === 'string' ? first : ((first as { text?: string } | null)?.text ?? '(cursor)');
  const key = text.slice(0, 120);
  byText.set(key, (byText.get(key) ?? 0) + 1);
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof query;

const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();

let gc: number[] = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gc.push(entry.duration);
}).observe({ entryTypes: ['gc'] });

const ms = (ns: number): number => ns / 1e6;

process.on('SIGUSR2', () => {
  if (!FILE) return;
  const sortedGc = [...gc].sort((a, b) => a - b);
  const report = {
    statements,
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
    },
  };
  writeFileSync(`${FILE}.tmp`, JSON.stringify(report));
  renameSync(`${FILE}.tmp`, FILE);
  statements = 0;
  byText = new Map();
  gc = [];
  loop.reset();
});
