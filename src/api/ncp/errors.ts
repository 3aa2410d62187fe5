/**
 * Code → wire for the NCP Certificate Manager face (API 1.0 and 2.0). docs/compat/ncp.md lists
 * every code below with the reason it was chosen.
 *
 * Two envelopes, as the real service has them (reference cloud-apis.md §2.2, §2.3):
 * - gateway errors (authentication, permission, routing, protocol, body size, crashes):
 *   `{"error":{"errorCode":"<n>","message":"<fixed text>","details":"<why>"}}` with 4xx/5xx;
 * - service errors: `{"returnCode":"<code>","returnMessage":"<text>"}`, HTTP 400 for input
 *   validation (2000, 2100) and HTTP 200 for everything the service decides (1002, 1004, 2200, …).
 *
 * `ERROR_TABLE` maps every core `ErrorCode`: a new code does not compile until it is mapped here.
 * Errors the face raises itself with a fixed NCP answer (2101, 1004 for a refused delete, the
 * operations this deployment does not offer) are `NcpServiceError`s, which carry their wire form.
 */
import { AppError, type ErrorCode } from '../../domain/errors.ts';
import { withRetryAfter, type FaceReply } from '../../server/index.ts';
import { gatewayReply, INTERNAL_DETAILS, UNAVAILABLE_DETAILS, type GatewayError } from '../ncp-gateway/errors.ts';

// ---------------------------------------------------------------------------------------------
// Gateway errors: shared with the Global Edge face (src/api/ncp-gateway/errors.ts)

export { GATEWAY_ERRORS, gatewayReply, INTERNAL_DETAILS, type GatewayError } from '../ncp-gateway/errors.ts';

// ---------------------------------------------------------------------------------------------
// Service errors

/** Texts the NCP documents print for a code (reference §2.2 and §1.1). */
export const NCP_TEXT = {
  pem: 'Unable to load certificate. Expecting PEM format file.',
  inUse:
    'Failed to delete the certificate. Delete the instance being used first or replace the certificate being used for the instance.',
  deleteMismatch:
    'Failed to delete the certificate. No certificate was found with a matching with requested certificate name and certificate number.',
  notFound: 'No certificate was found.',
  sansInvalid: 'Invalid DNS SANs input format.',
  invalidCertificate: 'The certificate is invalid.',
  keyMismatch: 'Public key in certificate does not match the private key.',
  /** Observed live (reference §1.1): HTTP 400, returnCode 2000. */
  nameRule: "can only contain 3-20 English alphabet, numbers, and '-' and must start with an alphabetic character",
} as const;

/**
 * How a code's `returnMessage` is written:
 * - `reason`: core's safe message (it says what to fix);
 * - `documented`: the NCP text, then core's message after a space;
 * - `exact`: the NCP text alone (the observed wire text, byte for byte).
 */
type MessageMode = 'reason' | 'documented' | 'exact';

export type ServiceWire = { kind: 'service'; status: 200 | 400; returnCode: string; text?: string; mode: MessageMode };
export type NcpWire = ServiceWire | { kind: 'gateway'; gateway: GatewayError };

const service = (returnCode: string, status: 200 | 400 = 200): ServiceWire => ({
  kind: 'service',
  status,
  returnCode,
  mode: 'reason',
});
const documented = (returnCode: string, text: string, status: 200 | 400 = 200): ServiceWire => ({
  kind: 'service',
  status,
  returnCode,
  text,
  mode: 'documented',
});

