/**
 * The bulk path against the per-request import, same run, same store, same kind of certificates:
 *
 *   npm run bench:import-dir                        10,000 certificates in the directory, 1,000 over HTTP
 *   npm run bench:import-dir -- --count 2000 --http 500
 *   npm run bench:import-dir -- --count 3000 --http 100 --workers 0   the command's --workers (default: its own)
 *
 * 1. `--count + --http + 100` distinct P-256 leaves (each its own key, 2 DNS names) under one
 *    root → intermediate chain (bench/lib/pools.ts's seed pool: RSA keys would take 60 ms each
 *    to mint).
 * 2. A fresh SQLite store seeded with 100 of them through core (bench/lib/seed.ts: tenant
 *    `bench`, an NCP credential).
 * 3. Per request: `certkeeper serve` (as `npm start`), `--http` of them imported through NCP
 *    v2 `withExternal` (signed, 32 connections, each sent once), timed from the first request
 *    to the last answer (bench/lib/load.ts). Server stopped.
 * 4. Bulk: the other `--count` written to a directory (certs/c-N.pem, keys/k-N.key: the names
 *    do not pair them; ca/chain.pem) and imported into the same tenant by
 *    `node bin/certkeeper.js cert import-dir DIR --json`, timed from spawn to exit (start-up,
 *    reading the files and opening the store included), its CPU time read by /usr/bin/time.
 * Prints both rates and their ratio, the CPU per certificate of each (the server's for the
 * requests, the whole command's for the directory) and theirs, and the load average.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { AutocannonRequest } from 'autocannon';
import { cases, type Context } from './lib/cases.ts';
import { runLoad } from './lib/load.ts';
import { seedPool } from './lib/pools.ts';
import { ROOT, startCertkeeper } from './lib/processes.ts';
import { freshLocation, seedStore } from './lib/seed.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    http: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '32' },
    workers: { type: 'string' },
  },
});
const COUNT = Number(values.count);
const HTTP = Number(values.http);
const CONNECTIONS = Number(values.connections);
const SEEDED = 100;
const log = (line: string): void => console.log(line);
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');

log(
  `import-dir benchmark: ${COUNT} certificates by directory (--workers ${values.workers ?? 'default'}), ${HTTP} by NCP request; load average ${load()}`,
);
let t = performance.now();
const pool = await seedPool(SEEDED + HTTP + COUNT);
log(`minted ${pool.leaves.length} P-256 leaves in ${((performance.now() - t) / 1000).toFixed(1)} s`);

const where = await freshLocation('sqlite');
const dir = await mkdtemp(join(tmpdir(), 'certkeeper-import-dir-'));
try {
  const seeded = await seedStore(where, { chainPem: pool.chainPem, leaves: pool.leaves.slice(0, SEEDED) }, SEEDED, log);

  // Per request.
  const server = await startCertkeeper({ dataDir: where.dataDir, masterKey: where.masterKey, logLevel: 'warn' });
  let httpRate: number;
  let httpCpuUs: number | null;
  try {
    const ctx: Context = {
      url: server.url,
      seeded,
      token: '',
      importPool: { chainPem: pool.chainPem, leaves: pool.leaves.slice(SEEDED, SEEDED + HTTP) },
      importNext: { i: 0 },
    };
    const [c] = cases(ctx, 100, new Set(['ncp-import']));
    let refused = 0;
    const requests: AutocannonRequest[] = [
      {
        method: 'POST',
        path: '/',
        setupRequest: (request) => {
          const wire = c!.next();
          request.path = wire.path;
          request.headers = wire.headers;
          if (wire.body !== undefined) request.body = wire.body;
          return request;
        },
        onResponse: (status: number, body: string) => {
          if (status !== 200 || !body.includes('"returnCode":"0"')) refused++;
        },
      },
    ];
    const run = await runLoad({
      url: server.url,
      connections: CONNECTIONS,
      amount: HTTP,
      requests,
      cpuPid: server.pid,
    });
    httpRate = run.rps;
    httpCpuUs = run.cpuSeconds === null ? null : (run.cpuSeconds * 1e6) / HTTP;
    log(
      `per request: ${run.ok} imported in ${run.seconds.toFixed(2)} s = ${run.rps.toFixed(0)}/s (server CPU ${run.cpuSeconds === null ? '?' : ((run.cpuSeconds * 1e6) / HTTP).toFixed(0)} µs each; ${refused} refused); load average ${load()}`,
    );
  } finally {
    await server.stop();
  }

  // Bulk.
  await mkdir(join(dir, 'certs'));
  await mkdir(join(dir, 'keys'));
  await mkdir(join(dir, 'ca'));
  await writeFile(join(dir, 'ca', 'chain.pem'), pool.chainPem);
  const bulk = pool.leaves.slice(SEEDED + HTTP);
  for (const [i, leaf] of bulk.entries()) {
    await writeFile(join(dir, 'certs', `c-${i}.pem`), leaf.certPem);
    // Keys numbered backwards: their names say nothing of their certificates.
    await writeFile(join(dir, 'keys', `k-${bulk.length - i}.key`), leaf.keyPem);
  }
  t = performance.now();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (done) => {
      // Under /usr/bin/time for the command's CPU time (user + sys), which the machine's load
      // does not inflate the way it does the wall time.
      const child = spawn(
        '/usr/bin/time',
        [
          '-f',
          'cpu %U %S',
          process.execPath,
          'bin/certkeeper.js',
          'cert',
          'import-dir',
          '--tenant',
          'bench',
          dir,
          '--json',
          ...(values.workers !== undefined ? ['--workers', values.workers] : []),
        ],
        {
          cwd: ROOT,
          env: {
            PATH: process.env.PATH,
            CERTKEEPER_DATA_DIR: where.dataDir,
            CERTKEEPER_MASTER_KEY: where.masterKey,
            CERTKEEPER_LOG_LEVEL: 'warn',
          },
        },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('close', (exit) => done({ code: exit, stdout: out, stderr: err }));
    },
  );
  const seconds = (performance.now() - t) / 1000;
  if (code !== 0) throw new Error(`import-dir exited ${code}: ${stderr}${stdout.slice(0, 2000)}`);
  const summary = JSON.parse(stdout) as { imported: unknown[]; refused: unknown[] };
  const bulkRate = summary.imported.length / seconds;
  const cpu = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
  const cpuSeconds = cpu ? Number(cpu[1]) + Number(cpu[2]) : null;
  log(
    `import-dir: ${summary.imported.length} imported (${summary.refused.length} refused) in ${seconds.toFixed(2)} s = ${bulkRate.toFixed(0)}/s, start-up included; CPU ${cpuSeconds === null ? '?' : `${cpuSeconds.toFixed(2)} s = ${((cpuSeconds * 1e6) / summary.imported.length).toFixed(0)} µs each`}; load average ${load()}`,
  );
  log(`ratio import-dir / per request: ${(bulkRate / httpRate).toFixed(2)}× (wall-clock rates)`);
  if (cpuSeconds !== null && httpCpuUs !== null)
    log(
      `CPU per certificate, per request (server) / import-dir (whole command): ${(httpCpuUs / ((cpuSeconds * 1e6) / summary.imported.length)).toFixed(2)}×`,
    );
} finally {
  await rm(dir, { recursive: true, force: true });
  await where.cleanup();
}
