/**
 * Contract: every search query (repositories/certificate-search.ts, through core's normalisation
 * in core/certificate-search.ts) answers exactly what a brute-force scan of the live certificates
 * answers, on every store, in both plans (driven by one index, or walking the sort index with
 * every filter as a probe in growing windows, switching to the drive plan when a driver turns out
 * small: `searchTuning` lowered), for every sort and direction, paged by keyset
 * and by offset; totals are exact when they say so and a true lower bound otherwise.
 *
 * The data is random (seeded: `CERTKEEPER_TEST_SEED=<n>` replays a run): names with LIKE and
 * regex metacharacters and non-ASCII letters, DNS names with wildcards, punycode IDNs, mixed case
 * and trailing dots, IPv4 and IPv6 SANs; some certificates are deleted and some replaced (their
 * names change) after the writes, so the indexes must have followed. The oracle's "covers" is
 * domain/x509/hostname.ts's RFC 6125 rule over each certificate's names.
 *
 * Also: keyset paging while certificates are imported and deleted between pages never skips or
 * repeats a certificate that stayed live throughout; and the migration builds the indexes for
 * certificates that existed before it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { CertificateListQuery } from '../../src/core/certificates.ts';
import { encodeCursor, normaliseSearchQuery, decodeCursor } from '../../src/core/certificate-search.ts';
import type { CertificateQuery, CertificateSort } from '../../src/core/ports.ts';
import type { CertificateSummary } from '../../src/domain/model.ts';
import { asciiLower } from '../../src/domain/text.ts';
import { nameCoveredByCertificate } from '../../src/domain/x509/hostname.ts';
import { canonicalIpAddress } from '../../src/domain/x509/ip-address.ts';
import type { CertificateFacts } from '../../src/domain/x509/types.ts';
import { connect } from '../../src/store/connect.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { backfillSearchIndexes } from '../../src/store/migrations/0013-certificate-search.ts';
import { postgresDialect } from '../../src/store/dialect.ts';
import { withPreparedStatements } from '../../src/store/postgres-statements.ts';
import {
  searchCertificates,
  searchObserver,
  searchTuning,
  type SearchPlanTrace,
} from '../../src/store/repositories/certificate-search.ts';
import type { Database } from '../../src/store/schema.ts';
import {
  makeTenant,
  newCertificate,
  rawExec,
  rawQuery,
  storeTargets,
  testMasterKey,
  type StoreTarget,
  type TestLocation,
} from '../helpers/db.ts';

const DAY = 86_400_000;
const BASE = Date.UTC(2026, 10, 10);
const SEED = Number(process.env.CERTKEEPER_TEST_SEED ?? 20261205);
const CERTIFICATES = Number(process.env.CERTKEEPER_TEST_CERTIFICATES ?? 160);
const QUERIES = Number(process.env.CERTKEEPER_TEST_QUERIES ?? 120);

/** mulberry32. */
/**
 * Runs `body` on a fresh store of `target` with the search's windows fixed at `t` entries
 * (`searchTuning`) and every plan the search chooses recorded in `traces`; the tuning and the
 * observer are restored and the store closed and removed, whatever `body` does.
 */
async function withTracedSearch(
  target: StoreTarget,
  t: number,
  body: (store: StoreHandle, traces: SearchPlanTrace[]) => Promise<void>,
): Promise<void> {
  const location = await target.fresh();
  const store = await openStore(location.options({ masterKey: testMasterKey() }));
  const traces: SearchPlanTrace[] = [];
  searchTuning.minT = t;
  searchTuning.maxT = t;
  searchObserver.onPlan = (trace) => traces.push(trace);
  try {
    await body(store, traces);
  } finally {
    searchObserver.onPlan = undefined;
    searchTuning.minT = 1000;
    searchTuning.maxT = 50_000;
    await store.close();
    await location.cleanup();
  }
}

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

const ZONES = ['example.com', 'Example.ORG', 'pay.example.com', 'co.uk', 'xn--bcher-kva.example', 'xn--80ak6aa92e.com'];
const LABELS = ['www', 'api', 'pay', 'Mail', 'a', 'b-c', '_acme', 'xn--nxasmq6b', 'shop01', 'foo'];
const NAME_STEMS = ['pay', 'Shop_', 'a%b_', 'back\\slash', 'ÉCOLE', 'x.y*', '(re)+', 'payroll', 'PAYMENT'];
const ISSUERS = ["Let's Encrypt", 'DigiCert Inc', 'certkeeper'];
const KEYS = [
  { algorithm: 'EC' as const, bits: 256, curve: 'P-256' },
  { algorithm: 'EC' as const, bits: 384, curve: 'P-384' },
  { algorithm: 'RSA' as const, bits: 2048, curve: null },
];

function randomDnsName(rng: Rng): string {
  const zone = rng.pick(ZONES);
  switch (rng.int(5)) {
    case 0:
      return `*.${zone}`;
    case 1:
      return zone;
    case 2:
      return `${rng.pick(LABELS)}.${rng.pick(LABELS)}.${zone}`;
    case 3:
      return `${rng.pick(LABELS)}.${zone}.`; // a trailing dot, as some SANs carry
    default:
      return `${rng.pick(LABELS)}.${zone}`;
  }
}

