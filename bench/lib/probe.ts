/**
 * The benchmark's side of bench/lib/server-probe.ts: the flags and environment that load the
 * probe into the certkeeper server, and `readProbe`, which asks the server (SIGUSR2) for what it
 * gathered since the last ask and resets it.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface ProbeReport {
  /** pg Client.query calls (PostgreSQL statements; 0 on SQLite). */
  statements: number;
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
  /** Garbage-collector pauses over the interval. */
  gc: { count: number; totalMs: number; maxMs: number; p99Ms: number; over5Ms: number };
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
