/**
 * Domain control validation by CNAME delegation (DNS-01): the ports core owns, and the one rule
 * that decides the delegation target.
 *
 * For each tenant and domain, certkeeper asks the user for one record, once:
 *
 *   _acme-challenge.<domain>.  CNAME  <label>.<dcv zone>.
 *
 * and answers every DNS-01 challenge for that domain by writing TXT values at `<label>.<dcv zone>`
 * in a zone it controls (RFC 2136 dynamic updates signed with TSIG; src/dns/ implements the
 * ports). A wildcard and its apex (`*.example.com` and `example.com` in one order) share one
 * challenge name, so one name may carry two values at once: publishing adds one value and never
 * replaces the others.
 *
 * Contract for implementations of `DcvZone` and `DcvResolver`:
 * - Every call is self-contained (no state between calls) and idempotent: adding a value that is
 *   there already, or removing one that is not, succeeds and changes nothing (RFC 2136 3.4.2).
 *   So a worker that crashed between two steps may repeat a step.
 * - A call resolves only once the server has answered and its answer (and its TSIG, for
 *   updates) has been verified; a failure is a `DcvError`, never another exception.
 * - Secrets (the TSIG secret) never appear in an error message, a log line or `cause`.
 * - Names are absolute domain names in ASCII (A-labels for IDNs), without the trailing dot;
 *   they compare case-insensitively.
 */
import { createHmac, type KeyObject } from 'node:crypto';
import { AppError } from '../../domain/errors.ts';

/** Writes the TXT values of the dcv zone. Core decides every name; the adapter only writes. */
export interface DcvZone {
  /** The zone the adapter may write to (e.g. `dcv.certkeeper.example`); every name is below it. */
  readonly zone: string;
  /** Adds one TXT value at `name`, keeping the values already there. */
  addTxt(name: string, value: string): Promise<void>;
  /** Removes one TXT value at `name`; the other values stay. */
  removeTxt(name: string, value: string): Promise<void>;
  /** Removes every TXT value at `name` (clean-up of an abandoned order). */
  removeAllTxt(name: string): Promise<void>;
}

/** Reads public DNS as the CA will see it, through the configured resolver (or the system's). */
export interface DcvResolver {
  /**
   * The target of the CNAME record at `name` (first hop only, without the trailing dot,
   * lower-cased), or null when `name` has no CNAME (NXDOMAIN, or a name with other records).
   */
  lookupCname(name: string): Promise<string | null>;
  /** The TXT values at `name` after following CNAMEs (each value's strings joined); [] if none. */
  lookupTxt(name: string): Promise<string[]>;
}

/**
 * Why a DNS call failed.
 * - `refused`: the server answered with an error RCODE (`rcode` says which: REFUSED, NOTAUTH,
 *   NOTZONE, SERVFAIL, …). Retryable only for SERVFAIL (the server's own trouble).
 * - `tsig`: the server rejected our signature (BADSIG, BADKEY, BADTIME, BADTRUNC in
 *   `tsigError`), or its answer's signature did not verify. Retryable: the key or the clock is
 *   the operator's to fix, not the user's, so the order waits (backing off, the message on the
 *   order) and carries on once the operator restarts with the right CERTKEEPER_DCV_TSIG_KEY,
 *   rather than every pending order failing for one configuration mistake.
 * - `timeout`: no answer in time. Retryable.
 * - `network`: the socket failed (connection refused, unreachable). Retryable.
 * - `malformed`: the answer could not be decoded or did not match the question. Retryable (a
 *   broken middlebox or a spoofed packet is no reason to give up on an order).
 * - `config`: the configuration cannot work (a bad TSIG key string, a name outside the zone).
 *   Not retryable.
 */
export type DcvErrorKind = 'refused' | 'tsig' | 'timeout' | 'network' | 'malformed' | 'config';

export interface DcvErrorOptions {
  rcode?: string;
  tsigError?: string;
  /** For logs only; never holds a secret. */
  cause?: unknown;
}

