/**
 * Contract: the certificate counters (live, days, hours, blocks) stay equal to the rows when the
 * process writing them is killed (SIGKILL) in the middle of its writes, on every store: each
 * write and its counter changes commit together or not at all, and the next open recovers
 * (SQLite's WAL, PostgreSQL's aborted transaction). The child (test/helpers/counter-writer.ts)
 * imports and deletes without pause and is killed after a random number of committed writes,
 * three times in a row on one store; writes go on after each kill.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../src/store/open.ts';
import { makeTenant, newCertificate, rawQuery, storeTargets, testMasterKey } from '../helpers/db.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const NUMBER_BLOCK = 4096;

/** Every counter table against a GROUP BY over the live rows (the same arithmetic as the backfills). */
const COUNTER_CHECKS = [
  [
    'select tenant_id, live as n from certificate_counts where live <> 0 order by 1',
    'select tenant_id, count(*) as n from certificates where deleted_at is null group by 1 order by 1',
  ],
  [
    'select tenant_id, day, n from certificate_expiry_days order by 1, 2',
    `select tenant_id, (not_after - ((not_after % ${DAY}) + ${DAY}) % ${DAY}) / ${DAY} as day, count(*) as n from certificates where deleted_at is null group by 1, 2 order by 1, 2`,
  ],
  [
    'select tenant_id, hour, n from certificate_expiry_hours order by 1, 2',
    `select tenant_id, (not_after - ((not_after % ${HOUR}) + ${HOUR}) % ${HOUR}) / ${HOUR} as hour, count(*) as n from certificates where deleted_at is null group by 1, 2 order by 1, 2`,
  ],
  [
    'select tenant_id, block, n from certificate_number_blocks order by 1, 2',
    `select tenant_id, certificate_no / ${NUMBER_BLOCK} as block, count(*) as n from certificates where deleted_at is null group by 1, 2 order by 1, 2`,
  ],
] as const;

for (const target of storeTargets) {
  describe(`${target.name}: counters after kill -9`, { skip: target.skip }, () => {
    it('a writer killed mid-write three times: every counter equals the rows, and writes go on', async () => {
      const location = await target.fresh();
      const masterKey = testMasterKey();
      try {
        const first = await openStore(location.options({ masterKey }));
        const tenantId = (await makeTenant(first)).id;
        await first.close();
        const norm = (rows: Array<Record<string, unknown>>) =>
          rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)])));
        for (let round = 0; round < 3; round++) {
          const child = spawn(
            process.execPath,
            [
              join(import.meta.dirname, '../helpers/counter-writer.ts'),
              JSON.stringify({ ...location.options({ masterKey }), tenantId, seed: round * 31 }),
            ],
            { stdio: ['ignore', 'pipe', 'inherit'] },
          );
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          const killAfter = 15 + Math.floor(Math.random() * 30);
          let lines = 0;
          await new Promise<void>((resolve) =>
            child.stdout.on('data', (chunk: Buffer) => {
              lines += chunk.toString().split('\n').length - 1;
              if (lines >= killAfter) resolve();
            }),
          );
          child.kill('SIGKILL');
          await exited;
          for (const [counters, rows] of COUNTER_CHECKS)
            assert.deepEqual(
              norm(await rawQuery(location, counters)),
              norm(await rawQuery(location, rows)),
              `round ${round}: ${counters}`,
            );
        }
        // The store opens and writes on, the counters with it.
        const again = await openStore(location.options({ masterKey }));
        try {
          await again.certificates.insert(newCertificate(tenantId), new Date(Date.UTC(2026, 10, 10)));
        } finally {
          await again.close();
        }
        for (const [counters, rows] of COUNTER_CHECKS)
          assert.deepEqual(
            norm(await rawQuery(location, counters)),
            norm(await rawQuery(location, rows)),
            `after: ${counters}`,
          );
      } finally {
        await location.cleanup();
      }
    });
  });
}
