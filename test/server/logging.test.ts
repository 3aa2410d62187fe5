/**
 * Structured logs: one JSON object per line, a request id on every line of a request (echoed to
 * the client), secret headers redacted, bodies never logged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildServer, SECRET_HEADERS, type FacePlugin } from '../../src/server/index.ts';
import { loggerOptions } from '../../src/server/logging.ts';
import { isSaneRequestId } from '../../src/server/request-id.ts';
import { fakeStore, fixedClock, LogCollector, testConfig } from './helpers.ts';

const plain = (status: number) => ({ status, body: { status } });
const echoFace: FacePlugin = {
  name: 'echo',
  prefixes: ['/echo'],
  async register(app) {
    app.post('/echo', async (request) => {
      // A handler that logs the request the way people do when debugging.
      request.log.info({ req: request }, 'handler saw the request');
      return { received: true };
    });
  },
  renderError: () => plain(400),
  renderInternalError: () => plain(500),
  renderNotFound: () => plain(404),
  renderBodyTooLarge: () => plain(413),
  renderBadRequest: (_r, p) => plain(p.status),
};

/** One distinct, greppable value per secret header. */
const SECRET_VALUES = Object.fromEntries(SECRET_HEADERS.map((h, i) => [h, `SECRET-VALUE-${i}-${h}`]));

describe('logging', () => {
  let app: FastifyInstance;
  const logs = new LogCollector();

  before(async () => {
    app = await buildServer({
      config: testConfig({ logLevel: 'trace' }),
      store: fakeStore(),
      clock: fixedClock,
      faces: [echoFace],
      logStream: logs,
    });
  });
  after(() => app.close());

  it('never writes a secret header value or the body; keeps other headers', async () => {
    const body = JSON.stringify({ privateKey: '-----BEGIN PRIVATE KEY-----BODY-SECRET' });
    const headers = {
      ...SECRET_VALUES,
      'x-ncp-apigw-signature-v2': 'SIG-V2-SECRET',
      'x-ncp-apigw-signature-v1': 'SIG-V1-SECRET',
      'x-tc-authentication-secret': 'NHN-SECRET',
      'x-nhn-authorization': 'NHN-TOKEN-SECRET',
      authorization: 'Bearer BEARER-SECRET',
      cookie: 'session=COOKIE-SECRET',
      'set-cookie': 'a=SETCOOKIE-SECRET',
      'x-ncp-iam-access-key': 'AK-PUBLIC-1',
      'content-type': 'application/json',
      'x-request-id': 'log-1',
    };
    const res = await app.inject({ method: 'POST', url: '/echo', payload: body, headers });
    assert.equal(res.statusCode, 200);

    const lines = logs.forRequest('log-1');
    assert.deepEqual(
      lines.map((r) => r.msg),
      ['handler saw the request', 'request completed'],
    );
    const text = JSON.stringify(lines);
    for (const secret of [
      ...Object.values(SECRET_VALUES),
      'SIG-V2-SECRET',
      'SIG-V1-SECRET',
      'NHN-SECRET',
      'NHN-TOKEN-SECRET',
      'BEARER-SECRET',
      'COOKIE-SECRET',
      'SETCOOKIE-SECRET',
      'BODY-SECRET',
    ]) {
      assert.equal(text.includes(secret), false, `${secret} leaked into the logs`);
    }
    const incoming = lines.find((r) => r.msg === 'request completed');
    const loggedHeaders = (incoming?.req as { headers: Record<string, string> }).headers;
    assert.equal(loggedHeaders.authorization, '[REDACTED]');
    assert.equal(loggedHeaders['x-ncp-apigw-signature-v2'], '[REDACTED]');
    assert.equal(loggedHeaders['x-tc-authentication-secret'], '[REDACTED]');
    assert.equal(loggedHeaders['x-ncp-iam-access-key'], 'AK-PUBLIC-1', 'non-secret headers stay useful');
    const handlerLine = lines.find((r) => r.msg === 'handler saw the request');
    assert.equal((handlerLine?.req as { headers: Record<string, string> }).headers.cookie, '[REDACTED]');
  });

  it('redaction does not change what handlers see', async () => {
    const seen: string[] = [];
    const spyFace: FacePlugin = {
      ...echoFace,
      name: 'spy',
      prefixes: ['/spy'],
      async register(a) {
        a.get('/spy', async (request) => {
          request.log.info({ req: request }, 'before');
          seen.push(String(request.headers.authorization));
          return {};
        });
      },
    };
    const other = await buildServer({
      config: testConfig({ logLevel: 'silent' }),
      store: fakeStore(),
      clock: fixedClock,
      faces: [spyFace],
      logStream: new LogCollector(),
    });
    try {
      await other.inject({ method: 'GET', url: '/spy', headers: { authorization: 'Bearer live' } });
      assert.deepEqual(seen, ['Bearer live']);
    } finally {
      await other.close();
    }
  });

  it('every line is JSON with level, time and, for requests, the request id', async () => {
    await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'log-2' } });
    for (const line of logs.lines) {
      const record = JSON.parse(line) as Record<string, unknown>;
      assert.equal(typeof record.level, 'number');
      assert.equal(typeof record.time, 'number');
    }
    const lines = logs.forRequest('log-2');
    // One line per request, with the request, the status and the time taken.
    assert.deepEqual(
      lines.map((r) => r.msg),
      ['request completed'],
    );
    const line = lines[0] as {
      req: { method: string; url: string };
      res: { statusCode: number };
      responseTime: number;
    };
    assert.equal(line.req.method, 'GET');
    assert.equal(line.req.url, '/healthz');
    assert.equal(line.res.statusCode, 200);
    assert.equal(typeof line.responseTime, 'number');
  });
});

