/**
 * Golden tests: every Global Edge operation through the real server, on every store, with a
 * fixed clock (a start with milliseconds, so `provisionDate` shows its trimmed fraction) and the
 * 100-year fixtures; the worker is driven step by step. Full JSON answers are pinned in
 * golden.json, the same bytes from SQLite and PostgreSQL.
 *
 * To re-pin after a deliberate wire change: `EDGE_GOLDEN_UPDATE=1 node --test test/api/edge/golden.test.ts`,
 * then review the diff of golden.json line by line.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { storeTargets } from '../../helpers/db.ts';
import type { NcpResponse } from '../../helpers/ncp-client.ts';
import { stableText } from '../ncp/helpers.ts';
import { EDGE, FIXTURES, startEdgeApp, type EdgeTestApp } from './helpers.ts';

const GOLDEN_FILE = new URL('./golden.json', import.meta.url);
const UPDATE = process.env.EDGE_GOLDEN_UPDATE === '1';
const golden: Record<string, { status: number; body: unknown; location?: string }> = UPDATE
  ? {}
  : JSON.parse(readFileSync(GOLDEN_FILE, 'utf8'));

/** 2027-01-15 01:02:03.450 UTC: `.45` on the wire. */
const START = new Date('2027-01-15T01:02:03.450Z');

/** The seed list item (edge-getcertificatelist), keys and JSON types. */
const SEED_ITEM = {
  slotId: 69,
  commonName: 'cert***********.kr',
  serviceRegion: 'KR_JP',
  tlsVersion: '1.0,1.1,1.2,1.3',
  cipherProfile: 'GE-DEFAULT-v1',
  certificateName: 'cert*****2',
  expirationDate: '2025-11-05T23:59:59Z',
  provisionStatus: 'RUNNING',
  provisionDate: '2025-08-07T01:22:34.076Z',
};

