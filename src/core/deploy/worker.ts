/**
 * The provisioning worker: moves slots READY → PUBLISHING → RUNNING and DELETING → DELETED by
 * publishing to (or removing from) the tenant's deployment target. Started by `serve`, stopped
 * before the store closes; tests drive it with `runOnce()`.
 *
 * - State lives in the store only, so a restart (or another process) carries on where a crash
 *   stopped: a slot stays PUBLISHING/DELETING until a worker completes it.
 * - One worker per slot at a time, across processes: a worker works on a slot only after
 *   `store.slotLeases.claim` (one conditional UPDATE) gave it a lease, renews the lease every third of
 *   its length while the target works, and writes the outcome only under its own claim. A
 *   process killed mid-publish leaves a lease that expires; the next worker publishes again
 *   (publishing is idempotent: same files, same webhook delivery id).
 * - A failing target leaves the slot PUBLISHING (or DELETING) with the error on the slot
 *   (`lastError`, shown in the slot detail) and in the log, and it is retried with exponential
 *   backoff (5 s, 10 s, … 10 min), counted on the injected clock.
 * - Every pass first republishes RUNNING slots whose certificate was replaced without its
 *   republish request being recorded (a crash in between), at most every `sweepEveryMs`.
 * - Key reads are audited (`certificate.key.read`, actor `edge-worker`), as is each outcome.
 */
import type { Certificate } from '../../domain/model.ts';
import { primaryItem, retryDelayMs, type EdgeSlot, type SlotItem } from '../../domain/edge-slot.ts';
import type { Actor } from '../actor.ts';
import type { AuditService } from '../audit.ts';
import {
  createBackgroundLoop,
  defaultWorkerId,
  keepLease,
  messageOf,
  silentLog,
  type LeaseWorker,
  type WorkerLog,
} from '../background-loop.ts';
import type { Clock, Store } from '../ports.ts';
import { deployTargetIdentity, describeDeployTarget, type DeployTargetIdentity } from '../../domain/deploy-target.ts';
import type { DeployBundle, DeployerFactory, GlobalCertificateBundle, PublishedCertificate } from './deployer.ts';
import { targetSecretContext } from './targets.ts';
import { eventCertificate } from '../notifications/events.ts';
import type { EventCertificate } from '../notifications/model.ts';
import type { NotificationService } from '../notifications/service.ts';

/** A stored certificate and its key as a target receives them (the KR_JP item and each GLOBAL one). */
function published(loaded: { certificate: Certificate; privateKeyPem: string }): PublishedCertificate {
  const { certificate, privateKeyPem } = loaded;
  const { facts } = certificate;
  return {
    certificateNo: certificate.certificateNo,
    certificateName: certificate.name,
    commonName: facts.commonName,
    domains: facts.domains,
    notBefore: facts.notBefore,
    notAfter: facts.notAfter,
    fingerprintSha256: facts.fingerprintSha256,
    certificatePem: certificate.certificatePem,
    chainPems: certificate.chainPems,
    privateKeyPem,
  };
}

export interface WorkerOptions {
  /** The worker's side of the slots, and what a publish reads: the certificate, its key, the target. */
  store: Pick<Store, 'slotLeases' | 'certificates' | 'targets' | 'vault'>;
  clock: Clock;
  audit: AuditService;
  /** Identifies the claims of this worker; default `<host>:<pid>:<random>`. */
  workerId?: string;
  /** Lease length; renewed every third of it while a target works. Default 30 s. */
  leaseMs?: number;
  /** Pause between passes when there is nothing to do. Default 1 s. */
  pollMs?: number;
  /** Slots looked at per pass. Default 20. */
  batch?: number;
  /** How often the stale-certificate sweep runs. Default 60 s. */
  sweepEveryMs?: number;
  /** Wakes the worker at once (core.provisioning.onChange); subscribed while started. */
  changes?: (listener: () => void) => () => void;
  log?: WorkerLog;
  /** The target implementations (the Deployer port; src/deployers/, wired by src/app/). */
  deployers: DeployerFactory;
  /**
   * Notifications: `deployment.failed` at a generation's first failure (with the failures in a
   * row), `deployment.recovered` when a generation that failed is deployed. Best effort.
   */
  notify?: NotificationService['emit'];
}

