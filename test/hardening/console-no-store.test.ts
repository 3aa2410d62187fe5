/**
 * Issue 22: every console API answer is `Cache-Control: no-store` (docs/console.md), errors and
 * refusals included, on the real server and store.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConsoleClient, loggedIn, mintPems, startConsoleApp } from '../api/console/helpers.ts';
import type { TestApp } from '../helpers/app.ts';

describe('console API answers are Cache-Control: no-store', () => {
  let app: TestApp;
  let client: ConsoleClient;
  let certificateNo: number;

  before(async () => {
    app = await startConsoleApp('sqlite');
    client = await loggedIn(app, app.main.admin);
    const pems = await mintPems();
    const imported = await client.request('POST', '/console/api/certificates', {
      name: 'www',
      certificate: pems.certificate,
      privateKey: pems.privateKey,
      chain: pems.chain,
    });
    assert.equal(imported.status, 201, imported.text);
    certificateNo = Number(imported.body.certificateNo);
    assert.ok(certificateNo > 0, imported.text);
  });
  after(() => app?.close());

  it('answers, refusals and errors alike', async () => {
    const calls: Array<[string, string, unknown?]> = [
      ['GET', '/console/api/dashboard'],
      ['GET', '/console/api/certificates'],
      ['GET', `/console/api/certificates/${certificateNo}`],
      ['GET', `/console/api/certificates/${certificateNo}/history`],
      ['GET', '/console/api/certificates/999999'],
      ['GET', '/console/api/credentials'],
      ['GET', '/console/api/edge/slots'],
      ['GET', '/console/api/edge/slots/nope'],
      ['GET', '/console/api/issuance'],
      ['GET', '/console/api/issuance/orders'],
      ['POST', '/console/api/issuance/orders', { name: 'x', domains: ['a.example.com'] }],
      ['GET', `/console/api/certificates/${certificateNo}/issuance`],
      ['PUT', `/console/api/certificates/${certificateNo}/renewal`, { renewal: true }],
      ['GET', '/console/api/session'],
      ['GET', '/console/api/no-such-route'],
      ['POST', '/console/api/certificates/validate', { name: 'x' }],
      ['POST', '/console/api/certificates', { name: '' }],
    ];
    const seen: string[] = [];
    for (const [method, path, body] of calls) {
      const response = await client.request(method, path, body);
      seen.push(`${method} ${path} ${response.status}`);
      assert.equal(response.headers.get('cache-control'), 'no-store', `${method} ${path} (${response.status})`);
    }
    // The list reaches 2xx, 4xx of several kinds, and not-found: not only one kind of answer.
    assert.ok(seen.some((s) => s.endsWith(' 200')) && seen.some((s) => s.endsWith(' 404')), seen.join('\n'));
    const anonymous = await new ConsoleClient(app).request('GET', '/console/api/certificates');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('cache-control'), 'no-store');
  });
});
