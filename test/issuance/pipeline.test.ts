/**
 * The issuance pipeline end to end against a real Pebble (ACME CA) resolving through a real BIND9
 * (users' zone + dcv zone, test/helpers/bind.ts), on a real store: the worker is driven pass by
 * pass (`runOnce`), one step per claim, exactly as `serve` runs it. No mock of the CA or of DNS.
 *
 * Skipped with a message when pebble or named is missing, except under CI=true (then they fail).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { cliActor } from '../../src/core/actor.ts';
import { createAuditService } from '../../src/core/audit.ts';
import { createProvisioningWorker } from '../../src/core/deploy/worker.ts';
import { createDeployers } from '../../src/deployers/index.ts';
import { deployedPair, fingerprintOf } from '../api/edge/helpers.ts';
import { createNotificationWorker } from '../../src/core/notifications/worker.ts';
import { createNotificationSender } from '../../src/notifiers/index.ts';
import { isFinalStep, type IssuanceOrder } from '../../src/core/issuance/ports.ts';
import type { IssuanceWorker } from '../../src/core/issuance/worker.ts';
import { systemClock } from '../../src/core/ports.ts';
import { createDcvResolver } from '../../src/dns/resolver.ts';
import { BIND_SKIP, DCV_ZONE, USER_ZONE, startBind, type BindServer } from '../helpers/bind.ts';
import { PEBBLE_SKIP, startPebble, type Pebble } from '../helpers/pebble.ts';
import { receiver, type Receiver } from '../notifications/setup.ts';
import { drive, rig, type Rig } from './in-process.ts';
import { addUserCname } from './user-dns.ts';

const run = promisify(execFile);
const skip = PEBBLE_SKIP || BIND_SKIP;

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

  it('a wrong TSIG key leaves the order retrying with a clear message; the right key finishes it', async () => {
    const actor = cliActor(r.tenantId);
    const order = await r.service.request(actor, { name: 'badkey', domains: [`badkey.${USER_ZONE}`] });
    const [record] = await r.service.verification(actor, order);
    await addUserCname(bind, record!.recordName, record!.recordValue);
    const wrongSecret = Buffer.alloc(32, 7).toString('base64');
    const wrongKeyWorker = r.worker({ tsigKey: `hmac-sha256:dcv-key:${wrongSecret}` });
    const deadline = Date.now() + 30_000;
    let waiting = await r.service.getOrder(actor, order.orderId);
    while (waiting.lastError === null) {
      assert.ok(Date.now() < deadline, `no failure recorded; the order is ${waiting.step}`);
      await wrongKeyWorker.runOnce();
      waiting = await r.service.getOrder(actor, order.orderId);
    }
    assert.equal(waiting.step, 'publishing', 'still waiting, not failed');
    assert.equal(waiting.attempts, 1);
    assert.ok(waiting.nextAttemptAt !== null && waiting.nextAttemptAt.getTime() > Date.now(), 'backing off');
    assert.match(waiting.lastError ?? '', /TSIG|BADSIG|signature/i);
    assert.ok(!(waiting.lastError ?? '').includes(wrongSecret));
    assert.ok(!(waiting.lastError ?? '').includes(bind.dcvKey.split(':')[2]!));
    // The operator restarts with the right key: the order carries on from where it waited.
    const done = await drive(r, r.worker(), order.orderId, 60_000);
    assert.equal(done.step, 'done', done.lastError ?? '');
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
      issued.some((e) => e.name === 'badkey'),
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

  it('renews in place once a third of the lifetime is left: same number, edge slot republished, one event', async () => {
    const actor = cliActor(r.tenantId);
    const name = `renew.${USER_ZONE}`;
    const order = await r.service.request(actor, { name: 'renew', domains: [name] });
    const [record] = await r.service.verification(actor, order);
    await addUserCname(bind, record!.recordName, record!.recordValue);
    const worker = r.worker({ renewalScanEveryMs: 0 });
    const issued = await drive(r, worker, order.orderId);
    assert.equal(issued.step, 'done', issued.lastError ?? '');
    const certificateNo = issued.certificateNo!;
    const first = await r.core.certificates.get(actor, certificateNo);

    // An edge slot serves it from a directory target.
    const targetDir = await mkdtemp(join(tmpdir(), 'certkeeper-renew-target-'));
    const edge = createProvisioningWorker({
      store: r.store,
      clock: systemClock,
      audit: createAuditService(r.store, systemClock),
      deployers: createDeployers({ clock: systemClock }),
    });
    try {
      await r.core.targets.set(actor, { kind: 'directory', path: targetDir });
      const slot = await r.core.provisioning.provision(actor, {
        serviceRegion: 'KR_JP',
        certificateNos: [certificateNo],
        tlsVersion: 'TLS_MIN_VERSION_1_2',
        cipherProfile: 'DEFAULT',
      });
      const deployedOnce = async (fingerprint: string): Promise<void> => {
        const until = Date.now() + 30_000;
        for (;;) {
          await edge.runOnce();
          const pair = await deployedPair(targetDir, slot.slotId).catch(() => null);
          if (pair?.fingerprint === fingerprint) {
            assert.ok(pair.keyMatches);
            return;
          }
          assert.ok(Date.now() < until, `slot ${slot.slotId} never got ${fingerprint}`);
          await sleep(100);
        }
      };
      await deployedOnce(fingerprintOf(first.certificatePem));
      const eventsBefore = await r.core.audit.list(actor, { target: `certificate:${certificateNo}`, limit: 500 });
      const seen = new Set(eventsBefore.map((e) => e.id));

      // Pass until the scan queues the renewal (when 5 of the 15 s are left), then finish it.
      const deadline = Date.now() + 30_000;
      let renewal: IssuanceOrder | undefined;
      while (!renewal) {
        await worker.runOnce();
        renewal = (await r.service.listOrders(actor, { offset: 0, limit: 10 })).find((o) => o.kind === 'renew');
        assert.ok(Date.now() < deadline, 'no renewal was queued');
        await sleep(250);
      }
      assert.equal(renewal.certificateNo, certificateNo);
      const renewed = await drive(r, worker, renewal.orderId);
      assert.equal(renewed.step, 'done', renewed.lastError ?? '');
      const second = await r.core.certificates.get(actor, certificateNo);
      assert.equal(second.certificateNo, first.certificateNo);
      assert.equal(second.name, 'renew');
      assert.notEqual(second.facts.serialNumber, first.facts.serialNumber);
      const listed = await r.core.certificates.list(actor, { offset: 0, limit: 100 });
      assert.equal(listed.items.filter((c) => c.name === 'renew').length, 1, 'replaced, not added');
      // The renewal kept the certificate it replaced as version 1, key and all.
      const versions = await r.core.certificates.versions(actor, certificateNo);
      assert.equal(versions.currentVersion, 2);
      assert.deepEqual(
        versions.previous.map((v) => [v.version, v.replacedBy, v.facts.serialNumber]),
        [[1, 'acme-worker', first.facts.serialNumber]],
      );
      const old = await r.core.certificates.exportVersion(actor, certificateNo, 1, { includeKey: true });
      assert.equal(old.certificatePem, first.certificatePem);
      assert.match(old.privateKeyPem ?? '', /PRIVATE KEY/);

      // The slot republished the new certificate.
      await deployedOnce(fingerprintOf(second.certificatePem));
      const view = await r.core.provisioning.get(actor, slot.slotId);
      assert.equal(view.slot.deployment.generation, 2, 'published a second time');

      // One event says the certificate was renewed (with its order); the rest say why and what followed.
      const events = (await r.core.audit.list(actor, { target: `certificate:${certificateNo}`, limit: 500 })).filter(
        (e) => !seen.has(e.id),
      );
      const renewedEvents = events.filter((e) => ['certificate.renew', 'certificate.replace'].includes(e.action));
      assert.deepEqual(
        renewedEvents.map((e) => [e.action, e.result, e.detail.orderId]),
        [['certificate.renew', 'success', renewal.orderId]],
        JSON.stringify(events.map((e) => e.action)),
      );
    } finally {
      await edge.stop({ timeoutMs: 1000 });
      await rm(targetDir, { recursive: true, force: true });
    }
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
    // An order as a failure message: its CA order and authorizations tell a reused authorization
    // (valid when read, nothing published) from one validated through DNS.
    const described = ({ sealedKey: _, ...o }: IssuanceOrder): string => JSON.stringify(o);
    // The operator's DNS key is wrong for a while: renewals fail at the CA's DNS step, for real.
    const wrongKey = `hmac-sha256:dcv-key:${Buffer.alloc(32, 9).toString('base64')}`;
    // A bad key is retried with backoff (it may be fixed meanwhile); one attempt here, so each
    // renewal fails at once, on BIND's real BADSIG.
    const broken = r.worker({ tsigKey: wrongKey, renewalScanEveryMs: 0, maxAttempts: 1 });
    const first = await renewal(broken, order.orderId);
    assert.equal(first.step, 'failed', described(first));
    // The scan looks again an hour after it queued a renewal; the test does not wait the hour.
    await r.store.issuance.setRenewalCheck(r.tenantId, certificateNo, new Date());
    const second = await renewal(broken, first.orderId);
    assert.equal(second.step, 'failed', described(second));
    // The key is fixed.
    await r.store.issuance.setRenewalCheck(r.tenantId, certificateNo, new Date());
    const third = await renewal(r.worker({ renewalScanEveryMs: 0 }), second.orderId);
    assert.equal(third.step, 'done', described(third));

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