for (const target of storeTargets) {
  describe(`Global Edge golden answers on ${target.name}`, { skip: target.skip }, () => {
    let app: EdgeTestApp;
    const seen = new Map<string, NcpResponse>();

    async function step(label: string, response: Promise<NcpResponse>): Promise<NcpResponse> {
      const res = await response;
      seen.set(label, res);
      const text = stableText(res, app.main.tenant.memberNo).replace(app.targetDir, '<targetDir>');
      const location = res.headers.location;
      if (UPDATE) {
        golden[label] = { status: res.status, body: JSON.parse(text), ...(location ? { location } : {}) };
      } else {
        const expected = golden[label];
        assert.ok(expected, `no golden answer for ${label}`);
        assert.equal(res.status, expected.status, `${label}: ${text}`);
        assert.equal(text, JSON.stringify(expected.body), label);
        assert.equal(location, expected.location, `${label}: Location`);
      }
      return res;
    }

    before(async () => {
      app = await startEdgeApp({ store: target.name, now: START });
    });
    after(async () => {
      await app.close();
      if (UPDATE && target.name === 'sqlite') writeFileSync(GOLDEN_FILE, `${JSON.stringify(golden, null, 2)}\n`);
    });

    it('pins every operation, in order', async () => {
      const get = (path: string, query?: Record<string, string | number>) =>
        app.call({ method: 'GET', path, ...(query ? { query } : {}) });
      const send = (method: string, path: string, body?: unknown) =>
        app.call({ method, path, ...(body === undefined ? {} : { body }) });
      const ec = await app.register('ec-cert', FIXTURES.ec);
      const korean = await app.register('korean-cert', FIXTURES.korean);
      const self = await app.register('rsa-self', FIXTURES.rsaSelf);
      app.clock.advance(60_000);

      await step('list (empty)', get(EDGE));
      await step(
        'provision KR_JP, TLS 1.2+, DEFAULT',
        send('POST', EDGE, {
          serviceRegion: 'KR_JP',
          cmCertificateIds: [ec],
          tlsVersion: 'TLS_MIN_VERSION_1_2',
          cipherProfile: 'DEFAULT',
        }),
      );
      app.clock.advance(1_001);
      await step(
        'provision KR_JP, all TLS, GENERAL (ids as strings)',
        send('POST', EDGE, {
          serviceRegion: 'KR_JP',
          cmCertificateIds: [String(korean)],
          tlsVersion: 'TLS_ALL_VERSIONS',
          cipherProfile: 'GENERAL',
        }),
      );
      await step('list (READY)', get(EDGE));
      await step('detail (READY)', get(`${EDGE}/1`));

      app.clock.advance(60_000);
      assert.deepEqual(await app.worker.runOnce(), { claimed: 2, published: 2, removed: 0, failed: 0, republished: 0 });
      await step('list (RUNNING)', get(EDGE));
      await step('list pageNo=1 offset=1', get(EDGE, { pageNo: 1, offset: 1 }));
      await step('list pageNo=2 offset=1', get(EDGE, { pageNo: 2, offset: 1 }));
      await step('list pageNo=0 offset=1 (first page)', get(EDGE, { pageNo: 0, offset: 1 }));
      await step('list pageNo=3 offset=1 (past the end)', get(EDGE, { pageNo: 3, offset: 1 }));
      await step('detail (RUNNING) with pageNo/offset', get(`${EDGE}/2`, { pageNo: 2, offset: 5 }));

      // Changes: PUT a new certificate, PUT tls.
      app.clock.advance(60_000);
      await step('PUT certificate', send('PUT', `${EDGE}/1`, { cmCertificateId: self }));
      await step(
        'PUT tls',
        send('PUT', `${EDGE}/2/tls`, { tlsVersion: 'TLS_MIN_VERSION_1_2', cipherProfile: 'STRICT' }),
      );
      await step('detail (PUBLISHING after PUT)', get(`${EDGE}/1`));
      app.clock.advance(60_000);
      await app.worker.runOnce();
      await step('list (after republish)', get(EDGE));

      // The NCP face sees the slots as instances.
      await step('NCP v1 getCertificateList (usedInstanceNoList)', get('/api/v1/certificates'));
      await step('NCP v1 getCertificateList instanceNo=2', get('/api/v1/certificates', { instanceNo: 2 }));
      await step(
        'NCP v1 deleteCertificate in use (1004)',
        app.call({ method: 'DELETE', path: `/api/v1/certificate/${self}`, query: { certificateName: 'rsa-self' } }),
      );

      // Global Edge Dedicated operations with certificates that are not GED (the success paths:
      // test/api/edge/ged.test.ts): a KR_JP slot takes none, its KR_JP item is not removed this way,
      // KR_JP_GLOBAL needs one GED certificate.
      await step('POST add global certificate (0040)', send('POST', `${EDGE}/1`, { cmCertificateId: ec }));
      await step(
        'DELETE global certificates (0040)',
        send('DELETE', `${EDGE}/1/certificates`, { certificateItemIds: [1] }),
      );
      await step(
        'provision KR_JP_GLOBAL (0040)',
        send('POST', EDGE, {
          serviceRegion: 'KR_JP_GLOBAL',
          cmCertificateIds: [ec, korean],
          tlsVersion: 'TLS_ALL_VERSIONS',
          cipherProfile: 'DEFAULT',
        }),
      );
      await step(
        'provision STRICT with TLS_ALL_VERSIONS (0040)',
        send('POST', EDGE, {
          serviceRegion: 'KR_JP',
          cmCertificateIds: [ec],
          tlsVersion: 'TLS_ALL_VERSIONS',
          cipherProfile: 'STRICT',
        }),
      );

      // Deletion: DELETING, then DELETED after the worker.
      app.clock.advance(60_000);
      await step('DELETE slot', send('DELETE', `${EDGE}/2`));
      await step('detail (DELETING)', get(`${EDGE}/2`));
      app.clock.advance(60_000);
      assert.deepEqual(await app.worker.runOnce(), { claimed: 1, published: 0, removed: 1, failed: 0, republished: 0 });
      await step('detail (DELETED)', get(`${EDGE}/2`));
      await step('list (DELETED left out)', get(EDGE));
      await step('DELETE a DELETED slot (0032)', send('DELETE', `${EDGE}/2`));
      await step('PUT on a DELETED slot (0032)', send('PUT', `${EDGE}/2`, { cmCertificateId: korean }));
      await step(
        'NCP v1 deleteCertificate no longer in use',
        app.call({
          method: 'DELETE',
          path: `/api/v1/certificate/${korean}`,
          query: { certificateName: 'korean-cert' },
        }),
      );

      // Errors.
      await step('detail of an unknown slot (0040)', get(`${EDGE}/99`));
      await step('unknown path under the prefix (gateway 300)', get(`${EDGE}/1/nothing`));
      await step('missing field (0040)', send('POST', EDGE, { serviceRegion: 'KR_JP' }));
      await step(
        'viewer writes (gateway 210)',
        app.call({ method: 'DELETE', path: `${EDGE}/1`, credentials: app.main.viewer }),
      );
      await step(
        'missing auth headers (gateway 200)',
        fetch(`${app.baseUrl}${EDGE}`).then(async (r) => ({
          status: r.status,
          headers: {},
          body: Buffer.from(await r.arrayBuffer()),
        })),
      );
    });

    it('gives the seed example\u2019s keys, in its order, with the same JSON types', () => {
      const list = seen.get('list (RUNNING)')?.json as {
        code: string;
        message: string;
        result: { content: Array<Record<string, unknown>>; pageable: Record<string, unknown> };
      };
      assert.deepEqual(Object.keys(list), ['code', 'message', 'result']);
      assert.deepEqual([list.code, list.message], ['0000', 'Success']);
      const item = list.result.content[0]!;
      assert.deepEqual(Object.keys(item), Object.keys(SEED_ITEM));
      for (const [key, value] of Object.entries(SEED_ITEM)) assert.equal(typeof item[key], typeof value, key);
      assert.match(item.expirationDate as string, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      assert.match(item.provisionDate as string, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/);
      assert.deepEqual(Object.keys(list.result.pageable), ['pageNo', 'offset', 'totalCount']);
    });
  });
}
