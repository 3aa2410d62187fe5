/**
 * Wire details of the NCP face that the golden test does not cover: the API time zone setting,
 * client quirks it tolerates (Content-Type on bodiless requests, the old API key header),
 * routing under its prefixes, and the error table against docs/compat/ncp.md.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_TABLE, GATEWAY_ERRORS, DELETE_NOT_FOUND, UNAVAILABLE_OPERATION } from '../../../src/api/ncp/errors.ts';
import { ERROR_CODES } from '../../../src/domain/errors.ts';
import { FIXTURES, startNcpApp, v1Body, type NcpTestApp } from './helpers.ts';

describe('NCP wire: CERTKEEPER_API_TIMEZONE', () => {
  for (const [zone, regDate, v2Date] of [
    ['+00:00', '2027-01-15 01:02:03', '2027-01-15 01:02:03(UTC+00:00)'],
    ['-03:30', '2027-01-14 21:32:03', '2027-01-14 21:32:03(UTC-03:30)'],
  ] as const) {
    it(`prints every date in ${zone}`, async () => {
      const app = await startNcpApp({ env: { CERTKEEPER_API_TIMEZONE: zone } });
      try {
        const created = await app.call({
          method: 'POST',
          path: '/api/v1/certificate/withExternal',
          body: v1Body('ec-cert', FIXTURES.ec),
        });
        const item = (created.json as { sslCertificateList: Array<Record<string, string>> }).sslCertificateList[0]!;
        assert.equal(item.regDate, regDate);
        assert.equal(item.updateDate, regDate);
        const list = await app.call({ method: 'GET', path: '/api/v2/certificate/certificates' });
        const v2 = (list.json as { sslCertificateList: Array<Record<string, string>> }).sslCertificateList[0]!;
        assert.equal(v2.registDate, v2Date);
        // A startDateTime without a zone is read in the configured zone.
        const recent = await app.call({
          method: 'GET',
          path: '/api/v2/certificate/recentChanges',
          query: { startDateTime: regDate, endDateTime: regDate },
        });
        assert.equal((recent.json as { totalCount: number }).totalCount, 1, recent.body.toString());
      } finally {
        await app.close();
      }
    });
  }
});

describe('NCP wire: requests', () => {
  let app: NcpTestApp;
  before(async () => {
    app = await startNcpApp();
    await app.call({ method: 'POST', path: '/api/v1/certificate/withExternal', body: v1Body('ec-cert', FIXTURES.ec) });
    await app.call({
      method: 'POST',
      path: '/api/v1/certificate/withExternal',
      body: v1Body('korean-cert', FIXTURES.korean),
    });
  });
  after(() => app.close());

  it('tolerates Content-Type: application/json on GET and on a bodiless DELETE, and the old API key header', async () => {
    const headers = { 'content-type': 'application/json', 'x-ncp-apigw-api-key': 'legacy-api-key' };
    const list = await app.call({ method: 'GET', path: '/api/v1/certificates', headers });
    assert.equal(list.status, 200);
    const deleted = await app.call({
      method: 'DELETE',
      path: '/api/v1/certificate/2',
      query: { certificateName: 'korean-cert' },
      headers: { ...headers, 'content-length': '0' },
    });
    assert.equal(deleted.status, 200, deleted.body.toString());
    assert.deepEqual(deleted.json, { returnCode: '0', returnMessage: 'Success', totalRows: 1 });
  });

  it('answers gateway error 300 for every path and method it does not serve under /api/v1 and /api/v2', async () => {
    const misses: Array<[string, string]> = [
      ['GET', '/api/v1/nothing'],
      ['PUT', '/api/v1/certificates'],
      ['GET', '/api/v1/certificates/'],
      ['POST', '/api/v1/certificate/issuePrivate'],
      ['GET', '/api/v1/certificate/withExternal'],
      ['GET', '/api/v2'],
      ['GET', '/api/v2/certificate/withExternal'],
      ['DELETE', '/api/v2/certificate/exportCertificate/1'],
      ['GET', '/api/v2/certificate/exportCertificate/1/chain/extra'],
      ['POST', '/api/v2/organization/getOrganizationInfoList'],
    ];
    for (const [method, path] of misses) {
      const res = await app.call({ method, path });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.deepEqual(res.json, {
        error: { errorCode: '300', message: 'Not Found Exception', details: 'No API matches this method and path.' },
      });
    }
  });

  it('API 2.0 registration also reads the v1 field name publicKeyCertificate', async () => {
    const body = {
      certificateName: 'self-cert',
      privateKey: FIXTURES.rsaSelf.privateKey,
      publicKeyCertificate: FIXTURES.rsaSelf.certificate,
      certificateChain: '',
    };
    const res = await app.call({ method: 'POST', path: '/api/v2/certificate/withExternal', body });
    assert.equal((res.json as { returnCode: string }).returnCode, '0', res.body.toString());
    const neither = await app.call({
      method: 'POST',
      path: '/api/v2/certificate/withExternal',
      body: { ...body, publicKeyCertificate: undefined },
    });
    assert.deepEqual(neither.json, { returnCode: '2100', returnMessage: 'certificateBody is required.' });
  });

  it('answers a body it cannot read with gateway error 100', async () => {
    const plain = await app.call({
      method: 'POST',
      path: '/api/v1/certificate/withExternal',
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(plain.status, 400);
    assert.deepEqual(plain.json, {
      error: {
        errorCode: '100',
        message: 'Bad Request Exception',
        details: 'The content type of the request body is not supported here.',
      },
    });
  });
});

describe('NCP wire: the error table', () => {
  const doc = readFileSync(new URL('../../../docs/compat/ncp.md', import.meta.url), 'utf8');

  it('maps every core error code, one NCP code per ladder code, and docs/compat/ncp.md lists each', () => {
    assert.deepEqual(Object.keys(ERROR_TABLE).sort(), [...ERROR_CODES].sort());
    const ladderCodes = ERROR_CODES.slice(0, ERROR_CODES.indexOf('name_invalid') + 1);
    const byReturnCode = new Map<string, string[]>();
    for (const code of ladderCodes) {
      const wire = ERROR_TABLE[code];
      assert.equal(wire.kind, 'service', code);
      if (wire.kind === 'service')
        byReturnCode.set(wire.returnCode, [...(byReturnCode.get(wire.returnCode) ?? []), code]);
    }
    // Only the two PEM refusals share a code: NCP documents one code for "not PEM".
    for (const [returnCode, codes] of byReturnCode)
      if (codes.length > 1) assert.deepEqual([returnCode, codes], ['1002', ['pem_malformed', 'pem_too_many_blocks']]);

    const returnCodes = new Set<string>(['0', '2101', DELETE_NOT_FOUND.returnCode, UNAVAILABLE_OPERATION.returnCode]);
    for (const wire of Object.values(ERROR_TABLE)) if (wire.kind === 'service') returnCodes.add(wire.returnCode);
    for (const code of returnCodes)
      assert.match(doc, new RegExp(`\\| \`${code}\` \\|`), `returnCode ${code} is in docs/compat/ncp.md`);
    for (const { errorCode } of Object.values(GATEWAY_ERRORS))
      assert.match(doc, new RegExp(`\\| \`${errorCode}\` \\|`), `errorCode ${errorCode} is in docs/compat/ncp.md`);
    for (const code of ERROR_CODES) assert.ok(doc.includes(`\`${code}\``), `${code} is in docs/compat/ncp.md`);
  });
});
