/**
 * The ACM face through Debian's python3-boto3 (/usr/bin/python3): the test writes a Python script
 * that imports a certificate, lists it with boto3's paginator, describes, gets and exports it
 * (the key opened with `openssl pkey -passin` afterwards), tags it and deletes it, then prints one
 * JSON document of what it saw. Skipped with a message when boto3 is missing, except under CI=true.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { mintBundle, RSA2048, type Bundle } from '../../helpers/pki.ts';
import { PYTHON } from './clients.ts';

const run = promisify(execFile);

function boto3Missing(): string | false {
  try {
    execFileSync(PYTHON, ['-c', 'import boto3'], { stdio: 'ignore' });
    return false;
  } catch {
    return `${PYTHON} has no boto3 (Debian python3-boto3)`;
  }
}
const missing = boto3Missing();
if (missing && process.env.CI === 'true') throw new Error(`${missing}; CI requires it`);

const SCRIPT = String.raw`
import json, os, sys
import boto3
from botocore.exceptions import ClientError

d = sys.argv[1]
acm = boto3.client("acm", endpoint_url=os.environ["ENDPOINT"], region_name="ap-southeast-2")
read = lambda name: open(os.path.join(d, name), "rb").read()
out = {}

arn = acm.import_certificate(
    Certificate=read("cert.pem"), PrivateKey=read("key.pem"), CertificateChain=read("chain.pem"),
    Tags=[{"Key": "env", "Value": "prod"}],
)["CertificateArn"]
out["arn"] = arn

listed = []
pages = 0
for page in acm.get_paginator("list_certificates").paginate(PaginationConfig={"PageSize": 1}):
    pages += 1
    listed += [s["CertificateArn"] for s in page["CertificateSummaryList"]]
out["listed"] = listed
out["pages"] = pages

c = acm.describe_certificate(CertificateArn=arn)["Certificate"]
out["describe"] = {k: c.get(k) for k in ("DomainName", "Type", "Status", "KeyAlgorithm", "InUseBy", "RenewalEligibility")}
out["notAfterType"] = type(c["NotAfter"]).__name__

got = acm.get_certificate(CertificateArn=arn)
out["get"] = {"Certificate": got["Certificate"], "CertificateChain": got.get("CertificateChain")}

exported = acm.export_certificate(CertificateArn=arn, Passphrase=b"boto3 passphrase")
open(os.path.join(d, "exported.pem"), "w").write(exported["PrivateKey"])

acm.add_tags_to_certificate(CertificateArn=arn, Tags=[{"Key": "team", "Value": "web"}, {"Key": "bare"}])
acm.remove_tags_from_certificate(CertificateArn=arn, Tags=[{"Key": "env", "Value": "not-prod"}])
out["tags"] = acm.list_tags_for_certificate(CertificateArn=arn)["Tags"]

try:
    acm.add_tags_to_certificate(CertificateArn=arn, Tags=[{"Key": "aws:reserved", "Value": "x"}])
    out["reservedTag"] = "accepted"
except ClientError as e:
    out["reservedTag"] = e.response["Error"]["Code"]

acm.delete_certificate(CertificateArn=arn)
try:
    acm.describe_certificate(CertificateArn=arn)
    out["afterDelete"] = "found"
except acm.exceptions.ResourceNotFoundException as e:
    out["afterDelete"] = e.response["Error"]["Code"]

print(json.dumps(out))
`;

describe('ACM face with boto3', { skip: missing }, () => {
  let app: TestApp;
  let dir: string;
  let bundle: Bundle;

  before(async () => {
    app = await startTestApp();
    dir = await mkdtemp(join(tmpdir(), 'certkeeper-acm-boto3-'));
    bundle = await mintBundle({ leaf: { cn: 'boto3.example.com', key: RSA2048, freshKey: true } });
    await writeFile(join(dir, 'cert.pem'), bundle.leaf.pem);
    await writeFile(join(dir, 'key.pem'), bundle.leaf.keyPem);
    await writeFile(join(dir, 'chain.pem'), bundle.chainPem);
    await writeFile(join(dir, 'script.py'), SCRIPT);
  });
  after(async () => {
    await app?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('imports, pages, describes, gets, exports, tags and deletes', async () => {
    const { admin } = app.main;
    const { stdout } = await run(PYTHON, [join(dir, 'script.py'), dir], {
      env: {
        PATH: '/usr/bin:/bin',
        HOME: dir,
        ENDPOINT: app.baseUrl,
        AWS_ACCESS_KEY_ID: admin.accessKey,
        AWS_SECRET_ACCESS_KEY: admin.secretKey,
        AWS_CONFIG_FILE: join(dir, 'none'),
        AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    const out = JSON.parse(stdout) as {
      arn: string;
      listed: string[];
      pages: number;
      describe: Record<string, unknown>;
      notAfterType: string;
      get: { Certificate: string; CertificateChain: string | null };
      tags: Array<{ Key: string; Value?: string }>;
      reservedTag: string;
      afterDelete: string;
    };
    const account = app.main.tenant.memberNo.padStart(12, '0');
    assert.match(out.arn, new RegExp(`^arn:aws:acm:ap-southeast-2:${account}:certificate/[0-9a-f-]{36}$`));
    assert.deepEqual(out.listed, [out.arn]);
    assert.equal(out.pages, 1);
    assert.deepEqual(out.describe, {
      DomainName: 'boto3.example.com',
      Type: 'IMPORTED',
      Status: 'ISSUED',
      KeyAlgorithm: 'RSA_2048',
      InUseBy: [],
      RenewalEligibility: 'INELIGIBLE',
    });
    // botocore parses the epoch-seconds timestamps into datetimes.
    assert.equal(out.notAfterType, 'datetime');
    assert.deepEqual(out.get, { Certificate: bundle.leaf.pem, CertificateChain: bundle.chainPem });
    // Removing env with another value keeps it; a tag without a value is listed without one.
    assert.deepEqual(out.tags, [{ Key: 'bare' }, { Key: 'env', Value: 'prod' }, { Key: 'team', Value: 'web' }]);
    assert.equal(out.reservedTag, 'InvalidTagException');
    assert.equal(out.afterDelete, 'ResourceNotFoundException');

    const exported = join(dir, 'exported.pem');
    const opened = await run('openssl', ['pkey', '-in', exported, '-passin', 'pass:boto3 passphrase']);
    const original = await run('openssl', ['pkey', '-in', join(dir, 'key.pem')]);
    assert.equal(opened.stdout, original.stdout);
    await assert.rejects(run('openssl', ['pkey', '-in', exported, '-passin', 'pass:another passphrase']));
  });
});
