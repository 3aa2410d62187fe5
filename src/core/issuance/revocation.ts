/**
 * The one table of revocation reasons: the names users give (NCP's `revokeType`, the CLI's
 * `--reason`) and the RFC 5280 §5.3.1 CRLReason code sent to the CA (RFC 8555 §7.6). NCP documents
 * the first four; `keyCompromise` is the one a user needs when a key leaked (CLI only).
 */
import { AppError } from '../../domain/errors.ts';
import type { RevocationReason } from './issuer.ts';

export const REVOCATION_REASONS = {
  unspecified: 0,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  keyCompromise: 1,
} as const satisfies Record<string, RevocationReason>;

export type RevocationReasonName = keyof typeof REVOCATION_REASONS;

/** The names NCP's RevokeCertificate documents for `revokeType`. */
export const NCP_REVOKE_TYPES = [
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'unspecified',
] as const satisfies readonly RevocationReasonName[];

export const REVOCATION_REASON_NAMES = Object.keys(REVOCATION_REASONS) as RevocationReasonName[];

/** The CRLReason code of a reason name, or `invalid_argument` (field `reason`) naming the choices. */
export function revocationReason(name: string): RevocationReason {
  if (Object.hasOwn(REVOCATION_REASONS, name)) return REVOCATION_REASONS[name as RevocationReasonName];
  throw new AppError(
    'invalid_argument',
    `The revocation reason must be one of ${REVOCATION_REASON_NAMES.join(', ')}.`,
    { field: 'reason' },
  );
}

/** The name of a code, for display (orders keep the code). */
export function revocationReasonName(code: RevocationReason): RevocationReasonName | null {
  return REVOCATION_REASON_NAMES.find((name) => REVOCATION_REASONS[name] === code) ?? null;
}
