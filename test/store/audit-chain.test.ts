/**
 * Contract: the audit log is a hash chain per tenant (domain/audit-chain.ts, migration 0016,
 * repositories/audit.ts), and `core.audit.verify` names the first event that was altered, removed
 * or reordered, or a head that no longer matches. Tampering is done behind the store's back, in
 * SQL, on every store (test/helpers/db.ts); concurrent appenders are two store handles on one
 * database, as two processes would be.
 */
import { describe, it, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../src/core/ports.ts';
import type { NewAuditEvent } from '../../src/core/ports.ts';
import { createAuditService } from '../../src/core/audit.ts';
import { connect } from '../../src/store/connect.ts';
import { auditChainSchema } from '../../src/store/migrations/0016-audit-chain.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { isAppErrorWithCode } from '../../src/domain/errors.ts';
import { makeTenant, newCertificate, rawExec, rawQuery, storeTargets, type TestLocation } from '../helpers/db.ts';

const at = new Date('2026-11-02T03:04:05.678Z');

function event(tenantId: number | null, target: string, detail: NewAuditEvent['detail'] = {}): NewAuditEvent {
  return {
    tenantId,
    actor: 'ak-test',
    action: 'certificate.key.read',
    target,
    result: 'success',
    remoteAddress: '192.0.2.7',
    detail,
    at,
  };
}

for (const target of storeTargets) {
  describe(`${target.name}: audit hash chain`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    let tenantA: number;
    let tenantB: number;
    const verify = (tenantId?: number) =>
      createAuditService(store, systemClock).verify(tenantId === undefined ? {} : { tenantId });
    const idsOf = async (tenantId: number) =>
      (await rawQuery(location, `select id from audit_events where tenant_id = ${tenantId} order by id`)).map((r) =>
        Number(r.id),
      );

    beforeEach(async () => {
      await store?.close();
      await location?.cleanup();
      location = await target.fresh();
      store = await openStore(location.options());
      tenantA = (await makeTenant(store)).id;
      tenantB = (await makeTenant(store)).id;
      // Interleaved across chains and groups: some in one turn (one group), some awaited one by one.
      await Promise.all([0, 1, 2].map((i) => store.audit.append(event(tenantA, `a:${i}`, { i }))));
      await store.audit.append(event(tenantB, 'b:0', { name: `x'"; drop table audit_events; --` }));
      await store.audit.append(event(null, 'system:0'));
      for (const i of [3, 4, 5]) await store.audit.append(event(tenantA, `a:${i}`, { i }));
      await store.audit.append(event(tenantB, 'b:1', { nul: 'a\u0000b' }));
    });
    after(async () => {
      await store?.close();
      await location?.cleanup();
    });

    it('an untouched log verifies, chain by chain', async () => {
      const reports = await verify();
      const byTenant = new Map(reports.map((r) => [r.tenantId, r]));
      assert.equal(byTenant.get(tenantA)?.events, 6);
      assert.equal(byTenant.get(tenantB)?.events, 2);
      assert.equal(byTenant.get(null)?.events, 1);
      for (const report of reports) assert.equal(report.firstBreak, null, JSON.stringify(report));
      // The head reported is the last event's stored hash.
      const [last] = await rawQuery(
        location,
        `select hash from audit_events where tenant_id = ${tenantA} order by id desc limit 1`,
      );
      assert.equal(byTenant.get(tenantA)?.head, last?.hash);
      // One tenant's check reads only that chain.
      assert.deepEqual(
        (await verify(tenantB)).map((r) => r.tenantId),
        [tenantB],
      );
    });

    it('an edited field is the event that was altered; other chains still verify', async () => {
      const ids = await idsOf(tenantA);
      await rawExec(location, `update audit_events set result = 'failure' where id = ${ids[3]}`);
      const reports = await verify();
      assert.deepEqual(reports.find((r) => r.tenantId === tenantA)?.firstBreak, { kind: 'altered', eventId: ids[3] });
      assert.equal(reports.find((r) => r.tenantId === tenantB)?.firstBreak, null);
      assert.equal(reports.find((r) => r.tenantId === null)?.firstBreak, null);
    });

    it('an edited detail, even re-hashed by hand without the chain, is found', async () => {
      const ids = await idsOf(tenantA);
      await rawExec(location, `update audit_events set detail = '{"i":99}' where id = ${ids[1]}`);
      assert.deepEqual((await verify(tenantA))[0]?.firstBreak, { kind: 'altered', eventId: ids[1] });
    });

    it('a removed event breaks the link of the one after it', async () => {
      const ids = await idsOf(tenantA);
      await rawExec(location, `delete from audit_events where id = ${ids[2]}`);
      assert.deepEqual((await verify(tenantA))[0]?.firstBreak, {
        kind: 'broken_link',
        eventId: ids[3],
        afterEventId: ids[1],
      });
    });

    it('a removed first event breaks the chain at its start', async () => {
      const ids = await idsOf(tenantA);
      await rawExec(location, `delete from audit_events where id = ${ids[0]}`);
      assert.deepEqual((await verify(tenantA))[0]?.firstBreak, {
        kind: 'broken_link',
        eventId: ids[1],
        afterEventId: null,
      });
    });

    it('two events swapped (every column but the id) are found', async () => {
      const ids = await idsOf(tenantA);
      const [x, y] = [ids[1]!, ids[4]!];
      const columns = ['actor', 'action', 'target', 'result', 'remote_address', 'detail', 'at', 'prev_hash', 'hash'];
      // y's contents into x, and x's into y: the same events, in another order.
      const [rowX] = await rawQuery(location, `select ${columns.join(', ')} from audit_events where id = ${x}`);
      const [rowY] = await rawQuery(location, `select ${columns.join(', ')} from audit_events where id = ${y}`);
      const assign = (row: Record<string, unknown>) =>
        columns
          .map(
            (c) =>
              `${c} = ${typeof row[c] === 'string' ? `'${String(row[c]).replaceAll("'", "''")}'` : String(row[c])}`,
          )
          .join(', ');
      await rawExec(location, `update audit_events set ${assign(rowY!)} where id = ${x}`);
      await rawExec(location, `update audit_events set ${assign(rowX!)} where id = ${y}`);
      const found = (await verify(tenantA))[0]?.firstBreak;
      assert.deepEqual(found, { kind: 'broken_link', eventId: x, afterEventId: ids[0] });
    });

    it('events cut off the end leave a head that no event has', async () => {
      const ids = await idsOf(tenantA);
      await rawExec(location, `delete from audit_events where id = ${ids[5]}`);
      assert.deepEqual((await verify(tenantA))[0]?.firstBreak, { kind: 'truncated', lastEventId: ids[4] });
    });

    it('a removed head is reported', async () => {
      await rawExec(location, `delete from audit_chain_heads where chain_key = '${tenantB}'`);
      const ids = await idsOf(tenantB);
      assert.deepEqual((await verify(tenantB))[0]?.firstBreak, { kind: 'head_missing', lastEventId: ids[1] });
    });

    it('appends keep chaining after another writer moved the head (two handles, concurrent)', async () => {
      const other = await openStore(location.options());
      try {
        const writes: Promise<void>[] = [];
        for (let i = 0; i < 40; i++) {
          writes.push(store.audit.append(event(tenantA, `c:${i}`)));
          writes.push(other.audit.append(event(tenantA, `d:${i}`)));
          if (i % 7 === 0) await Promise.all(writes.splice(0));
        }
        await Promise.all(writes);
      } finally {
        await other.close();
      }
      const report = (await verify(tenantA))[0];
      assert.equal(report?.firstBreak, null);
      assert.equal(report?.events, 6 + 80);
    });

    it("an insert's event commits with its certificate, chained among appends (concurrent)", async () => {
      // Two handles on PostgreSQL, as two processes. On SQLite one: a second handle in the same
      // process waits for the lock synchronously (busy_timeout), blocking the event loop that the
      // first one's transaction needs to finish (two processes are the appends test above).
      const other = target.name === 'postgres' ? await openStore(location.options()) : store;
      const inserted: number[] = [];
      try {
        const writes: Promise<unknown>[] = [];
        for (let i = 0; i < 30; i++) {
          const handle = i % 2 === 0 ? store : other;
          writes.push(handle.audit.append(event(tenantA, `c:${i}`)));
          writes.push(
            handle.certificates
              .insert(newCertificate(tenantA), at, event(tenantA, `i:${i}`))
              .then((c) => inserted.push(c.certificateNo)),
          );
          writes.push((i % 3 === 0 ? other : store).audit.append(event(tenantA, `d:${i}`)));
          if (i % 7 === 0) await Promise.all(writes.splice(0));
        }
        await Promise.all(writes);
      } finally {
        if (other !== store) await other.close();
      }
      assert.equal(inserted.length, 30);
      const report = (await verify(tenantA))[0];
      assert.equal(report?.firstBreak, null, JSON.stringify(report));
      assert.equal(report?.events, 6 + 90);
      const written = await rawQuery(location, `select target from audit_events where target like 'i:%'`);
      assert.equal(written.length, 30);
    });

    it('an insert that rolls back leaves no event, and the chain goes on from the head before it', async () => {
      const name = 'taken-name';
      await store.certificates.insert(newCertificate(tenantA, { name }), at, event(tenantA, 'first'));
      // Refused by the live name index: the insert and its event roll back together.
      await assert.rejects(
        store.certificates.insert(newCertificate(tenantA, { name }), at, event(tenantA, 'refused')),
        (error: unknown) => isAppErrorWithCode(error, 'already_exists'),
      );
      // A fault after every row (and the event) is written, before commit.
      await store.close();
      store = await openStore({
        ...location.options(),
        hooks: {
          beforeCommit: () => {
            throw new Error('injected');
          },
        },
      });
      await assert.rejects(
        store.certificates.insert(newCertificate(tenantA), at, event(tenantA, 'faulted')),
        /injected/,
      );
      await store.audit.append(event(tenantA, 'after'));
      const targets = (
        await rawQuery(location, `select target from audit_events where tenant_id = ${tenantA} order by id`)
      ).map((row) => row.target);
      assert.deepEqual(targets.slice(-2), ['first', 'after']);
      const report = (await verify(tenantA))[0];
      assert.equal(report?.firstBreak, null, JSON.stringify(report));
      assert.equal(report?.events, 6 + 2);
    });

    it('the migration chains events written before it, and appends continue that chain', async () => {
      // Back to the shape before 0016, rows kept; then apply 0016 again.
      await store.close();
      await rawExec(location, `drop table audit_chain_heads`);
      await rawExec(location, `alter table audit_events drop column prev_hash`);
      await rawExec(location, `alter table audit_events drop column hash`);
      const connection = await connect(location.options());
      try {
        await auditChainSchema(connection.dialect).up(connection.db);
      } finally {
        await connection.db.destroy();
      }
      store = await openStore(location.options());
      await store.audit.append(event(tenantA, 'after-migration'));
      const reports = await verify();
      for (const report of reports) assert.equal(report.firstBreak, null, JSON.stringify(report));
      assert.equal(reports.find((r) => r.tenantId === tenantA)?.events, 7);
    });
  });
}
