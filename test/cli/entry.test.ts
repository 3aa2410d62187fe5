/**
 * Contract of the entry `bin/certkeeper.js` (what `npm start` and `npx certkeeper` run): it turns
 * on the compile cache in COMPILE_CACHE_DIR before any TypeScript loads, so that a start with a
 * warm cache never loads Node's WebAssembly type stripper (about 0.25 s of a start); and started
 * by an older Node it re-runs itself on the project's Node 24.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPILE_CACHE_DIR } from '../../src/cli/compile-cache.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const ENTRY = join(ROOT, 'bin', 'certkeeper.js');

/** Node's own variables would move or switch off the cache: the entry's default is under test. */
function envWithoutCacheOverrides(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_COMPILE_CACHE;
  delete env.NODE_DISABLE_COMPILE_CACHE;
  return env;
}

describe('bin/certkeeper.js', () => {
  it('with a warm cache, runs without loading the TypeScript stripper, caching in COMPILE_CACHE_DIR', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'certkeeper-entry-'));
    try {
      // Reports, as the process exits, whether Node loaded its stripper (amaro) and the cache in use.
      const probe = join(dir, 'probe.mjs');
      await writeFile(
        probe,
        "import { getCompileCacheDir } from 'node:module';\n" +
          "process.on('exit', () => process.stderr.write('PROBE ' + JSON.stringify({ stripper: process.moduleLoadList.some((m) => m.includes('amaro')), cache: getCompileCacheDir() ?? null }) + '\\n'));\n",
      );
      const run = () => {
        const result = spawnSync(process.execPath, ['--import', probe, ENTRY, '--help'], {
          cwd: ROOT,
          env: envWithoutCacheOverrides(),
          encoding: 'utf8',
        });
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /certkeeper/);
        const line = result.stderr.split('\n').find((l) => l.startsWith('PROBE '));
        assert.ok(line, result.stderr);
        return JSON.parse(line.slice('PROBE '.length)) as { stripper: boolean; cache: string | null };
      };
      run(); // warms the cache, if an earlier start has not
      const warm = run();
      assert.ok(
        warm.cache?.startsWith(COMPILE_CACHE_DIR),
        `cache in ${String(warm.cache)}, expected under ${COMPILE_CACHE_DIR}`,
      );
      assert.equal(warm.stripper, false, 'no TypeScript was stripped: every module came from the cache');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // The system Node of this project's machines is older than 24; elsewhere there may be none.
  const older = ['/usr/bin/node', '/usr/local/bin/node'].find(
    (path) =>
      existsSync(path) &&
      Number(execFileSync(path, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).trim()) < 24,
  );
  it(
    'started by an older Node, re-runs itself on the project Node 24',
    { skip: older ? false : 'no Node older than 24 at /usr/bin/node or /usr/local/bin/node' },
    () => {
      const result = spawnSync(older!, [ENTRY, '--help'], {
        cwd: ROOT,
        env: envWithoutCacheOverrides(),
        encoding: 'utf8',
      });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /certkeeper/);
    },
  );

  // The documented command as a user types it: the machine's npx, on the machine's Node, not the
  // project's Node 24 that npm scripts (and this test run) put first on PATH. npm checks `engines`
  // against the Node that runs npm, so without the project's .npmrc (loglevel=error) it prints an
  // EBADENGINE block for certkeeper itself before every command.
  const npx = ['/usr/bin/npx', '/usr/local/bin/npx'].find((path) => existsSync(path));
  it(
    "`npx certkeeper --help` with the machine's npm prints no npm warning",
    { skip: older && npx ? false : 'needs npx and a Node older than 24 at /usr/bin or /usr/local/bin' },
    async () => {
      const env = envWithoutCacheOverrides();
      env.PATH = (env.PATH ?? '')
        .split(':')
        .filter((dir) => !dir.includes('node_modules'))
        .join(':');
      for (const key of Object.keys(env)) if (key.toLowerCase().startsWith('npm_')) delete env[key];
      // A fresh npm cache, as on a fresh machine: npx links the project into its cache on the first
      // run, and that install is where npm checks `engines` (later runs reuse the link).
      const cache = await mkdtemp(join(tmpdir(), 'certkeeper-npx-cache-'));
      env.npm_config_cache = cache;
      try {
        for (let run = 1; run <= 2; run += 1) {
          const result = spawnSync(npx!, ['certkeeper', '--help'], { cwd: ROOT, env, encoding: 'utf8' });
          assert.equal(result.status, 0, result.stderr);
          assert.match(result.stdout, /^Usage: certkeeper/);
          assert.doesNotMatch(result.stderr, /EBADENGINE|npm warn/i, `run ${run}: ${result.stderr}`);
        }
      } finally {
        await rm(cache, { recursive: true, force: true });
      }
    },
  );
});
