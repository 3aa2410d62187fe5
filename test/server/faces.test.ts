/**
 * The face mechanism: two demo faces with different envelopes on different prefixes. Every kind
 * of failure (404, 413, bad JSON, empty JSON, unsupported media type, schema failure, AppError,
 * unknown error, undecodable URL) must come out in the envelope of the face that owns the URL;
 * URLs outside every face get the server's plain JSON.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode } from '../../src/domain/errors.ts';
import { buildServer, type BadRequestProblem, type FacePlugin, type FaceReply } from '../../src/server/index.ts';
import { fakeStore, fixedClock, LogCollector, testConfig } from './helpers.ts';

const BODY_LIMIT = 1024;

const itemSchema = {
  body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } }, additionalProperties: false },
} as const;

function demoRoutes(base: string) {
  return async (app: FastifyInstance) => {
    app.get(`${base}/ok`, async () => ({ fine: true }));
    app.post(`${base}/items`, { schema: itemSchema }, async (request) => ({ created: request.body }));
    app.get(`${base}/missing`, async () => {
      throw new AppError('not_found', 'Certificate 7 does not exist.', { field: 'certificateNo' });
    });
    app.get(`${base}/boom`, async () => {
      throw new Error('secret stack detail', { cause: new Error('cause detail') });
    });
  };
}

/** Alpha: `{ ok: false, error: { code, message, field? } }` with conventional statuses. */
const ALPHA_STATUS: Partial<Record<ErrorCode, number>> = { not_found: 404, invalid_argument: 400 };
const alpha = (status: number, code: string, message: string, extra: Record<string, unknown> = {}): FaceReply => ({
  status,
  body: { ok: false, error: { code, message, ...extra } },
});
const alphaFace: FacePlugin = {
  name: 'alpha',
  prefixes: ['/alpha'],
  register: demoRoutes('/alpha'),
  renderError: (e) => alpha(ALPHA_STATUS[e.code] ?? 422, e.code, e.message, e.field ? { field: e.field } : {}),
  renderInternalError: () => alpha(500, 'internal', 'Internal error.'),
  renderNotFound: (r: FastifyRequest) => alpha(404, 'no_route', `No route ${r.method} ${r.url}.`),
  renderBodyTooLarge: (_r, limit) => alpha(413, 'too_large', `Body over ${limit} bytes.`),
  renderBadRequest: (_r, p: BadRequestProblem) => alpha(p.status, p.kind, p.message),
};

/** Beta: NHN-like header envelope; application errors are HTTP 200 with a negative resultCode. */
const beta = (status: number, resultCode: number, resultMessage: string): FaceReply => ({
  status,
  body: { header: { isSuccessful: false, resultCode, resultMessage }, body: {} },
  headers: { 'x-beta': 'yes' },
});
const betaFace: FacePlugin = {
  name: 'beta',
  prefixes: ['/beta/v1', '/beta-legacy'],
  async register(app) {
    await demoRoutes('/beta/v1')(app);
    app.get('/beta-legacy/ok', async () => ({ legacy: true }));
  },
  renderError: (e) => beta(200, e.code === 'not_found' ? -40400 : -40000, e.message),
  renderInternalError: () => beta(500, -50000, 'Internal Server Error'),
  renderNotFound: () => beta(404, -40401, 'Not Found'),
  renderBodyTooLarge: () => beta(413, -41300, 'Payload Too Large'),
  renderBadRequest: (_r, p) => beta(p.status, p.status === 415 ? -41500 : -40001, p.message),
};

