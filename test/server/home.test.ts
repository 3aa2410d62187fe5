/**
 * `GET /` leads to the home path the server was given (the console), and stays a plain 404 when
 * none was given.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildServer } from '../../src/server/index.ts';
import { fakeStore, fixedClock, testConfig } from './helpers.ts';

describe('GET /', () => {
  it('redirects to the home path', async () => {
    const app = await buildServer({
      config: testConfig({ logLevel: 'silent' }),
      store: fakeStore(),
      clock: fixedClock,
      faces: [],
      homePath: '/console/',
    });
    try {
      const res = await app.inject({ method: 'GET', url: '/' });
      assert.equal(res.statusCode, 302);
      assert.equal(res.headers.location, '/console/');
      const head = await app.inject({ method: 'HEAD', url: '/' });
      assert.equal(head.statusCode, 302);
    } finally {
      await app.close();
    }
  });

  it('is a 404 without a home path', async () => {
    const app = await buildServer({
      config: testConfig({ logLevel: 'silent' }),
      store: fakeStore(),
      clock: fixedClock,
      faces: [],
    });
    try {
      const res = await app.inject({ method: 'GET', url: '/' });
      assert.equal(res.statusCode, 404);
    } finally {
      await app.close();
    }
  });
});
