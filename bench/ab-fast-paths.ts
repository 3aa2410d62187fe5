/**
 * A/B of the SQLite fast paths (src/store/sqlite-fast-paths.ts): the same requests, on the same
 * store, served with the fast paths on and off, in turn.
 *
 *   npm run bench:fast-paths                           10,000 certificates, 5 rounds
 *   npm run bench:fast-paths -- --scale 1000000 --rounds 3
 *
 * Options: --scale 10000, --rounds 5, --seconds 2 (per case, per side, per round), --warmup 1,
 * --connections 32, --page-size 100, --pool 1000, --only id,id (cases of bench/lib/cases.ts;
 * imports are left out: each side would import different certificates into a store they share).
 *
 * One SQLite store seeded by bench/lib/seed.ts; two servers on it, started as `npm start` starts
 * one (bench/lib/processes.ts), B with CERTKEEPER_SQLITE_FAST_PATHS=off; both idle but the one
 * being driven. For each round and case, A then B then (next round) B then A, so that drift on
 * the shared machine hits both sides alike. The figure is the server's CPU time per request
 * (from /proc, as `npm run bench`): throughput over loopback on a shared machine moves with the
 * load generator, CPU per request much less. Printed per case: the median of each side, the
 * ratio off/on of the medians, and the spread (lowest–highest per-round ratio).
 */
import { parseArgs } from 'node:util';
import type { AutocannonRequest } from 'autocannon';
import { cases, nhnToken, type Case, type Context } from './lib/cases.ts';
import { runLoad, type LoadResult } from './lib/load.ts';
import { seedPool } from './lib/pools.ts';
import { startCertkeeper, type Child } from './lib/processes.ts';
import { freshLocation, seedStore } from './lib/seed.ts';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '32' },
    'page-size': { type: 'string', default: '100' },
    pool: { type: 'string', default: '1000' },
    only: { type: 'string' },
  },
});
const SCALE = Number(values.scale);
const ROUNDS = Math.max(1, Number(values.rounds));
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const CONNECTIONS = Number(values.connections);
const PAGE_SIZE = Number(values['page-size']);
const POOL = Number(values.pool);
const ONLY = values.only ? values.only.split(',').map((s) => s.trim()) : null;

const log = (line: string): void => console.log(line);
const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const cpuUs = (r: LoadResult): number => ((r.cpuSeconds ?? Number.NaN) * 1e6) / Math.max(1, r.ok + r.non2xx);

function requestsOf(c: Case): AutocannonRequest[] {
  return [
    {
      method: c.method,
      path: '/',
      setupRequest: (request) => {
        const wire = c.next();
        request.path = wire.path;
        request.headers = wire.headers;
        if (wire.body !== undefined) request.body = wire.body;
        return request;
      },
    },
  ];
}

const drive = (server: Child, c: Case, seconds: number): Promise<LoadResult> =>
  runLoad({ url: server.url, connections: CONNECTIONS, seconds, requests: requestsOf(c), cpuPid: server.pid });

log(`SQLite fast paths A/B: ${SCALE.toLocaleString('en-US')} certificates, ${ROUNDS} rounds of ${SECONDS} s a side`);
const where = await freshLocation('sqlite');
const servers: Child[] = [];
try {
  const seeded = await seedStore(where, await seedPool(Math.min(POOL, SCALE)), SCALE, log);
  log(`seeded in ${seeded.timings.totalS.toFixed(1)} s; database ${(seeded.dbBytes / 1e6).toFixed(0)} MB`);
  const settings = { dataDir: where.dataDir, masterKey: where.masterKey, logLevel: 'warn' };
  const on = await startCertkeeper(settings);
  servers.push(on);
  const off = await startCertkeeper({ ...settings, env: { CERTKEEPER_SQLITE_FAST_PATHS: 'off' } });
  servers.push(off);
  const token = await nhnToken(on.url, seeded);
  const contextOf = (server: Child): Context => ({
    url: server.url,
    seeded,
    token,
    importPool: { chainPem: '', leaves: [] },
    importNext: { i: 0 },
  });
  const only = new Set(
    (ONLY ?? cases(contextOf(on), PAGE_SIZE, null).map((c) => c.id)).filter((id) => id !== 'ncp-import'),
  );
  const sides = { on: cases(contextOf(on), PAGE_SIZE, only), off: cases(contextOf(off), PAGE_SIZE, only) };
  const rows: string[] = [];
  for (let i = 0; i < sides.on.length; i++) {
    const c = { on: sides.on[i]!, off: sides.off[i]! };
    await drive(on, c.on, WARMUP);
    await drive(off, c.off, WARMUP);
    const us: { on: number[]; off: number[] } = { on: [], off: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
      for (const side of order) {
        const result = await drive(side === 'on' ? on : off, c[side], SECONDS);
        if (result.non2xx + result.errors > 0)
          throw new Error(`${c[side].id} (${side}): ${result.non2xx} non-2xx, ${result.errors} errors`);
        us[side].push(cpuUs(result));
      }
    }
    const ratios = us.on.map((a, r) => us.off[r]! / a);
    const line = `${c.on.id.padEnd(14)} on ${median(us.on).toFixed(0).padStart(5)} µs  off ${median(us.off).toFixed(0).padStart(5)} µs  off/on ${(median(us.off) / median(us.on)).toFixed(2)}  (rounds ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
    log(`  ${line}`);
    rows.push(line);
  }
  log(`\nserver CPU per request, median of ${ROUNDS} rounds; off/on > 1: the fast paths save that much`);
  for (const row of rows) log(row);
} finally {
  for (const server of servers) await server.stop();
  await where.cleanup();
}
