/**
 * The issuance port: what core needs from an ACME CA (RFC 8555), implemented by src/acme/.
 *
 * Contract:
 * - Resumable: every call takes what it needs from persisted state (the account key and URL, and
 *   the order, authorization, challenge, finalize or certificate URL it acts on). No call depends
 *   on in-memory state left by an earlier call, so a worker may persist each step's result and
 *   carry on after a restart, in another process. (The adapter keeps only caches that change no
 *   result: the directory and a pool of unused nonces.)
 * - Secrets (account private keys, the EAB MAC key) are inputs only: they never appear in a
 *   result, an error message, a problem document or a log event.
 * - Every failure is an `IssuerError`: a CA that is down, slow, or answers garbage is a retryable
 *   one (with `retryAfter` when the CA said when), never a crash or a bare `Error`.
 * - Keys are PEM text (PKCS#8, or PKCS#1 / SEC1), as the vault stores them. Account keys may be
 *   ECDSA P-256 (ES256, the default), P-384 (ES384) or RSA >= 2048 bits (RS256).
 *
 * Only types and the error class live here (no I/O); core imports this file, never src/acme/.
 */
import { AppError } from '../../domain/errors.ts';

/** An RFC 8555 identifier. certkeeper orders `dns` names (a wildcard is `*.example.com`). */
export interface AcmeIdentifier {
  readonly type: 'dns' | 'ip';
  readonly value: string;
}

/** Account key algorithms: the JWS `alg` the key signs with. */
export type AccountKeyAlgorithm = 'ES256' | 'ES384' | 'RS256';

/** Certificate key kinds a CSR can be made for. */
export type CertificateKeyKind = 'ec-p256' | 'ec-p384' | 'rsa-2048';

/** What the issuer needs to act as an account: both come from persisted state. */
export interface AccountRef {
  /** The account URL (the JWS `kid`), as returned by `account()`. */
  readonly url: string;
  /** The account private key, PEM. Secret. */
  readonly keyPem: string;
}

/** External Account Binding (RFC 8555 7.3.4): key id and the CA's MAC key (base64url). */
export interface ExternalAccountBinding {
  readonly kid: string;
  /** base64url (base64 is accepted too) of the HMAC key. Secret. */
  readonly hmacKey: string;
}

export interface AccountRequest {
  readonly keyPem: string;
  /** `mailto:` URLs (or plain addresses, which get `mailto:`). */
  readonly contact?: readonly string[];
  readonly eab?: ExternalAccountBinding;
  /** Find the account of this key only; fail with `accountDoesNotExist` rather than create one. */
  readonly onlyReturnExisting?: boolean;
}

export interface AcmeAccount {
  readonly url: string;
  readonly status: 'valid' | 'deactivated' | 'revoked';
  readonly contact: readonly string[];
  /** True when the CA created the account on this call (201), false when the key already had one. */
  readonly created: boolean;
}

/** What the directory offers beyond the mandatory resources. */
export interface DirectoryInfo {
  /** RFC 9773 `renewalInfo` is offered. */
  readonly ari: boolean;
  readonly termsOfService?: string;
  readonly website?: string;
  readonly caaIdentities: readonly string[];
  readonly externalAccountRequired: boolean;
}

export type OrderStatus = 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';
export type AuthorizationStatus = 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked';
export type ChallengeStatus = 'pending' | 'processing' | 'valid' | 'invalid';

/** RFC 7807 / RFC 8555 6.7 problem document, as the CA sent it (its text may be shown to users). */
export interface ProblemDocument {
  /** e.g. `urn:ietf:params:acme:error:rateLimited`; `about:blank` when the CA gave none. */
  readonly type: string;
  readonly detail?: string;
  readonly status?: number;
  readonly identifier?: AcmeIdentifier;
  readonly subproblems?: readonly ProblemDocument[];
}

export interface AcmeOrder {
  readonly url: string;
  readonly status: OrderStatus;
  readonly expires?: string;
  readonly identifiers: readonly AcmeIdentifier[];
  readonly authorizations: readonly string[];
  readonly finalize: string;
  readonly certificate?: string;
  /** RFC 9773 `replaces`, echoed by the CA. */
  readonly replaces?: string;
  readonly error?: ProblemDocument;
  /** Seconds the CA asked to wait before polling again (`Retry-After`), when it said. */
  readonly retryAfter?: number;
}

