/**
 * Contract: audit appends are group-committed (src/store/repositories/audit.ts) and still
 * resolve only once written, in call order, each with its own outcome; close() writes what was
 * appended before it. On every store (test/helpers/db.ts).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { NewAuditEvent } from '../../src/core/ports.ts';
import { AUDIT_INSERT_SIZES } from '../../src/store/repositories/audit.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { countRows, makeTenant, rawQuery, storeTargets, type TestLocation } from '../helpers/db.ts';
import { statementsDuring } from '../helpers/pg-statements.ts';

const at = new Date('2026-11-02T03:04:05.678Z');

function event(tenantId: number, target: string, overrides: Partial<NewAuditEvent> = {}): NewAuditEvent {
  return {
    tenantId,
    actor: 'ak-test',
    action: 'certificate.key.read',
    target,
    result: 'success',
    remoteAddress: '192.0.2.7',
    detail: { n: 1, name: `x'"; drop table audit_events; --` },
    at,
    ...overrides,
  };
}

for (const target of storeTargets) {
  describe(`${target.name}: audit group commit`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    let tenantId: number;
    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options());
      tenantId = (await makeTenant(store)).id;
    });
    after(async () => {
      await store?.close();
      await location?.cleanup();
    });

    it('writes a turn of appends together, in call order, each as given', async () => {
      // 64 + 16 + 4 + 1 + 1 + 1: every insert size, and a remainder.
      const n = AUDIT_INSERT_SIZES.reduce((sum, size) => sum + size, 0) + 2;
      const targets = Array.from({ length: n }, (_, i) => `group-a:${i}`);
      const appended = targets.map((t) =>
        store.audit.append(event(tenantId, t, { detail: { i: Number(t.split(':')[1]) } })),
      );
      // The first to resolve finds the whole group written: one commit, not one per event.
      await appended[0];
      const rows = await rawQuery(
        location,
        `select id, target, detail, actor, remote_address, at, tenant_id from audit_events where target like 'group-a:%' order by id`,
      );
      assert.equal(rows.length, n);
      assert.deepEqual(
        rows.map((r) => r.target),
        targets,
      );
      const first = rows[0]!;
      assert.equal(first.actor, 'ak-test');
      assert.equal(first.remote_address, '192.0.2.7');
      assert.equal(Number(first.at), at.getTime());
      assert.equal(Number(first.tenant_id), tenantId);
      assert.deepEqual(JSON.parse(String(rows[7]!.detail)), { i: 7 });
      await Promise.all(appended);
      const listed = await store.audit.list({ tenantId, limit: 3 });
      assert.deepEqual(
        listed.map((e) => e.target),
        [`group-a:${n - 1}`, `group-a:${n - 2}`, `group-a:${n - 3}`],
      );
    });

    it('gives each event of a failed group its own outcome', async () => {
      const before = await countRows(location, 'audit_events');
      // actor is NOT NULL: this one event cannot be written; its neighbours can.
      const bad = { ...event(tenantId, 'group-b:bad'), actor: null as unknown as string };
      const outcomes = await Promise.allSettled([
        store.audit.append(event(tenantId, 'group-b:0')),
        store.audit.append(bad),
        store.audit.append(event(tenantId, 'group-b:2')),
        store.audit.append(event(tenantId, 'group-b:3')),
      ]);
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
      );
      const rows = await rawQuery(
        location,
        `select target from audit_events where target like 'group-b:%' order by id`,
      );
      assert.deepEqual(
        rows.map((r) => r.target),
        ['group-b:0', 'group-b:2', 'group-b:3'],
      );
      assert.equal(await countRows(location, 'audit_events'), before + 3);
    });

    it('keeps appends that arrive while a group is being written, and writes them next', async () => {
      const first = Array.from({ length: 10 }, (_, i) => store.audit.append(event(tenantId, `group-c:${i}`)));
      // Appended after the first group was taken (its write is in flight), before it resolves.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const second = Array.from({ length: 10 }, (_, i) => store.audit.append(event(tenantId, `group-c:${10 + i}`)));
      await Promise.all([...first, ...second]);
      const rows = await rawQuery(
        location,
        `select target from audit_events where target like 'group-c:%' order by id`,
      );
      assert.deepEqual(
        rows.map((r) => r.target),
        Array.from({ length: 20 }, (_, i) => `group-c:${i}`),
      );
    });

    it('writes on close what was appended before it, without the caller waiting', async () => {
      const other = await openStore(location.options());
      const pending = Array.from({ length: 5 }, (_, i) => other.audit.append(event(tenantId, `group-d:${i}`)));
      await other.close();
      await Promise.all(pending);
      assert.equal((await rawQuery(location, `select id from audit_events where target like 'group-d:%'`)).length, 5);
    });

    it(
      'postgres: a group of one chain is one statement, no begin or commit; of two chains, a transaction',
      {
        skip: target.name !== 'postgres',
      },
      async () => {
        const other = (await makeTenant(store)).id;
        await Promise.all([
          store.audit.append(event(tenantId, 'group-e:warm')),
          store.audit.append(event(other, 'group-e:warm')),
        ]);
        const one = await statementsDuring(() =>
          Promise.all(Array.from({ length: 3 }, (_, i) => store.audit.append(event(tenantId, `group-e:${i}`)))),
        );
        assert.deepEqual(
          one.sent.map((s) => s.text.trim().split(/\s+/, 1)[0]),
          ['with'],
          'the head moved and the three events inserted by one statement',
        );
        const two = await statementsDuring(() =>
          Promise.all([
            store.audit.append(event(tenantId, 'group-e:3')),
            store.audit.append(event(other, 'group-e:4')),
          ]),
        );
        assert.deepEqual(
          two.sent.map((s) => s.text.trim().split(/\s+/, 1)[0]),
          ['begin', 'update', 'update', 'insert', 'insert', 'commit'],
          'two chains: in call order, in one transaction',
        );
        const rows = await rawQuery(
          location,
          `select target from audit_events where target like 'group-e:%' and target <> 'group-e:warm' order by id`,
        );
        assert.deepEqual(
          rows.map((r) => r.target),
          ['group-e:0', 'group-e:1', 'group-e:2', 'group-e:3', 'group-e:4'],
        );
      },
    );
  });
}
