/**
 * Who may do what through the console: a VIEWER's writes are refused by the server whatever the
 * UI shows; a tenant never sees another tenant's certificates or keys; credentials (ADMIN): list,
 * create (secret once), revoke (its sessions die).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestApp, TestTenant } from '../../helpers/app.ts';
import { loggedIn, mintPems, startConsoleApp, type ConsoleClient, type Pems } from './helpers.ts';

describe('console access rules', () => {
  let app: TestApp;
  let admin: ConsoleClient;
  let viewer: ConsoleClient;
  let other: TestTenant;
  let otherAdmin: ConsoleClient;
  let pems: Pems;
  let no: number;

  before(async () => {
    app = await startConsoleApp('sqlite');
    admin = await loggedIn(app, app.main.admin);
    viewer = await loggedIn(app, app.main.viewer);
    other = await app.addTenant('other');
    otherAdmin = await loggedIn(app, other.admin);
    pems = await mintPems();
    const created = await admin.request('POST', '/console/api/certificates', {
      name: 'mine',
      certificate: pems.certificate,
      privateKey: pems.privateKey,
      chain: pems.chain,
    });
    assert.equal(created.status, 201);
    no = created.body.certificateNo;
  });
  after(() => app?.close());

  it('a VIEWER session says it cannot write', () => {
    assert.deepEqual(viewer.session!.body.can, {
      writeCertificates: false,
      readPrivateKeys: false,
      manageCredentials: false,
      readAudit: true,
      manageTargets: false,
    });
  });

  it('a VIEWER cannot import, validate, delete, read keys or manage credentials (403), and nothing changes', async () => {
    const body = { name: 'viewer-try', certificate: pems.certificate, privateKey: pems.privateKey, chain: pems.chain };
    const attempts: Array<[string, string, unknown?]> = [
      ['POST', '/console/api/certificates', body],
      ['POST', '/console/api/certificates/validate', body],
      ['DELETE', `/console/api/certificates/${no}?name=mine`],
      ['POST', `/console/api/certificates/${no}/private-key`],
      ['GET', '/console/api/credentials'],
      ['POST', '/console/api/credentials', { role: 'ADMIN' }],
      ['DELETE', `/console/api/credentials/${app.main.admin.accessKey}`],
    ];
    for (const [method, path, payload] of attempts) {
      const response = await viewer.request(method, path, payload);
      assert.equal(response.status, 403, `${method} ${path}`);
      assert.equal(response.body.error.code, 'permission_denied', `${method} ${path}`);
      assert.match(response.body.error.message, /VIEWER role may not/);
    }
    assert.equal((await viewer.request('GET', '/console/api/certificates')).body.total, 1);
    assert.equal((await admin.request('GET', `/console/api/certificates/${no}`)).status, 200);
  });

  it("another tenant's certificate answers like a missing one, everywhere", async () => {
    assert.equal((await otherAdmin.request('GET', '/console/api/certificates')).body.total, 0);
    for (const [method, path] of [
      ['GET', `/console/api/certificates/${no}`],
      ['GET', `/console/api/certificates/${no}/history`],
      ['GET', `/console/api/certificates/${no}/files/certificate`],
      ['POST', `/console/api/certificates/${no}/private-key`],
      ['DELETE', `/console/api/certificates/${no}?name=mine`],
    ] as const) {
      const response = await otherAdmin.request(method, path);
      assert.equal(response.status, 404, `${method} ${path}`);
      assert.equal(response.body.error.code, 'not_found');
    }
    const dashboard = await otherAdmin.request('GET', '/console/api/dashboard');
    assert.equal(dashboard.body.counts.total, 0);
    // Its own refused attempts are in its own trail; nothing of the first tenant's is.
    assert.ok(
      dashboard.body.recent.every(
        (e: { actor: string; result: string }) =>
          e.actor !== app.main.admin.accessKey && (e.actor === 'cli' || e.result === 'failure'),
      ),
      JSON.stringify(dashboard.body.recent),
    );
    // The same certificate is not a duplicate in another tenant.
    const again = await otherAdmin.request('POST', '/console/api/certificates', {
      name: 'mine',
      certificate: pems.certificate,
      privateKey: pems.privateKey,
      chain: pems.chain,
    });
    assert.equal(again.status, 201);
    assert.equal((await admin.request('GET', '/console/api/certificates')).body.total, 1);
  });

  it("an ADMIN lists, creates and revokes its own tenant's keys, not another's", async () => {
    const list = await admin.request('GET', '/console/api/credentials');
    assert.equal(list.status, 200);
    const keys = list.body.items.map((c: { accessKey: string }) => c.accessKey);
    assert.ok(keys.includes(app.main.admin.accessKey));
    assert.ok(!keys.includes(other.admin.accessKey));
    assert.equal(list.body.items.find((c: { current: boolean }) => c.current).accessKey, app.main.admin.accessKey);
    assert.ok(!list.text.includes(app.main.admin.secretKey));

    const created = await admin.request('POST', '/console/api/credentials', {
      role: 'VIEWER',
      description: 'build server',
    });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('cache-control'), 'no-store');
    assert.match(created.body.secretKey, /^[A-Za-z0-9]{40}$/);
    assert.equal(created.body.credential.description, 'build server');
    const newKey = {
      accessKey: created.body.credential.accessKey,
      secretKey: created.body.secretKey,
      role: 'VIEWER' as const,
    };
    const session = await loggedIn(app, newKey);
    assert.ok(
      !(await admin.request('GET', '/console/api/credentials')).text.includes(created.body.secretKey),
      'shown once',
    );

    const foreign = await admin.request('DELETE', `/console/api/credentials/${other.viewer.accessKey}`);
    assert.equal(foreign.status, 404);
    const revoked = await admin.request('DELETE', `/console/api/credentials/${newKey.accessKey}`);
    assert.equal(revoked.status, 204);
    assert.equal((await session.request('GET', '/console/api/session')).status, 401, 'its session died');
    const tooLong = await admin.request('POST', '/console/api/credentials', {
      role: 'VIEWER',
      description: 'x'.repeat(201),
    });
    assert.equal(tooLong.status, 413);
    assert.equal(tooLong.body.error.field, 'description');
    const badRole = await admin.request('POST', '/console/api/credentials', { role: 'ROOT' });
    assert.equal(badRole.status, 400);
    assert.equal(badRole.body.error.field, 'role');
  });
});
