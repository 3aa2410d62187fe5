/**
 * Contract: list totals and countByValidity, read from the counters of migrations 0003 and 0035, always
 * equal a brute-force count over the rows, on every store (test/helpers/db.ts).
 *
 * - A seeded random walk of imports, duplicate imports (refused), deletions (some purged at
 *   once), restores (some refused: a live certificate took the restored one's certificate or
 *   key meanwhile), purges (some refused: the certificate is live) and replacements (each keeping
 *   a version the counters must not see) that move notAfter across UTC days, with asOf moved around every boundary that matters
 *   (midnight UTC, one millisecond either side of a notAfter, notAfter at 23:59:59.999, an
 *   hour's start and its half, where the counting switches halves of the hour), checked against a model after every step
 *   and against raw SQL counts at checkpoints. `CERTKEEPER_TEST_SEED=<n>` replays a run; every
 *   failure message names its seed and step.
 * - Pages of the default order that start from the block counters (every offset, both
 *   directions, certificate numbers spread over many blocks of 4096, with holes) equal the
 *   model's slice.
 * - A write that fails before commit leaves the counters as they were.
 * - The expired prefix (migration 0036) moved by the retention pass's `advanceExpiredBefore` to
 *   days around the walk's, so totals read days on both sides of it, and checked at checkpoints
 *   against the rows (`past` = live certificates expiring before `past_day`).
 * - Concurrency: parallel inserts (distinct and identical), and on PostgreSQL parallel
 *   replacements, deletions and prefix moves from two pools (two processes) keep the counters exact.
 * - The migrations backfill the counters (days, blocks, hours) from rows that existed before them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Migrator, type Migration } from 'kysely';
import { join } from 'node:path';
import pg from 'pg';
import type { CertificateQuery, ValidityFilter } from '../../src/core/ports.ts';
import { isAppErrorWithCode } from '../../src/domain/errors.ts';
import type { Certificate } from '../../src/domain/model.ts';
import type { CertificateFacts } from '../../src/domain/x509/types.ts';
import { connect } from '../../src/store/connect.ts';
import { initialSchema } from '../../src/store/migrations/0001-initial.ts';
import { nhnTokensSchema } from '../../src/store/migrations/0002-nhn-tokens.ts';
import { NUMBER_BLOCK } from '../../src/store/migrations/0003-certificate-counters.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { listTuning } from '../../src/store/repositories/certificate-list.ts';
import {
  makeTenant,
  newCertificate,
  postgresSkip,
  rawQuery,
  storeTargets,
  testFacts,
  testMasterKey,
  type TestLocation,
} from '../helpers/db.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** A UTC midnight; the walk's instants live within a few days of it. */
const BASE = Date.UTC(2026, 10, 10);
const SEED = Number(process.env.CERTKEEPER_TEST_SEED ?? 20261110);
const STEPS = Number(process.env.CERTKEEPER_TEST_STEPS ?? 300);

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

/**
 * Instants around day and hour boundaries: midnight, ±1 ms, 23:59:59.999, noon ±1 ms, an hour's
 * start ±1 ms and its half ±1 ms (where the counting switches halves of the hour), anywhere.
 */
function interestingInstant(rng: Rng): number {
  const dayStart = BASE + (rng.int(9) - 4) * DAY;
  const hourStart = dayStart + rng.int(24) * HOUR;
  const within = rng.pick([0, 1, DAY - 1, DAY / 2 - 1, DAY / 2, DAY / 2 + 1, -1, rng.int(DAY), rng.int(DAY)]);
  const withinHour = rng.pick([0, 1, -1, HOUR / 2 - 1, HOUR / 2, HOUR / 2 + 1, HOUR - 1, rng.int(HOUR)]);
  return rng.next() < 0.5 ? dayStart + within : hourStart + withinHour;
}

interface ModelCert {
  no: number;
  tenantId: number;
  notBefore: number;
  notAfter: number;
  facts: CertificateFacts;
  live: boolean;
  /** Deleted and purged: no longer recoverable (a deleted one with this false can be restored). */
  purged?: boolean;
}

interface Expected {
  all: number;
  expired: number;
  unexpired: number;
  valid: number;
  notYetValid: number;
}

function expectedAt(certs: readonly ModelCert[], tenantId: number | null, at: number): Expected {
  const live = certs.filter((c) => c.live && (tenantId === null || c.tenantId === tenantId));
  return {
    all: live.length,
    // EXPIRED is notAfter < asOf: valid through the notAfter instant inclusive.
    expired: live.filter((c) => c.notAfter < at).length,
    unexpired: live.filter((c) => c.notAfter >= at).length,
    valid: live.filter((c) => c.notBefore <= at && c.notAfter >= at).length,
    notYetValid: live.filter((c) => c.notBefore > at).length,
  };
}

