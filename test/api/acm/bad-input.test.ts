/**
 * The bad-input matrix of the ACM face, on SQLite and PostgreSQL (CI=true forces PostgreSQL):
 * every member of every operation of the API model sent missing, with the wrong type, oversized
 * (ACM's limits), malformed (invalid base64, PEM where base64 of PEM is expected, malformed ARNs),
 * hostile (NUL bytes), and the tag, MaxItems and NextToken rules. Each answer must be the ACM
 * exception named here with HTTP 400, never a 5xx, and nothing may be written (the certificate,
 * its tags, requests, orders and thresholds are compared before and after).
 *
 * Requests are signed by the AWS SDK (clients.ts `rawAcm`), with the body bytes given here.
 */
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  AddTagsToCertificateCommand,
  ImportCertificateCommand,
  ListCertificatesCommand,
  type ACMClient,
} from '@aws-sdk/client-acm';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { countRows, rawQuery, storeTargets } from '../../helpers/db.ts';
import { mintBundle, P256, RSA2048, RSA3072, type Bundle } from '../../helpers/pki.ts';
import { rawAcm, sdkClient } from './clients.ts';

type Case = readonly [label: string, body: unknown, expected: string];

const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');
const bytes = (n: number): string => b64(Buffer.alloc(n, 0x41));
const NUL = '\u0000';

const BAD_ARN = (field: string, missing: string): Case[] => [
  [`${field} missing`, {}, missing],
  [`${field} a number`, { [field]: 12 }, 'SerializationException'],
  [`${field} an object`, { [field]: { a: 1 } }, 'SerializationException'],
  [`${field} too short`, { [field]: 'arn:aws:acm' }, 'ValidationException'],
  [
    `${field} over 2048`,
    { [field]: `arn:aws:acm:eu-west-1:123456789012:certificate/${'a'.repeat(2040)}` },
    'ValidationException',
  ],
  [`${field} not an ARN`, { [field]: 'certificate-0123456789abcdef' }, 'ValidationException'],
  [`${field} NUL byte`, { [field]: `arn:aws:acm:eu-west-1:123456789012:certificate/${NUL}abc` }, 'ValidationException'],
  [
    `${field} short account`,
    { [field]: 'arn:aws:acm:eu-west-1:1234:certificate/0b8f9c0e-1d1e-4c5f-9a5b-0f6a1e2d3c4b' },
    'InvalidArnException',
  ],
  [
    `${field} not a uuid`,
    { [field]: 'arn:aws:acm:eu-west-1:123456789012:certificate/not-a-uuid' },
    'InvalidArnException',
  ],
  [
    `${field} another service`,
    { [field]: 'arn:aws:acm:eu-west-1:123456789012:key/0b8f9c0e-1d1e-4c5f-9a5b-0f6a1e2d3c4b' },
    'InvalidArnException',
  ],
];

