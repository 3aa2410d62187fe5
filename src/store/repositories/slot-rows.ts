/**
 * Row types of migration 0004 (edge slots, their items, deployment targets) and their mapping to
 * domain records. Kept here rather than in schema.ts: repositories/slots.ts and targets.ts see
 * them through `db.withTables<SlotTables>()`.
 */
import type { Generated, Selectable } from 'kysely';
import type { DeployTarget, DeployTargetSpec } from '../../domain/deploy-target.ts';
import type {
  CipherProfile,
  EdgeSlot,
  ItemRegion,
  ProvisionStatus,
  ServiceRegion,
  SlotItem,
  TlsVersion,
} from '../../domain/edge-slot.ts';

export interface EdgeSlotRow {
  slot_id: Generated<number>;
  tenant_id: number;
  service_region: string;
  tls_version: string;
  cipher_profile: string;
  status: string;
  generation: number;
  deployed_generation: number;
  attempts: number;
  last_error: string | null;
  last_error_at: number | null;
  next_attempt_at: number | null;
  claimed_by: string | null;
  lease_until: number | null;
  created_at: number;
  provisioned_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface EdgeSlotItemRow {
  item_id: Generated<number>;
  slot_id: number;
  tenant_id: number;
  region: string;
  certificate_no: number;
  deployed_fingerprint: string | null;
}

export interface DeployTargetRow {
  tenant_id: number;
  kind: string;
  /** JSON of the DeployTargetSpec. */
  config: string;
  secret_data_key_id: number | null;
  secret_blob: Buffer | null;
  created_at: number;
  updated_at: number;
  /** The worker's last publish or removal to this target (migration 0020); all null when none yet. */
  last_deployment_slot_id: number | null;
  last_deployment_action: string | null;
  last_deployment_result: string | null;
  last_deployment_at: number | null;
}

/** Listed (not DELETED) slots of a tenant (migration 0006). */
export interface EdgeSlotCountRow {
  tenant_id: number;
  listed: number;
}

// A type alias, not an interface: `withTables` needs an index-signature-compatible type.
export type SlotTables = {
  edge_slots: EdgeSlotRow;
  edge_slot_counts: EdgeSlotCountRow;
  edge_slot_items: EdgeSlotItemRow;
  deploy_targets: DeployTargetRow;
};

const date = (value: number): Date => new Date(Number(value));
const maybeDate = (value: number | null): Date | null => (value === null ? null : date(value));

export function itemFromRow(row: Selectable<EdgeSlotItemRow>): SlotItem {
  return { itemId: Number(row.item_id), region: row.region as ItemRegion, certificateNo: Number(row.certificate_no) };
}

export function slotFromRow(row: Selectable<EdgeSlotRow>, items: ReadonlyArray<Selectable<EdgeSlotItemRow>>): EdgeSlot {
  return {
    slotId: Number(row.slot_id),
    tenantId: Number(row.tenant_id),
    serviceRegion: row.service_region as ServiceRegion,
    tlsVersion: row.tls_version as TlsVersion,
    cipherProfile: row.cipher_profile as CipherProfile,
    status: row.status as ProvisionStatus,
    // KR_JP first, then GLOBAL.
    items: items
      .map(itemFromRow)
      .sort((a, b) => (a.region === b.region ? a.itemId - b.itemId : a.region === 'KR_JP' ? -1 : 1)),
    deployment: {
      generation: Number(row.generation),
      deployedGeneration: Number(row.deployed_generation),
      attempts: Number(row.attempts),
      lastError: row.last_error,
      lastErrorAt: maybeDate(row.last_error_at),
      nextAttemptAt: maybeDate(row.next_attempt_at),
    },
    createdAt: date(row.created_at),
    provisionedAt: date(row.provisioned_at),
    updatedAt: date(row.updated_at),
    deletedAt: maybeDate(row.deleted_at),
  };
}

export function targetFromRow(row: Selectable<DeployTargetRow>): DeployTarget {
  return {
    tenantId: Number(row.tenant_id),
    spec: JSON.parse(row.config) as DeployTargetSpec,
    hasSecret: row.secret_blob !== null,
    createdAt: date(row.created_at),
    updatedAt: date(row.updated_at),
  };
}