/** Counter tables against a GROUP BY over the live rows, through a separate raw connection. */
async function assertCountersMatchRows(location: TestLocation, message: string): Promise<void> {
  const norm = (rows: Array<Record<string, unknown>>) =>
    rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)])));
  const counts = await rawQuery(
    location,
    'select tenant_id, live from certificate_counts where live <> 0 order by tenant_id',
  );
  const rows = await rawQuery(
    location,
    'select tenant_id, count(*) as live from certificates where deleted_at is null group by tenant_id order by tenant_id',
  );
  assert.deepEqual(norm(counts), norm(rows), `${message}: certificate_counts`);
  // The expired prefix (migration 0036): past = the live certificates expiring before past_day.
  const prefixes = await rawQuery(
    location,
    `select c.tenant_id, c.past_day, c.past,
       (select count(*) from certificates r where r.tenant_id = c.tenant_id and r.deleted_at is null
          and (r.not_after - ((r.not_after % ${DAY}) + ${DAY}) % ${DAY}) / ${DAY} < c.past_day) as counted
     from certificate_counts c order by c.tenant_id`,
  );
  for (const p of prefixes)
    assert.equal(
      Number(p.past),
      Number(p.counted),
      `${message}: tenant ${String(p.tenant_id)} expired before day ${String(p.past_day)}`,
    );
  const days = await rawQuery(
    location,
    'select tenant_id, day, n from certificate_expiry_days order by tenant_id, day',
  );
  const byDay = await rawQuery(
    location,
    `select tenant_id, (not_after - ((not_after % ${DAY}) + ${DAY}) % ${DAY}) / ${DAY} as day, count(*) as n
     from certificates where deleted_at is null group by 1, 2 order by 1, 2`,
  );
  assert.deepEqual(norm(days), norm(byDay), `${message}: certificate_expiry_days`);
  const hours = await rawQuery(
    location,
    'select tenant_id, hour, n from certificate_expiry_hours order by tenant_id, hour',
  );
  const byHour = await rawQuery(
    location,
    `select tenant_id, (not_after - ((not_after % ${HOUR}) + ${HOUR}) % ${HOUR}) / ${HOUR} as hour, count(*) as n
     from certificates where deleted_at is null group by 1, 2 order by 1, 2`,
  );
  assert.deepEqual(norm(hours), norm(byHour), `${message}: certificate_expiry_hours`);
  const blocks = await rawQuery(
    location,
    'select tenant_id, block, n from certificate_number_blocks order by tenant_id, block',
  );
  const byBlock = await rawQuery(
    location,
    `select tenant_id, certificate_no / ${NUMBER_BLOCK} as block, count(*) as n from certificates where deleted_at is null group by 1, 2 order by 1, 2`,
  );
  assert.deepEqual(norm(blocks), norm(byBlock), `${message}: certificate_number_blocks`);
}

/** Skips `by` certificate numbers (behind the store's back), so a tenant's numbers spread over blocks. */
async function jumpNumbering(location: TestLocation, by: number): Promise<void> {
  if (location.databaseUrl) {
    const client = new pg.Client({ connectionString: location.databaseUrl });
    await client.connect();
    try {
      await client.query(
        `select setval(pg_get_serial_sequence('certificates', 'certificate_no'), nextval(pg_get_serial_sequence('certificates', 'certificate_no')) + ${by} - 1)`,
      );
    } finally {
      await client.end();
    }
    return;
  }
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(join(location.dataDir, 'certkeeper.db'));
  try {
    db.prepare(`update sqlite_sequence set seq = seq + ${by} where name = 'certificates'`).run();
  } finally {
    db.close();
  }
}

async function rawCounts(location: TestLocation, tenantId: number, at: number): Promise<Expected> {
  const [row] = await rawQuery(
    location,
    `select count(*) as all_live,
            sum(case when not_after < ${at} then 1 else 0 end) as expired,
            sum(case when not_after >= ${at} then 1 else 0 end) as unexpired,
            sum(case when not_before <= ${at} and not_after >= ${at} then 1 else 0 end) as valid,
            sum(case when not_before > ${at} then 1 else 0 end) as not_yet_valid
     from certificates where tenant_id = ${tenantId} and deleted_at is null`,
  );
  const n = (v: unknown) => Number(v ?? 0);
  return {
    all: n(row?.all_live),
    expired: n(row?.expired),
    unexpired: n(row?.unexpired),
    valid: n(row?.valid),
    notYetValid: n(row?.not_yet_valid),
  };
}

const query = (tenantId: number, at: number, q: Partial<CertificateQuery> = {}): CertificateQuery => ({
  tenantId,
  asOf: new Date(at),
  offset: 0,
  limit: 0,
  ...q,
});

/** Every total the store gives for one tenant at `at`; countByValidity's `expired` must agree with list's. */
async function storeCounts(store: StoreHandle, tenantId: number, at: number): Promise<Expected> {
  const total = async (validity: ValidityFilter | undefined) =>
    (await store.certificates.list(query(tenantId, at, validity === undefined ? {} : { validity }))).total;
  const [all, allExplicit, expired, unexpired, byValidity] = await Promise.all([
    total(undefined),
    total('all'),
    total('expired'),
    total('unexpired'),
    store.certificates.countByValidity(tenantId, new Date(at)),
  ]);
  assert.equal(allExplicit, all, 'validity all = no validity');
  assert.equal(
    byValidity.expired,
    expired,
    `countByValidity().expired = list(EXPIRED).total at ${new Date(at).toISOString()}`,
  );
  return { all, expired, unexpired, valid: byValidity.valid, notYetValid: byValidity.notYetValid };
}

