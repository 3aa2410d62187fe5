/**
 * Real certkeeper processes for end-to-end tests: `node bin/certkeeper.js serve` (what `npm start`
 * runs) in its own process group (so a test can kill -9 it), the CLI, waiting for conditions, and
 * signed Global Edge calls with the real clock.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { ncpFetch, type NcpResponse } from '../helpers/ncp-client.ts';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const NODE = join(ROOT, 'node_modules/.bin/node');
export const EDGE = '/api/v1/certificate/provisioning';

export interface Served {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
  /** Signals the whole process group (certkeeper; its reload commands run in their own groups). */
  signal(signal: NodeJS.Signals): void;
  exited: Promise<unknown>;
}

/** Starts `certkeeper serve` and waits for its "listening on" line. */
export async function serve(env: NodeJS.ProcessEnv): Promise<Served> {
  const child = spawn(NODE, ['bin/certkeeper.js', 'serve'], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const signal = (sig: NodeJS.Signals): void => {
    try {
      if (child.pid) process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const match = /certkeeper listening on (http:\/\/[^\s]+)/.exec(text);
    if (match) return { child, baseUrl: match[1] as string, output: () => text, signal, exited };
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  signal('SIGKILL');
  throw new Error(`certkeeper serve did not come up:\n${text}`);
}

export async function cli(
  env: NodeJS.ProcessEnv,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(NODE, ['bin/certkeeper.js', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  return { code, stdout, stderr };
}

/** Runs the CLI and parses its `--json` output; throws with stderr on failure. */
export async function cliJson<T>(env: NodeJS.ProcessEnv, args: string[]): Promise<T> {
  const result = await cli(env, [...args, '--json']);
  if (result.code !== 0) throw new Error(`certkeeper ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export interface Credentials {
  accessKey: string;
  secretKey: string;
}

/**
 * What an operator does first on a fresh store, through the CLI: tenant `default` and an ADMIN
 * credential for it, whose keys are returned.
 */
export async function createDefaultAdmin(env: NodeJS.ProcessEnv): Promise<Credentials> {
  await cliJson(env, ['tenant', 'create', 'default']);
  return cliJson<Credentials>(env, ['credential', 'create', '--tenant', 'default', '--role', 'ADMIN']);
}

export function edgeCall(
  baseUrl: string,
  credentials: Credentials,
  method: string,
  path: string,
  body?: unknown,
  query?: Record<string, string | number>,
): Promise<NcpResponse> {
  return ncpFetch(baseUrl, {
    method,
    path,
    credentials,
    ...(body === undefined ? {} : { body }),
    ...(query ? { query } : {}),
  });
}

/** `provisionStatus` of a slot, through the API. */
export async function slotStatus(
  baseUrl: string,
  credentials: Credentials,
  slotId: number,
): Promise<{ status: string; deployment: Record<string, unknown> }> {
  const res = await edgeCall(baseUrl, credentials, 'GET', `${EDGE}/${slotId}`);
  const result = (res.json as { result: { provisionStatus: string; deployment: Record<string, unknown> } }).result;
  return { status: result.provisionStatus, deployment: result.deployment };
}

/** A free loopback TCP port (bound and released). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
