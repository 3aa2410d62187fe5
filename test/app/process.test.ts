/**
 * The two commands, as a user runs them: `npm start` on an empty data directory serves, writes the
 * initial credentials (and prints only their path), the CLI imports and lists a certificate while
 * the server runs, SIGTERM stops the server cleanly, and after a restart the certificate is there.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { mintBundle } from '../helpers/pki.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const NODE = join(ROOT, 'node_modules/.bin/node');

interface Started {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
}

/** Starts `npm start` in its own process group and waits for the "listening on" line. */
async function npmStart(env: NodeJS.ProcessEnv): Promise<Started> {
  const child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const match = /certkeeper listening on (http:\/\/[^\s]+)/.exec(text);
    if (match) return { child, baseUrl: match[1] as string, output: () => text };
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  stopGroup(child, 'SIGKILL');
  throw new Error(`npm start did not come up:\n${text}`);
}

function stopGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function cli(env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(NODE, ['src/cli/main.ts', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  return { code, stdout, stderr };
}

async function waitReady(baseUrl: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${baseUrl}/readyz`)).status === 200) return;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('/readyz never answered 200');
}

describe('npm start, the CLI, SIGTERM and restart', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let running: Started | null = null;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'certkeeper-process-'));
    env = { ...process.env, CERTKEEPER_DATA_DIR: dataDir, CERTKEEPER_PORT: '0', CERTKEEPER_LOG_LEVEL: 'warn' };
    delete env.DATABASE_URL;
    delete env.CERTKEEPER_MASTER_KEY;
  });

  after(async () => {
    if (running) stopGroup(running.child, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves, persists and restarts', async () => {
    running = await npmStart(env);
    await waitReady(running.baseUrl);

    // The banner prints the console's URL, and `/` leads there.
    assert.ok(running.output().includes(`Console: ${running.baseUrl}/console/\n`), running.output());
    const home = await fetch(`${running.baseUrl}/`, { redirect: 'manual' });
    assert.equal(home.status, 302);
    assert.equal(home.headers.get('location'), '/console/');
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const openapi = (await (await fetch(`${running.baseUrl}/docs/openapi.json`)).json()) as {
      info: { version: string };
    };
    assert.equal(openapi.info.version, pkg.version);

    // The initial credentials: in a 0600 file whose path is printed; the secret is not printed.
    const file = join(dataDir, 'initial-credentials.json');
    assert.match(running.output(), new RegExp(`They are in ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const credentials = JSON.parse(await readFile(file, 'utf8')) as {
      tenant: string;
      accessKey: string;
      secretKey: string;
      role: string;
    };
    assert.equal(credentials.tenant, 'default');
    assert.equal(credentials.role, 'ADMIN');
    assert.match(credentials.secretKey, /^[A-Za-z0-9]{40}$/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.ok(!running.output().includes(credentials.secretKey), 'the secret key was printed');

    // The CLI works against the same data directory while the server runs.
    const bundle = await mintBundle();
    await writeFile(join(dataDir, 'cert.pem'), bundle.leaf.pem);
    await writeFile(join(dataDir, 'key.pem'), bundle.leaf.keyPem);
    await writeFile(join(dataDir, 'chain.pem'), bundle.chainPem);
    const imported = await cli(env, [
      'cert',
      'import',
      '--json',
      '--name',
      'www-cert',
      '--cert',
      join(dataDir, 'cert.pem'),
      '--key',
      join(dataDir, 'key.pem'),
      '--chain',
      join(dataDir, 'chain.pem'),
    ]);
    assert.equal(imported.code, 0, imported.stderr);
    const certificateNo = (JSON.parse(imported.stdout) as { certificateNo: number }).certificateNo;
    assert.ok(certificateNo >= 1);
    const listed = await cli(env, ['cert', 'list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { items: Array<{ name: string }> }).items.map((i) => i.name),
      ['www-cert'],
    );

    // SIGTERM: a clean exit.
    const exited = once(running.child, 'exit');
    stopGroup(running.child, 'SIGTERM');
    await exited;
    running = null;

    // Restart on the same directory: no new credentials file, the certificate is still there.
    running = await npmStart(env);
    await waitReady(running.baseUrl);
    assert.doesNotMatch(running.output(), /First start/);
    const again = await cli(env, ['cert', 'show', '--json', String(certificateNo)]);
    assert.equal(again.code, 0, again.stderr);
    const shown = JSON.parse(again.stdout) as { name: string; status: string; facts: { fingerprintSha256: string } };
    assert.equal(shown.name, 'www-cert');
    assert.equal(shown.status, 'VALID');
    const exitedAgain = once(running.child, 'exit');
    stopGroup(running.child, 'SIGTERM');
    await exitedAgain;
    running = null;
  });
});
