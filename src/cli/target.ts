/**
 * `certkeeper target …`: the deployment target of a tenant's edge slots (docs/compat/edge.md,
 * "Deployment targets").
 *
 *   target set [--tenant NAME] directory [--path DIR] [--create] [--reload-command CMD] [--reload-timeout 10s]
 *   target set [--tenant NAME] webhook --url URL
 *
 * `target set directory` changes only the options given and prints the whole result; the folder
 * must exist, or `--create` creates it (core's `targets.update`, which the console calls too).
 *   target show [--tenant NAME]
 *   target clear [--tenant NAME]
 *
 * `--path` is resolved against the working directory here (the server stores it absolute).
 * `--reload-command` is split into argv without a shell (core/deploy/argv.ts). `--reload-timeout`
 * takes `500ms`, `10s`, `2m` or plain seconds. Setting a webhook target prints its signing secret
 * once; it is stored sealed and never shown again (set the target again for a new one).
 */
import { resolve } from 'node:path';
import { cliActor } from '../core/actor.ts';
import type { Core } from '../core/core.ts';
import { joinCommand } from '../core/deploy/argv.ts';
import type { DeployTargetChange } from '../core/deploy/target-spec.ts';
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
 * What `target set` asks for, as core's change (core/deploy/target-spec.ts `mergeTargetChange`:
 * an option not given keeps its current value, `--reload-command ''` removes the command). The
 * flags' own rules stay here: a kind is required, and a new kind, or the first target, needs its
 * required option (a usage error, exit 2); `--path` is resolved against the working directory.
 */
function targetChange(
  kind: string | undefined,
  flags: TargetFlags,
  current: DeployTarget | null,
  usage: (message: string) => Error,
): DeployTargetChange {
  if (kind === 'directory') {
    if (!flags.path && current?.spec.kind !== 'directory') throw usage('target set directory needs --path DIR');
    return {
      kind,
      ...(flags.path ? { path: resolve(flags.path) } : {}),
      ...(flags['reload-command'] !== undefined ? { reloadCommand: flags['reload-command'] } : {}),
      ...(flags['reload-timeout'] !== undefined
        ? { reloadTimeoutMs: parseDuration(flags['reload-timeout'], usage) }
        : {}),
    };
  }
  if (kind === 'webhook') {
    if (!flags.url) throw usage('target set webhook needs --url URL');
    return { kind, url: flags.url };
  }
  throw usage('target set takes a kind: directory or webhook');
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
      const change = targetChange(args[0], flags, await core.targets.get(actor), usage);
      const { target, secret, republished, createdDirectory } = await core.targets.update(actor, change, {
        create: flags.create === true,
      });
      const created =
        createdDirectory && target.spec.kind === 'directory' ? `Created the directory ${target.spec.path}.\n` : '';
      const shown = { ...presentTarget(tenant, target), ...(secret === null ? {} : { secret }), republished };
      const note =
        secret === null
          ? ''
          : 'The webhook signing secret is shown only now: give it to the receiver, which checks x-certkeeper-signature with it.\n';
      out(shown, `${created}${keyValues({ ...shown, republished: republished.join(',') })}${note}`);
      return;
    }
    case 'show': {
      const { target, lastDeployment } = await core.targets.show(actor);
      const shown =
        target === null
          ? presentTarget(tenant, target)
          : {
              ...presentTarget(tenant, target),
              // The worker's last publish or removal on this target (the console shows the same).
              lastDeployment:
                lastDeployment === null
                  ? null
                  : `${lastDeployment.action} of slot ${lastDeployment.slotId ?? '?'}: ${lastDeployment.result} at ${lastDeployment.at.toISOString()}`,
            };
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
