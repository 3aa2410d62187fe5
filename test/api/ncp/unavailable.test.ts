/**
 * The API 2.0 operations this deployment does not offer answer code 29001 in the NCP envelope,
 * never a bare 404, and only after authentication and the gateway's permission check. So do the
 * issuance operations (routes-issuance.ts) while issuance is not configured, as here.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ISSUANCE_OPERATIONS } from '../../../src/api/ncp/routes-issuance.ts';
import { LIFECYCLE_OPERATIONS } from '../../../src/api/ncp/routes-lifecycle.ts';
import { UNAVAILABLE_OPERATIONS } from '../../../src/api/ncp/routes-unavailable.ts';
import { startNcpApp, storeSnapshot, type NcpTestApp } from './helpers.ts';

describe('NCP operations not available in this deployment', () => {
  let app: NcpTestApp;
  before(async () => {
    app = await startNcpApp();
  });
  after(() => app.close());

  // RegisterPrivateKey needs no CA: it serves any certificate without a key (routes-lifecycle.ts).
  const needIssuance = [
    ...ISSUANCE_OPERATIONS,
    ...LIFECYCLE_OPERATIONS.filter(([, , o]) => o !== 'RegisterPrivateKey'),
  ];
  // Issuance off: it says so and names the variables to set (the reason of a server started
  // without any issuance variable, config.ts), the same text as the console's and ACM's.
  const off =
    'Certificate issuance is not configured on this server; no validation method is configured: set CERTKEEPER_DCV_ZONE, CERTKEEPER_DCV_DNS_SERVER, CERTKEEPER_DCV_TSIG_KEY (DNS-01) or CERTKEEPER_HTTP01_PORT (HTTP-01).';
  const why = new Map<string, string>([
    ...UNAVAILABLE_OPERATIONS.map(
      ([, , operation]) =>
        [
          operation,
          `${operation} is not available in this deployment: certkeeper offers no paid (Advanced) certificates, domain registrations or EAB credentials; it imports certificates (withExternal) and issues them through an ACME CA (requestCertificateIssuance).`,
        ] as const,
    ),
    ...needIssuance.map(([, , operation]) => [operation, `${operation}: ${off}`] as const),
  ]);
  for (const [method, route, operation] of [...UNAVAILABLE_OPERATIONS, ...needIssuance]) {
    const path = route.replace(/:[A-Za-z]+/g, '42');
    it(`${method} ${path}`, async () => {
      const before = await storeSnapshot(app);
      const body = method === 'POST' ? { certificateName: 'abc', commonName: 'example.com' } : undefined;
      const res = await app.call({ method, path, ...(body ? { body } : {}) });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json, {
        returnCode: '29001',
        returnMessage: why.get(operation)!,
      });
      const viewer = await app.call({ method, path, ...(body ? { body } : {}), credentials: app.main.viewer });
      assert.equal(viewer.status, method === 'GET' ? 200 : 401);
      const anonymous = await fetch(new URL(path, app.baseUrl), { method });
      assert.equal(anonymous.status, 401);
      assert.deepEqual(await storeSnapshot(app), before);
    });
  }
});