describe('request id', () => {
  let app: FastifyInstance;
  const logs = new LogCollector();
  before(async () => {
    app = await buildServer({
      config: testConfig(),
      store: fakeStore(),
      clock: fixedClock,
      faces: [],
      logStream: logs,
    });
  });
  after(() => app.close());

  it('honours a sane incoming x-request-id and echoes it', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'lb-7f3a.01:xyz' } });
    assert.equal(res.headers['x-request-id'], 'lb-7f3a.01:xyz');
    assert.equal(logs.forRequest('lb-7f3a.01:xyz').length, 1);
  });

  for (const bad of ['has spaces', 'a'.repeat(129), 'new\\nline', '<script>', 'a, b']) {
    it(`replaces an unsafe incoming id ${JSON.stringify(bad.slice(0, 20))} with a UUID`, async () => {
      const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': bad } });
      const id = String(res.headers['x-request-id']);
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.deepEqual(logs.forRequest(bad), [], 'the unsafe value never becomes a request id');
      assert.equal(logs.forRequest(id).length, 1);
    });
  }

  it('generates distinct ids when none is sent', async () => {
    const a = await app.inject({ method: 'GET', url: '/healthz' });
    const b = await app.inject({ method: 'GET', url: '/nowhere' });
    assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
    assert.equal(b.statusCode, 404);
  });

  it('isSaneRequestId', () => {
    assert.equal(isSaneRequestId('Root=1-abc/def+g@h'), true);
    assert.equal(isSaneRequestId(''), false);
    assert.equal(isSaneRequestId(['a', 'b']), false);
    assert.equal(isSaneRequestId(undefined), false);
  });
});

describe('logging: secret headers anywhere a line puts them', () => {
  // The server's own logger options, on a pino of their own: what any code logs, not only requests.
  const logged = () => {
    const collector = new LogCollector();
    const options = loggerOptions({ level: 'trace', stream: collector }) as pino.LoggerOptions;
    return { collector, logger: pino(options, collector) };
  };

  it('redacts a bare headers object and the headers one level under any key, names in any case', () => {
    const { collector, logger } = logged();
    const upstream = {
      status: 401,
      headers: { Authorization: 'Bearer UPSTREAM-SECRET', 'content-type': 'text/plain' },
    };
    const headers = { cookie: 'session=BARE-SECRET', accept: '*/*' };
    logger.warn({ upstream, headers, attempt: 2 }, 'upstream refused');
    const [line] = collector.records();
    assert.equal(collector.text.includes('SECRET'), false, collector.text);
    assert.deepEqual(line!.upstream, {
      status: 401,
      headers: { Authorization: '[REDACTED]', 'content-type': 'text/plain' },
    });
    assert.deepEqual(line!.headers, { cookie: '[REDACTED]', accept: '*/*' });
    assert.equal(line!.attempt, 2);
    // What was logged is untouched: the caller still holds its live objects.
    assert.equal(upstream.headers.Authorization, 'Bearer UPSTREAM-SECRET');
    assert.equal(headers.cookie, 'session=BARE-SECRET');
  });

  it("redacts an error's headers and keeps its type, message and stack", () => {
    const { collector, logger } = logged();
    const error = Object.assign(new TypeError('webhook refused'), {
      code: 'E_HOOK',
      headers: { 'set-cookie': ['a=ERR-SECRET'], 'x-nhn-authorization': 'ERR-TOKEN' },
    });
    logger.error({ err: error }, 'delivery failed');
    const [line] = collector.records();
    assert.equal(collector.text.includes('ERR-SECRET') || collector.text.includes('ERR-TOKEN'), false, collector.text);
    const err = line!.err as Record<string, unknown>;
    assert.equal(err.type, 'TypeError');
    assert.equal(err.message, 'webhook refused');
    assert.equal(err.code, 'E_HOOK');
    assert.match(String(err.stack), /^TypeError: webhook refused\n\s+at /);
    assert.deepEqual(err.headers, { 'set-cookie': '[REDACTED]', 'x-nhn-authorization': '[REDACTED]' });
    assert.deepEqual(error.headers['set-cookie'], ['a=ERR-SECRET']);
  });

  it('leaves a line without secret headers as it is', () => {
    const { collector, logger } = logged();
    const request = { headers: { host: 'example.test', accept: 'application/json' } };
    logger.info({ request, list: [{ headers: { cookie: 'in an array: not a header map' } }] }, 'plain');
    const [line] = collector.records();
    assert.deepEqual(line!.request, request);
    assert.equal(
      (line!.list as Array<{ headers: { cookie: string } }>)[0]!.headers.cookie,
      'in an array: not a header map',
    );
  });
});
