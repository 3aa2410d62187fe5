/**
 * `certkeeper notify …` as an operator runs it (run() in-process on a temp SQLite data dir):
 * add a webhook channel (the secret printed once, and the receiver verifies a test send with it),
 * a rule, thresholds, the log; bad input exits 1 with the error's message and writes nothing;
 * a loopback URL is refused unless the operator switch is on.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/run.ts';
import { expectedSignature, receiver, type Receiver } from './setup.ts';

let dataDir: string;
let hook: Receiver;

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    env: { CERTKEEPER_DATA_DIR: dataDir, CERTKEEPER_LOG_LEVEL: 'silent', CERTKEEPER_NOTIFY_ALLOW_PRIVATE: '1', ...env },
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  return { code, stdout, stderr };
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'certkeeper-notify-cli-'));
  hook = await receiver();
  assert.equal((await cli(['tenant', 'create', 'default'])).code, 0);
});
after(async () => {
  await hook.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('certkeeper notify', () => {
  it('refuses a loopback URL without the operator switch, and writes nothing', async () => {
    const refused = await cli(['notify', 'channel', 'add', 'webhook', 'ops', '--url', hook.url], {
      CERTKEEPER_NOTIFY_ALLOW_PRIVATE: '0',
    });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /loopback or link-local .*\(invalid_argument, url\)/);
    assert.match((await cli(['notify', 'channel', 'list'])).stdout, /\(none\)/);
  });

  it('adds a channel and a rule, test-sends, and shows the log', async () => {
    const added = await cli(['notify', 'channel', 'add', 'webhook', 'ops', '--url', hook.url, '--json']);
    assert.equal(added.code, 0, added.stderr);
    const { secret } = JSON.parse(added.stdout) as { secret: string };
    assert.ok(secret.length >= 32);
    const list = await cli(['notify', 'channel', 'list']);
    assert.match(list.stdout, /ops\s+webhook\s+http:\/\/127\.0\.0\.1/);
    assert.ok(!list.stdout.includes(secret), 'the secret is never shown again');

    const rule = await cli([
      'notify',
      'rule',
      'add',
      'expiry',
      '--events',
      'certificate.expiring,certificate.expired',
      '--channels',
      'ops',
      '--match',
      '*.example.com',
    ]);
    assert.equal(rule.code, 0, rule.stderr);
    assert.match(
      (await cli(['notify', 'rule', 'list'])).stdout,
      /expiry\s+certificate\.expiring,certificate\.expired\s+\*\.example\.com\s+ops/,
    );

    const bad = await cli(['notify', 'rule', 'add', 'r2', '--events', 'certificate.gone', '--channels', 'ops']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Unknown event "certificate\.gone"/);

    assert.match((await cli(['notify', 'thresholds'])).stdout, /30, 14, 7, 3, 1 \(defaults\)/);
    assert.match((await cli(['notify', 'thresholds', '--set', '21,7'])).stdout, /21, 7\n/);
    assert.equal((await cli(['notify', 'thresholds', '--set', '0'])).code, 1);

    const test = await cli(['notify', 'test', 'ops']);
    assert.equal(test.code, 0, test.stderr);
    assert.match(test.stdout, /Sent a test notification on ops \(204\)/);
    const got = hook.received.at(-1)!;
    assert.equal(got.headers['x-certkeeper-signature'], expectedSignature(secret, got.headers, got.body));
    assert.equal(got.json.test, true);

    hook.status = 500;
    const failed = await cli(['notify', 'test', 'ops']);
    hook.status = 204;
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /failed: The webhook .* answered HTTP 500/);

    const log = await cli(['notify', 'log', '--json']);
    const lines = JSON.parse(log.stdout) as Array<{ outcome: string; statusCode: number }>;
    assert.deepEqual(
      lines.map((l) => [l.outcome, l.statusCode]),
      [
        ['failed', 500],
        ['sent', 204],
      ],
    );
    assert.equal((await cli(['notify', 'channel', 'remove', 'ops'])).code, 0);
    assert.match((await cli(['notify', 'rule', 'list'])).stdout, /\(none\)/, 'the rule went with its only channel');
  });
});
