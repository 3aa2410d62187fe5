/**
 * Contract: the days-to-expiry histogram behind /metrics, read from the expiry-day counters
 * (migrations 0003, 0007; repositories/expiry-histogram.ts), equals a brute-force computation
 * over the live certificates, on every store:
 *
 * - fixed offsets against the reference `expiryHistogramOf`; every tenant with `null`; deleted
 *   certificates and other tenants left out;
 * - a seeded random walk of imports, deletions and replacements (within one UTC day, so only
 *   `ms_sum` moves, and across days), with asOf moved onto every bucket boundary (a notAfter
 *   exactly b days away, ±1 ms), midnights and noon (where the exact count switches halves of the
 *   day): buckets and count exactly, the sum up to the two roundings of its formula; the counter
 *   rows (n, ms_sum) against a GROUP BY over the rows at checkpoints. `CERTKEEPER_TEST_SEED=<n>`
 *   replays a run;
 * - it reads the counters, not the rows: a day row changed behind the store's back changes the
 *   histogram (a full scan of the certificates would not see it);
 * - migration 0007 backfills `ms_sum` from rows that existed before it, before 1970 included.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Migrator, type Migration } from 'kysely';
import pg from 'pg';
import { EXPIRY_BUCKETS_DAYS, expiryHistogramOf } from '../../src/server/index.ts';
import { connect } from '../../src/store/connect.ts';
import { initialSchema } from '../../src/store/migrations/0001-initial.ts';
import { nhnTokensSchema } from '../../src/store/migrations/0002-nhn-tokens.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import {
  makeTenant,
  newCertificate,
  rawQuery,
  storeTargets,
  testFacts,
  testMasterKey,
  type TestLocation,
} from '../helpers/db.ts';

const DAY = 86_400_000;
const asOf = new Date(Date.UTC(2026, 5, 1));
const offsetsDays = [-30, -1, 0, 0.5, 6.9, 7, 13, 29.5, 45, 89, 120, 200, 400, 1000];
/** A UTC midnight; the walk's instants live around it. */
const BASE = Date.UTC(2026, 10, 10);
const SEED = Number(process.env.CERTKEEPER_TEST_SEED ?? 20261115);
const STEPS = Number(process.env.CERTKEEPER_TEST_STEPS ?? 150);

/** mulberry32: small, seedable, good enough to pick test cases. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { next, int, pick: <T>(items: readonly T[]): T => items[int(items.length)]! };
}
type Rng = ReturnType<typeof prng>;

interface Histogram {
  cumulativeCounts: number[];
  count: number;
  sumDays: number;
}

/**
 * Brute force over notAfters (integer ms): a bucket counts notAfter − asOf ≤ b days, compared
 * in integers; the sum is the exact integer Σ (notAfter − asOf) divided once.
 */
function bruteForce(notAfters: readonly number[], at: number, bounds: readonly number[]): Histogram {
  return {
    cumulativeCounts: bounds.map((b) => notAfters.filter((n) => n - at <= b * DAY).length),
    count: notAfters.length,
    sumDays: notAfters.reduce((sum, n) => sum + (n - at), 0) / DAY,
  };
}

/**
 * Buckets and count exactly; the sum within the rounding of the store's formula (an integer
 * plus an integer divided by the day length: two roundings, each half an ulp of at most
 * |sum| + count days).
 */
function assertHistogram(actual: Histogram, expected: Histogram, message: string): void {
  assert.deepEqual(actual.cumulativeCounts, expected.cumulativeCounts, `${message}: buckets`);
  assert.equal(actual.count, expected.count, `${message}: count`);
  const tolerance = 4 * Number.EPSILON * (Math.abs(expected.sumDays) + expected.count + 1);
  assert.ok(
    Math.abs(actual.sumDays - expected.sumDays) <= tolerance,
    `${message}: sumDays ${actual.sumDays} vs ${expected.sumDays}`,
  );
}

/** The day rows (n and ms_sum) against a GROUP BY over the live rows, through a separate raw connection. */
async function assertDayRowsMatchRows(location: TestLocation, message: string): Promise<void> {
  const norm = (rows: Array<Record<string, unknown>>) =>
    rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)])));
  const days = await rawQuery(
    location,
    'select tenant_id, day, n, ms_sum from certificate_expiry_days order by tenant_id, day',
  );
  const day = `(not_after - ((not_after % ${DAY}) + ${DAY}) % ${DAY}) / ${DAY}`;
  const byDay = await rawQuery(
    location,
    `select tenant_id, ${day} as day, count(*) as n, sum(not_after - ${day} * ${DAY}) as ms_sum
     from certificates where deleted_at is null group by 1, 2 order by 1, 2`,
  );
  assert.deepEqual(norm(days), norm(byDay), `${message}: certificate_expiry_days`);
}