function randomIp(rng: Rng): string {
  return rng.int(2) === 0
    ? `10.${rng.int(3)}.${rng.int(3)}.${rng.int(4)}`
    : canonicalIpAddress(`2001:db8::${rng.int(3).toString(16)}:${rng.int(4).toString(16)}`)!;
}

function randomFacts(rng: Rng, i: number): Partial<CertificateFacts> {
  const dns = [...new Set(Array.from({ length: 1 + rng.int(3) }, () => randomDnsName(rng)))];
  const ip = rng.int(3) === 0 ? [...new Set([randomIp(rng), randomIp(rng)])] : [];
  const sanless = rng.int(8) === 0;
  const commonName = rng.int(4) === 0 ? null : dns[0]!;
  return {
    commonName,
    sans: { dns: sanless ? [] : dns, ip: sanless ? [] : ip, email: [], uri: [] },
    // As inspect.ts derives it: the SAN dNSNames, else the CN.
    domains: sanless ? (commonName ? [commonName] : []) : dns,
    caName: rng.pick(ISSUERS),
    key: rng.pick(KEYS),
    notAfter: new Date(BASE + (rng.int(90) - 30) * DAY + rng.int(DAY) + i),
  };
}

const randomName = (rng: Rng, i: number): string => `${rng.pick(NAME_STEMS)}-${i}${rng.int(2) ? 'X' : ''}`;

interface Live {
  no: number;
  name: string;
  facts: CertificateFacts;
  createdAt: number;
}

/** What a query must answer, computed from the certificates without any index. */
function bruteForce(all: readonly Live[], query: Omit<CertificateQuery, 'tenantId' | 'offset' | 'limit'>): Live[] {
  const asOf = query.asOf.getTime();
  const lowerDomains = (l: Live) => l.facts.domains.map((d) => asciiLower(d.endsWith('.') ? d.slice(0, -1) : d));
  const matched = all.filter((l) => {
    const domains = lowerDomains(l);
    if (
      query.coversHost !== undefined &&
      !nameCoveredByCertificate(query.coversHost, {
        commonName: null,
        sans: { dns: domains, ip: [], email: [], uri: [] },
      })
    )
      return false;
    if (query.ipAddress !== undefined && !l.facts.sans.ip.includes(query.ipAddress)) return false;
    if (query.zone !== undefined && !domains.some((d) => d === query.zone || d.endsWith(`.${query.zone}`)))
      return false;
    if (query.nameContains && !asciiLower(l.name).includes(asciiLower(query.nameContains))) return false;
    if (query.domainContains !== undefined && !domains.some((d) => d.includes(asciiLower(query.domainContains!))))
      return false;
    const notAfter = l.facts.notAfter.getTime();
    if (
      query.notAfterBetween &&
      !(notAfter >= query.notAfterBetween.from.getTime() && notAfter < query.notAfterBetween.to.getTime())
    )
      return false;
    if (query.validity === 'expired' && !(notAfter < asOf)) return false;
    if (query.validity === 'unexpired' && !(notAfter >= asOf)) return false;
    if (query.keyType && l.facts.key.algorithm !== query.keyType.algorithm) return false;
    if (query.keyType?.bits !== undefined && l.facts.key.bits !== query.keyType.bits) return false;
    if (query.issuer !== undefined && l.facts.caName !== query.issuer) return false;
    return true;
  });
  const key = (l: Live): string | number =>
    query.sort === 'name'
      ? l.name
      : query.sort === 'notAfter'
        ? l.facts.notAfter.getTime()
        : query.sort === 'createdAt'
          ? l.createdAt
          : l.no;
  const sign = query.order === 'desc' ? -1 : 1;
  // Byte-wise for names (the stores' collation): code-point order equals UTF-8 byte order for
  // these names (no characters outside the Basic Multilingual Plane).
  return matched.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    const primary = ka < kb ? -1 : ka > kb ? 1 : 0;
    return sign * (primary !== 0 ? primary : a.no - b.no);
  });
}

/** Every group written out, with leading zeros: `2001:db8::1` → `2001:0db8:0000:…:0001`. */
function expandedIpv6(ip: string): string {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => g.padStart(4, '0')).join(':');
}

