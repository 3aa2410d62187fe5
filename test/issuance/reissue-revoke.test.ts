/**
 * Reissue with the user's CSR, registPrivateKey, revoke, Global Edge issuance and the failed
 * validations (-3, -4), end to end: NCP API 2.0 requests to the real server on a real store, a
 * real Pebble (ACME CA) resolving through a real BIND9 (users' zone + dcv zone), the issuance
 * worker driven pass by pass (`runOnce`, one step per claim, exactly as `serve` runs it), the
 * window from CERTKEEPER_DCV_WINDOW_SECONDS through loadIssuanceConfig. Revocation is checked on
 * Pebble's management API (`/cert-status-by-serial/<serial>`); a Global Edge certificate's key is
 * refused by every export path (NCP, NHN, console, CLI, ACM).
 *
 * On every store of test/helpers/db.ts (PostgreSQL required under CI=true). Skipped with a message
 * when pebble or named is missing, except under CI=true (then they fail).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AcmeIssuer } from '../../src/acme/client.ts';
import { run as cli } from '../../src/cli/run.ts';
import { loadIssuanceConfig, type IssuanceConfig } from '../../src/config/config.ts';
import { createAuditService } from '../../src/core/audit.ts';
import { isFinalStep, type IssuanceOrder } from '../../src/core/issuance/ports.ts';
import { createIssuanceWorker, type IssuanceWorker } from '../../src/core/issuance/worker.ts';
import { createDcvResolver } from '../../src/dns/resolver.ts';
import { parseTsigKey } from '../../src/dns/tsig.ts';
import { createDnsUpdateZone } from '../../src/dns/update.ts';
import { startTestApp, TestClock, type TestApp } from '../helpers/app.ts';
import { storeTargets } from '../helpers/db.ts';
import { BIND_SKIP, DCV_ZONE, USER_ZONE, startBind, type BindServer } from '../helpers/bind.ts';
import { ncpFetch, type NcpResponse } from '../helpers/ncp-client.ts';
import { PEBBLE_SKIP, startPebble, type Pebble } from '../helpers/pebble.ts';
import { loggedIn } from '../api/console/helpers.ts';
import { authFor, fileUrl } from '../api/nhn/helpers.ts';
import { addUserCname } from './user-dns.ts';
import { CSR_KEYS, opensslCsr } from '../helpers/csr.ts';

const skip = PEBBLE_SKIP || BIND_SKIP;

/** The real time: certificates from Pebble are checked by the ladder against this clock. */
class LiveClock extends TestClock {
  override now(): Date {
    return new Date();
  }
}

const V2 = '/api/v2/certificate';
const code = (res: NcpResponse): string => (res.json as { returnCode?: string } | undefined)?.returnCode ?? '';

interface ListedCertificate {
  certificateNo: number;
  certificateType: string;
  statusCode: string;
  statusName: string;
  serialNumber: string;
}

