/**
 * Contract: the postinstall build of the SQLite stable-plans extension
 * (scripts/build-sqlite-extension.mjs) never fails the install: without a compiler, or when
 * skipped on purpose, it exits 0 and says on stderr what was not built and why.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const script = join(import.meta.dirname, '..', '..', 'scripts', 'build-sqlite-extension.mjs');

describe('build-sqlite-extension', () => {
  for (const [why, env, expected] of [
    ['no compiler', { CC: '/nonexistent/cc' }, /was not built \(\/nonexistent\/cc: .*ENOENT\)/],
    [
      'skipped on purpose',
      { CERTKEEPER_SKIP_SQLITE_EXTENSION: '1' },
      /was not built \(CERTKEEPER_SKIP_SQLITE_EXTENSION=1\)/,
    ],
  ] as const) {
    it(`exits 0 and explains when it cannot build: ${why}`, () => {
      const result = spawnSync(process.execPath, [script], { env: { ...process.env, ...env }, encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stderr, expected);
      assert.match(result.stderr, /works without it/);
    });
  }
});
