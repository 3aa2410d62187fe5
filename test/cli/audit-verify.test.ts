/**
 * `certkeeper audit verify`: exit 0 and every chain "ok" on an untouched log; after a row is edited
 * behind certkeeper's back, exit 1 and the event named. In-process `run()` on a temp SQLite data
 * directory (the store side of the chain is covered on both stores in test/store/audit-chain.test.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { run } from '../../src/cli/run.ts';

let dataDir: string;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    env: { CERTKEEPER_DATA_DIR: dataDir, CERTKEEPER_LOG_LEVEL: 'silent' },
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  return { code, stdout, stderr };
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'certkeeper-audit-cli-'));
  assert.equal((await cli(['tenant', 'create', 'acme'])).code, 0);
  // Audited writes: credentials created and one revoked.
  for (let i = 0; i < 3; i++) {
    assert.equal((await cli(['credential', 'create', '--tenant', 'acme', '--role', 'ADMIN'])).code, 0);
  }
});

after(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('certkeeper audit verify', () => {
  it('reports every chain ok, with its head, and exits 0', async () => {
    const result = await cli(['audit', 'verify']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /acme\s+3\s+ok\s+[0-9a-f]{64}/);
    assert.match(result.stdout, /All \d+ audit chain\(s\) verify\./);
    const json = JSON.parse((await cli(['audit', 'verify', '--tenant', 'acme', '--json'])).stdout) as Array<{
      chain: string;
      events: number;
      firstBreak: unknown;
    }>;
    assert.deepEqual(
      json.map((r) => [r.chain, r.events, r.firstBreak]),
      [['acme', 3, null]],
    );
  });

  it('names the altered event and exits 1', async () => {
    const db = new Database(join(dataDir, 'certkeeper.db'));
    const { id } = db
      .prepare(`select id from audit_events where tenant_id is not null order by id limit 1 offset 1`)
      .get() as {
      id: number;
    };
    db.prepare(`update audit_events set actor = 'someone-else' where id = ?`).run(id);
    db.close();
    const result = await cli(['audit', 'verify', '--tenant', 'acme']);
    assert.equal(result.code, 1);
    assert.match(result.stdout, new RegExp(`BROKEN: event ${id} was altered`));
    assert.match(result.stdout, /1 of 1 audit chain\(s\) broken\./);
  });
});