/** A random query of 1 to 3 filters, its values mostly taken from the data (so it matches some). */
function randomQuery(rng: Rng, all: readonly Live[]): CertificateListQuery {
  const sample = () => rng.pick(all);
  const domainOf = (l: Live) => l.facts.domains[0] ?? 'nothing.example';
  const query: CertificateListQuery = {
    sort: rng.pick<CertificateSort>(['name', 'notAfter', 'createdAt', 'certificateNo']),
    order: rng.pick(['asc', 'desc'] as const),
    offset: 0,
    limit: 0,
  };
  const filters = 1 + rng.int(3);
  for (let f = 0; f < filters; f++) {
    switch (rng.int(10)) {
      case 0: {
        // A host under a name of the data: covered by it when it is a wildcard.
        const d = domainOf(sample()).replace(/\.$/, '');
        query.coversHost = d.startsWith('*.')
          ? `${rng.pick(LABELS)}.${d.slice(2)}`
          : rng.int(4) === 0
            ? d.toUpperCase()
            : d;
        break;
      }
      case 1: {
        const ip = sample().facts.sans.ip[0] ?? '10.0.0.1';
        // Any textual form of the address: expanded IPv6, brackets, upper case.
        query.ipAddress = ip.includes(':') && rng.int(2) ? `[${expandedIpv6(ip).toUpperCase()}]` : ip;
        break;
      }
      case 2:
        query.zone = rng.int(3) === 0 ? `*.${rng.pick(ZONES)}` : rng.pick([...ZONES, 'com', 'example.com.', 'uk']);
        break;
      case 3: {
        const name = sample().name;
        const start = rng.int(Math.max(1, name.length - 3));
        query.nameContains =
          rng.int(5) === 0
            ? rng.pick(['%_\\', 'a%b', '(re', 'zzzz', 'pay'])
            : name.slice(start, start + 3 + rng.int(6)); // 4+ trigrams: FTS5's AND of the rarest
        break;
      }
      case 4: {
        const d = asciiLower(domainOf(sample()));
        const start = rng.int(Math.max(1, d.length - 3));
        query.domainContains =
          rng.int(5) === 0 ? rng.pick(['xn--', '.co', '*.e', 'zzz']) : d.slice(start, start + 3 + rng.int(8));
        break;
      }
      case 5: {
        const from = BASE + (rng.int(60) - 30) * DAY;
        query.notAfterBetween = { from: new Date(from), to: new Date(from + (1 + rng.int(30)) * DAY) };
        break;
      }
      case 6:
        query.validity = rng.pick(['expired', 'unexpired'] as const);
        break;
      case 7: {
        const key = rng.pick(KEYS);
        query.keyType = rng.int(2) ? { algorithm: key.algorithm } : { algorithm: key.algorithm, bits: key.bits };
        break;
      }
      case 8:
        query.issuer = rng.pick(ISSUERS);
        break;
      default:
        query.coversHost = `${rng.pick(LABELS)}.${rng.pick(ZONES)}`;
    }
  }
  return query;
}

