/**
 * Edge slots through the console, against core's provisioning use-cases and a real worker pass
 * publishing to a directory target: provision, live status, replace, TLS settings, delete; a
 * certificate in use cannot be deleted; a VIEWER sees slots but cannot change them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditService } from '../../../src/core/audit.ts';
import { createProvisioningWorker, type ProvisioningWorker } from '../../../src/core/deploy/worker.ts';
import { createDeployers } from '../../../src/deployers/index.ts';
import type { TestApp } from '../../helpers/app.ts';
import { loggedIn, mintPems, startConsoleApp, type ConsoleClient, type Pems } from './helpers.ts';

describe('console edge slots', () => {
  let app: TestApp;
  let admin: ConsoleClient;
  let viewer: ConsoleClient;
  let worker: ProvisioningWorker;
  let targetDir: string;
  let first: Pems;
  let second: Pems;
  const no: Record<string, number> = {};

  before(async () => {
    app = await startConsoleApp('sqlite');
    targetDir = await mkdtemp(join(tmpdir(), 'certkeeper-console-edge-'));
    admin = await loggedIn(app, app.main.admin);
    viewer = await loggedIn(app, app.main.viewer);
    worker = createProvisioningWorker({
      store: app.app.store,
      clock: app.clock,
      audit: createAuditService(app.app.store, app.clock),
      workerId: 'console-test',
      deployers: createDeployers({ clock: app.clock }),
    });
    first = await mintPems({ cn: 'first.example.com', sans: { dns: ['first.example.com'] } });
    second = await mintPems({ cn: 'second.example.com', sans: { dns: ['second.example.com'] } });
    for (const [name, p] of [
      ['first', first],
      ['second', second],
    ] as const) {
      const created = await admin.request('POST', '/console/api/certificates', {
        name,
        certificate: p.certificate,
        privateKey: p.privateKey,
        chain: p.chain,
      });
      assert.equal(created.status, 201);
      no[name] = created.body.certificateNo;
    }
  });
  after(async () => {
    await worker?.stop();
    await app?.close();
    if (targetDir) await rm(targetDir, { recursive: true, force: true });
  });

  it('refuses to provision without a deployment target, saying what to do', async () => {
    const response = await admin.request('POST', '/console/api/edge/slots', { certificateNo: no.first });
    assert.equal(response.status, 409);
    assert.match(response.body.error.message, /certkeeper target set/);
  });

  it('shows the deployment target, read-only: a directory in full, a webhook by its origin', async () => {
    assert.equal((await viewer.request('GET', '/console/api/deploy-target')).body.target, null);
    await app.app.core.targets.set(app.main.actor, {
      kind: 'webhook',
      url: 'https://deploy.example.com/hook?token=s3cret',
    });
    const webhook = await viewer.request('GET', '/console/api/deploy-target');
    assert.equal(webhook.status, 200);
    assert.equal(webhook.body.target.kind, 'webhook');
    assert.equal(webhook.body.target.origin, 'https://deploy.example.com');
    assert.doesNotMatch(webhook.text, /s3cret|\/hook/, 'no path or token');
    await app.app.core.targets.set(app.main.actor, {
      kind: 'directory',
      path: targetDir,
      reloadCommand: "nginx -s 'reload'",
      reloadTimeoutMs: 5_000,
    });
    const directory = await viewer.request('GET', '/console/api/deploy-target');
    assert.deepEqual(
      { ...directory.body.target, updatedAt: undefined },
      {
        kind: 'directory',
        path: targetDir,
        reloadCommand: 'nginx -s reload',
        reloadTimeoutMs: 5_000,
        files: directory.body.target.files,
        updatedAt: undefined,
      },
    );
    const listed = await viewer.request('GET', '/console/api/edge/slots');
    assert.deepEqual(listed.body.target, directory.body.target, 'the slot list carries it too');
    // Writes stay with the operator's CLI unless the server opts in (deploy-target.test.ts).
    const refused = await admin.request('PUT', '/console/api/deploy-target', { kind: 'directory', path: '/tmp' });
    assert.deepEqual([refused.status, refused.body.error.code], [403, 'target_edit_off']);
  });

  it('provisions, publishes, and shows the slot as the worker moves it', async () => {
    await app.app.core.targets.set(app.main.actor, { kind: 'directory', path: targetDir });
    const created = await admin.request('POST', '/console/api/edge/slots', {
      certificateNo: no.first,
      tlsVersion: 'TLS_MIN_VERSION_1_2',
      cipherProfile: 'STRICT',
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.status, 'READY');
    assert.equal(created.body.pending, true);
    assert.equal(created.body.items[0].certificate.name, 'first');
    assert.deepEqual(created.body.tlsProtocols, ['1.2', '1.3']);
    no.slot = created.body.slotId;
    await worker.runOnce();
    const running = await viewer.request('GET', `/console/api/edge/slots/${no.slot}`);
    assert.equal(running.body.status, 'RUNNING');
    assert.equal(running.body.pending, false);
    assert.equal(running.body.deployment.deployedGeneration, running.body.deployment.generation);
    assert.equal(
      await readFile(join(targetDir, String(no.slot), 'fullchain.pem'), 'utf8'),
      first.certificate + first.intermediate.pem,
    );
    // Where the files are: the slot's folder, and the same folder by the certificate's name.
    assert.equal(running.body.targetDirectory, `${targetDir}/${no.slot}/`);
    assert.equal(running.body.targetAlias, `${targetDir}/by-name/first/`);
    // The target's card says what the worker did last.
    const last = (await viewer.request('GET', '/console/api/deploy-target')).body.lastDeployment;
    assert.deepEqual(
      { ...last, at: undefined },
      { slotId: no.slot, action: 'publish', result: 'success', at: undefined },
    );
    // Another tenant's card never shows this tenant's deployment (it is kept on each tenant's target).
    const other = await app.addTenant('edge-deploy-other');
    await app.app.core.targets.set(other.actor, { kind: 'directory', path: join(targetDir, 'other') });
    const otherViewer = await loggedIn(app, other.viewer);
    assert.equal((await otherViewer.request('GET', '/console/api/deploy-target')).body.lastDeployment, null);
    assert.equal(
      await readFile(join(targetDir, 'by-name', 'first', 'privkey.pem'), 'utf8'),
      await readFile(join(targetDir, String(no.slot), 'privkey.pem'), 'utf8'),
    );
    const list = await viewer.request('GET', '/console/api/edge/slots');
    assert.equal(list.body.total, 1);
    assert.equal(list.body.targetKind, 'directory');
  });

  it('a certificate in use cannot be deleted; the detail page says where it is used', async () => {
    const detail = await admin.request('GET', `/console/api/certificates/${no.first}`);
    assert.deepEqual(detail.body.usedBy, [no.slot]);
    const refused = await admin.request('DELETE', `/console/api/certificates/${no.first}?name=first`);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'in_use');
    assert.match(refused.body.error.message, /in use/);
  });

  it('a VIEWER sees slots but cannot provision or change them', async () => {
    for (const [method, path, body] of [
      ['POST', '/console/api/edge/slots', { certificateNo: no.second }],
      ['PUT', `/console/api/edge/slots/${no.slot}/certificate`, { certificateNo: no.second }],
      ['PUT', `/console/api/edge/slots/${no.slot}/tls`, { tlsVersion: 'TLS_ALL_VERSIONS', cipherProfile: 'DEFAULT' }],
      ['DELETE', `/console/api/edge/slots/${no.slot}`, undefined],
    ] as const) {
      const response = await viewer.request(method, path, body);
      assert.equal(response.status, 403, `${method} ${path}`);
    }
  });

  it('replaces the certificate and changes TLS settings; refusals name the field', async () => {
    const replaced = await admin.request('PUT', `/console/api/edge/slots/${no.slot}/certificate`, {
      certificateNo: no.second,
    });
    assert.equal(replaced.status, 200, replaced.text);
    assert.equal(replaced.body.status, 'PUBLISHING');
    assert.equal(replaced.body.items[0].certificate.name, 'second');
    const strict = await admin.request('PUT', `/console/api/edge/slots/${no.slot}/tls`, {
      tlsVersion: 'TLS_ALL_VERSIONS',
      cipherProfile: 'STRICT',
    });
    assert.equal(strict.status, 400);
    assert.equal(strict.body.error.field, 'cipherProfile');
    const tls = await admin.request('PUT', `/console/api/edge/slots/${no.slot}/tls`, {
      tlsVersion: 'TLS_ALL_VERSIONS',
      cipherProfile: 'GENERAL',
    });
    assert.equal(tls.status, 200);
    await worker.runOnce();
    const running = await admin.request('GET', `/console/api/edge/slots/${no.slot}`);
    assert.equal(running.body.status, 'RUNNING');
    assert.equal(running.body.cipherProfile, 'GENERAL');
    assert.equal(
      await readFile(join(targetDir, String(no.slot), 'fullchain.pem'), 'utf8'),
      second.certificate + second.intermediate.pem,
    );
    // The alias followed the slot to its new certificate's name.
    assert.equal(running.body.targetAlias, `${targetDir}/by-name/second/`);
    assert.equal(await readlink(join(targetDir, 'by-name', 'second')), `../${no.slot}`);
    const missing = await admin.request('PUT', `/console/api/edge/slots/${no.slot}/certificate`, {
      certificateNo: 999,
    });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.field, 'certificateNo');
  });

  it('deletes the slot; then the certificate can be deleted', async () => {
    const deleting = await admin.request('DELETE', `/console/api/edge/slots/${no.slot}`);
    assert.equal(deleting.status, 200);
    assert.equal(deleting.body.status, 'DELETING');
    await worker.runOnce();
    assert.equal((await admin.request('GET', `/console/api/edge/slots/${no.slot}`)).body.status, 'DELETED');
    assert.equal((await admin.request('DELETE', `/console/api/certificates/${no.second}?name=second`)).status, 204);
    assert.equal((await admin.request('GET', '/console/api/edge/slots')).body.total, 0);
  });

  it("another tenant's slot answers like a missing one", async () => {
    const other = await app.addTenant('edge-other');
    const client = await loggedIn(app, other.admin);
    assert.equal((await client.request('GET', `/console/api/edge/slots/${no.slot}`)).status, 404);
    assert.equal((await client.request('DELETE', `/console/api/edge/slots/${no.slot}`)).status, 404);
  });

  it('provisions a KR_JP_GLOBAL slot with a Global Edge Dedicated certificate; refusals name the field', async () => {
    // GED certificates are issued, never uploaded: stored as the issuance worker stores one.
    const ged = await mintPems({ cn: 'global.example.com', sans: { dns: ['global.example.com'] } });
    const gedNo = (
      await app.app.core.certificates.import(
        app.main.actor,
        { name: 'global', certificate: ged.certificate, privateKey: ged.privateKey, chain: ged.chain },
        {
          origin: 'acme',
          type: 'NCP_GLOBAL_EDGE_DEDICATED',
          policy: { requireKey: true, allowEd25519: false, nameRule: null },
        },
      )
    ).certificateNo;
    const created = await admin.request('POST', '/console/api/edge/slots', {
      certificateNo: no.first,
      globalCertificateNo: gedNo,
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.serviceRegion, 'KR_JP_GLOBAL');
    assert.deepEqual(
      created.body.items
        .map((i: { region: string; certificate: { name: string } }) => [i.region, i.certificate.name])
        .sort(),
      [
        ['GLOBAL', 'global'],
        ['KR_JP', 'first'],
      ],
    );
    const before = (await admin.request('GET', '/console/api/edge/slots')).body.total;
    for (const [body, field] of [
      [{ certificateNo: no.first, globalCertificateNo: 'abc' }, 'globalCertificateNo'],
      [{ certificateNo: no.first, globalCertificateNo: 0 }, 'globalCertificateNo'],
      // Neither certificate is Global Edge Dedicated: core refuses the pair.
      [{ certificateNo: no.first, globalCertificateNo: no.first }, 'certificateNos'],
    ] as const) {
      const refused = await admin.request('POST', '/console/api/edge/slots', body);
      assert.equal(refused.status, 400, `${JSON.stringify(body)}: ${refused.text}`);
      assert.equal(refused.body.error.field, field, JSON.stringify(body));
    }
    assert.equal((await admin.request('GET', '/console/api/edge/slots')).body.total, before, 'nothing provisioned');
  });
});
