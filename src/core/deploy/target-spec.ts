/**
 * Checks what an operator asks for as a deployment target and turns it into a DeployTargetSpec
 * (docs/compat/edge.md, "Deployment targets"). Refusals are `invalid_argument` naming the option.
 *
 * - directory: an absolute path (no NUL, at most 1024 characters); the reload command split by
 *   argv.ts (no shell); the timeout 1 s to 600 s (default 10 s).
 * - webhook: an absolute `https://` URL, or `http://` to a loopback host only (localhost,
 *   127.0.0.0/8, ::1), since the body carries a private key; no user name or password in the URL
 *   (it would be kept in clear), no fragment, at most 2048 characters.
 */
import { isAbsolute, normalize } from 'node:path';
import type { DeployTargetSpec } from '../../domain/deploy-target.ts';
import { AppError } from '../../domain/errors.ts';
import { isLoopbackHost, parseHttpUrl } from '../../domain/url.ts';
import { joinCommand, shellWord, splitCommand } from './argv.ts';

export const RELOAD_TIMEOUT_DEFAULT_MS = 10_000;
export const RELOAD_TIMEOUT_MIN_MS = 1_000;
export const RELOAD_TIMEOUT_MAX_MS = 600_000;
const PATH_MAX = 1024;
const URL_MAX = 2048;

export type DeployTargetInput =
  | { kind: 'directory'; path: string; reloadCommand?: string | null; reloadTimeoutMs?: number }
  | { kind: 'webhook'; url: string };

const invalid = (field: string, message: string): AppError => new AppError('invalid_argument', message, { field });

function directorySpec(input: Extract<DeployTargetInput, { kind: 'directory' }>): DeployTargetSpec {
  const path = input.path;
  if (typeof path !== 'string' || path === '') throw invalid('path', 'A directory target needs --path DIR.');
  if (path.length > PATH_MAX || path.includes('\u0000'))
    throw invalid('path', `The path must be at most ${PATH_MAX} characters, without NUL.`);
  if (!isAbsolute(path))
    throw invalid(
      'path',
      `The path must be absolute (got a relative path); the server resolves nothing against its own working directory.`,
    );
  const timeout = input.reloadTimeoutMs ?? RELOAD_TIMEOUT_DEFAULT_MS;
  if (!Number.isInteger(timeout) || timeout < RELOAD_TIMEOUT_MIN_MS || timeout > RELOAD_TIMEOUT_MAX_MS) {
    throw invalid(
      'reloadTimeout',
      `The reload timeout must be from ${RELOAD_TIMEOUT_MIN_MS / 1000} s to ${RELOAD_TIMEOUT_MAX_MS / 1000} s.`,
    );
  }
  const command = input.reloadCommand ?? null;
  return {
    kind: 'directory',
    path: normalize(path).replace(/(.)\/+$/, '$1'),
    reloadCommand: command === null || command === '' ? null : splitCommand(command),
    reloadTimeoutMs: timeout,
  };
}

function webhookSpec(input: Extract<DeployTargetInput, { kind: 'webhook' }>): DeployTargetSpec {
  // No credentials in the URL: the HMAC signature authenticates certkeeper to the receiver.
  const url = parseHttpUrl(input.url, 'url', URL_MAX, 'A webhook target needs --url URL.');
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw invalid(
      'url',
      'Plain http:// is allowed to a loopback host only (localhost, 127.0.0.0/8, ::1): the request carries a private key. Use https://.',
    );
  }
  return { kind: 'webhook', url: url.toString() };
}

export function deployTargetSpec(input: DeployTargetInput): DeployTargetSpec {
  switch (input.kind) {
    case 'directory':
      return directorySpec(input);
    case 'webhook':
      return webhookSpec(input);
    default:
      throw invalid('kind', 'The target kind must be directory or webhook.');
  }
}

/**
 * A change to a tenant's target, as `certkeeper target set` and the console ask for it: for a
 * directory target that is already one, a setting left out keeps its current value (an empty
 * `reloadCommand` removes the command); a new kind, or the first target, needs its required
 * setting (`path` or `url`).
 */
export type DeployTargetChange =
  | { kind: 'directory'; path?: string; reloadCommand?: string | null; reloadTimeoutMs?: number }
  | { kind: 'webhook'; url?: string };

/** The change applied to the current target: the full input deployTargetSpec checks. */
export function mergeTargetChange(current: DeployTargetSpec | null, change: DeployTargetChange): DeployTargetInput {
  switch (change.kind) {
    case 'directory': {
      const before = current?.kind === 'directory' ? current : null;
      const path = change.path ?? before?.path;
      if (path === undefined) throw invalid('path', 'A directory target needs a path.');
      const reloadCommand =
        change.reloadCommand !== undefined
          ? change.reloadCommand
          : before?.reloadCommand
            ? joinCommand(before.reloadCommand)
            : null;
      const reloadTimeoutMs = change.reloadTimeoutMs ?? before?.reloadTimeoutMs;
      return { kind: 'directory', path, reloadCommand, ...(reloadTimeoutMs === undefined ? {} : { reloadTimeoutMs }) };
    }
    case 'webhook':
      if (change.url === undefined) throw invalid('url', 'A webhook target needs a URL.');
      return { kind: 'webhook', url: change.url };
    default:
      throw invalid('kind', 'The target kind must be directory or webhook.');
  }
}

/**
 * The `certkeeper target set` command that sets this target as it is, each value quoted for a
 * POSIX shell: what the console shows to copy when it may not edit targets itself.
 */
export function targetSetCommand(tenantName: string, spec: DeployTargetSpec): string {
  const words = ['certkeeper', 'target', 'set', '--tenant', shellWord(tenantName), spec.kind];
  if (spec.kind === 'webhook') words.push('--url', shellWord(spec.url));
  else {
    words.push('--path', shellWord(spec.path));
    words.push('--reload-command', shellWord(spec.reloadCommand === null ? '' : joinCommand(spec.reloadCommand)));
    const ms = spec.reloadTimeoutMs;
    words.push('--reload-timeout', ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);
  }
  return words.join(' ');
}
