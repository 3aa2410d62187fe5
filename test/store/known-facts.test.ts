/**
 * Contract (store/known-facts.ts `readPage`): a list page read again leaves the `facts` column
 * out when the process holds every row's facts, and answers exactly what a read with facts
 * answers; on both stores, for the counted list pages (certificate-list.ts, the merged page on
 * PostgreSQL), the Edge list's certificates (slots.ts: its merged statement on PostgreSQL,
 * getMany on SQLite), getMany (certificates.ts `liveSummaries`) and ACM's page (acm.ts).
 * - A page's first read takes facts; its next reads do not, and give the same answer.
 * - A row changed since (another certificate, or the same fingerprint stored again with other
 *   facts: a new `updated_at`) makes that read one without facts and one with them, and the
 *   answer is the changed row's facts, never the held ones.
 * - Paging through (a new page each time) reads each page once, with facts.
 * - After a miss, the page takes facts for RETRY_AFTER_MISS reads, then tries again.
 * - Under a fixed pseudo-random sequence of such changes, every summary's facts equal the stored
 *   ones, read on a connection of the test's own.
 *
 * Which columns each read selected is read from the statements sent: the store's statement
 * channel on PostgreSQL (postgres-statements.ts), better-sqlite3's statement calls on SQLite.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { AcmListQuery, CertificateQuery } from '../../src/core/ports.ts';
import type { CertificateFacts } from '../../src/domain/x509/types.ts';
import { forgetKnownFacts, PAGE_KEY_MAX, readPage, RETRY_AFTER_MISS } from '../../src/store/known-facts.ts';
import { STATEMENT_CHANNEL, type SentStatement } from '../../src/store/postgres-statements.ts';
import { factsFromJson, factsToJson } from '../../src/store/rows.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import {
  makeTenant,
  newCertificate,
  rawExec,
  storeTargets,
  testFacts,
  testMasterKey,
  type TestLocation,
} from '../helpers/db.ts';

const AT = new Date(Date.UTC(2026, 2, 1));
const later = (minutes: number) => new Date(AT.getTime() + minutes * 60_000);

/** better-sqlite3's statement prototype, one for every connection of the process. */
const statement = Object.getPrototypeOf(new Database(':memory:').prepare('select 1')) as Record<
  'all' | 'iterate' | 'get',
  (...a: unknown[]) => unknown
>;

/** The SQL texts of the certificate page statements run during `work`, on either store. */
async function pageStatementsDuring<T>(work: () => Promise<T>): Promise<{ result: T; texts: string[] }> {
  const texts: string[] = [];
  const isPage = (text: string) => /from "certificates"|from \(select/i.test(text) && /"name"/.test(text);
  // PostgreSQL: the store's statement channel, where every statement is published as it is sent
  // to the driver (a pg client or the pipeline).
  const sent = (context: unknown): void => {
    const { text } = context as SentStatement;
    if (isPage(text)) texts.push(text);
  };
  STATEMENT_CHANNEL.start.subscribe(sent);
  const originals = { all: statement.all, iterate: statement.iterate, get: statement.get };
  for (const method of ['all', 'iterate', 'get'] as const)
    statement[method] = function (this: { source: string }, ...args: unknown[]) {
      if (isPage(this.source)) texts.push(this.source);
      return originals[method]!.apply(this, args);
    };
  try {
    return { result: await work(), texts };
  } finally {
    STATEMENT_CHANNEL.start.unsubscribe(sent);
    Object.assign(statement, originals);
  }
}

/** A result as text, Maps (getMany, the Edge list's certificates) included. */
const text = (result: unknown): string =>
  JSON.stringify(result, (_key, value: unknown) => (value instanceof Map ? [...value.entries()] : value));

/** Every certificate summary in a result (a page's items, a Map's values, ACM's rows' summaries). */
function summariesIn(result: unknown): Array<{ certificateNo: number; facts: CertificateFacts }> {
  const found: Array<{ certificateNo: number; facts: CertificateFacts }> = [];
  const walk = (value: unknown): void => {
    if (value instanceof Map) for (const item of value.values()) walk(item);
    else if (Array.isArray(value)) for (const item of value) walk(item);
    else if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
      const record = value as Record<string, unknown>;
      if (typeof record.certificateNo === 'number' && typeof record.facts === 'object')
        found.push(record as unknown as { certificateNo: number; facts: CertificateFacts });
      else for (const item of Object.values(record)) walk(item);
    }
  };
  walk(result);
  return found;
}

/** Whether a page statement selected the facts column. */
const withFacts = (text: string): boolean => /"facts"/.test(text);

