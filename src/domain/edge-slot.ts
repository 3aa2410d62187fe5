/**
 * Global Edge certificate slots (docs/compat/edge.md): a slot publishes one certificate (two for
 * `KR_JP_GLOBAL`) to the tenant's deployment target. Domain types and the pure rules of the state
 * machine; the store keeps slots, core runs the use-cases and the worker.
 *
 *   READY ──worker claims──► PUBLISHING ──target accepted──► RUNNING
 *     │                        ▲   │  target failed: stays PUBLISHING, retried with backoff
 *     │                        │   │
 *     │        PUT, tls ───────┘   │ (from RUNNING: republish)
 *     └──── DELETE (from READY, PUBLISHING or RUNNING) ──► DELETING ──target cleared──► DELETED
 *
 * Every user change (PUT, tls, DELETE, a replacement of the certificate) bumps `generation`;
 * the worker records what it published as `deployedGeneration` and moves a slot to its rest
 * state (RUNNING, DELETED) only when nothing changed meanwhile, so a change made while a
 * deployment runs is never lost.
 */

export const SERVICE_REGIONS = ['KR_JP', 'KR_JP_GLOBAL'] as const;
export type ServiceRegion = (typeof SERVICE_REGIONS)[number];

/** Region of one certificate of a slot: KR_JP_GLOBAL slots hold one of each. */
export type ItemRegion = 'KR_JP' | 'GLOBAL';

export const TLS_VERSIONS = ['TLS_ALL_VERSIONS', 'TLS_MIN_VERSION_1_2'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

export const CIPHER_PROFILES = ['DEFAULT', 'GENERAL', 'STRICT'] as const;
export type CipherProfile = (typeof CIPHER_PROFILES)[number];

export const PROVISION_STATUSES = ['READY', 'PUBLISHING', 'RUNNING', 'DELETING', 'DELETED'] as const;
export type ProvisionStatus = (typeof PROVISION_STATUSES)[number];

/** States the worker has work in. */
export const PENDING_STATUSES: readonly ProvisionStatus[] = ['READY', 'PUBLISHING', 'DELETING'];
/** States a user may still change (PUT, tls, DELETE). */
export const LIVE_STATUSES: readonly ProvisionStatus[] = ['READY', 'PUBLISHING', 'RUNNING'];
/** States in which a slot uses its certificates (NCP `usedInstanceNoList`, delete refused). */
export const IN_USE_STATUSES: readonly ProvisionStatus[] = ['READY', 'PUBLISHING', 'RUNNING', 'DELETING'];

export interface SlotItem {
  /** Serial number given at provisioning (NCP `itemId`), never reused. */
  itemId: number;
  region: ItemRegion;
  certificateNo: number;
}

export interface SlotDeployment {
  /** Bumped by every user change; what the target should hold. */
  generation: number;
  /** The generation the target last accepted (0: never). */
  deployedGeneration: number;
  /** Failed attempts since the last success or change. */
  attempts: number;
  lastError: string | null;
  lastErrorAt: Date | null;
  /** Not retried before this instant (backoff), null: at once. */
  nextAttemptAt: Date | null;
}

export interface EdgeSlot {
  slotId: number;
  tenantId: number;
  serviceRegion: ServiceRegion;
  tlsVersion: TlsVersion;
  cipherProfile: CipherProfile;
  status: ProvisionStatus;
  items: SlotItem[];
  deployment: SlotDeployment;
  createdAt: Date;
  /** Last provisioning request: creation, or a PUT of a new certificate. */
  provisionedAt: Date;
  /** Last change of any kind, worker progress included. */
  updatedAt: Date;
  deletedAt: Date | null;
}

/**
 * The slot's main certificate, its Korea/Japan item: the one the list shows and the by-name alias
 * names. A KR_JP_GLOBAL slot's GLOBAL items are published beside it.
 */
export function primaryItem(slot: Pick<EdgeSlot, 'items'>): SlotItem | undefined {
  return slot.items.find((item) => item.region === 'KR_JP');
}

/** The status a slot takes when a user changes its certificate or TLS settings. */
export function statusAfterChange(status: ProvisionStatus): ProvisionStatus {
  return status === 'READY' ? 'READY' : 'PUBLISHING';
}

/** Delay before retry `attempts` (1 = first retry): 5 s, 10 s, 20 s, … capped at 10 minutes. */
export function retryDelayMs(attempts: number, baseMs = 5_000, maxMs = 600_000): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 30);
  return Math.min(baseMs * 2 ** exponent, maxMs);
}

/** The TLS protocol versions each setting allows, as the edge prints them (`"1.2,1.3"`). */
export const TLS_PROTOCOLS: Readonly<Record<TlsVersion, readonly string[]>> = {
  TLS_ALL_VERSIONS: ['1.0', '1.1', '1.2', '1.3'],
  TLS_MIN_VERSION_1_2: ['1.2', '1.3'],
};

/**
 * Where the slot's deployment stands, in the words every face shows (the CLI's `slot show`, the
 * console's slot pages): one copy, so the two cannot drift apart.
 */
export function onTargetText(slot: Pick<EdgeSlot, 'status' | 'deployment'>): string {
  const d = slot.deployment;
  if (slot.status === 'DELETED') return 'removed';
  if (d.deployedGeneration === d.generation) return 'up to date';
  if (d.deployedGeneration === 0) return 'not yet published';
  return 'an older version; the latest is waiting';
}
