/**
 * The benchmark's side of bench/lib/server-probe.ts: the flags and environment that load the
 * probe into the certkeeper server, and `readProbe`, which asks the server (SIGUSR2) for what it
 * gathered since the last ask and resets it.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface ProbeReport {
  /** What the kernel read from the disk for the server (/proc/self/io read_bytes) and its read calls. */
  disk?: { readBytes: number; readCalls: number };
  /**
   * `process.memoryUsage()` sampled every 200 ms, bytes: the largest of each part, and every part
   * at the largest RSS sample.
   */
  memory?: Record<'max' | 'atRssMax', Record<'rss' | 'heapTotal' | 'heapUsed' | 'external' | 'arrayBuffers', number>>;
  /** pg Client.query calls (PostgreSQL statements; 0 on SQLite). */
  statements: number;
  /**
   * PostgreSQL: each statement's round trip (call → settled), the texts with the slowest one, and
   * the waits for a client of the pool (Pool.connect → handed over; opening a connection included).
   */
  postgres?: {
    roundTripMs: { p50: number; p99: number; max: number };
    slowest: Array<{ sql: string; count: number; meanMs: number; maxMs: number }>;
    poolWaits: { count: number; over1Ms: number; p99Ms: number; maxMs: number };
  };
  /** The same, by SQL text (first 120 characters), most frequent first. */
  byText: Record<string, number>;
  /** perf_hooks.monitorEventLoopDelay over the interval, ms. */
  eventLoopDelayMs: {
    count: number;
    min: number;
    mean: number;
    p50: number;
    p90: number;
    p99: number;
    p999: number;
    max: number;
  };
  /** Garbage-collector pauses over the interval, and by kind (minor, major, incremental, weakcb). */
  gc: {
    count: number;
    totalMs: number;
    maxMs: number;
    p99Ms: number;
    over5Ms: number;
    byKind?: Record<string, { count: number; totalMs: number; maxMs: number }>;
  };
  /** Stretches of at least 5 ms in which the loop ran no timer: the longest, each with what ended inside it. */
  stalls?: {
    count: number;
    totalMs: number;
    /** The event-loop thread's CPU time inside them. */
    cpuMs: number;
    /** Stalls in which the thread was on the CPU at least half the time, and the longest of them. */
    busy: number;
    busyMaxMs: number;
    longest: Array<{ at: number; ms: number; cpuMs: number; gc: string[]; sqlite: string[] }>;
    busiest: Array<{ at: number; ms: number; cpuMs: number; gc: string[]; sqlite: string[] }>;
  };
  /** better-sqlite3 calls on the event loop: count, wall time, the ones over 2 ms. */
  sqlite?: { calls: number; totalMs: number; long: Array<{ at: number; ms: number; sql: string }> };
  /** Requests from parsed to response finished, as the server saw them. */
  served?: {
    count: number;
    p50Ms: number;
    p99Ms: number;
    p999Ms: number;
    maxMs: number;
    long: Array<{ at: number; ms: number; url: string }>;
  };
}

export const PROBE_MODULE = join(import.meta.dirname, 'server-probe.ts');

export function probeSettings(file: string): { nodeFlags: string[]; env: Record<string, string> } {
  return { nodeFlags: ['--import', PROBE_MODULE], env: { CERTKEEPER_BENCH_PROBE_FILE: file } };
}

/** What the server's probe gathered since the last call (or start), then reset; null if it never answers. */
export async function readProbe(pid: number, file: string): Promise<ProbeReport | null> {
  await rm(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 200; i++) {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as ProbeReport;
    } catch {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  return null;
}
