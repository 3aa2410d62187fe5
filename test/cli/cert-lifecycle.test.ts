/**
 * `certkeeper cert reissue|register-key|revoke|renewal` (src/cli/cert-lifecycle.ts) in-process
 * against a temp data directory (SQLite), with issuance configured (no worker runs here; the
 * pipeline against a real CA is test/issuance/reissue-revoke.test.ts): exit codes (0 ok, 1
 * refused, 2 usage), one clear line on error, and the key registered through the ladder.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/run.ts';
import { mintBundle, type Bundle } from '../helpers/pki.ts';

let dataDir: string;
let bundle: Bundle;

const ISSUANCE_ENV = {
  CERTKEEPER_ACME_DIRECTORY_URL: 'https://127.0.0.1:9/directory',
  CERTKEEPER_DCV_ZONE: 'dcv.example.test',
  CERTKEEPER_DCV_DNS_SERVER: '127.0.0.1:53',
  CERTKEEPER_DCV_TSIG_KEY: `hmac-sha256:certkeeper-dcv:${randomBytes(32).toString('base64')}`,
};

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    env: { CERTKEEPER_DATA_DIR: dataDir, CERTKEEPER_LOG_LEVEL: 'silent', ...ISSUANCE_ENV },
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  return { code, stdout, stderr };
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'certkeeper-cli-life-'));
  bundle = await mintBundle();
  await writeFile(join(dataDir, 'cert.pem'), bundle.leaf.pem);
  await writeFile(join(dataDir, 'chain.pem'), bundle.chainPem);
  await writeFile(join(dataDir, 'key.pem'), bundle.leaf.keyPem);
  const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  await writeFile(join(dataDir, 'other.key'), stranger.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(join(dataDir, 'junk.csr'), 'not a csr');
});
after(() => rm(dataDir, { recursive: true, force: true }));

describe('certkeeper cert reissue, register-key, revoke, renewal', () => {
  let no: string;

  it('register-key: a key that does not match is refused (exit 1), the right one is registered', async () => {
    assert.equal((await cli(['tenant', 'create', 'default'])).code, 0);
    const imported = await cli([
      'cert',
      'import',
      '--name',
      'keyless',
      '--cert',
      join(dataDir, 'cert.pem'),
      '--chain',
      join(dataDir, 'chain.pem'),
      '--json',
    ]);
    assert.equal(imported.code, 0, imported.stderr);
    no = String((JSON.parse(imported.stdout) as { certificateNo: number }).certificateNo);
    const wrong = await cli(['cert', 'register-key', no, '--key', join(dataDir, 'other.key')]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^certkeeper: .*\(key_mismatch, privateKey\)\n$/);
    const missing = await cli(['cert', 'register-key', no, '--key', join(dataDir, 'nope.key')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Cannot read the privateKey file/);
    const right = await cli(['cert', 'register-key', no, '--key', join(dataDir, 'key.pem'), '--json']);
    assert.equal(right.code, 0, right.stderr);
    assert.deepEqual(JSON.parse(right.stdout), { certificateNo: Number(no), name: 'keyless', hasPrivateKey: true });
    const again = await cli(['cert', 'register-key', no, '--key', join(dataDir, 'key.pem')]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /has its private key already\. \(conflict, certificateNo\)/);
  });

  it('revoke, reissue and renewal refuse a certificate not issued here (exit 1)', async () => {
    const revoke = await cli(['cert', 'revoke', no, '--reason', 'keyCompromise']);
    assert.equal(revoke.code, 1);
    assert.match(revoke.stderr, /issued by certkeeper can be revoked\. \(not_found, certificateNo\)/);
    const reissue = await cli(['cert', 'reissue', no, '--csr', join(dataDir, 'junk.csr')]);
    assert.equal(reissue.code, 1);
    assert.match(reissue.stderr, /\(not_found, certificateNo\)/);
    const renewal = await cli(['cert', 'renewal', no, 'off']);
    assert.equal(renewal.code, 1);
    assert.match(renewal.stderr, /not_found/);
  });

  it('usage errors exit 2', async () => {
    for (const args of [
      ['cert', 'revoke', no],
      ['cert', 'reissue', no],
      ['cert', 'register-key', no],
      ['cert', 'renewal', no, 'maybe'],
      ['cert', 'renewal', 'x', 'on'],
    ]) {
      const result = await cli(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    }
    const reason = await cli(['cert', 'revoke', no, '--reason', 'bored']);
    assert.equal(reason.code, 1);
    assert.match(reason.stderr, /must be one of unspecified, affiliationChanged/);
  });
});
