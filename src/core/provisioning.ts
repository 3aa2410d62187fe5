/**
 * Edge provisioning use-cases (the Global Edge face; docs/compat/edge.md). A slot publishes a
 * certificate to the tenant's deployment target; the worker (deploy/worker.ts) does the
 * publishing, these use-cases only record what is wanted and wake it.
 *
 * Rules:
 * - `KR_JP` takes exactly one certificate, for Korea/Japan. `KR_JP_GLOBAL` takes two: one
 *   Korea/Japan certificate and one Global Edge Dedicated (GED) certificate, in either order; the
 *   GED one becomes the slot's GLOBAL item. Which certificate may fill which item is one rule,
 *   deploy/eligibility.ts `certificateForItem`: GED certificates serve the global region only,
 *   every other certificate the Korea/Japan region only.
 * - Adding a global certificate (`addGlobalCertificate`) works on a live `KR_JP_GLOBAL` slot only
 *   (a `KR_JP` slot is refused: its region is chosen when it is provisioned, as on NCP) and only
 *   while the slot holds no global certificate (the store keeps one item per region): to rotate,
 *   remove the old one, then add the new one. Removing (`removeGlobalCertificates`) takes GLOBAL
 *   items only; the Korea/Japan item is replaced with PUT.
 * - `STRICT` ciphers are refused with `TLS_ALL_VERSIONS` (the old protocol versions cannot use
 *   them).
 * - A certificate must be deployable (deploy/eligibility.ts): live, the actor's tenant's, valid,
 *   not revoked, with its key.
 * - Provisioning needs a deployment target (`conflict` otherwise: the operator sets one).
 * - Changes (new certificate, TLS settings, delete) apply to slots in READY, PUBLISHING or
 *   RUNNING; a DELETING or DELETED slot answers `conflict`. Another tenant's slot answers like a
 *   missing one (`not_found`).
 * Every write is authorised (`certificate.write`) and audited, success or refusal.
 */
import type { DeployTargetKind } from '../domain/deploy-target.ts';
import {
  LIVE_STATUSES,
  type CipherProfile,
  type EdgeSlot,
  type ItemRegion,
  type ServiceRegion,
  type SlotItem,
  type TlsVersion,
} from '../domain/edge-slot.ts';
import { AppError, isAppError } from '../domain/errors.ts';
import type { CertificateSummary } from '../domain/model.ts';
import { pendingCheck, settleCredential, type Actor } from './actor.ts';
import type { AuditService } from './audit.ts';
import { certificateForItem, deployableCertificate, isGlobalEdgeDedicated } from './deploy/eligibility.ts';
import { authorize } from './policy.ts';
import type { Clock, SlotChange, Store } from './ports.ts';

export interface ProvisionRequest {
  serviceRegion: ServiceRegion;
  certificateNos: readonly number[];
  tlsVersion: TlsVersion;
  cipherProfile: CipherProfile;
}

export interface SlotView {
  slot: EdgeSlot;
  /** Each item with its certificate; null when the certificate is gone (only for DELETED slots). */
  items: Array<{ item: SlotItem; certificate: CertificateSummary | null }>;
  /** The kind of the tenant's deployment target, null when none is set. */
  targetKind: DeployTargetKind | null;
}

export interface SlotListView {
  items: SlotView[];
  total: number;
}