export interface AcmeChallenge {
  readonly url: string;
  /** `dns-01`, `http-01`, or any other type the CA offers (kept so callers can see it). */
  readonly type: string;
  readonly status: ChallengeStatus;
  readonly token: string;
  readonly validated?: string;
  readonly error?: ProblemDocument;
  /** The authorization it belongs to (`Link: rel="up"`), when the CA linked it. */
  readonly authorization?: string;
}

export interface AcmeAuthorization {
  readonly url: string;
  readonly status: AuthorizationStatus;
  readonly identifier: AcmeIdentifier;
  readonly wildcard: boolean;
  readonly expires?: string;
  readonly challenges: readonly AcmeChallenge[];
  readonly retryAfter?: number;
}

/** What to publish for a challenge token, derived from the account key (RFC 8555 8.1, 8.3, 8.4). */
export interface ChallengeResponse {
  /** `token || '.' || base64url(JWK thumbprint)`. */
  readonly keyAuthorization: string;
  /** DNS-01: the TXT value, base64url(SHA-256(keyAuthorization)). */
  readonly dns01TxtValue: string;
  /** DNS-01: the name the CA queries, `_acme-challenge.<identifier without '*.'>` (no trailing dot). */
  readonly dns01Name: string;
  /** HTTP-01: the path to serve on port 80, `/.well-known/acme-challenge/<token>`. */
  readonly http01Path: string;
  /** HTTP-01: the body to serve there (the key authorization). */
  readonly http01Body: string;
}

export interface CertificateChain {
  /** The URL it was downloaded from. */
  readonly url: string;
  /** PEM: the leaf first, then the issuers, as the CA sent it. */
  readonly pem: string;
}

export interface DownloadedCertificate extends CertificateChain {
  /** Alternate chains the CA offered (`Link: rel="alternate"`), each downloaded. */
  readonly alternates: readonly CertificateChain[];
}

/** RFC 5280 5.3.1 CRLReason codes accepted by ACME revocation (7 is unused). */
export type RevocationReason = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 8 | 9 | 10;

export interface RenewalInfo {
  /** The certificate's ARI id: base64url(AKI keyIdentifier) '.' base64url(serial DER content). */
  readonly certId: string;
  /** The window the CA suggests renewing in (ISO 8601 instants as the CA sent them). */
  readonly suggestedWindow: { readonly start: string; readonly end: string };
  readonly explanationUrl?: string;
  /** Seconds until asking again (`Retry-After`, RFC 9773 4.3). */
  readonly retryAfter?: number;
}

export interface NewOrderRequest {
  readonly identifiers: readonly AcmeIdentifier[];
  /** RFC 9773: the ARI id of the certificate this order renews. */
  readonly replaces?: string;
  readonly notBefore?: string;
  readonly notAfter?: string;
}

/** What went wrong, coarsely: callers decide on `retryable`, users read `problem.detail`. */
export type IssuerErrorKind =
  /** The CA answered with a problem document. */
  | 'problem'
  /** Connection refused, reset, DNS failure, TLS failure: no answer. */
  | 'unreachable'
  /** No complete answer in time. */
  | 'timeout'
  /** An answer that is not what RFC 8555 says (not JSON, missing fields, 5xx without a problem). */
  | 'bad_response'
  /** Our own input was refused before anything was sent (bad key, bad PEM, missing ARI). */
  | 'invalid_input';

export interface IssuerErrorOptions {
  readonly problem?: ProblemDocument;
  /** HTTP status of the CA's answer, when there was one. */
  readonly httpStatus?: number;
  readonly retryable: boolean;
  /** Seconds to wait before retrying, from `Retry-After` when the CA sent one. */
  readonly retryAfter?: number;
  /** The URL asked (never carries a secret: ACME URLs are resource locations). */
  readonly url?: string;
  readonly cause?: unknown;
}

