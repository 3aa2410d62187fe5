/**
 * Deployment events from the edge worker (core/deploy/worker.ts): a slot whose target fails
 * emits `deployment.failed` once for the generation (not on every retry), and
 * `deployment.recovered` when it is finally deployed; a slot deployed at once emits nothing.
 * Each names the edge slot, the target by kind and what identifies it (a directory's path, a
 * webhook's host, never its path, query or secret), the slot's certificate (which a rule's
 * certificate pattern matches) and, when failed, the part that failed. The
 * emitted events go through the real notification service to a receiver, as the webhook JSON and
 * as the Slack text (the text e-mails carry too: render.ts).
 */
import { createServer } from 'node:net';
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

  /**
   * A core whose notification service sends through a real sender (private addresses allowed: the
   * receivers are on loopback), the edge worker emitting into it, and the notification worker that
   * delivers what it queued. Each test adds its own channels and rules through `core`.
   */
  const notifyingWorkers = () => {
    const sender = createNotificationSender({ clock: world.clock, allowPrivateAddresses: true });
    const core = createCore(world.store, world.clock, {
      ...DEFAULT_NOTIFICATION_SETTINGS,
      allowPrivateAddresses: true,
      sender,
    });
    const edge = world.worker({ notify: core.notifications.emit });
    const notifier = createNotificationWorker({
      store: world.store,
      clock: world.clock,
      sender,
      publicBaseUrl: 'https://x.example',
    });
    return { core, edge, notifier };
  };

  it('emits deployment.failed once per generation and deployment.recovered on success', async () => {
    const { core, edge, notifier } = notifyingWorkers();
    await core.notifications.addChannel(world.admin, { kind: 'webhook', name: 'ops', url: hook.url });
    await core.notifications.addChannel(world.admin, { kind: 'slack', name: 'chat', url: hook.url });
    await core.notifications.addRule(world.admin, {
      name: 'deploys',
      events: ['deployment.failed', 'deployment.recovered'],
      channels: ['ops', 'chat'],
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

    const webhooks = hook.received.filter((r) => r.json.type !== undefined);
    const events = webhooks.map((r) => ({
      type: r.json.type,
      deployment: r.json.deployment,
      failures: r.json.failures,
      summary: r.json.summary,
    }));
    const directory = { kind: 'directory', path: world.dir };
    assert.deepEqual(events, [
      {
        type: 'deployment.failed',
        deployment: {
          kind: 'edge-slot',
          slotId: failing,
          generation: 1,
          operation: 'publish',
          target: directory,
          failedAt: 'deploy-target',
        },
        failures: 1,
        summary: `Edge slot ${failing} could not be published to the directory target ${world.dir}; certkeeper keeps retrying.`,
      },
      {
        type: 'deployment.recovered',
        deployment: { kind: 'edge-slot', slotId: failing, generation: 1, operation: 'publish', target: directory },
        failures: 2,
        summary: `Edge slot ${failing} was published to the directory target ${world.dir} after 2 failed attempt(s).`,
      },
    ]);
    assert.match(String(webhooks[0]!.json.error), /nginx: configuration test failed/);
    assert.ok(!events.some((e) => (e.deployment as { slotId: number }).slotId === healthy));
    const texts = hook.received.filter((r) => r.json.text !== undefined).map((r) => String(r.json.text));
    assert.equal(texts.length, 2);
    assert.ok(texts[0]!.includes(`Deployment: edge slot ${failing} (generation 1), publish\n`), texts[0]);
    assert.ok(texts[0]!.includes(`Target: directory ${world.dir}\n`), texts[0]);
    assert.ok(texts[0]!.includes('Failed at: the deploy target\n'), texts[0]);
    assert.ok(!texts[1]!.includes('Failed at'), texts[1]);
  });

  it('names a webhook target by its host only, and a failure before the target as the slot', async () => {
    hook.received.length = 0;
    const { edge, notifier } = notifyingWorkers();
    // A loopback port nobody listens on: the deploy webhook is refused at once.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    await world.core.targets.set(world.admin, {
      kind: 'webhook',
      url: `http://127.0.0.1:${port}/hooks/t0ken?sig=s3cret`,
    });
    const toWebhook = await world.provision(world.certificates.rsaSelf);
    await edge.runOnce();
    // A new slot, the target then gone (core refuses that while slots exist; by hand in the
    // database it can happen): it fails before any target is called.
    const bare = await world.provision(world.certificates.ec);
    await world.store.targets.clear(world.admin.tenantId);
    await edge.runOnce();
    await notifier.runOnce();

    const failed = hook.received
      .filter((r) => r.json.type !== undefined)
      .map((r) => ({ deployment: r.json.deployment as { slotId: number }, summary: r.json.summary }))
      // (The earlier test's slots were republished to the new target: not this test's subject.)
      .filter((e) => [toWebhook, bare].includes(e.deployment.slotId))
      .sort((a, b) => a.deployment.slotId - b.deployment.slotId);
    assert.deepEqual(failed, [
      {
        deployment: {
          kind: 'edge-slot',
          slotId: toWebhook,
          generation: 1,
          operation: 'publish',
          target: { kind: 'webhook', host: `127.0.0.1:${port}` },
          failedAt: 'deploy-target',
        },
        summary: `Edge slot ${toWebhook} could not be published to the webhook target 127.0.0.1:${port}; certkeeper keeps retrying.`,
      },
      {
        deployment: {
          kind: 'edge-slot',
          slotId: bare,
          generation: 1,
          operation: 'publish',
          target: null,
          failedAt: 'edge-slot',
        },
        summary: `Edge slot ${bare} could not be published: no deployment target is configured; certkeeper keeps retrying.`,
      },
    ]);
    for (const r of hook.received) {
      assert.ok(!r.body.includes('t0ken') && !r.body.includes('s3cret'), r.body);
    }
    const text = hook.received.map((r) => String(r.json.text ?? '')).find((t) => t.includes('Target: webhook'));
    assert.ok(text?.includes(`Target: webhook 127.0.0.1:${port}\n`), text);
  });

  it('names the slot’s certificate, so a rule’s certificate pattern picks its events', async () => {
    hook.received.length = 0;
    const picky = await receiver();
    try {
      const { core, edge, notifier } = notifyingWorkers();
      await core.notifications.addChannel(world.admin, { kind: 'webhook', name: 'picky', url: picky.url });
      await core.notifications.addRule(world.admin, {
        name: 'korean-only',
        events: ['deployment.failed'],
        certificatePattern: 'korean',
        channels: ['picky'],
      });
      // A target again (the previous test cleared it), whose reload command fails: both slots fail.
      await world.core.targets.set(world.admin, {
        kind: 'directory',
        path: world.dir,
        reloadCommand: 'reload-it --now',
      });
      world.reload.failWith = 'nginx: configuration test failed';
      const korean = await world.provision(world.certificates.korean);
      const ec = await world.provision(world.certificates.ec);
      // The earlier tests' slots are republished to the new target too (and fail): a few passes.
      for (let pass = 0; pass < 4; pass++) await edge.runOnce();
      for (let pass = 0; pass < 4; pass++) await notifier.runOnce();

      type Named = { deployment: { slotId: number }; certificate: { certificateNo: number; name: string } | null };
      const named = (r: { json: Record<string, unknown> }) => r.json as unknown as Named;
      const all = hook.received.filter((r) => r.json.type === 'deployment.failed').map(named);
      const ofEc = all.find((e) => e.deployment.slotId === ec);
      assert.equal(
        ofEc?.certificate?.certificateNo,
        world.certificates.ec,
        'the catch-all rule names the ec slot’s certificate',
      );
      assert.equal(ofEc?.certificate?.name, 'ec');
      const picked = picky.received.filter((r) => r.json.type === 'deployment.failed').map(named);
      assert.ok(
        picked.some((e) => e.deployment.slotId === korean),
        'the korean slot’s failure reached the picky rule',
      );
      for (const e of picked) assert.equal(e.certificate?.name, 'korean', 'only events about the korean certificate');
      const first = picky.received.find((r) => named(r).deployment.slotId === korean)!;
      assert.ok(
        String(first.json.link).endsWith(`/console/#/certificates/${world.certificates.korean}`),
        String(first.json.link),
      );
    } finally {
      world.reload.failWith = null;
      await picky.close();
    }
  });
});
