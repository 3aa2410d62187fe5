/**
 * `certkeeper backup` of a live SQLite store under import load, and `certkeeper restore` of it
 * into a fresh data directory: every import acknowledged before the backup started is in the
 * restored store, with a private key that opens under the master key and matches its certificate.
 * Real processes: `certkeeper serve` importing through the NCP API 2.0 face, the CLI beside it.
 * Also the refusals: a restore over the store while the server has it open, over an existing store
 * without --force, of a file that is not a certkeeper store; a backup onto an existing file; a
 * PostgreSQL store.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testMasterKey } from '../helpers/db.ts';
import { ncpFetch } from '../helpers/ncp-client.ts';
import { mintLeaf, mintRoot, P256, type Issued } from '../helpers/pki.ts';
import { cli, cliJson, serve, type Credentials, type Served } from './helpers.ts';

describe('backup of a live store, restore into a fresh one', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let running: Served | null = null;
  let credentials: Credentials;
  let root: Issued;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'certkeeper-backup-'));
    env = {
      ...process.env,
      CERTKEEPER_DATA_DIR: join(dir, 'data'),
      CERTKEEPER_PORT: '0',
      CERTKEEPER_LOG_LEVEL: 'warn',
      CERTKEEPER_MASTER_KEY: testMasterKey(),
    };
    delete env.DATABASE_URL;
    await cliJson(env, ['tenant', 'create', 'default']);
    credentials = await cliJson<Credentials>(env, ['credential', 'create', '--tenant', 'default', '--role', 'ADMIN']);
    root = await mintRoot({ cn: 'Backup Test Root' });
  });

  after(async () => {
    running?.signal('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('finds every acknowledged import, keys included, and refuses what would lose data', async () => {
    const leaves = await Promise.all(
      Array.from({ length: 40 }, (_, i) => mintLeaf(root, { cn: `b${i}.example.com`, key: P256, freshKey: true })),
    );
    running = await serve(env);
    const baseUrl = running.baseUrl;
    /** name → certificateNo, set when the server acknowledged the import. */
    const acknowledged = new Map<string, number>();
    let next = 0;
    let stop = false;
    const importOne = async (): Promise<void> => {
      const i = next++;
      const leaf = leaves[i]!;
      const res = await ncpFetch(baseUrl, {
        method: 'POST',
        path: '/api/v2/certificate/withExternal',
        credentials,
        body: {
          certificateName: `backup-${i}`,
          privateKey: leaf.keyPem,
          certificateBody: leaf.pem,
          certificateChain: root.pem,
        },
      });
      assert.equal(res.status, 200, res.body.toString());
      const result = res.json as { sslCertificateList: Array<{ certificateNo: number }> };
      acknowledged.set(`backup-${i}`, Number(result.sslCertificateList[0]?.certificateNo));
    };
    // Two writers until told to stop (or out of certificates).
    const writer = async (): Promise<void> => {
      while (!stop && next < leaves.length) await importOne();
    };
    let failed: unknown = null;
    const writers = [writer(), writer()].map((w) =>
      w.catch((error: unknown) => {
        failed = error;
      }),
    );
    const writersDone = async (): Promise<void> => {
      await Promise.all(writers);
      if (failed !== null) throw failed as Error;
    };
    while (acknowledged.size < 10 && failed === null) await new Promise((resolve) => setTimeout(resolve, 20));
    if (failed !== null) await writersDone();

    const before = new Map(acknowledged);
    const file = join(dir, 'backups', 'store.db');
    const backup = await cliJson<{ file: string; bytes: number; migrations: string[] }>(env, ['backup', '--out', file]);
    stop = true;
    await writersDone();
    assert.equal(backup.file, file);
    assert.ok(backup.bytes > 0);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.ok(acknowledged.size > before.size || next === leaves.length, 'imports went on during the backup');

    // A backup never overwrites a file.
    const again = await cli(env, ['backup', '--out', file]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists; certkeeper backup never overwrites a file/);

    // The live store is in use: a restore over it is refused, even with --force, and changes nothing.
    const live = await cli(env, ['restore', file, '--force']);
    assert.equal(live.code, 1);
    assert.match(live.stderr, /is in use/);

    // Restore into a fresh data directory; the same master key (CERTKEEPER_MASTER_KEY) opens it.
    const restoredEnv = { ...env, CERTKEEPER_DATA_DIR: join(dir, 'restored') };
    const restored = await cliJson<{ file: string; replaced: boolean }>(restoredEnv, ['restore', file]);
    assert.equal(restored.replaced, false);
    const listed = await cliJson<{ items: Array<{ certificateNo: number; name: string }> }>(restoredEnv, [
      'cert',
      'list',
      '--all',
    ]);
    const restoredNames = new Map(listed.items.map((c) => [c.name, c.certificateNo]));
    for (const [name, certificateNo] of before) assert.equal(restoredNames.get(name), certificateNo, name);
    // Keys open and match, for a sample spread over the acknowledged ones.
    const sample = [...before.entries()].filter((_, i) => i % 3 === 0);
    for (const [name, certificateNo] of sample) {
      const exported = await cliJson<{ certificate: string; privateKey: string }>(restoredEnv, [
        'cert',
        'export',
        String(certificateNo),
        '--key',
      ]);
      const fromKey = createPublicKey(exported.privateKey).export({ format: 'der', type: 'spki' });
      const fromCert = new X509Certificate(exported.certificate).publicKey.export({ format: 'der', type: 'spki' });
      assert.deepEqual(fromKey, fromCert, name);
    }

    // With the server stopped: a restore over the existing store needs --force.
    running.signal('SIGTERM');
    await running.exited;
    running = null;
    const withoutForce = await cli(env, ['restore', file]);
    assert.equal(withoutForce.code, 1);
    assert.match(withoutForce.stderr, /A store exists .* only with --force/);
    const forced = await cliJson<{ replaced: boolean }>(env, ['restore', file, '--force']);
    assert.equal(forced.replaced, true);
    const afterForce = await cliJson<{ total: number }>(env, ['cert', 'list', '--all']);
    assert.equal(afterForce.total, listed.items.length);
  });

  it('refuses a file that is not a certkeeper store, and PostgreSQL stores', async () => {
    const target = { ...env, CERTKEEPER_DATA_DIR: join(dir, 'other') };
    const garbage = join(dir, 'garbage.db');
    await writeFile(garbage, 'not a database at all, just text\n'.repeat(100));
    const notSqlite = await cli(target, ['restore', garbage]);
    assert.equal(notSqlite.code, 1);
    assert.match(notSqlite.stderr, /is not an SQLite database/);

    const { default: Database } = await import('better-sqlite3');
    const foreign = join(dir, 'foreign.db');
    const db = new Database(foreign);
    db.exec('create table notes (body text)');
    db.close();
    const notOurs = await cli(target, ['restore', foreign]);
    assert.equal(notOurs.code, 1);
    assert.match(notOurs.stderr, /is not a certkeeper store/);

    const postgres = await cli({ ...target, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }, [
      'backup',
      '--out',
      join(dir, 'pg.db'),
    ]);
    assert.equal(postgres.code, 1);
    assert.match(postgres.stderr, /use pg_dump/);
  });
});
