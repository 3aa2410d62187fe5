/**
 * Notifications, the use-cases: channels and rules per tenant (CLI `certkeeper notify`, the
 * console), expiry thresholds, the test send, the delivery log and channel health; and `emit`,
 * what the rest of core calls when something happened (issuance, renewal, deployment).
 *
 * Managing channels and rules needs `certificate.write` (ADMIN); reading them, the log and the
 * health needs `certificate.read`. Secrets (a webhook's signing secret, a Slack URL, an SMTP
 * password) are sealed by the vault before they are stored; a webhook's secret is made here and
 * returned once, by `addChannel`, and never shown again; nothing else returns a secret.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../../domain/errors.ts';
import type { Actor } from '../actor.ts';
import type { AuditService } from '../audit.ts';
import { authorize } from '../policy.ts';
import type { Clock, Store } from '../ports.ts';
import { channelSecretContext, deliver, type DeliveryOutcome } from './delivery.ts';
import { enqueueEvent, type EventContext, type PayloadInput } from './events.ts';
import { DEFAULT_THRESHOLDS_DAYS, type Channel, type EventType, type Rule } from './model.ts';
import type { ChannelHealth, DeliveryAttempt, NotificationSender } from './ports.ts';
import { channelSpec, checkName, ruleSpec, thresholdsSpec, type ChannelInput, type RuleInput } from './spec.ts';

export interface NotificationSettings {
  /** Where links in notifications point (no trailing slash). */
  publicBaseUrl: string;
  /** The operator's switch: channels may reach loopback and link-local addresses. */
  allowPrivateAddresses: boolean;
  retentionMs: number;
  /** Test sends go through it at once; null: no sender wired (test sends are refused). */
  sender: NotificationSender | null;
  /** Per attempt. */
  timeoutMs: number;
}

export const DEFAULT_NOTIFICATION_SETTINGS: NotificationSettings = {
  publicBaseUrl: 'http://127.0.0.1:8080',
  allowPrivateAddresses: false,
  retentionMs: 30 * 86_400_000,
  sender: null,
  timeoutMs: 10_000,
};

export interface ChannelView extends Channel {
  health: Omit<ChannelHealth, 'channelId'>;
}

export interface TestSendResult {
  deliveryId: number;
  outcome: DeliveryOutcome;
}

export interface NotificationService {
  addChannel(actor: Actor, input: ChannelInput): Promise<{ channel: Channel; secret: string | null }>;
  listChannels(actor: Actor): Promise<ChannelView[]>;
  removeChannel(actor: Actor, name: string): Promise<void>;
  addRule(actor: Actor, input: RuleInput): Promise<Rule>;
  listRules(actor: Actor): Promise<Rule[]>;
  removeRule(actor: Actor, name: string): Promise<void>;
  thresholds(actor: Actor): Promise<{ days: number[]; custom: boolean }>;
  /** Null restores the defaults. */
  setThresholds(actor: Actor, days: unknown): Promise<number[]>;
  /** Delivers a sample event on the channel now and says how it went (also in the delivery log). */
  test(actor: Actor, channelName: string): Promise<TestSendResult>;
  log(actor: Actor, options?: { limit?: number; beforeId?: number; channel?: string }): Promise<DeliveryAttempt[]>;
  /**
   * Something happened: queue `type` for every channel a rule of the tenant picks. `subjectKey`
   * names what it happened to and when (e.g. `edge-slot:7:3` for slot 7's generation 3), so the
   * same event emitted twice (a retry, another process) is sent once. Never throws for
   * notification trouble: the caller's work must not fail because a notice could not be queued.
   */
  emit(tenantId: number, subjectKey: string, input: PayloadInput): Promise<void>;
  /** Subscribes to "a delivery was queued" (the worker wakes); returns the unsubscribe. */
  onQueued(listener: () => void): () => void;
}

