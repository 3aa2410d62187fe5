#!/usr/bin/env node
/**
 * Builds native/sqlite-stable-plans.c (see its header for why) into
 * node_modules/.cache/certkeeper/sqlite-stable-plans.<so|dylib>. Runs at `npm install`
 * (postinstall) and as `npm run build:sqlite-extension`.
 *
 * Contract:
 * - Never fails the install: without a C compiler (`$CC`, else `cc`) or without better-sqlite3's
 *   sqlite3ext.h, it says so on stderr and exits 0; certkeeper then runs without the extension
 *   (src/store/connect.ts, `stablePlans: false`), slower but correct.
 * - Plain JavaScript, no dependencies: npm may run it with whatever node is first on PATH.
 * - `CERTKEEPER_SKIP_SQLITE_EXTENSION=1` skips the build (to measure without it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'native', 'sqlite-stable-plans.c');
const headers = join(root, 'node_modules', 'better-sqlite3', 'deps', 'sqlite3');
const outDir = join(root, 'node_modules', '.cache', 'certkeeper');
const out = join(outDir, `sqlite-stable-plans.${process.platform === 'darwin' ? 'dylib' : 'so'}`);

function skip(reason) {
  process.stderr.write(
    `certkeeper: the SQLite stable-plans extension was not built (${reason}); certkeeper works without it, with more CPU per SQLite query.\n`,
  );
  process.exit(0);
}

if (process.env.CERTKEEPER_SKIP_SQLITE_EXTENSION === '1') skip('CERTKEEPER_SKIP_SQLITE_EXTENSION=1');
if (process.platform === 'win32') skip('not built on Windows');
if (!existsSync(join(headers, 'sqlite3ext.h'))) skip(`no ${join(headers, 'sqlite3ext.h')}`);

mkdirSync(outDir, { recursive: true });
const partial = `${out}.${process.pid}.tmp`;
const compiler = process.env.CC || 'cc';
const flags = [
  '-O2',
  '-fPIC',
  process.platform === 'darwin' ? '-dynamiclib' : '-shared',
  '-I',
  headers,
  '-o',
  partial,
  source,
];
const result = spawnSync(compiler, flags, { stdio: ['ignore', 'inherit', 'inherit'] });
if (result.error || result.status !== 0) {
  rmSync(partial, { force: true });
  skip(result.error ? `${compiler}: ${result.error.message}` : `${compiler} exited with ${result.status}`);
}
// Renamed into place, so a concurrent start never loads a half-written file.
renameSync(partial, out);
process.stderr.write(`certkeeper: built ${out}\n`);
