/**
 * `node scripts/soak.ts --minutes M [--store sqlite|postgres] [--workers W] [--snapshots DIR]`: the
 * reliability suite's soak (test/reliability/soak.ts) for as long as wanted. Prints the report as
 * JSON and exits 1 on any error. PostgreSQL: a fresh database on CERTKEEPER_TEST_PG_URL, dropped
 * after. `--snapshots DIR`: the server's heap snapshots after the warm-up and at the end, to compare
 * (e.g. in Chrome DevTools' Memory tab, "Comparison").
 */
import { parseArgs } from 'node:util';
import { soak } from '../test/reliability/soak.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    store: { type: 'string', default: 'sqlite' },
    workers: { type: 'string', default: '4' },
    snapshots: { type: 'string' },
  },
});
const report = await soak({
  seconds: Number(values.minutes) * 60,
  store: values.store === 'postgres' ? 'postgres' : 'sqlite',
  workers: Number(values.workers),
  ...(values.snapshots === undefined ? {} : { snapshotDir: values.snapshots }),
});
console.log(JSON.stringify(report, null, 2));
process.exit(report.errors > 0 ? 1 : 0);
