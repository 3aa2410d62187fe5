/**
 * PostgreSQL statements per request, per endpoint: counted inside the real server, not guessed.
 *
 *   node bench/pg-round-trips.ts [--scale 2000] [--requests 200] [--keep-url postgres://…]
 *
 * Seeds a fresh PostgreSQL store (bench/lib/seed.ts), starts `certkeeper serve` with
 * bench/lib/server-probe.ts loaded, and for each case of bench/lib/cases.ts (lists, downloads
 * and the NCP v2 import, each of its certificates new) sends `--requests` requests one at a time, then reads the probe: statements per request, and
 * each statement text with its count per request. The same wait with no request gives what the
 * background workers ran meanwhile, subtracted from the figures. Counts, not times: the load on
 * the machine does not change them.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cases, nhnToken, send, type Context } from './lib/cases.ts';
import { importPool, seedPool } from './lib/pools.ts';
import { probeSettings, readProbe } from './lib/probe.ts';
import { startCertkeeper } from './lib/processes.ts';
import { freshLocation, seedStore } from './lib/seed.ts';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '2000' },
    requests: { type: 'string', default: '200' },
    only: { type: 'string' },
  },
});
const SCALE = Number(values.scale);
const REQUESTS = Number(values.requests);
const ONLY = values.only ? new Set(values.only.split(',')) : null;
const log = (line: string): void => console.log(line);

const file = join(tmpdir(), `certkeeper-pg-round-trips-${process.pid}.json`);
const where = await freshLocation('postgres');
const pool = await seedPool(Math.min(200, SCALE));
try {
  const seeded = await seedStore(where, pool, SCALE, () => {});
  const probe = probeSettings(file);
  const server = await startCertkeeper({
    dataDir: where.dataDir,
    masterKey: where.masterKey,
    logLevel: 'warn',
    databaseUrl: where.databaseUrl!,
    nodeFlags: probe.nodeFlags,
    env: probe.env,
  });
  try {
    const ctx: Context = {
      url: server.url,
      seeded,
      token: await nhnToken(server.url, seeded),
      // The import case sends each leaf once: warm-up and measured requests.
      importPool:
        ONLY === null || ONLY.has('ncp-import') ? await importPool(REQUESTS + 20, log) : { chainPem: '', leaves: [] },
      importNext: { i: 0 },
    };
    log(`PostgreSQL statements per request, ${SCALE.toLocaleString('en-US')} certificates, ${REQUESTS} requests each`);
    for (const c of cases(ctx, 100, ONLY)) {
      for (let i = 0; i < 20; i++) await send(ctx.url, c.method, c.next()); // warm: statements prepared, caches filled
      await readProbe(server.pid, file);
      const t0 = performance.now();
      for (let i = 0; i < REQUESTS; i++) {
        const r = await send(ctx.url, c.method, c.next());
        if (r.status !== 200) throw new Error(`${c.id}: HTTP ${r.status}`);
      }
      const elapsed = performance.now() - t0;
      const during = (await readProbe(server.pid, file))!;
      // The background workers' statements over as long a wait, with no request.
      await new Promise((r) => setTimeout(r, elapsed));
      const idle = (await readProbe(server.pid, file))!;
      const perRequest = (during.statements - idle.statements) / REQUESTS;
      log(
        `\n${c.id} (${c.label}): ${perRequest.toFixed(2)} statements/request (background over the same time: ${idle.statements})`,
      );
      for (const [text, n] of Object.entries(during.byText)) {
        const per = (n - (idle.byText[text] ?? 0)) / REQUESTS;
        if (per >= 0.05) log(`  ${per.toFixed(2)}  ${text.replace(/\s+/g, ' ')}`);
      }
    }
  } finally {
    await server.stop();
  }
} finally {
  await where.cleanup();
}
