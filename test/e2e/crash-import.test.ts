/**
 * kill -9 during concurrent imports, on both stores: a real `certkeeper serve` takes imports from
 * 4 clients and is killed with SIGKILL mid-stream. After a restart every acknowledged import is
 * there with its key (the key exported through the API is the one imported), every stored
 * certificate has its key, the per-tenant live count equals the live rows, and imports work again.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { rawQuery, storeTargets, testMasterKey, type TestLocation } from '../helpers/db.ts';
import { ncpFetch } from '../helpers/ncp-client.ts';
import { mintBundle, mintLeaf } from '../helpers/pki.ts';
import { createDefaultAdmin, serve, waitFor, type Served } from './helpers.ts';

/** Every member of a zip archive, concatenated (Python's zipfile: no zip library among the dependencies). */
function unzipped(zip: Buffer): string {
  return execFileSync(
    '/usr/bin/python3',
    [
      '-c',
      'import sys,zipfile,io;z=zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read()));[sys.stdout.write(z.read(n).decode()) for n in z.namelist()]',
    ],
    { input: zip },
  ).toString();
}

for (const target of storeTargets) {
  describe(`${target.name}: kill -9 during concurrent imports`, { skip: target.skip }, () => {
    let location: TestLocation;
    let running: Served | null = null;
    const dirs: string[] = [];
    after(async () => {
      running?.signal('SIGKILL');
      await running?.exited;
      await location?.cleanup();
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    });

    it('keeps every acknowledged import, whole', async () => {
      location = await target.fresh();
      const dir = await mkdtemp(join(tmpdir(), 'certkeeper-crash-import-'));
      dirs.push(dir);
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        CERTKEEPER_DATA_DIR: location.dataDir,
        CERTKEEPER_PORT: '0',
        CERTKEEPER_LOG_LEVEL: 'warn',
        CERTKEEPER_MASTER_KEY: testMasterKey(),
      };
      delete env.DATABASE_URL;
      if (location.databaseUrl) env.DATABASE_URL = location.databaseUrl;
      const credentials = await createDefaultAdmin(env);
      const bundle = await mintBundle();
      running = await serve(env);
      const server = running;

      const acked = new Map<number, string>();
      let killed = false;
      let sequence = 0;
      const worker = async (): Promise<void> => {
        while (!killed) {
          const n = ++sequence;
          const leaf = await mintLeaf(bundle.intermediate, { cn: `crash-${n}.example.com`, freshKey: true });
          try {
            const res = await ncpFetch(server.baseUrl, {
              method: 'POST',
              path: '/api/v2/certificate/withExternal',
              credentials,
              body: {
                certificateName: `crash-${n}`,
                privateKey: leaf.keyPem,
                certificateBody: leaf.pem,
                certificateChain: bundle.chainPem,
              },
            });
            const json = res.json as { returnCode?: string; sslCertificateList?: Array<{ certificateNo: number }> };
            if (res.status === 200 && json.returnCode === '0')
              acked.set(json.sslCertificateList![0]!.certificateNo, leaf.keyPem);
          } catch {
            // the connection died with the process: not acknowledged
          }
        }
      };
      const workers = Array.from({ length: 4 }, worker);
      await waitFor('imports acknowledged', async () => (acked.size >= 20 ? true : undefined), 60_000);
      server.signal('SIGKILL');
      killed = true;
      await server.exited;
      await Promise.all(workers);
      running = null;

      running = await serve(env);
      const rows = await rawQuery(
        location,
        `select c.certificate_no as no, c.deleted_at as deleted,
                (select count(*) from certificate_keys k where k.certificate_no = c.certificate_no) as keys
           from certificates c`,
      );
      const stored = new Map(rows.map((r) => [Number(r.no), r]));
      for (const no of acked.keys()) {
        assert.ok(stored.has(no), `acknowledged import ${no} survived`);
        assert.equal(stored.get(no)!.deleted, null);
      }
      assert.deepEqual(
        rows.filter((r) => Number(r.keys) !== 1).map((r) => r.no),
        [],
        'every certificate has its key',
      );
      const counts = await rawQuery(
        location,
        `select cc.live as live,
                (select count(*) from certificates c where c.tenant_id = cc.tenant_id and c.deleted_at is null) as n
           from certificate_counts cc`,
      );
      for (const c of counts) assert.equal(Number(c.live), Number(c.n), 'live count matches rows');

      // Keys still open under the master key: a few acknowledged ones, exported through the API.
      for (const [no, keyPem] of [...acked].slice(-3)) {
        const res = await ncpFetch(running.baseUrl, {
          method: 'POST',
          path: `/api/v2/certificate/exportCertificate/${no}`,
          credentials,
          body: {},
        });
        assert.equal(res.status, 200, res.body.toString());
        const text = unzipped(res.body);
        const exported = /-----BEGIN [A-Z ]*PRIVATE KEY-----[^"]*?-----END [A-Z ]*PRIVATE KEY-----/.exec(text);
        assert.ok(exported, 'the export holds a private key');
        const same = (pem: string) => createPrivateKey(pem).export({ format: 'jwk' }).d;
        assert.equal(same(exported[0]), same(keyPem), `key of ${no}`);
      }
    });
  });
}
