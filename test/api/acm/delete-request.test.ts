/**
 * Requested certificates not issued, through the ACM face, on both stores, with certkeeper's
 * issuance worker against a real Pebble resolving through a real BIND9 (test/helpers/bind.ts).
 * The test drives the worker pass by pass (`runOnce`), so it can stop an order at a chosen step.
 *
 * - Pending (the worker published its TXT value and waits for the user's CNAME): GetCertificate
 *   and ExportCertificate answer RequestInProgressException, UpdateCertificateOptions
 *   InvalidStateException, ResendValidationEmail InvalidParameterException (as for a
 *   certificate), RenewCertificate ResourceNotFoundException; DeleteCertificate (the aws CLI)
 *   withdraws it: DescribeCertificate, ListTagsForCertificate, those two and a second delete
 *   answer ResourceNotFoundException, ListCertificates no longer has it, the worker's cleanup removes the
 *   TXT value from the dcv zone and ends the order `cancelled`, the withdrawal is audited, and
 *   the same name can be requested again at once.
 * - Timed out (no CNAME within the window): VALIDATION_TIMED_OUT, GetCertificate through the aws
 *   CLI answers RequestInProgressException naming the status, and `aws acm delete-certificate`
 *   removes it from the list for good.
 * - Being issued (the CA has validated every name; the order waits at `finalizing`):
 *   DeleteCertificate answers ConflictException and changes nothing; once the certificate has
 *   landed, RenewCertificate shows in DescribeCertificate's RenewalSummary (absent before,
 *   PENDING_AUTO_RENEWAL, then SUCCESS), a revocation with a reason shows as REVOKED with the
 *   model's RevocationReason (`SUPERCEDED`), and the same delete call deletes it.
 * - Deletes racing the worker, starting once the order reached `responding`, `polling`,
 *   `finalizing`, `downloading` (one request each): the order ends either withdrawn (no
 *   certificate ever had its number) or issued (the certificate exists; deleted exactly when a
 *   delete succeeded, the others refused with ConflictException); never both, never neither, and
 *   the ARN is gone at the end. (Seen: withdrawn from the first two, issued from the last two.)
 *
 * Skipped with a message when pebble, named or the aws CLI is missing, except under CI=true.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import {
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  ExportCertificateCommand,
  GetCertificateCommand,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
  RenewCertificateCommand,
  RequestCertificateCommand,
  ResendValidationEmailCommand,
  UpdateCertificateOptionsCommand,
  type ACMClient,
} from '@aws-sdk/client-acm';
import { AcmeIssuer } from '../../../src/acme/client.ts';
import { loadIssuanceConfig } from '../../../src/config/config.ts';
import { createAuditService } from '../../../src/core/audit.ts';
import { ORDER_STEPS, type IssuanceOrder, type OrderStep } from '../../../src/core/issuance/ports.ts';
import { createIssuanceWorker, type IssuanceWorker } from '../../../src/core/issuance/worker.ts';
import { systemClock } from '../../../src/core/ports.ts';
import { createDcvResolver } from '../../../src/dns/resolver.ts';
import { parseTsigKey } from '../../../src/dns/tsig.ts';
import { createDnsUpdateZone } from '../../../src/dns/update.ts';
import { startTestApp, TestClock, type TestApp } from '../../helpers/app.ts';
import { BIND_SKIP, DCV_ZONE, USER_ZONE, startBind, type BindServer } from '../../helpers/bind.ts';
import { rawQuery, storeTargets } from '../../helpers/db.ts';
import { PEBBLE_SKIP, startPebble, type Pebble } from '../../helpers/pebble.ts';
import { addUserCname } from '../../issuance/user-dns.ts';
import { awsCli, awsMissing, sdkClient } from './clients.ts';

const skip = PEBBLE_SKIP || BIND_SKIP || awsMissing;

/** Pebble's certificates start being valid now: the server's clock follows real time. */
class WallClock extends TestClock {
  override now(): Date {
    return new Date();
  }
}

