/**
 * The soak (soak.ts), short, on both stores: a real `certkeeper serve` under mixed load (lists,
 * downloads, imports, deletes, slot changes) for a few seconds answers every request with a
 * success and stays up. Memory and descriptor slopes are reported, not asserted (seconds say
 * little about them); long runs by hand: `node scripts/soak.ts --minutes 30` (RELIABILITY.md).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { storeTargets } from '../helpers/db.ts';
import { soak } from './soak.ts';

const SECONDS = 10;

for (const target of storeTargets) {
  describe(`${target.name}: soak`, { skip: target.skip }, () => {
    it(`${SECONDS} s of mixed load: 0 errors`, async (t) => {
      const report = await soak({ seconds: SECONDS, store: target.name });
      t.diagnostic(JSON.stringify({ operations: report.operations, rssMiB: report.rssMiB, fds: report.fds }));
      assert.deepEqual(report.errorSamples, []);
      assert.equal(report.errors, 0);
      for (const kind of ['list', 'download', 'import', 'delete', 'slot change'])
        assert.ok((report.operations[kind] ?? 0) > 0, `some ${kind} ran: ${JSON.stringify(report.operations)}`);
    });
  });
}