for (const target of storeTargets) {
  describe(`${target.name}: certificate counters`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    const defaultSeek = listTuning.blockSeekFromOffset;
    let failNextCommit = false;
    const hooks = {
      beforeCommit: () => {
        if (failNextCommit) {
          failNextCommit = false;
          throw new Error('injected failure before commit');
        }
      },
    };
    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ masterKey: testMasterKey(), hooks }));
      // Every unfiltered default-order page past the first starts from the block counters.
      listTuning.blockSeekFromOffset = 1;
    });
    after(async () => {
      listTuning.blockSeekFromOffset = defaultSeek;
      await store?.close();
      await location?.cleanup();
    });

    it(`random imports, deletions, restores, purges, replacements and asOf moves: every total equals a brute-force count (seed ${SEED}, ${STEPS} steps)`, async () => {
      const rng = prng(SEED);
      const tenants = [(await makeTenant(store)).id, (await makeTenant(store)).id];
      const certs: ModelCert[] = [];
      const live = () => certs.filter((c) => c.live);
      const stats = {
        jumps: 0,
        insert: 0,
        duplicate: 0,
        delete: 0,
        deleteAgain: 0,
        replace: 0,
        replaceSameDay: 0,
        restore: 0,
        restoreRefused: 0,
        purge: 0,
        purgeRefused: 0,
        takeFreed: 0,
        checks: 0,
        midnightChecks: 0,
        boundaryChecks: 0,
        pageChecks: 0,
        advances: 0,
      };

      const newFacts = (): Partial<CertificateFacts> => {
        // Ties on notAfter are interesting too: sometimes reuse one.
        const others = live();
        const notAfter = others.length > 0 && rng.next() < 0.15 ? rng.pick(others).notAfter : interestingInstant(rng);
        const shape = rng.next();
        // Mostly a normal window; sometimes validity starts inside the walk (not yet valid at
        // some asOf), sometimes after notAfter (a nonsense certificate both buckets count).
        const notBefore =
          shape < 0.7 ? notAfter - 90 * DAY : shape < 0.95 ? interestingInstant(rng) : notAfter + 1 + rng.int(DAY);
        return { notBefore: new Date(notBefore), notAfter: new Date(notAfter) };
      };

      const asOfCandidates = (): number[] => {
        const picks: number[] = [];
        const others = live();
        if (others.length > 0) {
          const c = rng.pick(others);
          picks.push(c.notAfter + rng.pick([-1, 0, 1]));
          const midnight = Math.floor(c.notAfter / DAY) * DAY;
          picks.push(midnight + rng.pick([0, -1, 1, DAY, DAY - 1]));
          // Its own hour's start, half (where the counting switches halves) and end.
          const hourStart = Math.floor(c.notAfter / HOUR) * HOUR;
          picks.push(hourStart + rng.pick([0, -1, 1, HOUR / 2, HOUR / 2 + 1, HOUR - 1, HOUR]));
        }
        picks.push(interestingInstant(rng));
        return picks;
      };

      const check = async (step: string, at: number) => {
        for (const tenantId of tenants) {
          const expected = expectedAt(certs, tenantId, at);
          const actual = await storeCounts(store, tenantId, at);
          assert.deepEqual(
            actual,
            expected,
            `seed ${SEED}, ${step}, tenant ${tenantId}, asOf ${new Date(at).toISOString()}`,
          );
        }
        const overall = await store.certificates.countByValidity(null, new Date(at));
        const everyone = expectedAt(certs, null, at);
        assert.deepEqual(
          overall,
          { valid: everyone.valid, expired: everyone.expired, notYetValid: everyone.notYetValid },
          `seed ${SEED}, ${step}, every tenant, asOf ${new Date(at).toISOString()}`,
        );
        stats.checks++;
        if (at % DAY === 0) stats.midnightChecks++;
        if (certs.some((c) => c.live && Math.abs(c.notAfter - at) <= 1)) stats.boundaryChecks++;
      };

      const checkPage = async (step: string) => {
        const tenantId = rng.pick(tenants);
        const at = rng.pick(asOfCandidates());
        const validity = rng.pick(['all', 'expired', 'unexpired'] as const);
        const order = rng.pick(['asc', 'desc'] as const);
        const matching = certs
          .filter(
            (c) =>
              c.live &&
              c.tenantId === tenantId &&
              (validity === 'all' || (validity === 'expired' ? c.notAfter < at : c.notAfter >= at)),
          )
          .map((c) => c.no)
          .sort((a, b) => (order === 'asc' ? a - b : b - a));
        const offset = rng.int(matching.length + 2);
        const page = await store.certificates.list(query(tenantId, at, { validity, order, offset, limit: 7 }));
        assert.equal(page.total, matching.length, `seed ${SEED}, ${step}: page total`);
        assert.deepEqual(
          page.items.map((c) => c.certificateNo),
          matching.slice(offset, offset + 7),
          `seed ${SEED}, ${step}: page ${validity} ${order} offset ${offset}`,
        );
        stats.pageChecks++;
      };

      for (let i = 0; i < STEPS; i++) {
        const step = `step ${i}`;
        const roll = rng.next();
        const candidates = live();
        if (rng.next() < 0.03) {
          // Later numbers land in another block (or several blocks on).
          await jumpNumbering(location, NUMBER_BLOCK * (1 + rng.int(3)) + rng.int(NUMBER_BLOCK));
          stats.jumps++;
        }
        const recoverable = certs.filter((c) => !c.live && !c.purged);
        if (roll < 0.4 || candidates.length < 3) {
          // Sometimes the certificate or key of a deleted, recoverable one, which a delete frees.
          const holdsOf = (other: ModelCert) =>
            certs.some(
              (c) =>
                c.live &&
                c.tenantId === other.tenantId &&
                (c.facts.fingerprintSha256 === other.facts.fingerprintSha256 ||
                  c.facts.publicKeyFingerprintSha256 === other.facts.publicKeyFingerprintSha256),
            );
          const free = recoverable.filter((c) => !holdsOf(c));
          const freed = free.length > 0 && rng.next() < 0.15 ? rng.pick(free) : null;
          const tenantId = freed ? freed.tenantId : rng.pick(tenants);
          const input = newCertificate(tenantId, {
            facts: freed
              ? rng.next() < 0.5
                ? { ...freed.facts }
                : { ...newFacts(), publicKeyFingerprintSha256: freed.facts.publicKeyFingerprintSha256 }
              : newFacts(),
          });
          if (freed) stats.takeFreed++;
          const at = new Date(BASE + i);
          const made = await store.certificates.insert(input, at);
          certs.push({
            no: made.certificateNo,
            tenantId,
            notBefore: input.facts.notBefore.getTime(),
            notAfter: input.facts.notAfter.getTime(),
            facts: input.facts,
            live: true,
          });
          stats.insert++;
        } else if (roll < 0.46) {
          // A duplicate of a live certificate is refused and changes no counter.
          const original = rng.pick(candidates);
          const duplicate = newCertificate(original.tenantId, { facts: { ...original.facts } });
          await assert.rejects(
            store.certificates.insert(duplicate, new Date(BASE + i)),
            (e: unknown) => isAppErrorWithCode(e, 'already_exists'),
            `seed ${SEED}, ${step}`,
          );
          stats.duplicate++;
        } else if (roll < 0.6) {
          const victim = rng.pick(candidates);
          const purge = rng.next() < 0.2;
          assert.equal(
            await store.certificates.markDeleted(victim.tenantId, victim.no, new Date(BASE + i), { purge }),
            true,
            `seed ${SEED}, ${step}`,
          );
          victim.live = false;
          victim.purged = purge;
          stats.delete++;
          if (rng.next() < 0.3) {
            assert.equal(
              await store.certificates.markDeleted(victim.tenantId, victim.no, new Date(BASE + i)),
              false,
              `seed ${SEED}, ${step}: twice`,
            );
            stats.deleteAgain++;
          }
        } else if (roll < 0.68 && recoverable.length > 0) {
          const restored = rng.pick(recoverable);
          // Refused while a live certificate of its tenant has its certificate or key.
          const taken = certs.some(
            (c) =>
              c.live &&
              c.tenantId === restored.tenantId &&
              (c.facts.fingerprintSha256 === restored.facts.fingerprintSha256 ||
                c.facts.publicKeyFingerprintSha256 === restored.facts.publicKeyFingerprintSha256),
          );
          if (taken) {
            await assert.rejects(
              store.certificates.restore(restored.tenantId, restored.no, new Date(BASE + i)),
              (e: unknown) => isAppErrorWithCode(e, 'already_exists'),
              `seed ${SEED}, ${step}: restore refused`,
            );
            stats.restoreRefused++;
          } else {
            const result = await store.certificates.restore(restored.tenantId, restored.no, new Date(BASE + i));
            assert.ok(typeof result !== 'string', `seed ${SEED}, ${step}: restore ${String(result)}`);
            restored.live = true;
            stats.restore++;
          }
        } else if (roll < 0.74) {
          // A live one is refused; a deleted one is purged once (a second purge is refused).
          const pool = recoverable.length > 0 && rng.next() < 0.7 ? recoverable : candidates;
          const victim = rng.pick(pool);
          const result = await store.certificates.purge(victim.tenantId, victim.no, new Date(BASE + i));
          if (victim.live) {
            assert.equal(result, 'live', `seed ${SEED}, ${step}: purge of a live one`);
            stats.purgeRefused++;
          } else {
            assert.equal(result, true, `seed ${SEED}, ${step}: purge`);
            assert.equal(await store.certificates.purge(victim.tenantId, victim.no, new Date(BASE + i)), 'purged');
            victim.purged = true;
            stats.purge++;
          }
        } else {
          const target = rng.pick(candidates);
          // Same day (counters stay) or anywhere (counters move between days).
          const sameDay = rng.next() < 0.25;
          const facts = sameDay
            ? testFacts({
                notBefore: new Date(target.notBefore),
                notAfter: new Date(Math.floor(target.notAfter / DAY) * DAY + rng.int(DAY)),
              })
            : testFacts(newFacts());
          await store.certificates.replace(
            target.tenantId,
            target.no,
            { origin: 'cli', certificatePem: 'PEM', chainPems: [], facts, privateKeyPem: null, file: null },
            new Date(BASE + i),
          );
          target.facts = facts;
          target.notBefore = facts.notBefore.getTime();
          target.notAfter = facts.notAfter.getTime();
          stats.replace++;
          if (sameDay) stats.replaceSameDay++;
        }
        if (rng.next() < 0.08) {
          // The retention pass's move of the expired prefix, to a day around the walk's: later
          // totals read days on either side of it.
          stats.advances += await store.certificates.advanceExpiredBefore({
            at: new Date(interestingInstant(rng)),
            limit: rng.pick([1, 10]),
          });
        }
        for (const at of asOfCandidates()) await check(step, at);
        if (i % 5 === 0) await checkPage(step);
        if (i % 50 === 49 || i === STEPS - 1) {
          await assertCountersMatchRows(location, `seed ${SEED}, ${step}`);
          for (const tenantId of tenants) {
            const at = rng.pick(asOfCandidates());
            assert.deepEqual(
              await rawCounts(location, tenantId, at),
              expectedAt(certs, tenantId, at),
              `seed ${SEED}, ${step}: raw SQL agrees with the model`,
            );
          }
        }
      }
      // The walk really visited the cases it is meant to cover.
      assert.ok(
        stats.insert > 50 && stats.delete > 20 && stats.replace > 30 && stats.duplicate > 5 && stats.replaceSameDay > 3,
        JSON.stringify(stats),
      );
      assert.ok(
        stats.restore > 5 &&
          stats.restoreRefused > 0 &&
          stats.purge > 5 &&
          stats.purgeRefused > 0 &&
          stats.takeFreed > 3,
        JSON.stringify(stats),
      );
      assert.ok(stats.midnightChecks > 20 && stats.boundaryChecks > 50 && stats.jumps > 3, JSON.stringify(stats));
      assert.ok(stats.advances >= 3, JSON.stringify(stats));
      console.log(
        `# ${target.name}: ${JSON.stringify({ seed: SEED, ...stats, certificates: certs.length, live: live().length })}`,
      );
    });

    it('default-order pages from the block counters equal the model at every offset, both directions, numbers over many blocks with holes', async () => {
      const rng = prng(SEED + 3);
      const tenant = await makeTenant(store);
      const other = await makeTenant(store);
      const numbers: number[] = [];
      let last = 0;
      for (let i = 0; i < 240; i++) {
        // Another tenant's rows interleave: blocks are per tenant, numbers are global.
        if (i % 4 === 0)
          last = (await store.certificates.insert(newCertificate(other.id), new Date(BASE))).certificateNo;
        if (i % 30 === 29) {
          // Half of the jumps land the next number exactly on a block's first number.
          await jumpNumbering(
            location,
            i % 60 === 59 ? (NUMBER_BLOCK - ((last + 1) % NUMBER_BLOCK)) % NUMBER_BLOCK : rng.int(3 * NUMBER_BLOCK),
          );
        }
        last = (await store.certificates.insert(newCertificate(tenant.id), new Date(BASE))).certificateNo;
        numbers.push(last);
      }
      assert.ok(numbers.filter((n) => n % NUMBER_BLOCK === 0).length >= 3, 'some numbers start a block');
      for (const no of numbers)
        if (rng.next() < 0.3) await store.certificates.markDeleted(tenant.id, no, new Date(BASE));
      const live = (await store.certificates.list(query(tenant.id, BASE, { limit: 1000 }))).items.map(
        (c) => c.certificateNo,
      );
      const [blocks] = await rawQuery(
        location,
        `select count(*) as n from certificate_number_blocks where tenant_id = ${tenant.id}`,
      );
      assert.ok(Number(blocks?.n) >= 6, `spread over ${String(blocks?.n)} blocks`);
      for (const order of ['asc', 'desc'] as const) {
        const expected = order === 'asc' ? live : [...live].reverse();
        for (const [seek, offsets] of [
          [1, Array.from({ length: live.length + 2 }, (_, i) => i)],
          [defaultSeek, [0, 5, live.length - 1]],
        ] as const) {
          listTuning.blockSeekFromOffset = seek;
          for (const offset of offsets) {
            const page = await store.certificates.list(query(tenant.id, BASE, { order, offset, limit: 9 }));
            assert.deepEqual(
              page.items.map((c) => c.certificateNo),
              expected.slice(offset, offset + 9),
              `${order} offset ${offset} (seek from ${seek})`,
            );
            assert.equal(page.total, live.length);
          }
        }
        listTuning.blockSeekFromOffset = 1;
      }
      await assertCountersMatchRows(location, 'blocks');
    });

    it('a certificate expiring at 23:59:59.999 UTC: unexpired through that instant, expired one millisecond later (midnight)', async () => {
      const tenant = await makeTenant(store);
      const notAfter = BASE + DAY - 1;
      const cert = await store.certificates.insert(
        newCertificate(tenant.id, { facts: { notBefore: new Date(BASE - DAY), notAfter: new Date(notAfter) } }),
        new Date(BASE),
      );
      const expect = async (at: number, expired: number) => {
        const counts = await storeCounts(store, tenant.id, at);
        assert.deepEqual(
          counts,
          { all: 1, expired, unexpired: 1 - expired, valid: 1 - expired, notYetValid: 0 },
          new Date(at).toISOString(),
        );
      };
      await expect(BASE, 0);
      await expect(BASE + DAY / 2 + 1, 0); // past noon: counts the tail of the day
      await expect(notAfter - 1, 0);
      await expect(notAfter, 0);
      await expect(notAfter + 1, 1); // midnight of the next day
      await expect(notAfter + 2, 1);
      await expect(BASE + 10 * DAY, 1);
      await expect(BASE - DAY, 0); // notBefore: valid from that instant
      assert.deepEqual(await storeCounts(store, tenant.id, BASE - DAY - 1), {
        all: 1,
        expired: 0,
        unexpired: 1,
        valid: 0,
        notYetValid: 1,
      });
      await store.certificates.markDeleted(tenant.id, cert.certificateNo, new Date(BASE));
      assert.deepEqual(await storeCounts(store, tenant.id, notAfter + 1), {
        all: 0,
        expired: 0,
        unexpired: 0,
        valid: 0,
        notYetValid: 0,
      });
      await assertCountersMatchRows(location, '23:59:59.999');
    });

    it('an insert or a replacement that fails before commit leaves the counters as they were', async () => {
      const tenant = await makeTenant(store);
      const kept = await store.certificates.insert(
        newCertificate(tenant.id, { facts: { notAfter: new Date(BASE + DAY) } }),
        new Date(BASE),
      );
      const counted = await storeCounts(store, tenant.id, BASE + DAY / 2);
      failNextCommit = true;
      await assert.rejects(
        store.certificates.insert(newCertificate(tenant.id, { facts: { notAfter: new Date(BASE) } }), new Date(BASE)),
        /injected failure/,
      );
      failNextCommit = true;
      const moved = {
        origin: 'cli' as const,
        certificatePem: 'PEM',
        chainPems: [],
        facts: testFacts({ notAfter: new Date(BASE - 5 * DAY) }),
        privateKeyPem: null,
        file: null,
      };
      await assert.rejects(
        store.certificates.replace(tenant.id, kept.certificateNo, moved, new Date(BASE)),
        /injected failure/,
      );
      assert.deepEqual(await storeCounts(store, tenant.id, BASE + DAY / 2), counted);
      await assertCountersMatchRows(location, 'failed writes');
      // The same replacement, committed, moves the certificate to an expired day.
      await store.certificates.replace(tenant.id, kept.certificateNo, moved, new Date(BASE));
      assert.deepEqual(await storeCounts(store, tenant.id, BASE + DAY / 2), {
        ...counted,
        expired: 1,
        unexpired: 0,
        valid: 0,
      });
      await assertCountersMatchRows(location, 'after the replacement');
    });

    it('50 parallel inserts of distinct certificates: the live counter is 50', async () => {
      const tenant = await makeTenant(store);
      const notAfters = Array.from({ length: 50 }, (_, i) => BASE + (i % 5) * DAY + i);
      await Promise.all(
        notAfters.map((notAfter) =>
          store.certificates.insert(
            newCertificate(tenant.id, { facts: { notAfter: new Date(notAfter) } }),
            new Date(BASE),
          ),
        ),
      );
      const [row] = await rawQuery(location, `select live from certificate_counts where tenant_id = ${tenant.id}`);
      assert.equal(Number(row?.live), 50);
      assert.equal((await store.certificates.list(query(tenant.id, BASE))).total, 50);
      assert.equal(
        (await store.certificates.list(query(tenant.id, BASE + 2 * DAY + 20, { validity: 'expired' }))).total,
        notAfters.filter((n) => n < BASE + 2 * DAY + 20).length,
      );
      await assertCountersMatchRows(location, 'parallel distinct');
    });

    it('50 parallel inserts of the same certificate: one lands, the live counter is 1', async () => {
      const tenant = await makeTenant(store);
      const facts = testFacts({ notAfter: new Date(BASE + DAY / 2) });
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) =>
          store.certificates.insert({ ...newCertificate(tenant.id, { name: `same-${i}` }), facts }, new Date(BASE)),
        ),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results)
        if (r.status === 'rejected') assert.ok(isAppErrorWithCode(r.reason, 'already_exists'), String(r.reason));
      const [row] = await rawQuery(location, `select live from certificate_counts where tenant_id = ${tenant.id}`);
      assert.equal(Number(row?.live), 1);
      const [day] = await rawQuery(location, `select n from certificate_expiry_days where tenant_id = ${tenant.id}`);
      assert.equal(Number(day?.n), 1);
      assert.equal((await store.certificates.list(query(tenant.id, BASE))).total, 1);
      await assertCountersMatchRows(location, 'parallel same');
    });
  });
}

