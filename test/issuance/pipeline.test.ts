/**
 * The issuance pipeline end to end against a real Pebble (ACME CA) resolving through a real BIND9
 * (users' zone + dcv zone, test/helpers/bind.ts), on a real store: the worker is driven pass by
 * pass (`runOnce`), one step per claim, exactly as `serve` runs it. No mock of the CA or of DNS.
 *
 * Skipped with a message when pebble or named is missing, except under CI=true (then they fail).
 */
import { createAuditService } from '../../src/core/audit.ts';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { AcmeIssuer } from '../../src/acme/client.ts';
import { cliActor } from '../../src/core/actor.ts';
import { createCore, type Core } from '../../src/core/core.ts';
import { DEFAULT_NOTIFICATION_SETTINGS } from '../../src/core/notifications/service.ts';
import { createNotificationWorker } from '../../src/core/notifications/worker.ts';
import { createNotificationSender } from '../../src/notifiers/index.ts';
import { isFinalStep, type IssuanceOrder } from '../../src/core/issuance/ports.ts';
import { createIssuanceService, type IssuanceService } from '../../src/core/issuance/service.ts';
import { createIssuanceWorker, type IssuanceWorker } from '../../src/core/issuance/worker.ts';
import { systemClock } from '../../src/core/ports.ts';
import { createDcvResolver } from '../../src/dns/resolver.ts';
import { createDnsUpdateZone } from '../../src/dns/update.ts';
import { parseTsigKey } from '../../src/dns/tsig.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { BIND_SKIP, DCV_ZONE, USER_ZONE, startBind, type BindServer } from '../helpers/bind.ts';
import { freshSqlite, testMasterKey, type TestLocation } from '../helpers/db.ts';
import { PEBBLE_SKIP, startPebble, type Pebble } from '../helpers/pebble.ts';
import { receiver, type Receiver } from '../notifications/setup.ts';
import { addUserCname } from './user-dns.ts';

const run = promisify(execFile);
const skip = PEBBLE_SKIP || BIND_SKIP;

interface Rig {
  location: TestLocation;
  store: StoreHandle;
  core: Core;
  service: IssuanceService;
  issuer: AcmeIssuer;
  tenantId: number;
  worker(options?: { tsigKey?: string; cnameWindowMs?: number; renewalScanEveryMs?: number }): IssuanceWorker;
}

async function rig(bind: BindServer, pebble: Pebble): Promise<Rig> {
  const location = await freshSqlite();
  const store = await openStore(location.options({ masterKey: testMasterKey() }));
  // Notifications through the real service to a webhook receiver on loopback (the last test).
  const sender = createNotificationSender({ clock: systemClock, allowPrivateAddresses: true });
  const core = createCore(store, systemClock, {
    ...DEFAULT_NOTIFICATION_SETTINGS,
    allowPrivateAddresses: true,
    sender,
  });
  const tenant = await core.tenants.create(`t-${Math.random().toString(36).slice(2, 8)}`);
  const service = createIssuanceService({
    store,
    issuance: store.issuance,
    audit: createAuditService(store, systemClock),
    clock: systemClock,
    settings: { dcvZone: DCV_ZONE, http01: false },
  });
  const issuer = new AcmeIssuer({ directoryUrl: pebble.directoryUrl, caPem: pebble.caPem });
  const server = { host: bind.host, port: bind.port };
  return {
    location,
    store,
    core,
    service,
    issuer,
    tenantId: tenant.id,
    worker: (options = {}) =>
      createIssuanceWorker({
        store,
        issuance: store.issuance,
        service,
        certificates: core.certificates,
        audit: createAuditService(store, systemClock),
        clock: systemClock,
        issuer,
        directoryUrl: pebble.directoryUrl,
        contact: ['admin@example.test'],
        dcv: {
          zone: createDnsUpdateZone({
            server,
            zone: DCV_ZONE,
            key: parseTsigKey(options.tsigKey ?? bind.dcvKey),
            clock: systemClock,
          }),
          resolver: createDcvResolver({ server }),
        },
        notify: core.notifications.emit,
        cnameWindowMs: options.cnameWindowMs ?? 60_000,
        renewalScanEveryMs: options.renewalScanEveryMs ?? 3_600_000,
      }),
  };
}

/** Runs worker passes until the order is final (or `ms` passed); the order as it ended. */
async function drive(r: Rig, worker: IssuanceWorker, orderId: number, ms = 60_000): Promise<IssuanceOrder> {
  const actor = cliActor(r.tenantId);
  const deadline = Date.now() + ms;
  for (;;) {
    await worker.runOnce();
    const order = await r.service.getOrder(actor, orderId);
    if (isFinalStep(order.step)) return order;
    if (Date.now() > deadline) throw new Error(`order ${orderId} still ${order.step}: ${order.lastError ?? ''}`);
    await sleep(100);
  }
}

