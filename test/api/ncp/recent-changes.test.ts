/**
 * ListRecentCertChanges: which changes a window catches. Both ends are included, creations,
 * replacements and deletions all count (deleted certificates appear with status -6), newest first,
 * paged with page/pageSize.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliActor } from '../../../src/core/actor.ts';
import { FIXTURES, GOLDEN_NOW, startNcpApp, v1Body, v2Body, type NcpTestApp } from './helpers.ts';

type Recent = { returnCode: string; totalCount: number; orders: Array<{ certificateNo: number; statusCode: string }> };

describe('NCP recentChanges', () => {
  let app: NcpTestApp;
  const recent = async (query: Record<string, string | number>): Promise<Recent> =>
    (await app.call({ method: 'GET', path: '/api/v2/certificate/recentChanges', query })).json as Recent;
  const numbers = (r: Recent) => r.orders.map((o) => `${o.certificateNo}:${o.statusCode}`);

  before(async () => {
    app = await startNcpApp();
    await app.call({ method: 'POST', path: '/api/v1/certificate/withExternal', body: v1Body('ec-cert', FIXTURES.ec) }); // 1 at T0
    app.clock.advance(60_000);
    await app.call({
      method: 'POST',
      path: '/api/v2/certificate/withExternal',
      body: v2Body('korean-cert', FIXTURES.korean),
    }); // 2 at T0+1m
    app.clock.advance(60_000);
    await app.call({ method: 'DELETE', path: '/api/v1/certificate/1', query: { certificateName: 'ec-cert' } }); // 1 deleted at T0+2m
  });
  after(() => app.close());

  it('counts from now back, both ends included', async () => {
    assert.deepEqual(numbers(await recent({ minutes: 1 })), ['1:-6', '2:1']);
    assert.deepEqual(numbers(await recent({ seconds: 59 })), ['1:-6']);
    assert.deepEqual(numbers(await recent({ seconds: 60 })), ['1:-6', '2:1']);
    app.clock.advance(10_000);
    assert.deepEqual(numbers(await recent({ seconds: 10 })), ['1:-6']);
    assert.deepEqual(numbers(await recent({ seconds: 9 })), []);
    app.clock.advance(-10_000);
  });

  it('takes a date range with both ends included', async () => {
    // T0 is 2027-01-15 10:02:03 in Korea; certificate 2 changed at 10:03:03.
    assert.deepEqual(
      numbers(await recent({ startDateTime: '2027-01-15 10:03:03', endDateTime: '2027-01-15 10:03:03' })),
      ['2:1'],
    );
    assert.deepEqual(
      numbers(await recent({ startDateTime: '2027-01-15 10:03:04', endDateTime: '2027-01-15 10:04:02' })),
      [],
    );
    assert.equal(
      (await recent({ startDateTime: GOLDEN_NOW.toISOString(), endDateTime: '2027-01-15T01:04:03Z' })).totalCount,
      2,
    );
  });

  it('pages, newest first', async () => {
    const first = await recent({ minutes: 10, page: 1, pageSize: 1 });
    const second = await recent({ minutes: 10, page: 2, pageSize: 1 });
    const third = await recent({ minutes: 10, page: 3, pageSize: 1 });
    assert.deepEqual([first.totalCount, second.totalCount, third.totalCount], [2, 2, 2]);
    assert.deepEqual([...numbers(first), ...numbers(second), ...numbers(third)], ['1:-6', '2:1']);
  });
});

describe('NCP recentChanges after a restore, and a v2 replace keeping a version', () => {
  let app: NcpTestApp;
  const recent = async (query: Record<string, string | number>): Promise<Recent> =>
    (await app.call({ method: 'GET', path: '/api/v2/certificate/recentChanges', query })).json as Recent;
  const numbers = (r: Recent) => r.orders.map((o) => `${o.certificateNo}:${o.statusCode}`);
  before(async () => {
    app = await startNcpApp();
  });
  after(() => app.close());

  it('a deleted certificate is -6; restored, it is listed again as a change and in the list', async () => {
    await app.call({ method: 'POST', path: '/api/v1/certificate/withExternal', body: v1Body('ec-cert', FIXTURES.ec) });
    app.clock.advance(60_000);
    await app.call({ method: 'DELETE', path: '/api/v1/certificate/1', query: { certificateName: 'ec-cert' } });
    assert.deepEqual(numbers(await recent({ seconds: 1 })), ['1:-6']);
    const listed = async () =>
      ((await app.call({ method: 'GET', path: '/api/v2/certificate/certificates' })).json as { totalCount: number })
        .totalCount;
    assert.equal(await listed(), 0);
    app.clock.advance(60_000);
    await app.app.core.certificates.restore(cliActor(app.main.tenant.id), 1);
    assert.deepEqual(numbers(await recent({ seconds: 1 })), ['1:1']);
    assert.equal(await listed(), 1);
  });

  it('a replace through v2 withExternal with certificateNo keeps the previous version', async () => {
    app.clock.advance(60_000);
    const replaced = await app.call({
      method: 'POST',
      path: '/api/v2/certificate/withExternal',
      body: v2Body('ec-cert', FIXTURES.korean, 1),
    });
    assert.equal(replaced.status, 200, replaced.body.toString());
    const versions = await app.app.core.certificates.versions(cliActor(app.main.tenant.id), 1);
    assert.equal(versions.currentVersion, 2);
    assert.deepEqual(
      versions.previous.map((v) => [v.version, v.replacedBy]),
      [[1, app.main.admin.accessKey]],
    );
    assert.deepEqual(numbers(await recent({ seconds: 1 })), ['1:1']);
  });
});
