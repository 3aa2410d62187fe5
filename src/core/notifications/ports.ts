/**
 * The ports of notifications: what core needs from the store (NotificationRepository, on
 * `Store.notifications`) and from the senders (NotificationSender, implemented by src/notifiers/).
 * Same failure contract as core/ports.ts: unique violations are `AppError('already_exists')`,
 * missing rows are null.
 */
import type { SealedSecret } from '../ports.ts';
import type { Channel, ChannelConfig, ChannelSecrets, EventPayload, EventType, Rule } from './model.ts';

export interface StoredChannel {
  channel: Channel;
  /** ChannelSecrets as JSON, sealed with context `notify-channel:<tenantId>:<name>`. */
  sealedSecrets: SealedSecret;
}

export interface NewRule {
  name: string;
  events: EventType[];
  certificatePattern: string | null;
  channelIds: number[];
}

export type DeliveryStatus = 'pending' | 'sent' | 'failed';

/** One outbox row. */
export interface Delivery {
  id: number;
  tenantId: number;
  channelId: number;
  eventKey: string;
  event: EventType;
  payload: EventPayload;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewDelivery {
  channelId: number;
  eventKey: string;
  payload: EventPayload;
  /** The row is kept (as proof that the event went) at least until then. */
  keepUntil: Date;
}

/** One line of the delivery log. */
export interface DeliveryAttempt {
  id: number;
  deliveryId: number;
  channelId: number;
  channelName: string;
  event: EventType;
  eventKey: string;
  outcome: 'sent' | 'failed';
  statusCode: number | null;
  error: string | null;
  /** When the next attempt is due; null when there is none (sent, or given up). */
  nextAttemptAt: Date | null;
  at: Date;
}

export interface AttemptRecord {
  outcome: 'sent' | 'failed';
  statusCode: number | null;
  error: string | null;
  /** failed: when to try again, or null to give up (status `failed`). */
  nextAttemptAt: Date | null;
  channelName: string;
}

export interface ScheduleEntry {
  tenantId: number;
  certificateNo: number;
  fingerprint: string;
  dueAt: Date;
}

/** The certificate of a due schedule row as the notice needs it (columns and facts, no PEM). */
export interface NoticeCertificate {
  name: string;
  domains: string[];
  notBefore: number;
  notAfter: number;
  fingerprint: string;
}

export interface DueEntry extends ScheduleEntry {
  /** The live certificate of that number now (another version than `fingerprint` if replaced); null: deleted. */
  certificate: NoticeCertificate | null;
}

/** A tenant the expiry pass looks at. */
export interface ExpiryTenant {
  tenantId: number;
  tenantName: string;
  /** Null: the defaults apply. */
  thresholds: number[] | null;
  /** The scan cursor: null before the tenant's first pass. */
  scannedUntil: Date | null;
  /** Every rule of the tenant (the pass matches them against each certificate). */
  rules: Rule[];
}

/** A certificate as the expiry scan reads it (index columns only, no PEM). */
export interface ScanCertificate {
  certificateNo: number;
  fingerprint: string;
  notBefore: number;
  notAfter: number;
  deleted: boolean;
}

export interface ChannelHealth {
  channelId: number;
  lastAttemptAt: Date | null;
  lastOutcome: 'sent' | 'failed' | null;
  /** Failed attempts since the last success. */
  failuresInARow: number;
  pending: number;
}

export interface NotificationRepository {
  // Channels and rules (the service validates; these write).
  createChannel(
    tenantId: number,
    name: string,
    config: ChannelConfig,
    sealedSecrets: SealedSecret,
    at: Date,
  ): Promise<Channel>;
  listChannels(tenantId: number): Promise<Channel[]>;
  getChannel(tenantId: number, channelId: number): Promise<StoredChannel | null>;
  getChannelByName(tenantId: number, name: string): Promise<StoredChannel | null>;
  /** Removes the channel, its pending deliveries, and its id from every rule, in one transaction. */
  removeChannel(tenantId: number, channelId: number): Promise<boolean>;
  createRule(tenantId: number, rule: NewRule, at: Date): Promise<Rule>;
  listRules(tenantId: number): Promise<Rule[]>;
  removeRule(tenantId: number, name: string): Promise<boolean>;

  /** Null: the defaults apply. */
  getThresholds(tenantId: number): Promise<number[] | null>;
  /** Sets the thresholds, drops the tenant's schedule and resets its scan cursor (due times change). */
  setThresholds(tenantId: number, thresholds: number[] | null, at: Date): Promise<void>;

