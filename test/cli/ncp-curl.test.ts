/**
 * `certkeeper ncp curl`: the printed curl command, run by a real shell, is accepted by a real
 * server; `--run` sends the same signed request itself; bad usage exits 2 without a request.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { run } from '../../src/cli/run.ts';
import { shellQuote } from '../../src/cli/ncp-curl.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const exec = promisify(execFile);

describe('certkeeper ncp curl', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app?.close());

  async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
    let stdout = '';
    let stderr = '';
    const code = await run(args, {
      env: {
        NCP_ACCESS_KEY: app.main.viewer.accessKey,
        NCP_SECRET_KEY: app.main.viewer.secretKey,
        CERTKEEPER_LOG_LEVEL: 'silent',
        ...env,
      },
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
    });
    return { code, stdout, stderr };
  }

  const uri = '/api/v2/certificate/certificates?pageSize=10';
  const EXPECTED = '{"returnCode":"0","returnMessage":"Success","totalCount":0,"sslCertificateList":[]}';

  it('prints a curl command that a shell runs and the server accepts', async () => {
    const printed = await cli(['ncp', 'curl', 'GET', uri, '--base', app.baseUrl]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /^curl -sS -X GET '[^']+' -H 'x-ncp-apigw-timestamp: \d+' -H 'x-ncp-iam-access-key: /);
    assert.ok(!printed.stdout.includes(app.main.viewer.secretKey), 'the secret key is not printed');
    const { stdout } = await exec('bash', ['-c', printed.stdout]);
    assert.equal(stdout, EXPECTED);
  });

  it('--run sends it', async () => {
    const sent = await cli(['ncp', 'curl', 'get', uri, '--base', app.baseUrl, '--run']);
    assert.deepEqual(sent, { code: 0, stdout: `${EXPECTED}\n`, stderr: 'HTTP 200\n' });
    const refused = await cli(['ncp', 'curl', 'GET', uri, '--base', app.baseUrl, '--run'], {
      NCP_SECRET_KEY: 'wrong',
    });
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, 'HTTP 401\n');
  });

  it('refuses bad usage with exit 2', async () => {
    for (const [args, env, message] of [
      [['ncp', 'curl', 'FETCH', uri], {}, /takes a method/],
      [['ncp', 'curl', 'GET', 'api/v2'], {}, /starting with \//],
      [['ncp', 'curl', 'GET', uri], { NCP_SECRET_KEY: '' }, /NCP_ACCESS_KEY and NCP_SECRET_KEY/],
      [['ncp', 'sign'], {}, /ncp takes curl/],
    ] as const) {
      const result = await cli([...args], env);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, message);
    }
  });

  it('shellQuote survives a quote', async () => {
    const { stdout } = await exec('bash', ['-c', `printf %s ${shellQuote("it's a 'test'")}`]);
    assert.equal(stdout, "it's a 'test'");
  });
});
