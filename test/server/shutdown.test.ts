/**
 * Graceful shutdown, with a real child process (test/server/fixtures/slow-server.ts) and real
 * signals: the in-flight request completes, new connections are refused, the store closes after
 * the request, the exit code tells how it went, and a second signal does not wait.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';

const FIXTURE = 'test/server/fixtures/slow-server.ts';
const NODE = 'node_modules/.bin/node';

interface Child {
  proc: ChildProcessWithoutNullStreams;
  address: string;
  /** Parsed JSON log lines so far. */
  records: () => Array<Record<string, unknown>>;
  /** Resolves with the first record matching. */
  waitFor: (pred: (r: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function startChild(env: Record<string, string>): Promise<Child> {
  const proc = spawn(NODE, [FIXTURE], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  let stderr = '';
  const waiters: Array<{
    pred: (r: Record<string, unknown>) => boolean;
    resolve: (r: Record<string, unknown>) => void;
  }> = [];
  const records = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const check = () => {
    for (const w of [...waiters]) {
      const hit = records().find(w.pred);
      if (hit) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(hit);
      }
    }
  };
  proc.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    check();
  });
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close', not 'exit': stdout may still hold the last lines when 'exit' fires.
  const exited = once(proc, 'close').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const waitFor = (pred: (r: Record<string, unknown>) => boolean) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      waiters.push({ pred, resolve });
      check();
      void exited.then(() =>
        reject(new Error(`child exited before the awaited log line; stdout:\n${out}\nstderr:\n${stderr}`)),
      );
    });
  const listening = await waitFor((r) => r.fixture === 'listening');
  return { proc, address: String(listening.address), records, waitFor, exited };
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: new http.Agent({ keepAlive: true }) }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const indexOf = (records: Array<Record<string, unknown>>, pred: (r: Record<string, unknown>) => boolean) =>
  records.findIndex(pred);

describe('installSignalHandlers', () => {
  it('SIGTERM: the in-flight request completes, then the store closes, then exit 0', async () => {
    const child = await startChild({ SLOW_MS: '700' });
    const inFlight = get(`${child.address}/slow/wait`);
    await child.waitFor((r) => r.fixture === 'slow request started');
    child.proc.kill('SIGTERM');
    await child.waitFor((r) => typeof r.msg === 'string' && r.msg.startsWith('shutting down'));

    // Nothing new is served while draining: the connection is refused, or reset when it raced
    // the listening socket's close, or answered 503 (Fastify's return503OnClosing).
    const late = await get(`${child.address}/healthz`).then(
      (r) => r.status,
      (err: NodeJS.ErrnoException) => err.code,
    );
    assert.ok(['ECONNREFUSED', 'ECONNRESET', 503].includes(late ?? ''), `late request got ${String(late)}`);

    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { done: true });
    const { code, signal } = await child.exited;
    assert.deepEqual({ code, signal }, { code: 0, signal: null });

    const records = child.records();
    // The contract: the handler (which may use the store) finished before the store closed.
    // ("request completed" is logged by an onResponse hook that may race the socket's close, so
    // the handler's own last log line is what orders the two.)
    const finishing = indexOf(records, (r) => r.fixture === 'slow request finishing');
    const storeClosed = indexOf(records, (r) => r.fixture === 'store closed');
    const done = indexOf(records, (r) => r.msg === 'shutdown complete');
    assert.ok(finishing >= 0, 'the handler finished');
    assert.ok(storeClosed > finishing, 'the store closed after the handler finished');
    assert.ok(done > storeClosed, 'shutdown complete is the last step');
    assert.equal(records[done]?.exitCode, 0);
  });

  it('SIGINT works the same way', async () => {
    const child = await startChild({ SLOW_MS: '300' });
    const inFlight = get(`${child.address}/slow/wait`);
    await child.waitFor((r) => r.fixture === 'slow request started');
    child.proc.kill('SIGINT');
    assert.equal((await inFlight).status, 200);
    assert.equal((await child.exited).code, 0);
  });

  it('a request outlasting the timeout is cut, the store still closes, exit 1', async () => {
    const child = await startChild({ SLOW_MS: '5000', SHUTDOWN_TIMEOUT_MS: '300' });
    const inFlight = get(`${child.address}/slow/wait`);
    await child.waitFor((r) => r.fixture === 'slow request started');
    child.proc.kill('SIGTERM');
    await assert.rejects(inFlight, /socket hang up|ECONNRESET/);
    assert.equal((await child.exited).code, 1);
    const records = child.records();
    // It did not wait for the slow request: the handler never reached its end.
    assert.equal(
      indexOf(records, (r) => r.fixture === 'slow request finishing'),
      -1,
    );
    assert.ok(indexOf(records, (r) => r.fixture === 'store closed') >= 0);
    assert.ok(indexOf(records, (r) => typeof r.msg === 'string' && r.msg.includes('did not finish in time')) >= 0);
  });

  it('a second signal exits at once', async () => {
    const child = await startChild({ SLOW_MS: '20000' });
    const inFlight = get(`${child.address}/slow/wait`).catch((err: unknown) => err);
    await child.waitFor((r) => r.fixture === 'slow request started');
    child.proc.kill('SIGTERM');
    await child.waitFor((r) => typeof r.msg === 'string' && r.msg.startsWith('shutting down'));
    child.proc.kill('SIGTERM');
    const { code } = await child.exited;
    // Exit by the second signal, not by the drain: its exit code, and no drain steps after it.
    assert.equal(code, 128 + 15);
    assert.equal(
      indexOf(child.records(), (r) => r.fixture === 'slow request finishing'),
      -1,
    );
    assert.equal(
      indexOf(child.records(), (r) => r.fixture === 'store closed'),
      -1,
      'no orderly store close on the forced path',
    );
    await inFlight;
  });
});