export const ERROR_TABLE = {
  // Ladder step 1: sizes.
  input_too_large: service('26010'),
  // Step 2: PEM decodes.
  pem_malformed: documented('1002', NCP_TEXT.pem),
  pem_too_many_blocks: documented('1002', NCP_TEXT.pem),
  // Step 3: exactly one certificate.
  certificate_missing: service('26031'),
  certificate_multiple: service('26032'),
  certificate_invalid: documented('26034', NCP_TEXT.invalidCertificate),
  // Step 4: the private key parses (an encrypted key is found while decoding, step 2).
  key_missing: service('26041'),
  key_multiple: service('26042'),
  key_invalid: service('26043'),
  key_encrypted: service('26044'),
  // Step 5: key matches certificate.
  key_mismatch: documented('26040', NCP_TEXT.keyMismatch),
  // Step 6: validity window.
  certificate_expired: service('26061'),
  certificate_not_yet_valid: service('26062'),
  // Step 7: chain.
  chain_invalid: service('26070'),
  chain_issuer_missing: service('26071'),
  chain_signature_invalid: service('26072'),
  chain_not_ca: service('26073'),
  chain_expired: service('26074'),
  chain_unrelated: service('26075'),
  chain_ambiguous: service('26076'),
  // Step 8: key type.
  key_type_unsupported: service('26080'),
  // Step 9: duplicates (certificate, key or name).
  already_exists: service('26090'),
  // Step 10: the name rule (the face checks it before core too, see schemas.ts).
  name_invalid: { kind: 'service', status: 400, returnCode: '2000', text: NCP_TEXT.nameRule, mode: 'exact' },
  // Everything else.
  invalid_argument: service('2100', 400),
  not_found: documented('2200', NCP_TEXT.notFound),
  in_use: documented('1004', NCP_TEXT.inUse),
  // The key of a Global Edge dedicated certificate serves edge slots only (docs/compat/ncp.md).
  key_not_exportable: service('26093'),
  conflict: service('26091'),
  unauthenticated: { kind: 'gateway', gateway: 'authenticationFailed' },
  permission_denied: { kind: 'gateway', gateway: 'permissionDenied' },
  rate_limited: { kind: 'gateway', gateway: 'rateLimited' },
  unavailable: { kind: 'gateway', gateway: 'endpointError' },
  internal: { kind: 'gateway', gateway: 'unexpected' },
} as const satisfies Record<ErrorCode, NcpWire>;

/** An error the face raises with a fixed NCP answer. Still an AppError, so the face renders it. */
export class NcpServiceError extends AppError {
  readonly wire: ServiceWire;

  constructor(base: AppError | { code: ErrorCode; message: string }, wire: ServiceWire) {
    super(
      base.code,
      base.message,
      base instanceof AppError ? { cause: base, ...(base.field === undefined ? {} : { field: base.field }) } : {},
    );
    this.name = 'NcpServiceError';
    this.wire = wire;
  }
}

/** Code 2101: the window of ListRecentCertChanges is missing, ambiguous or out of range. */
export const windowError = (message: string): NcpServiceError =>
  new NcpServiceError({ code: 'invalid_argument', message }, service('2101'));

/** Code 29001: an NCP operation this deployment does not offer (certificate issuance). */
export const UNAVAILABLE_OPERATION: ServiceWire = service('29001');

/** Delete refusals: NCP answers 1004 both for "in use" and for "no such name and number". */
export const DELETE_NOT_FOUND: ServiceWire = documented('1004', NCP_TEXT.deleteMismatch);

/** Runs `work`, re-labelling the listed core codes with an operation's own NCP answer. */
export async function withOverrides<T>(
  work: () => Promise<T>,
  overrides: Partial<Record<ErrorCode, ServiceWire>>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const wire = error instanceof AppError && !(error instanceof NcpServiceError) ? overrides[error.code] : undefined;
    throw wire ? new NcpServiceError(error as AppError, wire) : error;
  }
}

function serviceReply(wire: ServiceWire, error: AppError): FaceReply {
  let returnMessage: string = error.message;
  if (wire.text !== undefined && wire.mode === 'exact') returnMessage = wire.text;
  else if (wire.text !== undefined && wire.mode === 'documented') returnMessage = `${wire.text} ${error.message}`;
  return { status: wire.status, body: { returnCode: wire.returnCode, returnMessage } };
}

/** Any AppError in this face's envelope. */
export function renderNcpError(error: AppError): FaceReply {
  if (error instanceof NcpServiceError) return serviceReply(error.wire, error);
  const wire: NcpWire = ERROR_TABLE[error.code];
  if (wire.kind === 'gateway') {
    // Internal and unavailable errors keep their cause in the log; the client gets a fixed text.
    if (wire.gateway === 'unexpected') return gatewayReply('unexpected', INTERNAL_DETAILS);
    if (wire.gateway === 'endpointError') return gatewayReply('endpointError', UNAVAILABLE_DETAILS);
    return withRetryAfter(gatewayReply(wire.gateway, error.message), error);
  }
  return serviceReply(wire, error);
}
