/**
 * The CPU an import costs inside one process, without HTTP or a load generator, so the figures
 * do not depend on what else the shared machine runs (CPU time, not wall time):
 *
 *   npm run bench:import-cost                          2,000 of each kind
 *   npm run bench:import-cost -- --count 500
 *   npm run bench:import-cost -- --only import,import-files --statements    the costliest SQL too
 *   npm run bench:import-cost -- --profile DIR      a CPU profile of each measured part, DIR/<part>.cpuprofile
 *   npm run bench:import-cost -- --reuse COPY --only import --wal    on a copy of a kept store (1,000,000)
 *   npm run bench:import-cost -- --only import-files --workers 1    importFiles' worker threads (default: its own)
 *
 * A fresh SQLite store (the app opened as the CLI opens it: migrations, vault), one tenant, then:
 * 1. ladder: `runImportLadder` alone on `--count` RSA-2048 leaves with their 2-certificate chain
 *    and key (the NCP import case's certificates, bench/lib/pools.ts `importPool`, cached).
 * 2. import: the same certificates through `core.certificates.import` one by one (what NCP's
 *    `withExternal` calls: ladder, step 9, one write transaction, audit), under NCP's policy;
 *    `--concurrency N`: N at a time, as N clients of a server would (their writes may then share
 *    a commit: store/write-group.ts).
 * 3. import-files: `--count` distinct P-256 leaves with one shared root → intermediate chain, as
 *    files (certs, keys, the chain in one file; names that do not pair them), through
 *    `core.certificates.importFiles` (what `cert import-dir` calls after reading the directory).
 * For each: CPU (user + system of this process, `process.cpuUsage`) per certificate, of it the
 * main thread's (`process.threadCpuUsage`: with worker threads and a free core for each, the
 * main thread is the critical path), wall time, and the SQLite statements run per certificate (counted on better-sqlite3's Statement methods,
 * the store's only way to SQLite). Prints the load average beside.
 *
 * `--reuse DIR` runs on a store kept by bench/run.ts (`--seed-only`; pass a `cp -a` COPY, never
 * the original: the rows of earlier runs are deleted first, as bench/run.ts's `--reuse-sqlite`
 * does), in its `bench` tenant, the imports named `imp-<i>` as the NCP import case names them;
 * its file is read into the page cache first, as bench/run.ts does (`--no-warm` skips that).
 * `--wal` counts the pages each measured part writes: a side connection holds a read
 * transaction from before the part to after it, so no checkpoint can reset or copy the WAL
 * meanwhile; then the part's WAL frames (each a page written by one commit) are read from the
 * file and attributed to their table or index through `dbstat`. Load-independent: frames per
 * commit and per certificate, by object. (The held reader makes each commit past SQLite's
 * 1,000-page threshold try a checkpoint in vain: the CPU figure of a `--wal` run is not the
 * one to quote.)
 */
import { mkdir, open, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { openApp } from '../src/app/app.ts';
import { importOptions } from '../src/api/ncp/policy.ts';
import { loadConfig } from '../src/config/config.ts';
import { cliActor } from '../src/core/actor.ts';
import { runImportLadder } from '../src/domain/x509/ladder.ts';
import { importPool, seedPool } from './lib/pools.ts';
import { freshLocation, readIntoPageCache, reuseStore } from './lib/seed.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '2000' },
    only: { type: 'string', default: 'ladder,import,import-files' },
    statements: { type: 'boolean', default: false },
    profile: { type: 'string' },
    reuse: { type: 'string' },
    wal: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '1' },
    'no-warm': { type: 'boolean', default: false },
    workers: { type: 'string' },
  },
});
const COUNT = Number(values.count);
const ONLY = new Set(values.only.split(','));
const CONCURRENCY = Number(values.concurrency);
const log = (line: string): void => console.log(line);
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');

