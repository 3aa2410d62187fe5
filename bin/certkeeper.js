#!/usr/bin/env node
// `certkeeper` entry point (`npm start` and `npx certkeeper` both start here). certkeeper runs on
// Node 24 (installed by npm as the `node` package). Under npm scripts and npx that is already the
// `node` on PATH; when started by another Node, re-run this file on the project's Node 24.
//
// This file is JavaScript on purpose: it switches on Node's compile cache before the first
// TypeScript file loads. With a warm cache every module, src/cli/main.ts included, comes from
// the cache, and Node never loads its WebAssembly type stripper, which costs about 0.25 s of a
// start (a TypeScript entry file is stripped before any of its code runs, so it cannot do this
// itself). The cache directory is COMPILE_CACHE_DIR of src/cli/compile-cache.ts (a test keeps
// the two equal); like there, a cache that cannot be created is no cache, never an error.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import nodeModule from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compileCacheDir = join(root, 'node_modules', '.cache', 'certkeeper', 'compile');
const main = join(root, 'src', 'cli', 'main.ts');
const major = Number(process.versions.node.split('.')[0]);

if (major >= 24) {
  try {
    // Not a named import: Node before 22 has no such export, and must still reach the re-run.
    nodeModule.enableCompileCache(compileCacheDir);
  } catch {
    // no cache: run without one
  }
  await import(main);
} else {
  const node24 = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(node24)) {
    console.error(`certkeeper needs Node.js 24; this is ${process.version}. Run 'npm install' in ${root} first.`);
    process.exit(1);
  }
  const result = spawnSync(node24, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(result.status ?? 1);
}
