/**
 * bench/lib/server-probe.ts, loaded with `--import` into a small HTTP server, and the open-loop
 * generator (bench/lib/open-loop.ts) against it: a request that holds the event loop on the CPU
 * shows as a stall with that CPU time in it, SQLite calls are counted and a long one is kept with
 * its SQL inside the stall, requests are counted as the server saw them, disk reads are reported,
 * and the generator reports its own loop, its pool of connections (opened before the schedule)
 * and the CPU a request took; on PostgreSQL, statements' round trips and the waits for a client of
 * the pool are timed. Nothing here asserts a duration from below that the test does not itself
 * enforce (the busy request spins until its thread has used 60 ms of CPU; pg_sleep holds the
 * pool's only client 60 ms).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOpenLoop } from '../../bench/lib/open-loop.ts';
import { PROBE_MODULE, probeSettings, readProbe } from '../../bench/lib/probe.ts';
import { PG_ADMIN_URL, postgresSkip } from '../helpers/db.ts';

// The server: /sql runs one SQLite statement, /busy one that takes at least 60 ms of this
// thread's CPU (a recursive CTE counted to completion, then a spin until the CPU is spent).
const SERVER = `
import { createServer } from 'node:http';
import Database from 'better-sqlite3';
const db = new Database(':memory:');
const quick = db.prepare('select 1 as one');
const slow = db.prepare('with recursive n(i) as (select 1 union all select i + 1 from n where i < 200000) select count(*) as c from n');
const server = createServer((req, res) => {
  if (req.url === '/busy') {
    const cpu = () => { const u = process.threadCpuUsage(); return (u.user + u.system) / 1000; };
    const start = cpu();
    slow.get();
    while (cpu() - start < 60) {}
  } else quick.get();
  res.end('ok');
});
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;

// A server with a PostgreSQL pool of one client, through the store's statement wrapper (whose
// statement channel the probe hears): /pg runs two 60 ms statements at once, so the second waits
// for the pool's only client for as long as the first runs.
const STATEMENTS_MODULE = new URL('../../src/store/postgres-statements.ts', import.meta.url).href;
const PG_SERVER = `
import { createServer } from 'node:http';
import pg from 'pg';
import { withPreparedStatements } from '${STATEMENTS_MODULE}';
const store = withPreparedStatements(new pg.Pool({ connectionString: process.env.PG_URL, max: 1 }));
const run = async (text) => {
  const client = await store.connect();
  try {
    await client.query(text, []);
  } finally {
    client.release();
  }
};
const server = createServer(async (req, res) => {
  await Promise.all([run('select pg_sleep(0.06)'), run('select pg_sleep(0.06)')]);
  res.end('ok');
});
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;

/** Starts `source` under the probe; its first line of output is the port it listens on. */
async function probed(
  source: string,
  file: string,
  env: Record<string, string>,
): Promise<{ url: string; pid: number; stop: () => void }> {
  const settings = probeSettings(file);
  const child = spawn(process.execPath, [...settings.nodeFlags, '--input-type=module', '-e', source], {
    env: { ...process.env, ...settings.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => child.kill() };
}

describe('bench server probe', () => {
  it('times PostgreSQL round trips and the waits for a client of the pool', { skip: postgresSkip }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'certkeeper-probe-test-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'probe.json');
    const server = await probed(PG_SERVER, file, { PG_URL: PG_ADMIN_URL });
    t.after(server.stop);
    await readProbe(server.pid, file); // start over from here
    assert.equal(await (await fetch(`${server.url}/pg`)).text(), 'ok');
    const report = await readProbe(server.pid, file);
    assert.ok(report?.postgres, 'the probe reports PostgreSQL');
    const { roundTripMs, slowest, poolWaits } = report.postgres;
    assert.equal(report.statements, 2);
    assert.equal(poolWaits.count, 2);
    // pg_sleep holds the only client 60 ms: the second statement waited at least that long for it.
    assert.ok(poolWaits.over1Ms >= 1 && poolWaits.maxMs >= 55, `pool waits ${JSON.stringify(poolWaits)}`);
    assert.ok(roundTripMs.max >= 55, `round trips ${JSON.stringify(roundTripMs)}`);
    assert.equal(slowest[0]?.sql, 'select pg_sleep(0.06)');
    assert.equal(slowest[0]?.count, 2);
  });

  it('attributes a busy stall, counts SQLite calls and requests, and the generator reports itself', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'certkeeper-probe-test-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'probe.json');
    assert.deepEqual(probeSettings(file).nodeFlags, ['--import', PROBE_MODULE]);
    const server = await probed(SERVER, file, { CERTKEEPER_BENCH_PROBE_SQLITE_MS: '1' });
    t.after(server.stop);
    const { url, pid } = server;
    await readProbe(pid, file); // start over from here

    for (let i = 0; i < 5; i++) assert.equal(await (await fetch(`${url}/sql`)).text(), 'ok');
    assert.equal(await (await fetch(`${url}/busy`)).text(), 'ok');
    const open = await runOpenLoop({
      url,
      rate: 200,
      seconds: 0.25,
      next: () => ({ method: 'GET', path: '/sql', headers: {} }),
      connections: 4,
      warmPath: '/sql',
      cpuPid: pid,
    });
    // Settle: the interval timer records the stall when it next runs.
    await new Promise((r) => setTimeout(r, 50));
    const report = await readProbe(pid, file);
    assert.ok(report, 'the probe answered');

    assert.equal(open.ok, open.sent);
    // The pool is opened before the schedule (one GET each) and no connection is opened during it.
    assert.equal(open.connections, 4);
    assert.ok(open.maxOutstanding! >= 1 && open.maxOutstanding! <= open.sent, `outstanding ${open.maxOutstanding}`);
    assert.ok(open.queued! >= 0 && open.queued! <= open.sent);
    assert.ok(Number.isFinite(open.generatorLoopMaxMs) && open.sendLagMaxMs >= open.sendLagP99Ms);
    assert.ok(open.generatorCpuUsPerRequest! > 0 && open.serverCpuUsPerRequest! >= 0);
    assert.equal(open.postgresCpuUsPerRequest, null);

    const { served, sqlite, stalls } = report;
    assert.ok(served && sqlite && stalls, 'the probe reports requests, SQLite and stalls');
    assert.equal(served.count, 6 + open.connections + open.ok);
    assert.ok(served.maxMs >= 60, `slowest request as served ${served.maxMs} ms`);
    assert.equal(sqlite.calls, 6 + open.connections + open.ok);
    const slowCall = sqlite.long.find((c) => c.sql.startsWith('with recursive n(i)'));
    assert.ok(slowCall, 'the long statement is kept with its SQL');

    const stall = stalls.busiest[0];
    assert.ok(stall, 'a stall was recorded');
    assert.ok(stall.ms >= 55 && stall.cpuMs >= 55, `stall ${stall.ms} ms, CPU ${stall.cpuMs} ms`);
    assert.ok(
      stall.sqlite.some((s) => s.includes('with recursive n(i)')),
      `the stall names the statement inside it: ${stall.sqlite.join(' | ')}`,
    );
    assert.ok(stalls.count >= 1 && stalls.cpuMs >= 55);
    assert.ok(report.disk && report.disk.readBytes >= 0 && report.disk.readCalls >= 0);
    assert.ok(report.gc.byKind !== undefined);
  });
});
