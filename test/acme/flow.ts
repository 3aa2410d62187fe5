/**
 * Test-side driving of an ACME order with the client, step by step as the worker will: each step
 * is a separate client call on persisted URLs only. Polls honour `retryAfter` but are capped, as
 * Pebble (PEBBLE_VA_NOSLEEP) answers within milliseconds.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AccountRef, AcmeOrder, OrderStatus } from '../../src/core/issuance/issuer.ts';
import type { AcmeIssuer } from '../../src/acme/client.ts';

/** Polls the order until its status is not one of `while_`, for at most `ms`. */
export async function pollOrder(
  issuer: AcmeIssuer,
  account: AccountRef,
  orderUrl: string,
  while_: readonly OrderStatus[],
  ms = 20_000,
): Promise<AcmeOrder> {
  const deadline = Date.now() + ms;
  for (;;) {
    const order = await issuer.getOrder(account, orderUrl);
    if (!while_.includes(order.status)) return order;
    if (Date.now() > deadline) throw new Error(`order still ${order.status} after ${ms} ms`);
    await sleep(Math.min((order.retryAfter ?? 0) * 1000, 200) || 50);
  }
}

/** Finalizes a ready order with a CSR for `names` and returns the valid order. */
export async function finalizeOrder(
  issuer: AcmeIssuer,
  account: AccountRef,
  order: AcmeOrder,
  certificateKeyPem: string,
  names: readonly string[],
): Promise<AcmeOrder> {
  const finalized = await issuer.finalize(account, order, issuer.createCsr(certificateKeyPem, names));
  return finalized.status === 'valid' ? finalized : pollOrder(issuer, account, finalized.url, ['processing']);
}
