/**
 * The deployment target implementations of core's Deployer port (core/deploy/deployer.ts), one
 * per target kind: directory.ts (atomic file writes, then the reload command without a shell) and
 * webhook.ts (HMAC-signed POST). This folder does the I/O core does not: it may import core's
 * ports and the domain, never store/, a face, cli/ or app/ (eslint.config.js). src/app/ wires
 * `createDeployers` into the provisioning worker.
 */
import type { DeployerFactory } from '../core/deploy/deployer.ts';
import type { Clock } from '../core/ports.ts';
import { directoryDeployer } from './directory.ts';
import { runCommand, type RunCommand } from './run-command.ts';
import { webhookDeployer } from './webhook.ts';

export interface DeployerDeps {
  /** Webhook timestamps. */
  clock: Clock;
  /** Tests inject; default: node:child_process via run-command.ts. */
  runCommand?: RunCommand;
  /** Tests inject; default: the global fetch. */
  fetch?: typeof fetch;
  /** Per webhook request. Default 10 s. */
  webhookTimeoutMs?: number;
}

export function createDeployers(deps: DeployerDeps): DeployerFactory {
  const run = deps.runCommand ?? runCommand;
  const webhook = { clock: deps.clock, fetch: deps.fetch ?? fetch, timeoutMs: deps.webhookTimeoutMs ?? 10_000 };
  return (spec, secret) => {
    switch (spec.kind) {
      case 'directory':
        return directoryDeployer(spec, run);
      case 'webhook':
        if (secret === null)
          throw new Error('The webhook target has no secret; set the target again (certkeeper target set).');
        return webhookDeployer(spec, secret, webhook);
    }
  };
}
