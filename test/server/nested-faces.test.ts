/**
 * Nested prefixes: an inner face owns a prefix inside an outer face's (as Global Edge's
 * `/api/v1/certificate/provisioning` sits inside NCP's `/api/v1`). The longest prefix wins for
 * routes, 404s, 413s, bad bodies, AppErrors and errors raised before routing, even where an outer
 * parametric route (`DELETE /alpha/:id`) would match the inner prefix's own path.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../src/domain/errors.ts';
import { buildServer, type FacePlugin, type FaceReply } from '../../src/server/index.ts';
import { fakeStore, fixedClock, testConfig } from './helpers.ts';

const BODY_LIMIT = 1024;

function envelope(face: string) {
  const reply = (status: number, kind: string): FaceReply => ({ status, body: { face, kind } });
  return {
    renderError: (e: AppError) => reply(e.code === 'not_found' ? 404 : 400, e.code),
    renderInternalError: () => reply(500, 'internal'),
    renderNotFound: () => reply(404, 'no_route'),
    renderBodyTooLarge: () => reply(413, 'too_large'),
    renderBadRequest: (_r: unknown, p: { status: number; kind: string }) => reply(p.status, p.kind),
  };
}

const outer: FacePlugin = {
  name: 'outer',
  prefixes: ['/alpha'],
  async register(app) {
    app.get('/alpha/ok', async () => ({ by: 'outer' }));
    app.delete('/alpha/:id', async () => ({ by: 'outer', deleted: true }));
    app.post('/alpha/:id/items', async () => ({ by: 'outer' }));
  },
  ...envelope('outer'),
};

const inner: FacePlugin = {
  name: 'inner',
  prefixes: ['/alpha/inner'],
  async register(app) {
    app.get('/alpha/inner', async () => ({ by: 'inner', list: true }));
    app.post('/alpha/inner', async (request) => ({ by: 'inner', body: request.body }));
    app.get('/alpha/inner/:slot', async () => {
      throw new AppError('not_found', 'no slot');
    });
  },
  ...envelope('inner'),
};

describe('face mechanism: nested prefixes, the longest wins', () => {
  let app: FastifyInstance;
  before(async () => {
    // Order of registration must not matter: the inner face is given first here.
    app = await buildServer({
      config: testConfig({ bodyLimitBytes: BODY_LIMIT, logLevel: 'silent' }),
      store: fakeStore(),
      clock: fixedClock,
      faces: [inner, outer],
    });
  });
  after(() => app.close());

  const json = { 'content-type': 'application/json' };
  const big = JSON.stringify({ name: 'x'.repeat(BODY_LIMIT) });
  const cases: Array<[string, string, string | undefined, number, unknown]> = [
    ['GET', '/alpha/ok', undefined, 200, { by: 'outer' }],
    ['DELETE', '/alpha/7', undefined, 200, { by: 'outer', deleted: true }],
    ['GET', '/alpha/nope', undefined, 404, { face: 'outer', kind: 'no_route' }],
    ['GET', '/alpha/inner', undefined, 200, { by: 'inner', list: true }],
    ['POST', '/alpha/inner', '{"a":1}', 200, { by: 'inner', body: { a: 1 } }],
    // The outer `DELETE /alpha/:id` would match `/alpha/inner`: carved out for the inner face.
    ['DELETE', '/alpha/inner', undefined, 404, { face: 'inner', kind: 'no_route' }],
    ['PUT', '/alpha/inner', undefined, 404, { face: 'inner', kind: 'no_route' }],
    // … and so would the outer `POST /alpha/:id/items`.
    ['POST', '/alpha/inner/items', '{}', 404, { face: 'inner', kind: 'no_route' }],
    ['POST', '/alpha/inner/items?x=1', '{}', 404, { face: 'inner', kind: 'no_route' }],
    ['GET', '/alpha/inner/5', undefined, 404, { face: 'inner', kind: 'not_found' }],
    ['GET', '/alpha/inner/5/deeper', undefined, 404, { face: 'inner', kind: 'no_route' }],
    // An empty parameter is the inner route's to judge.
    ['GET', '/alpha/inner/', undefined, 404, { face: 'inner', kind: 'not_found' }],
    ['GET', '/alpha/innerx', undefined, 404, { face: 'outer', kind: 'no_route' }],
    ['POST', '/alpha/inner', big, 413, { face: 'inner', kind: 'too_large' }],
    ['POST', '/alpha/inner/nope', big, 413, { face: 'inner', kind: 'too_large' }],
    ['POST', '/alpha/x/items', big, 413, { face: 'outer', kind: 'too_large' }],
    ['POST', '/alpha/inner', '{"a":', 400, { face: 'inner', kind: 'invalid_json' }],
    ['GET', '/alpha/inner/%zz', undefined, 400, { face: 'inner', kind: 'malformed' }],
    ['GET', '/alpha/%zz', undefined, 400, { face: 'outer', kind: 'malformed' }],
  ];
  for (const [method, url, payload, status, body] of cases) {
    it(`${method} ${url}${payload === big ? ' (body too large)' : ''} → ${status} ${JSON.stringify(body)}`, async () => {
      const res = await app.inject({
        method: method as 'GET',
        url,
        ...(payload === undefined ? {} : { payload, headers: json }),
      });
      assert.equal(res.statusCode, status, res.body);
      assert.deepEqual(res.json(), body);
    });
  }

  it('HEAD on the inner prefix is the inner GET route', async () => {
    const res = await app.inject({ method: 'HEAD', url: '/alpha/inner' });
    assert.equal(res.statusCode, 200);
  });

  it('still refuses two faces on exactly the same prefix', async () => {
    await assert.rejects(
      buildServer({
        config: testConfig({ logLevel: 'silent' }),
        store: fakeStore(),
        clock: fixedClock,
        faces: [outer, { ...inner, prefixes: ['/alpha'] }],
      }),
      /faces outer and inner overlap: \/alpha and \/alpha/,
    );
  });
});