export function createNotificationService(
  store: Store,
  clock: Clock,
  audit: AuditService,
  settings: NotificationSettings,
): NotificationService {
  const context: EventContext = {
    store,
    clock,
    publicBaseUrl: settings.publicBaseUrl,
    retentionMs: settings.retentionMs,
  };
  const listeners = new Set<() => void>();
  const queued = () => listeners.forEach((listener) => listener());
  const target = (actor: Actor) => `tenant:${actor.tenantId}`;

  async function channelByName(actor: Actor, name: string) {
    const stored = await store.notifications.getChannelByName(actor.tenantId, checkName(name, 'channel'));
    if (!stored) throw new AppError('not_found', `There is no channel named ${name}.`, { field: 'channel' });
    return stored;
  }

  return {
    async addChannel(actor, input) {
      authorize(actor, 'certificate.write');
      return audit.around(actor, 'notify.channel.add', target(actor), async () => {
        const spec = channelSpec(input, { allowPrivateAddresses: settings.allowPrivateAddresses });
        const sealed = await store.vault.seal(
          Buffer.from(JSON.stringify(spec.secrets), 'utf8'),
          channelSecretContext(actor.tenantId, spec.name),
        );
        const channel = await store.notifications.createChannel(
          actor.tenantId,
          spec.name,
          spec.config,
          sealed,
          clock.now(),
        );
        return { channel, secret: spec.secrets.kind === 'webhook' ? spec.secrets.secret : null };
      });
    },

    async listChannels(actor) {
      authorize(actor, 'certificate.read');
      const [channels, health] = await Promise.all([
        store.notifications.listChannels(actor.tenantId),
        store.notifications.channelHealth(actor.tenantId),
      ]);
      const byId = new Map(health.map((h) => [h.channelId, h]));
      return channels.map((channel) => {
        const h = byId.get(channel.id);
        return {
          ...channel,
          health: {
            lastAttemptAt: h?.lastAttemptAt ?? null,
            lastOutcome: h?.lastOutcome ?? null,
            failuresInARow: h?.failuresInARow ?? 0,
            pending: h?.pending ?? 0,
          },
        };
      });
    },

    async removeChannel(actor, name) {
      authorize(actor, 'certificate.write');
      await audit.around(actor, 'notify.channel.remove', target(actor), async () => {
        const stored = await channelByName(actor, name);
        await store.notifications.removeChannel(actor.tenantId, stored.channel.id);
      });
    },

    async addRule(actor, input) {
      authorize(actor, 'certificate.write');
      return audit.around(actor, 'notify.rule.add', target(actor), async () => {
        const spec = ruleSpec(input);
        const channels = await store.notifications.listChannels(actor.tenantId);
        const channelIds = spec.channels.map((name) => {
          const channel = channels.find((c) => c.name === name);
          if (!channel)
            throw new AppError('invalid_argument', `There is no channel named ${name}.`, { field: 'channels' });
          return channel.id;
        });
        return store.notifications.createRule(
          actor.tenantId,
          { name: spec.name, events: spec.events, certificatePattern: spec.certificatePattern, channelIds },
          clock.now(),
        );
      });
    },

    async listRules(actor) {
      authorize(actor, 'certificate.read');
      return store.notifications.listRules(actor.tenantId);
    },

    async removeRule(actor, name) {
      authorize(actor, 'certificate.write');
      await audit.around(actor, 'notify.rule.remove', target(actor), async () => {
        if (!(await store.notifications.removeRule(actor.tenantId, checkName(name, 'rule'))))
          throw new AppError('not_found', `There is no rule named ${name}.`, { field: 'rule' });
      });
    },

    async thresholds(actor) {
      authorize(actor, 'certificate.read');
      const days = await store.notifications.getThresholds(actor.tenantId);
      return { days: days ?? [...DEFAULT_THRESHOLDS_DAYS], custom: days !== null };
    },

    async setThresholds(actor, days) {
      authorize(actor, 'certificate.write');
      return audit.around(actor, 'notify.thresholds.set', target(actor), async () => {
        const checked = days === null ? null : thresholdsSpec(days);
        await store.notifications.setThresholds(actor.tenantId, checked, clock.now());
        return checked ?? [...DEFAULT_THRESHOLDS_DAYS];
      });
    },

    async test(actor, channelName) {
      authorize(actor, 'certificate.write');
      const stored = await channelByName(actor, channelName);
      if (!settings.sender) throw new AppError('unavailable', 'No notification sender is running in this process.');
      const now = clock.now();
      const [deliveryId] = await enqueueEvent(
        context,
        actor.tenantId,
        `test:${randomBytes(8).toString('hex')}`,
        {
          type: 'certificate.expiring',
          test: true,
          certificate: {
            certificateNo: 0,
            name: 'certkeeper-test',
            domains: ['test.example'],
            notAfter: new Date(now.getTime() + 7 * 86_400_000).toISOString(),
            daysLeft: 7,
            fingerprintSha256: '0'.repeat(64),
          },
          thresholdDays: 7,
          summary: `Test notification from certkeeper for channel ${stored.channel.name}: delivery works.`,
        },
        { channelIds: [stored.channel.id] },
      );
      const outcome = await deliver(
        {
          store,
          clock,
          sender: settings.sender,
          workerId: `test-send:${actor.id}`,
          leaseMs: settings.timeoutMs * 2,
          timeoutMs: settings.timeoutMs,
          signal: new AbortController().signal,
        },
        deliveryId!,
      );
      await audit.record(
        actor,
        'notify.test',
        `notify-channel:${stored.channel.name}`,
        outcome.kind === 'sent' ? 'success' : 'failure',
        {
          deliveryId: deliveryId!,
        },
      );
      // A failed test send stays queued for the worker's retries, like any delivery.
      if (outcome.kind === 'failed' && outcome.nextAttemptAt) queued();
      return { deliveryId: deliveryId!, outcome };
    },

    async log(actor, options = {}) {
      authorize(actor, 'certificate.read');
      const channelId = options.channel ? (await channelByName(actor, options.channel)).channel.id : undefined;
      return store.notifications.listAttempts(actor.tenantId, {
        limit: Math.min(Math.max(options.limit ?? 50, 1), 500),
        ...(options.beforeId === undefined ? {} : { beforeId: options.beforeId }),
        ...(channelId === undefined ? {} : { channelId }),
      });
    },

    async emit(tenantId, subjectKey, input) {
      try {
        const ids = await enqueueEvent(context, tenantId, `${input.type satisfies EventType}:${subjectKey}`, input);
        if (ids.length > 0) queued();
      } catch {
        // Best effort by contract (see the interface); the store's own errors surface elsewhere.
      }
    },

    onQueued(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
