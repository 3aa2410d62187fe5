/**
 * Contract: on a PostgreSQL where the pg_trgm extension cannot be created, the store still starts
 * (migration 0013 goes on without the trigram indexes), says so once in `notices` (logged at start
 * by serve.ts, listed by `/readyz`, which stays 200), and "name contains" / "domain contains"
 * still answer correctly ("domain contains" read row by row; "name contains" from migration 0023's
 * trigram table, which needs no extension). Once the database user may create the extension, the
 * next start builds the domain's trigram index (the name's is dropped by migration 0029) and the
 * notice is gone.
 *
 * A real case, not a flag: the store connects as a role of its own that may create tables in the
 * schema but has no CREATE privilege on the database, which PostgreSQL requires for CREATE
 * EXTENSION even of a trusted extension such as pg_trgm. The role and the database are dropped
 * at the end.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { normaliseSearchQuery } from '../../src/core/certificate-search.ts';
import { buildServer } from '../../src/server/index.ts';
import { openStore, PG_TRGM_MISSING, type StoreHandle } from '../../src/store/open.ts';
import { makeTenant, newCertificate, PG_ADMIN_URL, postgresSkip, testMasterKey } from '../helpers/db.ts';
import { fixedClock, testConfig } from '../server/helpers.ts';

async function admin(database: string | null, text: string): Promise<Array<Record<string, unknown>>> {
  const url = new URL(PG_ADMIN_URL);
  if (database) url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return (await client.query(text)).rows as Array<Record<string, unknown>>;
  } finally {
    await client.end();
  }
}

describe('PostgreSQL without pg_trgm', { skip: postgresSkip }, () => {
  const suffix = `${process.pid}_${randomBytes(4).toString('hex')}`;
  const role = `certkeeper_nocreate_${suffix}`;
  const database = `certkeeper_test_trgm_${suffix}`;
  let dataDir: string;
  let databaseUrl: string;
  const masterKey = testMasterKey();

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'certkeeper-trgm-'));
    await admin(null, `create role "${role}" login`);
    await admin(null, `create database "${database}"`);
    // Tables in the public schema, yes; CREATE on the database (so CREATE EXTENSION), no.
    await admin(database, `grant create, usage on schema public to "${role}"`);
    const url = new URL(PG_ADMIN_URL);
    url.username = role;
    url.password = '';
    url.pathname = `/${database}`;
    databaseUrl = url.toString();
  });

  after(async () => {
    await admin(null, `drop database if exists "${database}" with (force)`);
    await admin(null, `drop role if exists "${role}"`);
    await rm(dataDir, { recursive: true, force: true });
  });

  const open = () => openStore({ dataDir, databaseUrl, masterKey });

  it('starts, says what is slower and how to fix it, and still finds substrings', async () => {
    const store: StoreHandle = await open();
    try {
      assert.deepEqual(
        store.notices.map((n) => n.code),
        ['pg_trgm_missing'],
      );
      assert.match(PG_TRGM_MISSING.message, /"domain contains".*CREATE EXTENSION pg_trgm.*restart/s);
      const extensions = await admin(database, `select 1 from pg_extension where extname = 'pg_trgm'`);
      assert.equal(extensions.length, 0, 'the extension must really be missing');

      const tenantId = (await makeTenant(store)).id;
      const at = new Date(Date.UTC(2026, 10, 1));
      const payroll = await store.certificates.insert(
        newCertificate(tenantId, {
          name: 'Payroll-EU',
          facts: { domains: ['pay.example.com'], sans: { dns: ['pay.example.com'], ip: [], email: [], uri: [] } },
        }),
        at,
      );
      await store.certificates.insert(
        newCertificate(tenantId, {
          name: 'shop',
          facts: { domains: ['shop.example.org'], sans: { dns: ['shop.example.org'], ip: [], email: [], uri: [] } },
        }),
        at,
      );
      const list = async (filter: { nameContains?: string; domainContains?: string }) =>
        (
          await store.certificates.list({
            ...normaliseSearchQuery({ offset: 0, limit: 10, ...filter }),
            tenantId,
            asOf: at,
          })
        ).items.map((i) => i.certificateNo);
      assert.deepEqual(await list({ nameContains: 'ROLL' }), [payroll.certificateNo]);
      assert.deepEqual(await list({ domainContains: 'y.example.c' }), [payroll.certificateNo]);

      const server = await buildServer({
        config: testConfig({ logLevel: 'silent' }),
        store,
        clock: fixedClock,
        faces: [],
      });
      try {
        const res = await server.inject({ method: 'GET', url: '/readyz' });
        assert.equal(res.statusCode, 200);
        assert.deepEqual(res.json(), {
          status: 'ok',
          notices: [{ code: 'pg_trgm_missing', message: PG_TRGM_MISSING.message }],
        });
      } finally {
        await server.close();
      }
    } finally {
      await store.close();
    }
  });

  it('builds the domain index at the next start once the user may create the extension', async () => {
    await admin(null, `grant create on database "${database}" to "${role}"`);
    const store = await open();
    try {
      assert.deepEqual(store.notices, []);
      const indexes = await admin(
        database,
        `select indexname from pg_indexes where indexname like '%\\_trgm' order by indexname`,
      );
      // The domain's only: the name's, which 0013 would have built, is dropped by 0029 and not
      // expected since.
      assert.deepEqual(
        indexes.map((r) => r.indexname),
        ['certificate_domains_domain_trgm'],
      );
      const server = await buildServer({
        config: testConfig({ logLevel: 'silent' }),
        store,
        clock: fixedClock,
        faces: [],
      });
      try {
        assert.deepEqual((await server.inject({ method: 'GET', url: '/readyz' })).json(), { status: 'ok' });
      } finally {
        await server.close();
      }
    } finally {
      await store.close();
    }
  });
});
