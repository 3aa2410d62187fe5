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
import { requestBytes, ResponseReader, runOpenLoop } from '../../bench/lib/open-loop.ts';

const HOLD_MS = 40;

async function holdingServer(): Promise<{ server: Server; url: string; connections: () => number }> {
  let connections = 0;
  const server = createServer((req, res) => {
    if (req.url === '/healthz') res.end('ok');
    else if (req.url === '/missing') res.writeHead(404).end();
    else setTimeout(() => res.end('ok'), HOLD_MS);
  });
  server.on('connection', () => connections++);
  return { server, url: await listening(server), connections: () => connections };
}

/** Starts `server` on a free loopback port; its URL. */
async function listening(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
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

  it('counts a request whose connection the server closes as an error, and goes on without it', async (t) => {
    const server = createServer((req, res) => {
      if (req.url === '/healthz') res.end('ok');
      else req.socket.destroy();
    });
    const url = await listening(server);
    t.after(() => server.close());
    const open = await runOpenLoop({
      url,
      rate: 100,
      seconds: 0.04,
      next: () => ({ method: 'GET', path: '/drop', headers: {} }),
      connections: 2,
      drainSeconds: 0.2,
    });
    // Two requests lose their connections; the other two find none left and are never answered.
    assert.deepEqual([open.sent, open.ok, open.errors], [4, 0, 4]);
  });

  it('makes every request before the schedule starts', async (t) => {
    const { server, url } = await holdingServer();
    t.after(() => server.close());
    let made = 0;
    let madeBeforeSchedule = -1;
    const open = await runOpenLoop({
      url,
      rate: 200,
      seconds: 0.1,
      next: () => (made++, { method: 'GET', path: '/healthz', headers: {} }),
      connections: 4,
      onReady: async () => (madeBeforeSchedule = made),
    });
    assert.equal(open.ok, 20);
    assert.equal(madeBeforeSchedule, 20, 'all 20 requests were made (signed) before the schedule');
    assert.equal(made, 20);
  });

  it('reads chunked answers and POST bodies over its own connections', async (t) => {
    const bodies: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        if (req.method === 'POST') bodies.push(body);
        // No Content-Length: node:http sends this chunked, in two chunks.
        res.write('first ');
        setTimeout(() => res.end('second'), 2);
      });
    });
    const url = await listening(server);
    t.after(() => server.close());
    const open = await runOpenLoop({
      url,
      rate: 100,
      seconds: 0.1,
      next: () => ({
        method: 'POST',
        path: '/chunked',
        headers: { 'content-type': 'application/json' },
        body: '{"é":1}',
      }),
      connections: 2,
      warmPath: '/chunked',
    });
    assert.deepEqual([open.ok, open.errors, open.non2xx], [10, 0, 0]);
    assert.deepEqual(bodies, Array(10).fill('{"é":1}'));
  });
});

describe('open-loop wire format', () => {
  it('writes a request with a Host (unless given) and the body length in bytes', () => {
    assert.equal(
      requestBytes({ method: 'POST', path: '/x?a=b', headers: { accept: '*/*' }, body: 'é' }, '127.0.0.1:9').toString(),
      'POST /x?a=b HTTP/1.1\r\naccept: */*\r\nhost: 127.0.0.1:9\r\ncontent-length: 2\r\n\r\né',
    );
    assert.equal(
      requestBytes({ method: 'GET', path: '/', headers: { Host: 'signed.example' } }, '127.0.0.1:9').toString(),
      'GET / HTTP/1.1\r\nHost: signed.example\r\n\r\n',
    );
    assert.throws(() => requestBytes({ method: 'GET', path: '/', headers: { a: 'b\r\nc: d' } }, 'h'), /CR or LF/);
  });

  it('reads answers split anywhere, framed by Content-Length or chunked, one after another', () => {
    const wire = Buffer.from(
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello' +
        'HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nx-t: 1\r\n\r\n' +
        'HTTP/1.1 204 No Content\r\n\r\n' +
        'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n',
    );
    for (let size = 1; size <= wire.length; size++) {
      const statuses: number[] = [];
      const reader = new ResponseReader(
        (status) => statuses.push(status),
        (reason) => assert.fail(reason),
      );
      // Each piece from one reused buffer, as the generator's reads are: the reader must copy what it keeps.
      const scratch = Buffer.alloc(size);
      for (let at = 0; at < wire.length; at += size) {
        const n = wire.copy(scratch, 0, at, at + size);
        reader.push(scratch.subarray(0, n));
        scratch.fill(0);
      }
      assert.deepEqual(statuses, [200, 404, 204, 200], `pieces of ${size} bytes`);
    }
  });

  it('refuses an answer whose end it cannot know', () => {
    const reasons: string[] = [];
    const reader = new ResponseReader(
      () => assert.fail('no answer should complete'),
      (reason) => reasons.push(reason),
    );
    reader.push(Buffer.from('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nbody'));
    assert.deepEqual(reasons, ['HTTP 200 with neither Content-Length nor chunked coding']);
  });
});
