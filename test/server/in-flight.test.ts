/**
 * server/in-flight.ts: the count of requests a real HTTP server is answering, what the issuance
 * worker yields to. Real sockets: answered and aborted requests both leave the count.
 */
import assert from 'node:assert/strict';
import { createServer, request, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { countRequestsInFlight } from '../../src/server/in-flight.ts';

describe('requests in flight', () => {
  it('counts requests from arrival until answered or aborted; an absent server is skipped', async () => {
    const held: ServerResponse[] = [];
    const server = createServer((_req, res) => held.push(res));
    const inFlight = countRequestsInFlight([server, undefined]);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    try {
      assert.equal(inFlight(), 0);
      const answers = [1, 2, 3].map(
        () =>
          new Promise<number>((resolve, reject) =>
            request({ port, host: '127.0.0.1', path: '/', agent: false }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            })
              .on('error', reject)
              .end(),
          ),
      );
      while (held.length < 3) await sleep(5);
      assert.equal(inFlight(), 3);
      held[0]!.end('a');
      held[1]!.end('b');
      assert.deepEqual(await Promise.all(answers.slice(0, 2)), [200, 200]);
      assert.equal(inFlight(), 1);
      // The client goes away before an answer: the request leaves the count too.
      const client = request({ port, host: '127.0.0.1', path: '/', agent: false });
      client.on('error', () => undefined).end();
      while (held.length < 4) await sleep(5);
      assert.equal(inFlight(), 2);
      client.destroy();
      while (inFlight() > 1) await sleep(5);
      assert.equal(inFlight(), 1);
      held[2]!.end('c');
      await answers[2];
      assert.equal(inFlight(), 0);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