/** `openssl verify` of the stored leaf + chain against Pebble's root (management `/roots/0`). */
async function opensslVerify(pebble: Pebble, leafPem: string, chainPems: readonly string[]): Promise<string> {
  const root = await pebble.management('/roots/0');
  assert.equal(root.status, 200);
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-verify-'));
  try {
    await writeFile(join(dir, 'root.pem'), root.body);
    await writeFile(join(dir, 'chain.pem'), chainPems.join(''));
    await writeFile(join(dir, 'leaf.pem'), leafPem);
    const { stdout } = await run('openssl', [
      'verify',
      '-CAfile',
      join(dir, 'root.pem'),
      '-untrusted',
      join(dir, 'chain.pem'),
      join(dir, 'leaf.pem'),
    ]);
    return stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('issuance pipeline: Pebble + BIND9', { skip }, () => {
  let bind: BindServer;
  let pebble: Pebble;
  let r: Rig;
  let hook: Receiver;
  before(async () => {
    bind = await startBind();
    pebble = await startPebble({ dnsServer: `${bind.host}:${bind.port}` });
    r = await rig(bind, pebble);
    hook = await receiver();
    const admin = cliActor(r.tenantId);
    await r.core.notifications.addChannel(admin, { kind: 'webhook', name: 'ops', url: hook.url });
    await r.core.notifications.addRule(admin, {
      name: 'issuance',
      events: ['issuance.succeeded', 'issuance.failed', 'renewal.failed'],
      channels: ['ops'],
    });
  });
  after(async () => {
    await hook?.close();
    r?.issuer.close();
    await r?.store.close();
    await r?.location.cleanup();
    await pebble?.stop();
    await bind?.stop();
  });

  it('issues wildcard + apex by CNAME delegation, stores it through the ladder, cleans up', async () => {
    const actor = cliActor(r.tenantId);
    const apex = `shop.${USER_ZONE}`;
    const order = await r.service.request(actor, { name: 'shop', domains: [apex, `*.${apex}`] });
    assert.ok(order.certificateNo !== null, 'the pending certificate has its number at request time');
    assert.equal((await r.service.orderForCertificate(actor, order.certificateNo)).orderId, order.orderId);
    await assert.rejects(r.core.certificates.get(actor, order.certificateNo), { code: 'not_found' });
    const records = await r.service.verification(actor, order);
    assert.equal(records.length, 1, 'wildcard and apex share one _acme-challenge record');
    assert.equal(records[0]!.recordName, `_acme-challenge.${apex}`);
    assert.ok(records[0]!.recordValue.endsWith(`.${DCV_ZONE}`));
    await addUserCname(bind, records[0]!.recordName, records[0]!.recordValue);

    const done = await drive(r, r.worker(), order.orderId);
    assert.equal(done.step, 'done', `${done.lastError ?? ''} ${JSON.stringify(done.problem)}`);
    assert.equal(done.authorizations.length, 2);
    assert.equal(new Set(done.authorizations.map((a) => a.delegationTarget)).size, 1, 'two values at one name');
    assert.equal(done.certificateNo, order.certificateNo, 'stored under the number reserved at request time');
    const certificate = await r.core.certificates.get(actor, done.certificateNo!);
    assert.equal(certificate.name, 'shop');
    assert.equal(certificate.type, 'NCP_FREE_DV_01');
    assert.equal(certificate.origin, 'acme');
    assert.deepEqual([...certificate.facts.domains].sort(), [apex, `*.${apex}`].sort());
    const key = await r.core.certificates.export(actor, done.certificateNo!, { includeKey: true });
    assert.ok(
      new X509Certificate(certificate.certificatePem).checkPrivateKey(
        (await import('node:crypto')).createPrivateKey(key.privateKeyPem!),
      ),
    );
    assert.match(await opensslVerify(pebble, certificate.certificatePem, certificate.chainPems), /: OK\n$/);
    // The TXT values are gone from the dcv zone; the names are free again.
    const resolver = createDcvResolver({ server: { host: bind.host, port: bind.port } });
    assert.deepEqual(await resolver.lookupTxt(done.authorizations[0]!.delegationTarget!), []);
    assert.deepEqual(await r.store.issuance.activeNames([apex]), []);
    const verified = await r.service.verification(actor, done);
    assert.equal(verified[0]!.state, 'valid');
  });

  it('refuses bad input before writing anything', async () => {
    const actor = cliActor(r.tenantId);
    const before = (await r.service.listOrders(actor, { offset: 0, limit: 1000 })).length;
    for (const domains of [
      ['192.0.2.1'],
      ['a.*.example.test'],
      ['x.example.test', 'X.example.test.'],
      ['printer.local'],
      Array.from({ length: 101 }, (_, i) => `n${i}.example.test`),
      [],
    ]) {
      await assert.rejects(r.service.request(actor, { name: 'bad', domains }), { code: 'invalid_argument' });
    }
    assert.equal((await r.service.listOrders(actor, { offset: 0, limit: 1000 })).length, before);
  });

  it('a CNAME never created ends validation_expired, with the records still shown', async () => {
    const actor = cliActor(r.tenantId);
    const order = await r.service.request(actor, { name: 'nocname', domains: [`nocname.${USER_ZONE}`] });
    const ended = await drive(r, r.worker({ cnameWindowMs: 2_000 }), order.orderId, 30_000);
    assert.equal(ended.step, 'validation_expired');
    assert.equal(ended.authorizations[0]!.cname, 'missing');
    const records = await r.service.verification(actor, ended);
    assert.equal(records[0]!.state, 'expired');
    assert.deepEqual(await r.store.issuance.activeNames([`nocname.${USER_ZONE}`]), []);
  });

  it('a wrong TSIG key fails the order visibly (no crash, no secret in the message)', async () => {
    const actor = cliActor(r.tenantId);
    const order = await r.service.request(actor, { name: 'badkey', domains: [`badkey.${USER_ZONE}`] });
    const wrongSecret = Buffer.alloc(32, 7).toString('base64');
    const wrong = `hmac-sha256:dcv-key:${wrongSecret}`;
    const ended = await drive(r, r.worker({ tsigKey: wrong }), order.orderId, 30_000);
    assert.equal(ended.step, 'failed');
    assert.match(ended.lastError ?? '', /TSIG|BADSIG|signature/i);
    assert.ok(!(ended.lastError ?? '').includes(wrongSecret));
  });

  it("tells the tenant's channel of each issuance and each failure, once", async () => {
    const notifier = createNotificationWorker({
      store: r.store,
      clock: systemClock,
      sender: createNotificationSender({ clock: systemClock, allowPrivateAddresses: true }),
      publicBaseUrl: 'https://certs.example.test',
    });
    await notifier.runOnce();
    const events = hook.received.map((e) => ({
      type: e.json.type,
      name: (e.json.certificate as { name?: string } | null)?.name ?? null,
      summary: String(e.json.summary),
    }));
    const issued = events.filter((e) => e.type === 'issuance.succeeded');
    assert.ok(
      issued.some((e) => e.name === 'shop' && /issued/.test(e.summary)),
      JSON.stringify(events),
    );
    const failed = events.filter((e) => e.type === 'issuance.failed').map((e) => e.summary);
    assert.ok(
      failed.some((summary) => summary.includes("'nocname'")),
      JSON.stringify(events),
    );
    assert.ok(
      failed.some((summary) => summary.includes("'badkey'")),
      JSON.stringify(events),
    );
    const ids = hook.received.map((e) => String(e.json.id));
    assert.equal(new Set(ids).size, ids.length, 'each event once');
    const secrets = [Buffer.alloc(32, 7).toString('base64'), bind.dcvKey.split(':')[2]!];
    for (const e of hook.received) for (const secret of secrets) assert.ok(!e.body.includes(secret), 'no secret');
  });
});

describe('issuance pipeline: renewal of short-lived certificates', { skip }, () => {
  let bind: BindServer;
  let pebble: Pebble;
  let r: Rig;
  let hook: Receiver;
  before(async () => {
    bind = await startBind();
    // No reuse of valid authorizations: every renewal goes through DNS, so it can fail there.
    pebble = await startPebble({
      dnsServer: `${bind.host}:${bind.port}`,
      certificateValidityPeriod: 15,
      authzReusePercent: 0,
    });
    r = await rig(bind, pebble);
    hook = await receiver();
    const admin = cliActor(r.tenantId);
    await r.core.notifications.addChannel(admin, { kind: 'webhook', name: 'ops', url: hook.url });
    await r.core.notifications.addRule(admin, {
      name: 'renewals',
      events: ['renewal.failed', 'renewal.recovered'],
      certificatePattern: 'flaky',
      channels: ['ops'],
    });
  });
  after(async () => {
    await hook?.close();
    r?.issuer.close();
    await r?.store.close();
    await r?.location.cleanup();
    await pebble?.stop();
    await bind?.stop();
  });

  it('renews in place once a third of the lifetime is left (same certificateNo, new serial)', async () => {
    const actor = cliActor(r.tenantId);
    const name = `renew.${USER_ZONE}`;
    const order = await r.service.request(actor, { name: 'renew', domains: [name] });
    const [record] = await r.service.verification(actor, order);
    await addUserCname(bind, record!.recordName, record!.recordValue);
    const worker = r.worker({ renewalScanEveryMs: 0 });
    const issued = await drive(r, worker, order.orderId);
    assert.equal(issued.step, 'done', issued.lastError ?? '');
    const first = await r.core.certificates.get(actor, issued.certificateNo!);

    // Pass until the scan queues the renewal (when 5 of the 15 s are left), then finish it.
    const deadline = Date.now() + 30_000;
    let renewal: IssuanceOrder | undefined;
    while (!renewal) {
      await worker.runOnce();
      renewal = (await r.service.listOrders(actor, { offset: 0, limit: 10 })).find((o) => o.kind === 'renew');
      assert.ok(Date.now() < deadline, 'no renewal was queued');
      await sleep(250);
    }
    assert.equal(renewal.certificateNo, issued.certificateNo);
    const renewed = await drive(r, worker, renewal.orderId);
    assert.equal(renewed.step, 'done', renewed.lastError ?? '');
    const second = await r.core.certificates.get(actor, issued.certificateNo!);
    assert.equal(second.certificateNo, first.certificateNo);
    assert.notEqual(second.facts.serialNumber, first.facts.serialNumber);
  });

  it('a renewal that fails twice, then lands, says renewal.failed 1 and 2, then renewal.recovered once', async () => {
    const actor = cliActor(r.tenantId);
    const order = await r.service.request(actor, { name: 'flaky', domains: [`flaky.${USER_ZONE}`] });
    const [record] = await r.service.verification(actor, order);
    await addUserCname(bind, record!.recordName, record!.recordValue);
    const issued = await drive(r, r.worker(), order.orderId);
    assert.equal(issued.step, 'done', issued.lastError ?? '');
    const certificateNo = issued.certificateNo!;

    // The renewal order of this certificate newer than `after`, driven by `worker` until it ends.
    const renewal = async (worker: IssuanceWorker, after: number): Promise<IssuanceOrder> => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        await worker.runOnce();
        const mine = (await r.service.listOrders(actor, { offset: 0, limit: 50 })).find(
          (o) => o.kind === 'renew' && o.certificateNo === certificateNo && o.orderId > after,
        );
        if (mine && isFinalStep(mine.step)) return mine;
        assert.ok(Date.now() < deadline, `no renewal of ${certificateNo} ended: ${JSON.stringify(mine ?? null)}`);
        await sleep(250);
      }
    };
    // The operator's DNS key is wrong for a while: renewals fail at the CA's DNS step, for real.
    const wrongKey = `hmac-sha256:dcv-key:${Buffer.alloc(32, 9).toString('base64')}`;
    const broken = r.worker({ tsigKey: wrongKey, renewalScanEveryMs: 0 });
    const first = await renewal(broken, order.orderId);
    assert.equal(first.step, 'failed', first.lastError ?? '');
    // The scan looks again an hour after it queued a renewal; the test does not wait the hour.
    await r.store.issuance.setRenewalCheck(r.tenantId, certificateNo, new Date());
    const second = await renewal(broken, first.orderId);
    assert.equal(second.step, 'failed', second.lastError ?? '');
    // The key is fixed.
    await r.store.issuance.setRenewalCheck(r.tenantId, certificateNo, new Date());
    const third = await renewal(r.worker({ renewalScanEveryMs: 0 }), second.orderId);
    assert.equal(third.step, 'done', third.lastError ?? '');

    const notifier = createNotificationWorker({
      store: r.store,
      clock: systemClock,
      sender: createNotificationSender({ clock: systemClock, allowPrivateAddresses: true }),
      publicBaseUrl: 'https://certs.example.test',
    });
    await notifier.runOnce();
    const events = hook.received
      .map((e) => e.json)
      .filter((e) => (e.certificate as { certificateNo?: number } | null)?.certificateNo === certificateNo)
      .map((e) => ({ type: String(e.type), failures: e.failures, id: e.id }))
      // Delivered concurrently: in any order.
      .sort((x, y) => x.type.localeCompare(y.type) || Number(x.failures) - Number(y.failures));
    assert.deepEqual(
      events.map(({ type, failures }) => ({ type, failures })),
      [
        { type: 'renewal.failed', failures: 1 },
        { type: 'renewal.failed', failures: 2 },
        { type: 'renewal.recovered', failures: 2 },
      ],
      JSON.stringify(events),
    );
    assert.equal(events[2]!.id, `renewal.recovered:certificate-order:${third.orderId}`);
    // Delivered once: another pass (or a repeated storing step) sends nothing more.
    await notifier.runOnce();
    assert.equal(
      hook.received.filter((e) => e.json.type === 'renewal.recovered').length,
      1,
      'renewal.recovered is sent once',
    );
  });
});