describe('readPage', () => {
  beforeEach(() => forgetKnownFacts());
  const reads = async (pageKey: string, times: number) => {
    const taken: boolean[] = [];
    for (let i = 0; i < times; i++)
      await readPage(
        pageKey,
        async (facts) => taken.push(facts),
        () => true,
      );
    return taken;
  };
  it("tries without facts from a page's second read on", async () => {
    assert.deepEqual(await reads('page', 3), [true, false, false]);
  });
  it(`remembers no page whose key is longer than ${PAGE_KEY_MAX} characters`, async () => {
    assert.deepEqual(await reads('x'.repeat(PAGE_KEY_MAX + 1), 3), [true, true, true]);
    assert.deepEqual(await reads('x'.repeat(PAGE_KEY_MAX), 2), [true, false]);
  });
});

for (const target of storeTargets) {
  describe(`${target.name}: list pages leave out the facts the process holds`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    let tenantId: number;
    const numbers: number[] = [];

    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ masterKey: testMasterKey() }));
      tenantId = (await makeTenant(store)).id;
      for (let i = 0; i < 12; i++)
        numbers.push((await store.certificates.insert(newCertificate(tenantId), AT)).certificateNo);
      // An Edge slot a certificate, listed newest first: the first page holds the last five.
      for (const certificateNo of numbers)
        await store.slots.create(
          {
            tenantId,
            serviceRegion: 'KR_JP',
            tlsVersion: 'TLS_ALL_VERSIONS',
            cipherProfile: 'DEFAULT',
            items: [{ region: 'KR_JP', certificateNo }],
          },
          AT,
        );
    });
    after(async () => {
      await store?.close();
      await location?.cleanup();
    });
    beforeEach(() => forgetKnownFacts());

    /** `changed`: indexes in `numbers` of two certificates on the list's first page. */
    const lists: Array<{
      name: string;
      read: (over?: { offset?: number }) => Promise<unknown>;
      changed: [number, number];
    }> = [
      {
        name: 'the counted list',
        changed: [1, 0],
        read: ({ offset = 0 } = {}) =>
          store.certificates.list({ tenantId, asOf: later(1), offset, limit: 5 } satisfies CertificateQuery),
      },
      {
        name: 'the Edge list',
        changed: [10, 11],
        read: ({ offset = 0 } = {}) => store.slots.list(tenantId, { offset, limit: 5 }),
      },
      {
        name: 'getMany',
        changed: [1, 0],
        read: ({ offset = 0 } = {}) => store.certificates.getMany(tenantId, numbers.slice(offset, offset + 5)),
      },
      {
        name: 'ACM ListCertificates',
        changed: [1, 0],
        read: async ({ offset = 0 } = {}) => {
          const query: AcmListQuery = {
            tenantId,
            asOf: later(1),
            certificates: ['issued', 'expired', 'revoked'],
            keyTypes: null,
            requests: null,
            order: 'asc',
            after: null,
            limit: 5,
          };
          if (offset === 0) return store.acm.list(query);
          // ACM pages by position: the row before the page.
          const before = (await store.acm.list({ ...query, limit: offset })).at(-1)!;
          assert.equal(before.kind, 'certificate');
          const position =
            before.kind === 'certificate'
              ? { createdAt: before.summary.createdAt.getTime(), certificateNo: before.summary.certificateNo }
              : null;
          return store.acm.list({ ...query, after: position });
        },
      },
    ];
    /**
     * A row's certificate and facts changed by another process: this one reads no row back, so it
     * holds nothing of the change (the facts, fingerprint and updated_at columns, as certificates.ts
     * `contentColumns` writes them).
     */
    const writeElsewhere = async (certificateNo: number, facts: CertificateFacts, at: Date) => {
      await rawExec(
        location,
        `update certificates set facts = '${factsToJson(facts).replaceAll("'", "''")}', fingerprint_sha256 = '${facts.fingerprintSha256}', common_name = '${facts.commonName}', updated_at = ${at.getTime()} where certificate_no = ${certificateNo}`,
      );
      // SQLite's reads of one event-loop turn share a read transaction (sqlite-fast-paths.ts):
      // another process's commit is seen from the next turn on.
      await setImmediate();
    };
    /** The facts as stored now, read on a connection of the test's own. */
    const storedFacts = async (certificateNos: readonly number[]): Promise<Map<number, CertificateFacts>> => {
      const list = certificateNos.join(',');
      let rows: Array<{ certificate_no: number | string; facts: string }>;
      if (location.databaseUrl) {
        const client = new pg.Client({ connectionString: location.databaseUrl });
        await client.connect();
        try {
          rows = (
            await client.query(`select certificate_no, facts from certificates where certificate_no in (${list})`)
          ).rows;
        } finally {
          await client.end();
        }
      } else {
        const db = new Database(join(location.dataDir, 'certkeeper.db'), { readonly: true });
        try {
          rows = db
            .prepare(`select certificate_no, facts from certificates where certificate_no in (${list})`)
            .all() as typeof rows;
        } finally {
          db.close();
        }
      }
      return new Map(rows.map((row) => [Number(row.certificate_no), factsFromJson(row.facts)]));
    };
    /** What a read with facts answers: the held facts forgotten first. */
    const truth = async (read: () => Promise<unknown>) => {
      forgetKnownFacts();
      return read();
    };

    for (const list of lists) {
      it(`${list.name}: a page read again leaves out facts, and answers the same`, async () => {
        const first = await pageStatementsDuring(() => list.read());
        assert.deepEqual(first.texts.map(withFacts), [true], 'the first read takes facts');
        for (let i = 0; i < 3; i++) {
          const again = await pageStatementsDuring(() => list.read());
          assert.deepEqual(again.texts.map(withFacts), [false], `read ${i + 2}: without facts`);
          assert.deepEqual(again.result, first.result);
        }
      });

      it(`${list.name}: a row changed since is read with facts, the changed ones`, async () => {
        await list.read();
        await list.read();
        // Another certificate in the page's second row, written by another process.
        const replacedNo = numbers[list.changed[0]]!;
        const replacement = testFacts();
        await writeElsewhere(replacedNo, replacement, later(2));
        const afterReplace = await pageStatementsDuring(() => list.read());
        assert.deepEqual(afterReplace.texts.map(withFacts), [false, true], 'without facts, then again with them');
        assert.deepEqual(afterReplace.result, await truth(() => list.read()));
        assert.match(text(afterReplace.result), new RegExp(replacement.commonName!));

        // The same fingerprint stored again with other facts: only updated_at tells them apart.
        await list.read();
        const changedFacts: CertificateFacts = {
          ...testFacts({ commonName: `changed-${list.name.length}.example.com` }),
          fingerprintSha256: replacement.fingerprintSha256,
        };
        await writeElsewhere(replacedNo, changedFacts, later(3));
        const afterSame = await pageStatementsDuring(() => list.read());
        assert.deepEqual(afterSame.texts.map(withFacts), [false, true]);
        assert.match(text(afterSame.result), new RegExp(changedFacts.commonName!));
        assert.deepEqual(afterSame.result, await truth(() => list.read()));
      });

      it(`${list.name}: paging through reads each page once, with facts`, async () => {
        for (const offset of [0, 5, 10]) {
          const { texts } = await pageStatementsDuring(() => list.read({ offset }));
          // ACM's later pages read their position first (offset 0 with the page's size: not new).
          assert.ok(withFacts(texts.at(-1)!), `offset ${offset}: ${texts.map(withFacts)}`);
          assert.equal(texts.length, list.name === 'ACM ListCertificates' && offset > 0 ? 2 : 1);
        }
      });

      it(`${list.name}: under random changes by another process, every summary's facts are the stored ones`, async () => {
        // A fixed sequence (a linear congruential generator), so a failure can be replayed.
        let seed = 7 + list.name.length;
        const next = (n: number) => {
          seed = (seed * 1103515245 + 12345) % 2 ** 31;
          return seed % n;
        };
        let minute = 100 + list.name.length * 1000;
        let checked = 0;
        for (let step = 0; step < 60; step++) {
          // Each step from a page just read with facts, so the read after the change tries without.
          const offset = next(3) === 0 ? 5 : 0;
          forgetKnownFacts();
          await list.read({ offset });
          const row = numbers[list.changed[next(2)]!]!;
          const op = next(3);
          if (op === 1) await writeElsewhere(row, testFacts(), later(++minute));
          if (op === 2) {
            // The same fingerprint with other facts: only updated_at tells the rows apart.
            const current = (await storedFacts([row])).get(row)!;
            await writeElsewhere(
              row,
              { ...testFacts(), fingerprintSha256: current.fingerprintSha256 },
              later(++minute),
            );
          }
          const read = summariesIn(await list.read({ offset }));
          const stored = await storedFacts(read.map((summary) => summary.certificateNo));
          for (const summary of read)
            assert.deepEqual(summary.facts, stored.get(summary.certificateNo), `step ${step}`);
          checked += read.length;
        }
        assert.ok(checked >= 60 * 5, `${checked} summaries checked`);
      });

      it(`${list.name}: after a miss, the page takes facts ${RETRY_AFTER_MISS} times, then tries again`, async () => {
        await list.read();
        await list.read();
        await writeElsewhere(numbers[list.changed[1]]!, testFacts(), later(4 + list.name.length));
        const missed = await pageStatementsDuring(() => list.read());
        assert.deepEqual(missed.texts.map(withFacts), [false, true]);
        for (let i = 0; i < RETRY_AFTER_MISS; i++) {
          const { texts } = await pageStatementsDuring(() => list.read());
          assert.deepEqual(texts.map(withFacts), [true], `read ${i + 1} after the miss`);
        }
        const { texts } = await pageStatementsDuring(() => list.read());
        assert.deepEqual(texts.map(withFacts), [false], 'then without facts again');
      });
    }
  });
}
