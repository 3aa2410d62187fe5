/**
 * `certkeeper cert replace|versions|restore|purge` and `cert list --deleted` as an operator uses
 * them, on every store (SQLite, and PostgreSQL through DATABASE_URL): a renewal with the same key
 * replaced in place without --key, versions listed and downloaded (key file 0600), recovery of a
 * deleted certificate, and the refusals: usage errors exit 2, bad values and wrong states exit 1
 * with one clear line, and change nothing. Runs `run()` in-process, the code the binary runs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/run.ts';
import { storeTargets, type TestLocation } from '../helpers/db.ts';
import { mintBundle, mintLeaf, type Bundle } from '../helpers/pki.ts';

for (const target of storeTargets) {
  describe(`certkeeper cert replace, versions and recovery on ${target.name}`, { skip: target.skip }, () => {
    let location: TestLocation;
    let dir: string;
    let bundle: Bundle;

    async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
      let stdout = '';
      let stderr = '';
      const code = await run(args, {
        env: {
          CERTKEEPER_DATA_DIR: location.dataDir,
          CERTKEEPER_LOG_LEVEL: 'silent',
          ...(location.databaseUrl ? { DATABASE_URL: location.databaseUrl } : {}),
          ...env,
        },
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
      });
      return { code, stdout, stderr };
    }
    async function ok(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
      const result = await cli(args, env);
      assert.equal(result.code, 0, `certkeeper ${args.join(' ')}: ${result.stderr}`);
      return result.stdout;
    }
    async function fails(args: string[], code: 1 | 2, message: RegExp, env: NodeJS.ProcessEnv = {}) {
      const result = await cli(args, env);
      assert.equal(result.code, code, `certkeeper ${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trimEnd().split('\n').length, code === 2 ? 2 : 1, result.stderr);
    }
    const file = (name: string) => join(dir, name);
    const versionsOf = async (no: number) =>
      JSON.parse(await ok(['cert', 'versions', String(no), '--json'])) as {
        currentVersion: number;
        versions: Array<{ version: number; current: boolean; replacedBy: string | null; fingerprintSha256: string }>;
      };

    before(async () => {
      location = await target.fresh();
      dir = await mkdtemp(join(tmpdir(), 'certkeeper-cli-history-'));
      bundle = await mintBundle();
      const renewed = await mintLeaf(bundle.intermediate, { serial: '0c0d0e' });
      const otherKey = await mintLeaf(bundle.intermediate, { freshKey: true, cn: 'other.example.com' });
      await writeFile(file('cert.pem'), bundle.leaf.pem);
      await writeFile(file('key.pem'), bundle.leaf.keyPem);
      await writeFile(file('chain.pem'), bundle.chainPem);
      await writeFile(file('renewed.pem'), renewed.pem);
      await writeFile(file('other.pem'), otherKey.pem);
      await writeFile(file('other-key.pem'), otherKey.keyPem);
      assert.equal((await cli(['tenant', 'create', 'default'])).code, 0);
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
      await location?.cleanup();
    });

    it('replaces in place keeping the key, lists versions and downloads an old one', async () => {
      const imported = JSON.parse(
        await ok([
          'cert',
          'import',
          '--name',
          'www',
          '--cert',
          file('cert.pem'),
          '--key',
          file('key.pem'),
          '--chain',
          file('chain.pem'),
          '--json',
        ]),
      ) as { certificateNo: number };
      const no = imported.certificateNo;
      const human = await ok([
        'cert',
        'replace',
        String(no),
        '--cert',
        file('renewed.pem'),
        '--chain',
        file('chain.pem'),
      ]);
      assert.match(human, /Replaced in place; the previous version is kept \(cert versions \d+\)/);
      const versions = await versionsOf(no);
      assert.equal(versions.currentVersion, 2);
      assert.deepEqual(
        versions.versions.map((v) => [v.version, v.current, v.replacedBy]),
        [
          [2, true, null],
          [1, false, 'cli'],
        ],
      );
      assert.match(await ok(['cert', 'versions', String(no)]), /VERSION\s+CURRENT/);

      const out = join(dir, 'v1');
      await ok(['cert', 'versions', String(no), '--download', '1', '--out', out, '--key']);
      assert.equal(await readFile(join(out, 'cert.pem'), 'utf8'), bundle.leaf.pem);
      assert.equal((await readFile(join(out, 'privkey.pem'), 'utf8')).trim(), bundle.leaf.keyPem.trim());
      assert.equal((await stat(join(out, 'privkey.pem'))).mode & 0o777, 0o600);
      const printed = await ok(['cert', 'versions', String(no), '--download', '2']);
      assert.ok(printed.startsWith('-----BEGIN CERTIFICATE-----'));
      assert.doesNotMatch(printed, /PRIVATE KEY/);
      // The current one still has its key: export serves it.
      assert.match(await ok(['cert', 'export', String(no), '--key']), /PRIVATE KEY/);
    });

    it('refuses bad input with one line, writing nothing', async () => {
      const no = (
        JSON.parse(await ok(['cert', 'list', '--name', 'www', '--json'])) as { items: Array<{ certificateNo: number }> }
      ).items[0]!.certificateNo;
      const before = await versionsOf(no);
      await fails(
        ['cert', 'versions', String(no), '--download', '9'],
        1,
        /has no version 9; its versions are 2, 1 \(2 is current\)/,
      );
      await fails(['cert', 'versions', String(no), '--download', 'two'], 2, /--download takes a positive integer/);
      await fails(['cert', 'versions', 'abc'], 2, /NUMBER takes a positive integer|cert versions NUMBER/);
      await fails(['cert', 'versions', '99999'], 1, /No certificate number 99999/);
      await fails(['cert', 'replace', String(no)], 2, /--cert FILE/);
      await fails(
        ['cert', 'replace', String(no), '--cert', file('missing.pem')],
        1,
        /Cannot read the certificate file/,
      );
      await fails(['cert', 'replace', String(no), '--cert', file('key.pem')], 1, /certificate/i);
      await fails(
        ['cert', 'replace', String(no), '--cert', file('other.pem'), '--chain', file('chain.pem')],
        1,
        /different key/,
      );
      // Another live certificate holds this certificate and key.
      await ok([
        'cert',
        'import',
        '--name',
        'api',
        '--cert',
        file('other.pem'),
        '--key',
        file('other-key.pem'),
        '--chain',
        file('chain.pem'),
      ]);
      await fails(
        [
          'cert',
          'replace',
          String(no),
          '--cert',
          file('other.pem'),
          '--key',
          file('other-key.pem'),
          '--chain',
          file('chain.pem'),
        ],
        1,
        /already registered as 'api'/,
      );
      assert.deepEqual(await versionsOf(no), before);
    });

    it('delete is recoverable: list --deleted, restore, purge; wrong states refused', async () => {
      const no = (
        JSON.parse(await ok(['cert', 'list', '--name', 'api', '--json'])) as { items: Array<{ certificateNo: number }> }
      ).items[0]!.certificateNo;
      await fails(['cert', 'restore', String(no)], 1, /is not deleted; there is nothing to restore/);
      await fails(['cert', 'purge', String(no)], 1, /is not deleted; delete it first/);
      assert.match(
        await ok(['cert', 'delete', String(no)]),
        new RegExp(`Recoverable for 30 day\\(s\\): certkeeper cert restore ${no}`),
      );
      const deleted = JSON.parse(await ok(['cert', 'list', '--deleted', '--json'])) as {
        total: number;
        items: Array<{ certificateNo: number; name: string; deletedAt: string; purgeAfter: string }>;
      };
      assert.equal(deleted.total, 1);
      assert.equal(deleted.items[0]?.certificateNo, no);
      assert.equal(Date.parse(deleted.items[0]!.purgeAfter) - Date.parse(deleted.items[0]!.deletedAt), 30 * 86_400_000);
      assert.match(await ok(['cert', 'list', '--deleted']), /1 recoverable certificate\(s\)/);
      assert.doesNotMatch(await ok(['cert', 'list']), /\bapi\b/);

      assert.match(await ok(['cert', 'restore', String(no)]), /Restored certificate \d+ \(api\)/);
      assert.match(await ok(['cert', 'list']), /\bapi\b/);
      await ok(['cert', 'delete', String(no)]);
      assert.match(await ok(['cert', 'purge', String(no)]), /Purged certificate/);
      await fails(['cert', 'restore', String(no)], 1, /was purged; it cannot be restored/);
      await fails(['cert', 'purge', String(no)], 1, /was purged/);
      await fails(['cert', 'restore', '99999'], 1, /No deleted certificate number 99999/);
      await fails(['cert', 'list', '--deleted', '--page-size', '5000'], 2, /at most 1000/);
      assert.equal((JSON.parse(await ok(['cert', 'list', '--deleted', '--json'])) as { total: number }).total, 0);
    });

    it('CERTKEEPER_DELETE_RETENTION_DAYS=0 purges at deletion; a bad value names the variable', async () => {
      const zero = { CERTKEEPER_DELETE_RETENTION_DAYS: '0' };
      const imported = JSON.parse(
        await ok([
          'cert',
          'import',
          '--name',
          'brief',
          '--cert',
          file('other.pem'),
          '--key',
          file('other-key.pem'),
          '--chain',
          file('chain.pem'),
          '--json',
        ]),
      ) as { certificateNo: number };
      const deleted = await ok(['cert', 'delete', String(imported.certificateNo)], zero);
      assert.doesNotMatch(deleted, /Recoverable/);
      await fails(['cert', 'restore', String(imported.certificateNo)], 1, /was purged/);
      await fails(
        ['cert', 'list', '--deleted'],
        1,
        /CERTKEEPER_VERSION_RETENTION_DAYS must be a whole number of days/,
        {
          CERTKEEPER_VERSION_RETENTION_DAYS: 'ninety',
        },
      );
      await fails(['cert', 'list'], 1, /CERTKEEPER_DELETE_RETENTION_DAYS/, { CERTKEEPER_DELETE_RETENTION_DAYS: '-1' });
    });
  });
}
