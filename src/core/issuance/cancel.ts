/**
 * The one rule of what a cancel does to a certificate request (an `issue` order) in each state;
 * service.ts `cancel` applies it (audited) through the repository's compare-and-set `cancel`.
 * The ACM face's DeleteCertificate of a requested certificate not issued is its caller.
 *
 * - Before the CA has validated every name (`new` … `responding`, and `polling` while some
 *   authorization is not valid yet): the order goes to `cleanup` with outcome `cancelled`. The
 *   worker's next claim removes the TXT values it published (or may have published: removals are
 *   idempotent) and ends the order `cancelled`; its names are free at once. The CA's order is left
 *   to expire there (RFC 8555 has no order cancellation); no CSR was sent, so nothing is issued.
 * - Ended without a certificate (`failed`, `validation_failed`, `validation_expired`): it becomes
 *   `cancelled` at once (its TXT values were removed by its cleanup), `outcome` keeping what it had
 *   come to; while that cleanup still runs, it ends `cancelled` instead.
 * - Once the CA has validated every name (`polling` with all authorizations valid, `finalizing`,
 *   `downloading`, `storing`, `cleanup` after storing): refused with `conflict`. The CA may have
 *   our CSR already and a certificate it issues cannot be un-issued; the certificate lands within
 *   seconds and is then deleted like any other certificate. Never half-cancelled.
 * - Delivered (`done`), revoked, already cancelled, or not an `issue` order: `not_found` (there is
 *   no pending request to cancel; a delivered one is deleted as a certificate).
 * - A worker holding the order right now (a step running): the repository's compare-and-set
 *   fails and the caller answers `conflict` (try again); the worker's own write then goes through
 *   as usual. Either the cancel or the worker's step wins, never both.
 */
import type { FinalStep, IssuanceOrder } from './ports.ts';

export type Cancellation =
  | { readonly kind: 'cancel'; readonly next: { readonly step: 'cleanup' | 'cancelled'; readonly outcome: FinalStep } }
  | { readonly kind: 'issuing' }
  | { readonly kind: 'nothing' };

const BEFORE_VALIDATION = new Set(['new', 'account', 'ordered', 'publishing', 'awaiting_cname', 'responding']);
const FAILED = new Set(['failed', 'validation_failed', 'validation_expired']);

/** What cancelling `order` does (see the top of this file). */
export function cancellationOf(order: IssuanceOrder): Cancellation {
  if (order.kind !== 'issue') return { kind: 'nothing' };
  const cancel = { kind: 'cancel', next: { step: 'cleanup', outcome: 'cancelled' } } as const;
  if (BEFORE_VALIDATION.has(order.step)) return cancel;
  if (order.step === 'polling') {
    const validated = order.authorizations.length > 0 && order.authorizations.every((a) => a.status === 'valid');
    return validated ? { kind: 'issuing' } : cancel;
  }
  if (FAILED.has(order.step)) return { kind: 'cancel', next: { step: 'cancelled', outcome: order.step as FinalStep } };
  if (order.step === 'cleanup') {
    if (order.outcome === 'done') return { kind: 'issuing' };
    if (order.outcome === 'cancelled') return { kind: 'nothing' };
    return cancel;
  }
  if (order.step === 'finalizing' || order.step === 'downloading' || order.step === 'storing')
    return { kind: 'issuing' };
  return { kind: 'nothing' };
}

/** Whether a request has been withdrawn: `cancelled`, or cancelled with its cleanup still to run. */
export const isCancelled = (order: Pick<IssuanceOrder, 'step' | 'outcome'>): boolean =>
  order.step === 'cancelled' || (order.step === 'cleanup' && order.outcome === 'cancelled');