/**
 * The one error DNS adapters throw. `message` is safe to log and to show an operator: it names the
 * server and the name, never the TSIG secret. The AppError code is `unavailable` when retrying
 * may help, `internal` when it will not (so a face rendering it does not invite a retry).
 */
export class DcvError extends AppError {
  readonly kind: DcvErrorKind;
  readonly retryable: boolean;
  readonly rcode: string | undefined;
  readonly tsigError: string | undefined;

  constructor(kind: DcvErrorKind, message: string, options: DcvErrorOptions = {}) {
    const retryable = isRetryable(kind, options.rcode);
    super(retryable ? 'unavailable' : 'internal', message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'DcvError';
    this.kind = kind;
    this.retryable = retryable;
    this.rcode = options.rcode;
    this.tsigError = options.tsigError;
  }
}

function isRetryable(kind: DcvErrorKind, rcode: string | undefined): boolean {
  switch (kind) {
    case 'timeout':
    case 'network':
    case 'malformed':
    case 'tsig':
      return true;
    case 'refused':
      return rcode === 'SERVFAIL';
    case 'config':
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// The delegation target

/**
 * The name whose TXT record the CA reads for `domain` (RFC 8555 8.4): `_acme-challenge.` before
 * the domain, with a wildcard's `*.` removed (so `*.example.com` and `example.com` share it).
 */
export function challengeName(domain: string): string {
  return `_acme-challenge.${baseDomain(domain)}`;
}

/**
 * The label of `<label>.<dcv zone>` for one tenant and domain.
 *
 * Derived, not stored: HMAC-SHA256 under `labelKey` (a secret of this installation that never
 * changes) over `tenantId`, a NUL and the domain (lower case, wildcard removed), the first 20
 * bytes in base32 (RFC 4648, lower case, 32 characters: a valid DNS label).
 * - Stable: the user's CNAME must keep working for every renewal for years, so the label must not
 *   depend on an order, a row that can be lost or rewritten, or the process that computed it; two
 *   workers computing it at once agree without a transaction.
 * - Per tenant: two tenants claiming the same domain get different labels, so only the tenant
 *   whose label the domain's owner delegated to can validate it; the other's TXT values land at a
 *   name the CA never reads.
 * - Keyed: without the key, a label does not reveal the tenant or domain it belongs to (the dcv
 *   zone is public), and nobody can compute another tenant's label in advance.
 * Changing `labelKey` changes every label and breaks every user's CNAME: it is persistent state,
 * like the master key, not a rotatable credential.
 */
export function delegationLabel(labelKey: KeyObject, tenantId: number, domain: string): string {
  if (!Number.isSafeInteger(tenantId) || tenantId < 0) throw new TypeError('tenantId must be a non-negative integer');
  const mac = createHmac('sha256', labelKey)
    .update(`${tenantId}\0${baseDomain(domain)}`, 'utf8')
    .digest();
  return base32(mac.subarray(0, 20));
}

/** `<label>.<zone>`: where the user's `_acme-challenge` CNAME must point, and where TXT values go. */
export function delegationTarget(labelKey: KeyObject, tenantId: number, domain: string, zone: string): string {
  return `${delegationLabel(labelKey, tenantId, domain)}.${normalizeName(zone)}`;
}

/** How a user's `_acme-challenge` record compares with what certkeeper asked for. */
export type DelegationCheck =
  { ok: true } | { ok: false; reason: 'missing' } | { ok: false; reason: 'wrong_target'; found: string };

/** Compares a `lookupCname` result with the expected target (case-insensitive, trailing dot ignored). */
export function checkDelegation(found: string | null, expectedTarget: string): DelegationCheck {
  if (found === null) return { ok: false, reason: 'missing' };
  if (normalizeName(found) === normalizeName(expectedTarget)) return { ok: true };
  return { ok: false, reason: 'wrong_target', found: normalizeName(found) };
}

/** Lower case, without a trailing dot. */
export function normalizeName(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
}

function baseDomain(domain: string): string {
  const name = normalizeName(domain);
  return name.startsWith('*.') ? name.slice(2) : name;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}