describe('face mechanism', () => {
  let app: FastifyInstance;
  const logs = new LogCollector();

  before(async () => {
    app = await buildServer({
      config: testConfig({ bodyLimitBytes: BODY_LIMIT }),
      store: fakeStore(),
      clock: fixedClock,
      faces: [alphaFace, betaFace],
      logStream: logs,
    });
  });
  after(() => app.close());

  const json = { 'content-type': 'application/json' };
  const big = JSON.stringify({ name: 'x'.repeat(BODY_LIMIT) });

  const cases: Array<{
    name: string;
    method: 'GET' | 'POST';
    url: string;
    payload?: string;
    headers?: Record<string, string>;
    status: number;
    body: unknown;
  }> = [
    // alpha
    { name: 'alpha: success passes through', method: 'GET', url: '/alpha/ok', status: 200, body: { fine: true } },
    {
      name: 'alpha: unknown path',
      method: 'GET',
      url: '/alpha/nope',
      status: 404,
      body: { ok: false, error: { code: 'no_route', message: 'No route GET /alpha/nope.' } },
    },
    {
      name: 'alpha: the prefix itself',
      method: 'GET',
      url: '/alpha',
      status: 404,
      body: { ok: false, error: { code: 'no_route', message: 'No route GET /alpha.' } },
    },
    {
      name: 'alpha: body too large on a route',
      method: 'POST',
      url: '/alpha/items',
      payload: big,
      headers: json,
      status: 413,
      body: { ok: false, error: { code: 'too_large', message: 'Body over 1024 bytes.' } },
    },
    {
      name: 'alpha: body too large on an unknown path',
      method: 'POST',
      url: '/alpha/nope',
      payload: big,
      headers: json,
      status: 413,
      body: { ok: false, error: { code: 'too_large', message: 'Body over 1024 bytes.' } },
    },
    {
      name: 'alpha: malformed JSON',
      method: 'POST',
      url: '/alpha/items',
      payload: '{"name":',
      headers: json,
      status: 400,
      body: { ok: false, error: { code: 'invalid_json', message: 'The request body is not valid JSON.' } },
    },
    {
      name: 'alpha: empty JSON body',
      method: 'POST',
      url: '/alpha/items',
      payload: '',
      headers: json,
      status: 400,
      body: {
        ok: false,
        error: { code: 'empty_json', message: 'The request body is empty but the content type is application/json.' },
      },
    },
    {
      name: 'alpha: unsupported content type',
      method: 'POST',
      url: '/alpha/items',
      payload: '<name/>',
      headers: { 'content-type': 'application/xml' },
      status: 415,
      body: {
        ok: false,
        error: {
          code: 'unsupported_media_type',
          message: 'The content type of the request body is not supported here.',
        },
      },
    },
    {
      name: 'alpha: schema failure becomes invalid_argument with the field',
      method: 'POST',
      url: '/alpha/items',
      payload: '{}',
      headers: json,
      status: 400,
      body: {
        ok: false,
        error: { code: 'invalid_argument', message: "body must have required property 'name'", field: 'name' },
      },
    },
    {
      name: 'alpha: AppError',
      method: 'GET',
      url: '/alpha/missing',
      status: 404,
      body: {
        ok: false,
        error: { code: 'not_found', message: 'Certificate 7 does not exist.', field: 'certificateNo' },
      },
    },
    {
      name: 'alpha: unknown error',
      method: 'GET',
      url: '/alpha/boom',
      status: 500,
      body: { ok: false, error: { code: 'internal', message: 'Internal error.' } },
    },
    {
      name: 'alpha: undecodable URL',
      method: 'GET',
      url: '/alpha/%zz',
      status: 400,
      body: { ok: false, error: { code: 'malformed', message: 'The request URL is malformed.' } },
    },
    // beta, on both of its prefixes
    {
      name: 'beta: success passes through',
      method: 'GET',
      url: '/beta-legacy/ok',
      status: 200,
      body: { legacy: true },
    },
    {
      name: 'beta: unknown path',
      method: 'GET',
      url: '/beta/v1/nope',
      status: 404,
      body: { header: { isSuccessful: false, resultCode: -40401, resultMessage: 'Not Found' }, body: {} },
    },
    {
      name: 'beta: unknown path under its second prefix',
      method: 'DELETE' as 'GET',
      url: '/beta-legacy/x',
      status: 404,
      body: { header: { isSuccessful: false, resultCode: -40401, resultMessage: 'Not Found' }, body: {} },
    },
    {
      name: 'beta: body too large',
      method: 'POST',
      url: '/beta/v1/items',
      payload: big,
      headers: json,
      status: 413,
      body: { header: { isSuccessful: false, resultCode: -41300, resultMessage: 'Payload Too Large' }, body: {} },
    },
    {
      name: 'beta: malformed JSON',
      method: 'POST',
      url: '/beta/v1/items',
      payload: '[1,',
      headers: json,
      status: 400,
      body: {
        header: { isSuccessful: false, resultCode: -40001, resultMessage: 'The request body is not valid JSON.' },
        body: {},
      },
    },
    {
      name: 'beta: unsupported content type',
      method: 'POST',
      url: '/beta/v1/items',
      payload: 'a=b',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      status: 415,
      body: {
        header: {
          isSuccessful: false,
          resultCode: -41500,
          resultMessage: 'The content type of the request body is not supported here.',
        },
        body: {},
      },
    },
    {
      name: 'beta: AppError (HTTP 200 by its own choice)',
      method: 'GET',
      url: '/beta/v1/missing',
      status: 200,
      body: {
        header: { isSuccessful: false, resultCode: -40400, resultMessage: 'Certificate 7 does not exist.' },
        body: {},
      },
    },
    {
      name: 'beta: unknown error',
      method: 'GET',
      url: '/beta/v1/boom',
      status: 500,
      body: { header: { isSuccessful: false, resultCode: -50000, resultMessage: 'Internal Server Error' }, body: {} },
    },
    // outside every face
    { name: 'outside: unknown path', method: 'GET', url: '/nowhere', status: 404, body: { error: 'Not Found' } },
    {
      name: 'outside: a path that only starts like a prefix',
      method: 'GET',
      url: '/alphabet',
      status: 404,
      body: { error: 'Not Found' },
    },
    {
      name: 'outside: body too large',
      method: 'POST',
      url: '/nowhere',
      payload: big,
      headers: json,
      status: 413,
      body: { error: 'Payload Too Large' },
    },
    {
      name: 'outside: malformed JSON',
      method: 'POST',
      url: '/nowhere',
      payload: '{',
      headers: json,
      status: 400,
      body: { error: 'Bad Request' },
    },
    { name: 'outside: undecodable URL', method: 'GET', url: '/%zz', status: 400, body: { error: 'Bad Request' } },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const res = await app.inject({
        method: c.method,
        url: c.url,
        ...(c.payload === undefined ? {} : { payload: c.payload }),
        ...(c.headers ? { headers: c.headers } : {}),
      });
      assert.equal(res.statusCode, c.status, res.body);
      assert.deepEqual(res.json(), c.body);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/, 'every response carries its request id');
      if (c.url.startsWith('/beta') && c.status !== 200)
        assert.equal(res.headers['x-beta'], 'yes', 'face headers are sent');
    });
  }

  it('an unknown error is logged with the request id, stack and cause, and none of it is sent', async () => {
    const res = await app.inject({ method: 'GET', url: '/alpha/boom', headers: { 'x-request-id': 'boom-1' } });
    assert.equal(res.statusCode, 500);
    assert.equal(res.headers['x-request-id'], 'boom-1');
    assert.equal(res.body.includes('secret stack detail'), false);
    assert.equal(res.body.includes('cause detail'), false);
    assert.equal(res.body.includes('at '), false);

    const errors = logs.forRequest('boom-1').filter((r) => r.level === 50);
    assert.equal(errors.length, 1, logs.text);
    const err = errors[0]?.err as { message: string; stack: string };
    assert.equal(errors[0]?.msg, 'unhandled error');
    assert.equal(errors[0]?.face, 'alpha');
    assert.match(err.message, /secret stack detail/);
    assert.match(err.stack, /Error: secret stack detail\n\s+at /);
    assert.match(err.stack, /caused by: Error: cause detail/);
  });
});

