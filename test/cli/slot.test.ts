/**
 * `certkeeper slot list|create|show|delete` (src/cli/slot.ts): edge slots from the command line
 * through core's provisioning use-cases, on a real SQLite store in a temp data directory, with
 * the documented exit codes (0 ok, 1 refused by core, 2 usage).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApp } from '../../src/app/app.ts';
import { run } from '../../src/cli/run.ts';
import { loadConfig } from '../../src/config/config.ts';
import { cliActor } from '../../src/core/actor.ts';
import { mintBundle } from '../helpers/pki.ts';

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

async function ok(args: string[]): Promise<string> {
  const result = await cli(args);
  assert.equal(result.code, 0, `certkeeper ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

interface SlotJson {
  slotId: number;
  status: string;
  certificateNo: number;
  certificateName: string;
  tlsVersion: string;
  cipherProfile: string;
  onTarget: string;
  directory: string | null;
  byName: string | null;
}

describe('certkeeper slot', () => {
  let targetDir: string;
  let certificateNo: number;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'certkeeper-cli-slot-'));
    targetDir = join(dataDir, 'certs');
    const bundle = await mintBundle();
    await writeFile(join(dataDir, 'cert.pem'), bundle.leaf.pem);
    await writeFile(join(dataDir, 'key.pem'), bundle.leaf.keyPem);
    await writeFile(join(dataDir, 'chain.pem'), bundle.chainPem);
    await ok(['tenant', 'create', 'acme']);
    const imported = JSON.parse(
      await ok([
        'cert',
        'import',
        '--tenant',
        'acme',
        '--name',
        'www',
        '--cert',
        join(dataDir, 'cert.pem'),
        '--key',
        join(dataDir, 'key.pem'),
        '--chain',
        join(dataDir, 'chain.pem'),
        '--json',
      ]),
    ) as { certificateNo: number };
    certificateNo = imported.certificateNo;
  });

  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('is in --help', async () => {
    const help = await ok(['--help']);
    assert.match(help, /slot create \[--tenant NAME\] --cert NUMBER\|NAME/);
    assert.match(help, /slot list/);
    assert.match(help, /slot show/);
    assert.match(help, /slot delete/);
  });

  it('create without a deployment target: refused by core, saying what to do (exit 1)', async () => {
    const refused = await cli(['slot', 'create', '--tenant', 'acme', '--cert', 'www']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /certkeeper target set/);
    assert.match(refused.stderr, /conflict/);
  });

  it('create by certificate name: the slot, its certificate, and where its files will be', async () => {
    await ok(['target', 'set', '--tenant', 'acme', 'directory', '--path', targetDir, '--create']);
    const created = await ok(['slot', 'create', '--tenant', 'acme', '--cert', 'www']);
    assert.match(created, /^Created edge slot \d+; the server's worker publishes it\.\n/);
    const slotId = Number(/edge slot (\d+)/.exec(created)?.[1]);
    const shown = JSON.parse(await ok(['slot', 'show', '--tenant', 'acme', String(slotId), '--json'])) as SlotJson;
    assert.deepEqual(
      {
        status: shown.status,
        certificateNo: shown.certificateNo,
        certificateName: shown.certificateName,
        tlsVersion: shown.tlsVersion,
        cipherProfile: shown.cipherProfile,
        onTarget: shown.onTarget,
        directory: shown.directory,
        byName: shown.byName,
      },
      {
        status: 'READY',
        certificateNo,
        certificateName: 'www',
        tlsVersion: 'TLS_MIN_VERSION_1_2',
        cipherProfile: 'DEFAULT',
        onTarget: 'not yet published',
        directory: join(targetDir, String(slotId)),
        byName: join(targetDir, 'by-name', 'www'),
      },
    );
    // Another tenant does not see it.
    await ok(['tenant', 'create', 'other']);
    const foreign = await cli(['slot', 'show', '--tenant', 'other', String(slotId)]);
    assert.equal(foreign.code, 1);
    assert.match(foreign.stderr, /not_found/);
  });

  it('create by number with TLS settings; core’s rules apply (STRICT needs TLS 1.2 or later)', async () => {
    const created = JSON.parse(
      await ok([
        'slot',
        'create',
        '--tenant',
        'acme',
        '--cert',
        String(certificateNo),
        '--tls-version',
        'TLS_ALL_VERSIONS',
        '--cipher',
        'GENERAL',
        '--json',
      ]),
    ) as SlotJson;
    assert.deepEqual([created.tlsVersion, created.cipherProfile], ['TLS_ALL_VERSIONS', 'GENERAL']);
    const strict = await cli([
      'slot',
      'create',
      '--tenant',
      'acme',
      '--cert',
      'www',
      '--tls-version',
      'TLS_ALL_VERSIONS',
      '--cipher',
      'STRICT',
    ]);
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /invalid_argument, cipherProfile/);
  });

  it('usage errors exit 2 with one line', async () => {
    for (const args of [
      ['slot', 'create', '--tenant', 'acme'],
      ['slot', 'create', '--tenant', 'acme', '--cert', 'www', '--cipher', 'BOGUS'],
      ['slot', 'create', '--tenant', 'acme', '--cert', 'www', '--tls-version', 'TLS_1_0'],
      ['slot', 'show', '--tenant', 'acme'],
      ['slot', 'show', '--tenant', 'acme', 'abc'],
      ['slot', 'delete', '--tenant', 'acme', '-1'],
      ['slot', 'list', '--tenant', 'acme', '--page', '0'],
    ]) {
      const result = await cli(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /^certkeeper: .+\nRun 'certkeeper --help' for usage\.\n$/);
    }
    const missing = await cli(['slot', 'create', '--tenant', 'acme', '--cert', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not_found/);
    const gone = await cli(['slot', 'show', '--tenant', 'acme', '424242']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /No provisioning slot 424242/);
  });

  it('lists the slots, newest first, then deletes one', async () => {
    const listed = JSON.parse(await ok(['slot', 'list', '--tenant', 'acme', '--json'])) as {
      items: SlotJson[];
      total: number;
    };
    assert.equal(listed.total, 2);
    const [newest, oldest] = listed.items.map((slot) => slot.slotId) as [number, number];
    assert.ok(newest > oldest);
    const text = await ok(['slot', 'list', '--tenant', 'acme']);
    assert.match(text, /^SLOTID\s+STATUS\s+CERTIFICATENO\s+CERTIFICATENAME\s+ONTARGET/);
    assert.match(text, /not yet published/);
    assert.match(text, /Page 1 of 1: 2 slot\(s\) in all\.\n$/);

    const deleted = await ok(['slot', 'delete', '--tenant', 'acme', String(oldest)]);
    assert.match(deleted, new RegExp(`^Edge slot ${oldest} is being deleted`));
    const after = JSON.parse(await ok(['slot', 'show', '--tenant', 'acme', String(oldest), '--json'])) as SlotJson;
    assert.equal(after.status, 'DELETING');
    const again = await cli(['slot', 'delete', '--tenant', 'acme', String(oldest)]);
    assert.equal(again.code, 1, 'a slot being deleted takes no more changes');
    assert.match(again.stderr, /conflict/);
  });

  it('--global-cert makes a KR_JP_GLOBAL slot; core refuses one without a Global Edge Dedicated certificate', async () => {
    // A Global Edge Dedicated certificate is issued, never imported: stored here as the issuance
    // worker stores one (core import with its type), through the same store the CLI opens.
    const minted = await mintBundle({ leaf: { cn: 'global.example.com', freshKey: true } });
    const app = await openApp(loadConfig({ CERTKEEPER_DATA_DIR: dataDir, CERTKEEPER_LOG_LEVEL: 'silent' }));
    let gedNo: number;
    try {
      const tenant = await app.core.tenants.get('acme');
      gedNo = (
        await app.core.certificates.import(
          cliActor(tenant.id),
          { name: 'global-www', certificate: minted.leaf.pem, privateKey: minted.leaf.keyPem, chain: minted.chainPem },
          {
            origin: 'acme',
            type: 'NCP_GLOBAL_EDGE_DEDICATED',
            policy: { requireKey: true, allowEd25519: false, nameRule: null },
          },
        )
      ).certificateNo;
      const plain = await mintBundle({ leaf: { cn: 'plain.example.com', freshKey: true } });
      await app.core.certificates.import(
        cliActor(tenant.id),
        { name: 'plain', certificate: plain.leaf.pem, privateKey: plain.leaf.keyPem, chain: plain.chainPem },
        { origin: 'cli', policy: { requireKey: true, allowEd25519: false, nameRule: null } },
      );
    } finally {
      await app.close();
    }
    const created = JSON.parse(
      await ok(['slot', 'create', '--tenant', 'acme', '--cert', 'www', '--global-cert', 'global-www', '--json']),
    ) as SlotJson & { serviceRegion: string; globalCertificateNo: number; globalCertificateName: string };
    assert.deepEqual(
      [created.serviceRegion, created.certificateName, created.globalCertificateNo, created.globalCertificateName],
      ['KR_JP_GLOBAL', 'www', gedNo, 'global-www'],
    );
    const shown = JSON.parse(
      await ok(['slot', 'show', '--tenant', 'acme', String(created.slotId), '--json']),
    ) as typeof created;
    assert.equal(shown.globalCertificateNo, gedNo);

    // Core gives each certificate its item by type (docs/compat/edge.md), so the two flags swapped
    // make the same slot; an imported certificate as the global one is refused.
    const swapped = JSON.parse(
      await ok(['slot', 'create', '--tenant', 'acme', '--cert', 'global-www', '--global-cert', 'www', '--json']),
    ) as typeof created;
    assert.deepEqual([swapped.certificateName, swapped.globalCertificateName], ['www', 'global-www']);
    const refused = await cli(['slot', 'create', '--tenant', 'acme', '--cert', 'www', '--global-cert', 'plain']);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /invalid_argument/);
    assert.match(refused.stderr, /Global Edge Dedicated/);
    const usage = await cli(['slot', 'create', '--tenant', 'acme', '--cert', 'www', '--global-cert', '0']);
    assert.equal(usage.code, 2);
  });
});