for (const target of storeTargets) {
  describe(
    `reissue, registPrivateKey, revoke, Global Edge: NCP face + Pebble + BIND9 on ${target.name}`,
    { skip: skip || target.skip },
    () => {
      let bind: BindServer;
      let pebble: Pebble;
      let app: TestApp;
      let issuer: AcmeIssuer;
      let config: IssuanceConfig;
      let worker: IssuanceWorker;
      let dir: string;

      const call = (method: string, path: string, body?: unknown, query?: Record<string, string>) =>
        ncpFetch(app.baseUrl, {
          method,
          path,
          ...(body === undefined ? {} : { body }),
          ...(query ? { query } : {}),
          credentials: app.main.admin,
        });

      /** The issuance variables the server runs with. */
      let issuanceEnv: Record<string, string>;
      /** The CLI on the app's store (its master key), with the server's issuance configuration. */
      const cliEnv = () => ({
        ...issuanceEnv,
        CERTKEEPER_DATA_DIR: app.location.dataDir,
        CERTKEEPER_MASTER_KEY: app.config.masterKey!.reveal().toString('base64'),
        CERTKEEPER_LOG_LEVEL: 'silent',
        ...(app.location.databaseUrl ? { DATABASE_URL: app.location.databaseUrl } : {}),
      });

      /** A worker as `serve` builds it (app/issuance.ts), with this configuration's window. */
      function workerFor(settings: IssuanceConfig): IssuanceWorker {
        const dcv = settings.dcv!;
        const server = { host: bind.host, port: bind.port };
        return createIssuanceWorker({
          store: app.app.store,
          issuance: app.app.store.issuance,
          service: app.app.issuance,
          certificates: app.app.core.certificates,
          audit: createAuditService(app.app.store, app.clock),
          clock: app.clock,
          issuer,
          directoryUrl: settings.directoryUrl,
          contact: settings.contact,
          dcv: {
            zone: createDnsUpdateZone({
              server,
              zone: dcv.zone,
              key: parseTsigKey(dcv.tsigKey.reveal()),
              clock: app.clock,
            }),
            resolver: createDcvResolver({ server }),
          },
          cnameWindowMs: dcv.validationWindowMs,
        });
      }

      /** Worker passes until the order is final; the order as it ended. */
      async function drive(orderId: number, by: IssuanceWorker = worker, ms = 90_000): Promise<IssuanceOrder> {
        const deadline = Date.now() + ms;
        for (;;) {
          await by.runOnce();
          const order = await app.app.issuance.getOrder(app.main.actor, orderId);
          if (isFinalStep(order.step)) return order;
          if (Date.now() > deadline) throw new Error(`order ${orderId} still ${order.step}: ${order.lastError ?? ''}`);
          await sleep(100);
        }
      }

      async function listed(certificateNo: number): Promise<ListedCertificate> {
        const res = await call('GET', `${V2}/getCertificates`);
        const item = (res.json as { sslCertificateList: ListedCertificate[] }).sslCertificateList.find(
          (c) => c.certificateNo === certificateNo,
        );
        assert.ok(item, `certificate ${certificateNo} is listed`);
        return item;
      }

      /** Requests through NCP, creates the user's CNAME as getVerificationInfo says, and issues. */
      async function issueThroughNcp(
        path: string,
        name: string,
        domain: string,
      ): Promise<{ no: number; order: number }> {
        const res = await call('POST', `${V2}/${path}`, {
          certificateName: name,
          commonName: domain,
          validationMethod: 'D',
        });
        assert.equal(code(res), '0', res.body.toString());
        const answer = res.json as {
          certificateNo?: number;
          requestSn?: number;
          certificate?: { certificateNo: number; requestSn: number };
        };
        const no = answer.certificateNo ?? answer.certificate!.certificateNo;
        const orderId = answer.requestSn ?? answer.certificate!.requestSn;
        const info = await call('GET', `${V2}/getVerificationInfo/${no}`, undefined, { domainAddress: domain });
        const [record] = (
          info.json as { dnsVerificationList: Array<{ dnsRecordName: string; dnsRecordValue: string }> }
        ).dnsVerificationList;
        await addUserCname(bind, record!.dnsRecordName, record!.dnsRecordValue);
        const done = await drive(orderId);
        assert.equal(done.step, 'done', `${done.lastError ?? ''} ${JSON.stringify(done.problem)}`);
        return { no, order: orderId };
      }

      /** A CSR for `domain` (CN and the one SAN) with a fresh key. */
      const csrFor = (file: string, domain: string, key: readonly string[] = CSR_KEYS.p256) =>
        opensslCsr(dir, file, { key, subject: `/CN=${domain}`, sans: [domain] });

      before(async () => {
        dir = await mkdtemp(join(tmpdir(), 'certkeeper-reissue-'));
        bind = await startBind();
        pebble = await startPebble({ dnsServer: `${bind.host}:${bind.port}` });
        issuanceEnv = {
          CERTKEEPER_ACME_DIRECTORY_URL: pebble.directoryUrl,
          CERTKEEPER_ACME_CONTACT: 'admin@example.test',
          CERTKEEPER_DCV_ZONE: DCV_ZONE,
          CERTKEEPER_DCV_DNS_SERVER: `${bind.host}:${bind.port}`,
          CERTKEEPER_DCV_TSIG_KEY: bind.dcvKey,
          CERTKEEPER_DCV_WINDOW_SECONDS: '600',
        };
        const setting = loadIssuanceConfig(issuanceEnv);
        assert.ok(setting.on);
        config = setting.config;
        assert.equal(config.dcv!.validationWindowMs, 600_000);
        app = await startTestApp({ store: target.name, clock: new LiveClock(), issuance: setting });
        issuer = new AcmeIssuer({ directoryUrl: pebble.directoryUrl, caPem: pebble.caPem });
        worker = workerFor(config);
      });
      after(async () => {
        issuer?.close();
        await app?.close();
        await pebble?.stop();
        await bind?.stop();
        if (dir) await rm(dir, { recursive: true, force: true });
      });

      let issued: { no: number; order: number };

      it('reissues with the user CSR: the certificate lands without a key (2); registPrivateKey 26040, then 1', async () => {
        const domain = `life.${USER_ZONE}`;
        issued = await issueThroughNcp('requestCertificateIssuance', 'life-cert', domain);
        const first = await listed(issued.no);
        assert.equal(first.statusCode, '1');

        const mine = await csrFor('mine', domain);
        const stranger = await csrFor('stranger', domain);
        const other = await csrFor('other', `other.${USER_ZONE}`);
        const body = (csr: string) => ({
          csr,
          certificateName: 'life-cert',
          commonName: domain,
          validationMethod: 'D',
        });
        // Names other than the request's: refused, no order.
        const ordersBefore = (await app.app.issuance.listOrders(app.main.actor, { offset: 0, limit: 100 })).length;
        const refused = await call('POST', `${V2}/${issued.no}/reissue`, body(other.csr));
        assert.equal(code(refused), '2100', refused.body.toString());
        assert.equal(
          (await app.app.issuance.listOrders(app.main.actor, { offset: 0, limit: 100 })).length,
          ordersBefore,
        );

        const res = await call('POST', `${V2}/${issued.no}/reissue`, body(mine.csr));
        assert.equal(code(res), '0', res.body.toString());
        const reissued = await drive((res.json as { requestSn: number }).requestSn);
        assert.equal(reissued.step, 'done', `${reissued.lastError ?? ''} ${JSON.stringify(reissued.problem)}`);
        assert.equal(reissued.certificateNo, issued.no, 'replaced in place');

        const now = await listed(issued.no);
        assert.equal(now.statusCode, '2', 'no key until registPrivateKey');
        assert.notEqual(now.serialNumber, first.serialNumber);
        const stored = await app.app.core.certificates.get(app.main.actor, issued.no);
        assert.ok(
          new X509Certificate(stored.certificatePem).publicKey.equals(createPublicKey(mine.key)),
          "the certificate is for the user's key",
        );

        const wrong = await call('POST', `${V2}/registPrivateKey`, {
          certificateNo: issued.no,
          privateKey: stranger.key,
        });
        assert.equal(code(wrong), '26040', wrong.body.toString());
        assert.equal((await listed(issued.no)).statusCode, '2');
        const right = await call('POST', `${V2}/registPrivateKey`, { certificateNo: issued.no, privateKey: mine.key });
        assert.equal(code(right), '0', right.body.toString());
        assert.equal((await listed(issued.no)).statusCode, '1');
        const bundle = await app.app.core.certificates.export(app.main.actor, issued.no, { includeKey: true });
        assert.ok(
          new X509Certificate(bundle.certificatePem).checkPrivateKey(
            (await import('node:crypto')).createPrivateKey(bundle.privateKeyPem!),
          ),
        );
      });

      it('revokes: -7 until the CA confirmed, then -5; Pebble reports it revoked with the reason', async () => {
        const res = await call('POST', `${V2}/revoke`, {
          orderId: String(issued.order),
          certificateNo: issued.no,
          revokeType: 'superseded',
        });
        assert.equal(code(res), '0', res.body.toString());
        const pending = await listed(issued.no);
        assert.equal(pending.statusCode, '-7');
        const serial = pending.serialNumber
          .replace(/[^0-9a-fA-F]/g, '')
          .toLowerCase()
          .replace(/^0+/, '');
        const before = await pebble.management(`/cert-status-by-serial/${serial}`);
        assert.equal(before.status, 200, before.body);
        assert.equal((JSON.parse(before.body) as { Status: string }).Status, 'Valid');

        const orders = await app.app.issuance.listOrders(app.main.actor, { offset: 0, limit: 5 });
        const revoke = orders.find((o) => o.kind === 'revoke')!;
        const ended = await drive(revoke.orderId);
        assert.equal(ended.step, 'revoked', `${ended.lastError ?? ''}`);
        const done = await listed(issued.no);
        assert.deepEqual([done.statusCode, done.statusName], ['-5', 'Revoked']);
        const status = JSON.parse((await pebble.management(`/cert-status-by-serial/${serial}`)).body) as {
          Status: string;
          Reason: number;
        };
        assert.equal(status.Status, 'Revoked');
        assert.equal(status.Reason, 4, 'superseded is CRLReason 4');
        // Revoked: no second revoke, no reissue, no renewal.
        const again = await call('POST', `${V2}/revoke`, {
          orderId: String(issued.order),
          certificateNo: 0,
          revokeType: 'unspecified',
        });
        assert.equal(code(again), '26091');
        const { csr } = await csrFor('late', `life.${USER_ZONE}`);
        const reissue = await call('POST', `${V2}/${issued.no}/reissue`, {
          csr,
          certificateName: 'life-cert',
          commonName: `life.${USER_ZONE}`,
          validationMethod: 'D',
        });
        assert.equal(code(reissue), '26091');
      });

      it('a revocation the CA already made (a crash after the call) ends revoked, not failed', async () => {
        const again = await issueThroughNcp('requestCertificateIssuance', 'crash-cert', `crash.${USER_ZONE}`);
        const res = await call('POST', `${V2}/revoke`, {
          orderId: String(again.order),
          certificateNo: 0,
          revokeType: 'unspecified',
        });
        assert.equal(code(res), '0', res.body.toString());
        // What the worker's step does before the process dies: the CA revokes, nothing is recorded.
        const account = (await app.app.store.issuance.getAccount(config.directoryUrl))!;
        const keyPem = (
          await app.app.store.vault.open(account.sealedKey, `acme-account-key:${config.directoryUrl}`)
        ).toString('utf8');
        const stored = await app.app.core.certificates.get(app.main.actor, again.no);
        await issuer.revoke({ url: account.accountUrl!, keyPem }, stored.certificatePem, 0);
        assert.equal((await listed(again.no)).statusCode, '-7');
        const revoke = (await app.app.issuance.listOrders(app.main.actor, { offset: 0, limit: 5 })).find(
          (o) => o.kind === 'revoke' && o.certificateNo === again.no,
        )!;
        const ended = await drive(revoke.orderId);
        assert.equal(ended.step, 'revoked', ended.lastError ?? '');
        assert.equal((await listed(again.no)).statusCode, '-5');
      });

      it('a Global Edge dedicated certificate ends in status 3 and every export path refuses its key', async () => {
        const ged = await issueThroughNcp('requestGedCertificateIssuance', 'edge-cert', `edge.${USER_ZONE}`);
        const item = await listed(ged.no);
        assert.deepEqual([item.statusCode, item.certificateType], ['3', 'NCP_GLOBAL_EDGE_DEDICATED']);

        const zip = await call('POST', `${V2}/exportCertificate/${ged.no}`, {});
        assert.equal(code(zip), '26093', zip.body.toString());
        const chain = await call('GET', `${V2}/exportCertificate/${ged.no}/chain`);
        assert.equal(code(chain), '0');

        const nhn = await fetch(fileUrl(app, 'v1.1', 'edge-cert'), {
          headers: await authFor(app, 'v1.1', app.main.admin),
        });
        assert.equal(nhn.status, 403);
        assert.equal(((await nhn.json()) as { header: { resultCode: number } }).header.resultCode, 59040);

        const consoleClient = await loggedIn(app, app.main.admin);
        const key = await consoleClient.request('POST', `/console/api/certificates/${ged.no}/private-key`);
        assert.equal(key.status, 403);
        assert.equal((key.body as { error: { code: string } }).error.code, 'key_not_exportable');

        const arnId = (await app.app.store.acm.arnIds(app.main.actor.tenantId, [ged.no])).get(ged.no)!;
        await assert.rejects(app.app.core.acm.export(app.main.actor, arnId, true), { code: 'key_not_exportable' });

        const out: string[] = [];
        const err: string[] = [];
        const exit = await cli(['cert', 'export', String(ged.no), '--key', '--out', join(dir, 'export')], {
          env: cliEnv(),
          stdout: { write: (t: string) => out.push(t) },
          stderr: { write: (t: string) => err.push(t) },
        });
        assert.equal(exit, 1, out.join(''));
        assert.match(err.join(''), /key_not_exportable/);
        const refusals = await app.app.core.audit.list(app.main.actor, { target: `certificate:${ged.no}`, limit: 50 });
        assert.ok(refusals.filter((e) => e.result === 'failure').length >= 4, 'each refusal is audited');
      });

      it('-3 VALIDATION_FAILED keeps the CA problem and shows it (NCP and cert order show)', async () => {
        const domain = `fail.${USER_ZONE}`;
        const res = await call('POST', `${V2}/requestCertificateIssuance`, {
          certificateName: 'fail-cert',
          commonName: domain,
          validationMethod: 'D',
        });
        const { certificateNo, requestSn } = res.json as { certificateNo: number; requestSn: number };
        // Up to the CNAME check: the TXT value is published at the delegation target.
        let order = await app.app.issuance.getOrder(app.main.actor, requestSn);
        while (order.step !== 'awaiting_cname') {
          await worker.runOnce();
          order = await app.app.issuance.getOrder(app.main.actor, requestSn);
          assert.ok(!isFinalStep(order.step), order.lastError ?? order.step);
        }
        // The value disappears before the CA looks (someone cleaned the zone), the user's CNAME is right.
        const zone = createDnsUpdateZone({
          server: { host: bind.host, port: bind.port },
          zone: DCV_ZONE,
          key: parseTsigKey(bind.dcvKey),
          clock: app.clock,
        });
        const [a] = order.authorizations;
        await zone.removeTxt(a!.delegationTarget!, a!.txtValue!);
        await addUserCname(bind, `_acme-challenge.${domain}`, a!.delegationTarget!);
        const ended = await drive(requestSn);
        assert.equal(ended.step, 'validation_failed', ended.lastError ?? '');
        assert.ok(ended.problem?.detail, 'the CA problem is kept');

        const info = await call('GET', `${V2}/getVerificationInfo/${certificateNo}`, undefined, {
          domainAddress: domain,
        });
        const shown = info.json as { certificateStatus: string; failureReason: string; failureType: string };
        assert.equal(shown.certificateStatus, 'VALIDATION_FAILED');
        assert.equal(shown.failureReason, ended.problem.detail);
        assert.equal(shown.failureType, ended.problem.type);

        const out: string[] = [];
        const exit = await cli(['cert', 'order', 'show', String(requestSn)], {
          env: cliEnv(),
          stdout: { write: (t: string) => out.push(t) },
          stderr: { write: (t: string) => out.push(t) },
        });
        assert.equal(exit, 0, out.join(''));
        assert.ok(out.join('').includes(ended.problem.detail), out.join(''));
      });

      it('-4 VALIDATION_EXPIRE when the CNAME is never created within CERTKEEPER_DCV_WINDOW_SECONDS', async () => {
        const short = loadIssuanceConfig({
          CERTKEEPER_ACME_DIRECTORY_URL: pebble.directoryUrl,
          CERTKEEPER_DCV_ZONE: DCV_ZONE,
          CERTKEEPER_DCV_DNS_SERVER: `${bind.host}:${bind.port}`,
          CERTKEEPER_DCV_TSIG_KEY: bind.dcvKey,
          CERTKEEPER_DCV_WINDOW_SECONDS: '2',
        });
        assert.ok(short.on);
        const domain = `never.${USER_ZONE}`;
        const res = await call('POST', `${V2}/requestCertificateIssuance`, {
          certificateName: 'never-cert',
          commonName: domain,
          validationMethod: 'D',
        });
        const { certificateNo, requestSn } = res.json as { certificateNo: number; requestSn: number };
        const ended = await drive(requestSn, workerFor(short.config), 60_000);
        assert.equal(ended.step, 'validation_expired');
        const info = await call('GET', `${V2}/getVerificationInfo/${certificateNo}`, undefined, {
          domainAddress: domain,
        });
        const shown = info.json as {
          certificateStatus: string;
          failureReason: string;
          dnsVerificationList: Array<{ validState: string; cnameCheck: string }>;
        };
        assert.equal(shown.certificateStatus, 'VALIDATION_EXPIRE');
        assert.match(shown.failureReason, /not found within the validation window/);
        assert.deepEqual(
          [shown.dnsVerificationList[0]!.validState, shown.dnsVerificationList[0]!.cnameCheck],
          ['EXPIRED', 'MISSING'],
        );
      });
    },
  );
}
