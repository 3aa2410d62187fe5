/**
 * Runs a directory target's reload command: `spawn(argv[0], argv.slice(1))` with no shell, so
 * nothing in the command line (or in a slot's data) can start another command.
 *
 * - The child gets certkeeper's environment minus its secrets (`DATABASE_URL`,
 *   `CERTKEEPER_MASTER_KEY`), plus `extraEnv` (`CERTKEEPER_EVENT`, `CERTKEEPER_SLOT_ID`,
 *   `CERTKEEPER_SLOT_DIR`); stdin is closed; the last 2 KiB of stdout and stderr are kept for
 *   the error message.
 * - It runs in its own process group; on timeout or abort the whole group gets SIGKILL (a script
 *   that forked does not outlive its deadline).
 * - Success is exit code 0. Anything else rejects with a one-line reason: cannot start (ENOENT,
 *   EACCES), exit code or signal with the output's tail, timed out, aborted.
 */
import { spawn } from 'node:child_process';

export interface RunCommandOptions {
  timeoutMs: number;
  extraEnv?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
}

export type RunCommand = (argv: readonly string[], options: RunCommandOptions) => Promise<void>;

const OUTPUT_TAIL = 2048;
const SECRET_ENV = ['DATABASE_URL', 'CERTKEEPER_MASTER_KEY'];

function childEnv(extra: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of SECRET_ENV) delete env[name];
  return env;
}

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

export const runCommand: RunCommand = (argv, options) =>
  new Promise<void>((resolve, reject) => {
    const [command, ...args] = argv;
    if (command === undefined) {
      reject(new Error('The reload command is empty.'));
      return;
    }
    if (options.signal?.aborted) {
      reject(new Error(`The reload command was not started: ${String(options.signal.reason ?? 'aborted')}.`));
      return;
    }
    const child = spawn(command, args, {
      shell: false,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv(options.extraEnv ?? {}),
    });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let stopped: string | null = null;
    const kill = (why: string): void => {
      stopped ??= why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => kill(`timed out after ${options.timeoutMs / 1000} s`), options.timeoutMs);
    const onAbort = (): void => kill('aborted (certkeeper is stopping)');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    const done = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    child.on('error', (error: NodeJS.ErrnoException) =>
      done(new Error(`The reload command ${command} could not be started (${error.code ?? error.message}).`)),
    );
    child.on('close', (code, signal) => {
      const tail = oneLine(output);
      if (stopped) done(new Error(`The reload command ${command} ${stopped}.${tail ? ` Output: ${tail}` : ''}`));
      else if (code === 0) done(null);
      else
        done(
          new Error(
            `The reload command ${command} ${code === null ? `was killed by ${signal}` : `exited with code ${code}`}.${tail ? ` Output: ${tail}` : ''}`,
          ),
        );
    });
  });
