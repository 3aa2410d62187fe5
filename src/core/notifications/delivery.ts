/**
 * Delivering one outbox row: claim it (one conditional UPDATE; a lease, so a crashed process's
 * claim expires and another process retries), open the channel's secrets, send with a timeout,
 * and record the attempt in the delivery log with the row's new state, all under the claim.
 *
 * Retries: exponential backoff from 10 s, doubling, capped at 1 h, for 12 attempts in all
 * (about 5 hours); after that the row is `failed` and the log says so. A delivery whose channel
 * was removed meanwhile is dropped with the channel (removeChannel deletes its pending rows).
 */
import type { Clock, Store } from '../ports.ts';
import type { ChannelSecrets } from './model.ts';
import { DeliveryError, type Delivery, type NotificationSender } from './ports.ts';

export const MAX_ATTEMPTS = 12;
const FIRST_RETRY_MS = 10_000;
const MAX_RETRY_MS = 3_600_000;

/** Pause after the `attempts`-th failed attempt (1-based). */
export const retryDelayMs = (attempts: number): number =>
  Math.min(FIRST_RETRY_MS * 2 ** Math.max(attempts - 1, 0), MAX_RETRY_MS);

export const channelSecretContext = (tenantId: number, channelName: string): string =>
  `notify-channel:${tenantId}:${channelName}`;

export interface DeliveryDeps {
  store: Store;
  clock: Clock;
  sender: NotificationSender;
  workerId: string;
  leaseMs: number;
  /** Per attempt; a slower channel is cut off and the attempt counts as failed. */
  timeoutMs: number;
  signal: AbortSignal;
}

export type DeliveryOutcome =
  | { kind: 'sent'; statusCode: number | null }
  | { kind: 'failed'; statusCode: number | null; error: string; nextAttemptAt: Date | null }
  /** Not claimed (another worker has it, or it is no longer due), or released on shutdown. */
  | { kind: 'skipped' };

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export async function deliver(deps: DeliveryDeps, deliveryId: number): Promise<DeliveryOutcome> {
  const { store, clock, workerId } = deps;
  const claimedAt = clock.now();
  const delivery = await store.notifications.claimDelivery(
    deliveryId,
    workerId,
    claimedAt,
    new Date(claimedAt.getTime() + deps.leaseMs),
  );
  if (!delivery) return { kind: 'skipped' };
  return deliverClaimed(deps, delivery, claimedAt.getTime() + deps.leaseMs);
}

async function deliverClaimed(deps: DeliveryDeps, delivery: Delivery, leaseEnd: number): Promise<DeliveryOutcome> {
  const { store, clock, workerId } = deps;
  const stored = await store.notifications.getChannel(delivery.tenantId, delivery.channelId);
  let statusCode: number | null;
  let error: string | null = null;
  const channelName = stored?.channel.name ?? `#${delivery.channelId}`;
  try {
    if (!stored) throw new DeliveryError('The channel was removed.');
    const secrets = JSON.parse(
      (
        await store.vault.open(stored.sealedSecrets, channelSecretContext(delivery.tenantId, stored.channel.name))
      ).toString('utf8'),
    ) as ChannelSecrets;
    // The send must end (its timeout) before the lease does, or another process could take the
    // delivery over and send it too. A process stalled since the claim gives it back instead.
    if (clock.now().getTime() + deps.timeoutMs >= leaseEnd) {
      await store.notifications.releaseDelivery(delivery.id, workerId);
      return { kind: 'skipped' };
    }
    const outcome = await deps.sender.send(
      { config: stored.channel.config, secrets },
      { deliveryId: `${delivery.id}`, payload: delivery.payload },
      { signal: deps.signal, timeoutMs: deps.timeoutMs },
    );
    statusCode = outcome.statusCode;
  } catch (caught) {
    if (deps.signal.aborted) {
      await store.notifications.releaseDelivery(delivery.id, workerId).catch(() => undefined);
      return { kind: 'skipped' };
    }
    statusCode = caught instanceof DeliveryError ? caught.statusCode : null;
    error = caught instanceof DeliveryError ? caught.message : `Sending failed: ${messageOf(caught)}`;
  }
  const now = clock.now();
  if (error === null) {
    await store.notifications.completeDelivery(
      delivery.id,
      workerId,
      { outcome: 'sent', statusCode, error: null, nextAttemptAt: null, channelName },
      now,
    );
    return { kind: 'sent', statusCode };
  }
  const attempts = delivery.attempts + 1;
  const nextAttemptAt = stored && attempts < MAX_ATTEMPTS ? new Date(now.getTime() + retryDelayMs(attempts)) : null;
  await store.notifications.completeDelivery(
    delivery.id,
    workerId,
    { outcome: 'failed', statusCode, error: error.slice(0, 500), nextAttemptAt, channelName },
    now,
  );
  return { kind: 'failed', statusCode, error, nextAttemptAt };
}
