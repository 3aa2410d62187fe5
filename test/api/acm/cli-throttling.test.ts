/**
 * ACM's throttling answer through Debian's awscli (/usr/bin/aws): the CLI must recognise certkeeper's
 * `ThrottlingException` as AWS's, so with retries off it reports it, and with retries on it backs
 * off and gets through once the credential's bucket refills. The bucket runs on the test's clock:
 * the test moves it after the CLI's first attempt was refused, never waits for real time to pass.
 * Skipped with a message when the CLI is missing, except under CI=true, where it fails.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startTestApp, TestClock, type TestApp, type TestCredential } from '../../helpers/app.ts';

const run = promisify(execFile);
const AWS = '/usr/bin/aws';
const missing = existsSync(AWS) ? false : `${AWS} (Debian awscli) is not installed`;
if (missing && process.env.CI === 'true') throw new Error(`${missing}; CI requires it`);

describe('ACM face: ThrottlingException with the aws CLI', { skip: missing }, () => {
  let app: TestApp;
  let dir: string;
  const clock = new TestClock();

  const aws = async (
    credential: TestCredential,
    maxAttempts: number,
  ): Promise<{ code: number; out: string; err: string }> => {
    try {
      const { stdout, stderr } = await run(
        AWS,
        ['--endpoint-url', app.baseUrl, '--output', 'json', 'acm', 'list-certificates'],
        {
          env: {
            PATH: '/usr/bin:/bin',
            HOME: dir,
            AWS_ACCESS_KEY_ID: credential.accessKey,
            AWS_SECRET_ACCESS_KEY: credential.secretKey,
            AWS_DEFAULT_REGION: 'eu-west-1',
            AWS_CONFIG_FILE: join(dir, 'none'),
            AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
            AWS_EC2_METADATA_DISABLED: 'true',
            AWS_PAGER: '',
            AWS_RETRY_MODE: 'standard',
            AWS_MAX_ATTEMPTS: String(maxAttempts),
          },
        },
      );
      return { code: 0, out: stdout, err: stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: e.stdout, err: e.stderr };
    }
  };

  before(async () => {
    app = await startTestApp({ clock, env: { CERTKEEPER_RATE_LIMIT: '1', CERTKEEPER_RATE_LIMIT_BURST: '2' } });
    dir = await mkdtemp(join(tmpdir(), 'certkeeper-acm-throttle-'));
  });
  after(async () => {
    await app?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('retries off: the CLI reports ThrottlingException; retries on: it backs off and succeeds', async () => {
    const admin = app.main.admin;
    const stats = () => app.app.core.rateLimit.stats();
    for (let i = 0; i < 2; i++) {
      const ok = await aws(admin, 1);
      assert.equal(ok.code, 0, ok.err);
    }

    const refused = await aws(admin, 1);
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /\(ThrottlingException\) when calling the ListCertificates operation/);
    assert.match(refused.err, /Too many requests for this credential; retry in 1 s\./);
    assert.equal(stats().refused, 1);

    // Retries on: once the CLI's first attempt is refused, a second passes on the server's clock.
    let finished = false;
    const retried = aws(admin, 5).finally(() => {
      finished = true;
    });
    while (!finished && stats().refused === 1) await sleep(20);
    assert.ok(stats().refused >= 2, 'the first attempt with retries on was throttled');
    clock.advance(1000);
    const result = await retried;
    assert.equal(result.code, 0, result.err);
    assert.deepEqual(JSON.parse(result.out), { CertificateSummaryList: [] });
  });
});