// Statement counter: every statement the store runs goes through one of these. With
// --statements, also the main thread's CPU time in each (process.threadCpuUsage around the
// synchronous call: SQLite's own work, the WAL writes of a commit included), by SQL text.
let statements = 0;
const bySql = new Map<string, { n: number; us: number }>();
{
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('select 1')) as Record<string, unknown>;
  probe.close();
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = proto[method] as (...args: unknown[]) => unknown;
    proto[method] = function (this: { source: string }, ...args: unknown[]) {
      statements++;
      if (!values.statements) return original.apply(this, args);
      const t0 = process.threadCpuUsage();
      try {
        return original.apply(this, args);
      } finally {
        const t = process.threadCpuUsage(t0);
        const entry = bySql.get(this.source) ?? { n: 0, us: 0 };
        entry.n++;
        entry.us += t.user + t.system;
        bySql.set(this.source, entry);
      }
    };
  }
}

/** The WAL's valid frames from byte `from` on (the file's current salts): page number, and whether it ends a commit. */
async function walFrames(walFile: string, from: number): Promise<{ pages: number[]; commits: number; end: number }> {
  const file = await open(walFile, 'r');
  try {
    const header = Buffer.alloc(32);
    await file.read(header, 0, 32, 0);
    const pageSize = header.readUInt32BE(8);
    const salt1 = header.readUInt32BE(16);
    const salt2 = header.readUInt32BE(20);
    const frameHeader = Buffer.alloc(24);
    const pages: number[] = [];
    let commits = 0;
    let at = Math.max(from, 32);
    for (;;) {
      const { bytesRead } = await file.read(frameHeader, 0, 24, at);
      if (bytesRead < 24 || frameHeader.readUInt32BE(8) !== salt1 || frameHeader.readUInt32BE(12) !== salt2) break;
      pages.push(frameHeader.readUInt32BE(0));
      if (frameHeader.readUInt32BE(4) !== 0) commits++;
      at += 24 + pageSize;
    }
    return { pages, commits, end: at };
  } finally {
    await file.close();
  }
}

let dbFile: string | null = null;