describe('postgres: counters under concurrent writers in two processes (two pools)', { skip: postgresSkip }, () => {
  let location: TestLocation;
  let a: StoreHandle;
  let b: StoreHandle;
  before(async () => {
    location = await storeTargets[1]!.fresh();
    const masterKey = testMasterKey();
    a = await openStore(location.options({ masterKey }));
    b = await openStore(location.options({ masterKey }));
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await location?.cleanup();
  });

  it('parallel inserts from both pools, a new tenant at once (first counter row raced): exact', async () => {
    const tenant = await makeTenant(a);
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        (i % 2 ? a : b).certificates.insert(
          newCertificate(tenant.id, { facts: { notAfter: new Date(BASE + (i % 3) * DAY) } }),
          new Date(BASE),
        ),
      ),
    );
    assert.equal((await a.certificates.list(query(tenant.id, BASE))).total, 60);
    await assertCountersMatchRows(location, 'two pools insert');
  });

  it("a replacement that moves notAfter takes the tenant's live row first, before any day row", async () => {
    // Why: a group of inserts (store/write-group.ts) takes day rows in its members' order, which is
    // safe only if every other counter change waits for the live row before its day rows.
    const tenant = await makeTenant(a);
    const kept = await a.certificates.insert(
      newCertificate(tenant.id, { facts: { notAfter: new Date(BASE + DAY) } }),
      new Date(BASE),
    );
    const holder = new pg.Client({ connectionString: location.databaseUrl! });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query(`select live from certificate_counts where tenant_id = ${tenant.id} for update`);
      const replaced = a.certificates.replace(
        tenant.id,
        kept.certificateNo,
        {
          origin: 'cli',
          certificatePem: 'PEM',
          chainPems: [],
          facts: testFacts({ notAfter: new Date(BASE + 3 * DAY) }),
          privateKeyPem: null,
          file: null,
        },
        new Date(BASE),
      );
      // Either the replacement commits (it took no live row lock) or a backend of the store waits
      // on a lock while the holder keeps the live row.
      let settled = false;
      void replaced.finally(() => (settled = true)).catch(() => undefined);
      const waiting = async (): Promise<'waits' | 'committed'> => {
        while (!settled) {
          const { rows } = await holder.query<{ n: string }>(
            `select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
          );
          if (Number(rows[0]!.n) > 0) return 'waits';
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return 'committed';
      };
      assert.equal(await waiting(), 'waits');
      const dayLocked = await holder.query(
        `select count(*) as n from pg_locks l join pg_stat_activity s on s.pid = l.pid
         where s.datname = current_database() and l.relation = 'certificate_expiry_days'::regclass and l.mode = 'RowExclusiveLock'`,
      );
      assert.equal(Number(dayLocked.rows[0]!.n), 0, 'no day row touched before the live row');
      await holder.query('commit');
      await replaced;
    } finally {
      await holder.end();
    }
    await assertCountersMatchRows(location, 'replacement after the live row');
  });

  it('parallel replacements swapping days, replacements of the same certificate, deletions and prefix moves racing them: exact, no deadlock', async () => {
    const tenant = await makeTenant(a);
    const rng = prng(SEED + 1);
    const made: Certificate[] = [];
    for (let i = 0; i < 40; i++)
      made.push(
        await a.certificates.insert(
          newCertificate(tenant.id, { facts: { notAfter: new Date(BASE + (i % 4) * DAY) } }),
          new Date(BASE),
        ),
      );
    const work: Array<Promise<unknown>> = [];
    for (const [i, cert] of made.entries()) {
      const store = i % 2 ? a : b;
      // Day d -> 3 - d: concurrent transactions take day rows in opposite orders unless sorted.
      const swapped = BASE + (3 - (i % 4)) * DAY + rng.int(DAY);
      const replacement = () => ({
        origin: 'cli' as const,
        certificatePem: 'PEM',
        chainPems: [],
        facts: testFacts({ notAfter: new Date(BASE + rng.int(6) * DAY) }),
        privateKeyPem: null,
        file: null,
      });
      work.push(
        store.certificates.replace(
          tenant.id,
          cert.certificateNo,
          { ...replacement(), facts: testFacts({ notAfter: new Date(swapped) }) },
          new Date(BASE),
        ),
      );
      if (i % 3 === 0)
        work.push(
          (i % 2 ? b : a).certificates
            .replace(tenant.id, cert.certificateNo, replacement(), new Date(BASE))
            .catch((e: unknown) => (isAppErrorWithCode(e, 'not_found') ? null : Promise.reject(e))),
        );
      if (i % 5 === 0)
        work.push((i % 2 ? b : a).certificates.markDeleted(tenant.id, cert.certificateNo, new Date(BASE)));
      // The retention pass moving the expired prefix across the days being swapped, from both pools.
      if (i % 4 === 1)
        work.push(
          (i % 8 === 1 ? a : b).certificates.advanceExpiredBefore({
            at: new Date(BASE + (1 + (i % 5)) * DAY),
            limit: 10,
          }),
        );
    }
    const results = await Promise.allSettled(work);
    // A replace may lose to a deletion (not_found); nothing else may fail.
    for (const r of results)
      if (r.status === 'rejected') assert.ok(isAppErrorWithCode(r.reason, 'not_found'), String(r.reason));
    await assertCountersMatchRows(location, 'concurrent replace/delete');
    for (const at of [BASE, BASE + DAY + 1, BASE + 2 * DAY + DAY / 2 + 7, BASE + 5 * DAY]) {
      assert.deepEqual(
        await storeCounts(a, tenant.id, at),
        await rawCounts(location, tenant.id, at),
        new Date(at).toISOString(),
      );
    }
  });

  it('restores racing purges, and replacements of one certificate racing each other: one wins each, versions numbered once, exact', async () => {
    const tenant = await makeTenant(a);
    const made: Certificate[] = [];
    for (let i = 0; i < 30; i++) {
      const cert = await a.certificates.insert(
        newCertificate(tenant.id, { facts: { notAfter: new Date(BASE + (i % 4) * DAY) } }),
        new Date(BASE),
      );
      await a.certificates.markDeleted(tenant.id, cert.certificateNo, new Date(BASE));
      made.push(cert);
    }
    const outcomes = await Promise.all(
      made.map((cert, i) =>
        Promise.all([
          (i % 2 ? a : b).certificates.restore(tenant.id, cert.certificateNo, new Date(BASE + 1)),
          (i % 2 ? b : a).certificates.purge(tenant.id, cert.certificateNo, new Date(BASE + 1)),
        ]),
      ),
    );
    let restored = 0;
    for (const [restore, purge] of outcomes) {
      // Exactly one applies: restored (the purge finds it live) or purged (the restore finds it purged).
      if (typeof restore !== 'string') {
        assert.equal(purge, 'live');
        restored++;
      } else {
        assert.equal(restore, 'purged');
        assert.equal(purge, true);
      }
    }
    assert.equal((await a.certificates.list(query(tenant.id, BASE))).total, restored);
    await assertCountersMatchRows(location, 'restore/purge race');

    const target = await a.certificates.insert(newCertificate(tenant.id), new Date(BASE));
    const replaced = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        (i % 2 ? a : b).certificates.replace(
          tenant.id,
          target.certificateNo,
          {
            origin: 'cli',
            certificatePem: 'PEM',
            chainPems: [],
            facts: testFacts({ notAfter: new Date(BASE + (i % 5) * DAY) }),
            privateKeyPem: null,
            file: null,
          },
          new Date(BASE + 2),
        ),
      ),
    );
    assert.deepEqual(
      replaced.filter((r) => r.status === 'rejected'),
      [],
    );
    const versions = await a.certificateVersions.list(tenant.id, target.certificateNo);
    assert.deepEqual(
      versions.map((v) => v.version),
      Array.from({ length: 12 }, (_, i) => 12 - i),
    );
    assert.equal(await a.certificateVersions.currentVersion(tenant.id, target.certificateNo), 13);
    await assertCountersMatchRows(location, 'concurrent replacements of one certificate');
  });
});

for (const target of storeTargets) {
  describe(`${target.name}: migration 0003 backfills the counters`, { skip: target.skip }, () => {
    it('counts the live rows that existed before it, per tenant and per day', async () => {
      const location = await target.fresh();
      try {
        // The schema as it was before 0003, with rows written behind the store's back.
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
          const rng = prng(SEED + 2);
          const rows = Array.from({ length: 200 }, (_, i) => {
            const facts = testFacts();
            // Some before 1970 and at day boundaries, to check the day arithmetic in SQL.
            const notAfter =
              i % 17 === 0 ? -DAY * (1 + rng.int(3)) + rng.pick([0, 1, -1, DAY - 1]) : interestingInstant(rng);
            return {
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
          });
          await db.insertInto('certificates').values(rows).execute();
        } finally {
          await db.destroy();
        }
        const store = await openStore(location.options({ masterKey: testMasterKey() }));
        try {
          await assertCountersMatchRows(location, 'backfill');
          for (const tenantId of [1, 2]) {
            for (const at of [BASE, BASE + DAY / 2 + 1, BASE - 3 * DAY, 0, -DAY + 1]) {
              assert.deepEqual(
                await storeCounts(store, tenantId, at),
                await rawCounts(location, tenantId, at),
                `tenant ${tenantId} at ${new Date(at).toISOString()}`,
              );
            }
          }
          // The migration then keeps them: one more write.
          await store.certificates.insert(newCertificate(1, { facts: { notAfter: new Date(BASE) } }), new Date(BASE));
          assert.equal(await store.certificates.markDeleted(1, 3, new Date(BASE)), true, 'row c2 (tenant 1, live)');
          await assertCountersMatchRows(location, 'after backfill');
        } finally {
          await store.close();
        }
      } finally {
        await location.cleanup();
      }
    });
  });
}
