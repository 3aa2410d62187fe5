/**
 * Runs a test fixture in a child process on a test store, for the kill -9 tests (test/e2e/*-crash).
 *
 * The child opens the store from the environment as `certkeeper` does (CERTKEEPER_DATA_DIR,
 * DATABASE_URL, CERTKEEPER_MASTER_KEY), reads `input` as one JSON line on stdin, and prints
 * `ready` once it is where the test wants it killed. With `kill`, the child is sent SIGKILL at
 * that line; without, it runs to its end. Resolves with the signal it died of and what it printed.
 */
import { spawn } from 'node:child_process';
import type { TestLocation } from './db.ts';

export interface ChildRun {
  signal: NodeJS.Signals | null;
  stdout: string;
}

export function runStoreChild(
  fixture: string,
  args: readonly string[],
  store: { location: TestLocation; masterKey: string },
  input: unknown,
  kill: boolean,
): Promise<ChildRun> {
  return new Promise<ChildRun>((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, ...args], {
      env: {
        ...process.env,
        CERTKEEPER_DATA_DIR: store.location.dataDir,
        CERTKEEPER_MASTER_KEY: store.masterKey,
        DATABASE_URL: store.location.databaseUrl ?? '',
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (kill && stdout.includes('ready\n')) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve({ signal, stdout }));
    child.stdin.end(`${JSON.stringify(input)}\n`);
  });
}
