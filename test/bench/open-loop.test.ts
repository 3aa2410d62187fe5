/**
 * bench/lib/open-loop.ts against a server that holds every answer 40 ms: the generator keeps to
 * its pool of connections, opened before the schedule, and a request due while every connection
 * is busy waits for one, that wait counted in its latency (measured from the schedule, so no
 * coordinated omission). The only durations asserted from below are the server's own 40 ms hold.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runOpenLoop } from '../../bench/lib/open-loop.ts';

const HOLD_MS = 40;

async function holdingServer(): Promise<{ server: Server; url: string; connections: () => number }> {
  let connections = 0;
  const server = createServer((req, res) => {
    if (req.url === '/healthz') res.end('ok');
    else if (req.url === '/missing') res.writeHead(404).end();
    else setTimeout(() => res.end('ok'), HOLD_MS);
  });
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

describe('open-loop generator', () => {
  it('sends on a pool opened before the schedule and counts the wait for a connection', async (t) => {
    const { server, url, connections } = await holdingServer();
    t.after(() => server.close());
    // 2 connections held 40 ms each answer at most 50 a second; the schedule asks 100 a second.
    const open = await runOpenLoop({
      url,
      rate: 100,
      seconds: 0.3,
      next: () => ({ method: 'GET', path: '/hold', headers: {} }),
      connections: 2,
    });
    assert.equal(open.sent, 30);
    assert.equal(open.ok, 30);
    assert.equal(open.connections, 2);
    assert.equal(connections(), 2, 'the server saw only the pool');
    assert.ok(open.queued! > 0, `requests that waited for a connection: ${open.queued}`);
    assert.ok(open.maxOutstanding! > 2, `most outstanding: ${open.maxOutstanding}`);
    // 30 answers through 2 connections take at least 15 holds: the last ones, due by 0.3 s,
    // cannot be answered before 0.6 s, and their latency from the schedule shows that wait.
    assert.ok(open.maxMs >= 15 * HOLD_MS - 300, `slowest ${open.maxMs} ms`);
    assert.ok(open.p50Ms >= HOLD_MS, `median ${open.p50Ms} ms`);
    assert.equal(open.serverCpuUsPerRequest, null);
    assert.ok(open.generatorCpuUsPerRequest! > 0);
  });

  it('refuses to start when the path that opens the connections does not answer 200', async (t) => {
    const { server, url } = await holdingServer();
    t.after(() => server.close());
    await assert.rejects(
      runOpenLoop({
        url,
        rate: 10,
        seconds: 0.1,
        next: () => ({ method: 'GET', path: '/hold', headers: {} }),
        connections: 1,
        warmPath: '/missing',
      }),
      /GET \/missing: HTTP 404/,
    );
  });
});
