/**
 * Every Global Edge endpoint × every wrong input: missing, wrong type, empty, huge, unknown enum
 * values, ids that are not ids, other tenants' and unknown slots and certificates, expired
 * certificates, bodies that are not JSON objects. Each answers its documented code (0040 or the
 * gateway's), never echoes the value, and leaves the store as it was. Plus the gateway's part:
 * authentication, permission, routing and body size, on every endpoint, on both stores.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { storeTargets } from '../../helpers/db.ts';
import type { TestTenant } from '../../helpers/app.ts';
import { EDGE, FIXTURES, startEdgeApp, type EdgeTestApp } from './helpers.ts';

const HUGE = 'X'.repeat(200_000);
type Body = unknown;

interface Case {
  name: string;
  method: string;
  path: string;
  query?: Record<string, string>;
  body?: Body;
  raw?: string;
  headers?: Record<string, string>;
  status: number;
  /** Edge code, or `gw:<errorCode>` for the gateway body. */
  code: string;
  message?: RegExp;
}

for (const target of storeTargets) {
  describe(`Global Edge bad input on ${target.name}`, { skip: target.skip }, () => {
    let app: EdgeTestApp;
    let other: TestTenant;
    const ids = { ec: 0, korean: 0, self: 0, foreign: 0, slot: 0, foreignSlot: 0, deletedSlot: 0 };

    before(async () => {
      app = await startEdgeApp({ store: target.name });
      other = await app.addTenant('other');
      await app.app.core.targets.set(other.actor, { kind: 'directory', path: `${app.targetDir}/other` });
      ids.ec = await app.register('ec-cert', FIXTURES.ec);
      ids.korean = await app.register('korean-cert', FIXTURES.korean);
      ids.self = await app.register('rsa-self', FIXTURES.rsaSelf);
      ids.foreign = await app.register('foreign', FIXTURES.sanOnly, other);
      ids.slot = await app.provision(ids.ec);
      ids.foreignSlot = await app.provision(ids.foreign, {}, other);
      ids.deletedSlot = await app.provision(ids.korean);
      await app.call({ method: 'DELETE', path: `${EDGE}/${ids.deletedSlot}` });
      await app.worker.runOnce();
    });
    after(() => app.close());

    /** Every slot of both tenants with its generation and status, and the certificates in use. */
    async function snapshot(): Promise<unknown> {
      const mine = await app.app.core.provisioning.list(app.main.actor, { offset: 0, limit: 100 });
      const theirs = await app.app.core.provisioning.list(other.actor, { offset: 0, limit: 100 });
      const deleted = await app.app.core.provisioning.get(app.main.actor, ids.deletedSlot);
      return [...mine.items, ...theirs.items, deleted].map((v) => [
        v.slot.slotId,
        v.slot.status,
        v.slot.deployment.generation,
        v.slot.tlsVersion,
        v.slot.cipherProfile,
        v.items.map((i) => i.item.certificateNo),
      ]);
    }

    const provisionBody = (extra: Record<string, unknown>) => ({
      serviceRegion: 'KR_JP',
      cmCertificateIds: [ids.self],
      tlsVersion: 'TLS_MIN_VERSION_1_2',
      cipherProfile: 'DEFAULT',
      ...extra,
    });

    function cases(): Case[] {
      const slot = `${EDGE}/${ids.slot}`;
      const list: Case[] = [];
      const add = (c: Case) => list.push(c);

      // GET list: paging.
      for (const [name, value] of [
        ['pageNo', '-1'],
        ['pageNo', 'abc'],
        ['pageNo', '1.5'],
        ['pageNo', '1000001'],
        ['pageNo', '1e3'],
        ['pageNo', 'X'.repeat(4000)],
        ['offset', '0'],
        ['offset', '1001'],
        ['offset', 'x'],
        ['offset', '-5'],
      ] as const) {
        add({
          name: `list ${name}=${value.slice(0, 12)}`,
          method: 'GET',
          path: EDGE,
          query: { [name]: value },
          status: 400,
          code: '0040',
          message: new RegExp(`${name} must be an integer`),
        });
      }
      add({
        name: 'list pageNo repeated',
        method: 'GET',
        path: `${EDGE}?pageNo=1&pageNo=2`,
        status: 400,
        code: '0040',
        message: /only once/,
      });

      // POST provision: body shape.
      for (const [label, raw] of [
        ['array', '[1]'],
        ['string', '"x"'],
        ['number', '5'],
        ['null', 'null'],
        ['malformed JSON', '{"serviceRegion":'],
        ['prototype poisoning', '{"__proto__":{"x":1}}'],
      ] as const) {
        add({
          name: `provision body ${label}`,
          method: 'POST',
          path: EDGE,
          raw,
          headers: { 'content-type': 'application/json' },
          status: 400,
          code: '0040',
        });
      }
      add({
        name: 'provision empty body',
        method: 'POST',
        path: EDGE,
        raw: '',
        headers: { 'content-type': 'application/json' },
        status: 400,
        code: '0040',
        message: /serviceRegion is required/,
      });
      // Each field: missing, wrong type, empty, unknown value, huge.
      for (const field of ['serviceRegion', 'tlsVersion', 'cipherProfile']) {
        for (const [label, value] of [
          ['missing', undefined],
          ['null', null],
          ['empty', ''],
          ['number', 1],
          ['array', ['KR_JP']],
          ['object', {}],
          ['boolean', true],
          ['lower case', 'kr_jp'],
          ['unknown', 'TLS_1_3_ONLY'],
          ['huge', HUGE],
        ] as const) {
          const body = provisionBody({});
          if (label === 'missing') delete (body as Record<string, unknown>)[field];
          else (body as Record<string, unknown>)[field] = value;
          add({
            name: `provision ${field} ${label}`,
            method: 'POST',
            path: EDGE,
            body,
            status: 400,
            code: '0040',
            message: new RegExp(`^Field validation Error: ${field} (is required|must be)`),
          });
        }
      }
      for (const [label, value] of [
        ['missing', undefined],
        ['null', null],
        ['a number', ids.self],
        ['a string', String(ids.self)],
        ['an object', { id: 1 }],
        ['empty', []],
        ['zero', [0]],
        ['negative', [-1]],
        ['fraction', [1.5]],
        ['text', ['abc']],
        ['null item', [null]],
        ['too long a number', ['1234567890123456']],
        ['duplicates', [ids.self, ids.self]],
        ['eleven ids', Array.from({ length: 11 }, (_, i) => i + 1)],
        ['huge item', [HUGE]],
      ] as const) {
        const body = provisionBody({});
        if (label === 'missing') delete (body as Record<string, unknown>).cmCertificateIds;
        else (body as Record<string, unknown>).cmCertificateIds = value;
        add({
          name: `provision cmCertificateIds ${label}`,
          method: 'POST',
          path: EDGE,
          body,
          status: 400,
          code: '0040',
          message: /cmCertificateIds/,
        });
      }
      // Rules and certificates.
      add({
        name: 'provision two ids for KR_JP',
        method: 'POST',
        path: EDGE,
        body: provisionBody({ cmCertificateIds: [ids.self, ids.korean] }),
        status: 400,
        code: '0040',
        message: /exactly one certificate/,
      });
      add({
        name: 'provision KR_JP_GLOBAL',
        method: 'POST',
        path: EDGE,
        body: provisionBody({ serviceRegion: 'KR_JP_GLOBAL', cmCertificateIds: [ids.self, ids.korean] }),
        status: 400,
        code: '0040',
        message: /Global Edge Dedicated/,
      });
      add({
        name: 'provision STRICT + TLS_ALL_VERSIONS',
        method: 'POST',
        path: EDGE,
        body: provisionBody({ tlsVersion: 'TLS_ALL_VERSIONS', cipherProfile: 'STRICT' }),
        status: 400,
        code: '0040',
        message: /STRICT/,
      });
      add({
        name: 'provision an unknown certificate',
        method: 'POST',
        path: EDGE,
        body: provisionBody({ cmCertificateIds: [99_999] }),
        status: 400,
        code: '0040',
        message: /No certificate number 99999\./,
      });
      add({
        name: 'provision another tenant\u2019s certificate',
        method: 'POST',
        path: EDGE,
        body: provisionBody({ cmCertificateIds: [ids.foreign] }),
        status: 400,
        code: '0040',
        message: new RegExp(`No certificate number ${ids.foreign}\\.$`),
      });

      // GET /{slotId}: path parameter.
      for (const value of ['abc', '0', '-1', '1.5', '1234567890123456', '%20', 'null']) {
        add({
          name: `detail slotId ${value}`,
          method: 'GET',
          path: `${EDGE}/${value}`,
          status: 400,
          code: '0040',
          message: /slotId must be a positive integer/,
        });
      }
      add({
        name: 'detail of an unknown slot',
        method: 'GET',
        path: `${EDGE}/99999`,
        status: 400,
        code: '0040',
        message: /No provisioning slot 99999\./,
      });
      add({
        name: 'detail of another tenant\u2019s slot',
        method: 'GET',
        path: `${EDGE}/${ids.foreignSlot}`,
        status: 400,
        code: '0040',
        message: new RegExp(`No provisioning slot ${ids.foreignSlot}\\.$`),
      });
      add({
        name: 'detail offset 0',
        method: 'GET',
        path: slot,
        query: { offset: '0' },
        status: 400,
        code: '0040',
        message: /offset/,
      });

      // PUT /{slotId}.
      for (const [label, value] of [
        ['missing', undefined],
        ['null', null],
        ['zero', 0],
        ['text', 'abc'],
        ['array', [ids.self]],
        ['fraction', 1.5],
        ['huge', HUGE],
      ] as const) {
        add({
          name: `PUT cmCertificateId ${label}`,
          method: 'PUT',
          path: slot,
          body: label === 'missing' ? {} : { cmCertificateId: value },
          status: 400,
          code: '0040',
          message: /cmCertificateId (is required|must be)/,
        });
      }
      add({
        name: 'PUT an unknown certificate',
        method: 'PUT',
        path: slot,
        body: { cmCertificateId: 99_999 },
        status: 400,
        code: '0040',
        message: /No certificate number/,
      });
      add({
        name: 'PUT another tenant\u2019s certificate',
        method: 'PUT',
        path: slot,
        body: { cmCertificateId: ids.foreign },
        status: 400,
        code: '0040',
        message: /No certificate number/,
      });
      add({
        name: 'PUT on another tenant\u2019s slot',
        method: 'PUT',
        path: `${EDGE}/${ids.foreignSlot}`,
        body: { cmCertificateId: ids.self },
        status: 400,
        code: '0040',
        message: /No provisioning slot/,
      });
      add({
        name: 'PUT on a DELETED slot',
        method: 'PUT',
        path: `${EDGE}/${ids.deletedSlot}`,
        body: { cmCertificateId: ids.self },
        status: 403,
        code: '0032',
        message: /DELETED/,
      });
      add({
        name: 'PUT body not an object',
        method: 'PUT',
        path: slot,
        body: [ids.self],
        status: 400,
        code: '0040',
        message: /JSON object/,
      });

      // POST /{slotId}: always refused, input checked first.
      add({
        name: 'add global, no id',
        method: 'POST',
        path: slot,
        body: {},
        status: 400,
        code: '0040',
        message: /cmCertificateId is required/,
      });
      add({
        name: 'add global, bad id',
        method: 'POST',
        path: slot,
        body: { cmCertificateId: 'x' },
        status: 400,
        code: '0040',
        message: /positive integer/,
      });
      add({
        name: 'add global to another tenant\u2019s slot',
        method: 'POST',
        path: `${EDGE}/${ids.foreignSlot}`,
        body: { cmCertificateId: ids.self },
        status: 400,
        code: '0040',
        message: /No provisioning slot/,
      });

      // DELETE /{slotId}.
      add({
        name: 'DELETE another tenant\u2019s slot',
        method: 'DELETE',
        path: `${EDGE}/${ids.foreignSlot}`,
        status: 400,
        code: '0040',
        message: /No provisioning slot/,
      });
      add({
        name: 'DELETE an unknown slot',
        method: 'DELETE',
        path: `${EDGE}/99999`,
        status: 400,
        code: '0040',
        message: /No provisioning slot/,
      });
      add({
        name: 'DELETE a DELETED slot',
        method: 'DELETE',
        path: `${EDGE}/${ids.deletedSlot}`,
        status: 403,
        code: '0032',
        message: /DELETED/,
      });
      add({
        name: 'DELETE slotId text',
        method: 'DELETE',
        path: `${EDGE}/abc`,
        status: 400,
        code: '0040',
        message: /slotId/,
      });

      // DELETE /{slotId}/certificates.
      for (const [label, value] of [
        ['missing', undefined],
        ['empty', []],
        ['not an array', 1],
        ['text items', ['a']],
        ['duplicates', [1, 1]],
      ] as const) {
        add({
          name: `DELETE certificates ${label}`,
          method: 'DELETE',
          path: `${slot}/certificates`,
          body: label === 'missing' ? {} : { certificateItemIds: value },
          status: 400,
          code: '0040',
          message: /certificateItemIds/,
        });
      }
      add({
        name: 'DELETE certificates unknown item',
        method: 'DELETE',
        path: `${slot}/certificates`,
        body: { certificateItemIds: [99_999] },
        status: 400,
        code: '0040',
        message: /no certificate item 99999/,
      });

      // PUT /{slotId}/tls.
      for (const [field, value] of [
        ['tlsVersion', undefined],
        ['tlsVersion', 'TLS_1_0'],
        ['tlsVersion', 7],
        ['cipherProfile', undefined],
        ['cipherProfile', 'GE-DEFAULT-v1'],
        ['cipherProfile', HUGE],
      ] as const) {
        const body: Record<string, unknown> = { tlsVersion: 'TLS_ALL_VERSIONS', cipherProfile: 'GENERAL' };
        if (value === undefined) delete body[field];
        else body[field] = value;
        add({
          name: `tls ${field} ${String(value).slice(0, 14)}`,
          method: 'PUT',
          path: `${slot}/tls`,
          body,
          status: 400,
          code: '0040',
          message: new RegExp(field),
        });
      }
      add({
        name: 'tls STRICT + TLS_ALL_VERSIONS',
        method: 'PUT',
        path: `${slot}/tls`,
        body: { tlsVersion: 'TLS_ALL_VERSIONS', cipherProfile: 'STRICT' },
        status: 400,
        code: '0040',
        message: /STRICT/,
      });
      add({
        name: 'tls on another tenant\u2019s slot',
        method: 'PUT',
        path: `${EDGE}/${ids.foreignSlot}/tls`,
        body: { tlsVersion: 'TLS_ALL_VERSIONS', cipherProfile: 'GENERAL' },
        status: 400,
        code: '0040',
        message: /No provisioning slot/,
      });

      // The gateway's part.
      add({
        name: 'unknown path under the prefix',
        method: 'GET',
        path: `${slot}/nothing`,
        status: 404,
        code: 'gw:300',
      });
      add({ name: 'a method no route serves', method: 'PATCH', path: slot, body: {}, status: 404, code: 'gw:300' });
      add({
        name: 'DELETE on the collection (an NCP parametric route would match it)',
        method: 'DELETE',
        path: EDGE,
        status: 404,
        code: 'gw:300',
      });
      add({ name: 'trailing slash', method: 'GET', path: `${EDGE}/`, status: 404, code: 'gw:300' });
      add({
        name: 'body over the limit',
        method: 'POST',
        path: EDGE,
        raw: JSON.stringify({ serviceRegion: 'x'.repeat(5 * 1024 * 1024) }),
        headers: { 'content-type': 'application/json' },
        status: 413,
        code: 'gw:430',
      });
      return list;
    }

    it('answers each bad input with its code, never echoes it, and changes nothing', async () => {
      const before = await snapshot();
      const all = cases();
      assert.ok(all.length > 110, `${all.length} cases`);
      for (const c of all) {
        const res = await app.call({
          method: c.method,
          path: c.path,
          ...(c.query ? { query: c.query } : {}),
          ...(c.raw !== undefined ? { body: c.raw } : c.body !== undefined ? { body: c.body } : {}),
          ...(c.headers ? { headers: c.headers } : {}),
        });
        const text = res.body.toString('utf8');
        assert.equal(res.status, c.status, `${c.name}: ${text.slice(0, 300)}`);
        const json = res.json as { code?: string; message?: string; error?: { errorCode: string } };
        if (c.code.startsWith('gw:')) {
          assert.equal(json.error?.errorCode, c.code.slice(3), `${c.name}: ${text.slice(0, 300)}`);
        } else {
          assert.deepEqual(Object.keys(json), ['code', 'message'], c.name);
          assert.equal(json.code, c.code, `${c.name}: ${text.slice(0, 300)}`);
          if (c.message) assert.match(json.message ?? '', c.message, c.name);
        }
        assert.ok(!text.includes('XXXXXXXXXX'), `${c.name}: the value is not echoed`);
        assert.ok(text.length < 1000, `${c.name}: a short answer`);
      }
      assert.deepEqual(await snapshot(), before);
    });

    it('another tenant\u2019s slot answers exactly like an unknown one', async () => {
      for (const [method, suffix, body] of [
        ['GET', '', undefined],
        ['PUT', '', { cmCertificateId: ids.self }],
        ['DELETE', '', undefined],
        ['PUT', '/tls', { tlsVersion: 'TLS_ALL_VERSIONS', cipherProfile: 'GENERAL' }],
        ['POST', '', { cmCertificateId: ids.self }],
      ] as const) {
        const foreign = await app.call({
          method,
          path: `${EDGE}/${ids.foreignSlot}${suffix}`,
          ...(body ? { body } : {}),
        });
        const unknown = await app.call({ method, path: `${EDGE}/99999${suffix}`, ...(body ? { body } : {}) });
        assert.equal(foreign.status, unknown.status);
        assert.equal(
          foreign.body.toString().replace(String(ids.foreignSlot), 'N'),
          unknown.body.toString().replace('99999', 'N'),
          `${method} ${suffix}`,
        );
      }
    });

    it('an expired certificate is refused, as provisioning and as a PUT', async () => {
      const saved = app.clock.now();
      app.clock.set(new Date('2127-01-01T00:00:00Z'));
      try {
        for (const res of [
          await app.call({ method: 'POST', path: EDGE, body: provisionBody({ cmCertificateIds: [ids.self] }) }),
          await app.call({ method: 'PUT', path: `${EDGE}/${ids.slot}`, body: { cmCertificateId: ids.self } }),
        ]) {
          assert.equal(res.status, 400);
          assert.match(
            (res.json as { message: string }).message,
            /^Field validation Error: Certificate \d+ \('rsa-self'\) expired at 2126-10-29T05:46:19\.000Z; it cannot be provisioned\.$/,
          );
        }
      } finally {
        app.clock.set(saved);
      }
    });

    it('the gateway checks every endpoint the NCP way: unsigned, bad signature, stale timestamp, unknown key → 401 200; a VIEWER writing → 401 210', async () => {
      const endpoints: Array<[string, string]> = [
        ['GET', EDGE],
        ['POST', EDGE],
        ['GET', `${EDGE}/1`],
        ['POST', `${EDGE}/1`],
        ['PUT', `${EDGE}/1`],
        ['DELETE', `${EDGE}/1`],
        ['DELETE', `${EDGE}/1/certificates`],
        ['PUT', `${EDGE}/1/tls`],
      ];
      for (const [method, path] of endpoints) {
        const unsigned = await fetch(`${app.baseUrl}${path}`, { method });
        assert.equal(unsigned.status, 401, `${method} ${path}`);
        assert.deepEqual(await unsigned.json(), {
          error: {
            errorCode: '200',
            message: 'Authentication Failed',
            details: 'Authentication information are missing.',
          },
        });
        const wrong = await app.call({
          method,
          path,
          credentials: { accessKey: app.main.admin.accessKey, secretKey: 'not-the-secret' },
        });
        assert.deepEqual(
          [wrong.status, wrong.json],
          [
            401,
            {
              error: {
                errorCode: '200',
                message: 'Authentication Failed',
                details: 'The signature does not match the request.',
              },
            },
          ],
        );
        const stale = await app.call({ method, path, timestampOffsetMs: -400_000 });
        assert.deepEqual(
          [stale.status, (stale.json as { error: { details: string } }).error.details],
          [401, 'The timestamp is more than 5 minutes from the server time.'],
        );
        const unknown = await app.call({
          method,
          path,
          credentials: { accessKey: 'NOSUCHKEY00000000000', secretKey: 'x' },
        });
        assert.deepEqual(
          [unknown.status, (unknown.json as { error: { details: string } }).error.details],
          [401, 'Invalid authentication information.'],
        );
        if (method !== 'GET') {
          const viewer = await app.call({ method, path, credentials: app.main.viewer, body: { huge: HUGE } });
          assert.deepEqual(
            [viewer.status, viewer.json],
            [
              401,
              {
                error: {
                  errorCode: '210',
                  message: 'Permission Denied',
                  details: 'The VIEWER role may not do this (certificate.write).',
                },
              },
            ],
          );
        }
      }
      // A VIEWER reads.
      assert.equal((await app.call({ method: 'GET', path: EDGE, credentials: app.main.viewer })).status, 200);
      assert.equal(
        (await app.call({ method: 'GET', path: `${EDGE}/${ids.slot}`, credentials: app.main.viewer })).status,
        200,
      );
    });

    it('Content-Type is optional: a JSON body without one, or as text/plain, is read', async () => {
      for (const headers of [
        { 'content-type': 'text/plain' },
        { 'content-type': 'application/x-www-form-urlencoded' },
      ]) {
        const res = await app.call({
          method: 'PUT',
          path: `${EDGE}/${ids.slot}/tls`,
          body: JSON.stringify({ tlsVersion: 'TLS_ALL_VERSIONS', cipherProfile: 'GENERAL' }),
          headers,
        });
        assert.deepEqual(
          [res.status, res.json],
          [200, { code: '0000', message: 'Success', result: true }],
          JSON.stringify(headers),
        );
      }
      const bare = await fetch(`${app.baseUrl}${EDGE}/${ids.slot}/tls`, {
        method: 'PUT',
        body: JSON.stringify({ tlsVersion: 'TLS_ALL_VERSIONS', cipherProfile: 'GENERAL' }),
        headers: { ...(await signed(app, 'PUT', `${EDGE}/${ids.slot}/tls`)) },
      });
      assert.equal(bare.status, 200, await bare.clone().text());
    });
  });
}

async function signed(app: EdgeTestApp, method: string, path: string): Promise<Record<string, string>> {
  const { signedHeaders } = await import('../../helpers/ncp-client.ts');
  return signedHeaders({
    method,
    url: path,
    accessKey: app.main.admin.accessKey,
    secretKey: app.main.admin.secretKey,
    timestamp: app.clock.now().getTime(),
    variant: 'java-raw',
  });
}
