/**
 * A burst of single inserts killed with SIGKILL in the middle leaves each certificate whole or
 * absent: a real child process (fixtures/group-insert-child.ts) inserts 6 certificates at once and
 * stops inside the fourth one's write, after its certificate row is written. The six share one
 * group transaction (store/write-group.ts; on PostgreSQL, being of one tenant), so none of them is
 * there after the kill. The counters equal the rows, every stored certificate has its domain and
 * search rows and its one audit event, and the chain verifies; a burst let finish stores all six.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createAuditService } from '../../src/core/audit.ts';
import { systemClock } from '../../src/core/ports.ts';
import { openStore } from '../../src/store/open.ts';
import { makeTenant, newCertificate, rawQuery, storeTargets, testMasterKey, type TestLocation } from '../helpers/db.ts';
import { runStoreChild } from '../helpers/store-child.ts';

const CHILD = join(import.meta.dirname, 'fixtures', 'group-insert-child.ts');

for (const target of storeTargets) {
  describe(`kill -9 in the middle of concurrent inserts on ${target.name}`, { skip: target.skip }, () => {
    let location: TestLocation;
    const masterKey = testMasterKey();
    before(async () => {
      location = await target.fresh();
    });
    after(async () => {
      await location?.cleanup();
    });

    function burstInChild(tenantId: number, count: number, hang: boolean) {
      const certificates = Array.from({ length: count }, () => newCertificate(tenantId));
      const args = [String(tenantId), String(count), hang ? 'hang' : 'finish'];
      return runStoreChild(CHILD, args, { location, masterKey }, certificates, hang);
    }

    /** Every stored certificate of the tenant whole, the counters and the chain exact; the names stored. */
    async function checkWhole(tenantId: number): Promise<string[]> {
      const store = await openStore(location.options({ masterKey }));
      try {
        const live = await rawQuery(
          location,
          `select certificate_no, name from certificates where tenant_id = ${tenantId} and deleted_at is null order by name`,
        );
        for (const table of ['certificate_domains', 'certificate_names', 'certificate_name_grams']) {
          const owners = await rawQuery(
            location,
            `select distinct certificate_no from ${table} where tenant_id = ${tenantId} order by certificate_no`,
          );
          assert.deepEqual(
            owners.map((r) => Number(r.certificate_no)),
            live.map((r) => Number(r.certificate_no)).sort((a, b) => a - b),
            table,
          );
        }
        const events = await rawQuery(location, `select target from audit_events where tenant_id = ${tenantId}`);
        assert.deepEqual(
          events.map((r) => String(r.target)).sort(),
          live.map((r) => `certificate-name:${String(r.name)}`).sort(),
        );
        const [report] = await createAuditService(store, systemClock).verify({ tenantId });
        assert.equal(report?.firstBreak ?? null, null, JSON.stringify(report));
        const page = await store.certificates.list({ tenantId, asOf: new Date(), offset: 0, limit: 100 });
        assert.equal(page.total, live.length, 'the counters equal the rows');
        return live.map((r) => String(r.name));
      } finally {
        await store.close();
      }
    }

    it('leaves the whole group absent; a finished burst stores all', async () => {
      let store = await openStore(location.options({ masterKey }));
      const tenant = await makeTenant(store);
      const other = await makeTenant(store);
      await store.close();

      const killed = await burstInChild(tenant.id, 6, true);
      assert.equal(killed.signal, 'SIGKILL');
      assert.match(killed.stdout, /ready/);
      const stored = await checkWhole(tenant.id);
      assert.deepEqual(stored, []);

      const finished = await burstInChild(other.id, 6, false);
      assert.equal(finished.signal, null);
      assert.match(finished.stdout, /done/);
      assert.deepEqual(await checkWhole(other.id), ['burst-0', 'burst-1', 'burst-2', 'burst-3', 'burst-4', 'burst-5']);
      store = await openStore(location.options({ masterKey }));
      await store.close();
    });
  });
}
