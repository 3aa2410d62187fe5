/**
 * The notification senders: core's NotificationSender port (core/notifications/ports.ts) over
 * webhooks, Slack-compatible incoming webhooks and SMTP. An I/O adapter like store/ and dns/: it
 * imports core and domain only (eslint.config.js), and the composition root (src/app/) hands it
 * to core.
 *
 * - webhook: the event payload as the JSON body, signed exactly like the deploy webhook
 *   (domain/webhook-signature.ts `webhookSignature`: `x-certkeeper-signature: v1=<hex HMAC-SHA256 over
 *   timestamp + "." + body>` with `x-certkeeper-timestamp`), plus `x-certkeeper-event` and
 *   `x-certkeeper-delivery` (the outbox row id, the same on every retry of a delivery).
 * - slack: `{"text": …}`, which Slack, Mattermost and Rocket.Chat incoming webhooks all take.
 * - email: SMTP (smtp.ts), a plain-text and an HTML part.
 */
import {
  DELIVERY_HEADER,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  webhookSignature,
} from '../domain/webhook-signature.ts';
import type { Clock } from '../core/ports.ts';
import type { NotificationSender } from '../core/notifications/ports.ts';
import { postJson } from './http.ts';
import { textOf } from './render.ts';
import { sendMail } from './smtp.ts';

export interface SenderOptions {
  clock: Clock;
  /** The operator's switch (CERTKEEPER_NOTIFY_ALLOW_PRIVATE): loopback and link-local addresses allowed. */
  allowPrivateAddresses: boolean;
  /** Extra trusted CA certificates (PEM) for HTTPS and SMTP TLS; the system's are always trusted. Tests use it. */
  ca?: string[];
}

export function createNotificationSender(options: SenderOptions): NotificationSender {
  const allowPrivate = options.allowPrivateAddresses;
  const ca = options.ca ? { ca: options.ca } : {};
  return {
    async send(channel, notification, { signal, timeoutMs }) {
      const { config, secrets } = channel;
      if (config.kind === 'webhook' && secrets.kind === 'webhook') {
        const body = JSON.stringify(notification.payload);
        const timestamp = String(options.clock.now().getTime());
        return postJson(
          config.url,
          body,
          {
            'user-agent': 'certkeeper-notify',
            [EVENT_HEADER]: notification.payload.type,
            [DELIVERY_HEADER]: notification.deliveryId,
            [TIMESTAMP_HEADER]: timestamp,
            [SIGNATURE_HEADER]: webhookSignature(secrets.secret, timestamp, body),
          },
          { signal, timeoutMs, allowPrivate, shownAs: `The webhook ${config.url}`, ...ca },
        );
      }
      if (config.kind === 'slack' && secrets.kind === 'slack') {
        return postJson(
          secrets.url,
          JSON.stringify({ text: textOf(notification.payload) }),
          { 'user-agent': 'certkeeper-notify' },
          { signal, timeoutMs, allowPrivate, shownAs: `The Slack webhook at ${config.host}`, ...ca },
        );
      }
      if (config.kind === 'email' && secrets.kind === 'email') {
        return sendMail(config, secrets, notification, { signal, timeoutMs, allowPrivate, ...ca });
      }
      throw new Error(`Channel kind ${config.kind} does not match its secrets.`);
    },
  };
}