/**
 * The one error type of the port. `message` is safe to log and to show: it is built from the
 * step, the URL and the CA's problem text, never from a key, a MAC or a JWS.
 *
 * It is an AppError, like the DNS adapter's DcvError, so a face that meets one renders it without
 * a table of its own: code `unavailable` when retrying may help, `invalid_argument` for input
 * refused before anything was sent, `internal` otherwise (the CA refused for good).
 */
export class IssuerError extends AppError {
  readonly kind: IssuerErrorKind;
  readonly problem: ProblemDocument | undefined;
  readonly httpStatus: number | undefined;
  readonly retryable: boolean;
  readonly retryAfter: number | undefined;
  readonly url: string | undefined;

  constructor(kind: IssuerErrorKind, message: string, options: IssuerErrorOptions) {
    super(
      options.retryable ? 'unavailable' : kind === 'invalid_input' ? 'invalid_argument' : 'internal',
      message,
      options.cause === undefined ? {} : { cause: options.cause },
    );
    this.name = 'IssuerError';
    this.kind = kind;
    this.problem = options.problem;
    this.httpStatus = options.httpStatus;
    this.retryable = options.retryable;
    this.retryAfter = options.retryAfter;
    this.url = options.url;
  }
}

/** Observations for logs and metrics: URLs, statuses and problem types only, never a secret. */
export type IssuerEvent =
  | {
      readonly type: 'request';
      readonly method: 'GET' | 'HEAD' | 'POST';
      readonly url: string;
      readonly status: number;
    }
  | { readonly type: 'bad_nonce_retry'; readonly url: string; readonly attempt: number };

export interface Issuer {
  /** The directory's optional offers (fetched once, then cached). */
  directory(): Promise<DirectoryInfo>;

  /** A new account key, PEM (PKCS#8). */
  generateAccountKey(alg?: AccountKeyAlgorithm): Promise<string>;
  /** A new certificate key, PEM (PKCS#8); P-256 by default. */
  generateCertificateKey(kind?: CertificateKeyKind): Promise<string>;
  /** A PKCS#10 CSR (DER) for `names` (dNSName SANs; the first is also the subject CN) signed by `keyPem`. */
  createCsr(keyPem: string, names: readonly string[]): Buffer;

  /** Creates the account of this key, or finds it when the key has one (RFC 8555 7.3, 7.3.1). */
  account(request: AccountRequest): Promise<AcmeAccount>;

  newOrder(account: AccountRef, request: NewOrderRequest): Promise<AcmeOrder>;
  getOrder(account: AccountRef, orderUrl: string): Promise<AcmeOrder>;
  getAuthorization(account: AccountRef, authorizationUrl: string): Promise<AcmeAuthorization>;

  /** What to publish for `challenge` of `authorization` (pure: no request). */
  challengeResponse(
    accountKeyPem: string,
    authorization: Pick<AcmeAuthorization, 'identifier'>,
    challenge: Pick<AcmeChallenge, 'token'>,
  ): ChallengeResponse;
  /** Tells the CA the challenge is ready to be validated (RFC 8555 7.5.1). */
  respondToChallenge(account: AccountRef, challengeUrl: string): Promise<AcmeChallenge>;

  /**
   * Sends the CSR (DER) to the order's finalize URL (RFC 8555 7.4). The order's own URL is kept
   * for the result when the CA's answer carries no Location.
   */
  finalize(account: AccountRef, order: Pick<AcmeOrder, 'url' | 'finalize'>, csrDer: Buffer): Promise<AcmeOrder>;
  /** Downloads the chain, and every alternate chain the CA links (RFC 8555 7.4.2). */
  downloadCertificate(account: AccountRef, certificateUrl: string): Promise<DownloadedCertificate>;

  /** Revokes a certificate (PEM; the leaf is the first block) signed by the account key (RFC 8555 7.6). */
  revoke(account: AccountRef, certificatePem: string, reason?: RevocationReason): Promise<void>;

  /** The ARI id of a certificate (PEM; the leaf is the first block). Pure. */
  renewalCertId(certificatePem: string): string;
  /** RFC 9773 renewal info; an `invalid_input` IssuerError when the directory offers no ARI. */
  renewalInfo(certificatePem: string): Promise<RenewalInfo>;
}
