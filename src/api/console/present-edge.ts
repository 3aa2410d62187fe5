/**
 * Edge slots → console JSON: the slot, its certificate(s) by name, what the deployment is doing
 * (generation wanted vs. accepted by the target, failed attempts, the last error, the next retry)
 * and whether the worker still has work on it (the browser polls while `pending`).
 */
import { joinCommand } from '../../core/deploy/argv.ts';
import type { SlotView } from '../../core/provisioning.ts';
import { directoryLayout, type DeployTarget } from '../../domain/deploy-target.ts';
import { onTargetText, PENDING_STATUSES, TLS_PROTOCOLS } from '../../domain/edge-slot.ts';
import { certificateStatus } from '../../domain/status.ts';

const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

export function slotOf(view: SlotView, now: Date) {
  const { slot } = view;
  return {
    slotId: slot.slotId,
    serviceRegion: slot.serviceRegion,
    status: slot.status,
    pending: PENDING_STATUSES.includes(slot.status),
    tlsVersion: slot.tlsVersion,
    tlsProtocols: TLS_PROTOCOLS[slot.tlsVersion],
    cipherProfile: slot.cipherProfile,
    targetKind: view.targetKind,
    items: view.items.map(({ item, certificate }) => ({
      itemId: item.itemId,
      region: item.region,
      certificateNo: item.certificateNo,
      certificate: certificate
        ? {
            name: certificate.name,
            status: certificateStatus(certificate, now),
            commonName: certificate.facts.commonName,
            notAfter: certificate.facts.notAfter.toISOString(),
          }
        : null,
    })),
    /** Where the deployment stands, in the CLI's words (domain/edge-slot.ts onTargetText). */
    onTarget: onTargetText(slot),
    deployment: {
      generation: slot.deployment.generation,
      deployedGeneration: slot.deployment.deployedGeneration,
      attempts: slot.deployment.attempts,
      lastError: slot.deployment.lastError,
      lastErrorAt: iso(slot.deployment.lastErrorAt),
      nextAttemptAt: iso(slot.deployment.nextAttemptAt),
    },
    createdAt: slot.createdAt.toISOString(),
    provisionedAt: slot.provisionedAt.toISOString(),
    updatedAt: slot.updatedAt.toISOString(),
    deletedAt: iso(slot.deletedAt),
  };
}

/**
 * A tenant's deployment target as the console shows it (routes-targets.ts). A directory target in
 * full (path, reload command as typed, timeout, the files a slot gets and their modes: the
 * deployer's layout, domain/deploy-target.ts); a webhook only by its origin, since the path or
 * query may carry a token.
 */
export function targetOf(target: DeployTarget | null) {
  if (target === null) return null;
  const { spec } = target;
  return spec.kind === 'directory'
    ? {
        kind: spec.kind,
        path: spec.path,
        reloadCommand: spec.reloadCommand === null ? null : joinCommand(spec.reloadCommand),
        reloadTimeoutMs: spec.reloadTimeoutMs,
        files: directoryLayout(spec.path),
        updatedAt: target.updatedAt.toISOString(),
      }
    : { kind: spec.kind, origin: new URL(spec.url).origin, updatedAt: target.updatedAt.toISOString() };
}
