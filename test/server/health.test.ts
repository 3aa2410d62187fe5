import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/server/index.ts';
import { fakeStore, fixedClock, LogCollector, testConfig, type FakeStoreOptions } from './helpers.ts';

async function withServer(
  store: FakeStoreOptions,
  run: (app: FastifyInstance, logs: LogCollector) => Promise<void>,
  readinessTimeoutMs = 2000,
): Promise<void> {
  const logs = new LogCollector();
  const app = await buildServer({
    config: testConfig(),
    store: fakeStore(store),
    clock: fixedClock,
    faces: [],
    logStream: logs,
    readinessTimeoutMs,
  });
  try {
    await run(app, logs);
  } finally {
    await app.close();
  }
}

describe('/healthz', () => {
  it('is 200 {"status":"ok"} without touching the store', async () => {
    const store = fakeStore({ ping: () => Promise.reject(new Error('down')) });
    const app = await buildServer({ config: testConfig({ logLevel: 'silent' }), store, clock: fixedClock, faces: [] });
    try {
      const res = await app.inject({ method: 'GET', url: '/healthz' });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { status: 'ok' });
      assert.equal(store.pings, 0);
    } finally {
      await app.close();
    }
  });
});

describe('/readyz', () => {
  it('is 200 {"status":"ok"} when the store pings', async () => {
    await withServer({}, async (app) => {
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { status: 'ok' });
    });
  });

  it('is 503 {"status":"unavailable"} when ping fails; the cause is logged, not sent', async () => {
    await withServer(
      { ping: () => Promise.reject(new Error('connect ECONNREFUSED db-secret-host:5432')) },
      async (app, logs) => {
        const res = await app.inject({ method: 'GET', url: '/readyz', headers: { 'x-request-id': 'ready-1' } });
        assert.equal(res.statusCode, 503);
        assert.deepEqual(res.json(), { status: 'unavailable' });
        assert.equal(res.body.includes('db-secret-host'), false);
        const warn = logs.forRequest('ready-1').find((r) => r.msg === 'readiness: store ping failed');
        assert.ok(warn, logs.text);
        assert.match((warn.err as { message: string }).message, /db-secret-host/);
      },
    );
  });

  it('is 503 when ping hangs past the timeout, without waiting for it', async () => {
    await withServer(
      { ping: () => new Promise(() => {}) },
      async (app, logs) => {
        // The ping never settles, so an answer at all shows the timeout cut it; the log names the bound.
        const res = await app.inject({ method: 'GET', url: '/readyz' });
        assert.equal(res.statusCode, 503);
        assert.deepEqual(res.json(), { status: 'unavailable' });
        assert.match(logs.text, /store\.ping\(\) did not settle within 50 ms/);
      },
      50,
    );
  });

  it('is 503 when ping throws synchronously', async () => {
    const store = {
      ping: (): Promise<void> => {
        throw new Error('driver not loaded');
      },
      certificates: fakeStore().certificates,
    };
    const app = await buildServer({ config: testConfig({ logLevel: 'silent' }), store, clock: fixedClock, faces: [] });
    try {
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(res.statusCode, 503);
      assert.deepEqual(res.json(), { status: 'unavailable' });
    } finally {
      await app.close();
    }
  });
});
