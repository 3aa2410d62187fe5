/**
 * The ACM face through @aws-sdk/client-acm (JS SDK v3) and its paginator: SigV4 and AWS JSON 1.1
 * as AWS's own SDK does them; errors arrive as the SDK's typed exceptions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ACMClient,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  ImportCertificateCommand,
  ListCertificatesCommand,
  paginateListCertificates,
} from '@aws-sdk/client-acm';
import { startTestApp, type TestApp, type TestCredential } from '../../helpers/app.ts';
import { mintLeaf, mintRoot, P256, type Issued } from '../../helpers/pki.ts';

describe('ACM face with @aws-sdk/client-acm', () => {
  let app: TestApp;
  let root: Issued;
  const client = (credential: TestCredential, region = 'ap-northeast-2') =>
    new ACMClient({
      endpoint: app.baseUrl,
      region,
      credentials: { accessKeyId: credential.accessKey, secretAccessKey: credential.secretKey },
      maxAttempts: 1,
    });
  const importOne = async (acm: ACMClient, cn: string) => {
    const leaf = await mintLeaf(root, { cn, key: P256, freshKey: true });
    const out = await acm.send(
      new ImportCertificateCommand({
        Certificate: Buffer.from(leaf.pem),
        PrivateKey: Buffer.from(leaf.keyPem),
        CertificateChain: Buffer.from(root.pem),
      }),
    );
    return out.CertificateArn as string;
  };

  before(async () => {
    app = await startTestApp();
    root = await mintRoot({ key: P256 });
  });
  after(async () => app?.close());

  it('imports, pages with the paginator, describes and deletes', async () => {
    const acm = client(app.main.admin);
    const arns: string[] = [];
    for (let i = 0; i < 7; i++) arns.push(await importOne(acm, `sdk${i}.example.com`));
    const seen: string[] = [];
    for await (const page of paginateListCertificates(
      { client: acm, pageSize: 3 },
      { Includes: { keyTypes: ['EC_prime256v1'] } },
    )) {
      assert.ok((page.CertificateSummaryList ?? []).length <= 3);
      for (const s of page.CertificateSummaryList ?? []) seen.push(s.CertificateArn as string);
    }
    assert.deepEqual(seen, arns);
    // ACM's default key types are RSA_1024 and RSA_2048: these EC certificates are not listed.
    const defaults = await acm.send(new ListCertificatesCommand({}));
    assert.deepEqual(defaults.CertificateSummaryList, []);

    const detail = await acm.send(new DescribeCertificateCommand({ CertificateArn: arns[0] }));
    assert.equal(detail.Certificate?.KeyAlgorithm, 'EC_prime256v1');
    assert.ok(detail.Certificate?.NotAfter instanceof Date);

    await acm.send(new DeleteCertificateCommand({ CertificateArn: arns[0] }));
    await assert.rejects(acm.send(new DescribeCertificateCommand({ CertificateArn: arns[0] })), {
      name: 'ResourceNotFoundException',
    });
  });

  it('answers another region, another tenant and a bad signature as AWS does', async () => {
    const acm = client(app.main.admin);
    const arn = await importOne(acm, 'iso.example.com');
    await assert.rejects(
      client(app.main.admin, 'us-east-1').send(new DescribeCertificateCommand({ CertificateArn: arn })),
      {
        name: 'ResourceNotFoundException',
      },
    );
    const other = await app.addTenant('other');
    const foreign = arn.replace(/:\d{12}:/, `:${other.tenant.memberNo.padStart(12, '0')}:`);
    await assert.rejects(client(other.admin).send(new DescribeCertificateCommand({ CertificateArn: arn })), {
      name: 'ResourceNotFoundException',
    });
    await assert.rejects(client(other.admin).send(new DescribeCertificateCommand({ CertificateArn: foreign })), {
      name: 'ResourceNotFoundException',
    });
    await assert.rejects(
      client({ ...app.main.admin, secretKey: `${app.main.admin.secretKey}x` }).send(new ListCertificatesCommand({})),
      { name: 'InvalidSignatureException' },
    );
    await assert.rejects(
      client({ ...app.main.admin, accessKey: 'AKNOSUCHKEY000000000' }).send(new ListCertificatesCommand({})),
      { name: 'UnrecognizedClientException' },
    );
    await assert.rejects(acm.send(new ListCertificatesCommand({ MaxItems: 1001 })), { name: 'ValidationException' });
    await assert.rejects(acm.send(new ListCertificatesCommand({ MaxItems: 0 })), { name: 'ValidationException' });
    await assert.rejects(acm.send(new ListCertificatesCommand({ NextToken: 'forged.token' })), {
      name: 'InvalidArgsException',
    });
  });

  it('leaves other requests to / as they were', async () => {
    const get = await fetch(`${app.baseUrl}/`);
    assert.equal(get.status, 404);
    assert.deepEqual(await get.json(), { error: 'Not Found' });
    const post = await fetch(`${app.baseUrl}/`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(post.status, 404);
    assert.deepEqual(await post.json(), { error: 'Not Found' });
  });
});
