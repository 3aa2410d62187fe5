/**
 * Migration 0010 (notifications, issue 18): channels, rules and thresholds per tenant, the expiry
 * schedule, the delivery outbox and the delivery log (repositories/notifications.ts; core side in
 * core/notifications/, docs/notifications.md). Named for what it adds: other branches add
 * migrations at the same time, so the number may change at merge; the name must not.
 *
 * - `notify_channels`: a tenant's delivery channels (webhook, slack, email). `config` is the JSON
 *   of the settings that may be shown; the secrets (webhook signing secret, Slack URL, SMTP
 *   password) are one JSON document sealed by the vault with AAD
 *   `notify-channel:<tenant_id>:<name>` (`secret_*`), never stored in clear.
 * - `notify_rules`: which events (JSON array) of which certificates (an optional name or domain
 *   pattern) go to which channels (JSON array of channel ids).
 * - `notify_settings`: per tenant, the expiry thresholds in days (JSON array) and the scan's
 *   cursor `scanned_until` (the instant up to which certificates entering the notice horizon and
 *   certificate changes were read; null: not yet scanned).
 * - `notify_schedule`: one row per certificate of a tenant inside the notice horizon: when its
 *   next expiry notice is due (`due_at`, index `notify_schedule_due`) and for which version
 *   (`fingerprint`). The scan adds rows as certificates enter the horizon; the due pass turns a
 *   due row into deliveries and moves `due_at` to the next threshold (or deletes the row after
 *   the `certificate.expired` notice).
 * - `notify_deliveries`: the outbox. One row per (channel, event key); the unique key
 *   `notify_deliveries_key` is what makes each (certificate version, event, threshold) go once
 *   per channel, whichever process writes it first. Delivery state: `status` (pending, sent,
 *   failed), `attempts`, `next_attempt_at`, the last outcome, and the claim (`claimed_by`,
 *   `lease_until`), taken with one conditional UPDATE like the edge slots' (migration 0004).
 * - `notify_attempts`: the delivery log, one row per attempt with its outcome, HTTP status or
 *   error, and the next retry; pruned after the configured retention.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

export function notificationsSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('notify_channels')
        .addColumn('id', d.idType, (c) => d.autoId(c))
        .addColumn('tenant_id', d.idType, (c) => c.notNull().references('tenants.id'))
        .addColumn('name', d.sortableTextType, (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('secret_data_key_id', d.idType, (c) => c.references('data_keys.id'))
        .addColumn('secret_blob', d.binaryType)
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('notify_channels_tenant_name', ['tenant_id', 'name'])
        .execute();

      await db.schema
        .createTable('notify_rules')
        .addColumn('id', d.idType, (c) => d.autoId(c))
        .addColumn('tenant_id', d.idType, (c) => c.notNull().references('tenants.id'))
        .addColumn('name', d.sortableTextType, (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('certificate_pattern', 'text')
        .addColumn('channel_ids', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('notify_rules_tenant_name', ['tenant_id', 'name'])
        .execute();

      await db.schema
        .createTable('notify_settings')
        .addColumn('tenant_id', d.idType, (c) => c.primaryKey().references('tenants.id'))
        .addColumn('thresholds', 'text')
        .addColumn('scanned_until', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('notify_schedule')
        .addColumn('tenant_id', d.idType, (c) => c.notNull())
        .addColumn('certificate_no', d.idType, (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('due_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('notify_schedule_pkey', ['tenant_id', 'certificate_no'])
        .execute();
      await db.schema.createIndex('notify_schedule_due').on('notify_schedule').columns(['due_at']).execute();

      await db.schema
        .createTable('notify_deliveries')
        .addColumn('id', d.idType, (c) => d.autoId(c))
        .addColumn('tenant_id', d.idType, (c) => c.notNull())
        .addColumn('channel_id', d.idType, (c) => c.notNull())
        .addColumn('event_key', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('last_status_code', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('claimed_by', 'text')
        .addColumn('lease_until', 'bigint')
        /** Until when the row must be kept as the proof that its event went (see the repository's prune). */
        .addColumn('keep_until', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('notify_deliveries_key', ['channel_id', 'event_key'])
        .execute();
      // The worker's scan: pending deliveries by the time they are due.
      await db.schema
        .createIndex('notify_deliveries_due')
        .on('notify_deliveries')
        .columns(['next_attempt_at', 'id'])
        .where(sql<boolean>`status = 'pending'`)
        .execute();
      // Channel health and metrics: a channel's deliveries, newest first.
      await db.schema
        .createIndex('notify_deliveries_channel')
        .on('notify_deliveries')
        .columns(['channel_id', 'id'])
        .execute();
      await db.schema.createIndex('notify_deliveries_keep').on('notify_deliveries').columns(['keep_until']).execute();

      await db.schema
        .createTable('notify_attempts')
        .addColumn('id', d.idType, (c) => d.autoId(c))
        .addColumn('tenant_id', d.idType, (c) => c.notNull())
        .addColumn('delivery_id', d.idType, (c) => c.notNull())
        .addColumn('channel_id', d.idType, (c) => c.notNull())
        .addColumn('channel_name', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('event_key', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('error', 'text')
        .addColumn('next_attempt_at', 'bigint')
        .addColumn('at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('notify_attempts_tenant')
        .on('notify_attempts')
        .columns(['tenant_id', 'id'])
        .execute();
      await db.schema.createIndex('notify_attempts_at').on('notify_attempts').columns(['at']).execute();
      // Channel health (last attempt, failures since the last success) and the log by channel.
      await db.schema
        .createIndex('notify_attempts_channel')
        .on('notify_attempts')
        .columns(['channel_id', 'id'])
        .execute();
    },

    async down(db: Kysely<unknown>) {
      for (const table of [
        'notify_attempts',
        'notify_deliveries',
        'notify_schedule',
        'notify_settings',
        'notify_rules',
        'notify_channels',
      ])
        await db.schema.dropTable(table).execute();
    },
  };
}
