/**
 * The fuzzer (fuzz.ts), small, on both stores: every route of every face, hostile input, no 5xx,
 * no stack trace in any answer, no key material in the logs or the data directory. Large runs by
 * hand: `node scripts/fuzz.ts --seed S --count N --store sqlite|postgres` (RELIABILITY.md).
 * `CERTKEEPER_FUZZ_SEED` replays a seed here; the default changes with the day, so runs over time
 * cover more of the space while any one failure names its seed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { storeTargets } from '../helpers/db.ts';
import { fuzz } from './fuzz.ts';

const SEED = Number(process.env.CERTKEEPER_FUZZ_SEED ?? Math.floor(Date.now() / 86_400_000));
const COUNT = 600;

for (const target of storeTargets) {
  describe(`${target.name}: fuzzing every route`, { skip: target.skip }, () => {
    it(`${COUNT} hostile requests (seed ${SEED}): no 5xx, no stack, no key bytes`, async () => {
      const report = await fuzz({ seed: SEED, count: COUNT, store: target.name });
      const seen = `seed ${SEED}, ${JSON.stringify(report.byStatus)}`;
      assert.ok(report.routes > 50, `routes from the OpenAPI document (${report.routes})`);
      assert.deepEqual(report.serverErrors, [], seen);
      assert.deepEqual(report.stackTraces, [], seen);
      assert.deepEqual(report.keyMaterial, [], seen);
      assert.equal(report.errorLogLines, 0, `no error-level log lines (${seen})`);
      // The fuzzer got past authentication: some answers are successes, not all refusals.
      assert.ok((report.byStatus[200] ?? 0) > 0, seen);
    });
  });
}
