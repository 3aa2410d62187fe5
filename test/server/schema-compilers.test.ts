import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { lazySchemaCompilers } from '../../src/server/schema-compilers.ts';

// The server passes these builders so Ajv and fast-json-stringify load only when a route has a
// schema. A route that does have one must behave exactly as with Fastify's defaults.
describe('lazySchemaCompilers', () => {
  it('a route schema still validates the body and serializes the response', async () => {
    const app = Fastify({ schemaController: { compilersFactory: lazySchemaCompilers() } });
    app.post(
      '/echo',
      {
        schema: {
          body: { type: 'object', properties: { n: { type: 'integer', minimum: 1 } }, required: ['n'] },
          response: { 200: { type: 'object', properties: { n: { type: 'integer' } } } },
        },
      },
      async (request) => ({ n: (request.body as { n: number }).n, dropped: 'not in the response schema' }),
    );
    try {
      const ok = await app.inject({ method: 'POST', url: '/echo', payload: { n: 2 } });
      assert.equal(ok.statusCode, 200);
      assert.deepEqual(ok.json(), { n: 2 });
      const bad = await app.inject({ method: 'POST', url: '/echo', payload: { n: 0 } });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().code, 'FST_ERR_VALIDATION');
    } finally {
      await app.close();
    }
  });

  it('a server without route schemas never calls them', async () => {
    const compilers = lazySchemaCompilers();
    let calls = 0;
    const count = <F>(builder: F): F =>
      ((...args: unknown[]) => {
        calls += 1;
        return (builder as (...a: unknown[]) => unknown)(...args);
      }) as F;
    const counted = {
      buildValidator: count(compilers.buildValidator),
      buildSerializer: count(compilers.buildSerializer),
    };
    const app = Fastify({ schemaController: { compilersFactory: counted } });
    app.get('/plain', async () => ({ ok: true }));
    try {
      const res = await app.inject({ method: 'GET', url: '/plain' });
      assert.deepEqual(res.json(), { ok: true });
      assert.equal(calls, 0);
    } finally {
      await app.close();
    }
  });
});
