/**
 * The tenant's deployment target in the console: shown to every role, changed only when the
 * operator opted in.
 *
 * - `GET /console/api/deploy-target`: the target (present-edge.ts `targetOf`: a directory in full
 *   with its file layout and modes, a webhook by its origin), the last deployment to it, whether
 *   this session may change it, and the `certkeeper target set` command that sets it as it is.
 * - `PUT /console/api/deploy-target`: core's `targets.update`, the use-case `certkeeper target set`
 *   calls: a setting left out keeps its value, a missing folder is refused unless `create`, core
 *   checks every value, authorises (`deploy-target.write`) and audits. Allowed only when the server
 *   runs with `CERTKEEPER_CONSOLE_TARGET_EDIT=on` (config.ts, docs/operations.md: a directory
 *   target writes private keys and runs a command as the server's OS user); otherwise 403
 *   `target_edit_off` naming the variable, before the body is read. The session's role must allow
 *   `deploy-target.write` (checked in the hook, and again by core); CSRF and same-origin as every
 *   console write.
 *
 * The body's types are checked here, every field at once (FieldErrors); the values are core's.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.ts';
import { targetSetCommand, type DeployTargetChange } from '../../core/deploy/target-spec.ts';
import { can } from '../../core/policy.ts';
import type { DeployTarget } from '../../domain/deploy-target.ts';
import { AppError } from '../../domain/errors.ts';
import { callerOf, consoleAuth } from './auth.ts';
import { objectBody, type Json } from './body.ts';
import { ConsoleWireError, FieldErrors } from './errors.ts';
import { targetOf } from './present-edge.ts';

export const TARGET_EDIT_VARIABLE = 'CERTKEEPER_CONSOLE_TARGET_EDIT';

const SWITCHED_OFF = `Changing deployment targets from the console is switched off on this server: the operator allows it by starting the server with ${TARGET_EDIT_VARIABLE}=on, or sets the target with certkeeper target set on the server.`;

const wrongType = (field: string, what: string): AppError =>
  new AppError('invalid_argument', `The ${field} must be ${what}.`, { field });

/** The body as core's change; every wrong type reported at once. */
function changeOf(body: Json): { change: DeployTargetChange; create: boolean } {
  const problems: AppError[] = [];
  const text = (field: string, nullable: boolean): string | null | undefined => {
    const value = body[field];
    if (value === undefined || typeof value === 'string' || (nullable && value === null)) return value;
    problems.push(wrongType(field, nullable ? 'text or null' : 'text'));
    return undefined;
  };
  const kind = body.kind;
  if (kind !== 'directory' && kind !== 'webhook') problems.push(wrongType('kind', 'directory or webhook'));
  const path = text('path', false);
  const reloadCommand = text('reloadCommand', true);
  const url = text('url', false);
  const timeout = body.reloadTimeoutMs;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isSafeInteger(timeout)))
    problems.push(wrongType('reloadTimeoutMs', 'a whole number of milliseconds'));
  const create = body.create;
  if (create !== undefined && typeof create !== 'boolean') problems.push(wrongType('create', 'true or false'));
  const [first, ...rest] = problems;
  if (first) throw rest.length === 0 ? first : new FieldErrors([first, ...rest]);
  const change: DeployTargetChange =
    kind === 'webhook'
      ? { kind, ...(url === undefined ? {} : { url: url as string }) }
      : {
          kind: 'directory',
          ...(path === undefined ? {} : { path: path as string }),
          ...(reloadCommand === undefined ? {} : { reloadCommand }),
          ...(timeout === undefined ? {} : { reloadTimeoutMs: timeout as number }),
        };
  return { change, create: create === true };
}

/** The command to copy: a directory target in full; a webhook's URL is not shown (it may carry a token). */
const commandOf = (tenant: string | null, target: DeployTarget | null): string | null =>
  tenant === null || target === null || target.spec.kind !== 'directory' ? null : targetSetCommand(tenant, target.spec);

export function registerTargetRoutes(app: FastifyInstance, core: Core, options: { edit: boolean }): void {
  const read = consoleAuth(core);
  const write = consoleAuth(core, 'deploy-target.write');
  const switchedOn = async (): Promise<void> => {
    if (!options.edit) throw new ConsoleWireError('permission_denied', 403, 'target_edit_off', SWITCHED_OFF);
  };
  const tenantName = async (request: FastifyRequest): Promise<string | null> =>
    (await core.tenants.getById(callerOf(request).actor.tenantId))?.name ?? null;

  app.get('/console/api/deploy-target', { onRequest: read }, async (request) => {
    const { actor } = callerOf(request);
    const { target, lastDeployment } = await core.targets.show(actor);
    return {
      target: targetOf(target),
      lastDeployment:
        lastDeployment === null
          ? null
          : {
              slotId: lastDeployment.slotId,
              action: lastDeployment.action,
              result: lastDeployment.result,
              at: lastDeployment.at.toISOString(),
            },
      edit: {
        /** The server allows console edits (CERTKEEPER_CONSOLE_TARGET_EDIT=on). */
        switchedOn: options.edit,
        /** And this session's role may change targets: the console offers the form. */
        allowed: options.edit && can(actor.role, 'deploy-target.write'),
        variable: TARGET_EDIT_VARIABLE,
      },
      command: commandOf(await tenantName(request), target),
    };
  });

  app.put('/console/api/deploy-target', { onRequest: [write, switchedOn] }, async (request) => {
    const { actor } = callerOf(request);
    const { change, create } = changeOf(objectBody(request.body));
    const result = await core.targets.update(actor, change, { create });
    return {
      target: targetOf(result.target),
      createdDirectory: result.createdDirectory,
      republished: result.republished,
      // A new webhook secret, shown once (core keeps it sealed and never returns it again).
      ...(result.secret === null ? {} : { secret: result.secret }),
      command: commandOf(await tenantName(request), result.target),
    };
  });
}
