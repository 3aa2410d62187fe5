/**
 * Issue 22: the SQLite disk full. A real `certkeeper serve` keeps its data directory on a small
 * tmpfs the test mounts (root only: skipped with a message otherwise, or when the mount is
 * refused, as in a container without CAP_SYS_ADMIN); a filler file takes every free byte. Expected:
 *
 * - imports answer the face's 503 (NCP gateway `endpointError`, store/errors.ts `storageFault`),
 *   never a 500, a stack trace or the driver's code; at least one does (the filler leaves the
 *   WAL no room to grow, so writes fail within a few imports);
 * - lists keep answering 200; key downloads answer 200 or the same 503: a key read is audited
 *   before it is answered (store/repositories/audit.ts), so one whose audit event cannot be
 *   written is refused, and every download answered 200 has its audit event;
 * - the outage is one error line in the log (store/availability.ts), without a stack, and one
 *   info line when a write succeeds again;
 * - once the filler is gone, imports work again without a restart;
 * - afterwards `PRAGMA integrity_check` is ok, every acknowledged import is stored with its key,
 *   no certificate is without its key, and the live count equals the live rows.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { testMasterKey } from '../helpers/db.ts';
import { mintBundle, mintLeaf } from '../helpers/pki.ts';
import { ncpFetch, type NcpResponse } from '../helpers/ncp-client.ts';
import { createDefaultAdmin, serve, type Served } from '../e2e/helpers.ts';

const run = promisify(execFile);
/** Room for the store after migrations and a few imports; the filler takes the rest. */
const TMPFS_SIZE = '32m';
/** Imports tried on the full disk before giving up on seeing one refused. */
const MAX_IMPORTS_ON_FULL_DISK = 200;

const rootSkip = process.getuid?.() === 0 ? false : 'needs root to mount a tmpfs (run as root to test a full disk)';

