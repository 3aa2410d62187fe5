/** The test harness itself: a real server on a real store answers /healthz and /readyz. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp } from '../helpers/app.ts';
import { storeTargets } from '../helpers/db.ts';

for (const target of storeTargets) {
  describe(`test app on ${target.name}`, { skip: target.skip }, () => {
    it('serves health and readiness over HTTP', async () => {
      const app = await startTestApp({ store: target.name });
      try {
        const health = await fetch(`${app.baseUrl}/healthz`);
        assert.equal(health.status, 200);
        const ready = await fetch(`${app.baseUrl}/readyz`);
        assert.equal(ready.status, 200);
        assert.equal(app.main.tenant.name, 'default');
        assert.equal(app.main.admin.role, 'ADMIN');
      } finally {
        await app.close();
      }
    });
  });
}
