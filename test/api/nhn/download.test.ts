/**
 * Downloads: by name (every version) and by id (v1.3), the file byte for byte as uploaded (or
 * composed for certificates that came in another way), safe Content-Disposition names, a real
 * `curl -OJ`, and an audit event for every download, hit or miss.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestApp } from '../../helpers/app.ts';
import { storeTargets } from '../../helpers/db.ts';
import {
  authFor,
  certificatesUrl,
  fileUrl,
  json,
  makeCa,
  makeLeaf,
  nhnError,
  nhnFile,
  startNhnApp,
  upload,
  VERSIONS,
  type TestCa,
} from './helpers.ts';

const run = promisify(execFile);

for (const target of storeTargets) {
  describe(`NHN download on ${target.name}`, { skip: target.skip }, () => {
    let app: TestApp;
    let ca: TestCa;
    let admin: Record<string, string>;
    /** Uploaded with CRLF line endings, a BOM and openssl's text around the blocks: kept as is. */
    let original: Buffer;

    before(async () => {
      app = await startNhnApp(target.name);
      await app.app.core.tenants.setAppKeyAuth('default', true);
      ca = await makeCa();
      admin = await authFor(app, 'v1.3', app.main.admin);
      const leaf = await makeLeaf(ca, { cn: 'www.example.com' });
      original = Buffer.from(
        `\ufeffsubject=CN = www.example.com\r\n${nhnFile(leaf, ca).replace(/\n/g, '\r\n')}`,
        'utf8',
      );
      assert.equal(
        (await upload(app, 'v1.3', admin, 'www.example.com', original, 'www.example.com-bundle.pem')).status,
        200,
      );
    });
    after(() => app?.close());

    for (const version of VERSIONS) {
      it(`${version}: by name, byte for byte, as an attachment under the uploaded name`, async () => {
        const response = await fetch(fileUrl(app, version, 'www.example.com'), {
          headers: await authFor(app, version, app.main.viewer),
        });
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('content-type'), 'application/octet-stream');
        assert.equal(response.headers.get('content-disposition'), 'attachment; filename="www.example.com-bundle.pem"');
        assert.ok(Buffer.from(await response.arrayBuffer()).equals(original));
      });
    }

    it('v1.3: by certificateId, the same file', async () => {
      const headers = await authFor(app, 'v1.3', app.main.viewer);
      const list = (await (await fetch(certificatesUrl(app, 'v1.3'), { headers })).json()) as {
        body: { data: Array<{ certificateId: number; certificateName: string }> };
      };
      const id = list.body.data.find((item) => item.certificateName === 'www.example.com')?.certificateId;
      const response = await fetch(`${certificatesUrl(app, 'v1.3')}/${id}/certificate-files`, { headers });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-disposition'), 'attachment; filename="www.example.com-bundle.pem"');
      assert.ok(Buffer.from(await response.arrayBuffer()).equals(original));
    });

    it('unknown name: 404 with 52000; unknown, malformed or foreign id: 404 with 52009', async () => {
      const headers = await authFor(app, 'v1.3', app.main.viewer);
      const name = await fetch(fileUrl(app, 'v1.3', 'nope.example.com'), { headers });
      assert.equal(name.status, 404);
      assert.equal(name.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal(await name.text(), JSON.stringify(nhnError(52000, 'Certificate name does not exist.')));
      const other = await app.addTenant('other-download');
      const leaf = await makeLeaf(ca, { cn: 'other.example.com' });
      const foreign = await app.app.core.certificates.import(
        other.actor,
        { name: 'other.example.com', file: { name: 'o.pem', bytes: Buffer.from(nhnFile(leaf, ca)) } },
        { origin: 'cli', policy: { requireKey: false, allowEd25519: false, nameRule: null } },
      );
      for (const id of ['999999', '0', '-1', 'abc', '1e3', String(foreign.certificateNo)]) {
        const response = await fetch(`${certificatesUrl(app, 'v1.3')}/${id}/certificate-files`, { headers });
        assert.equal(response.status, 404, id);
        assert.equal(await response.text(), JSON.stringify(nhnError(52009, 'Certificate id does not exist.')), id);
      }
    });

    it('a certificate that came in another way downloads as full chain (root left out) and key', async () => {
      const leaf = await makeLeaf(ca, { cn: 'cli.example.com' });
      await app.app.core.certificates.import(
        app.main.actor,
        { name: 'cli-imported', certificate: leaf.pem, chain: ca.chainPem, privateKey: leaf.keyPem },
        { origin: 'cli', policy: { requireKey: true, allowEd25519: false, nameRule: null } },
      );
      const response = await fetch(fileUrl(app, 'v1.1', 'cli-imported'), {
        headers: await authFor(app, 'v1.1', app.main.viewer),
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-disposition'), 'attachment; filename="cli-imported.pem"');
      assert.equal(await response.text(), leaf.pem + ca.intermediate.pem + leaf.keyPem);
    });

    it('every download is audited, hits and misses', async () => {
      const headers = await authFor(app, 'v1.3', app.main.viewer);
      const before = await app.app.core.audit.list(app.main.actor, { action: 'certificate.file.read', limit: 500 });
      await fetch(fileUrl(app, 'v1.3', 'www.example.com'), { headers });
      await fetch(fileUrl(app, 'v1.3', 'missing.example.com'), { headers });
      await fetch(`${certificatesUrl(app, 'v1.3')}/424242/certificate-files`, { headers });
      const events = (await app.app.core.audit.list(app.main.actor, { action: 'certificate.file.read', limit: 500 }))
        .slice(0, 3)
        .reverse();
      assert.equal(
        (await app.app.core.audit.list(app.main.actor, { action: 'certificate.file.read', limit: 500 })).length,
        before.length + 3,
      );
      assert.deepEqual(
        events.map((event) => [
          event.actor,
          event.result,
          event.target.replace(/\d+$/, 'N'),
          event.detail.code ?? null,
        ]),
        [
          [app.main.viewer.accessKey, 'success', 'certificate:N', null],
          [app.main.viewer.accessKey, 'failure', 'certificate-name:missing.example.com', 'not_found'],
          [app.main.viewer.accessKey, 'failure', 'certificate:N', 'not_found'],
        ],
      );
    });

    it('file names are made safe: no path, quotes or control characters; RFC 5987 for non-ASCII', async () => {
      const cases: Array<[string, string]> = [
        ['..\\..\\etc\\evil"na\u0001me.pem', 'attachment; filename="evil_na_me.pem"'],
        ['../../.hidden.pem', 'attachment; filename="hidden.pem"'],
        ['..', 'attachment; filename="safe.example.com.pem"'],
        [
          '인증서 2026.pem',
          `attachment; filename="___ 2026.pem"; filename*=UTF-8''${encodeURIComponent('인증서 2026.pem')}`,
        ],
        ['100%.pem', `attachment; filename="100_.pem"; filename*=UTF-8''100%25.pem`],
      ];
      const leaf = await makeLeaf(ca, { cn: 'safe.example.com' });
      for (const [uploaded, disposition] of cases) {
        assert.equal(
          (await upload(app, 'v1.3', admin, 'safe.example.com', nhnFile(leaf, ca), uploaded)).status,
          200,
          uploaded,
        );
        const response = await fetch(fileUrl(app, 'v1.3', 'safe.example.com'), { headers: admin });
        assert.equal(response.headers.get('content-disposition'), disposition, uploaded);
      }
    });

    it('curl -OJ saves the file under the uploaded name with identical bytes', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'certkeeper-curl-'));
      try {
        const url = fileUrl(app, 'v1.3', 'www.example.com');
        await run(
          '/usr/bin/curl',
          ['-sS', '-f', '-OJ', url, '-H', `X-NHN-AUTHORIZATION: ${admin['x-nhn-authorization']}`],
          { cwd: dir },
        );
        assert.deepEqual(await readdir(dir), ['www.example.com-bundle.pem']);
        assert.ok((await readFile(join(dir, 'www.example.com-bundle.pem'))).equals(original));
        // curl -f fails on the 404 of an unknown name, so a script does not save the error body as a certificate.
        await assert.rejects(
          run(
            '/usr/bin/curl',
            [
              '-sS',
              '-f',
              '-OJ',
              fileUrl(app, 'v1.3', 'nope.example.com'),
              '-H',
              `X-NHN-AUTHORIZATION: ${admin['x-nhn-authorization']}`,
            ],
            { cwd: dir },
          ),
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('HEAD answers the headers without the file', async () => {
      const response = await fetch(fileUrl(app, 'v1.3', 'www.example.com'), { method: 'HEAD', headers: admin });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'application/octet-stream');
      assert.equal((await response.arrayBuffer()).byteLength, 0);
      const missing = await fetch(fileUrl(app, 'v1.3', 'nope.example.com'), { method: 'HEAD', headers: admin });
      assert.equal(missing.status, 404);
      assert.deepEqual(
        await json(await fetch(fileUrl(app, 'v1.3', 'nope.example.com'), { headers: admin })),
        nhnError(52000, 'Certificate name does not exist.'),
      );
    });
  });
}