async function measure(what: string, n: number, work: () => Promise<void> | void): Promise<void> {
  // --wal: a read transaction on a side connection pins the WAL (no checkpoint copies or resets it).
  const holder = values.wal && dbFile ? new Database(dbFile, { readonly: true }) : null;
  let walFrom = 0;
  if (holder) {
    holder.exec('begin');
    holder.prepare('select count(*) from sqlite_schema').get();
    walFrom = (await walFrames(`${dbFile}-wal`, 0)).end;
  }
  const s0 = statements;
  const c0 = process.cpuUsage();
  const m0 = process.threadCpuUsage();
  const t0 = performance.now();
  bySql.clear();
  const session = values.profile === undefined ? null : new Session();
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  await work();
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    await mkdir(values.profile!, { recursive: true });
    await writeFile(join(values.profile!, `${what}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const main = process.threadCpuUsage(m0);
  const cpuUs = (cpu.user + cpu.system) / n;
  log(
    `${what.padEnd(14)} ${n} in ${wall.toFixed(2)} s wall; CPU ${cpuUs.toFixed(0)} µs each (${(1e6 / cpuUs).toFixed(0)}/s of one core), main thread ${((main.user + main.system) / n).toFixed(0)} µs; ${((statements - s0) / n).toFixed(1)} statements each; load average ${load()}`,
  );
  if (values.statements) {
    const sqliteUs = [...bySql.values()].reduce((sum, entry) => sum + entry.us, 0) / n;
    log(`  ${sqliteUs.toFixed(0).padStart(6)} µs each in SQLite, all statements; the rest is JavaScript`);
  }
  for (const [text, { n: runs, us }] of [...bySql].sort((a, b) => b[1].us - a[1].us).slice(0, 12))
    log(`  ${(us / n).toFixed(0).padStart(6)} µs each, ${(runs / n).toFixed(2)} runs each: ${text.slice(0, 110)}`);
  if (holder) {
    const { pages, commits } = await walFrames(`${dbFile}-wal`, walFrom);
    holder.exec('commit'); // now dbstat sees the part's pages (new ones included)
    const wanted = new Set(pages);
    const owner = new Map<number, string>();
    for (const row of holder.prepare('select name, pageno from dbstat').iterate() as Iterable<{
      name: string;
      pageno: number;
    }>)
      if (wanted.has(row.pageno)) owner.set(row.pageno, row.name);
    holder.close();
    const byOwner = new Map<string, { frames: number; distinct: Set<number> }>();
    for (const page of pages) {
      const name = owner.get(page) ?? '(free or unknown)';
      const entry = byOwner.get(name) ?? { frames: 0, distinct: new Set<number>() };
      entry.frames++;
      entry.distinct.add(page);
      byOwner.set(name, entry);
    }
    log(
      `  WAL: ${pages.length} frames in ${commits} commits: ${(pages.length / Math.max(commits, 1)).toFixed(1)} pages a commit, ${(pages.length / n).toFixed(1)} a certificate (${wanted.size} distinct pages)`,
    );
    for (const [name, { frames, distinct }] of [...byOwner].sort((a, b) => b[1].frames - a[1].frames))
      log(`  ${(frames / n).toFixed(2).padStart(7)} pages a certificate, ${distinct.size} distinct: ${name}`);
  }
}

log(`import-cost: ${COUNT} of each, ${CONCURRENCY} at a time; load average ${load()}`);
const rsa = ONLY.has('ladder') || ONLY.has('import') ? await importPool(COUNT, log) : { chainPem: '', leaves: [] };
const p256 = ONLY.has('import-files') ? await seedPool(COUNT) : { chainPem: '', leaves: [] };
const where =
  values.reuse === undefined ? await freshLocation('sqlite') : (await reuseStore('sqlite', values.reuse, log)).where;
// A kept store's pages in the kernel's cache first, as bench/run.ts does: otherwise the part
// measures what the kernel still held of the copy (random-key reads from the disk).
if (values.reuse !== undefined && !values['no-warm']) await readIntoPageCache(where.dataDir, log);
dbFile = join(where.dataDir, 'certkeeper.db');
const app = await openApp(
  loadConfig({
    CERTKEEPER_DATA_DIR: where.dataDir,
    CERTKEEPER_MASTER_KEY: where.masterKey,
    CERTKEEPER_LOG_LEVEL: 'warn',
  }),
);
try {
  const tenant =
    values.reuse === undefined
      ? await app.core.tenants.create('bench')
      : (await app.core.tenants.list()).find((t) => t.name === 'bench')!;
  const actor = cliActor(tenant.id);
  const options = importOptions('ncp-v2');
  const inputs = rsa.leaves.map((leaf, i) => ({
    name: `imp-${i}`,
    certificate: leaf.certPem,
    privateKey: leaf.keyPem,
    chain: rsa.chainPem,
  }));

  if (ONLY.has('ladder'))
    await measure('ladder', COUNT, () => {
      for (const input of inputs) runImportLadder(input, { ...options.policy, now: new Date() });
    });
  if (ONLY.has('import'))
    await measure('import', COUNT, async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < inputs.length) await app.core.certificates.import(actor, inputs[next++]!, options);
        }),
      );
    });

  const files = [
    { path: 'ca/chain.pem', bytes: Buffer.from(p256.chainPem) },
    ...p256.leaves.flatMap((leaf, i) => [
      { path: `certs/c-${i}.pem`, bytes: Buffer.from(leaf.certPem) },
      { path: `keys/k-${COUNT - i}.key`, bytes: Buffer.from(leaf.keyPem) },
    ]),
  ];
  if (ONLY.has('import-files'))
    await measure('import-files', COUNT, async () => {
      const summary = await app.core.certificates.importFiles(actor, files, {
        names: 'stem',
        dryRun: false,
        passphrase: null,
        ...(values.workers !== undefined ? { workers: Number(values.workers) } : {}),
      });
      if (summary.imported.length !== COUNT) throw new Error(`imported ${summary.imported.length} of ${COUNT}`);
    });
} finally {
  await app.close();
  await where.cleanup();
}
