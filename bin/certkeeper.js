#!/usr/bin/env node
// `certkeeper` entry point. certkeeper runs on Node 24 (installed by npm as the `node` package).
// Under npm scripts and npx that is already the `node` on PATH; when started by another Node,
// re-run the same command on the project's Node 24 so the TypeScript sources run as they are.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, 'src', 'cli', 'main.ts');
const major = Number(process.versions.node.split('.')[0]);

if (major >= 24) {
  await import(main);
} else {
  const node24 = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(node24)) {
    console.error(`certkeeper needs Node.js 24; this is ${process.version}. Run 'npm install' in ${root} first.`);
    process.exit(1);
  }
  const result = spawnSync(node24, [main, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
