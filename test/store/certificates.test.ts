/**
 * Contract: the certificate repository on every store (test/helpers/db.ts). Each test works in
 * its own tenant, so tests do not see each other's rows.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CERTIFICATE_PAGE_MAX, type CertificateQuery, type NewCertificate } from '../../src/core/ports.ts';
import { isAppErrorWithCode } from '../../src/domain/errors.ts';
import type { Certificate, CertificateSummary } from '../../src/domain/model.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import {
  countRows,
  factsOf,
  makeTenant,
  newCertificate,
  rawExec,
  rawQuery,
  storeTargets,
  summaryOf,
  testFacts,
  type TestLocation,
} from '../helpers/db.ts';
import { statementsDuring } from '../helpers/pg-statements.ts';
import { mintBundle, mintSelfSignedLeaf } from '../helpers/pki.ts';

const DAY = 86_400_000;
const t0 = new Date('2026-11-01T00:00:00.000Z');
const later = (ms: number): Date => new Date(t0.getTime() + ms);

const alreadyExists = (field: string) => (error: unknown) =>
  isAppErrorWithCode(error, 'already_exists') && error.field === field;

for (const target of storeTargets) {
  describe(`${target.name}: certificates`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
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
      store = await openStore(location.options({ hooks }));
    });
    after(async () => {
      await store?.close();
      await location?.cleanup();
    });

    const query = (tenantId: number, q: Partial<CertificateQuery> = {}): CertificateQuery => ({
      tenantId,
      asOf: t0,
      offset: 0,
      limit: 100,
      ...q,
    });
    const numbers = (items: CertificateSummary[]): number[] => items.map((c) => c.certificateNo);

    it('inserts one certificate with key, file and domains, and reads every part back', async () => {
      const tenant = await makeTenant(store);
      const { leaf, chainPem, intermediate, root } = await mintBundle({
        leaf: { cn: 'www.example.com', sans: { dns: ['www.example.com', 'API.example.com'] } },
      });
      const file = { name: 'bundle.pem', bytes: Buffer.from(`${leaf.pem}\r\n${chainPem}${leaf.keyPem}  \n`, 'utf8') };
      const input: NewCertificate = {
        tenantId: tenant.id,
        name: 'www',
        type: 'EXT',
        origin: 'nhn',
        certificatePem: leaf.pem,
        chainPems: [intermediate.pem, root.pem],
        facts: factsOf(leaf),
        privateKeyPem: leaf.keyPem,
        file,
      };
      const inserted = await store.certificates.insert(input, t0);
      assert.ok(Number.isSafeInteger(inserted.certificateNo) && inserted.certificateNo > 0);
      assert.deepEqual(inserted, {
        certificateNo: inserted.certificateNo,
        tenantId: tenant.id,
        name: 'www',
        type: 'EXT',
        origin: 'nhn',
        certificatePem: leaf.pem,
        chainPems: [intermediate.pem, root.pem],
        hasChain: true,
        hasPrivateKey: true,
        facts: input.facts,
        fileName: 'bundle.pem',
        createdAt: t0,
        updatedAt: t0,
        revokedAt: null,
        revocationRequestedAt: null,
        deletedAt: null,
      });
      assert.deepEqual(await store.certificates.get(tenant.id, inserted.certificateNo), inserted);
      assert.deepEqual(await store.certificates.getByName(tenant.id, 'www'), inserted);
      assert.equal(await store.certificates.readPrivateKey(tenant.id, inserted.certificateNo), leaf.keyPem);
      const stored = await store.certificates.readFile(tenant.id, inserted.certificateNo);
      assert.equal(stored?.name, 'bundle.pem');
      assert.ok(stored?.bytes.equals(file.bytes), 'file kept byte for byte');
      const byDomain = await store.certificates.list(query(tenant.id, { domain: 'api.EXAMPLE.com' }));
      assert.deepEqual(numbers(byDomain.items), [inserted.certificateNo]);
    });

    it('an insert gives the row its ARN id: no second write of the row (SQLite: the trigger of 0009 stays idle)', async () => {
      // A witness trigger logs every later write of a row's ARN id. On SQLite the insert used to
      // leave arn_id null for migration 0009's AFTER INSERT trigger to fill by an UPDATE.
      const pg = location.databaseUrl !== undefined;
      await rawExec(
        location,
        pg
          ? `create table arn_rewrites (certificate_no bigint);
             create function log_arn_rewrite() returns trigger language plpgsql as $$
               begin insert into arn_rewrites values (new.certificate_no); return null; end $$;
             create trigger log_arn_rewrite after update of arn_id on certificates
               for each row execute function log_arn_rewrite()`
          : `create table arn_rewrites (certificate_no integer);
             create trigger log_arn_rewrite after update of arn_id on certificates
               begin insert into arn_rewrites values (new.certificate_no); end`,
      );
      try {
        const tenant = await makeTenant(store);
        const a = await store.certificates.insert(newCertificate(tenant.id, { name: 'arn-a' }), t0);
        const b = await store.certificates.insert(newCertificate(tenant.id, { name: 'arn-b' }), t0);
        assert.equal(await countRows(location, 'arn_rewrites'), 0);
        const ids = await store.acm.arnIds(tenant.id, [a.certificateNo, b.certificateNo]);
        const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
        assert.match(ids.get(a.certificateNo) ?? '', UUID_V4);
        assert.match(ids.get(b.certificateNo) ?? '', UUID_V4);
        assert.notEqual(ids.get(a.certificateNo), ids.get(b.certificateNo));
      } finally {
        await rawExec(
          location,
          pg
            ? 'drop trigger log_arn_rewrite on certificates; drop function log_arn_rewrite(); drop table arn_rewrites'
            : 'drop trigger log_arn_rewrite; drop table arn_rewrites',
        );
      }
    });

    it('an audited insert writes its search rows and counters (postgres: five statements in its transaction), found as a duplicate (one)', async () => {
      const tenant = await makeTenant(store);
      const { leaf } = await mintBundle({
        leaf: {
          cn: 'rows.example.com',
          sans: { dns: ['rows.example.com', 'www.rows.example.com'], ip: ['192.0.2.9'] },
        },
      });
      const input: NewCertificate = {
        tenantId: tenant.id,
        name: 'rows-name',
        type: 'EXT',
        origin: 'nhn',
        certificatePem: leaf.pem,
        chainPems: [],
        facts: factsOf(leaf),
        privateKeyPem: leaf.keyPem,
        file: { name: 'rows.pem', bytes: Buffer.from(leaf.pem + leaf.keyPem, 'utf8') },
      };
      const audit = {
        tenantId: tenant.id,
        actor: 'ak-test',
        action: 'certificate.import',
        target: 'rows-name',
        result: 'success' as const,
        remoteAddress: null,
        detail: {},
        at: t0,
      };
      // The tenant's chain started, as in a running server: its head is known to this process.
      await store.audit.append({ ...audit, target: 'rows-first' });
      const { result: inserted, sent } = await statementsDuring(() => store.certificates.insert(input, t0, audit));
      const no = inserted.certificateNo;
      const rows = async (sql: string) => await rawQuery(location, sql);
      assert.deepEqual(
        (
          await rows(
            `select kind, name_key from certificate_names where certificate_no = ${no} order by kind, name_key`,
          )
        ).map((r) => [Number(r.kind), r.name_key]),
        [
          [0, 'com.example.rows.'],
          [0, 'com.example.rows.www.'],
          [1, '192.0.2.9'],
        ],
      );
      assert.deepEqual(
        (await rows(`select gram_key from certificate_name_grams where certificate_no = ${no} order by gram_key`)).map(
          (r) => r.gram_key,
        ),
        ['-na', 'ame', 'nam', 'ows', 'row', 's-n', 'ws-'].map((gram) => `${gram} rows-name`),
      );
      assert.deepEqual(
        (await rows(`select domain from certificate_domains where certificate_no = ${no} order by domain`)).map(
          (r) => r.domain,
        ),
        ['rows.example.com', 'www.rows.example.com'],
      );
      assert.equal((await rows(`select 1 from certificate_keys where certificate_no = ${no}`)).length, 1);
      assert.equal((await rows(`select 1 from certificate_files where certificate_no = ${no}`)).length, 1);
      assert.equal(
        Number((await rows(`select live from certificate_counts where tenant_id = ${tenant.id}`))[0]!.live),
        1,
      );
      assert.equal(
        Number((await rows(`select sum(n) as n from certificate_number_blocks where tenant_id = ${tenant.id}`))[0]!.n),
        1,
      );
      const notAfter = input.facts.notAfter.getTime();
      assert.deepEqual(
        (await rows(`select day, n, ms_sum from certificate_expiry_days where tenant_id = ${tenant.id}`)).map((r) => [
          Number(r.day),
          Number(r.n),
          Number(r.ms_sum),
        ]),
        [[Math.floor(notAfter / DAY), 1, notAfter % DAY]],
      );
      assert.equal((await rows(`select 1 from audit_events where target = 'rows-name'`)).length, 1);
      if (target.name === 'postgres')
        assert.deepEqual(
          sent.map((s) => s.text.trim().split(/\s+/, 1)[0]),
          ['begin', 'insert', 'with', 'with', 'with', 'commit'],
          'the row; its dependents and search rows; its counters; its audit event',
        );
      // Step 9 of the next import of it: both lookups (postgres: in one statement).
      const duplicate = await statementsDuring(() => store.certificates.findDuplicate(tenant.id, input.facts));
      assert.equal(duplicate.result?.certificateNo, no);
      assert.equal(duplicate.statements, target.name === 'postgres' ? 1 : 0);
    });

    it('lists summaries: every field of the certificate but its PEM text, in every order and through getMany', async () => {
      const tenant = await makeTenant(store);
      const { leaf, intermediate, root } = await mintBundle({ leaf: { cn: 'chained.example.com' } });
      const chained = await store.certificates.insert(
        newCertificate(tenant.id, {
          name: 'b-chained',
          certificatePem: leaf.pem,
          chainPems: [intermediate.pem, root.pem],
          facts: factsOf(leaf),
          privateKeyPem: leaf.keyPem,
        }),
        t0,
      );
      const bare = await store.certificates.insert(
        newCertificate(tenant.id, { name: 'a-bare', facts: { notAfter: new Date(t0.getTime() + 1000) } }),
        t0,
      );
      assert.equal(chained.hasChain, true);
      assert.equal(bare.hasChain, false);
      for (const sort of ['certificateNo', 'name', 'notAfter', 'createdAt', 'updatedAt'] as const) {
        for (const order of ['asc', 'desc'] as const) {
          const page = await store.certificates.list(query(tenant.id, { sort, order }));
          const expected = sort === 'name' || sort === 'notAfter' ? [bare, chained] : [chained, bare];
          if (order === 'desc') expected.reverse();
          assert.deepEqual(page.items, expected.map(summaryOf), `${sort} ${order}`);
          for (const item of page.items)
            assert.ok(!('certificatePem' in item) && !('chainPems' in item), 'no PEM text in a list item');
        }
      }
      const many = await store.certificates.getMany(tenant.id, [bare.certificateNo, chained.certificateNo]);
      assert.deepEqual(many.get(chained.certificateNo), summaryOf(chained));
      assert.deepEqual(many.get(bare.certificateNo), summaryOf(bare));
    });

    it('keeps tenants apart', async () => {
      const a = await makeTenant(store);
      const b = await makeTenant(store);
      const cert = await store.certificates.insert(
        newCertificate(a.id, {
          name: 'shared-name',
          privateKeyPem: 'KEY',
          file: { name: 'f', bytes: Buffer.from('f') },
        }),
        t0,
      );
      assert.equal(await store.certificates.get(b.id, cert.certificateNo), null);
      assert.equal(await store.certificates.getByName(b.id, 'shared-name'), null);
      assert.equal(await store.certificates.readPrivateKey(b.id, cert.certificateNo), null);
      assert.equal(await store.certificates.readFile(b.id, cert.certificateNo), null);
      assert.equal(await store.certificates.markDeleted(b.id, cert.certificateNo, t0), false);
      assert.equal((await store.certificates.list(query(b.id))).total, 0);
      // The same name, certificate and key may live in another tenant.
      await store.certificates.insert(newCertificate(b.id, { name: 'shared-name', facts: cert.facts }), t0);
    });

    it('answers null for a certificate without key or file, and for unknown numbers', async () => {
      const tenant = await makeTenant(store);
      const cert = await store.certificates.insert(newCertificate(tenant.id), t0);
      assert.equal(cert.hasPrivateKey, false);
      assert.equal(cert.fileName, null);
      assert.equal(await store.certificates.readPrivateKey(tenant.id, cert.certificateNo), null);
      assert.equal(await store.certificates.readFile(tenant.id, cert.certificateNo), null);
      assert.equal(await store.certificates.get(tenant.id, 987_654_321), null);
      assert.equal(await store.certificates.readPrivateKey(tenant.id, 987_654_321), null);
    });

    it('filters by name, nameContains, certificateNo, domain, validity and usedByInstanceNo, with exact totals', async () => {
      const tenant = await makeTenant(store);
      const add = (name: string, facts: Parameters<typeof testFacts>[0] = {}) =>
        store.certificates.insert(newCertificate(tenant.id, { name, facts: testFacts(facts) }), t0);
      const expired = await add('Old-Site', { notAfter: later(-1), domains: ['old.example.com'] });
      const boundary = await add('edge-now', { notAfter: t0, domains: ['Edge.Example.com'] });
      const future = await add('future_site', {
        notBefore: later(DAY),
        notAfter: later(90 * DAY),
        domains: ['a.example.com', 'b.example.com'],
      });
      const percent = await add('pct%name', { notAfter: later(DAY), domains: [] });

      const all = await store.certificates.list(query(tenant.id));
      assert.equal(all.total, 4);
      assert.deepEqual(
        numbers(all.items),
        [expired, boundary, future, percent].map((c) => c.certificateNo),
      );

      const check = async (q: Partial<CertificateQuery>, expected: CertificateSummary[]) => {
        const page = await store.certificates.list(query(tenant.id, q));
        assert.deepEqual(numbers(page.items), numbers(expected), JSON.stringify(q));
        assert.equal(page.total, expected.length, `total for ${JSON.stringify(q)}`);
      };
      await check({ name: 'edge-now' }, [boundary]);
      await check({ name: 'EDGE-NOW' }, []);
      await check({ nameContains: 'SITE' }, [expired, future]);
      await check({ nameContains: '_' }, [future]);
      await check({ nameContains: '%' }, [percent]);
      await check({ nameContains: 'e_n' }, []);
      await check({ certificateNo: future.certificateNo }, [future]);
      await check({ domain: 'B.EXAMPLE.COM' }, [future]);
      await check({ domain: 'edge.example.com' }, [boundary]);
      await check({ domain: 'example.com' }, []);
      await check({ validity: 'all' }, [expired, boundary, future, percent]);
      await check({ validity: 'expired' }, [expired]);
      await check({ validity: 'unexpired' }, [boundary, future, percent]);
      await check({ validity: 'expired', asOf: later(2 * DAY) }, [expired, boundary, percent]);
      await check({ usedByInstanceNo: 1 }, []);
      await check({ nameContains: 'site', validity: 'unexpired' }, [future]);
    });

    it('sorts by every key in both directions, ties broken by certificateNo', async () => {
      const tenant = await makeTenant(store);
      // Byte order: upper case before lower case, on both dialects.
      const specs = [
        { name: 'beta', notAfter: 3, created: 2 },
        { name: 'Alpha', notAfter: 1, created: 1 },
        { name: 'alpha', notAfter: 3, created: 1 },
        { name: 'Beta', notAfter: 2, created: 3 },
        { name: 'gamma', notAfter: 1, created: 2 },
      ];
      const inserted: Certificate[] = [];
      for (const s of specs) {
        inserted.push(
          await store.certificates.insert(
            newCertificate(tenant.id, { name: s.name, facts: { notAfter: later(s.notAfter * DAY) } }),
            later(s.created * 1000),
          ),
        );
      }
      // Replace one so updatedAt differs from createdAt.
      const replaced = await store.certificates.replace(
        tenant.id,
        inserted[1]!.certificateNo,
        {
          origin: 'cli',
          certificatePem: 'PEM',
          chainPems: [],
          facts: testFacts({ notAfter: later(DAY) }),
          privateKeyPem: null,
          file: null,
        },
        later(10_000),
      );
      inserted[1] = replaced;

      const keyOf = {
        certificateNo: (c: CertificateSummary) => c.certificateNo,
        name: (c: Certificate) => c.name,
        notAfter: (c: Certificate) => c.facts.notAfter.getTime(),
        createdAt: (c: Certificate) => c.createdAt.getTime(),
        updatedAt: (c: Certificate) => c.updatedAt.getTime(),
      } as const;
      const compareBytes = (a: string | number, b: string | number) =>
        typeof a === 'number' && typeof b === 'number'
          ? a - b
          : Buffer.compare(Buffer.from(String(a)), Buffer.from(String(b)));
      for (const sort of Object.keys(keyOf) as Array<keyof typeof keyOf>) {
        for (const order of ['asc', 'desc'] as const) {
          const sign = order === 'asc' ? 1 : -1;
          const expected = [...inserted].sort(
            (a, b) => sign * (compareBytes(keyOf[sort](a), keyOf[sort](b)) || a.certificateNo - b.certificateNo),
          );
          const page = await store.certificates.list(query(tenant.id, { sort, order }));
          assert.deepEqual(numbers(page.items), numbers(expected), `${sort} ${order}`);
        }
      }
      const byName = await store.certificates.list(query(tenant.id, { sort: 'name' }));
      assert.deepEqual(
        byName.items.map((c) => c.name),
        ['Alpha', 'Beta', 'alpha', 'beta', 'gamma'],
      );
    });

    it('pages with offset and limit, caps the limit, and counts exactly', async () => {
      const tenant = await makeTenant(store);
      const count = CERTIFICATE_PAGE_MAX + 5;
      const made: number[] = [];
      for (let i = 0; i < count; i += 25) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(25, count - i) }, () =>
            store.certificates.insert(newCertificate(tenant.id), t0),
          ),
        );
        made.push(...numbers(batch));
      }
      made.sort((a, b) => a - b);
      const capped = await store.certificates.list(query(tenant.id, { limit: 5000 }));
      assert.equal(capped.total, count);
      assert.equal(capped.items.length, CERTIFICATE_PAGE_MAX);
      assert.deepEqual(numbers(capped.items), made.slice(0, CERTIFICATE_PAGE_MAX));

      const second = await store.certificates.list(query(tenant.id, { offset: 10, limit: 7 }));
      assert.deepEqual(numbers(second.items), made.slice(10, 17));
      assert.equal(second.total, count);
      const tail = await store.certificates.list(query(tenant.id, { offset: count - 2, limit: 10, order: 'asc' }));
      assert.deepEqual(numbers(tail.items), made.slice(-2));
      const past = await store.certificates.list(query(tenant.id, { offset: count + 10, limit: 10 }));
      assert.deepEqual(past, { items: [], total: count, totalExact: true });
      const none = await store.certificates.list(query(tenant.id, { limit: 0 }));
      assert.deepEqual(none, { items: [], total: count, totalExact: true });
      const desc = await store.certificates.list(query(tenant.id, { order: 'desc', limit: 3 }));
      assert.deepEqual(numbers(desc.items), made.slice(-3).reverse());
    });

    it('keeps names unique among live certificates and frees them on delete', async () => {
      const tenant = await makeTenant(store);
      const first = await store.certificates.insert(newCertificate(tenant.id, { name: 'web' }), t0);
      await assert.rejects(
        store.certificates.insert(newCertificate(tenant.id, { name: 'web' }), t0),
        alreadyExists('name'),
      );
      assert.equal(await store.certificates.markDeleted(tenant.id, first.certificateNo, later(1000)), true);
      assert.equal(
        await store.certificates.markDeleted(tenant.id, first.certificateNo, later(2000)),
        false,
        'deleting twice',
      );
      assert.equal(await store.certificates.get(tenant.id, first.certificateNo), null);
      assert.equal(await store.certificates.getByName(tenant.id, 'web'), null);

      const second = await store.certificates.insert(newCertificate(tenant.id, { name: 'web' }), later(3000));
      assert.ok(second.certificateNo > first.certificateNo);
      assert.equal((await store.certificates.getByName(tenant.id, 'web'))?.certificateNo, second.certificateNo);
      assert.deepEqual(numbers((await store.certificates.list(query(tenant.id))).items), [second.certificateNo]);

      // Recent changes include the deleted row, with its deletion time.
      const changes = await store.certificates.list(
        query(tenant.id, { changedBetween: { from: t0, to: later(10_000) } }),
      );
      assert.deepEqual(numbers(changes.items), [first.certificateNo, second.certificateNo]);
      assert.deepEqual(changes.items[0]?.deletedAt, later(1000));
      assert.deepEqual(changes.items[0]?.updatedAt, later(1000));
      const window = await store.certificates.list(
        query(tenant.id, { changedBetween: { from: later(1000), to: later(3000) } }),
      );
      assert.deepEqual(numbers(window.items), [first.certificateNo], '[from, to)');
    });

    it('never reuses a certificateNo, not after deleting the highest one, not after reopening', async () => {
      const tenant = await makeTenant(store);
      const a = await store.certificates.insert(newCertificate(tenant.id), t0);
      const b = await store.certificates.insert(newCertificate(tenant.id), t0);
      assert.ok(b.certificateNo > a.certificateNo);
      await store.certificates.markDeleted(tenant.id, b.certificateNo, t0);
      const c = await store.certificates.insert(newCertificate(tenant.id), t0);
      assert.ok(c.certificateNo > b.certificateNo);
      await store.certificates.markDeleted(tenant.id, c.certificateNo, t0);

      await store.close();
      store = await openStore(location.options({ hooks }));
      const d = await store.certificates.insert(newCertificate(tenant.id), t0);
      assert.ok(d.certificateNo > c.certificateNo, `${d.certificateNo} > ${c.certificateNo}`);
    });

    it('getMany reads the live ones of many numbers at once, other tenants and deleted ones absent', async () => {
      const tenant = await makeTenant(store);
      const other = await makeTenant(store);
      const made = [];
      for (let i = 0; i < 5; i++) made.push(await store.certificates.insert(newCertificate(tenant.id), t0));
      const foreign = await store.certificates.insert(newCertificate(other.id), t0);
      await store.certificates.markDeleted(tenant.id, made[1]!.certificateNo, t0);
      const asked = [made[0]!, made[1]!, made[2]!, made[4]!, made[0]!].map((c) => c.certificateNo);
      const found = await store.certificates.getMany(tenant.id, [...asked, foreign.certificateNo, 987_654_321]);
      assert.deepEqual(
        [...found.keys()].sort((a, b) => a - b),
        [made[0]!, made[2]!, made[4]!].map((c) => c.certificateNo),
      );
      assert.deepEqual(
        found.get(made[2]!.certificateNo),
        summaryOf((await store.certificates.get(tenant.id, made[2]!.certificateNo))!),
      );
      assert.equal((await store.certificates.getMany(tenant.id, [])).size, 0);
    });

    it('findDuplicate: when the certificate matches one row and the key another, the lower number', async () => {
      const tenant = await makeTenant(store);
      const a = await store.certificates.insert(newCertificate(tenant.id), t0);
      const b = await store.certificates.insert(newCertificate(tenant.id), t0);
      const crossed = {
        fingerprintSha256: b.facts.fingerprintSha256,
        publicKeyFingerprintSha256: a.facts.publicKeyFingerprintSha256,
      };
      assert.equal((await store.certificates.findDuplicate(tenant.id, crossed))?.certificateNo, a.certificateNo);
      const crossedBack = {
        fingerprintSha256: a.facts.fingerprintSha256,
        publicKeyFingerprintSha256: b.facts.publicKeyFingerprintSha256,
      };
      assert.equal((await store.certificates.findDuplicate(tenant.id, crossedBack))?.certificateNo, a.certificateNo);
      const onlyFingerprint = {
        fingerprintSha256: b.facts.fingerprintSha256,
        publicKeyFingerprintSha256: testFacts().publicKeyFingerprintSha256,
      };
      assert.equal(
        (await store.certificates.findDuplicate(tenant.id, onlyFingerprint))?.certificateNo,
        b.certificateNo,
      );
    });

    it('refuses a duplicate certificate (field certificate) or key (field privateKey) among live rows', async () => {
      const tenant = await makeTenant(store);
      const original = await store.certificates.insert(newCertificate(tenant.id), t0);
      const sameCert = newCertificate(tenant.id, {
        facts: {
          fingerprintSha256: original.facts.fingerprintSha256,
          publicKeyFingerprintSha256: original.facts.publicKeyFingerprintSha256,
        },
      });
      await assert.rejects(store.certificates.insert(sameCert, t0), alreadyExists('certificate'));
      // Same certificate and same name: the certificate is the more useful answer.
      await assert.rejects(
        store.certificates.insert({ ...sameCert, name: original.name }, t0),
        alreadyExists('certificate'),
      );
      const sameKey = newCertificate(tenant.id, {
        facts: { publicKeyFingerprintSha256: original.facts.publicKeyFingerprintSha256 },
      });
      await assert.rejects(store.certificates.insert(sameKey, t0), alreadyExists('privateKey'));

      assert.equal(
        (await store.certificates.findDuplicate(tenant.id, sameCert.facts))?.certificateNo,
        original.certificateNo,
      );
      assert.equal(
        (await store.certificates.findDuplicate(tenant.id, sameKey.facts))?.certificateNo,
        original.certificateNo,
      );
      assert.equal(await store.certificates.findDuplicate(tenant.id, testFacts()), null);

      await store.certificates.markDeleted(tenant.id, original.certificateNo, t0);
      assert.equal(await store.certificates.findDuplicate(tenant.id, sameCert.facts), null);
      await store.certificates.insert(sameCert, t0);
    });

    it('50 parallel inserts of one certificate: exactly one succeeds, the others get already_exists (certificate)', async () => {
      const tenant = await makeTenant(store);
      const leaf = await mintSelfSignedLeaf({ cn: 'race.example.com', freshKey: true });
      const facts = factsOf(leaf);
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) =>
          store.certificates.insert(
            {
              ...newCertificate(tenant.id, { name: `race-${i}` }),
              certificatePem: leaf.pem,
              facts,
              privateKeyPem: leaf.keyPem,
            },
            t0,
          ),
        ),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(ok.length, 1);
      assert.equal(failed.length, 49);
      for (const f of failed) assert.ok(alreadyExists('certificate')(f.reason), String(f.reason));
      const page = await store.certificates.list(query(tenant.id));
      assert.equal(page.total, 1);
      assert.equal(await store.certificates.readPrivateKey(tenant.id, page.items[0]!.certificateNo), leaf.keyPem);
    });

    it('a failure inside the insert transaction leaves nothing behind', async () => {
      const tenant = await makeTenant(store);
      const tables = ['certificates', 'certificate_keys', 'certificate_files', 'certificate_domains'];
      const before = await Promise.all(tables.map((t) => countRows(location, t)));
      const input = newCertificate(tenant.id, {
        name: 'doomed',
        privateKeyPem: 'KEY',
        file: { name: 'x.pem', bytes: Buffer.from('x') },
        facts: { domains: ['doomed.example.com'] },
      });
      failNextCommit = true;
      await assert.rejects(store.certificates.insert(input, t0), /injected failure/);
      assert.deepEqual(await Promise.all(tables.map((t) => countRows(location, t))), before);
      assert.equal(await store.certificates.getByName(tenant.id, 'doomed'), null);
      assert.equal((await store.certificates.list(query(tenant.id, { domain: 'doomed.example.com' }))).total, 0);
      // Nothing half-written blocks a retry.
      const retried = await store.certificates.insert(input, t0);
      assert.equal(await store.certificates.readPrivateKey(tenant.id, retried.certificateNo), 'KEY');
    });

    it('replaces content in one transaction, keeping number, name and createdAt', async () => {
      const tenant = await makeTenant(store);
      const original = await store.certificates.insert(
        newCertificate(tenant.id, {
          name: 'renew-me',
          privateKeyPem: 'OLD KEY',
          file: { name: 'old.pem', bytes: Buffer.from('old') },
          facts: { domains: ['old.example.com'] },
        }),
        t0,
      );
      const facts = testFacts({ domains: ['new.example.com'] });
      const replacement = {
        origin: 'ncp-v2' as const,
        certificatePem: 'NEW PEM',
        chainPems: ['CHAIN'],
        facts,
        privateKeyPem: 'NEW KEY',
        file: { name: 'new.pem', bytes: Buffer.from('new') },
      };

      failNextCommit = true;
      await assert.rejects(
        store.certificates.replace(tenant.id, original.certificateNo, replacement, later(1000)),
        /injected failure/,
      );
      assert.deepEqual(
        await store.certificates.get(tenant.id, original.certificateNo),
        original,
        'a failed replace changes nothing',
      );
      assert.equal(await store.certificates.readPrivateKey(tenant.id, original.certificateNo), 'OLD KEY');

      const replaced = await store.certificates.replace(tenant.id, original.certificateNo, replacement, later(1000));
      assert.deepEqual(replaced, {
        ...original,
        origin: 'ncp-v2',
        certificatePem: 'NEW PEM',
        chainPems: ['CHAIN'],
        hasChain: true,
        facts,
        fileName: 'new.pem',
        updatedAt: later(1000),
      });
      assert.deepEqual(await store.certificates.get(tenant.id, original.certificateNo), replaced);
      assert.equal(await store.certificates.readPrivateKey(tenant.id, original.certificateNo), 'NEW KEY');
      assert.equal((await store.certificates.readFile(tenant.id, original.certificateNo))?.bytes.toString(), 'new');
      assert.equal((await store.certificates.list(query(tenant.id, { domain: 'old.example.com' }))).total, 0);
      assert.equal((await store.certificates.list(query(tenant.id, { domain: 'new.example.com' }))).total, 1);

      // Without key and file: both go.
      const bare = await store.certificates.replace(
        tenant.id,
        original.certificateNo,
        { ...replacement, facts: testFacts(), privateKeyPem: null, file: null },
        later(2000),
      );
      assert.equal(bare.hasPrivateKey, false);
      assert.equal(bare.fileName, null);
      assert.equal(await store.certificates.readPrivateKey(tenant.id, original.certificateNo), null);
      assert.equal(await store.certificates.readFile(tenant.id, original.certificateNo), null);

      // Replacing with another live certificate's bytes collides; its own bytes do not.
      const other = await store.certificates.insert(newCertificate(tenant.id), t0);
      await assert.rejects(
        store.certificates.replace(
          tenant.id,
          original.certificateNo,
          { ...replacement, facts: other.facts },
          later(3000),
        ),
        alreadyExists('certificate'),
      );
      await store.certificates.replace(
        tenant.id,
        original.certificateNo,
        { ...replacement, facts: bare.facts },
        later(3000),
      );

      await store.certificates.markDeleted(tenant.id, original.certificateNo, later(4000));
      await assert.rejects(
        store.certificates.replace(tenant.id, original.certificateNo, replacement, later(5000)),
        (e: unknown) => isAppErrorWithCode(e, 'not_found'),
      );
    });

    it('deleting keeps the sealed key and file, never served, until purged', async () => {
      const tenant = await makeTenant(store);
      const cert = await store.certificates.insert(
        newCertificate(tenant.id, { privateKeyPem: 'KEY', file: { name: 'f.pem', bytes: Buffer.from('f') } }),
        t0,
      );
      const keys = await countRows(location, 'certificate_keys');
      const files = await countRows(location, 'certificate_files');
      await store.certificates.markDeleted(tenant.id, cert.certificateNo, t0);
      assert.equal(await countRows(location, 'certificate_keys'), keys);
      assert.equal(await countRows(location, 'certificate_files'), files);
      assert.equal(await store.certificates.readPrivateKey(tenant.id, cert.certificateNo), null);
      assert.equal(await store.certificates.readFile(tenant.id, cert.certificateNo), null);
      assert.equal(await store.certificates.purge(tenant.id, cert.certificateNo, t0), true);
      assert.equal(await countRows(location, 'certificate_keys'), keys - 1);
      assert.equal(await countRows(location, 'certificate_files'), files - 1);
    });

    it('deleting with purge drops the sealed key and file at once', async () => {
      const tenant = await makeTenant(store);
      const cert = await store.certificates.insert(
        newCertificate(tenant.id, { privateKeyPem: 'KEY', file: { name: 'f.pem', bytes: Buffer.from('f') } }),
        t0,
      );
      const keys = await countRows(location, 'certificate_keys');
      const files = await countRows(location, 'certificate_files');
      assert.equal(await store.certificates.markDeleted(tenant.id, cert.certificateNo, t0, { purge: true }), true);
      assert.equal(await countRows(location, 'certificate_keys'), keys - 1);
      assert.equal(await countRows(location, 'certificate_files'), files - 1);
      assert.equal(await store.certificates.restore(tenant.id, cert.certificateNo, t0), 'purged');
    });

    it('counts live certificates by validity, per tenant or overall', async () => {
      const tenant = await makeTenant(store);
      const add = (facts: Parameters<typeof testFacts>[0]) =>
        store.certificates.insert(newCertificate(tenant.id, { facts: testFacts(facts) }), t0);
      await add({ notBefore: later(-DAY), notAfter: later(DAY) });
      await add({ notBefore: later(-DAY), notAfter: t0 });
      await add({ notBefore: later(-2 * DAY), notAfter: later(-1) });
      await add({ notBefore: later(1), notAfter: later(DAY) });
      const gone = await add({ notBefore: later(-DAY), notAfter: later(DAY) });
      await store.certificates.markDeleted(tenant.id, gone.certificateNo, t0);
      assert.deepEqual(await store.certificates.countByValidity(tenant.id, t0), {
        valid: 2,
        expired: 1,
        notYetValid: 1,
      });
      const overall = await store.certificates.countByValidity(null, t0);
      assert.ok(overall.valid >= 2 && overall.expired >= 1 && overall.notYetValid >= 1);
      assert.deepEqual(await store.usage.usersOf(tenant.id, [gone.certificateNo]), new Map([[gone.certificateNo, []]]));
    });
  });
}
