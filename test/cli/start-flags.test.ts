/**
 * Contract of `npm start`'s node flags (package.json `scripts.start`, which the benchmark reads as
 * START_NODE_FLAGS): V8's old generation may grow to at most twice what survived its last full
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
import { START_NODE_FLAGS } from '../../bench/lib/processes.ts';

// Keeps about 20 MB alive while promoting garbage into the old generation, until V8 has run a
// few full collections.
const CHURN = `
let live = [];
for (let round = 0; round < 40; round++) {
  for (let i = 0; i < 20000; i++) live.push({ s: 'x'.repeat(64) + i, n: [i, round] });
  if (live.length > 100000) live = live.slice(-75000);
}
`;

describe("npm start's node flags", () => {
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
});