describe('face mechanism: build-time rules', () => {
  const store = fakeStore();
  const quiet = () => ({ config: testConfig({ logLevel: 'silent' }), store, clock: fixedClock });

  it('refuses a route outside the face prefixes', async () => {
    const rogue: FacePlugin = {
      ...alphaFace,
      name: 'rogue',
      async register(app) {
        app.get('/healthz2', async () => 'x');
      },
    };
    await assert.rejects(
      buildServer({ ...quiet(), faces: [rogue] }),
      /face rogue: route GET \/healthz2 is outside its prefixes \/alpha/,
    );
  });

  it('refuses two faces on the same prefix', async () => {
    await assert.rejects(
      buildServer({ ...quiet(), faces: [alphaFace, { ...betaFace, prefixes: ['/alpha'], register: async () => {} }] }),
      /faces alpha and beta overlap: \/alpha and \/alpha/,
    );
  });

  it('refuses an outer face route under a nested prefix another face owns', async () => {
    const outer: FacePlugin = {
      ...alphaFace,
      async register(app) {
        app.get('/alpha/inner/x', async () => 'x');
      },
    };
    await assert.rejects(
      buildServer({
        ...quiet(),
        faces: [outer, { ...betaFace, prefixes: ['/alpha/inner'], register: async () => {} }],
      }),
      /face alpha: route GET \/alpha\/inner\/x is under \/alpha\/inner, which another face owns/,
    );
  });

  for (const prefix of ['/', 'alpha', '/alpha/', '/a/:id', '']) {
    it(`refuses the prefix ${JSON.stringify(prefix)}`, async () => {
      await assert.rejects(
        buildServer({ ...quiet(), faces: [{ ...alphaFace, prefixes: [prefix], register: async () => {} }] }),
        /prefix .* must start with "\/"/,
      );
    });
  }

  it('refuses a face without prefixes', async () => {
    await assert.rejects(
      buildServer({ ...quiet(), faces: [{ ...alphaFace, prefixes: [] }] }),
      /needs at least one prefix/,
    );
  });

  it('a face whose renderers throw falls back to a plain 500, logged', async () => {
    const logs = new LogCollector();
    const broken: FacePlugin = {
      ...alphaFace,
      renderNotFound: () => {
        throw new Error('renderer bug');
      },
      renderInternalError: () => {
        throw new Error('second renderer bug');
      },
    };
    const app = await buildServer({ ...quiet(), config: testConfig(), faces: [broken], logStream: logs });
    try {
      const res = await app.inject({ method: 'GET', url: '/alpha/nope' });
      assert.equal(res.statusCode, 500);
      assert.deepEqual(res.json(), { error: 'Internal Server Error' });
      assert.match(logs.text, /"message":"renderer bug"/);
      assert.match(logs.text, /"message":"second renderer bug"/);
    } finally {
      await app.close();
    }
  });
});
