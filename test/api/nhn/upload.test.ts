/**
 * POST …/certificates/{certificateName}/files: create and replace, NHN's checks (52001–52008),
 * the rest of the import ladder (59xxx), and that a refused upload writes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestApp } from '../../helpers/app.ts';
import { storeTargets } from '../../helpers/db.ts';
import { derOf, ED25519, mintIntermediate, type Issued } from '../../helpers/pki.ts';
import {
  authFor,
  certificatesUrl,
  fileUrl,
  json,
  makeCa,
  makeLeaf,
  multipart,
  nhnError,
  nhnFile,
  nhnSuccess,
  snapshot,
  startNhnApp,
  upload,
  uploadRaw,
  type TestCa,
} from './helpers.ts';

const run = promisify(execFile);
const MAX = 524_288;
/** 52004: NHN's sentence, then what a valid name is (written out here, not imported, so it is pinned). */
const NAME_MESSAGE =
  'The certificate name in the file is different from the requested certificate name. The name must be a DNS name the certificate covers: its subject CN, one of its DNS SANs, or a name one label under a wildcard SAN.';

interface BadCase {
  what: string;
  /** The multipart body for an upload to `name`. */
  body: (name: string) => Promise<Buffer> | Buffer;
  status: number;
  expected: unknown;
}

