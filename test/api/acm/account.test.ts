/**
 * GetAccountConfiguration / PutAccountConfiguration through @aws-sdk/client-acm: DaysBeforeExpiry
 * is the tenant's first expiry-notification threshold (core/notifications), one setting shared
 * with `certkeeper notify thresholds` and the console, written once per Put.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetAccountConfigurationCommand, PutAccountConfigurationCommand } from '@aws-sdk/client-acm';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { storeTargets } from '../../helpers/db.ts';
import { sdkClient } from './clients.ts';

for (const target of storeTargets) {
  describe(
    `ACM account configuration is the first notification threshold (${target.name})`,
    { skip: target.skip },
    () => {
      let app: TestApp;
      before(async () => {
        app = await startTestApp({ store: target.name as 'sqlite' | 'postgres' });
      });
      after(async () => app?.close());

      const thresholds = async () => (await app.app.core.notifications.thresholds(app.main.actor)).days;
      const writes = async () =>
        (await app.app.core.audit.list(app.main.actor, { action: 'notify.thresholds.set', limit: 100 })).length;

      it('reads and sets DaysBeforeExpiry through the thresholds', async () => {
        const acm = sdkClient(app.baseUrl, app.main.admin);
        const get = async () => (await acm.send(new GetAccountConfigurationCommand({}))).ExpiryEvents?.DaysBeforeExpiry;
        // The default thresholds are 30,14,7,3,1: the first is 30.
        assert.equal(await get(), 30);

        await acm.send(
          new PutAccountConfigurationCommand({ IdempotencyToken: 'a1', ExpiryEvents: { DaysBeforeExpiry: 10 } }),
        );
        assert.deepEqual(await thresholds(), [10, 7, 3, 1]);
        assert.equal(await get(), 10);
        assert.equal(await writes(), 1, 'one Put is one thresholds write');

        await acm.send(
          new PutAccountConfigurationCommand({ IdempotencyToken: 'a2', ExpiryEvents: { DaysBeforeExpiry: 45 } }),
        );
        assert.deepEqual(await thresholds(), [45, 7, 3, 1]);
        assert.equal(await get(), 45);

        // Thresholds set by the notifications use-case are what ACM reads.
        await app.app.core.notifications.setThresholds(app.main.actor, [20, 5]);
        assert.equal(await get(), 20);

        // Without ExpiryEvents nothing changes; out of ACM's 1-45 nothing is written.
        const before = await writes();
        await acm.send(new PutAccountConfigurationCommand({ IdempotencyToken: 'a3' }));
        for (const days of [0, 46, -1]) {
          await assert.rejects(
            acm.send(
              new PutAccountConfigurationCommand({ IdempotencyToken: 'a4', ExpiryEvents: { DaysBeforeExpiry: days } }),
            ),
            { name: 'ValidationException' },
          );
        }
        assert.deepEqual(await thresholds(), [20, 5]);
        assert.equal(await writes(), before);

        // A VIEWER reads it but may not set it.
        const viewer = sdkClient(app.baseUrl, app.main.viewer);
        assert.equal((await viewer.send(new GetAccountConfigurationCommand({}))).ExpiryEvents?.DaysBeforeExpiry, 20);
        await assert.rejects(
          viewer.send(
            new PutAccountConfigurationCommand({ IdempotencyToken: 'v1', ExpiryEvents: { DaysBeforeExpiry: 9 } }),
          ),
          { name: 'AccessDeniedException' },
        );
        assert.deepEqual(await thresholds(), [20, 5]);
      });
    },
  );
}
