/**
 * Console endpoints of replace, versions and recovery, over real HTTP on both stores: replace in
 * place (key kept when unchanged, the import's errors next to the same fields), versions and
 * their downloads (key downloads audited, a VIEWER refused), recently deleted, restore and purge,
 * and the refusals (wrong version, wrong state, wrong types, another role) changing nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestApp } from '../../helpers/app.ts';
import { storeTargets } from '../../helpers/db.ts';
import { mintLeaf } from '../../helpers/pki.ts';
import { loggedIn, mintPems, NOW, startConsoleApp, type ConsoleClient, type Pems } from './helpers.ts';

const DAY = 86_400_000;

for (const target of storeTargets) {
  describe(`console replace, versions and recovery on ${target.name}`, { skip: target.skip }, () => {
    let app: TestApp;
    let admin: ConsoleClient;
    let viewer: ConsoleClient;
    let pems: Pems;
    let no: number;
    before(async () => {
      app = await startConsoleApp(target.name);
      admin = await loggedIn(app, app.main.admin);
      viewer = await loggedIn(app, app.main.viewer);
      pems = await mintPems();
      const created = await admin.request('POST', '/console/api/certificates', {
        name: 'www',
        certificate: pems.certificate,
        privateKey: pems.privateKey,
        chain: pems.chain,
      });
      assert.equal(created.status, 201, created.text);
      no = created.body.certificateNo;
    });
    after(() => app?.close());

    const versions = async () => (await viewer.request('GET', `/console/api/certificates/${no}/versions`)).body;

    it('replaces in place keeping the key; lists versions; downloads an old one', async () => {
      // The same certificate again, without its key (the same key: kept). Renewals with the same
      // key are covered in test/core/certificate-history.test.ts.
      const replaced = await admin.request('POST', `/console/api/certificates/${no}/replace`, {
        name: 'www',
        certificate: pems.certificate,
        chain: pems.chain,
      });
      assert.equal(replaced.status, 200, replaced.text);
      assert.equal(replaced.body.certificateNo, no);
      assert.equal(replaced.body.hasPrivateKey, true);
      const listed = await versions();
      assert.equal(listed.currentVersion, 2);
      assert.deepEqual(
        listed.items.map((v: { version: number; current: boolean; replacedBy: string | null }) => [
          v.version,
          v.current,
          v.replacedBy,
        ]),
        [
          [2, true, null],
          [1, false, app.main.admin.accessKey],
        ],
      );
      const file = await viewer.request('GET', `/console/api/certificates/${no}/versions/1/files/fullchain`);
      assert.equal(file.status, 200);
      // The full chain as servers should send it: the chain's self-signed root (its last block) left out.
      const chainBlocks = pems.chain.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g) ?? [];
      assert.equal(chainBlocks.length, 2);
      assert.equal(file.text, pems.certificate + chainBlocks[0]);
      assert.match(file.headers.get('content-disposition') ?? '', /filename="www\.v1\.fullchain\.pem"/);
      const key = await admin.request('POST', `/console/api/certificates/${no}/versions/1/private-key`);
      assert.equal(key.status, 200);
      assert.equal(key.text.trim(), pems.privateKey.trim());
      const refused = await viewer.request('POST', `/console/api/certificates/${no}/versions/1/private-key`);
      assert.equal(refused.status, 403);
      const audit = await app.app.core.audit.list(app.main.actor, {
        target: `certificate:${no}`,
        action: 'certificate.key.read',
        limit: 10,
      });
      assert.deepEqual(
        audit.map((e) => [e.actor, e.result, e.detail.version]),
        [
          [app.main.viewer.accessKey, 'failure', 1],
          [app.main.admin.accessKey, 'success', 1],
        ],
      );
    });

    it('refuses bad replacements and bad versions with the import errors, writing nothing', async () => {
      const before = await versions();
      const other = await mintLeaf(pems.intermediate, {
        cn: 'other.example.com',
        freshKey: true,
        notBefore: new Date(NOW.getTime() - DAY),
        notAfter: new Date(NOW.getTime() + 30 * DAY),
      });
      const cases: Array<[string, unknown, number, string, string | undefined]> = [
        ['junk certificate', { name: 'www', certificate: 'hello' }, 400, 'pem_malformed', 'certificate'],
        [
          'another key, not given',
          { name: 'www', certificate: other.pem, chain: pems.chain },
          400,
          'key_missing',
          'privateKey',
        ],
        [
          'another name',
          { name: 'api', certificate: pems.certificate, chain: pems.chain },
          404,
          'not_found',
          'certificateName',
        ],
        ['a number for the certificate', { name: 'www', certificate: 42 }, 400, 'invalid_argument', 'certificate'],
        ['no name', { certificate: pems.certificate }, 400, 'invalid_argument', 'name'],
        [
          'NUL in the key',
          { name: 'www', certificate: pems.certificate, privateKey: 'a\u0000b' },
          400,
          'invalid_argument',
          undefined,
        ],
        ['not an object', [1, 2], 400, 'invalid_argument', undefined],
      ];
      for (const [label, body, status, code, field] of cases) {
        const response = await admin.request('POST', `/console/api/certificates/${no}/replace`, body);
        assert.equal(response.status, status, `${label}: ${response.text}`);
        assert.equal(response.body.error.code, code, label);
        if (field !== undefined) assert.equal(response.body.error.field, field, label);
      }
      const byViewer = await viewer.request('POST', `/console/api/certificates/${no}/replace`, {
        name: 'www',
        certificate: pems.certificate,
      });
      assert.equal(byViewer.status, 403);
      for (const [path, status] of [
        [`/versions/9/files/certificate`, 404],
        [`/versions/x/files/certificate`, 404],
        [`/versions/0/files/certificate`, 404],
        [`/versions/1/files/chain`, 404],
        [`/versions/1/files/certificate`, 200],
      ] as const) {
        const response = await viewer.request('GET', `/console/api/certificates/${no}${path}`);
        assert.equal(response.status, status, `${path}: ${response.text}`);
      }
      const nine = await viewer.request('GET', `/console/api/certificates/${no}/versions/9/files/certificate`);
      assert.match(nine.body.error.message, /has no version 9; its versions are 2, 1/);
      assert.equal(nine.body.error.field, 'version');
      assert.deepEqual(await versions(), before);
    });

    it('recently deleted, restore and purge; wrong states refused', async () => {
      const conflict = await admin.request('POST', `/console/api/certificates/${no}/restore`);
      assert.equal(conflict.status, 409);
      assert.match(conflict.body.error.message, /not deleted/);
      assert.equal((await admin.request('POST', `/console/api/certificates/${no}/purge`)).status, 409);
      assert.equal((await admin.request('DELETE', `/console/api/certificates/${no}?name=www`)).status, 204);
      const deleted = await viewer.request('GET', '/console/api/deleted-certificates');
      assert.equal(deleted.status, 200);
      assert.equal(deleted.body.total, 1);
      assert.equal(deleted.body.items[0].certificateNo, no);
      assert.equal(deleted.body.items[0].status, 'DELETED');
      assert.equal(
        Date.parse(deleted.body.items[0].purgeAfter) - Date.parse(deleted.body.items[0].deletedAt),
        30 * DAY,
      );
      for (const query of ['pageSize=abc', 'pageSize=101', 'page=0'])
        assert.equal((await viewer.request('GET', `/console/api/deleted-certificates?${query}`)).status, 400, query);
      assert.equal((await viewer.request('POST', `/console/api/certificates/${no}/restore`)).status, 403);
      const restored = await admin.request('POST', `/console/api/certificates/${no}/restore`);
      assert.equal(restored.status, 200, restored.text);
      assert.equal(restored.body.name, 'www');
      assert.equal((await versions()).currentVersion, 2);
      assert.equal((await admin.request('DELETE', `/console/api/certificates/${no}?name=www`)).status, 204);
      assert.equal((await admin.request('POST', `/console/api/certificates/${no}/purge`)).status, 204);
      const gone = await admin.request('POST', `/console/api/certificates/${no}/restore`);
      assert.equal(gone.status, 404);
      assert.match(gone.body.error.message, /purged/);
      assert.equal((await viewer.request('GET', '/console/api/deleted-certificates')).body.total, 0);
      assert.equal((await admin.request('POST', '/console/api/certificates/abc/restore')).status, 404);
    });
  });
}