  // The expiry scan (core/notifications/expiry.ts). Each step is one statement where the dialect
  // allows, so a pass costs a handful of round trips whatever the number of certificates or due rows.
  /** Every tenant with a rule for certificate.expiring or certificate.expired, with what its pass needs: one read. */
  expiryTenants(): Promise<ExpiryTenant[]>;
  /** Moves the cursor from `from` to `to`; false when another process moved it first. */
  advanceScanCursor(tenantId: number, from: Date | null, to: Date, at: Date): Promise<boolean>;
  /**
   * Steps 1–2 of the scan in one read: live certificates with notAfter in (expiring.after,
   * expiring.upTo] (one range of the (tenant_id, not_after) index), and certificates, deleted
   * ones too, with updatedAt in [changed.from, changed.to) (one range of the (tenant_id,
   * updated_at) index); `changed` null: that range is not read.
   */
  scanCertificates(
    tenantId: number,
    expiring: { after: number; upTo: number },
    changed: { from: number; to: number } | null,
  ): Promise<{ expiring: ScanCertificate[]; changed: ScanCertificate[] }>;
  /**
   * What a scan found, written together: drops the schedule rows of `unschedule`, adds the rows of
   * `schedule` due at `dueAt` (or, when the fingerprint differs, replaces them) and moves the
   * cursor as `advanceScanCursor`. The schedule writes are idempotent, so they stand even when
   * another process moved the cursor first; returns whether this call moved it.
   */
  recordScan(
    tenantId: number,
    found: {
      unschedule: readonly number[];
      schedule: ReadonlyArray<{ certificateNo: number; fingerprint: string }>;
      dueAt: Date;
    },
    cursor: { from: Date | null; to: Date },
    at: Date,
  ): Promise<boolean>;
  /**
   * Rows with dueAt <= now, soonest first, each with its certificate as it stands now (null: deleted
   * or gone): one read.
   */
  dueSchedule(now: Date, limit: number): Promise<DueEntry[]>;
  /** Moves a row's due time (null: deletes it), only if it is still the version and due time read. */
  reschedule(entry: ScheduleEntry, nextDueAt: Date | null): Promise<void>;
  /**
   * Settles due rows: for each, queues its deliveries (as `enqueue`) and moves or deletes the row
   * (as `reschedule`). PostgreSQL: one statement (one round trip, one commit, atomic); SQLite:
   * statements of their own (a commit there is no fsync, and a transaction would hold the one
   * connection across awaits). Returns how many deliveries were inserted.
   */
  settleSchedule(
    items: ReadonlyArray<{
      tenantId: number;
      entry: ScheduleEntry;
      deliveries: readonly NewDelivery[];
      nextDueAt: Date | null;
    }>,
    at: Date,
  ): Promise<number>;

  // The outbox.
  /** Inserts the deliveries whose (channel, event key) is new; the ids of those inserted. */
  enqueue(tenantId: number, deliveries: readonly NewDelivery[], at: Date): Promise<number[]>;
  /** Pending deliveries due at `now` and not held by a live lease, by due time. */
  dueDeliveries(now: Date, limit: number): Promise<number[]>;
  /** Takes the delivery if it is still due and free: one conditional UPDATE. */
  claimDelivery(id: number, workerId: string, now: Date, leaseUntil: Date): Promise<Delivery | null>;
  /** Records an attempt and its outcome under the worker's claim, releasing it; false when the claim was lost. */
  completeDelivery(id: number, workerId: string, attempt: AttemptRecord, at: Date): Promise<boolean>;
  releaseDelivery(id: number, workerId: string): Promise<void>;
  getDelivery(tenantId: number, id: number): Promise<Delivery | null>;
  /** The delivery log, newest first; keyset paging. */
  listAttempts(
    tenantId: number,
    options: { limit: number; beforeId?: number; channelId?: number },
  ): Promise<DeliveryAttempt[]>;
  channelHealth(tenantId: number): Promise<ChannelHealth[]>;
  /** Deliveries by status over every tenant, for /metrics. */
  countDeliveries(): Promise<Record<DeliveryStatus, number>>;
  /** Deletes log lines older than `before`, and finished deliveries whose keep time passed; how many. */
  prune(before: Date, now: Date): Promise<number>;
}

/** A delivery that did not go: what the log says about it. */
export class DeliveryError extends Error {
  readonly statusCode: number | null;
  constructor(message: string, statusCode: number | null = null, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeliveryError';
    this.statusCode = statusCode;
  }
}

/** What a sender reports for a delivery that went. */
export interface SendOutcome {
  statusCode: number | null;
}

export interface OutgoingNotification {
  /** The outbox row's event key + channel: the same on every retry (receivers may de-duplicate on it). */
  deliveryId: string;
  payload: EventPayload;
}

/**
 * Sends one notification on one channel, or throws DeliveryError (whose message goes to the
 * delivery log, so it names the failure without quoting secrets). Must give up after `timeoutMs`
 * and when `signal` aborts.
 */
export interface NotificationSender {
  send(
    channel: { config: ChannelConfig; secrets: ChannelSecrets },
    notification: OutgoingNotification,
    options: { signal: AbortSignal; timeoutMs: number },
  ): Promise<SendOutcome>;
}