export interface ProvisioningService {
  /** Slots that are not DELETED, newest first. */
  list(actor: Actor, page: { offset: number; limit: number }): Promise<SlotListView>;
  /** A slot in any status, DELETED included. */
  get(actor: Actor, slotId: number): Promise<SlotView>;
  provision(actor: Actor, request: ProvisionRequest): Promise<EdgeSlot>;
  /** Adds a Global Edge Dedicated certificate to a KR_JP_GLOBAL slot that holds none; republishes. */
  addGlobalCertificate(actor: Actor, slotId: number, certificateNo: number): Promise<EdgeSlot>;
  /** PUT: the slot publishes this certificate instead (the same one again republishes). */
  replaceCertificate(actor: Actor, slotId: number, certificateNo: number): Promise<EdgeSlot>;
  setTls(actor: Actor, slotId: number, tlsVersion: TlsVersion, cipherProfile: CipherProfile): Promise<EdgeSlot>;
  delete(actor: Actor, slotId: number): Promise<EdgeSlot>;
  /** Removes Global Edge Dedicated items (GLOBAL only); republishes. */
  removeGlobalCertificates(actor: Actor, slotId: number, itemIds: readonly number[]): Promise<EdgeSlot>;
  /** Slot ids using each certificate (NCP `usedInstanceNoList`), in one query. */
  usedByMany(actor: Actor, certificateNos: readonly number[]): Promise<Map<number, number[]>>;
  /** A certificate's bytes were replaced: its slots republish. Returns their ids. */
  certificateReplaced(actor: Actor, certificateNo: number): Promise<number[]>;
  /** `listener` runs after every change that gives the worker work; returns an unsubscribe. */
  onChange(listener: () => void): () => void;
  /** Tells the listeners there is work (used by the target service after a republish). */
  wake(): void;
}

export const slotNotFound = (slotId: number): AppError =>
  new AppError('not_found', `No provisioning slot ${slotId}.`, { field: 'slotId' });

