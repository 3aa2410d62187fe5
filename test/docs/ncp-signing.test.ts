/**
 * The signing recipes of docs/compat/ncp.md ("Signing a request") run as written, against a real
 * server: the shell one (printf, openssl, curl) and the Node one. Only the base URL and the keys
 * are substituted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const doc = readFileSync(join(ROOT, 'docs/compat/ncp.md'), 'utf8');

function block(after: string, fence: string): string {
  const start = doc.indexOf(fence, doc.indexOf(after)) + fence.length;
  return doc.slice(start, doc.indexOf('```', start));
}

describe('docs/compat/ncp.md signing recipes', () => {
  let app: TestApp;
  let dir: string;
  before(async () => {
    app = await startTestApp();
    dir = mkdtempSync(join(tmpdir(), 'certkeeper-sign-'));
  });
  after(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = () => ({ ...process.env, ACCESS_KEY: app.main.admin.accessKey, SECRET_KEY: app.main.admin.secretKey });
  const EXPECTED = '{"returnCode":"0","returnMessage":"Success","totalCount":0,"sslCertificateList":[]}';

  it('the shell recipe', async () => {
    const script = block('Shell (curl, openssl):', '```sh\n')
      .replace('BASE=http://127.0.0.1:8080', `BASE=${app.baseUrl}`)
      .replace(/^(ACCESS_KEY|SECRET_KEY)=\.\.\..*$/gm, '');
    assert.ok(script.includes('printf'), 'the block was found');
    const { stdout } = await run('bash', ['-c', script], { env: env() });
    assert.equal(stdout, EXPECTED);
  });

  it('the Node recipe', async () => {
    const file = join(dir, 'sign.mjs');
    writeFileSync(file, block('Node (24, no dependency', '```js\n').replace('http://127.0.0.1:8080', app.baseUrl));
    const { stdout } = await run(process.execPath, [file], { env: env() });
    assert.equal(stdout, `200 ${EXPECTED}\n`);
  });
});
