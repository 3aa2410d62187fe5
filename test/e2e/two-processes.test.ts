/**
 * Two certkeeper processes on one PostgreSQL, 20 slots provisioned through both: every slot
 * reaches RUNNING, each is deployed exactly once (a webhook target on a loopback server counts
 * deliveries per slot, and checks that no slot is ever deployed by two workers at the same time),
 * and both processes did part of the work. The row claims with a lease are what make this hold;
 * no lock lives in memory.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { FIXTURES } from '../api/ncp/helpers.ts';
import { freshPostgres, postgresSkip, testMasterKey, type TestLocation } from '../helpers/db.ts';
import { cliJson, createDefaultAdmin, EDGE, edgeCall, serve, sleep, waitFor, type Served } from './helpers.ts';

const SLOTS = 20;

describe('two processes on one PostgreSQL, 20 slots', { skip: postgresSkip }, () => {
  let location: TestLocation;
  let receiver: Server;
  const deliveries = new Map<number, number>();
  const inFlight = new Map<number, number>();
  let overlaps = 0;
  let badSignatures = 0;
  let secret = '';
  const processes: Served[] = [];

  before(async () => {
    location = await freshPostgres();
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      const deliver = async (): Promise<void> => {
        const body = Buffer.concat(chunks).toString('utf8');
        const expected = `v1=${createHmac('sha256', secret)
          .update(`${String(request.headers['x-certkeeper-timestamp'])}.${body}`)
          .digest('hex')}`;
        if (request.headers['x-certkeeper-signature'] !== expected) badSignatures += 1;
        const { slotId } = JSON.parse(body) as { slotId: number };
        inFlight.set(slotId, (inFlight.get(slotId) ?? 0) + 1);
        if ((inFlight.get(slotId) ?? 0) > 1) overlaps += 1;
        // A receiver that takes its time, so both workers are busy at once.
        await sleep(30);
        inFlight.set(slotId, (inFlight.get(slotId) ?? 1) - 1);
        deliveries.set(slotId, (deliveries.get(slotId) ?? 0) + 1);
        response.writeHead(204).end();
      };
      request.on('end', () => void deliver());
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
  });

  after(async () => {
    for (const p of processes) p.signal('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    await new Promise((resolve) => receiver.close(resolve));
    await location.cleanup();
  });

  it('every slot RUNNING once, no double deployment, both processes worked', async () => {
    const masterKey = testMasterKey();
    const envFor = (name: string): NodeJS.ProcessEnv => ({
      ...process.env,
      DATABASE_URL: location.databaseUrl,
      CERTKEEPER_MASTER_KEY: masterKey,
      CERTKEEPER_DATA_DIR: join(location.dataDir, name),
      CERTKEEPER_PORT: '0',
      CERTKEEPER_LOG_LEVEL: 'info',
      CERTKEEPER_EDGE_LEASE_SECONDS: '10',
      CERTKEEPER_EDGE_POLL_MS: '50',
    });
    const env = envFor('cli');
    const credentials = await createDefaultAdmin(env);
    await writeFile(join(location.dataDir, 'cert.pem'), FIXTURES.ec.certificate);
    await writeFile(join(location.dataDir, 'key.pem'), FIXTURES.ec.privateKey);
    await writeFile(join(location.dataDir, 'chain.pem'), FIXTURES.ec.chain);
    const { certificateNo } = await cliJson<{ certificateNo: number }>(env, [
      'cert',
      'import',
      '--name',
      'shared',
      '--cert',
      join(location.dataDir, 'cert.pem'),
      '--key',
      join(location.dataDir, 'key.pem'),
      '--chain',
      join(location.dataDir, 'chain.pem'),
    ]);
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const target = await cliJson<{ kind: string; secret: string }>(env, ['target', 'set', 'webhook', '--url', url]);
    secret = target.secret;

    processes.push(await serve(envFor('a')), await serve(envFor('b')));
    const slotIds: number[] = [];
    for (let i = 0; i < SLOTS; i++) {
      const via = processes[i % 2]!;
      const res = await edgeCall(via.baseUrl, credentials, 'POST', EDGE, {
        serviceRegion: 'KR_JP',
        cmCertificateIds: [certificateNo],
        tlsVersion: 'TLS_MIN_VERSION_1_2',
        cipherProfile: 'DEFAULT',
      });
      assert.equal(res.status, 200, res.body.toString());
      slotIds.push(Number(res.headers.location?.split('/').at(-1)));
    }

    await waitFor(
      'every slot RUNNING',
      async () => {
        const res = await edgeCall(processes[0]!.baseUrl, credentials, 'GET', EDGE, undefined, { offset: 100 });
        const content = (res.json as { result: { content: Array<{ provisionStatus: string }> } }).result.content;
        return content.length === SLOTS && content.every((s) => s.provisionStatus === 'RUNNING') ? true : undefined;
      },
      60_000,
      200,
    );
    // Give a straggling double deployment the chance to show itself.
    await sleep(500);

    assert.deepEqual(
      [...deliveries.keys()].sort((a, b) => a - b),
      slotIds,
    );
    for (const slotId of slotIds)
      assert.equal(deliveries.get(slotId), 1, `slot ${slotId} deployed ${deliveries.get(slotId)} times`);
    assert.equal(overlaps, 0, 'no slot deployed by two workers at once');
    assert.equal(badSignatures, 0);
    const published = processes.map((p) => (p.output().match(/"msg":"edge slot published"/g) ?? []).length);
    assert.equal(published[0]! + published[1]!, SLOTS, `published per process: ${published.join(', ')}`);
    assert.ok(
      published.every((n) => n > 0),
      `both processes worked: ${published.join(', ')}`,
    );
  });
});
