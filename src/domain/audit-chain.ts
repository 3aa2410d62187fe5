/**
 * The audit log's hash chain: the one definition of what an event's hash covers.
 *
 * Each audit event carries `prevHash`, the hash of the event before it in the same chain, and
 * `hash` = SHA-256 over `prevHash` and the event's stored fields. There is one chain per tenant
 * and one for events without a tenant (the operator's and the system's). Altering a stored field
 * changes the event's hash; removing an event or swapping two breaks the next event's `prevHash`;
 * cutting events off the end leaves the chain's head (kept beside the chain, and printed by
 * `certkeeper audit verify` so an operator can keep it elsewhere) pointing at a hash no event has.
 *
 * The hash is over the values exactly as stored (the `detail` JSON text, `at` in epoch
 * milliseconds, NUL already replaced), so the writer and the verifier hash the same bytes on
 * both stores. The encoding is a JSON array: unambiguous, with no field able to run into the
 * next. Changing it breaks every existing chain, so it carries a version tag.
 */
import { createHash } from 'node:crypto';

/** The fields an event's hash covers, as stored. */
export interface ChainedFields {
  tenantId: number | null;
  actor: string;
  action: string;
  target: string;
  result: string;
  remoteAddress: string | null;
  /** The stored JSON text of the event's detail. */
  detailJson: string;
  /** Epoch milliseconds. */
  atMs: number;
}

const ENCODING = 'certkeeper-audit-v1';

/** Hex SHA-256, as `prevHash` and `hash` are stored. */
export type ChainHash = string;

/** A chain's name where one is stored (`audit_chain_heads.chain_key`): the tenant id, or `system`. */
export function chainKey(tenantId: number | null): string {
  return tenantId === null ? 'system' : String(tenantId);
}

/** The `prevHash` of a chain's first event: fixed, and different per chain. */
export function genesisHash(tenantId: number | null): ChainHash {
  return createHash('sha256')
    .update(JSON.stringify([ENCODING, 'genesis', tenantId]))
    .digest('hex');
}

export function chainHash(prevHash: ChainHash, event: ChainedFields): ChainHash {
  return createHash('sha256')
    .update(
      JSON.stringify([
        ENCODING,
        prevHash,
        event.tenantId,
        event.actor,
        event.action,
        event.target,
        event.result,
        event.remoteAddress,
        event.detailJson,
        event.atMs,
      ]),
    )
    .digest('hex');
}

/** One stored event as the verifier reads it. */
export interface StoredChainEvent extends ChainedFields {
  id: number;
  prevHash: ChainHash;
  hash: ChainHash;
}

export type ChainBreak =
  /** The event's stored fields or its hash were changed. */
  | { kind: 'altered'; eventId: number }
  /** The event does not follow the one before it: an event was removed, inserted or reordered. */
  | { kind: 'broken_link'; eventId: number; afterEventId: number | null }
  /** The chain's recorded head is not its last event: events were removed from the end. */
  | { kind: 'truncated'; lastEventId: number | null }
  /** The chain has events but no recorded head: the head was removed. */
  | { kind: 'head_missing'; lastEventId: number | null };

/**
 * Walks one chain in id order. Feed events with `next`, then `end` with the chain's recorded head;
 * the first break found is kept (everything after a break is unverifiable, so one is enough).
 */
export class ChainVerifier {
  private expectedPrev: ChainHash;
  private lastId: number | null = null;
  private checked = 0;
  private found: ChainBreak | null = null;

  constructor(tenantId: number | null) {
    this.expectedPrev = genesisHash(tenantId);
  }

  get events(): number {
    return this.checked;
  }

  get firstBreak(): ChainBreak | null {
    return this.found;
  }

  /** False once a break is found: the caller can stop reading. */
  next(event: StoredChainEvent): boolean {
    if (this.found) return false;
    this.checked += 1;
    if (event.prevHash !== this.expectedPrev) {
      this.found = { kind: 'broken_link', eventId: event.id, afterEventId: this.lastId };
      return false;
    }
    if (chainHash(event.prevHash, event) !== event.hash) {
      this.found = { kind: 'altered', eventId: event.id };
      return false;
    }
    this.expectedPrev = event.hash;
    this.lastId = event.id;
    return true;
  }

  /** `headHash`: the chain head the store recorded (null when it has none). */
  end(headHash: ChainHash | null): ChainBreak | null {
    if (this.found) return this.found;
    if (headHash === null) {
      if (this.checked > 0) this.found = { kind: 'head_missing', lastEventId: this.lastId };
    } else if (headHash !== this.expectedPrev) {
      this.found = { kind: 'truncated', lastEventId: this.lastId };
    }
    return this.found;
  }

  /** The hash of the last event verified: the value an operator records to detect truncation later. */
  get head(): ChainHash {
    return this.expectedPrev;
  }
}
