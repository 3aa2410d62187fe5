/**
 * The ACM face through Debian's awscli (/usr/bin/aws, not the pyenv shim first on PATH): a client
 * nobody here wrote signs with SigV4 and speaks AWS JSON 1.1 to a real server on a real store.
 * Skipped with a message when the CLI is missing, except under CI=true, where it fails.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startTestApp, type TestApp, type TestCredential } from '../../helpers/app.ts';
import { mintBundle, RSA2048, type Bundle } from '../../helpers/pki.ts';
import { awsCli, awsMissing, type CliResult } from './clients.ts';

const run = promisify(execFile);

describe('ACM face with the aws CLI', { skip: awsMissing }, () => {
  let app: TestApp;
  let dir: string;
  let bundle: Bundle;

  const aws = (credential: TestCredential, args: string[]): Promise<CliResult> =>
    awsCli(app.baseUrl, credential, dir, args);

  before(async () => {
    app = await startTestApp();
    dir = await mkdtemp(join(tmpdir(), 'certkeeper-acm-cli-'));
    bundle = await mintBundle({ leaf: { cn: 'cli.example.com', key: RSA2048, freshKey: true } });
    await writeFile(join(dir, 'cert.pem'), bundle.leaf.pem);
    await writeFile(join(dir, 'key.pem'), bundle.leaf.keyPem);
    await writeFile(join(dir, 'chain.pem'), bundle.chainPem);
  });
  after(async () => {
    await app?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('imports, describes, gets, lists, tags, exports and deletes', async () => {
    const admin = app.main.admin;
    const importedCli = await aws(admin, [
      'import-certificate',
      '--certificate',
      `fileb://${join(dir, 'cert.pem')}`,
      '--private-key',
      `fileb://${join(dir, 'key.pem')}`,
      '--certificate-chain',
      `fileb://${join(dir, 'chain.pem')}`,
      '--tags',
      'Key=env,Value=prod',
    ]);
    assert.equal(importedCli.code, 0, importedCli.err);
    const arn = (JSON.parse(importedCli.out) as { CertificateArn: string }).CertificateArn;
    const account = app.main.tenant.memberNo.padStart(12, '0');
    assert.match(arn, new RegExp(`^arn:aws:acm:eu-west-1:${account}:certificate/[0-9a-f-]{36}$`));

    const described = await aws(admin, ['describe-certificate', '--certificate-arn', arn]);
    assert.equal(described.code, 0, described.err);
    const detail = (JSON.parse(described.out) as { Certificate: Record<string, unknown> }).Certificate;
    assert.equal(detail.CertificateArn, arn);
    assert.equal(detail.DomainName, 'cli.example.com');
    assert.equal(detail.Type, 'IMPORTED');
    assert.equal(detail.Status, 'ISSUED');
    assert.equal(detail.KeyAlgorithm, 'RSA-2048'.replace('-', '_'));
    assert.deepEqual(detail.InUseBy, []);

    const got = await aws(admin, ['get-certificate', '--certificate-arn', arn]);
    assert.equal(got.code, 0, got.err);
    const pems = JSON.parse(got.out) as { Certificate: string; CertificateChain: string };
    assert.equal(pems.Certificate, bundle.leaf.pem);
    assert.equal(pems.CertificateChain, bundle.chainPem);

    const listed = await aws(admin, ['list-certificates']);
    assert.equal(listed.code, 0, listed.err);
    const summaries = (JSON.parse(listed.out) as { CertificateSummaryList: Array<{ CertificateArn: string }> })
      .CertificateSummaryList;
    assert.deepEqual(
      summaries.map((s) => s.CertificateArn),
      [arn],
    );

    assert.equal(
      (await aws(admin, ['add-tags-to-certificate', '--certificate-arn', arn, '--tags', 'Key=team,Value=web'])).code,
      0,
    );
    const tagged = await aws(admin, ['list-tags-for-certificate', '--certificate-arn', arn]);
    assert.deepEqual(JSON.parse(tagged.out), {
      Tags: [
        { Key: 'env', Value: 'prod' },
        { Key: 'team', Value: 'web' },
      ],
    });

    await writeFile(join(dir, 'passphrase'), 'correct horse');
    const exported = await aws(admin, [
      'export-certificate',
      '--certificate-arn',
      arn,
      '--passphrase',
      `fileb://${join(dir, 'passphrase')}`,
    ]);
    assert.equal(exported.code, 0, exported.err);
    const key = (JSON.parse(exported.out) as { PrivateKey: string }).PrivateKey;
    assert.match(key, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    await writeFile(join(dir, 'exported.pem'), key);
    // The key opens with the passphrase in openssl, and is the imported key.
    const opened = await run('openssl', ['pkey', '-in', join(dir, 'exported.pem'), '-passin', 'pass:correct horse']);
    const imported = await run('openssl', ['pkey', '-in', join(dir, 'key.pem')]);
    assert.equal(opened.stdout, imported.stdout);
    const wrong = await run('openssl', ['pkey', '-in', join(dir, 'exported.pem'), '-passin', 'pass:wrong']).catch(
      (error: unknown) => error as { code: number },
    );
    assert.notEqual((wrong as { code?: number }).code ?? 0, 0);

    const viewerDelete = await aws(app.main.viewer, ['delete-certificate', '--certificate-arn', arn]);
    assert.notEqual(viewerDelete.code, 0);
    assert.match(viewerDelete.err, /AccessDeniedException/);

    assert.equal((await aws(admin, ['delete-certificate', '--certificate-arn', arn])).code, 0);
    const gone = await aws(admin, ['describe-certificate', '--certificate-arn', arn]);
    assert.match(gone.err, /ResourceNotFoundException/);
  });
});
