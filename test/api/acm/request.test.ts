/**
 * RequestCertificate, RenewCertificate and `aws acm wait certificate-validated` through Debian's
 * aws CLI, end to end: certkeeper's issuance worker (app/issuance.ts, as `serve` starts it) against
 * a real Pebble (ACME CA) resolving through a real BIND9 (the users' zone and the dcv zone,
 * test/helpers/bind.ts). The test plays the user: it reads the CNAME from DescribeCertificate's
 * DomainValidationOptions[].ResourceRecord and creates it in the users' zone.
 *
 * Without issuance configured, the same operations answer ACM's exceptions (second suite).
 * Skipped with a message when pebble, named or the aws CLI is missing, except under CI=true.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import {
  DescribeCertificateCommand,
  ImportCertificateCommand,
  RenewCertificateCommand,
  RequestCertificateCommand,
  ResendValidationEmailCommand,
  type CertificateDetail,
} from '@aws-sdk/client-acm';
import { startIssuance, type RunningIssuance } from '../../../src/app/issuance.ts';
import { loadIssuanceConfig } from '../../../src/config/config.ts';
import { createAuditService } from '../../../src/core/audit.ts';
import { systemClock } from '../../../src/core/ports.ts';
import { startTestApp, WallClock, type TestApp } from '../../helpers/app.ts';
import { BIND_SKIP, DCV_ZONE, USER_ZONE, startBind, type BindServer } from '../../helpers/bind.ts';
import { countRows } from '../../helpers/db.ts';
import { PEBBLE_SKIP, startPebble, type Pebble } from '../../helpers/pebble.ts';
import { mintBundle, P256 } from '../../helpers/pki.ts';
import { addUserCname } from '../../issuance/user-dns.ts';
import { awsCli, awsMissing, sdkClient } from './clients.ts';

const skip = PEBBLE_SKIP || BIND_SKIP || awsMissing;

interface Validation {
  DomainName: string;
  ValidationStatus: string;
  ValidationMethod: string;
  ResourceRecord?: { Name: string; Type: string; Value: string };
}
interface Detail {
  CertificateArn: string;
  Status: string;
  Type: string;
  KeyAlgorithm: string;
  Serial?: string;
  DomainValidationOptions: Validation[];
}

describe('ACM RequestCertificate with Pebble + BIND9 and the aws CLI', { skip }, () => {
  let bind: BindServer;
  let pebble: Pebble;
  let app: TestApp;
  let issuance: RunningIssuance;
  let home: string;
  /** The worker's warnings, for failure messages. */
  const logged: string[] = [];

  before(async () => {
    bind = await startBind();
    pebble = await startPebble({ dnsServer: `${bind.host}:${bind.port}` });
    const setting = loadIssuanceConfig({
      CERTKEEPER_ACME_DIRECTORY_URL: pebble.directoryUrl,
      CERTKEEPER_ACME_CA_FILE: pebble.caFile,
      CERTKEEPER_DCV_ZONE: DCV_ZONE,
      CERTKEEPER_DCV_DNS_SERVER: `${bind.host}:${bind.port}`,
      CERTKEEPER_DCV_TSIG_KEY: bind.dcvKey,
      CERTKEEPER_DCV_RESOLVER: `${bind.host}:${bind.port}`,
    });
    assert.ok(setting.on);
    app = await startTestApp({ issuance: setting, clock: new WallClock() });
    issuance = await startIssuance(
      {
        store: app.app.store,
        service: app.app.issuance,
        certificates: app.app.core.certificates,
        audit: createAuditService(app.app.store, systemClock),
        clock: systemClock,
        config: setting.config,
        log: {
          info: () => undefined,
          warn: (fields, message) => logged.push(`${message} ${JSON.stringify(fields)}`),
          error: (fields, message) => logged.push(`${message} ${JSON.stringify(fields)}`),
        },
      },
      { pollMs: 200, cnameWindowMs: 60_000 },
    );
    home = await mkdtemp(join(tmpdir(), 'certkeeper-acm-request-'));
  });
  after(async () => {
    await issuance?.stop();
    await app?.close();
    await pebble?.stop();
    await bind?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  const cli = async (args: string[]) => {
    const res = await awsCli(app.baseUrl, app.main.admin, home, args);
    return res;
  };
  const describeArn = async (arn: string): Promise<Detail> => {
    const res = await cli(['describe-certificate', '--certificate-arn', arn]);
    assert.equal(res.code, 0, res.err);
    return (JSON.parse(res.out) as { Certificate: Detail }).Certificate;
  };
  /** Reads DescribeCertificate until `done` holds (the worker runs on its own timers), 3 minutes at most. */
  const until = async (arn: string, done: (d: CertificateDetail) => boolean): Promise<CertificateDetail> => {
    const acm = sdkClient(app.baseUrl, app.main.viewer);
    const deadline = Date.now() + 180_000;
    for (;;) {
      const detail = (await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate!;
      if (done(detail)) return detail;
      if (Date.now() > deadline) {
        const orders = await app.app.issuance.listOrders(app.main.actor, { offset: 0, limit: 10 });
        const steps = orders.map((o) => `${o.orderId} ${o.kind} ${o.step} ${o.lastError ?? ''}`);
        throw new Error(`certificate still ${detail.Status}; orders: ${steps.join('; ')}; log: ${logged.join('\n')}`);
      }
      await sleep(250);
    }
  };

  it('requests, prints the CNAME, waits for validation, issues, renews; a missing CNAME times out', async () => {
    const apex = `shop.${USER_ZONE}`;
    const request = [
      'request-certificate',
      '--domain-name',
      apex,
      '--subject-alternative-names',
      `*.${apex}`,
      '--validation-method',
      'DNS',
      '--key-algorithm',
      'EC_prime256v1',
      '--idempotency-token',
      'shop1',
      '--tags',
      'Key=env,Value=prod',
    ];
    const requested = await cli(request);
    assert.equal(requested.code, 0, requested.err);
    const { CertificateArn: arn } = JSON.parse(requested.out) as { CertificateArn: string };
    const account = app.main.tenant.memberNo.padStart(12, '0');
    assert.match(arn, new RegExp(`^arn:aws:acm:eu-west-1:${account}:certificate/[0-9a-f-]{36}$`));
    // The same IdempotencyToken within the hour: the same certificate, no second order.
    const orders = await countRows(app.location, 'issuance_orders');
    const again = await cli(request);
    assert.equal((JSON.parse(again.out) as { CertificateArn: string }).CertificateArn, arn);
    assert.equal(await countRows(app.location, 'issuance_orders'), orders);

    const pending = await describeArn(arn);
    assert.equal(pending.Status, 'PENDING_VALIDATION');
    assert.equal(pending.Type, 'AMAZON_ISSUED');
    assert.equal(pending.KeyAlgorithm, 'EC_prime256v1');
    assert.deepEqual(
      pending.DomainValidationOptions.map((v) => [v.DomainName, v.ValidationMethod, v.ValidationStatus]),
      [
        [apex, 'DNS', 'PENDING_VALIDATION'],
        [`*.${apex}`, 'DNS', 'PENDING_VALIDATION'],
      ],
    );
    // Listed while pending, with its status; its tags are there already.
    const pendingList = await cli([
      'list-certificates',
      '--certificate-statuses',
      'PENDING_VALIDATION',
      '--includes',
      'keyTypes=EC_prime256v1',
    ]);
    assert.deepEqual(
      (
        JSON.parse(pendingList.out) as { CertificateSummaryList: Array<{ CertificateArn: string; Status: string }> }
      ).CertificateSummaryList.map((s) => [s.CertificateArn, s.Status]),
      [[arn, 'PENDING_VALIDATION']],
    );
    const pendingTags = await cli(['list-tags-for-certificate', '--certificate-arn', arn]);
    assert.deepEqual(JSON.parse(pendingTags.out), { Tags: [{ Key: 'env', Value: 'prod' }] });
    const record = pending.DomainValidationOptions[0]!.ResourceRecord!;
    assert.equal(record.Name, `_acme-challenge.${apex}.`);
    assert.equal(record.Type, 'CNAME');
    assert.match(record.Value, new RegExp(`^[a-z0-9]+\\.${DCV_ZONE.replaceAll('.', '\\.')}\\.$`));
    assert.deepEqual(pending.DomainValidationOptions[1]!.ResourceRecord, record, 'wildcard and apex share one');
    // The user creates the CNAME at once (the worker looks for it every 2 s, doubling).
    await addUserCname(bind, record.Name.slice(0, -1), record.Value.slice(0, -1));

    // A second request whose CNAME nobody creates: its validation window (60 s here) closes.
    const lonely = await cli(['request-certificate', '--domain-name', `lonely.${USER_ZONE}`]);
    assert.equal(lonely.code, 0, lonely.err);
    const lonelyArn = (JSON.parse(lonely.out) as { CertificateArn: string }).CertificateArn;
    assert.equal((await describeArn(lonelyArn)).KeyAlgorithm, 'RSA_2048', "ACM's default key algorithm");

    // The waiter polls (every 60 s, the model's delay) until every name is SUCCESS. It runs
    // beside a bounded poll, so a certificate that never validates fails the test
    // in minutes rather than after the waiter's 40 attempts.
    const [waited] = await Promise.all([
      cli(['wait', 'certificate-validated', '--certificate-arn', arn]),
      until(arn, (d) => d.Status === 'ISSUED'),
    ]);
    assert.equal(waited.code, 0, waited.err);

    const issued = await describeArn(arn);
    assert.equal(issued.CertificateArn, arn, 'the certificate carries the ARN printed at request time');
    assert.equal(issued.Status, 'ISSUED');
    assert.equal(issued.Type, 'AMAZON_ISSUED');
    assert.deepEqual(
      issued.DomainValidationOptions.map((v) => v.ValidationStatus),
      ['SUCCESS', 'SUCCESS'],
    );
    assert.deepEqual(issued.DomainValidationOptions[0]!.ResourceRecord, record);
    assert.equal(
      (issued as unknown as { CreatedAt: number }).CreatedAt,
      (pending as unknown as { CreatedAt: number }).CreatedAt,
      "CreatedAt stays the request's",
    );
    const issuedTags = await cli(['list-tags-for-certificate', '--certificate-arn', arn]);
    assert.deepEqual(JSON.parse(issuedTags.out), { Tags: [{ Key: 'env', Value: 'prod' }] }, 'the tags moved with it');
    const got = await cli(['get-certificate', '--certificate-arn', arn]);
    assert.match((JSON.parse(got.out) as { Certificate: string }).Certificate, /^-----BEGIN CERTIFICATE-----/);
    const listed = await cli(['list-certificates', '--includes', 'keyTypes=EC_prime256v1']);
    assert.deepEqual(
      (
        JSON.parse(listed.out) as { CertificateSummaryList: Array<{ CertificateArn: string; Type: string }> }
      ).CertificateSummaryList.map((s) => [s.CertificateArn, s.Type]),
      [[arn, 'AMAZON_ISSUED']],
    );

    // The waiter's failure matcher: the lonely request timed out, the waiter does not hang on it.
    const timedOut = await until(lonelyArn, (d) => d.Status !== 'PENDING_VALIDATION');
    assert.equal(timedOut.Status, 'VALIDATION_TIMED_OUT');
    assert.deepEqual(
      timedOut.DomainValidationOptions?.map((v) => v.ValidationStatus),
      ['FAILED'],
    );

    // RenewCertificate renews now, in place: same ARN, a new serial.
    const renewed = await cli(['renew-certificate', '--certificate-arn', arn]);
    assert.equal(renewed.code, 0, renewed.err);
    const after = await until(arn, (d) => d.Serial !== issued.Serial);
    assert.equal(after.CertificateArn, arn);
    assert.equal(after.Status, 'ISSUED');
  });
});

describe('ACM RequestCertificate and RenewCertificate without issuance configured', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(async () => app?.close());

  it('answers ACM exceptions and writes nothing', async () => {
    const acm = sdkClient(app.baseUrl, app.main.admin);
    await assert.rejects(acm.send(new RequestCertificateCommand({ DomainName: 'www.example.com' })), {
      name: 'LimitExceededException',
      message: /issuance is not configured/,
    });
    await assert.rejects(
      acm.send(new RequestCertificateCommand({ DomainName: 'www.example.com', ValidationMethod: 'EMAIL' })),
      { name: 'InvalidParameterException', message: /by DNS only/ },
    );
    await assert.rejects(
      sdkClient(app.baseUrl, app.main.viewer).send(new RequestCertificateCommand({ DomainName: 'www.example.com' })),
      { name: 'AccessDeniedException' },
    );
    const bundle = await mintBundle({ leaf: { cn: 'imported.example.com', key: P256, freshKey: true } });
    const { CertificateArn: arn } = await acm.send(
      new ImportCertificateCommand({
        Certificate: Buffer.from(bundle.leaf.pem),
        PrivateKey: Buffer.from(bundle.leaf.keyPem),
        CertificateChain: Buffer.from(bundle.chainPem),
      }),
    );
    await assert.rejects(acm.send(new RenewCertificateCommand({ CertificateArn: arn })), {
      name: 'ValidationException',
      message: /imported certificate/,
    });
    await assert.rejects(
      acm.send(
        new ResendValidationEmailCommand({
          CertificateArn: arn,
          Domain: 'imported.example.com',
          ValidationDomain: 'example.com',
        }),
      ),
      { name: 'InvalidParameterException', message: /validates domains by DNS only/ },
    );
    assert.equal(await countRows(app.location, 'issuance_orders'), 0);
    assert.equal(await countRows(app.location, 'acm_requests'), 0);
  });
});
