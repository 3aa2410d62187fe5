/**
 * What the worker hands a deployment target, and the target adapters behind one interface:
 * directory.ts (files + reload command) and webhook.ts (signed HTTPS POST).
 *
 * A deployer either completes (the target holds the new state) or throws an Error whose message
 * says what failed, in one line, safe to show to the tenant (the slot's `lastError`).
 */
import type { DeployTargetSpec } from '../../domain/deploy-target.ts';
import type { CipherProfile, ServiceRegion, TlsVersion } from '../../domain/edge-slot.ts';
import type { Clock } from '../ports.ts';
import { directoryDeployer } from './directory.ts';
import { runCommand, type RunCommand } from './run-command.ts';
import { webhookDeployer } from './webhook.ts';

export interface DeployBundle {
  tenantId: number;
  slotId: number;
  generation: number;
  serviceRegion: ServiceRegion;
  tlsVersion: TlsVersion;
  cipherProfile: CipherProfile;
  certificateNo: number;
  certificateName: string;
  commonName: string | null;
  domains: readonly string[];
  notBefore: Date;
  notAfter: Date;
  fingerprintSha256: string;
  certificatePem: string;
  /** Issuers in path order, leaf's issuer first. */
  chainPems: readonly string[];
  privateKeyPem: string;
}

export interface SlotRef {
  tenantId: number;
  slotId: number;
  generation: number;
}

export interface Deployer {
  /** Puts the bundle on the target, replacing what the slot had there. */
  publish(bundle: DeployBundle, signal: AbortSignal): Promise<void>;
  /** Takes the slot off the target; nothing there is fine. */
  remove(slot: SlotRef, signal: AbortSignal): Promise<void>;
}

export interface DeployerDeps {
  clock: Clock;
  /** Tests inject; default: node:child_process via run-command.ts. */
  runCommand?: RunCommand;
  /** Tests inject; default: the global fetch. */
  fetch?: typeof fetch;
  /** Per webhook request. Default 10 s. */
  webhookTimeoutMs?: number;
}

/** Leaf then issuers: what web servers call the full chain. */
export const fullChainOf = (bundle: Pick<DeployBundle, 'certificatePem' | 'chainPems'>): string =>
  [bundle.certificatePem, ...bundle.chainPems].join('');

export function deployerFor(spec: DeployTargetSpec, secret: string | null, deps: DeployerDeps): Deployer {
  switch (spec.kind) {
    case 'directory':
      return directoryDeployer(spec, deps.runCommand ?? runCommand);
    case 'webhook':
      if (secret === null)
        throw new Error('The webhook target has no secret; set the target again (certkeeper target set).');
      return webhookDeployer(spec, secret, {
        clock: deps.clock,
        fetch: deps.fetch ?? fetch,
        timeoutMs: deps.webhookTimeoutMs ?? 10_000,
      });
  }
}