describe('ACM requested certificates not issued: Get, Export, Delete (Pebble + BIND9)', { skip }, () => {
  let bind: BindServer;
  let pebble: Pebble;
  let issuer: AcmeIssuer;
  let home: string;
  before(async () => {
    bind = await startBind();
    pebble = await startPebble({ dnsServer: `${bind.host}:${bind.port}`, authzReusePercent: 0 });
    issuer = new AcmeIssuer({ directoryUrl: pebble.directoryUrl, caPem: pebble.caPem });
    home = await mkdtemp(join(tmpdir(), 'certkeeper-acm-delete-'));
  });
  after(async () => {
    issuer?.close();
    await pebble?.stop();
    await bind?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  for (const target of storeTargets) {
    describe(target.name, { skip: target.skip }, () => {
      let app: TestApp;
      let acm: ACMClient;
      const resolver = () => createDcvResolver({ server: { host: bind.host, port: bind.port } });
      before(async () => {
        const setting = loadIssuanceConfig({
          CERTKEEPER_ACME_DIRECTORY_URL: pebble.directoryUrl,
          CERTKEEPER_ACME_CA_FILE: pebble.caFile,
          CERTKEEPER_DCV_ZONE: DCV_ZONE,
          CERTKEEPER_DCV_DNS_SERVER: `${bind.host}:${bind.port}`,
          CERTKEEPER_DCV_TSIG_KEY: bind.dcvKey,
          CERTKEEPER_DCV_RESOLVER: `${bind.host}:${bind.port}`,
        });
        assert.ok(setting.on);
        app = await startTestApp({ store: target.name, issuance: setting, clock: new WallClock() });
        acm = sdkClient(app.baseUrl, app.main.admin);
      });
      after(async () => app?.close());

      const worker = (cnameWindowMs = 600_000): IssuanceWorker =>
        createIssuanceWorker({
          store: app.app.store,
          issuance: app.app.store.issuance,
          service: app.app.issuance,
          certificates: app.app.core.certificates,
          audit: createAuditService(app.app.store, systemClock),
          clock: systemClock,
          issuer,
          directoryUrl: pebble.directoryUrl,
          dcv: {
            zone: createDnsUpdateZone({
              server: { host: bind.host, port: bind.port },
              zone: DCV_ZONE,
              key: parseTsigKey(bind.dcvKey),
              clock: systemClock,
            }),
            resolver: resolver(),
          },
          cnameWindowMs,
        });
      const domain = (label: string) => `${label}-${target.name}-${Date.now().toString(36)}.${USER_ZONE}`;
      const request = async (name: string): Promise<{ arn: string; order: IssuanceOrder }> => {
        const { CertificateArn: arn } = await acm.send(
          new RequestCertificateCommand({ DomainName: name, Tags: [{ Key: 'team', Value: 'web' }] }),
        );
        const orders = await app.app.issuance.listOrders(app.main.actor, { offset: 0, limit: 1 });
        return { arn: arn!, order: orders[0]! };
      };
      const orderOf = (orderId: number) => app.app.issuance.getOrder(app.main.actor, orderId);
      /** Runs worker passes until the order is at one of `steps` (two minutes at most). */
      const driveTo = async (w: IssuanceWorker, orderId: number, steps: OrderStep[]): Promise<IssuanceOrder> => {
        const deadline = Date.now() + 120_000;
        for (;;) {
          const order = await orderOf(orderId);
          if (steps.includes(order.step)) return order;
          if (Date.now() > deadline) throw new Error(`order ${orderId} still ${order.step}: ${order.lastError ?? ''}`);
          await w.runOnce();
          await sleep(50);
        }
      };
      const listedArns = async (): Promise<string[]> =>
        (
          (await acm.send(new ListCertificatesCommand({ Includes: { keyTypes: ['RSA_2048'] } })))
            .CertificateSummaryList ?? []
        ).map((s) => s.CertificateArn!);
      const certificateRows = async (certificateNo: number) =>
        rawQuery(
          app.location,
          `select certificate_no, deleted_at from certificates where certificate_no = ${certificateNo}`,
        );

      it('a pending request: Get/Export are RequestInProgress, Delete withdraws it and cleans the dcv zone', async () => {
        const w = worker();
        const name = domain('pending');
        const { arn, order } = await request(name);
        const awaiting = await driveTo(w, order.orderId, ['awaiting_cname']);
        const published = awaiting.authorizations[0]!;
        assert.deepEqual(await resolver().lookupTxt(published.delegationTarget!), [published.txtValue]);
        assert.ok((await listedArns()).includes(arn));

        await assert.rejects(acm.send(new GetCertificateCommand({ CertificateArn: arn })), {
          name: 'RequestInProgressException',
          message: /pending validation: it has not been issued yet/,
        });
        await assert.rejects(
          acm.send(new ExportCertificateCommand({ CertificateArn: arn, Passphrase: Buffer.from('secret-1') })),
          { name: 'RequestInProgressException' },
        );
        await assert.rejects(
          sdkClient(app.baseUrl, app.main.viewer).send(new DeleteCertificateCommand({ CertificateArn: arn })),
          { name: 'AccessDeniedException' },
        );
        // The other operations on a pending request answer as they do for a certificate.
        const options = new UpdateCertificateOptionsCommand({
          CertificateArn: arn,
          Options: { CertificateTransparencyLoggingPreference: 'DISABLED' },
        });
        const resend = new ResendValidationEmailCommand({ CertificateArn: arn, Domain: name, ValidationDomain: name });
        await assert.rejects(acm.send(options), { name: 'InvalidStateException' });
        await assert.rejects(acm.send(resend), { name: 'InvalidParameterException', message: /by DNS only/ });
        await assert.rejects(acm.send(new RenewCertificateCommand({ CertificateArn: arn })), {
          name: 'ResourceNotFoundException',
        });

        const deleted = await awsCli(app.baseUrl, app.main.admin, home, [
          'delete-certificate',
          '--certificate-arn',
          arn,
        ]);
        assert.equal(deleted.code, 0, deleted.err);
        for (const command of [
          new DescribeCertificateCommand({ CertificateArn: arn }),
          new ListTagsForCertificateCommand({ CertificateArn: arn }),
          new GetCertificateCommand({ CertificateArn: arn }),
          new DeleteCertificateCommand({ CertificateArn: arn }),
          options,
          resend,
        ])
          await assert.rejects(acm.send(command as never), { name: 'ResourceNotFoundException' });
        assert.ok(!(await listedArns()).includes(arn));
        assert.deepEqual(
          await rawQuery(app.location, `select 1 from acm_request_tags where certificate_no = ${order.certificateNo}`),
          [],
        );

        // The worker's cleanup removes the TXT value and ends the order withdrawn.
        const ended = await driveTo(w, order.orderId, ['cancelled', 'failed']);
        assert.equal(ended.step, 'cancelled');
        assert.deepEqual(await resolver().lookupTxt(published.delegationTarget!), []);
        assert.deepEqual(await certificateRows(order.certificateNo!), []);
        const audit = await app.app.core.audit.list(app.main.actor, {
          target: `certificate-order:${order.orderId}`,
          limit: 10,
        });
        assert.ok(audit.some((e) => e.action === 'certificate.request.cancel' && e.result === 'success'));

        // The name is free again at once.
        const again = await request(name);
        assert.notEqual(again.arn, arn);
      });

      it('a timed-out request: the aws CLI gets RequestInProgress, then deletes it for good', async () => {
        const w = worker(0);
        const { arn, order } = await request(domain('lonely'));
        await driveTo(w, order.orderId, ['validation_expired']);
        const described = await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }));
        assert.equal(described.Certificate!.Status, 'VALIDATION_TIMED_OUT');
        const got = await awsCli(app.baseUrl, app.main.admin, home, ['get-certificate', '--certificate-arn', arn]);
        assert.notEqual(got.code, 0);
        assert.match(got.err, /RequestInProgressException/);
        assert.match(got.err, /is VALIDATION_TIMED_OUT: it was not issued/);
        const timedOut = ['list-certificates', '--certificate-statuses', 'VALIDATION_TIMED_OUT'];
        const before = await awsCli(app.baseUrl, app.main.admin, home, timedOut);
        assert.match(before.out, new RegExp(arn));

        const deleted = await awsCli(app.baseUrl, app.main.admin, home, [
          'delete-certificate',
          '--certificate-arn',
          arn,
        ]);
        assert.equal(deleted.code, 0, deleted.err);
        const listed = await awsCli(app.baseUrl, app.main.admin, home, timedOut);
        assert.equal(listed.code, 0, listed.err);
        assert.doesNotMatch(listed.out, new RegExp(arn));
        const row = await orderOf(order.orderId);
        assert.deepEqual([row.step, row.outcome], ['cancelled', 'validation_expired']);
        const described2 = await awsCli(app.baseUrl, app.main.admin, home, [
          'describe-certificate',
          '--certificate-arn',
          arn,
        ]);
        assert.match(described2.err, /ResourceNotFoundException/);
      });

      it('being issued: ConflictException and nothing changed; RenewalSummary; deleted once landed', async () => {
        const w = worker();
        const name = domain('landing');
        const { arn, order } = await request(name);
        const awaiting = await driveTo(w, order.orderId, ['awaiting_cname']);
        await addUserCname(bind, `_acme-challenge.${name}`, awaiting.authorizations[0]!.delegationTarget!);
        const finalizing = await driveTo(w, order.orderId, ['finalizing']);
        await assert.rejects(acm.send(new DeleteCertificateCommand({ CertificateArn: arn })), {
          name: 'ConflictException',
          message: /is issuing it/,
        });
        assert.deepEqual(await orderOf(order.orderId), finalizing, 'nothing written');
        assert.ok((await listedArns()).includes(arn));

        await driveTo(w, order.orderId, ['done']);
        const landed = await acm.send(new GetCertificateCommand({ CertificateArn: arn }));
        assert.match(landed.Certificate!, /^-----BEGIN CERTIFICATE-----/);

        // RenewalSummary: absent until a renewal, PENDING_AUTO_RENEWAL while it runs, then SUCCESS.
        const describe = async () =>
          (await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate!;
        assert.equal((await describe()).RenewalSummary, undefined);
        await acm.send(new RenewCertificateCommand({ CertificateArn: arn }));
        const renewal = (await app.app.issuance.listOrders(app.main.actor, { offset: 0, limit: 1 }))[0]!;
        assert.equal(renewal.kind, 'renew');
        const running = (await describe()).RenewalSummary!;
        assert.equal(running.RenewalStatus, 'PENDING_AUTO_RENEWAL');
        assert.deepEqual(
          running.DomainValidationOptions!.map((v) => [v.DomainName, v.ValidationStatus]),
          [[name, 'PENDING_VALIDATION']],
        );
        await driveTo(w, renewal.orderId, ['done']);
        const renewed = (await describe()).RenewalSummary!;
        assert.equal(renewed.RenewalStatus, 'SUCCESS');
        assert.equal(renewed.RenewalStatusReason, undefined);
        assert.deepEqual(
          renewed.DomainValidationOptions!.map((v) => v.ValidationStatus),
          ['SUCCESS'],
        );
        assert.ok(renewed.UpdatedAt! >= running.UpdatedAt!);

        // Revoked here with a reason: Status REVOKED and the model's name of that reason.
        const revoke = await app.app.issuance.revoke(app.main.actor, {
          certificateNo: order.certificateNo!,
          reason: 4,
        });
        await driveTo(w, revoke.orderId, ['revoked']);
        const revoked = await describe();
        assert.deepEqual([revoked.Status, revoked.RevocationReason], ['REVOKED', 'SUPERCEDED']);

        await acm.send(new DeleteCertificateCommand({ CertificateArn: arn }));
        await assert.rejects(acm.send(new DescribeCertificateCommand({ CertificateArn: arn })), {
          name: 'ResourceNotFoundException',
        });
        const rows = await certificateRows(order.certificateNo!);
        assert.equal(rows.length, 1);
        assert.notEqual(rows[0]!.deleted_at, null, 'deleted as a certificate');
      });

      it('a delete racing the worker ends withdrawn or issued, never both', async () => {
        const w = worker();
        // The user starts deleting once the order has reached each of these steps (or passed
        // it): the CA validating, polled, finalizing, downloading; the worker runs on meanwhile.
        for (const from of ['responding', 'polling', 'finalizing', 'downloading'] as const) {
          const name = domain(`race-${from}`);
          const { arn, order } = await request(name);
          const awaiting = await driveTo(w, order.orderId, ['awaiting_cname']);
          await addUserCname(bind, `_acme-challenge.${name}`, awaiting.authorizations[0]!.delegationTarget!);
          let refusals = 0;
          let deleted = false;
          const deleter = (async () => {
            while (ORDER_STEPS.indexOf((await orderOf(order.orderId)).step) < ORDER_STEPS.indexOf(from)) await sleep(2);
            for (;;) {
              try {
                await acm.send(new DeleteCertificateCommand({ CertificateArn: arn }));
                deleted = true;
                return;
              } catch (error) {
                const type = (error as { name: string }).name;
                if (type === 'ResourceNotFoundException') return;
                assert.equal(type, 'ConflictException', String(error));
                refusals += 1;
                if ((await orderOf(order.orderId)).step === 'done') return;
              }
              await sleep(5);
            }
          })();
          const final: OrderStep[] = ['done', 'cancelled', 'failed'];
          await Promise.all([driveTo(w, order.orderId, final), deleter]);
          const ended = await driveTo(w, order.orderId, final);
          const rows = await certificateRows(order.certificateNo!);
          // Withdrawn: no certificate ever had its number. Issued: the certificate exists, and
          // the delete that succeeded (after it landed) deleted it; a refused one left it live.
          if (ended.step === 'cancelled') {
            assert.ok(deleted, `from ${from}`);
            assert.deepEqual(rows, [], `from ${from}: no certificate with the withdrawn number`);
          } else {
            assert.equal(ended.step, 'done', `from ${from}: refused ${refusals} times`);
            assert.equal(rows.length, 1);
            assert.equal(rows[0]!.deleted_at !== null, deleted, 'deleted exactly when a delete succeeded');
            if (!deleted) await acm.send(new DeleteCertificateCommand({ CertificateArn: arn }));
          }
          assert.ok(!(await listedArns()).includes(arn));
          await assert.rejects(acm.send(new DescribeCertificateCommand({ CertificateArn: arn })), {
            name: 'ResourceNotFoundException',
          });
        }
      });
    });
  }
});