for (const target of storeTargets) {
  describe(`certificate search on ${target.name}`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    let tenantId: number;
    let otherTenantId: number;
    const live = new Map<number, Live>();
    const asOf = new Date(BASE);

    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ masterKey: testMasterKey() }));
      tenantId = (await makeTenant(store)).id;
      otherTenantId = (await makeTenant(store)).id;
      const rng = prng(SEED);
      for (let i = 0; i < CERTIFICATES; i++) {
        const at = new Date(BASE - DAY + i * 1000 + (i % 7 === 0 ? -500 : 0));
        const name = randomName(rng, i);
        const facts = randomFacts(rng, i);
        const created = await store.certificates.insert(newCertificate(tenantId, { name, facts }), at);
        live.set(created.certificateNo, {
          no: created.certificateNo,
          name,
          facts: created.facts,
          createdAt: at.getTime(),
        });
        // Another tenant's twin: never in this tenant's answers.
        if (i % 5 === 0)
          await store.certificates.insert(newCertificate(otherTenantId, { name, facts: randomFacts(rng, i) }), at);
      }
      const numbers = [...live.keys()];
      for (const no of numbers) {
        const roll = rng.int(10);
        if (roll === 0) {
          assert.ok(await store.certificates.markDeleted(tenantId, no, new Date(BASE)));
          live.delete(no);
        } else if (roll === 1) {
          const facts = randomFacts(rng, no);
          const replaced = await store.certificates.replace(
            tenantId,
            no,
            { ...newCertificate(tenantId, { facts }), origin: 'cli' },
            new Date(BASE),
          );
          live.set(no, { ...live.get(no)!, facts: replaced.facts });
        }
      }
    });

    after(async () => {
      searchTuning.minT = 1000;
      searchTuning.maxT = 50_000;
      await store?.close();
      await location?.cleanup();
    });

    async function check(raw: CertificateListQuery, label: string): Promise<void> {
      const normalised = normaliseSearchQuery(raw);
      const expected = bruteForce([...live.values()], { ...normalised, asOf }).map((l) => l.no);
      const sort = raw.sort ?? 'certificateNo';
      const order = raw.order ?? 'asc';
      // Keyset pages of a random size, through a cursor string as a face would carry it.
      const pageSize = 1 + (expected.length % 7);
      const got: number[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 500; pages++) {
        const page = await store.certificates.list({
          ...normalised,
          ...(cursor ? { after: decodeCursor(cursor, sort, order) } : {}),
          tenantId,
          asOf,
          offset: 0,
          limit: pageSize,
        });
        got.push(...page.items.map((item) => item.certificateNo));
        assert.ok(
          page.items.every((item) => item.tenantId === tenantId),
          `${label}: another tenant's row`,
        );
        if (page.items.length < pageSize) break;
        cursor = encodeCursor(page.items.at(-1) as CertificateSummary, sort, order);
      }
      assert.deepEqual(got, expected, `${label}: keyset pages`);
      // One offset page, and its total.
      const offset = expected.length > 3 ? 2 : 0;
      const page = await store.certificates.list({ ...normalised, tenantId, asOf, offset, limit: 3 });
      assert.deepEqual(
        page.items.map((item) => item.certificateNo),
        expected.slice(offset, offset + 3),
        `${label}: offset page`,
      );
      if (page.totalExact) assert.equal(page.total, expected.length, `${label}: exact total`);
      else
        assert.ok(
          page.total <= expected.length && page.total > 1,
          `${label}: lower bound ${page.total} of ${expected.length}`,
        );
    }

    for (const plan of ['drive', 'walk'] as const) {
      it(`answers random queries like a brute-force scan (${plan} plan, seed ${SEED})`, async () => {
        // T = 1: a filter matching more than one certificate is walked, not driven.
        searchTuning.minT = plan === 'drive' ? 1000 : 1;
        searchTuning.maxT = plan === 'drive' ? 50_000 : 1;
        const rng = prng(SEED + (plan === 'drive' ? 1 : 2));
        const all = [...live.values()];
        // Which plans answered: with T = 1 every branch of the walk must have been taken.
        const seen = new Set<string>();
        searchObserver.onPlan = (trace) => {
          seen.add(trace.plan);
          if (trace.windows > 1) seen.add('several windows');
          if (trace.narrowJoin) seen.add('walk joined to the narrow index');
          if (trace.keyNameWalk) seen.add('walk of the key type and name index');
          if (trace.gramWalk) seen.add('walk of a name trigram');
        };
        try {
          for (let q = 0; q < QUERIES; q++) {
            const query = randomQuery(rng, all);
            await check(query, `seed ${SEED} ${plan} query ${q} ${JSON.stringify(query)}`);
          }
          // A substring many names share, sorted by name, with the random filters beside it: the
          // walk of its rarest trigram's rows (migration 0023), escaped and non-ASCII texts too,
          // and texts whose rarest trigram many other names hold (`-12x`: `pay-112X` has `12x`).
          for (let q = 0; q < QUERIES / 4; q++) {
            const query: CertificateListQuery = {
              ...randomQuery(rng, all),
              nameContains: rng.pick(['pay', 'PAY', 'a%b', 'Éco', '(re)', 'back\\', '-12x', '-13X', 'ay-1x', 'op_-2']),
              sort: 'name',
            };
            await check(query, `seed ${SEED} ${plan} name query ${q} ${JSON.stringify(query)}`);
          }
        } finally {
          searchObserver.onPlan = undefined;
        }
        const expected =
          plan === 'drive'
            ? ['drive']
            : [
                'drive',
                'walk',
                'walk, then drive',
                'several windows',
                'walk joined to the narrow index',
                'walk of the key type and name index',
                'walk of a name trigram',
              ];
        for (const branch of expected)
          assert.ok(seen.has(branch), `the ${branch} plan answered no query: ${[...seen]}`);
      });
    }

    it('answers hand-picked cases: RFC 6125 one label, IPv6 forms, zones with wildcards, escaped LIKE', async () => {
      searchTuning.minT = 1000;
      searchTuning.maxT = 50_000;
      const at = new Date(BASE);
      const add = async (name: string, dns: string[], ip: string[] = []) => {
        const created = await store.certificates.insert(
          newCertificate(tenantId, {
            name,
            facts: { commonName: dns[0] ?? null, sans: { dns, ip, email: [], uri: [] }, domains: dns },
          }),
          at,
        );
        live.set(created.certificateNo, {
          no: created.certificateNo,
          name,
          facts: created.facts,
          createdAt: at.getTime(),
        });
        return created.certificateNo;
      };
      const wildcard = await add('wild-api', ['*.api.hand.test']);
      const exact = await add('exact-foo', ['foo.api.hand.test']);
      const v6 = await add('v6-host', ['v6.hand.test'], ['2001:db8:ffff::1']);
      const percent = await add('100%_off\\sale', ['sale.hand.test']);
      const list = async (query: CertificateListQuery) =>
        (
          await store.certificates.list({ ...normaliseSearchQuery(query), tenantId, asOf, offset: 0, limit: 50 })
        ).items.map((i) => i.certificateNo);
      assert.deepEqual(await list({ coversHost: 'FOO.api.hand.test', offset: 0, limit: 0 }), [wildcard, exact]);
      assert.deepEqual(await list({ coversHost: 'bar.api.hand.test', offset: 0, limit: 0 }), [wildcard]);
      assert.deepEqual(await list({ coversHost: 'a.b.api.hand.test', offset: 0, limit: 0 }), []);
      assert.deepEqual(await list({ coversHost: 'api.hand.test', offset: 0, limit: 0 }), []);
      for (const form of ['2001:DB8:FFFF::1', '[2001:db8:ffff:0:0:0:0:1]', '2001:0db8:ffff::0:1'])
        assert.deepEqual(await list({ ipAddress: form, offset: 0, limit: 0 }), [v6], form);
      assert.deepEqual(await list({ coversHost: '2001:db8:ffff::0001', offset: 0, limit: 0 }), [v6]);
      assert.deepEqual(await list({ zone: 'hand.test', sort: 'certificateNo', offset: 0, limit: 0 }), [
        wildcard,
        exact,
        v6,
        percent,
      ]);
      assert.deepEqual(await list({ zone: '*.api.hand.test', offset: 0, limit: 0 }), [wildcard, exact]);
      assert.deepEqual(await list({ zone: 'and.test', offset: 0, limit: 0 }), []);
      assert.deepEqual(await list({ nameContains: '%_o', offset: 0, limit: 0 }), [percent]);
      assert.deepEqual(await list({ nameContains: 'f\\s', offset: 0, limit: 0 }), [percent]);
      assert.deepEqual(await list({ nameContains: '0%_', offset: 0, limit: 0 }), [percent]);
      assert.deepEqual(await list({ nameContains: 'x%y', offset: 0, limit: 0 }), []);
      // Every trigram of the text, in another order: FTS5's AND of trigrams finds it, the LIKE drops it.
      const decoy = await add('def-cde-bcd-abc', ['fgh.efg.def.cde.bcd.abc.hand.test']);
      const real = await add('xabcdefx', ['abcdefgh.hand.test']);
      assert.deepEqual(await list({ nameContains: 'ABCDEF', offset: 0, limit: 0 }), [real]);
      assert.deepEqual(await list({ domainContains: 'abcdefgh.', offset: 0, limit: 0 }), [real]);
      assert.deepEqual(await list({ domainContains: 'def.cde.bcd', offset: 0, limit: 0 }), [decoy]);
      // PostgreSQL asks the GIN index for two windows only (`gh.` and `.ab`, both in the decoy):
      // the whole text, tested on the rows they yield, drops it.
      assert.deepEqual(await list({ domainContains: 'gh.ab', offset: 0, limit: 0 }), []);
      assert.deepEqual(await list({ domainContains: 'efgh.h', offset: 0, limit: 0 }), [real]);
    });

    it('keyset pages never skip or repeat a certificate while others are imported and deleted', async () => {
      const rng = prng(SEED + 3);
      const query: CertificateListQuery = { zone: 'example.com', sort: 'name', order: 'asc', offset: 0, limit: 0 };
      const normalised = normaliseSearchQuery(query);
      const before = bruteForce([...live.values()], { ...normalised, asOf }).map((l) => l.no);
      const deletedMeanwhile = new Set<number>();
      const seen: number[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 1000; pages++) {
        const page = await store.certificates.list({
          ...normalised,
          ...(cursor ? { after: decodeCursor(cursor, 'name', 'asc') } : {}),
          tenantId,
          asOf,
          offset: 0,
          limit: 4,
        });
        seen.push(...page.items.map((i) => i.certificateNo));
        if (page.items.length < 4) break;
        cursor = encodeCursor(page.items.at(-1)!, 'name', 'asc');
        // Between pages: an import that sorts anywhere, and a deletion of a random one.
        await store.certificates.insert(
          newCertificate(tenantId, {
            name: `${rng.pick(NAME_STEMS)}-meanwhile-${pages}`,
            facts: { domains: ['new.example.com'], sans: { dns: ['new.example.com'], ip: [], email: [], uri: [] } },
          }),
          new Date(BASE),
        );
        const victims = [...live.keys()];
        const victim = victims[rng.int(victims.length)]!;
        if (await store.certificates.markDeleted(tenantId, victim, new Date(BASE))) {
          live.delete(victim);
          deletedMeanwhile.add(victim);
        }
      }
      assert.equal(new Set(seen).size, seen.length, 'no certificate is listed twice');
      for (const no of before)
        if (!deletedMeanwhile.has(no)) assert.ok(seen.includes(no), `certificate ${no} stayed live and was skipped`);
      const names = seen.map((no) => live.get(no)?.name ?? null).filter((n) => n !== null);
      assert.deepEqual(names, [...names].sort(), 'in name order');
    });
  });

  describe(`migration 0022 on ${target.name}`, { skip: target.skip }, () => {
    it('builds the narrow search indexes, and SQLite drives through certificates_live_search', async () => {
      const location = await target.fresh();
      const store = await openStore(location.options({ masterKey: testMasterKey() }));
      try {
        const tenant = await makeTenant(store);
        const dns = ['a.narrow.test'];
        const facts = { commonName: dns[0]!, sans: { dns, ip: [], email: [], uri: [] }, domains: dns };
        await store.certificates.insert(newCertificate(tenant.id, { name: 'narrow', facts }), new Date(BASE));
        const expected =
          target.name === 'postgres'
            ? ['certificates_live_name_cover', 'certificates_live_search']
            : ['certificates_live_search'];
        const indexes =
          target.name === 'postgres'
            ? await rawQuery(
                location,
                "select indexname as name from pg_indexes where indexname like 'certificates_live_%'",
              )
            : await rawQuery(
                location,
                "select name from sqlite_master where type = 'index' and name like 'certificates_live_%'",
              );
        for (const name of expected)
          assert.ok(
            indexes.some((r) => r.name === name),
            `${name} missing`,
          );
        if (target.name !== 'postgres') {
          // The drive's statement names columns of the narrow index only: SQLite reads no row.
          const plan = await rawQuery(
            location,
            `explain query plan select c.certificate_no from (select 1 as certificate_no) as m
             cross join certificates c indexed by certificates_live_search
             where c.tenant_id = 1 and c.deleted_at is null and c.certificate_no = m.certificate_no
               and c.key_algorithm = 'RSA' order by c.name`,
          );
          assert.ok(
            plan.some((r) => String(r.detail).includes('COVERING INDEX certificates_live_search')),
            JSON.stringify(plan),
          );
        }
      } finally {
        await store.close();
        await location.cleanup();
      }
    });
  });

  describe(`migration 0023 on ${target.name}`, { skip: target.skip }, () => {
    it('a key type sorted by name walks certificates_live_key_name: the key type is a range, not a probe', async () => {
      await withTracedSearch(target, 2, async (store, traces) => {
        const tenant = await makeTenant(store);
        const rsa = { algorithm: 'RSA' as const, bits: 2048, curve: null };
        const ec = { algorithm: 'EC' as const, bits: 256, curve: 'P-256' };
        // Every RSA certificate sorts after every EC one: a walk of the name index with the key
        // type as a probe passes all the EC ones (T = 2: several windows, then the drive).
        const rows: Array<{ no: number; name: string; expired: boolean }> = [];
        for (let i = 0; i < 24; i++) {
          const isRsa = i >= 16;
          const name = `${isRsa ? 'z' : 'a'}-${String(i).padStart(2, '0')}`;
          const expired = i % 2 === 0;
          const dns = [`h${i}.key.test`];
          const facts = {
            commonName: dns[0]!,
            sans: { dns, ip: [], email: [], uri: [] },
            domains: dns,
            key: isRsa ? rsa : ec,
            notAfter: new Date(BASE + (expired ? -DAY : DAY)),
          };
          const created = await store.certificates.insert(
            newCertificate(tenant.id, { name, facts }),
            new Date(BASE - 2 * DAY),
          );
          rows.push({ no: created.certificateNo, name, expired });
        }
        const query = normaliseSearchQuery({
          keyType: { algorithm: 'RSA' },
          validity: 'expired',
          sort: 'name',
          order: 'asc',
          offset: 0,
          limit: 1,
        } satisfies CertificateListQuery);
        const page = await store.certificates.list({ ...query, tenantId: tenant.id, asOf: new Date(BASE) });
        const expected = rows
          .filter((r) => r.name.startsWith('z') && r.expired)
          .sort((a, b) => (a.name < b.name ? -1 : 1))
          .map((r) => r.no);
        assert.deepEqual(
          page.items.map((i) => i.certificateNo),
          expected.slice(0, 1),
        );
        // The first window (T = 2 entries of the RSA range) fills the page: no drive.
        assert.deepEqual(traces.at(-1), { ...traces.at(-1), plan: 'walk', windows: 1, keyNameWalk: true });
      });
    });
  });

  describe(`name trigram walk on ${target.name}`, { skip: target.skip }, () => {
    it('walks the rarest trigram of a substring in name order and tests the substring on each row', async () => {
      await withTracedSearch(target, 1, async (store, traces) => {
        const tenant = await makeTenant(store);
        // `12x` is rarer than `-12` and `pay`, and some names holding it do not hold `-12x`: they
        // sort second ascending and first descending. T = 1 and two a page: the walk goes on
        // while more than 4 names match (the drive would take over at 4), and fills the page.
        const names = ['pay-112X', 'pay-12X', 'shop-12x', 'Pay-212X', 'pay-120', 'PAY-12XY', 'a-12X', 'z-912X', 'm-12'];
        names.push('b-12X', 'c-12X', 'd-12X', 'e-12X');
        for (let i = 0; i < 40; i++) names.push(`pay-${1000 + i}`, `pay-12${i}z`);
        const rows: Array<{ no: number; name: string }> = [];
        for (const name of names) {
          const dns = [`${rows.length}.gram.test`];
          const facts = { commonName: dns[0]!, sans: { dns, ip: [], email: [], uri: [] }, domains: dns };
          const created = await store.certificates.insert(newCertificate(tenant.id, { name, facts }), new Date(BASE));
          rows.push({ no: created.certificateNo, name });
        }
        for (const text of ['-12x', '12X']) {
          for (const order of ['asc', 'desc'] as const) {
            const query = normaliseSearchQuery({ nameContains: text, sort: 'name', order, offset: 0, limit: 2 });
            const page = await store.certificates.list({ ...query, tenantId: tenant.id, asOf: new Date(BASE) });
            const expected = rows
              .filter((r) => asciiLower(r.name).includes(asciiLower(text)))
              .sort((a, b) =>
                a.name === b.name ? a.no - b.no : Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)),
              )
              .map((r) => r.no);
            if (order === 'desc') expected.reverse();
            assert.deepEqual(
              page.items.map((i) => i.certificateNo),
              expected.slice(0, 2),
              `${text} ${order}`,
            );
            if (page.totalExact) assert.equal(page.total, expected.length, `${text} ${order}: total`);
            else assert.ok(page.total > 1 && page.total <= expected.length, `${text} ${order}: lower bound`);
            assert.deepEqual(traces.at(-1), { ...traces.at(-1), plan: 'walk', gramWalk: true }, `${text} ${order}`);
          }
        }
      });
    });
  });

  describe(`walk count in name order on ${target.name}`, { skip: target.skip }, () => {
    it('counts the "more than N" of a walk whose probes read the walked index (migration 0028)', async () => {
      await withTracedSearch(target, 10, async (store, traces) => {
        const tenant = await makeTenant(store);
        // 40 certificates under one zone; every third expires inside the window. T = 10: both
        // filters match more than T, so the name index is walked, 10 entries a window.
        const rows: Array<{ no: number; name: string; within: boolean }> = [];
        for (let i = 0; i < 40; i++) {
          const within = i % 3 === 0;
          const name = `n-${String(i).padStart(2, '0')}`;
          const dns = [`h${i}.count.test`];
          const facts = {
            commonName: dns[0]!,
            sans: { dns, ip: [], email: [], uri: [] },
            domains: dns,
            notAfter: new Date(BASE + (within ? 5 : 40) * DAY + i),
          };
          const created = await store.certificates.insert(newCertificate(tenant.id, { name, facts }), new Date(BASE));
          rows.push({ no: created.certificateNo, name, within });
        }
        const window = { from: new Date(BASE), to: new Date(BASE + 14 * DAY) };
        for (const order of ['asc', 'desc'] as const) {
          const query = normaliseSearchQuery({
            zone: 'count.test',
            notAfterBetween: window,
            sort: 'name',
            order,
            offset: 0,
            limit: 2,
          } satisfies CertificateListQuery);
          const page = await store.certificates.list({ ...query, tenantId: tenant.id, asOf: new Date(BASE) });
          const matches = rows.filter((r) => r.within);
          if (order === 'desc') matches.reverse();
          assert.deepEqual(
            page.items.map((i) => i.certificateNo),
            matches.slice(0, 2).map((r) => r.no),
            order,
          );
          // The total is the matches among the first window's 10 entries (n-00 … n-09: 0, 3, 6,
          // 9 ascending; n-39 … n-30: 39, 36, 33, 30 descending), a lower bound of the 14.
          assert.deepEqual({ total: page.total, totalExact: page.totalExact }, { total: 4, totalExact: false }, order);
          // PostgreSQL reads notAfter from the name order's own index; SQLite joins the narrow one.
          assert.deepEqual(
            traces.at(-1),
            { ...traces.at(-1), plan: 'walk', windows: 1, narrowJoin: target.name !== 'postgres' },
            order,
          );
        }
      });
    });
  });

  describe(`domain substring with column statistics on ${target.name}`, { skip: target.skip }, () => {
    it('stays exact when the windows are chosen from pg_stats (an analyzed table)', async () => {
      const location = await target.fresh();
      const store = await openStore(location.options({ masterKey: testMasterKey() }));
      try {
        const tenant = await makeTenant(store);
        const all: Array<{ no: number; domains: string[] }> = [];
        const add = async (name: string, domains: string[]) => {
          const facts = { commonName: domains[0]!, sans: { dns: domains, ip: [], email: [], uri: [] }, domains };
          const created = await store.certificates.insert(newCertificate(tenant.id, { name, facts }), new Date(BASE));
          all.push({ no: created.certificateNo, domains });
        };
        for (let i = 0; i < 60; i++)
          await add(`common-${i}`, [`h${i}.z${i % 6}.example.com`, `www.stats${i % 4}.test`]);
        // Every window of `gh.ab` is in the decoy, not the text: `.ab` is the rarest in the
        // sample (only the decoy holds it), so the index is asked for it alone; the whole text,
        // tested on the rows it yields, drops the decoy.
        await add('decoy', ['fgh.efg.def.cde.bcd.abc.stats.test']);
        await add('real', ['abcdefgh.stats.test']);
        if (target.name === 'postgres') {
          await rawExec(location, 'analyze certificate_domains');
          const [stats] = await rawQuery(
            location,
            `select coalesce(array_length(most_common_vals::text::text[], 1), 0)
               + coalesce(array_length(histogram_bounds::text::text[], 1), 0) as n
             from pg_stats where tablename = 'certificate_domains' and attname = 'domain'`,
          );
          assert.ok(Number(stats?.n) > 0, 'pg_stats holds a sample of the domains');
        }
        const texts = ['gh.ab', 'efgh.s', 'z1.exa', '.z3.example.c', 'h59.z5', 'stats2.t', '.abc.', 'zzz.q'];
        for (const text of texts) {
          const expected = all.filter((c) => c.domains.some((d) => d.includes(text))).map((c) => c.no);
          const page = await store.certificates.list({
            ...normaliseSearchQuery({ domainContains: text, offset: 0, limit: 0 }),
            tenantId: tenant.id,
            asOf: new Date(BASE),
            offset: 0,
            limit: 100,
          });
          assert.deepEqual(
            page.items.map((i) => i.certificateNo),
            expected,
            text,
          );
          assert.deepEqual(
            { total: page.total, totalExact: page.totalExact },
            { total: expected.length, totalExact: true },
          );
        }
      } finally {
        await store.close();
        await location.cleanup();
      }
    });
  });

  describe(`search statements on ${target.name}`, { skip: target.name !== 'postgres' || target.skip }, () => {
    it('are planned with their values on every run: never named, so never a generic plan', async () => {
      const location = await target.fresh();
      const store = await openStore(location.options({ masterKey: testMasterKey() }));
      // One connection, so the statements prepared on it are the ones pg_prepared_statements lists.
      const pool = new pg.Pool({ connectionString: location.databaseUrl!, max: 1 });
      const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: withPreparedStatements(pool) }) });
      try {
        const tenant = await makeTenant(store);
        for (let i = 0; i < 12; i++) {
          const dns = [`h${i}.planned.test`];
          const facts = { commonName: dns[0]!, sans: { dns, ip: [], email: [], uri: [] }, domains: dns };
          await store.certificates.insert(newCertificate(tenant.id, { name: `planned-${i}`, facts }), new Date(BASE));
        }
        searchTuning.minT = 2;
        searchTuning.maxT = 2;
        // More than five runs: PostgreSQL would weigh a generic plan for a named statement.
        for (let run = 0; run < 7; run++)
          for (const query of [
            { zone: 'planned.test', sort: 'name' },
            { zone: 'planned.test', nameContains: 'ned-1', sort: 'notAfter' },
            { domainContains: 'h1.pla', sort: 'createdAt' },
          ] satisfies Array<Partial<CertificateListQuery>>) {
            const page = await searchCertificates(db, postgresDialect, {
              ...normaliseSearchQuery({ ...query, offset: 0, limit: 0 }),
              tenantId: tenant.id,
              asOf: new Date(BASE),
              offset: 0,
              limit: 2,
            });
            assert.ok(page.items.length > 0, JSON.stringify(query));
          }
        const { rows } = await pool.query<{ statement: string }>('select statement from pg_prepared_statements');
        assert.deepEqual(
          rows.map((r) => r.statement),
          [],
        );
      } finally {
        searchTuning.minT = 1000;
        searchTuning.maxT = 50_000;
        await db.destroy();
        await store.close();
        await location.cleanup();
      }
    });
  });

  describe(`migration 0013 on ${target.name}`, { skip: target.skip }, () => {
    it('builds the search indexes from the certificates that exist (its backfill)', async () => {
      const location = await target.fresh();
      const store = await openStore(location.options({ masterKey: testMasterKey() }));
      try {
        const tenant = await makeTenant(store);
        const rows: number[] = [];
        for (let i = 0; i < 30; i++) {
          const dns = i % 3 === 0 ? [`*.z${i}.old.test`] : [`h${i}.old.test`];
          const facts = {
            commonName: dns[0]!,
            sans: { dns, ip: i % 4 === 0 ? ['192.0.2.7'] : [], email: [], uri: [] },
            domains: dns,
          };
          rows.push(
            (await store.certificates.insert(newCertificate(tenant.id, { name: `old-${i}`, facts }), new Date(BASE)))
              .certificateNo,
          );
        }
        // As before the migration: no search rows. Then the migration's own backfill.
        const connection = await connect(location.options());
        try {
          await sql`delete from certificate_names`.execute(connection.db);
          if (connection.dialect.substringIndex === 'fts5')
            await sql`delete from certificate_search`.execute(connection.db);
          const emptied = await store.certificates.list({
            ...normaliseSearchQuery({ zone: 'old.test', offset: 0, limit: 10 }),
            tenantId: tenant.id,
            asOf: new Date(BASE),
          });
          assert.equal(emptied.total, 0);
          await backfillSearchIndexes(connection.db as unknown as Kysely<unknown>, connection.dialect);
        } finally {
          await connection.db.destroy();
        }
        const list = async (query: CertificateListQuery) =>
          (
            await store.certificates.list({
              ...normaliseSearchQuery(query),
              tenantId: tenant.id,
              asOf: new Date(BASE),
              offset: 0,
              limit: 100,
            })
          ).items.map((i) => i.certificateNo);
        assert.deepEqual(await list({ zone: 'old.test', offset: 0, limit: 0 }), rows);
        assert.deepEqual(
          await list({ ipAddress: '192.0.2.7', offset: 0, limit: 0 }),
          rows.filter((_, i) => i % 4 === 0),
        );
        assert.deepEqual(await list({ coversHost: 'www.z3.old.test', offset: 0, limit: 0 }), [rows[3]]);
        assert.deepEqual(await list({ nameContains: 'old-2', offset: 0, limit: 0 }), [rows[2], ...rows.slice(20, 30)]);
        assert.deepEqual(await list({ domainContains: 'h29.', offset: 0, limit: 0 }), [rows[29]]);
        if (target.name === 'postgres') {
          const indexes = await rawQuery(location, "select indexname from pg_indexes where indexname like '%trgm'");
          // 0029 dropped the name's (nothing reads it since 0023's trigram table).
          assert.deepEqual(indexes.map((r) => r.indexname).sort(), ['certificate_domains_domain_trgm']);
        }
      } finally {
        await store.close();
        await location.cleanup();
      }
    });
  });
}