for (const target of storeTargets) {
  describe(`ACM bad input on ${target.name}`, { skip: target.skip }, () => {
    let app: TestApp;
    let acm: ACMClient;
    let bundle: Bundle;
    let arn: string;
    let account: string;

    before(async () => {
      app = await startTestApp({ store: target.name as 'sqlite' | 'postgres' });
      acm = sdkClient(app.baseUrl, app.main.admin);
      bundle = await mintBundle({ leaf: { cn: 'matrix.example.com', key: RSA2048, freshKey: true } });
      arn = (
        await acm.send(
          new ImportCertificateCommand({
            Certificate: Buffer.from(bundle.leaf.pem),
            PrivateKey: Buffer.from(bundle.leaf.keyPem),
            CertificateChain: Buffer.from(bundle.chainPem),
            Tags: [{ Key: 'env', Value: 'prod' }],
          }),
        )
      ).CertificateArn!;
      account = app.main.tenant.memberNo.padStart(12, '0');
    });
    after(async () => app?.close());

    /** Everything a refused request could have written. */
    const snapshot = async () => ({
      certificates: await rawQuery(
        app.location,
        'select certificate_no, name, updated_at, deleted_at, arn_id, fingerprint_sha256 from certificates order by certificate_no',
      ),
      tags: await rawQuery(
        app.location,
        'select certificate_no, key, value from acm_tags order by certificate_no, key',
      ),
      requests: await countRows(app.location, 'acm_requests'),
      requestTags: await countRows(app.location, 'acm_request_tags'),
      orders: await countRows(app.location, 'issuance_orders'),
      thresholds: (await app.app.core.notifications.thresholds(app.main.actor)).days,
    });

    async function check(operation: string, cases: readonly Case[]): Promise<void> {
      const before = await snapshot();
      const wrong: string[] = [];
      for (const [label, body, expected] of cases) {
        const text = typeof body === 'string' ? body : JSON.stringify(body);
        const answer = await rawAcm(acm, operation, text);
        if (answer.status !== 400 || answer.type !== expected)
          wrong.push(
            `${operation} ${label}: ${answer.status} ${answer.type ?? 'success'} (${answer.message}), wanted ${expected}`,
          );
      }
      assert.deepEqual(wrong, []);
      assert.deepEqual(await snapshot(), before, `${operation}: a refused request wrote something`);
    }

    const ours = () => ({ CertificateArn: arn });
    const tagList = (n: number, prefix = 'k') =>
      Array.from({ length: n }, (_, i) => ({ Key: `${prefix}${i}`, Value: 'v' }));

    it('the body and the operation', async () => {
      await check('ListCertificates', [
        ['not JSON', '{"MaxItems":', 'SerializationException'],
        ['a JSON array', '[]', 'SerializationException'],
        ['a JSON string', '"x"', 'SerializationException'],
        ['null', 'null', 'SerializationException'],
      ]);
      await check('NoSuchOperation', [['unknown operation', {}, 'UnknownOperationException']]);
    });

    it('ImportCertificate', async () => {
      const cert = b64(bundle.leaf.pem);
      const key = b64(bundle.leaf.keyPem);
      const other = await mintBundle({ leaf: { cn: 'other.example.com', key: RSA2048, freshKey: true } });
      const fresh = { Certificate: b64(other.leaf.pem), PrivateKey: b64(other.leaf.keyPem) };
      await check('ImportCertificate', [
        ['Certificate missing', { PrivateKey: key }, 'ValidationException'],
        ['PrivateKey missing', { Certificate: cert }, 'ValidationException'],
        ['Certificate a number', { ...fresh, Certificate: 7 }, 'SerializationException'],
        ['Certificate a list', { ...fresh, Certificate: [cert] }, 'SerializationException'],
        ['Certificate not base64', { ...fresh, Certificate: 'not base64!' }, 'SerializationException'],
        ['Certificate PEM, not base64 of PEM', { ...fresh, Certificate: other.leaf.pem }, 'SerializationException'],
        ['PrivateKey PEM, not base64 of PEM', { ...fresh, PrivateKey: other.leaf.keyPem }, 'SerializationException'],
        ['Certificate base64 without padding', { ...fresh, Certificate: 'QUJDRA' }, 'SerializationException'],
        [
          'Certificate NUL in base64',
          { ...fresh, Certificate: `${NUL}${fresh.Certificate}` },
          'SerializationException',
        ],
        ['Certificate empty', { ...fresh, Certificate: '' }, 'ValidationException'],
        ['Certificate over 32,768 bytes', { ...fresh, Certificate: bytes(32_769) }, 'ValidationException'],
        ['PrivateKey over 5,120 bytes', { ...fresh, PrivateKey: bytes(5_121) }, 'ValidationException'],
        [
          'CertificateChain over 2,097,152 bytes',
          { ...fresh, CertificateChain: bytes(2_097_153) },
          'ValidationException',
        ],
        ['Certificate garbage bytes', { ...fresh, Certificate: b64('hello world') }, 'ValidationException'],
        [
          'Certificate with NUL bytes',
          { ...fresh, Certificate: b64(other.leaf.pem.replace('\n', `\n${NUL}${NUL}`)) },
          'ValidationException',
        ],
        ['PrivateKey of another certificate', { ...fresh, PrivateKey: key }, 'ValidationException'],
        [
          'the same certificate again',
          { Certificate: cert, PrivateKey: key, CertificateChain: b64(bundle.chainPem) },
          'InvalidParameterException',
        ],
        ['Tags not a list', { ...fresh, Tags: 'env=prod' }, 'SerializationException'],
        ['Tags empty', { ...fresh, Tags: [] }, 'ValidationException'],
        ['Tags member not an object', { ...fresh, Tags: ['env'] }, 'SerializationException'],
        ['Tag Key missing', { ...fresh, Tags: [{ Value: 'x' }] }, 'ValidationException'],
        ['Tag Key a number', { ...fresh, Tags: [{ Key: 1 }] }, 'SerializationException'],
        ['51 tags', { ...fresh, Tags: tagList(51) }, 'TooManyTagsException'],
        [
          'duplicate tag keys',
          {
            ...fresh,
            Tags: [
              { Key: 'a', Value: '1' },
              { Key: 'a', Value: '2' },
            ],
          },
          'InvalidParameterException',
        ],
        ['aws: tag key', { ...fresh, Tags: [{ Key: 'aws:cloudformation', Value: 'x' }] }, 'InvalidTagException'],
        ['tag key of 129', { ...fresh, Tags: [{ Key: 'k'.repeat(129) }] }, 'InvalidTagException'],
        ['tag value of 257', { ...fresh, Tags: [{ Key: 'k', Value: 'v'.repeat(257) }] }, 'InvalidTagException'],
        ['NUL in a tag key', { ...fresh, Tags: [{ Key: `a${NUL}b`, Value: 'x' }] }, 'InvalidTagException'],
        ['NUL in a tag value', { ...fresh, Tags: [{ Key: 'a', Value: `x${NUL}` }] }, 'InvalidTagException'],
        ['Tags on a re-import', { ...fresh, ...ours(), Tags: [{ Key: 'a', Value: 'b' }] }, 'InvalidParameterException'],
        ...BAD_ARN('CertificateArn', 'ValidationException')
          .filter(([label]) => !label.endsWith('missing'))
          .map(([label, body, expected]): Case => [label, { ...fresh, ...(body as object) }, expected]),
        [
          'CertificateArn of another account',
          { ...fresh, CertificateArn: arn.replace(`:${account}:`, ':000000000001:') },
          'ResourceNotFoundException',
        ],
        [
          'CertificateArn of another region',
          { ...fresh, CertificateArn: arn.replace(':eu-west-1:', ':us-east-1:') },
          'ResourceNotFoundException',
        ],
      ]);
    });

    it('ImportCertificate over a certificate it may not replace (ACM re-import conditions)', async () => {
      // Issued through certkeeper's CA (origin acme): renewed, never re-imported. P-256, so the
      // default ListCertificates (RSA keys only) still sees one certificate in the test below.
      const issuedBundle = await mintBundle({ leaf: { cn: 'issued.example.com', key: P256, freshKey: true } });
      const issued = await app.app.core.certificates.import(
        app.main.actor,
        {
          name: 'issued-here',
          certificate: issuedBundle.leaf.pem,
          privateKey: issuedBundle.leaf.keyPem,
          chain: issuedBundle.chainPem,
        },
        { origin: 'acme', type: 'NCP_FREE_DV_01', policy: { requireKey: true, allowEd25519: false, nameRule: null } },
      );
      const [issuedRow] = await rawQuery(
        app.location,
        `select arn_id from certificates where certificate_no = ${issued.certificateNo}`,
      );
      const issuedArn = `arn:aws:acm:eu-west-1:${account}:certificate/${String(issuedRow?.arn_id)}`;
      const replacement = (b: Bundle) => ({
        Certificate: b64(b.leaf.pem),
        PrivateKey: b64(b.leaf.keyPem),
        CertificateChain: b64(b.chainPem),
      });
      const ec = await mintBundle({ leaf: { cn: 'matrix.example.com', key: P256, freshKey: true } });
      const rsa3072 = await mintBundle({ leaf: { cn: 'matrix.example.com', key: RSA3072, freshKey: true } });
      const clientOnly = await mintBundle({
        leaf: { cn: 'matrix.example.com', key: RSA2048, freshKey: true, extendedKeyUsages: ['1.3.6.1.5.5.7.3.2'] },
      });
      const noEncipherment = await mintBundle({
        leaf: { cn: 'matrix.example.com', key: RSA2048, freshKey: true, keyUsages: 0x80 /* digitalSignature */ },
      });
      const fine = await mintBundle({ leaf: { cn: 'matrix.example.com', key: RSA2048, freshKey: true } });
      await check('ImportCertificate', [
        ['over a certificate issued here', { ...replacement(fine), CertificateArn: issuedArn }, 'ValidationException'],
        ['an EC P-256 key over RSA-2048', { ...replacement(ec), ...ours() }, 'ValidationException'],
        ['an RSA-3072 key over RSA-2048', { ...replacement(rsa3072), ...ours() }, 'ValidationException'],
        ['serverAuth removed', { ...replacement(clientOnly), ...ours() }, 'ValidationException'],
        [
          'keyEncipherment removed from an RSA key',
          { ...replacement(noEncipherment), ...ours() },
          'ValidationException',
        ],
      ]);
      const refused = await rawAcm(acm, 'ImportCertificate', JSON.stringify({ ...replacement(ec), ...ours() }));
      assert.match(refused.message ?? '', /RSA 2048, the new one EC P-256/);

      // Allowed: another RSA-2048 key, clientAuth dropped (public CAs no longer issue it).
      const serverOnly = await mintBundle({
        leaf: { cn: 'other-name.example.com', key: RSA2048, freshKey: true, extendedKeyUsages: ['1.3.6.1.5.5.7.3.1'] },
      });
      const allowed = await rawAcm(acm, 'ImportCertificate', JSON.stringify({ ...replacement(serverOnly), ...ours() }));
      assert.equal(allowed.status, 200, allowed.message);
      const [stored] = await rawQuery(
        app.location,
        `select fingerprint_sha256 from certificates where arn_id = '${arn.split('/').pop()}' and deleted_at is null`,
      );
      const sha256 = createHash('sha256').update(new X509Certificate(serverOnly.leaf.pem).raw).digest('hex');
      assert.equal(stored?.fingerprint_sha256, sha256);
    });

    it('operations on one certificate by ARN', async () => {
      const unknown = `arn:aws:acm:eu-west-1:${account}:certificate/0b8f9c0e-1d1e-4c5f-9a5b-0f6a1e2d3c4b`;
      for (const operation of [
        'DescribeCertificate',
        'GetCertificate',
        'DeleteCertificate',
        'ListTagsForCertificate',
        'RenewCertificate',
      ]) {
        await check(operation, [
          ...BAD_ARN('CertificateArn', 'ValidationException'),
          ['unknown certificate', { CertificateArn: unknown }, 'ResourceNotFoundException'],
          [
            'another account',
            { CertificateArn: arn.replace(`:${account}:`, ':000000000001:') },
            'ResourceNotFoundException',
          ],
        ]);
      }
      await check('ExportCertificate', [
        ...BAD_ARN('CertificateArn', 'ValidationException').map(([l, b, e]): Case => [
          l,
          { Passphrase: b64('good pass'), ...(b as object) },
          e,
        ]),
        ['Passphrase missing', ours(), 'ValidationException'],
        ['Passphrase a number', { ...ours(), Passphrase: 1234 }, 'SerializationException'],
        ['Passphrase not base64', { ...ours(), Passphrase: 'pass word' }, 'SerializationException'],
        ['Passphrase of 3 bytes', { ...ours(), Passphrase: b64('abc') }, 'ValidationException'],
        ['Passphrase of 129 bytes', { ...ours(), Passphrase: bytes(129) }, 'ValidationException'],
        ['unknown certificate', { CertificateArn: unknown, Passphrase: b64('good pass') }, 'ResourceNotFoundException'],
      ]);
    });

    it('tags', async () => {
      await acm.send(new AddTagsToCertificateCommand({ ...ours(), Tags: tagList(49, 'x') }));
      await check('AddTagsToCertificate', [
        ...BAD_ARN('CertificateArn', 'ValidationException').map(([l, b, e]): Case => [
          l,
          { Tags: [{ Key: 'a' }], ...(b as object) },
          e,
        ]),
        ['Tags missing', ours(), 'ValidationException'],
        ['Tags empty', { ...ours(), Tags: [] }, 'ValidationException'],
        ['Tags an object', { ...ours(), Tags: { Key: 'a' } }, 'SerializationException'],
        ['Tag Value a number', { ...ours(), Tags: [{ Key: 'a', Value: 5 }] }, 'SerializationException'],
        ['51 tags', { ...ours(), Tags: tagList(51) }, 'TooManyTagsException'],
        ['over 50 with the existing ones', { ...ours(), Tags: tagList(2, 'new') }, 'TooManyTagsException'],
        [
          'duplicate keys',
          {
            ...ours(),
            Tags: [
              { Key: 'd', Value: '1' },
              { Key: 'd', Value: '2' },
            ],
          },
          'InvalidParameterException',
        ],
        ['aws: key', { ...ours(), Tags: [{ Key: 'AWS:name', Value: 'x' }] }, 'InvalidTagException'],
        ['key of 129', { ...ours(), Tags: [{ Key: 'k'.repeat(129) }] }, 'InvalidTagException'],
        ['empty key', { ...ours(), Tags: [{ Key: '' }] }, 'InvalidTagException'],
        ['value of 257', { ...ours(), Tags: [{ Key: 'k', Value: 'v'.repeat(257) }] }, 'InvalidTagException'],
        ['NUL in a key', { ...ours(), Tags: [{ Key: `k${NUL}` }] }, 'InvalidTagException'],
        ['a forbidden character', { ...ours(), Tags: [{ Key: 'k<script>' }] }, 'InvalidTagException'],
      ]);
      await check('RemoveTagsFromCertificate', [
        ...BAD_ARN('CertificateArn', 'ValidationException').map(([l, b, e]): Case => [
          l,
          { Tags: [{ Key: 'env' }], ...(b as object) },
          e,
        ]),
        ['Tags missing', ours(), 'ValidationException'],
        ['Tags empty', { ...ours(), Tags: [] }, 'ValidationException'],
        ['Tags a string', { ...ours(), Tags: 'env' }, 'SerializationException'],
        ['aws: key', { ...ours(), Tags: [{ Key: 'aws:x' }] }, 'InvalidTagException'],
        ['NUL in a key', { ...ours(), Tags: [{ Key: `env${NUL}` }] }, 'InvalidTagException'],
        ['51 tags', { ...ours(), Tags: tagList(51) }, 'TooManyTagsException'],
      ]);
    });

    it('ListCertificates', async () => {
      // A real token of one query is refused by another.
      const page = await acm.send(
        new ListCertificatesCommand({ MaxItems: 1, Includes: { keyTypes: ['RSA_2048', 'EC_prime256v1'] } }),
      );
      const other = await acm.send(new ListCertificatesCommand({ MaxItems: 1 }));
      assert.equal(other.NextToken, undefined, 'one RSA certificate: one page');
      const token = page.NextToken;
      await check('ListCertificates', [
        ['MaxItems 0', { MaxItems: 0 }, 'ValidationException'],
        ['MaxItems 1001', { MaxItems: 1001 }, 'ValidationException'],
        ['MaxItems negative', { MaxItems: -1 }, 'ValidationException'],
        ['MaxItems a string', { MaxItems: '5' }, 'SerializationException'],
        ['MaxItems a fraction', { MaxItems: 1.5 }, 'SerializationException'],
        ['NextToken empty', { NextToken: '' }, 'ValidationException'],
        ['NextToken a number', { NextToken: 5 }, 'SerializationException'],
        ['NextToken over 10,000', { NextToken: 'a'.repeat(10_001) }, 'ValidationException'],
        ['NextToken forged', { NextToken: 'eyJ0IjoxLCJxIjoiIiwiYyI6MCwibiI6MH0.AAAA' }, 'InvalidArgsException'],
        ['NextToken with NUL', { NextToken: `abc${NUL}.def` }, 'InvalidArgsException'],
        ...(token
          ? ([
              ['NextToken of another query', { NextToken: token }, 'InvalidArgsException'],
              [
                'NextToken with a bit flipped',
                {
                  NextToken: `${token.slice(0, -2)}${token.endsWith('A') ? 'B' : 'A'}${token.slice(-1)}`,
                  Includes: { keyTypes: ['RSA_2048', 'EC_prime256v1'] },
                },
                'InvalidArgsException',
              ],
            ] as Case[])
          : []),
        ['CertificateStatuses a string', { CertificateStatuses: 'ISSUED' }, 'SerializationException'],
        ['CertificateStatuses unknown', { CertificateStatuses: ['NOPE'] }, 'ValidationException'],
        ['Includes a string', { Includes: 'RSA_2048' }, 'SerializationException'],
        ['Includes.keyTypes unknown', { Includes: { keyTypes: ['RSA_9'] } }, 'ValidationException'],
        ['Includes.keyUsage unknown', { Includes: { keyUsage: ['SIGNING'] } }, 'ValidationException'],
        ['Includes.extendedKeyUsage NUL', { Includes: { extendedKeyUsage: [`ANY${NUL}`] } }, 'ValidationException'],
        ['SortBy unknown', { SortBy: 'NAME' }, 'ValidationException'],
        ['SortOrder unknown', { SortOrder: 'UP' }, 'ValidationException'],
      ]);
    });

    it('RequestCertificate, ResendValidationEmail, UpdateCertificateOptions', async () => {
      const ok = { DomainName: 'www.example.com' };
      await check('RequestCertificate', [
        ['DomainName missing', {}, 'ValidationException'],
        ['DomainName a number', { DomainName: 5 }, 'SerializationException'],
        ['DomainName over 253', { DomainName: `${'a'.repeat(60)}.`.repeat(4) + 'example.com' }, 'ValidationException'],
        ['DomainName with a space', { DomainName: 'www example.com' }, 'ValidationException'],
        ['DomainName with NUL', { DomainName: `www${NUL}.example.com` }, 'ValidationException'],
        [
          'SubjectAlternativeNames a string',
          { ...ok, SubjectAlternativeNames: 'a.example.com' },
          'SerializationException',
        ],
        ['SubjectAlternativeNames empty', { ...ok, SubjectAlternativeNames: [] }, 'ValidationException'],
        [
          '101 SubjectAlternativeNames',
          { ...ok, SubjectAlternativeNames: Array.from({ length: 101 }, (_, i) => `n${i}.example.com`) },
          'ValidationException',
        ],
        [
          'SubjectAlternativeNames bad name',
          { ...ok, SubjectAlternativeNames: ['-bad-.example.com'] },
          'ValidationException',
        ],
        ['ValidationMethod unknown', { ...ok, ValidationMethod: 'HTTP' }, 'ValidationException'],
        ['ValidationMethod EMAIL', { ...ok, ValidationMethod: 'EMAIL' }, 'InvalidParameterException'],
        [
          'DomainValidationOptions (e-mail)',
          { ...ok, DomainValidationOptions: [{ DomainName: 'www.example.com', ValidationDomain: 'example.com' }] },
          'InvalidParameterException',
        ],
        [
          'DomainValidationOptions member missing',
          { ...ok, DomainValidationOptions: [{ DomainName: 'www.example.com' }] },
          'ValidationException',
        ],
        ['IdempotencyToken over 32', { ...ok, IdempotencyToken: 't'.repeat(33) }, 'ValidationException'],
        ['IdempotencyToken not a word', { ...ok, IdempotencyToken: 'a-b' }, 'ValidationException'],
        ['KeyAlgorithm unknown', { ...ok, KeyAlgorithm: 'RSA_9' }, 'ValidationException'],
        ['KeyAlgorithm not issued here', { ...ok, KeyAlgorithm: 'RSA_4096' }, 'InvalidParameterException'],
        [
          'CertificateAuthorityArn (private CA)',
          { ...ok, CertificateAuthorityArn: 'arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/x' },
          'InvalidParameterException',
        ],
        [
          'Options unknown preference',
          { ...ok, Options: { CertificateTransparencyLoggingPreference: 'MAYBE' } },
          'ValidationException',
        ],
        // Tags: AddTagsToCertificate's rules and exceptions, checked before anything is written.
        ['51 tags', { ...ok, Tags: tagList(51) }, 'TooManyTagsException'],
        ['aws: tag', { ...ok, Tags: [{ Key: 'aws:x' }] }, 'InvalidTagException'],
        ['Tags empty', { ...ok, Tags: [] }, 'ValidationException'],
        ['Tags not a list', { ...ok, Tags: { Key: 'a' } }, 'SerializationException'],
        ['Tag Key missing', { ...ok, Tags: [{ Value: 'x' }] }, 'ValidationException'],
        ['Tag Value a number', { ...ok, Tags: [{ Key: 'a', Value: 1 }] }, 'SerializationException'],
        ['tag key of 129', { ...ok, Tags: [{ Key: 'k'.repeat(129) }] }, 'InvalidTagException'],
        ['tag value of 257', { ...ok, Tags: [{ Key: 'k', Value: 'v'.repeat(257) }] }, 'InvalidTagException'],
        ['NUL in a tag key', { ...ok, Tags: [{ Key: `a${NUL}b` }] }, 'InvalidTagException'],
        [
          'a tag key twice',
          {
            ...ok,
            Tags: [
              { Key: 'a', Value: '1' },
              { Key: 'a', Value: '2' },
            ],
          },
          'InvalidParameterException',
        ],
        ['valid, issuance not configured', ok, 'LimitExceededException'],
        ['valid with 50 tags, issuance not configured', { ...ok, Tags: tagList(50) }, 'LimitExceededException'],
      ]);
      await check('ResendValidationEmail', [
        ...BAD_ARN('CertificateArn', 'ValidationException').map(([l, b, e]): Case => [
          l,
          { Domain: 'a.example.com', ValidationDomain: 'example.com', ...(b as object) },
          e,
        ]),
        ['Domain missing', { ...ours(), ValidationDomain: 'example.com' }, 'ValidationException'],
        [
          'ValidationDomain with NUL',
          { ...ours(), Domain: 'matrix.example.com', ValidationDomain: `example${NUL}.com` },
          'ValidationException',
        ],
        [
          'valid: no e-mail validation',
          { ...ours(), Domain: 'matrix.example.com', ValidationDomain: 'example.com' },
          'InvalidParameterException',
        ],
      ]);
      await check('UpdateCertificateOptions', [
        ...BAD_ARN('CertificateArn', 'ValidationException').map(([l, b, e]): Case => [
          l,
          { Options: {}, ...(b as object) },
          e,
        ]),
        ['Options missing', ours(), 'ValidationException'],
        ['Options a string', { ...ours(), Options: 'ENABLED' }, 'SerializationException'],
        [
          'preference unknown',
          { ...ours(), Options: { CertificateTransparencyLoggingPreference: 'MAYBE' } },
          'ValidationException',
        ],
        [
          'valid: no options kept',
          { ...ours(), Options: { CertificateTransparencyLoggingPreference: 'ENABLED' } },
          'InvalidStateException',
        ],
      ]);
    });

    it('account configuration', async () => {
      await check('PutAccountConfiguration', [
        ['IdempotencyToken missing', { ExpiryEvents: { DaysBeforeExpiry: 10 } }, 'ValidationException'],
        [
          'IdempotencyToken with NUL',
          { IdempotencyToken: `a${NUL}`, ExpiryEvents: { DaysBeforeExpiry: 10 } },
          'ValidationException',
        ],
        ['ExpiryEvents a number', { IdempotencyToken: 'a', ExpiryEvents: 10 }, 'SerializationException'],
        [
          'DaysBeforeExpiry a string',
          { IdempotencyToken: 'a', ExpiryEvents: { DaysBeforeExpiry: '10' } },
          'SerializationException',
        ],
        ['DaysBeforeExpiry 0', { IdempotencyToken: 'a', ExpiryEvents: { DaysBeforeExpiry: 0 } }, 'ValidationException'],
        [
          'DaysBeforeExpiry 46',
          { IdempotencyToken: 'a', ExpiryEvents: { DaysBeforeExpiry: 46 } },
          'ValidationException',
        ],
        [
          'DaysBeforeExpiry huge',
          { IdempotencyToken: 'a', ExpiryEvents: { DaysBeforeExpiry: 1e300 } },
          'ValidationException',
        ],
      ]);
      await check('GetAccountConfiguration', [['a JSON array', '[1]', 'SerializationException']]);
    });
  });
}
