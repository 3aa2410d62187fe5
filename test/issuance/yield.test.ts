/**
 * The issuance worker under a foreground that is always busy (core/background-pace.ts) and with
 * its CA requests capped (AcmeIssuer maxRequestsPerSecond), against a real Pebble and BIND9: the
 * worker waits between steps, yet the order still ends `done` (no starvation), and its leases are
 * never held while it waits (it waits before it claims).
 *
 * Skipped with a message when pebble or named is missing, except under CI=true (then they fail).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliActor } from '../../src/core/actor.ts';
import { createForegroundYield } from '../../src/core/background-pace.ts';
import { BIND_SKIP, USER_ZONE, startBind, type BindServer } from '../helpers/bind.ts';
import { PEBBLE_SKIP, startPebble, type Pebble } from '../helpers/pebble.ts';
import { drive, rig, type Rig } from './in-process.ts';
import { addUserCname } from './user-dns.ts';

describe('issuance worker yielding to the API', { skip: PEBBLE_SKIP || BIND_SKIP }, () => {
  let bind: BindServer;
  let pebble: Pebble;
  let r: Rig;
  let caRequests = 0;
  before(async () => {
    bind = await startBind();
    pebble = await startPebble({ dnsServer: `${bind.host}:${bind.port}` });
    r = await rig(bind, pebble, {
      maxRequestsPerSecond: 5,
      onEvent: (event) => {
        if (event.type === 'request') caRequests += 1;
      },
    });
  });
  after(async () => {
    r?.issuer.close();
    await r?.store.close();
    await r?.location.cleanup();
    await pebble?.stop();
    await bind?.stop();
  });

  it('with API requests always in flight and 5 CA requests a second, an order still completes', async () => {
    const actor = cliActor(r.tenantId);
    const domain = `busy.${USER_ZONE}`;
    const order = await r.service.request(actor, { name: 'busy', domains: [domain] });
    const [record] = await r.service.verification(actor, order);
    await addUserCname(bind, record!.recordName, record!.recordValue);
    // Never quiet: every step but the first waits for the gap (longer than drive()'s pause between passes).
    const foreground = createForegroundYield({ inFlight: () => 1, busyStepGapMs: 700, checkEveryMs: 10 });
    const worker = r.worker({ foreground });
    const done = await drive(r, worker, order.orderId, 120_000);
    assert.equal(done.step, 'done', `${done.lastError ?? ''} ${JSON.stringify(done.problem)}`);
    const stats = foreground.stats();
    assert.ok(stats.deferredSteps >= 8, `the steps waited for the busy foreground: ${JSON.stringify(stats)}`);
    assert.ok(caRequests >= 6, `the CA was asked through the capped client (${caRequests} requests)`);
    const stored = await r.core.certificates.get(actor, done.certificateNo!);
    assert.deepEqual([...stored.facts.domains], [domain]);
  });
});
