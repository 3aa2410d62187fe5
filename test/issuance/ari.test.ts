/**
 * ARI (RFC 9773) in the worker's renewal scan. Pebble 2.4.0 offers no `renewalInfo`, so the CA
 * here is the tests' own: the CA proxy (test/helpers/ca-proxy.ts) in front of a real Pebble adds
 * `renewalInfo` to the directory and answers each certificate's suggested window itself, while
 * orders still go to Pebble. Pebble's certificates live about five years, so a renewal now can
 * only come from the window: a window ahead renews nothing; a window that has begun renews at
 * once, with `replaces` (the certificate's ARI id) in the newOrder the CA received, in place.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ariCertId } from '../../src/acme/ari.ts';
import { cliActor } from '../../src/core/actor.ts';
import type { IssuanceOrder } from '../../src/core/issuance/ports.ts';
import { BIND_SKIP, USER_ZONE, startBind, type BindServer } from '../helpers/bind.ts';
import { startCaProxy, type CaProxy, type SuggestedWindow } from '../helpers/ca-proxy.ts';
import { PEBBLE_SKIP, startPebble, type Pebble } from '../helpers/pebble.ts';
import { drive, rig, type Rig } from './in-process.ts';
import { addUserCname } from './user-dns.ts';

const HOUR = 3_600_000;

describe('ARI: renewal inside the suggested window, with replaces', { skip: PEBBLE_SKIP || BIND_SKIP }, () => {
  let bind: BindServer;
  let pebble: Pebble;
  let proxy: CaProxy;
  let r: Rig;
  let window: SuggestedWindow = { start: new Date(0).toISOString(), end: new Date(0).toISOString() };
  const asked: string[] = [];

  before(async () => {
    bind = await startBind();
    pebble = await startPebble({ dnsServer: `${bind.host}:${bind.port}` });
    proxy = await startCaProxy(pebble, {
      ari: (certId) => {
        asked.push(certId);
        return window;
      },
      ariRetryAfterSeconds: 1,
    });
    r = await rig(bind, proxy);
  });
  after(async () => {
    r?.issuer.close();
    await r?.store.close();
    await r?.location.cleanup();
    await proxy?.close();
    await pebble?.stop();
    await bind?.stop();
  });

  it('waits for the window, then renews in place with replaces', async () => {
    const actor = cliActor(r.tenantId);
    assert.equal((await r.issuer.directory()).ari, true, 'the directory offers renewalInfo');
    const now = Date.now();
    window = { start: new Date(now + 24 * HOUR).toISOString(), end: new Date(now + 48 * HOUR).toISOString() };
    const order = await r.service.request(actor, { name: 'ari', domains: [`ari.${USER_ZONE}`] });
    const [record] = await r.service.verification(actor, order);
    await addUserCname(bind, record!.recordName, record!.recordValue);
    const worker = r.worker({ renewalScanEveryMs: 0 });
    const issued = await drive(r, worker, order.orderId);
    assert.equal(issued.step, 'done', issued.lastError ?? '');
    const first = await r.core.certificates.get(actor, issued.certificateNo!);
    const certId = ariCertId(first.certificatePem);
    const renewals = async (): Promise<IssuanceOrder[]> =>
      (await r.service.listOrders(actor, { offset: 0, limit: 10 })).filter((o) => o.kind === 'renew');

    // The window is a day ahead: the scan asks (again after Retry-After: 1 s) and renews nothing.
    const askedBefore = asked.filter((id) => id === certId).length;
    const quiet = Date.now() + 2_500;
    while (Date.now() < quiet) {
      await worker.runOnce();
      await sleep(200);
    }
    assert.ok(asked.filter((id) => id === certId).length >= askedBefore + 2, `asked for ${certId}: ${asked.join(',')}`);
    assert.deepEqual(await renewals(), []);

    // The window has begun: the next scan queues the renewal, replacing this certificate.
    window = { start: new Date(Date.now() - 60_000).toISOString(), end: new Date(Date.now() + HOUR).toISOString() };
    const deadline = Date.now() + 20_000;
    let renewal: IssuanceOrder | undefined;
    while (!renewal) {
      assert.ok(Date.now() < deadline, 'no renewal was queued inside the window');
      await worker.runOnce();
      renewal = (await renewals())[0];
      if (!renewal) await sleep(200);
    }
    assert.equal(renewal.replaces, certId);
    assert.equal(renewal.certificateNo, issued.certificateNo);
    const created = renewal.createdAt.getTime();
    assert.ok(created >= Date.parse(window.start) && created <= Date.parse(window.end), 'queued inside the window');

    const renewed = await drive(r, worker, renewal.orderId);
    assert.equal(renewed.step, 'done', `${renewed.lastError ?? ''} ${JSON.stringify(renewed.problem)}`);
    const newOrders = proxy.requests.filter((q) => q.kind === 'newOrder' && q.status === 201);
    assert.equal(newOrders.length, 2);
    assert.equal(newOrders[0]!.payload?.replaces, undefined, 'a first issue replaces nothing');
    assert.equal(newOrders[1]!.payload?.replaces, certId, 'the CA was told which certificate this replaces');
    const second = await r.core.certificates.get(actor, issued.certificateNo!);
    assert.equal(second.certificateNo, first.certificateNo);
    assert.notEqual(second.facts.serialNumber, first.facts.serialNumber);
    assert.equal((await renewals()).length, 1, 'one renewal');
  });
});