/** Runs one write statement behind the store's back. */
async function rawExec(location: TestLocation, text: string): Promise<void> {
  if (location.databaseUrl) {
    const client = new pg.Client({ connectionString: location.databaseUrl });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
    return;
  }
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(join(location.dataDir, 'certkeeper.db'));
  try {
    db.prepare(text).run();
  } finally {
    db.close();
  }
}

for (const target of storeTargets) {
  describe(`expiryHistogram on ${target.name}`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    let tenantA: number;
    let tenantB: number;

    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ masterKey: testMasterKey() }));
      tenantA = (await makeTenant(store)).id;
      tenantB = (await makeTenant(store)).id;
      for (const offset of offsetsDays) {
        const notAfter = new Date(asOf.getTime() + offset * DAY);
        await store.certificates.insert(
          newCertificate(tenantA, { facts: { notBefore: new Date(notAfter.getTime() - 400 * DAY), notAfter } }),
          asOf,
        );
      }
      const other = await store.certificates.insert(
        newCertificate(tenantB, { facts: { notAfter: new Date(asOf.getTime() + 3 * DAY) } }),
        asOf,
      );
      const gone = await store.certificates.insert(
        newCertificate(tenantB, { facts: { notAfter: new Date(asOf.getTime() + 5 * DAY) } }),
        asOf,
      );
      await store.certificates.markDeleted(tenantB, gone.certificateNo, asOf);
      assert.ok(other.certificateNo > 0);
    });

    after(async () => {
      await store.close();
      await location.cleanup();
    });

    it('matches the reference for one tenant', async () => {
      const expected = expiryHistogramOf(
        offsetsDays.map((d) => new Date(asOf.getTime() + d * DAY)),
        asOf,
        EXPIRY_BUCKETS_DAYS,
      );
      const actual = await store.certificates.expiryHistogram(tenantA, asOf, EXPIRY_BUCKETS_DAYS);
      assert.deepEqual(actual.cumulativeCounts, expected.cumulativeCounts);
      assert.equal(actual.count, offsetsDays.length);
      assert.ok(Math.abs(actual.sumDays - expected.sumDays) < 1e-6, `${actual.sumDays} vs ${expected.sumDays}`);
    });

    it('counts every tenant with null, and never deleted certificates', async () => {
      const all = await store.certificates.expiryHistogram(null, asOf, [0, 7]);
      // tenant A: -30, -1, 0 are <= 0; plus 0.5, 6.9, 7 <= 7; tenant B adds its live 3-day one.
      assert.deepEqual(all.cumulativeCounts, [3, 7]);
      assert.equal(all.count, offsetsDays.length + 1);
    });

    it('an empty tenant: no certificates, zero sum', async () => {
      const empty = (await makeTenant(store)).id;
      assert.deepEqual(await store.certificates.expiryHistogram(empty, asOf, EXPIRY_BUCKETS_DAYS), {
        cumulativeCounts: EXPIRY_BUCKETS_DAYS.map(() => 0),
        count: 0,
        sumDays: 0,
      });
    });

    it('reads the counters, not the rows: a day row changed behind the store’s back shows', async () => {
      const before = await store.certificates.expiryHistogram(tenantA, asOf, EXPIRY_BUCKETS_DAYS);
      // 400 days out: only +Inf, the count and the sum can see it.
      const day = Math.floor((asOf.getTime() + 400 * DAY) / DAY);
      await rawExec(
        location,
        `update certificate_expiry_days set n = n + 5, ms_sum = ms_sum + ${DAY / 2} where tenant_id = ${tenantA} and day = ${day}`,
      );
      try {
        const after = await store.certificates.expiryHistogram(tenantA, asOf, EXPIRY_BUCKETS_DAYS);
        assert.deepEqual(after.cumulativeCounts, before.cumulativeCounts);
        assert.equal(after.count, before.count + 5);
        assert.ok(Math.abs(after.sumDays - (before.sumDays + 5 * 400 + 0.5)) < 1e-6, `${after.sumDays}`);
      } finally {
        await rawExec(
          location,
          `update certificate_expiry_days set n = n - 5, ms_sum = ms_sum - ${DAY / 2} where tenant_id = ${tenantA} and day = ${day}`,
        );
      }
    });
  });

  describe(`expiryHistogram on ${target.name}: random walk against a brute-force count`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;

    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ masterKey: testMasterKey() }));
    });
    after(async () => {
      await store?.close();
      await location?.cleanup();
    });

    it(`imports, deletions, replacements and asOf moves across bucket boundaries (seed ${SEED}, ${STEPS} steps)`, async () => {
      const rng = prng(SEED);
      const tenants = [(await makeTenant(store)).id, (await makeTenant(store)).id];
      interface Cert {
        no: number;
        tenantId: number;
        notAfter: number;
        live: boolean;
      }
      const certs: Cert[] = [];
      const live = () => certs.filter((c) => c.live);
      const stats = { insert: 0, delete: 0, replace: 0, replaceSameDay: 0, checks: 0, onBoundary: 0, noon: 0 };
      // The walk's "now", moved by asOf picks; new notAfters land on its bucket boundaries.
      let now = BASE + rng.int(DAY);

      /** Around a boundary of `now` (b days ± 0/1 ms), a midnight or noon, or anywhere in 2 years. */
      const notAfterPick = (): number => {
        const roll = rng.next();
        if (roll < 0.5) return now + rng.pick(EXPIRY_BUCKETS_DAYS) * DAY + rng.pick([-1, 0, 1]);
        if (roll < 0.75) {
          const midnight = Math.floor(now / DAY) * DAY + (rng.int(400) - 30) * DAY;
          return midnight + rng.pick([0, 1, DAY - 1, DAY / 2 - 1, DAY / 2, DAY / 2 + 1]);
        }
        return now + (rng.int(800) - 400) * DAY + rng.int(DAY);
      };
      /** asOf: a live notAfter exactly b days away (±1 ms), a midnight or noon ±1 ms, or a random move. */
      const asOfPick = (rng: Rng): number => {
        const roll = rng.next();
        const others = live();
        if (roll < 0.5 && others.length > 0)
          return rng.pick(others).notAfter - rng.pick(EXPIRY_BUCKETS_DAYS) * DAY + rng.pick([-1, 0, 1]);
        if (roll < 0.8) return Math.floor(now / DAY) * DAY + rng.pick([0, -1, 1, DAY / 2, DAY / 2 - 1, DAY / 2 + 1]);
        return now + (rng.int(60) - 30) * DAY + rng.int(DAY);
      };

      const check = async (step: string, at: number) => {
        for (const tenantId of [...tenants, null]) {
          const notAfters = certs.filter((c) => c.live && (tenantId === null || c.tenantId === tenantId));
          const expected = bruteForce(
            notAfters.map((c) => c.notAfter),
            at,
            EXPIRY_BUCKETS_DAYS,
          );
          const actual = await store.certificates.expiryHistogram(tenantId, new Date(at), EXPIRY_BUCKETS_DAYS);
          assertHistogram(
            actual,
            expected,
            `seed ${SEED}, ${step}, tenant ${tenantId ?? 'all'}, asOf ${new Date(at).toISOString()}`,
          );
        }
        stats.checks++;
        if (certs.some((c) => c.live && EXPIRY_BUCKETS_DAYS.some((b) => Math.abs(c.notAfter - at - b * DAY) <= 1)))
          stats.onBoundary++;
        if (Math.abs((at % DAY) - DAY / 2) <= 1) stats.noon++;
      };

      for (let i = 0; i < STEPS; i++) {
        const step = `step ${i}`;
        const at = new Date(BASE + i);
        const roll = rng.next();
        const candidates = live();
        if (roll < 0.5 || candidates.length < 3) {
          const tenantId = rng.pick(tenants);
          const notAfter = notAfterPick();
          const made = await store.certificates.insert(
            newCertificate(tenantId, {
              facts: { notBefore: new Date(notAfter - 90 * DAY), notAfter: new Date(notAfter) },
            }),
            at,
          );
          certs.push({ no: made.certificateNo, tenantId, notAfter, live: true });
          stats.insert++;
        } else if (roll < 0.7) {
          const victim = rng.pick(candidates);
          assert.equal(await store.certificates.markDeleted(victim.tenantId, victim.no, at), true, `seed ${SEED}`);
          victim.live = false;
          stats.delete++;
        } else {
          const replaced = rng.pick(candidates);
          // Within its UTC day (n stays, ms_sum moves) or anywhere.
          const sameDay = rng.next() < 0.35;
          const notAfter = sameDay ? Math.floor(replaced.notAfter / DAY) * DAY + rng.int(DAY) : notAfterPick();
          const facts = testFacts({ notBefore: new Date(notAfter - 90 * DAY), notAfter: new Date(notAfter) });
          await store.certificates.replace(
            replaced.tenantId,
            replaced.no,
            { origin: 'cli', certificatePem: 'PEM', chainPems: [], facts, privateKeyPem: null, file: null },
            at,
          );
          replaced.notAfter = notAfter;
          stats.replace++;
          if (sameDay) stats.replaceSameDay++;
        }
        now = asOfPick(rng);
        await check(step, now);
        if (i % 2 === 0) await check(step, asOfPick(rng));
        if (i % 40 === 39 || i === STEPS - 1) await assertDayRowsMatchRows(location, `seed ${SEED}, ${step}`);
      }
      // The walk really visited the cases it is meant to cover.
      assert.ok(
        stats.insert > 50 && stats.delete > 15 && stats.replace > 25 && stats.replaceSameDay > 6,
        JSON.stringify(stats),
      );
      assert.ok(stats.onBoundary > 70 && stats.noon > 10, JSON.stringify(stats));
      console.log(`# ${target.name}: ${JSON.stringify({ seed: SEED, ...stats, live: live().length })}`);
    });
  });

  describe(`${target.name}: migration 0007 backfills ms_sum`, { skip: target.skip }, () => {
    it('from the live rows that existed before it, per tenant and per day, before 1970 too', async () => {
      const location = await target.fresh();
      try {
        const rng = prng(SEED + 7);
        const notAfters: Array<{ tenantId: number; notAfter: number; live: boolean }> = [];
        const { db, dialect } = await connect(location.options());
        try {
          const earlier: Record<string, Migration> = {
            '0001-initial': initialSchema(dialect),
            '0002-nhn-tokens': nhnTokensSchema(dialect),
          };
          const { error } = await new Migrator({
            db,
            provider: { getMigrations: async () => earlier },
          }).migrateToLatest();
          assert.equal(error, undefined);
          for (const name of ['t1', 't2'])
            await db
              .insertInto('tenants')
              .values({ name, member_no: name, app_key: name, app_key_auth_enabled: 0, created_at: BASE })
              .execute();
          const rows = Array.from({ length: 300 }, (_, i) => {
            const facts = testFacts();
            const notAfter =
              i % 13 === 0
                ? -DAY * (1 + rng.int(3)) + rng.pick([0, 1, -1, DAY - 1])
                : BASE + (rng.int(40) - 20) * DAY + rng.pick([0, 1, DAY - 1, rng.int(DAY)]);
            const row = {
              tenant_id: 1 + (i % 2),
              name: `c${i}`,
              type: 'EXT',
              origin: 'cli',
              common_name: facts.commonName,
              ca_name: facts.caName,
              serial_number: facts.serialNumber,
              key_algorithm: 'EC',
              key_bits: 256,
              not_before: notAfter - 90 * DAY,
              not_after: notAfter,
              fingerprint_sha256: facts.fingerprintSha256,
              spki_sha256: facts.publicKeyFingerprintSha256,
              facts: '{}',
              certificate_pem: 'PEM',
              chain_pems: '[]',
              file_name: null,
              has_private_key: 0,
              created_at: BASE,
              updated_at: BASE,
              revoked_at: null,
              deleted_at: i % 7 === 0 ? BASE : null,
            };
            notAfters.push({ tenantId: row.tenant_id, notAfter, live: row.deleted_at === null });
            return row;
          });
          await db.insertInto('certificates').values(rows).execute();
        } finally {
          await db.destroy();
        }
        const store = await openStore(location.options({ masterKey: testMasterKey() }));
        try {
          await assertDayRowsMatchRows(location, 'backfill');
          for (const tenantId of [1, 2, null]) {
            for (const at of [BASE, BASE + DAY / 2 + 1, BASE - 3 * DAY, 0, -DAY + 1]) {
              const mine = notAfters.filter((c) => c.live && (tenantId === null || c.tenantId === tenantId));
              assertHistogram(
                await store.certificates.expiryHistogram(tenantId, new Date(at), EXPIRY_BUCKETS_DAYS),
                bruteForce(
                  mine.map((c) => c.notAfter),
                  at,
                  EXPIRY_BUCKETS_DAYS,
                ),
                `tenant ${tenantId ?? 'all'} at ${new Date(at).toISOString()}`,
              );
            }
          }
        } finally {
          await store.close();
        }
      } finally {
        await location.cleanup();
      }
    });
  });
}
