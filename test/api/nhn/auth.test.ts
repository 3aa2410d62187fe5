/**
 * Authentication per version and authorisation per role, and tenant isolation by appKey: another
 * tenant's appKey answers exactly like one that does not exist.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestApp, TestTenant } from '../../helpers/app.ts';
import { storeTargets } from '../../helpers/db.ts';
import {
  authFor,
  certificatesUrl,
  fileUrl,
  json,
  makeCa,
  makeLeaf,
  multipart,
  MULTIPART_TYPE,
  nhnError,
  nhnFile,
  nhnSuccess,
  startNhnApp,
  upload,
  VERSIONS,
  type TestCa,
} from './helpers.ts';

const APPKEY_OFF =
  'This appKey cannot be used alone: it does not exist or appKey authentication is off for it. Use v1.3 with a token or v1.1 with an access key.';
const FOREIGN = 'The credential has no access to this appKey.';

for (const target of storeTargets) {
  describe(`NHN authentication on ${target.name}`, { skip: target.skip }, () => {
    let app: TestApp;
    let other: TestTenant;
    let ca: TestCa;
    let file: string;

    before(async () => {
      app = await startNhnApp(target.name);
      other = await app.addTenant('other');
      ca = await makeCa();
      file = nhnFile(await makeLeaf(ca, { cn: 'www.example.com' }), ca);
      assert.equal(
        (await upload(app, 'v1.3', await authFor(app, 'v1.3', app.main.admin), 'www.example.com', file)).status,
        200,
      );
    });
    after(() => app?.close());

    it('v1.0 and v1.2 (appKey alone) are off by default; an unknown appKey answers the same', async () => {
      for (const version of ['v1.0', 'v1.2'] as const) {
        for (const url of [
          certificatesUrl(app, version),
          certificatesUrl(app, version, 'NoSuchAppKey0000'),
          fileUrl(app, version, 'www.example.com'),
        ]) {
          const response = await fetch(url);
          assert.equal(response.status, 401, url);
          assert.deepEqual(await json(response), nhnError(40106, APPKEY_OFF), url);
        }
      }
    });

    it('with appKey auth on, v1.0 and v1.2 list and download as VIEWER, and may not upload', async () => {
      await app.app.core.tenants.setAppKeyAuth('default', true);
      try {
        for (const version of ['v1.0', 'v1.2'] as const) {
          assert.equal((await fetch(certificatesUrl(app, version))).status, 200);
          const download = await fetch(fileUrl(app, version, 'www.example.com'));
          assert.equal(download.status, 200);
          assert.equal(await download.text(), file);
          const refused = await upload(app, version, {}, 'www.example.com', file);
          assert.equal(refused.status, 403);
          assert.deepEqual(
            await json(refused),
            nhnError(
              40300,
              'AppKey-only access (v1.0, v1.2) may not upload. Use v1.1 or v1.3 with an ADMIN credential.',
            ),
          );
          // The other tenant's switch is still off.
          assert.equal((await fetch(certificatesUrl(app, version, other.tenant.appKey))).status, 401);
        }
        const events = await app.app.core.audit.list(app.main.actor, { action: 'certificate.file.read', limit: 2 });
        assert.equal(events[0]?.actor, 'appkey');
      } finally {
        await app.app.core.tenants.setAppKeyAuth('default', false);
      }
      assert.equal((await fetch(certificatesUrl(app, 'v1.0'))).status, 401, 'switching it off takes effect at once');
    });

    it('v1.1: missing, wrong and revoked access keys', async () => {
      const url = certificatesUrl(app, 'v1.1');
      const missing = await fetch(url, { headers: { 'x-tc-authentication-id': app.main.admin.accessKey } });
      assert.equal(missing.status, 401);
      assert.deepEqual(
        await json(missing),
        nhnError(40100, 'Authentication required: send X-TC-AUTHENTICATION-ID and X-TC-AUTHENTICATION-SECRET.'),
      );
      const wrong = await fetch(url, {
        headers: { 'x-tc-authentication-id': app.main.admin.accessKey, 'x-tc-authentication-secret': 'nope' },
      });
      assert.equal(wrong.status, 401);
      const wrongBody = await json(wrong);
      assert.deepEqual(
        wrongBody,
        nhnError(40105, 'The User Access Key ID or Secret Access Key is wrong, or the key has been revoked.'),
      );
      const extra = await app.app.core.credentials.createForTenant(app.main.tenant.id, 'VIEWER');
      const headers = {
        'x-tc-authentication-id': extra.credential.accessKey,
        'x-tc-authentication-secret': extra.secretKey,
      };
      assert.equal((await fetch(url, { headers })).status, 200);
      await app.app.core.credentials.revoke(null, extra.credential.accessKey);
      const revoked = await fetch(url, { headers });
      assert.equal(revoked.status, 401);
      assert.deepEqual(await json(revoked), wrongBody);
    });

    for (const version of ['v1.1', 'v1.3'] as const) {
      it(`${version}: another tenant's appKey answers exactly like one that does not exist`, async () => {
        const headers = await authFor(app, version, app.main.admin);
        const probes = [
          (appKey: string) => fetch(certificatesUrl(app, version, appKey), { headers }),
          (appKey: string) => fetch(fileUrl(app, version, 'www.example.com', appKey), { headers }),
          (appKey: string) =>
            fetch(fileUrl(app, version, 'www.example.com', appKey), {
              method: 'POST',
              headers: { ...headers, 'content-type': MULTIPART_TYPE },
              body: multipart([{ name: 'file', filename: 'www.example.com.pem', content: file }]),
            }),
        ];
        for (const probe of probes) {
          const foreign = await probe(other.tenant.appKey);
          const missing = await probe('NoSuchAppKey0000');
          assert.equal(foreign.status, 403);
          assert.equal(missing.status, 403);
          const [a, b] = [await foreign.text(), await missing.text()];
          assert.equal(a, b);
          assert.deepEqual(JSON.parse(a), nhnError(40301, FOREIGN));
        }
        // The other tenant's own credential does see its appKey.
        const own = await authFor(app, version, other.viewer);
        assert.equal((await fetch(certificatesUrl(app, version, other.tenant.appKey), { headers: own })).status, 200);
      });
    }

    for (const version of ['v1.1', 'v1.3'] as const) {
      it(`${version}: VIEWER lists and downloads but may not upload; ADMIN uploads`, async () => {
        const viewer = await authFor(app, version, app.main.viewer);
        assert.equal((await fetch(certificatesUrl(app, version), { headers: viewer })).status, 200);
        assert.equal((await fetch(fileUrl(app, version, 'www.example.com'), { headers: viewer })).status, 200);
        const refused = await upload(app, version, viewer, 'www.example.com', file);
        assert.equal(refused.status, 403);
        assert.deepEqual(
          await json(refused),
          nhnError(40300, 'The VIEWER role may not upload certificate files; use an ADMIN credential.'),
        );
        const admin = await authFor(app, version, app.main.admin);
        const stored = await upload(app, version, admin, 'www.example.com', file);
        assert.equal(stored.status, 200);
        assert.equal(await stored.text(), JSON.stringify(nhnSuccess(null)));
      });
    }

    it('each version authenticates only its own way', async () => {
      const token = await authFor(app, 'v1.3', app.main.admin);
      const keys = await authFor(app, 'v1.1', app.main.admin);
      assert.equal((await fetch(certificatesUrl(app, 'v1.1'), { headers: token })).status, 401);
      assert.equal((await fetch(certificatesUrl(app, 'v1.3'), { headers: keys })).status, 401);
      assert.equal((await fetch(certificatesUrl(app, 'v1.0'), { headers: token })).status, 401);
    });

    it('v1.0 and v1.2 accept valid X-TC-AUTHENTICATION keys with appKey-only access off, with their role', async () => {
      assert.equal(app.main.tenant.appKeyAuthEnabled, false);
      const admin = await authFor(app, 'v1.1', app.main.admin);
      const viewer = await authFor(app, 'v1.1', app.main.viewer);
      for (const version of ['v1.0', 'v1.2'] as const) {
        assert.equal((await fetch(certificatesUrl(app, version), { headers: admin })).status, 200, version);
        const download = await fetch(fileUrl(app, version, 'www.example.com'), { headers: viewer });
        assert.equal(download.status, 200, version);
        assert.equal(await download.text(), file);
        // The credential's role, not appKey-only VIEWER: ADMIN uploads, VIEWER may not.
        assert.equal((await upload(app, version, admin, 'www.example.com', file)).status, 200, version);
        const refused = await upload(app, version, viewer, 'www.example.com', file);
        assert.equal(refused.status, 403);
        assert.deepEqual(
          await json(refused),
          nhnError(40300, 'The VIEWER role may not upload certificate files; use an ADMIN credential.'),
        );
        // Wrong or half keys are refused as on v1.1, never downgraded to appKey-only access.
        const wrong = await fetch(certificatesUrl(app, version), {
          headers: { 'x-tc-authentication-id': app.main.admin.accessKey, 'x-tc-authentication-secret': 'nope' },
        });
        assert.equal(wrong.status, 401);
        assert.deepEqual(
          await json(wrong),
          nhnError(40105, 'The User Access Key ID or Secret Access Key is wrong, or the key has been revoked.'),
        );
        const half = await fetch(certificatesUrl(app, version), {
          headers: { 'x-tc-authentication-id': app.main.admin.accessKey },
        });
        assert.equal(half.status, 401);
        assert.equal(((await json(half)) as { header: { resultCode: number } }).header.resultCode, 40100);
        // Another tenant's appKey answers as on v1.1.
        const foreign = await fetch(certificatesUrl(app, version, other.tenant.appKey), { headers: admin });
        assert.equal(foreign.status, 403);
        assert.deepEqual(await json(foreign), nhnError(40301, FOREIGN));
      }
      const events = await app.app.core.audit.list(app.main.actor, { action: 'certificate.file.read', limit: 1 });
      assert.equal(events[0]?.actor, app.main.viewer.accessKey);
    });

    it('unknown versions and paths get the NHN 404 envelope', async () => {
      for (const url of [
        `${app.baseUrl}/certmanager/v2.0/appkeys/x/certificates`,
        `${app.baseUrl}/certmanager`,
        `${certificatesUrl(app, 'v1.1')}/1/certificate-files`,
      ]) {
        const response = await fetch(url);
        assert.equal(response.status, 404, url);
        const path = new URL(url).pathname;
        assert.deepEqual(await json(response), nhnError(40400, `No such API: GET ${path}.`));
      }
    });

    it('an undecodable URL gets the NHN envelope (400, 40001)', async () => {
      const response = await fetch(`${app.baseUrl}/certmanager/v1.3/appkeys/%E0%A4%A/certificates`);
      assert.equal(response.status, 400);
      assert.deepEqual(await json(response), nhnError(40001, 'The request URL is malformed.'));
    });

    it('every version serves the same operations', async () => {
      await app.app.core.tenants.setAppKeyAuth('default', true);
      try {
        for (const version of VERSIONS) {
          const headers = await authFor(app, version, app.main.viewer);
          assert.equal((await fetch(fileUrl(app, version, 'www.example.com'), { headers })).status, 200, version);
        }
      } finally {
        await app.app.core.tenants.setAppKeyAuth('default', false);
      }
    });
  });
}
