/**
 * Contract of `npm start`'s environment and node flags (package.json `scripts.start`, which the
 * benchmark reads as START_ENV and START_NODE_FLAGS).
 *
 * glibc keeps at most two malloc arenas (`MALLOC_ARENA_MAX=2`): without it each thread of V8 and
 * libuv that meets a locked arena gets one of its own, up to eight per CPU, and their pages stay
 * resident (docs/performance.md, "glibc's arenas"). Counted from /proc/self/maps: a thread arena
 * is a 64 MB-aligned reservation of 64 MB, read-write at its start and inaccessible after. The
 * same process without the variable must show more than one, or the count proves nothing.
 *
 * V8's old generation may grow to at most twice what survived its last full
 * collection before the next one starts. V8's own factor on this machine was 4.0 (its largest),
 * and the pages a grown heap took stay resident: the server's RSS at 1,000,000 certificates was
 * the largest heap V8 ever reached (docs/performance.md, "s13-rss").
 *
 * Read from V8 itself: under `--trace-gc-verbose` each full collection prints the factor it
 * chose ("[HeapController] factor 2.0 based on …"). Nothing here depends on timing: with the flag
 * the factor is fixed; without it V8 picks 4.0 whenever the collector is less than about 43 times
 * faster than the program allocates, which this loop (pure allocation) never is.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { START_ENV, START_NODE_FLAGS } from '../../bench/lib/processes.ts';

// Keeps about 20 MB alive while promoting garbage into the old generation, until V8 has run a
// few full collections.
const CHURN = `
let live = [];
for (let round = 0; round < 40; round++) {
  for (let i = 0; i < 20000; i++) live.push({ s: 'x'.repeat(64) + i, n: [i, round] });
  if (live.length > 100000) live = live.slice(-75000);
}
`;

// Eight worker threads compress at once (zlib allocates through malloc), then the process counts
// glibc's thread arenas in its own memory map.
const ARENAS = `
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
const work = "const zlib = process.getBuiltinModule('node:zlib'); const b = Buffer.alloc(1 << 16, 7); for (let i = 0; i < 300; i++) zlib.deflateSync(b);";
await Promise.all(Array.from({ length: 8 }, () => new Promise((resolve, reject) => {
  const worker = new Worker(work, { eval: true });
  worker.on('exit', resolve);
  worker.on('error', reject);
})));
const HEAP = 64n * 1024n * 1024n;
const maps = readFileSync('/proc/self/maps', 'utf8').trim().split('\\n').map((line) => {
  const [range, perms] = line.split(' ');
  const [start, end] = range.split('-').map((hex) => BigInt('0x' + hex));
  return { start, end, perms };
});
let arenas = 0;
maps.forEach((m, i) => {
  if (m.start % HEAP !== 0n || m.perms !== 'rw-p') return;
  const next = maps[i + 1];
  const end = next && next.start === m.end && next.perms === '---p' ? next.end : m.end;
  if (end - m.start === HEAP) arenas++;
});
console.log(arenas);
`;

function threadArenas(env: NodeJS.ProcessEnv): number {
  const result = spawnSync(process.execPath, [...START_NODE_FLAGS, '--input-type=module', '-e', ARENAS], {
    encoding: 'utf8',
    env,
  });
  assert.equal(result.status, 0, result.stderr);
  return Number(result.stdout.trim());
}

describe("npm start's environment and node flags", () => {
  it('cap the old generation at twice what survived the last full collection', () => {
    const result = spawnSync(process.execPath, [...START_NODE_FLAGS, '--trace-gc-verbose', '-e', CHURN], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.equal(result.status, 0, result.stderr);
    const factors = [...result.stdout.matchAll(/\[HeapController\] factor (\d+(?:\.\d+)?)/g)].map((m) => Number(m[1]));
    assert.ok(factors.length > 0, 'V8 ran no full collection: the loop must allocate more');
    assert.deepEqual(new Set(factors), new Set([2]), `factors chosen: ${factors.join(', ')}`);
  });

  it(
    'keep glibc to two malloc arenas (Linux)',
    { skip: process.platform !== 'linux' && 'glibc arenas: Linux only' },
    () => {
      assert.equal(START_ENV.MALLOC_ARENA_MAX, '2');
      const { MALLOC_ARENA_MAX: _unset, ...without } = process.env;
      assert.ok(threadArenas(without) > 1, 'without MALLOC_ARENA_MAX the threads took no arenas of their own');
      assert.ok(
        threadArenas({ ...without, ...START_ENV }) <= 1,
        "more than one thread arena under npm start's environment",
      );
    },
  );
});