describe('SQLite with a full disk', { skip: rootSkip }, () => {
  it('imports fail with the 503, reads go on, nothing is corrupt, writes resume', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'certkeeper-diskfull-'));
    const mountPoint = join(dir, 'mnt');
    await mkdir(mountPoint);
    try {
      await run('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE},mode=0700`, 'tmpfs', mountPoint]);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      t.skip(`mount -t tmpfs was refused (${(error as Error).message.split('\n')[0]}); the full-disk test did not run`);
      return;
    }
    let running: Served | null = null;
    try {
      await scenario(join(mountPoint, 'data'), (served) => (running = served));
    } finally {
      (running as Served | null)?.signal('SIGKILL');
      await (running as Served | null)?.exited;
      await run('umount', [mountPoint]).catch(() => run('umount', ['-l', mountPoint]));
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function scenario(dataDir: string, started: (served: Served) => void): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CERTKEEPER_DATA_DIR: dataDir,
    CERTKEEPER_PORT: '0',
    CERTKEEPER_LOG_LEVEL: 'info',
    CERTKEEPER_MASTER_KEY: testMasterKey(),
  };
  delete env.DATABASE_URL;
  const credentials = await createDefaultAdmin(env);
  const bundle = await mintBundle();
  const running = await serve(env);
  started(running);

  const call = (method: string, path: string, body?: unknown): Promise<NcpResponse> =>
    ncpFetch(running.baseUrl, { method, path, credentials, ...(body === undefined ? {} : { body }) });
  let sequence = 0;
  const acked: number[] = [];
  const importOne = async (): Promise<NcpResponse> => {
    const n = ++sequence;
    const leaf = await mintLeaf(bundle.intermediate, { cn: `full-${n}.example.com`, freshKey: true });
    const res = await call('POST', '/api/v1/certificate/withExternal', {
      certificateName: `full-${n}`,
      privateKey: leaf.keyPem,
      publicKeyCertificate: leaf.pem,
      certificateChain: bundle.chainPem,
    });
    if (res.status === 200)
      acked.push(
        (res.json as { sslCertificateList: Array<{ certificateNo: number }> }).sslCertificateList[0]!.certificateNo,
      );
    return res;
  };
  const assertStoreUnavailable = (what: string, res: NcpResponse): void => {
    assert.equal(res.status, 503, `${what}: ${res.status} ${res.body.toString().slice(0, 300)}`);
    assert.equal((res.json as { error?: { errorCode?: string } }).error?.errorCode, '500', 'the NCP endpointError');
    assert.doesNotMatch(res.body.toString(), /\n\s+at |node_modules|SQLITE|ENOSPC/, 'no stack or driver detail');
  };
  let downloadsAnswered = 0;
  const readsWork = async (): Promise<void> => {
    const list = await call('GET', '/api/v1/certificates');
    assert.equal(list.status, 200, `list: ${list.body.toString().slice(0, 300)}`);
    const download = await call('POST', `/api/v2/certificate/exportCertificate/${acked[0]}`, {});
    if (download.status === 200) downloadsAnswered++;
    else assertStoreUnavailable('key download on a full disk', download);
  };

  // Before: a few imports and a download.
  for (let i = 0; i < 5; i++) assert.equal((await importOne()).status, 200);
  await readsWork();
  assert.equal(downloadsAnswered, 1);

  // Fill the disk: big writes, then small ones, until nothing more fits.
  const filler = join(dataDir, '..', 'filler');
  const handle = await open(filler, 'w');
  for (const size of [1 << 20, 1 << 12]) {
    const chunk = Buffer.alloc(size, 0x5a);
    try {
      for (;;) await handle.write(chunk);
    } catch (error) {
      assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
    }
  }
  await handle.close();

  // Full: imports until one is refused; each answer is a 200 or the face's 503.
  let refused = 0;
  for (let i = 0; i < MAX_IMPORTS_ON_FULL_DISK && refused < 3; i++) {
    const res = await importOne();
    if (res.status !== 200) {
      assertStoreUnavailable('import on a full disk', res);
      refused++;
    }
  }
  assert.equal(refused, 3, `imports on a full disk are refused (${acked.length} acknowledged)`);
  for (let i = 0; i < 5; i++) await readsWork();

  // Space again: writes resume by themselves.
  await rm(filler);
  const after = await importOne();
  assert.equal(after.status, 200, `import after space was freed: ${after.body.toString().slice(0, 300)}`);
  await readsWork();
  assert.equal(running.child.exitCode, null, 'the server is still running');

  // The log: one error line for the outage, no stack, the recovery at info.
  running.signal('SIGTERM');
  await running.exited;
  const lines = running
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string; err?: unknown; code?: string });
  const errors = lines.filter((line) => line.level >= 50);
  assert.deepEqual(
    errors.map((line) => `${line.msg} ${line.code}`),
    ['store unavailable: requests get 503 until it recovers SQLITE_FULL'],
    'one error line for the outage',
  );
  assert.ok(lines.some((line) => line.msg === 'store available again'));
  assert.doesNotMatch(running.output(), /\n\s+at /, 'no stack traces in the log');

  // Nothing corrupt, nothing half-written, nothing acknowledged lost, nothing read unaudited.
  const db = new Database(join(dataDir, 'certkeeper.db'), { readonly: true });
  try {
    assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
    const rows = db
      .prepare(
        `select c.certificate_no as no, k.certificate_no is not null as has_key, c.deleted_at
         from certificates c left join certificate_keys k on k.certificate_no = c.certificate_no`,
      )
      .all() as Array<{ no: number; has_key: number; deleted_at: string | null }>;
    const stored = new Map(rows.map((row) => [row.no, row]));
    for (const no of acked) assert.equal(stored.get(no)?.deleted_at, null, `acknowledged import ${no} is stored`);
    assert.deepEqual(
      rows.filter((row) => !row.has_key).map((row) => row.no),
      [],
      'every stored certificate has its key',
    );
    const counts = db
      .prepare(
        `select cc.live, (select count(*) from certificates c
           where c.tenant_id = cc.tenant_id and c.deleted_at is null) as rows
         from certificate_counts cc`,
      )
      .all() as Array<{ live: number; rows: number }>;
    assert.ok(counts.length >= 1);
    for (const count of counts) assert.equal(count.live, count.rows, 'live count matches rows');
    const keyReads = db
      .prepare(`select count(*) as n from audit_events where action = 'certificate.key.read' and result = 'success'`)
      .get() as { n: number };
    assert.ok(keyReads.n >= downloadsAnswered, `${downloadsAnswered} downloads answered, ${keyReads.n} audited`);
  } finally {
    db.close();
  }
}
