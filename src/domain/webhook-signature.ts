/**
 * How certkeeper signs what it POSTs to a receiver (deploy webhooks, notification webhooks), so
 * the receiver knows it comes from certkeeper and is fresh. One rule for every sender:
 *
 *   x-certkeeper-timestamp:  milliseconds since the epoch (certkeeper's clock)
 *   x-certkeeper-signature:  v1=<hex HMAC-SHA256(key = secret (UTF-8), data = timestamp + "." + body)>
 *   x-certkeeper-event:      what happened (e.g. slot.publish, certificate.expiring)
 *   x-certkeeper-delivery:   an id that stays the same on every retry of one delivery
 *
 * docs/compat/edge.md and docs/notifications.md show how to verify it.
 */
import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-certkeeper-signature';
export const TIMESTAMP_HEADER = 'x-certkeeper-timestamp';
export const EVENT_HEADER = 'x-certkeeper-event';
export const DELIVERY_HEADER = 'x-certkeeper-delivery';

/** `v1=<hex>` over `timestamp + "." + body`. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}
