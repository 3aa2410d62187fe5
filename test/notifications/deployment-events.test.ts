/**
 * Deployment events from the edge worker (core/deploy/worker.ts): a slot whose target fails
 * emits `deployment.failed` once for the generation (not on every retry), and
 * `deployment.recovered` when it is finally deployed; a slot deployed at once emits nothing.
 * The emitted events go through the real notification service to a webhook receiver.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createNotificationWorker } from '../../src/core/notifications/worker.ts';
import { createNotificationSender } from '../../src/notifiers/index.ts';
import { createCore } from '../../src/core/core.ts';
import { DEFAULT_NOTIFICATION_SETTINGS } from '../../src/core/notifications/service.ts';
import { storeTargets } from '../helpers/db.ts';
import { provisioningWorld, type ProvisioningWorld } from '../core/provisioning-setup.ts';
import { receiver, type Receiver } from './setup.ts';

const target = storeTargets[0]!;

describe('deployment events from the edge worker', { skip: target.skip }, () => {
  let world: ProvisioningWorld;
  let hook: Receiver;

  before(async () => {
    world = await provisioningWorld(target);
    hook = await receiver();
  });
  after(async () => {
    await hook.close();
    await world.close();
  });

  it('emits deployment.failed once per generation and deployment.recovered on success', async () => {
    const sender = createNotificationSender({ clock: world.clock, allowPrivateAddresses: true });
    const core = createCore(world.store, world.clock, {
      ...DEFAULT_NOTIFICATION_SETTINGS,
      allowPrivateAddresses: true,
      sender,
    });
    await core.notifications.addChannel(world.admin, { kind: 'webhook', name: 'ops', url: hook.url });
    await core.notifications.addRule(world.admin, {
      name: 'deploys',
      events: ['deployment.failed', 'deployment.recovered'],
      channels: ['ops'],
    });
    const edge = world.worker({ notify: core.notifications.emit });
    const notifier = createNotificationWorker({
      store: world.store,
      clock: world.clock,
      sender,
      publicBaseUrl: 'https://x.example',
    });

    const healthy = await world.provision(world.certificates.ec);
    await edge.runOnce();
    world.reload.failWith = 'nginx: configuration test failed';
    const failing = await world.provision(world.certificates.korean);
    await edge.runOnce();
    world.clock.advance(60_000);
    await edge.runOnce(); // second failure: no second event
    world.reload.failWith = null;
    world.clock.advance(600_000);
    await edge.runOnce();
    await notifier.runOnce();

    const events = hook.received.map((r) => ({
      type: r.json.type,
      slotId: (r.json.deployment as { slotId: number }).slotId,
      failures: r.json.failures,
    }));
    assert.deepEqual(events, [
      { type: 'deployment.failed', slotId: failing, failures: 1 },
      { type: 'deployment.recovered', slotId: failing, failures: 2 },
    ]);
    assert.match(String(hook.received[0]!.json.error), /nginx: configuration test failed/);
    assert.ok(!events.some((e) => e.slotId === healthy));
  });
});
