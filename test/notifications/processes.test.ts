/**
 * Exactly once across real processes: `certkeeper serve` processes on one PostgreSQL, a process
 * killed with SIGKILL between taking a delivery and recording it, and the others carrying on.
 *
 * 12 certificates expiring in 10 days, a webhook channel and an expiry rule (through the CLI).
 * Process A starts alone; the receiver holds every request A makes without answering, and A is
 * killed -9 while it waits (deliveries claimed and sent, outcome not recorded). Processes B and C
 * then start together. Every notice must be answered exactly once: those A held are retried after
 * their lease (12 s here), none is sent twice by B and C, and every request is signed.
 * (A receiver that had answered A before the kill would get those again: certkeeper cannot know
 * they arrived; docs/notifications.md says so, and the event id lets receivers de-duplicate.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer, type ServerResponse, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { mintPems } from '../api/console/helpers.ts';
import { freshPostgres, postgresSkip, testMasterKey, type TestLocation } from '../helpers/db.ts';
import { cliJson, serve, sleep, waitFor, type Served } from '../e2e/helpers.ts';
import { expectedSignature } from './setup.ts';

const CERTIFICATES = 12;

describe('notifications: processes on one PostgreSQL, kill -9 mid-delivery', { skip: postgresSkip }, () => {
  let location: TestLocation;
  let receiver: Server;
  const processes: Served[] = [];
  const answered = new Map<string, number>();
  const held: ServerResponse[] = [];
  let holding = true;
  let badSignatures = 0;
  let secret = '';

  before(async () => {
    location = await freshPostgres();
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (request.headers['x-certkeeper-signature'] !== expectedSignature(secret, request.headers, body))
          badSignatures += 1;
        // While A runs alone nothing is answered: A is killed while it waits.
        if (holding) {
          held.push(response);
          return;
        }
        const { id } = JSON.parse(body) as { id: string };
        setTimeout(() => {
          answered.set(id, (answered.get(id) ?? 0) + 1);
          response.writeHead(204).end();
        }, 20);
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
  });

  after(async () => {
    for (const p of processes) p.signal('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
    await location.cleanup();
  });

  it('sends each notice once although a sender died holding some', async () => {
    const masterKey = testMasterKey();
    const envFor = (name: string): NodeJS.ProcessEnv => ({
      ...process.env,
      DATABASE_URL: location.databaseUrl,
      CERTKEEPER_MASTER_KEY: masterKey,
      CERTKEEPER_DATA_DIR: join(location.dataDir, name),
      CERTKEEPER_PORT: '0',
      CERTKEEPER_LOG_LEVEL: 'warn',
      CERTKEEPER_NOTIFY_ALLOW_PRIVATE: '1',
      CERTKEEPER_NOTIFY_SCAN_SECONDS: '1',
      CERTKEEPER_NOTIFY_POLL_MS: '50',
      CERTKEEPER_NOTIFY_TIMEOUT_SECONDS: '5',
      CERTKEEPER_NOTIFY_LEASE_SECONDS: '12',
    });
    const env = envFor('cli');
    await cliJson(env, ['tenant', 'create', 'default']);
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    secret = (await cliJson<{ secret: string }>(env, ['notify', 'channel', 'add', 'webhook', 'ops', '--url', url]))
      .secret;
    await cliJson(env, ['notify', 'rule', 'add', 'expiry', '--events', 'certificate.expiring', '--channels', 'ops']);
    const now = new Date();
    for (let i = 0; i < CERTIFICATES; i++) {
      const pems = await mintPems(
        {
          cn: `host-${i}.example.com`,
          sans: { dns: [`host-${i}.example.com`] },
          notBefore: new Date(now.getTime() - 80 * 86_400_000),
          notAfter: new Date(now.getTime() + 10 * 86_400_000),
        },
        now,
      );
      await writeFile(join(location.dataDir, `cert-${i}.pem`), pems.certificate);
      await writeFile(join(location.dataDir, `key-${i}.pem`), pems.privateKey);
      await writeFile(join(location.dataDir, `chain-${i}.pem`), pems.chain);
      await cliJson(env, [
        'cert',
        'import',
        '--name',
        `cert-${i}`,
        '--cert',
        join(location.dataDir, `cert-${i}.pem`),
        '--key',
        join(location.dataDir, `key-${i}.pem`),
        '--chain',
        join(location.dataDir, `chain-${i}.pem`),
      ]);
    }

    const a = await serve(envFor('a'));
    processes.push(a);
    await waitFor('process A sends its first notice', async () => (held.length > 0 ? true : undefined), 30_000, 50);
    await sleep(500); // let A claim and send what it can
    a.signal('SIGKILL');
    await a.exited;
    holding = false;
    for (const response of held) response.destroy();

    processes.push(await serve(envFor('b')), await serve(envFor('c')));
    await waitFor(
      'every notice answered',
      async () => (answered.size === CERTIFICATES ? true : undefined),
      60_000,
      100,
    );
    await sleep(3_000); // a straggling second send would show itself now
    assert.deepEqual(
      [...answered.values()].filter((n) => n !== 1),
      [],
      'no notice answered twice',
    );
    assert.equal(answered.size, CERTIFICATES);
    assert.ok(held.length >= 1, `A had ${held.length} notice(s) in flight when it was killed`);
    assert.equal(badSignatures, 0);
  });
});
