/**
 * `certkeeper target …`: the deployment target of a tenant's edge slots (docs/compat/edge.md,
 * "Deployment targets").
 *
 *   target set [--tenant NAME] directory [--path DIR] [--create] [--reload-command CMD] [--reload-timeout 10s]
 *   target set [--tenant NAME] webhook --url URL
 *
 * `target set directory` changes only the options given and prints the whole result; the folder
 * must exist, or `--create` creates it.
 *   target show [--tenant NAME]
 *   target clear [--tenant NAME]
 *
 * `--path` is resolved against the working directory here (the server stores it absolute).
 * `--reload-command` is split into argv without a shell (core/deploy/argv.ts). `--reload-timeout`
 * takes `500ms`, `10s`, `2m` or plain seconds. Setting a webhook target prints its signing secret
 * once; it is stored sealed and never shown again (set the target again for a new one).
 */
import { mkdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { cliActor } from '../core/actor.ts';
import type { Core } from '../core/core.ts';
import { joinCommand } from '../core/deploy/argv.ts';
import { deployTargetSpec, type DeployTargetInput } from '../core/deploy/target-spec.ts';
import { AppError } from '../domain/errors.ts';
import type { DeployTarget } from '../domain/deploy-target.ts';
import type { Tenant } from '../domain/model.ts';
import { keyValues } from './output.ts';

export interface TargetFlags {
  path?: string | undefined;
  'reload-command'?: string | undefined;
  'reload-timeout'?: string | undefined;
  url?: string | undefined;
  create?: boolean | undefined;
}

type Out = (value: unknown, human: string) => void;

/** `500ms`, `10s`, `2m`, or a plain number of seconds → milliseconds. */
export function parseDuration(text: string, usage: (message: string) => Error): number {
  const match = /^([0-9]{1,7})(ms|s|m)?$/.exec(text.trim());
  if (!match)
    throw usage(`--reload-timeout takes a duration such as 10s, 500ms or 2m; got ${JSON.stringify(text.slice(0, 40))}`);
  const value = Number(match[1]);
  return match[2] === 'ms' ? value : match[2] === 'm' ? value * 60_000 : value * 1000;
}

function presentTarget(tenant: Tenant, target: DeployTarget | null) {
  if (!target) return { tenant: tenant.name, kind: null };
  const { spec } = target;
  return spec.kind === 'directory'
    ? {
        tenant: tenant.name,
        kind: spec.kind,
        path: spec.path,
        reloadCommand: spec.reloadCommand === null ? null : joinCommand(spec.reloadCommand),
        reloadTimeoutMs: spec.reloadTimeoutMs,
        updatedAt: target.updatedAt.toISOString(),
      }
    : {
        tenant: tenant.name,
        kind: spec.kind,
        url: spec.url,
        hasSecret: target.hasSecret,
        updatedAt: target.updatedAt.toISOString(),
      };
}

/**
 * What `target set` asks for. Changing one setting keeps the others: for a directory target set
 * before, an option not given keeps its current value (`--reload-command ''` removes the command);
 * a new kind, or the first target, needs its required option (--path or --url).
 */
function targetInput(
  kind: string | undefined,
  flags: TargetFlags,
  current: DeployTarget | null,
  usage: (message: string) => Error,
): DeployTargetInput {
  if (kind === 'directory') {
    const before = current?.spec.kind === 'directory' ? current.spec : null;
    if (!flags.path && !before) throw usage('target set directory needs --path DIR');
    const reloadCommand =
      flags['reload-command'] !== undefined
        ? flags['reload-command']
        : before?.reloadCommand
          ? joinCommand(before.reloadCommand)
          : null;
    const reloadTimeoutMs =
      flags['reload-timeout'] !== undefined ? parseDuration(flags['reload-timeout'], usage) : before?.reloadTimeoutMs;
    return {
      kind,
      path: flags.path ? resolve(flags.path) : (before as { path: string }).path,
      reloadCommand,
      ...(reloadTimeoutMs === undefined ? {} : { reloadTimeoutMs }),
    };
  }
  if (kind === 'webhook') {
    if (!flags.url) throw usage('target set webhook needs --url URL');
    return { kind, url: flags.url };
  }
  throw usage('target set takes a kind: directory or webhook');
}

/**
 * A directory target's folder must exist before it is set: the deployer would otherwise create
 * it (and its parents) on the first publish, so a typo in --path would go unnoticed. `--create`
 * creates it (0700, with parents) and says so.
 */
async function ensureDirectory(path: string, create: boolean): Promise<string> {
  const found = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (found) {
    if (!found.isDirectory())
      throw new AppError('invalid_argument', `${path} exists and is not a directory.`, { field: 'path' });
    return '';
  }
  if (!create)
    throw new AppError(
      'invalid_argument',
      `The directory ${path} does not exist. Create it first, or pass --create to create it.`,
      { field: 'path' },
    );
  await mkdir(path, { recursive: true, mode: 0o700 });
  return `Created the directory ${path}.\n`;
}

export async function runTargetCommand(
  core: Core,
  tenant: Tenant,
  verb: 'set' | 'show' | 'clear',
  args: readonly string[],
  flags: TargetFlags,
  out: Out,
  usage: (message: string) => Error,
): Promise<void> {
  const actor = cliActor(tenant.id);
  switch (verb) {
    case 'set': {
      const input = targetInput(args[0], flags, await core.targets.get(actor), usage);
      // Bad values are refused before the directory is looked at (or created).
      const spec = deployTargetSpec(input);
      const created = spec.kind === 'directory' ? await ensureDirectory(spec.path, flags.create === true) : '';
      const { target, secret, republished } = await core.targets.set(actor, input);
      const shown = { ...presentTarget(tenant, target), ...(secret === null ? {} : { secret }), republished };
      const note =
        secret === null
          ? ''
          : 'The webhook signing secret is shown only now: give it to the receiver, which checks x-certkeeper-signature with it.\n';
      out(shown, `${created}${keyValues({ ...shown, republished: republished.join(',') })}${note}`);
      return;
    }
    case 'show': {
      const shown = presentTarget(tenant, await core.targets.get(actor));
      out(shown, shown.kind === null ? `No deployment target is set for tenant '${tenant.name}'.\n` : keyValues(shown));
      return;
    }
    case 'clear': {
      const cleared = await core.targets.clear(actor);
      out(
        { tenant: tenant.name, cleared },
        cleared
          ? `Deployment target of '${tenant.name}' cleared.\n`
          : `Tenant '${tenant.name}' had no deployment target.\n`,
      );
      return;
    }
  }
}
