/**
 * Contract of the issuance repository (repositories/issuance.ts, core/issuance/ports.ts) on every
 * store target: the claim is exclusive across two stores on one database (two processes), a
 * worker whose lease was taken over writes nothing, a name is in one active order at a time and is
 * freed by a final step, a certificate name is in one active `issue` order of a tenant (0018, the
 * duplicates left by the race settled by the migration), "create once" rows keep the first
 * writer's value, and an `issue` order
 * reserves its certificate's number from the certificates' own sequence (migration 0009).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import type { NewIssuanceOrder } from '../../src/core/issuance/ports.ts';
import { connect } from '../../src/store/connect.ts';
import {
  ACTIVE_ISSUE_NAME_INDEX,
  activeOrderCertificateNamesSchema,
} from '../../src/store/migrations/0018-active-order-certificate-names.ts';
import {
  makeTenant,
  newCertificate,
  rawExec,
  rawQuery,
  storeTargets,
  testMasterKey,
  type TestLocation,
} from '../helpers/db.ts';

const order = (tenantId: number, names: string[]): NewIssuanceOrder => ({
  tenantId,
  kind: 'issue',
  certificateName: `cert-${names[0]}`,
  certificateNo: null,
  names,
  keyKind: 'ec-p256',
  method: 'dns-01',
  renewal: true,
  replaces: null,
});

for (const target of storeTargets) {
  describe(`issuance repository (${target.name})`, { skip: target.skip }, () => {
    const opened: Array<{ stores: StoreHandle[]; location: TestLocation }> = [];
    after(async () => {
      for (const { stores, location } of opened) {
        for (const store of stores) await store.close();
        await location.cleanup();
      }
    });
    async function two(): Promise<[StoreHandle, StoreHandle]> {
      const location = await target.fresh();
      const masterKey = testMasterKey();
      const a = await openStore(location.options({ masterKey }));
      const b = await openStore(location.options({ masterKey }));
      opened.push({ stores: [a, b], location });
      return [a, b];
    }

    it('one claim wins across two stores; the loser and a taken-over worker write nothing', async () => {
      const [a, b] = await two();
      const tenant = await makeTenant(a);
      const now = new Date();
      const created = await a.issuance.createOrder(order(tenant.id, ['a.example.test']), now);
      assert.equal(created.step, 'new');
      assert.deepEqual(await b.issuance.due(now, 10), [created.orderId]);
      const lease = new Date(now.getTime() + 30_000);
      const claims = await Promise.all([
        a.issuance.claim(created.orderId, 'w1', now, lease),
        b.issuance.claim(created.orderId, 'w2', now, lease),
        a.issuance.claim(created.orderId, 'w3', now, lease),
      ]);
      assert.equal(claims.filter((c) => c !== null).length, 1);
      const winner = ['w1', 'w2', 'w3'][claims.findIndex((c) => c !== null)]!;
      assert.deepEqual(await a.issuance.due(now, 10), [], 'a claimed order is not due while leased');
      // The lease expires: another worker takes over; the first one's write is refused.
      const later = new Date(lease.getTime() + 1);
      const taken = await b.issuance.claim(created.orderId, 'w9', later, new Date(later.getTime() + 30_000));
      assert.ok(taken);
      assert.equal(
        await a.issuance.advance(created.orderId, winner, { step: 'account', nextAttemptAt: null }, later),
        false,
      );
      assert.equal(
        await b.issuance.advance(
          created.orderId,
          'w9',
          { step: 'account', accountId: undefined, nextAttemptAt: null },
          later,
        ),
        true,
      );
      const read = await a.issuance.getOrder(tenant.id, created.orderId);
      assert.equal(read?.step, 'account');
      assert.equal(await a.issuance.getOrder(tenant.id + 1000, created.orderId), null, 'tenant-scoped');
    });

    it('a name is in one active order at a time, across tenants; a final step frees it', async () => {
      const [a, b] = await two();
      const t1 = await makeTenant(a);
      const t2 = await makeTenant(a);
      const now = new Date();
      const first = await a.issuance.createOrder(order(t1.id, ['x.example.test', '*.x.example.test']), now);
      await assert.rejects(b.issuance.createOrder(order(t2.id, ['y.example.test', '*.x.example.test']), now), {
        code: 'already_exists',
        field: 'dnsName',
      });
      assert.equal((await a.issuance.listOrders(t2.id, { offset: 0, limit: 10 })).length, 0, 'nothing written');
      // Racing creations of the same name: exactly one wins.
      const race = await Promise.allSettled([
        a.issuance.createOrder(order(t1.id, ['z.example.test']), now),
        b.issuance.createOrder(order(t2.id, ['z.example.test']), now),
      ]);
      assert.equal(race.filter((r) => r.status === 'fulfilled').length, 1);
      assert.deepEqual(
        (await a.issuance.activeNames(['x.example.test', 'nope.example.test'])).map((n) => n.orderId),
        [first.orderId],
      );
      const claimed = await a.issuance.claim(first.orderId, 'w', now, new Date(now.getTime() + 1000));
      assert.ok(claimed);
      assert.ok(
        await a.issuance.advance(
          first.orderId,
          'w',
          { step: 'failed', lastError: 'x'.repeat(5000), nextAttemptAt: null },
          now,
        ),
      );
      assert.deepEqual(await a.issuance.activeNames(['x.example.test']), []);
      assert.equal((await a.issuance.getOrder(t1.id, first.orderId))?.lastError?.length, 2000);
      assert.equal(await a.issuance.claim(first.orderId, 'w', now, new Date(now.getTime() + 1000)), null, 'final');
      await b.issuance.createOrder(order(t2.id, ['x.example.test']), now);
    });

    it('a certificate name is in one active issue order of a tenant (0018), whatever its DNS names; a final step frees it', async () => {
      const [a, b] = await two();
      const location = opened.at(-1)!.location;
      const t1 = await makeTenant(a);
      const t2 = await makeTenant(a);
      const now = new Date();
      const named = (tenantId: number, name: string, names: string[]): NewIssuanceOrder => ({
        ...order(tenantId, names),
        certificateName: name,
      });
      const first = await a.issuance.createOrder(named(t1.id, 'shop', ['a.shop.example.test']), now);
      const counts = async () => ({
        orders: Number((await rawQuery(location, 'select count(*) as n from issuance_orders'))[0]!.n),
        names: Number((await rawQuery(location, 'select count(*) as n from issuance_order_names'))[0]!.n),
      });
      const before = await counts();
      // The store refuses it by itself (core's check before the insert is not what holds).
      await assert.rejects(b.issuance.createOrder(named(t1.id, 'shop', ['b.shop.example.test']), now), {
        code: 'already_exists',
        field: 'certificateName',
        message: "A certificate named 'shop' already exists.",
      });
      assert.deepEqual(await counts(), before, 'nothing written, no DNS name claimed');
      // Another tenant may use the name; a renewal of a certificate of that name is no new certificate.
      await b.issuance.createOrder(named(t2.id, 'shop', ['c.shop.example.test']), now);
      await a.issuance.createOrder({ ...named(t1.id, 'shop', ['d.shop.example.test']), kind: 'renew' }, now);
      // Racing creations of one name with different DNS names: exactly one wins. On PostgreSQL
      // from two stores (two processes); two SQLite stores in one process cannot wait on each
      // other's write lock (better-sqlite3 blocks the event loop), so one store there.
      const [x, y] = target.name === 'postgres' ? [a, b] : [a, a];
      for (let round = 0; round < 4; round++) {
        const race = await Promise.allSettled([
          x.issuance.createOrder(named(t1.id, `race-${round}`, [`r${round}-a.example.test`]), now),
          y.issuance.createOrder(named(t1.id, `race-${round}`, [`r${round}-b.example.test`]), now),
        ]);
        assert.equal(race.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}`);
        const lost = race.find((r) => r.status === 'rejected')!;
        assert.equal((lost.reason as { field?: string }).field, 'certificateName', String(lost.reason));
      }
      // The first order ends: the name is free again.
      assert.ok(await a.issuance.claim(first.orderId, 'w', now, new Date(now.getTime() + 1000)));
      assert.ok(await a.issuance.advance(first.orderId, 'w', { step: 'validation_expired', nextAttemptAt: null }, now));
      await b.issuance.createOrder(named(t1.id, 'shop', ['b.shop.example.test']), now);
    });

    it('migration 0018 ends the younger of active issue orders sharing a name, then indexes', async () => {
      const [a] = await two();
      const location = opened.at(-1)!.location;
      const tenant = await makeTenant(a);
      const now = new Date();
      // The shape before 0018, with what the race left behind: two active orders named `dup`.
      await rawExec(location, `drop index ${ACTIVE_ISSUE_NAME_INDEX}`);
      const older = await a.issuance.createOrder(
        { ...order(tenant.id, ['d1.example.test']), certificateName: 'dup' },
        now,
      );
      const younger = await a.issuance.createOrder(
        { ...order(tenant.id, ['d2.example.test']), certificateName: 'dup', method: 'http-01' },
        now,
      );
      await a.issuance.claim(younger.orderId, 'w', now, new Date(now.getTime() + 60_000));
      const authorizations = [
        { url: 'u', domain: 'd2.example.test', wildcard: false, status: 'pending', token: 't0', keyAuthorization: 'k' },
      ];
      assert.ok(
        await a.issuance.advance(
          younger.orderId,
          'w',
          { step: 'publishing', authorizations, nextAttemptAt: null },
          now,
        ),
      );
      const other = await a.issuance.createOrder(
        { ...order(tenant.id, ['o.example.test']), certificateName: 'o' },
        now,
      );
      const connection = await connect(location.options());
      try {
        await activeOrderCertificateNamesSchema().up(connection.db);
      } finally {
        await connection.db.destroy();
      }
      const ended = await a.issuance.getOrder(tenant.id, younger.orderId);
      assert.equal(ended?.step, 'failed');
      assert.match(ended?.lastError ?? '', /migration 0018/);
      assert.equal((await a.issuance.getOrder(tenant.id, older.orderId))?.step, 'new');
      assert.equal((await a.issuance.getOrder(tenant.id, other.orderId))?.step, 'new');
      assert.deepEqual(await a.issuance.activeNames(['d2.example.test']), [], "the ended order's names are free");
      assert.equal(await a.issuance.http01Response('t0'), null);
      await assert.rejects(
        a.issuance.createOrder({ ...order(tenant.id, ['d3.example.test']), certificateName: 'dup' }, now),
        { field: 'certificateName' },
      );
    });

    it('an issue order reserves its certificate number; imports and other orders never get it', async () => {
      const [a, b] = await two();
      const location = opened.at(-1)!.location;
      const tenant = await makeTenant(a);
      const now = new Date();
      // On an empty store (no sequence row yet on SQLite), then interleaved with imports.
      const first = await a.issuance.createOrder(order(tenant.id, ['r1.example.test']), now);
      assert.ok(first.certificateNo !== null && first.certificateNo >= 1);
      const imported = await b.certificates.insert(newCertificate(tenant.id), now);
      assert.ok(imported.certificateNo > first.certificateNo, 'an import after the reservation gets a higher number');
      // Two stores (two processes) reserving, at once on PostgreSQL (two SQLite stores in one
      // process cannot wait on each other's write lock: better-sqlite3 blocks the event loop):
      // all distinct, none an existing certificate's.
      const reserve = (i: number) =>
        (i % 2 === 0 ? a : b).issuance.createOrder(order(tenant.id, [`r-many-${i}.example.test`]), now);
      const many = target.name === 'postgres' ? await Promise.all(Array.from({ length: 8 }, (_, i) => reserve(i))) : [];
      if (target.name !== 'postgres') for (let i = 0; i < 8; i++) many.push(await reserve(i));
      const numbers = [first.certificateNo, imported.certificateNo, ...many.map((o) => o.certificateNo!)];
      assert.equal(new Set(numbers).size, numbers.length);
      // A renewal keeps the number it was given; it reserves nothing.
      const renewal = await a.issuance.createOrder(
        { ...order(tenant.id, ['r-renew.example.test']), kind: 'renew', certificateNo: imported.certificateNo },
        now,
      );
      assert.equal(renewal.certificateNo, imported.certificateNo);
      // A certificate's earlier orders, newest first, below the order given (the renewal history).
      const again = await a.issuance.createOrder(
        { ...order(tenant.id, ['r-renew-2.example.test']), kind: 'renew', certificateNo: imported.certificateNo },
        now,
      );
      const history = async (before: number, limit: number) =>
        (await b.issuance.ordersBefore(tenant.id, imported.certificateNo, before, limit)).map((o) => o.orderId);
      assert.deepEqual(await history(again.orderId + 1, 10), [again.orderId, renewal.orderId]);
      assert.deepEqual(await history(again.orderId, 10), [renewal.orderId]);
      assert.deepEqual(await history(again.orderId + 1, 1), [again.orderId]);
      assert.deepEqual(
        await b.issuance.ordersBefore(tenant.id + 1000, imported.certificateNo, again.orderId + 1, 10),
        [],
      );
      // Pending: no certificate row, not listed, not counted.
      assert.equal(await a.certificates.get(tenant.id, first.certificateNo), null);
      const page = await a.certificates.list({ tenantId: tenant.id, asOf: now, offset: 0, limit: 100 });
      assert.deepEqual(
        page.items.map((c) => c.certificateNo),
        [imported.certificateNo],
      );
      assert.equal(page.total, 1);
      // The certificate lands with its reserved number, below numbers given out since.
      const landed = await b.certificates.insert(
        newCertificate(tenant.id, { certificateNo: first.certificateNo }),
        now,
      );
      assert.equal(landed.certificateNo, first.certificateNo);
      assert.equal((await b.issuance.latestOrderFor(tenant.id, first.certificateNo))?.orderId, first.orderId);
      const after = await b.certificates.list({ tenantId: tenant.id, asOf: now, offset: 0, limit: 100 });
      assert.equal(after.total, 2);
      // The sequence did not move back: the next import is above every reserved number.
      const next = await b.certificates.insert(newCertificate(tenant.id), now);
      assert.ok(next.certificateNo > Math.max(...numbers));
      // The same reserved number twice is refused and writes nothing.
      await assert.rejects(
        b.certificates.insert(newCertificate(tenant.id, { certificateNo: first.certificateNo }), now),
        {
          code: 'already_exists',
        },
      );
      const [row] = await rawQuery(location, `select count(*) as n from certificates`);
      assert.equal(Number(row!.n), 3);
    });

    it('accounts and secrets are created once: the first writer wins', async () => {
      const [a, b] = await two();
      const now = new Date();
      const s1 = await a.vault.seal(Buffer.from('one'), 'acme-account-key:https://ca/dir');
      const s2 = await b.vault.seal(Buffer.from('two'), 'acme-account-key:https://ca/dir');
      const [r1, r2] = await Promise.all([
        a.issuance.ensureAccount('https://ca/dir', s1, now),
        b.issuance.ensureAccount('https://ca/dir', s2, now),
      ]);
      assert.equal(r1.accountId, r2.accountId);
      assert.deepEqual(r1.sealedKey, r2.sealedKey);
      assert.equal(r1.accountUrl, null);
      await a.issuance.setAccountUrl(r1.accountId, 'https://ca/acct/1', now);
      assert.equal((await b.issuance.getAccount('https://ca/dir'))?.accountUrl, 'https://ca/acct/1');
      const k1 = await a.issuance.ensureSecret('label', s1, now);
      const k2 = await b.issuance.ensureSecret('label', s2, now);
      assert.deepEqual(k1, k2);
    });

    it('HTTP-01 tokens are served while the order is active only', async () => {
      const [a] = await two();
      const tenant = await makeTenant(a);
      const now = new Date();
      const o = await a.issuance.createOrder({ ...order(tenant.id, ['h.example.test']), method: 'http-01' }, now);
      await a.issuance.claim(o.orderId, 'w', now, new Date(now.getTime() + 1000));
      const authorizations = [
        {
          url: 'u',
          domain: 'h.example.test',
          wildcard: false,
          status: 'pending',
          token: 'tok',
          keyAuthorization: 'tok.thumb',
        },
      ];
      assert.ok(
        await a.issuance.advance(o.orderId, 'w', { step: 'publishing', authorizations, nextAttemptAt: null }, now),
      );
      assert.equal(await a.issuance.http01Response('tok'), 'tok.thumb');
      assert.equal(await a.issuance.http01Response('other'), null);
      await a.issuance.claim(o.orderId, 'w', now, new Date(now.getTime() + 1000));
      assert.ok(await a.issuance.advance(o.orderId, 'w', { step: 'done', nextAttemptAt: null }, now));
      assert.equal(await a.issuance.http01Response('tok'), null);
    });
  });
}