export interface WorkerPass {
  /** Slots this pass claimed. */
  claimed: number;
  published: number;
  removed: number;
  failed: number;
  /** RUNNING slots the sweep sent back to PUBLISHING. */
  republished: number;
}

/**
 * runOnce: one pass (sweep, then every due slot it can claim, one after the other); start, kick
 * and stop as core/background-loop.ts says. Stop aborts the current target call and releases its
 * claim. A full batch runs the next pass at once.
 */
export type ProvisioningWorker = LeaseWorker<WorkerPass>;

export function createProvisioningWorker(options: WorkerOptions): ProvisioningWorker {
  const { store, clock, audit } = options;
  const id = options.workerId ?? defaultWorkerId();
  const leaseMs = options.leaseMs ?? 30_000;
  const batch = options.batch ?? 20;
  const sweepEveryMs = options.sweepEveryMs ?? 60_000;
  const log = options.log ?? silentLog;
  const loop = createBackgroundLoop({
    name: 'edge worker',
    workerId: id,
    pollMs: options.pollMs ?? 1_000,
    log,
    pass,
    again: (done) => done.claimed >= batch,
    ...(options.changes ? { changes: options.changes } : {}),
  });
  const actorFor = (tenantId: number): Actor => ({ tenantId, id: 'edge-worker', role: 'ADMIN', remoteAddress: null });
  const leaseFrom = (now: Date): Date => new Date(now.getTime() + leaseMs);

  let lastSweep: number | null = null;

  /** A certificate of the slot with its key (the read audited); throws, as a target failure, when either is gone. */
  async function loadItem(slot: EdgeSlot, item: SlotItem) {
    const certificate = await store.certificates.get(slot.tenantId, item.certificateNo);
    if (!certificate)
      throw new Error(
        item.region === 'KR_JP'
          ? `Certificate ${item.certificateNo} of the slot no longer exists; provision another one with PUT.`
          : `Global certificate ${item.certificateNo} of the slot no longer exists; remove its item ${item.itemId}.`,
      );
    const target = `certificate:${item.certificateNo}`;
    const privateKeyPem = await store.certificates.readPrivateKey(slot.tenantId, item.certificateNo);
    await audit.record(actorFor(slot.tenantId), 'certificate.key.read', target, privateKeyPem ? 'success' : 'failure', {
      purpose: 'edge.publish',
      slotId: slot.slotId,
    });
    if (!privateKeyPem) throw new Error(`Certificate ${item.certificateNo} has no private key.`);
    return { certificate, privateKeyPem };
  }

  async function bundleOf(slot: EdgeSlot): Promise<{ bundle: DeployBundle; fingerprints: Map<number, string> }> {
    const item = primaryItem(slot);
    if (!item) throw new Error(`Slot ${slot.slotId} has no Korea/Japan certificate.`);
    const { certificate, privateKeyPem } = await loadItem(slot, item);
    const fingerprints = new Map([[item.itemId, certificate.facts.fingerprintSha256]]);
    const globalCertificates: GlobalCertificateBundle[] = [];
    for (const global of slot.items.filter((i) => i.region === 'GLOBAL')) {
      const loaded = await loadItem(slot, global);
      fingerprints.set(global.itemId, loaded.certificate.facts.fingerprintSha256);
      globalCertificates.push({ itemId: global.itemId, ...published(loaded) });
    }
    const bundle: DeployBundle = {
      tenantId: slot.tenantId,
      slotId: slot.slotId,
      generation: slot.deployment.generation,
      serviceRegion: slot.serviceRegion,
      tlsVersion: slot.tlsVersion,
      cipherProfile: slot.cipherProfile,
      ...published({ certificate, privateKeyPem }),
      globalCertificates,
    };
    return { bundle, fingerprints };
  }

  /**
   * The certificate a deployment event names: the slot's Korea/Japan certificate, the one it
   * serves, so the event says which certificate did not go out and a rule's certificate pattern
   * picks a slot's events. Null when the slot has none or it is gone (the failure then says so).
   * Read only when an event goes out, never on a deployment's own path; best effort, like events.
   */
  async function certificateOfEvent(slot: EdgeSlot): Promise<EventCertificate | null> {
    const item = primaryItem(slot);
    if (!item) return null;
    const certificate = await store.certificates.get(slot.tenantId, item.certificateNo).catch(() => null);
    return certificate ? eventCertificate(certificate, clock.now().getTime()) : null;
  }

  /** The tenant's target: its deployer and what identifies it in events (null, null: none configured). */
  async function deployer(slot: EdgeSlot) {
    const stored = await store.targets.get(slot.tenantId);
    if (!stored) return { target: null, identity: null };
    const identity = deployTargetIdentity(stored.target.spec);
    const secret = stored.sealedSecret
      ? (await store.vault.open(stored.sealedSecret, targetSecretContext(slot.tenantId))).toString('utf8')
      : null;
    return { target: options.deployers(stored.target.spec, secret), identity };
  }

  /**
   * The target's "last deployment" (the console's card, `target show`): best effort, like the
   * events, so a failed write here never turns a finished deployment into a retry.
   */
  async function recordOnTarget(slot: EdgeSlot, action: 'publish' | 'remove', result: 'success' | 'failure') {
    await store.targets
      .recordDeployment(slot.tenantId, { slotId: slot.slotId, action, result, at: clock.now() })
      .catch((error: unknown) =>
        log.warn({ slotId: slot.slotId, err: messageOf(error) }, 'edge slot: last deployment not recorded'),
      );
  }

  /** Works on one claimed slot; never throws for a target failure (it is recorded instead). */
  async function work(slot: EdgeSlot): Promise<'published' | 'removed' | 'failed' | 'released'> {
    const { slotId } = slot;
    const generation = slot.deployment.generation;
    const fields = { slotId, tenantId: slot.tenantId, generation, status: slot.status, workerId: id };
    const endLease = keepLease({
      leaseMs,
      now: () => clock.now(),
      renew: (until) => store.slotLeases.renew(slotId, id, until),
      log,
      fields,
      what: 'edge slot',
    });
    const action = slot.status === 'DELETING' ? 'edge.slot.remove' : 'edge.slot.publish';
    const operation = slot.status === 'DELETING' ? 'remove' : 'publish';
    // For the events: where the slot was going, and whether a failure came from the target's call.
    let identity: DeployTargetIdentity | null = null;
    let inTarget = false;
    try {
      const found = await deployer(slot);
      const target = found.target;
      identity = found.identity;
      let fingerprints = new Map<number, string>();
      if (slot.status === 'DELETING') {
        // No target (possible only if it was cleared by hand in the database): nothing to remove.
        inTarget = true;
        await target?.remove({ tenantId: slot.tenantId, slotId, generation }, loop.signal);
        inTarget = false;
      } else {
        if (slot.status === 'READY') await store.slotLeases.markPublishing(slotId, id, clock.now());
        if (!target)
          throw new Error(
            'No deployment target is configured for this tenant; the operator sets one with `certkeeper target set`.',
          );
        const loaded = await bundleOf(slot);
        fingerprints = loaded.fingerprints;
        inTarget = true;
        await target.publish(loaded.bundle, loop.signal);
        inTarget = false;
      }
      const outcome = await store.slotLeases.succeed(slotId, id, generation, { fingerprints }, clock.now());
      log.info(
        { ...fields, outcome },
        outcome === 'done'
          ? `edge slot ${slot.status === 'DELETING' ? 'removed' : 'published'}`
          : `edge slot: target done, but the slot ${outcome === 'changed' ? 'changed meanwhile; publishing again' : 'was taken over by another worker'}`,
      );
      await audit.record(actorFor(slot.tenantId), action, `edge-slot:${slotId}`, 'success', { generation, outcome });
      if (target) await recordOnTarget(slot, operation, 'success');
      if (slot.deployment.attempts > 0 && outcome === 'done')
        await options.notify?.(slot.tenantId, `edge-slot:${slotId}:${generation}`, {
          type: 'deployment.recovered',
          certificate: await certificateOfEvent(slot),
          failures: slot.deployment.attempts,
          deployment: { kind: 'edge-slot', slotId, generation, operation, target: identity },
          summary: `Edge slot ${slotId} was ${operation === 'remove' ? 'removed from' : 'published to'} ${identity ? describeDeployTarget(identity) : 'its target'} after ${slot.deployment.attempts} failed attempt(s).`,
        });
      return slot.status === 'DELETING' ? 'removed' : 'published';
    } catch (error) {
      if (loop.signal.aborted) {
        await store.slotLeases.release(slotId, id).catch(() => undefined);
        log.info(fields, 'edge slot: released on shutdown; the next start carries on');
        return 'released';
      }
      const message = messageOf(error);
      const attempts = slot.deployment.attempts + 1;
      const now = clock.now();
      const nextAttemptAt = new Date(now.getTime() + retryDelayMs(attempts));
      await store.slotLeases.fail(slotId, id, generation, message, nextAttemptAt, now);
      log.warn(
        { ...fields, attempts, nextAttemptAt: nextAttemptAt.toISOString(), err: message },
        'edge slot: the deployment target failed; will retry',
      );
      await audit.record(actorFor(slot.tenantId), action, `edge-slot:${slotId}`, 'failure', {
        generation,
        attempts,
        code: 'target_failed',
      });
      if (identity) await recordOnTarget(slot, operation, 'failure');
      if (attempts === 1)
        await options.notify?.(slot.tenantId, `edge-slot:${slotId}:${generation}`, {
          type: 'deployment.failed',
          certificate: await certificateOfEvent(slot),
          failures: attempts,
          deployment: {
            kind: 'edge-slot',
            slotId,
            generation,
            operation,
            target: identity,
            failedAt: inTarget ? 'deploy-target' : 'edge-slot',
          },
          summary: inTarget
            ? `Edge slot ${slotId} could not be ${operation === 'remove' ? 'removed from' : 'published to'} ${identity ? describeDeployTarget(identity) : 'its target'}; certkeeper keeps retrying.`
            : `Edge slot ${slotId} could not be ${operation === 'remove' ? 'removed' : 'published'}${identity ? '' : ': no deployment target is configured'}; certkeeper keeps retrying.`,
          error: message.slice(0, 500),
        });
      return 'failed';
    } finally {
      endLease();
    }
  }

  async function pass(): Promise<WorkerPass> {
    const result: WorkerPass = { claimed: 0, published: 0, removed: 0, failed: 0, republished: 0 };
    const now = clock.now();
    if (lastSweep === null || now.getTime() - lastSweep >= sweepEveryMs) {
      const stale = await store.slotLeases.republishStale(now);
      lastSweep = now.getTime();
      result.republished = stale.length;
      if (stale.length > 0)
        log.warn(
          { slots: stale },
          'edge slots hold a certificate that was replaced since they were published; republishing',
        );
    }
    for (const slotId of await store.slotLeases.due(now, batch)) {
      if (loop.signal.aborted) break;
      const current = clock.now();
      const slot = await store.slotLeases.claim(slotId, id, current, leaseFrom(current));
      if (!slot) continue;
      result.claimed += 1;
      const outcome = await work(slot);
      if (outcome !== 'released') result[outcome] += 1;
    }
    return result;
  }

  return loop;
}
