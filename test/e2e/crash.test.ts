/**
 * Crash in the middle of publishing: a real `certkeeper serve` process with a directory target
 * whose reload command is slow is killed with SIGKILL while the slot is PUBLISHING (files
 * written, reload running). After a restart the slot converges to RUNNING (the dead process's
 * lease expires, the new one publishes again) and the target holds a complete cert/key pair that
 * matches the provisioned certificate.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES } from '../api/ncp/helpers.ts';
import { deployedPair, fingerprintOf } from '../api/edge/helpers.ts';
import { testMasterKey } from '../helpers/db.ts';
import {
  cliJson,
  createDefaultAdmin,
  EDGE,
  edgeCall,
  NODE,
  serve,
  slotStatus,
  waitFor,
  type Served,
} from './helpers.ts';

/** The reload command: logs each run; the first run hangs (the process gets killed meanwhile). */
const RELOAD_SCRIPT = `
const fs = require('fs');
const [log, pids] = process.argv.slice(2);
fs.appendFileSync(log, process.env.CERTKEEPER_EVENT + ' ' + process.env.CERTKEEPER_SLOT_ID + '\\n');
fs.appendFileSync(pids, process.pid + '\\n');
if (fs.readFileSync(log, 'utf8').trim().split('\\n').length === 1) setTimeout(() => {}, 60000);
`;

describe('crash while PUBLISHING (kill -9), restart', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let running: Served | null = null;
  const log = () => join(dir, 'reload.log');
  const pids = () => join(dir, 'reload.pids');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'certkeeper-crash-'));
    env = {
      ...process.env,
      CERTKEEPER_DATA_DIR: join(dir, 'data'),
      CERTKEEPER_PORT: '0',
      CERTKEEPER_LOG_LEVEL: 'info',
      CERTKEEPER_MASTER_KEY: testMasterKey(),
      CERTKEEPER_EDGE_LEASE_SECONDS: '2',
      CERTKEEPER_EDGE_POLL_MS: '100',
    };
    delete env.DATABASE_URL;
    await writeFile(join(dir, 'reload.js'), RELOAD_SCRIPT);
  });

  after(async () => {
    running?.signal('SIGKILL');
    // The first reload command outlived its killed parent (its own process group): end it.
    if (existsSync(pids())) {
      for (const pid of (await readFile(pids(), 'utf8')).split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('converges to RUNNING with a complete, matching pair', async () => {
    // Set up through the CLI, as an operator would.
    const credentials = await createDefaultAdmin(env);
    for (const [name, text] of Object.entries({
      'cert.pem': FIXTURES.korean.certificate,
      'key.pem': FIXTURES.korean.privateKey,
      'chain.pem': FIXTURES.korean.chain,
    }))
      await writeFile(join(dir, name), text);
    const { certificateNo } = await cliJson<{ certificateNo: number }>(env, [
      'cert',
      'import',
      '--name',
      'korean',
      '--cert',
      join(dir, 'cert.pem'),
      '--key',
      join(dir, 'key.pem'),
      '--chain',
      join(dir, 'chain.pem'),
    ]);
    const target = await cliJson<{ kind: string; reloadCommand: string; reloadTimeoutMs: number }>(env, [
      'target',
      'set',
      'directory',
      '--path',
      join(dir, 'certs'),
      '--create',
      '--reload-command',
      `${NODE} ${join(dir, 'reload.js')} ${log()} ${pids()}`,
      '--reload-timeout',
      '120s',
    ]);
    assert.deepEqual([target.kind, target.reloadTimeoutMs], ['directory', 120_000]);

    running = await serve(env);
    const res = await edgeCall(running.baseUrl, credentials, 'POST', EDGE, {
      serviceRegion: 'KR_JP',
      cmCertificateIds: [certificateNo],
      tlsVersion: 'TLS_MIN_VERSION_1_2',
      cipherProfile: 'DEFAULT',
    });
    assert.equal(res.status, 200, res.body.toString());
    const slotId = Number(res.headers.location?.split('/').at(-1));

    // Files written, reload hanging: the slot is PUBLISHING. Kill -9.
    await waitFor('the first reload', async () => (existsSync(log()) ? true : undefined));
    const baseUrl = running.baseUrl;
    assert.equal((await slotStatus(baseUrl, credentials, slotId)).status, 'PUBLISHING');
    running.signal('SIGKILL');
    await running.exited;
    running = null;

    // Restart: the lease (2 s) expires, the new process publishes again and the reload succeeds.
    running = await serve(env);
    const restarted = running.baseUrl;
    const settled = await waitFor('RUNNING after the restart', async () => {
      const state = await slotStatus(restarted, credentials, slotId);
      return state.status === 'RUNNING' ? state : undefined;
    });
    assert.deepEqual([settled.deployment.generation, settled.deployment.deployedGeneration], [1, 1]);
    assert.equal(
      (await readFile(log(), 'utf8')).trim().split('\n').length,
      2,
      'published once more, after the restart',
    );

    const pair = await deployedPair(join(dir, 'certs'), slotId);
    assert.equal(pair.fingerprint, fingerprintOf(FIXTURES.korean.certificate));
    assert.ok(pair.keyMatches, 'the key is the certificate\u2019s');
    assert.equal(pair.fullchain, FIXTURES.korean.certificate, 'the chain is the root alone, left out');
    assert.equal((await stat(join(dir, 'certs', String(slotId), 'privkey.pem'))).mode & 0o777, 0o600);
    assert.match(running.output(), /edge slot published/);
  });
});