for (const target of storeTargets) {
  describe(`NHN upload on ${target.name}`, { skip: target.skip }, () => {
    let app: TestApp;
    let ca: TestCa;
    let admin: Record<string, string>;
    const EXISTING = 'existing.example.com';

    const fileFor = async (name: string): Promise<string> => nhnFile(await makeLeaf(ca, { cn: name }), ca);
    const one = (content: string | Buffer, filename = 'cert.pem'): Buffer =>
      multipart([{ name: 'file', filename, content }]);

    before(async () => {
      app = await startNhnApp(target.name);
      ca = await makeCa();
      admin = await authFor(app, 'v1.3', app.main.admin);
      assert.equal((await upload(app, 'v1.3', admin, EXISTING, await fileFor(EXISTING))).status, 200);
    });
    after(() => app?.close());

    it('a new name creates the certificate (origin nhn); the answer is the documented empty success', async () => {
      const response = await upload(app, 'v1.3', admin, 'new.example.com', await fileFor('new.example.com'));
      assert.equal(response.status, 200);
      assert.equal(await response.text(), JSON.stringify(nhnSuccess(null)));
      const created = await app.app.core.certificates.getByName(app.main.actor, 'new.example.com');
      assert.equal(created.origin, 'nhn');
      assert.equal(created.fileName, 'new.example.com.pem');
    });

    it('an existing name is replaced in place: same certificateId, new file, new fileCreationDate', async () => {
      const before = await app.app.core.certificates.getByName(app.main.actor, 'replace.example.com').catch(() => null);
      assert.equal(before, null);
      const viaKeys = await upload(
        app,
        'v1.1',
        await authFor(app, 'v1.1', app.main.admin),
        'replace.example.com',
        await fileFor('replace.example.com'),
      );
      assert.equal(viaKeys.status, 200, await viaKeys.clone().text());
      const first = await app.app.core.certificates.getByName(app.main.actor, 'replace.example.com');
      // 20 hours later (the token lives 24): 2026-03-03 in Korea.
      app.clock.advance(20 * 3_600_000);
      try {
        const renewed = await fileFor('replace.example.com');
        assert.equal((await upload(app, 'v1.3', admin, 'replace.example.com', renewed, 'renewed.pem')).status, 200);
        const second = await app.app.core.certificates.getByName(app.main.actor, 'replace.example.com');
        assert.equal(second.certificateNo, first.certificateNo);
        assert.notEqual(second.facts.fingerprintSha256, first.facts.fingerprintSha256);
        const download = await fetch(fileUrl(app, 'v1.3', 'replace.example.com'), { headers: admin });
        assert.equal(download.headers.get('content-disposition'), 'attachment; filename="renewed.pem"');
        assert.equal(await download.text(), renewed);
        const list = (await (await fetch(`${certificatesUrl(app, 'v1.3')}?all=true`, { headers: admin })).json()) as {
          body: { data: Array<{ certificateName: string; fileCreationDate: string }> };
        };
        assert.equal(
          list.body.data.find((item) => item.certificateName === 'replace.example.com')?.fileCreationDate,
          '2026-03-03',
        );
        // The same file again is fine: it replaces itself.
        assert.equal((await upload(app, 'v1.3', admin, 'replace.example.com', renewed, 'renewed.pem')).status, 200);
      } finally {
        app.clock.advance(-20 * 3_600_000);
      }
    });

    it('names match CN or SAN case-insensitively; a wildcard covers exactly one label', async () => {
      const accepted: Array<[string, string[] | undefined, string | null]> = [
        ['mixed.example.com', undefined, 'MiXeD.Example.COM'],
        ['api.wild.test', ['*.wild.test'], null],
        ['*.wild2.test', ['*.wild2.test'], null],
        ['san-only.test', ['first.test', 'san-only.test'], null],
      ];
      for (const [name, domains, cn] of accepted) {
        const leaf = await makeLeaf(ca, { cn: cn ?? name, ...(domains ? { domains } : {}) });
        const response = await upload(app, 'v1.3', admin, name, nhnFile(leaf, ca));
        assert.equal(response.status, 200, `${name}: ${await response.clone().text()}`);
      }
      for (const name of ['wild3.test', 'a.b.wild3.test']) {
        const leaf = await makeLeaf(ca, { cn: 'x.wild3.test', domains: ['*.wild3.test'] });
        const response = await upload(app, 'v1.3', admin, name, nhnFile(leaf, ca));
        assert.equal(response.status, 400, name);
        assert.deepEqual(await json(response), nhnError(52004, NAME_MESSAGE));
      }
    });

    it('a file without a private key is accepted (inventory); the file stays as uploaded', async () => {
      const leaf = await makeLeaf(ca, { cn: 'nokey.example.com' });
      const content = leaf.pem + ca.chainPem;
      assert.equal((await upload(app, 'v1.3', admin, 'nokey.example.com', content)).status, 200);
      assert.equal(await (await fetch(fileUrl(app, 'v1.3', 'nokey.example.com'), { headers: admin })).text(), content);
    });

    it('the file may come under another field name, or as a text field named file', async () => {
      const other = await fileFor('field.example.com');
      const viaOther = await uploadRaw(
        app,
        'v1.3',
        admin,
        'field.example.com',
        multipart([{ name: 'certificate', filename: 'f.pem', content: other }]),
      );
      assert.equal(viaOther.status, 200);
      const text = await fileFor('text.example.com');
      const viaText = await uploadRaw(
        app,
        'v1.3',
        admin,
        'text.example.com',
        multipart([
          { name: 'file', content: text, contentType: 'text/plain' },
          { name: 'comment', content: 'ignored', contentType: 'text/plain' },
        ]),
      );
      assert.equal(viaText.status, 200);
      const download = await fetch(fileUrl(app, 'v1.3', 'text.example.com'), { headers: admin });
      assert.equal(download.headers.get('content-disposition'), 'attachment; filename="text.example.com.pem"');
    });

    it('a file of exactly 524,288 bytes passes the size check', async () => {
      const content = await fileFor('max.example.com');
      const padded = Buffer.concat([Buffer.from(content), Buffer.alloc(MAX - Buffer.byteLength(content), '\n')]);
      assert.equal(padded.length, MAX);
      const response = await upload(app, 'v1.3', admin, 'max.example.com', padded);
      assert.equal(response.status, 200, await response.clone().text());
      assert.ok(
        Buffer.from(
          await (await fetch(fileUrl(app, 'v1.3', 'max.example.com'), { headers: admin })).arrayBuffer(),
        ).equals(padded),
      );
    });

    it('real curl -F file=@… uploads', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'certkeeper-curl-'));
      try {
        const path = join(dir, 'curl.example.com.pem');
        await writeFile(path, await fileFor('curl.example.com'));
        const { stdout } = await run('/usr/bin/curl', [
          '-sS',
          '-F',
          `file=@${path}`,
          fileUrl(app, 'v1.3', 'curl.example.com'),
          '-H',
          `X-NHN-AUTHORIZATION: ${admin['x-nhn-authorization']}`,
        ]);
        assert.deepEqual(JSON.parse(stdout), nhnSuccess(null));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('uploads are audited, refusals included', async () => {
      await upload(app, 'v1.3', admin, 'audit.example.com', await fileFor('audit.example.com'));
      await upload(app, 'v1.3', admin, 'audit2.example.com', await fileFor('someone-else.example.com'));
      const events = (
        await app.app.core.audit.list(app.main.actor, { action: 'certificate.import', limit: 2 })
      ).reverse();
      assert.deepEqual(
        events.map((event) => [
          event.actor,
          event.result,
          event.target,
          event.detail.origin,
          event.detail.code ?? null,
        ]),
        [
          [app.main.admin.accessKey, 'success', 'certificate-name:audit.example.com', 'nhn', null],
          [app.main.admin.accessKey, 'failure', 'certificate-name:audit2.example.com', 'nhn', 'name_invalid'],
        ],
      );
    });

    describe('refusals write nothing', () => {
      let other: Issued;
      let expired: Issued;
      let future: Issued;
      let badCa: TestCa;
      let edLeaf: Issued;

      before(async () => {
        other = await makeLeaf(ca, { cn: 'other.example.com' });
        expired = await makeLeaf(ca, {
          cn: 'expired.example.com',
          notBefore: new Date('2025-01-01T00:00:00Z'),
          notAfter: new Date('2026-02-01T00:00:00Z'),
        });
        future = await makeLeaf(ca, { cn: 'future.example.com', notBefore: new Date('2026-06-01T00:00:00Z') });
        const nameless = await mintIntermediate(ca.root, {
          subject: 'C=KR, L=Seoul',
          notBefore: new Date('2020-01-01T00:00:00Z'),
          notAfter: new Date('2040-01-01T00:00:00Z'),
        });
        badCa = { root: ca.root, intermediate: nameless, chainPem: nameless.pem + ca.root.pem };
        edLeaf = await makeLeaf(ca, { cn: 'ed.example.com', key: ED25519 });
      });

      const withName = (make: (name: string, leaf: Issued) => Buffer) => async (name: string) =>
        make(name, await makeLeaf(ca, { cn: name }));
      const cases = (): BadCase[] => [
        {
          what: 'two files',
          body: withName((_n, leaf) =>
            multipart([
              { name: 'file', filename: 'a.pem', content: nhnFile(leaf, ca) },
              { name: 'file', filename: 'b.pem', content: nhnFile(leaf, ca) },
            ]),
          ),
          status: 400,
          expected: nhnError(52002, 'There are more than one certificate file.'),
        },
        {
          what: 'two files under different fields',
          body: withName((_n, leaf) =>
            multipart([
              { name: 'file', filename: 'a.pem', content: nhnFile(leaf, ca) },
              { name: 'extra', filename: 'b.pem', content: 'x' },
            ]),
          ),
          status: 400,
          expected: nhnError(52002, 'There are more than one certificate file.'),
        },
        {
          what: 'no file at all',
          body: () => multipart([{ name: 'comment', content: 'hello', contentType: 'text/plain' }]),
          status: 400,
          expected: nhnError(52007, 'The requested certificate file should be one.'),
        },
        {
          what: 'an empty file',
          body: () => one(''),
          status: 400,
          expected: nhnError(52001, 'Certificate file does not exist.'),
        },
        {
          what: 'not PEM',
          body: () => one('hello, this is not a certificate\n'),
          status: 400,
          expected: nhnError(52003, 'The certificate file is not a PEM file.'),
        },
        {
          what: 'DER',
          body: () => one(derOf(other)),
          status: 400,
          expected: nhnError(52003, 'The certificate file is not a PEM file.'),
        },
        {
          what: 'only a key',
          body: () => one(other.keyPem),
          status: 400,
          expected: nhnError(52003, 'The certificate file is not a PEM file.'),
        },
        {
          what: 'the wrong name',
          body: () => one(nhnFile(other, ca)),
          status: 400,
          expected: nhnError(52004, NAME_MESSAGE),
        },
        {
          what: 'expired',
          body: () => one(nhnFile(expired, ca)),
          status: 400,
          expected: nhnError(52005, 'Certificate file has expired.'),
        },
        {
          what: 'a CA without O or CN',
          body: async (name) => one(nhnFile(await makeLeaf(badCa, { cn: name }), badCa)),
          status: 400,
          expected: nhnError(52006, 'The certificate has an invalid certificate authority name.'),
        },
        {
          what: '512 KB + 1',
          body: () => one(Buffer.alloc(MAX + 1, 'A')),
          status: 413,
          expected: nhnError(52008, 'Maximum permitted size is 524288 bytes. But, requested 524289 bytes.'),
        },
        {
          what: 'truncated multipart',
          body: withName((_n, leaf) =>
            multipart([{ name: 'file', filename: 'a.pem', content: nhnFile(leaf, ca) }], { close: false }).subarray(
              0,
              700,
            ),
          ),
          status: 400,
          expected: nhnError(40001, 'The multipart/form-data body is malformed or truncated.'),
        },
        {
          what: 'a key that does not match',
          body: withName((_n, leaf) => one(leaf.pem + ca.chainPem + other.keyPem)),
          status: 400,
          expected: nhnError(
            59005,
            'The private key does not belong to this certificate: its public key differs from the one in the certificate. Check that you paired the right key and certificate files.',
          ),
        },
        {
          what: 'an unknown CA (issuer not in the file)',
          body: withName((_n, leaf) => one(leaf.pem + leaf.keyPem)),
          status: 400,
          expected: nhnError(
            59011,
            "The chain is missing the certificate of the issuer 'O=NHN, CN=NHN Test Intermediate'. Add the intermediate CA certificate(s) your CA sent with the certificate.",
          ),
        },
        {
          what: 'an encrypted key',
          body: withName((_n, leaf) =>
            one(
              leaf.pem +
                ca.chainPem +
                leaf.key.keyObject
                  .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
                  .toString(),
            ),
          ),
          status: 400,
          expected: { code: 59004 },
        },
        { what: 'not yet valid', body: () => one(nhnFile(future, ca)), status: 400, expected: { code: 59006 } },
        { what: 'an Ed25519 key', body: () => one(nhnFile(edLeaf, ca)), status: 400, expected: { code: 59020 } },
        {
          what: 'not multipart (JSON)',
          body: () => Buffer.from('{"file":"x"}'),
          status: 415,
          expected: nhnError(
            41500,
            'Upload the certificate file as multipart/form-data in the field "file" (curl -F file=@cert.pem).',
          ),
        },
      ];

      for (const name of ['fresh.example.com', EXISTING]) {
        it(`each bad upload to ${name === EXISTING ? 'an existing' : 'a new'} name gets its code, and nothing changes`, async () => {
          const before = await snapshot(app);
          for (const bad of cases()) {
            const body = await bad.body(name);
            const contentType = bad.what.startsWith('not multipart') ? 'application/json' : undefined;
            const response = await uploadRaw(app, 'v1.3', admin, name, body, contentType);
            assert.equal(response.status, bad.status, `${bad.what}: ${await response.clone().text()}`);
            const got = (await json(response)) as {
              header: { resultCode: number; isSuccessful: boolean };
              body: unknown;
            };
            if ('code' in (bad.expected as object)) {
              assert.equal(got.header.resultCode, (bad.expected as { code: number }).code, bad.what);
              assert.equal(got.header.isSuccessful, false);
              assert.deepEqual(got.body, {});
            } else {
              assert.deepEqual(got, bad.expected, bad.what);
            }
          }
          assert.deepEqual(await snapshot(app), before);
        });
      }

      it('a duplicate of another certificate: 409 with 59030', async () => {
        const twin = await makeLeaf(ca, {
          cn: 'twin-a.example.com',
          domains: ['twin-a.example.com', 'twin-b.example.com'],
        });
        assert.equal((await upload(app, 'v1.3', admin, 'twin-a.example.com', nhnFile(twin, ca))).status, 200);
        const before = await snapshot(app);
        const response = await upload(app, 'v1.3', admin, 'twin-b.example.com', nhnFile(twin, ca));
        assert.equal(response.status, 409);
        const body = (await json(response)) as { header: { resultCode: number } };
        assert.equal(body.header.resultCode, 59030);
        assert.deepEqual(await snapshot(app), before);
      });

      it('a name that cannot be a DNS name: 52004 before the body is read', async () => {
        for (const name of [
          'bad name',
          'under_score.example.com',
          'trailing.dot.',
          '-lead.example.com',
          'a..b',
          `${'a'.repeat(64)}.example.com`,
        ]) {
          const response = await uploadRaw(app, 'v1.3', admin, name, one('whatever'));
          assert.equal(response.status, 400, name);
          assert.deepEqual(await json(response), nhnError(52004, NAME_MESSAGE), name);
        }
      });

      it('octet-stream and text bodies are refused as not multipart', async () => {
        const file = await fileFor('raw.example.com');
        for (const contentType of ['application/octet-stream', 'text/plain', 'application/x-www-form-urlencoded']) {
          const response = await uploadRaw(app, 'v1.3', admin, 'raw.example.com', Buffer.from(file), contentType);
          assert.equal(response.status, 415, contentType);
          const body = (await json(response)) as { header: { resultCode: number } };
          assert.equal(body.header.resultCode, 41500, contentType);
        }
        const missingBoundary = await uploadRaw(
          app,
          'v1.3',
          admin,
          'raw.example.com',
          one(file),
          'multipart/form-data; charset=utf-8',
        );
        assert.equal(missingBoundary.status, 400);
        assert.deepEqual(
          await json(missingBoundary),
          nhnError(40001, 'The multipart/form-data content type has no usable boundary.'),
        );
      });
    });
  });
}
