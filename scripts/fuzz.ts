/**
 * `node scripts/fuzz.ts --seed S --count N --store sqlite|postgres [--concurrency C]`: the
 * reliability suite's fuzzer (test/reliability/fuzz.ts) at any size. Prints the report as JSON and
 * exits 1 when it found a 5xx, a stack trace, key material or an error-level log line.
 * PostgreSQL: a fresh database on CERTKEEPER_TEST_PG_URL (default the local server), dropped after.
 */
import { parseArgs } from 'node:util';
import { fuzz } from '../test/reliability/fuzz.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    count: { type: 'string', default: '10000' },
    store: { type: 'string', default: 'sqlite' },
    concurrency: { type: 'string', default: '4' },
  },
});
const store = values.store === 'postgres' ? 'postgres' : 'sqlite';
const report = await fuzz({
  seed: Number(values.seed),
  count: Number(values.count),
  store,
  concurrency: Number(values.concurrency),
});
console.log(JSON.stringify(report, null, 2));
const failed =
  report.serverErrors.length + report.stackTraces.length + report.keyMaterial.length + report.errorLogLines > 0;
process.exit(failed ? 1 : 0);