export function createProvisioningService(store: Store, clock: Clock, audit: AuditService): ProvisioningService {
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const listener of listeners) listener();
  };

  const audited = audit.around;

  /** The tenant's slot, or not_found; with `live`, also refused unless READY/PUBLISHING/RUNNING. */
  async function slotOf(actor: Actor, slotId: number, live: boolean): Promise<EdgeSlot> {
    const slot = await store.slots.get(actor.tenantId, slotId);
    if (!slot) throw slotNotFound(slotId);
    if (live && !LIVE_STATUSES.includes(slot.status)) {
      throw new AppError('conflict', `Slot ${slotId} is ${slot.status}; it can no longer be changed.`, {
        field: 'slotId',
        details: { status: slot.status },
      });
    }
    return slot;
  }

  function checkTls(tlsVersion: TlsVersion, cipherProfile: CipherProfile): void {
    if (cipherProfile === 'STRICT' && tlsVersion === 'TLS_ALL_VERSIONS') {
      throw new AppError(
        'invalid_argument',
        'The STRICT cipher profile cannot be used with TLS_ALL_VERSIONS: choose TLS_MIN_VERSION_1_2, or the DEFAULT or GENERAL profile.',
        { field: 'cipherProfile' },
      );
    }
  }

  /** Applies a change; a slot that left the live states meanwhile answers like slotOf. */
  async function change(actor: Actor, slotId: number, what: SlotChange): Promise<EdgeSlot> {
    const changed = await store.slots.change(actor.tenantId, slotId, what, clock.now());
    if (!changed) await slotOf(actor, slotId, true);
    if (!changed) throw new AppError('conflict', `Slot ${slotId} changed meanwhile; retry.`, { field: 'slotId' });
    notify();
    return changed;
  }

  /** A slot with its items' certificates (null: the certificate is gone). */
  const viewOf = (
    slot: EdgeSlot,
    certificates: ReadonlyMap<number, CertificateSummary>,
    targetKind: DeployTargetKind | null,
  ): SlotView => ({
    slot,
    items: slot.items.map((item) => ({ item, certificate: certificates.get(item.certificateNo) ?? null })),
    targetKind,
  });

  /** Slots with their certificates, read in one query for the whole page (not one per item). */
  async function views(
    tenantId: number,
    slots: readonly EdgeSlot[],
    targetKind: DeployTargetKind | null,
  ): Promise<SlotView[]> {
    const certificates = await store.certificates.getMany(
      tenantId,
      slots.flatMap((slot) => slot.items.map((item) => item.certificateNo)),
    );
    return slots.map((slot) => viewOf(slot, certificates, targetKind));
  }

  /**
   * The items of a new slot, checked in the documented order (count, TLS, certificates): KR_JP one
   * Korea/Japan certificate; KR_JP_GLOBAL one Korea/Japan and one GED certificate (the GED one is
   * told apart by its type, so the list's order does not matter).
   */
  async function itemsOf(
    actor: Actor,
    request: ProvisionRequest,
  ): Promise<Array<{ region: ItemRegion; certificateNo: number }>> {
    const now = clock.now();
    const field = 'certificateNos';
    if (request.serviceRegion === 'KR_JP') {
      if (request.certificateNos.length !== 1) {
        throw new AppError(
          'invalid_argument',
          `A KR_JP slot takes exactly one certificate (got ${request.certificateNos.length}).`,
          { field },
        );
      }
      checkTls(request.tlsVersion, request.cipherProfile);
      const certificateNo = request.certificateNos[0] as number;
      await certificateForItem(store, actor.tenantId, certificateNo, 'KR_JP', now, field);
      return [{ region: 'KR_JP', certificateNo }];
    }
    if (request.certificateNos.length !== 2) {
      throw new AppError(
        'invalid_argument',
        `A KR_JP_GLOBAL slot takes two certificates, one for Korea/Japan and one Global Edge Dedicated certificate for the global region (got ${request.certificateNos.length}).`,
        { field },
      );
    }
    checkTls(request.tlsVersion, request.cipherProfile);
    const items: Array<{ region: ItemRegion; certificateNo: number }> = [];
    for (const certificateNo of request.certificateNos) {
      const certificate = await deployableCertificate(store, actor.tenantId, certificateNo, now, field);
      items.push({ region: isGlobalEdgeDedicated(certificate) ? 'GLOBAL' : 'KR_JP', certificateNo });
    }
    const globals = items.filter((item) => item.region === 'GLOBAL').length;
    if (globals !== 1) {
      throw new AppError(
        'invalid_argument',
        globals === 0
          ? 'A KR_JP_GLOBAL slot needs a Global Edge Dedicated certificate for the global region besides the Korea/Japan one; none of these is one (request one with requestGedCertificateIssuance).'
          : 'A KR_JP_GLOBAL slot needs a Korea/Japan certificate besides the Global Edge Dedicated one; both of these are Global Edge Dedicated certificates, which serve the global region only.',
        { field },
      );
    }
    // The Korea/Japan item first: it gets the lower itemId, as on NCP's detail page.
    return items.sort((a, b) => (a.region === b.region ? 0 : a.region === 'KR_JP' ? -1 : 1));
  }

  const targetKindOf = async (tenantId: number): Promise<DeployTargetKind | null> =>
    (await store.targets.get(tenantId))?.target.spec.kind ?? null;

  return {
    async list(actor, page) {
      authorize(actor, 'certificate.read');
      const { items, total, certificates, targetKind } = await store.slots.list(
        actor.tenantId,
        page,
        pendingCheck(actor),
      );
      settleCredential(actor);
      return { items: items.map((slot) => viewOf(slot, certificates, targetKind)), total };
    },

    async get(actor, slotId) {
      authorize(actor, 'certificate.read');
      const [slot, targetKind] = await Promise.all([slotOf(actor, slotId, false), targetKindOf(actor.tenantId)]);
      return (await views(actor.tenantId, [slot], targetKind))[0]!;
    },

    async provision(actor, request) {
      authorize(actor, 'certificate.write');
      const detail = {
        certificateNos: request.certificateNos.slice(0, 10).join(','),
        serviceRegion: request.serviceRegion,
      };
      try {
        const items = await itemsOf(actor, request);
        if (!(await store.targets.get(actor.tenantId))) {
          throw new AppError(
            'conflict',
            'No deployment target is configured for this tenant: the operator sets one with `certkeeper target set`.',
            { field: 'target' },
          );
        }
        const slot = await store.slots.create(
          {
            tenantId: actor.tenantId,
            serviceRegion: request.serviceRegion,
            tlsVersion: request.tlsVersion,
            cipherProfile: request.cipherProfile,
            items,
          },
          clock.now(),
        );
        await audit.record(actor, 'edge.slot.provision', `edge-slot:${slot.slotId}`, 'success', detail);
        notify();
        return slot;
      } catch (error) {
        await audit.record(actor, 'edge.slot.provision', 'edge-slot:new', 'failure', {
          ...detail,
          code: isAppError(error) ? error.code : 'internal',
        });
        throw error;
      }
    },

    async addGlobalCertificate(actor, slotId, certificateNo) {
      authorize(actor, 'certificate.write');
      return audited(
        actor,
        'edge.slot.add-global',
        `edge-slot:${slotId}`,
        async () => {
          const slot = await slotOf(actor, slotId, true);
          if (slot.serviceRegion !== 'KR_JP_GLOBAL') {
            throw new AppError(
              'invalid_argument',
              `Slot ${slotId} serves Korea/Japan only (KR_JP); a global certificate is added to a KR_JP_GLOBAL slot. Provision a KR_JP_GLOBAL slot instead.`,
              { field: 'certificateNo' },
            );
          }
          await certificateForItem(store, actor.tenantId, certificateNo, 'GLOBAL', clock.now(), 'certificateNo');
          const held = slot.items.find((item) => item.region === 'GLOBAL');
          if (held) {
            throw new AppError(
              'invalid_argument',
              held.certificateNo === certificateNo
                ? `Slot ${slotId} already holds certificate ${certificateNo} (item ${held.itemId}).`
                : `Slot ${slotId} already holds a Global Edge Dedicated certificate (item ${held.itemId}); a slot holds one: remove it first, then add the new one.`,
              { field: 'certificateNo' },
            );
          }
          return change(actor, slotId, { kind: 'certificate', region: 'GLOBAL', certificateNo });
        },
        { certificateNo },
      );
    },

    async replaceCertificate(actor, slotId, certificateNo) {
      authorize(actor, 'certificate.write');
      return audited(
        actor,
        'edge.slot.replace',
        `edge-slot:${slotId}`,
        async () => {
          await slotOf(actor, slotId, true);
          await certificateForItem(store, actor.tenantId, certificateNo, 'KR_JP', clock.now(), 'certificateNo');
          return change(actor, slotId, { kind: 'certificate', region: 'KR_JP', certificateNo });
        },
        { certificateNo },
      );
    },

    async setTls(actor, slotId, tlsVersion, cipherProfile) {
      authorize(actor, 'certificate.write');
      return audited(
        actor,
        'edge.slot.tls',
        `edge-slot:${slotId}`,
        async () => {
          await slotOf(actor, slotId, true);
          checkTls(tlsVersion, cipherProfile);
          return change(actor, slotId, { kind: 'tls', tlsVersion, cipherProfile });
        },
        { tlsVersion, cipherProfile },
      );
    },

    async delete(actor, slotId) {
      authorize(actor, 'certificate.write');
      return audited(actor, 'edge.slot.delete', `edge-slot:${slotId}`, async () => {
        await slotOf(actor, slotId, true);
        return change(actor, slotId, { kind: 'delete' });
      });
    },

    async removeGlobalCertificates(actor, slotId, itemIds) {
      authorize(actor, 'certificate.write');
      return audited(
        actor,
        'edge.slot.remove-global',
        `edge-slot:${slotId}`,
        async () => {
          const slot = await slotOf(actor, slotId, true);
          for (const itemId of itemIds) {
            const item = slot.items.find((i) => i.itemId === itemId);
            if (!item)
              throw new AppError('invalid_argument', `Slot ${slotId} has no certificate item ${itemId}.`, {
                field: 'itemIds',
              });
            if (item.region !== 'GLOBAL') {
              throw new AppError(
                'invalid_argument',
                `Item ${itemId} is the slot's Korea/Japan certificate; only Global Edge Dedicated certificates are removed this way. Replace it with PUT instead.`,
                { field: 'itemIds' },
              );
            }
          }
          return change(actor, slotId, { kind: 'remove-global', itemIds });
        },
        { itemIds: itemIds.slice(0, 10).join(',') },
      );
    },

    async usedByMany(actor, certificateNos) {
      authorize(actor, 'certificate.read');
      return store.usage.usersOf(actor.tenantId, certificateNos);
    },

    async certificateReplaced(actor, certificateNo) {
      const slots = await store.slots.republishCertificate(actor.tenantId, certificateNo, clock.now());
      if (slots.length > 0) {
        await audit.record(actor, 'edge.slot.republish', `certificate:${certificateNo}`, 'success', {
          slots: slots.slice(0, 20).join(','),
        });
        notify();
      }
      return slots;
    },

    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    wake: notify,
  };
}
