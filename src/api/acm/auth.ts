/**
 * Who is calling the ACM face: AWS Signature Version 4 (src/auth/sigv4.ts) with a certkeeper
 * access key and secret, service `acm`, any region. In two steps:
 *
 * - `onRequest` (before the body is read): the Authorization header, X-Amz-Date within 15
 *   minutes, the scope, no session token, and a live access key. A refused request's body is
 *   never read.
 * - `preHandler` (the raw body in hand): the signature over the canonical request, body hash
 *   included.
 *
 * The Actor's tenant is the credential's, never the request's; the region of the scope is kept
 * so ARNs are printed in, and checked against, the region the client signed for.
 */
import type { FastifyRequest } from 'fastify';
import { credentialActor, type Actor } from '../../core/actor.ts';
import type { Core } from '../../core/core.ts';
import type { VerifiableCredential } from '../../core/credentials.ts';
import type { CredentialCheck } from '../../core/ports.ts';
import { checkSigV4Headers, verifySigV4Body, type SigV4Claim, type SigV4Failure } from '../../auth/sigv4.ts';
import { AcmWireError } from './errors.ts';

export interface AcmCaller {
  actor: Actor;
  region: string;
  /** The tenant's 12-digit account id. */
  account: string;
}

interface Pending {
  claim: SigV4Claim;
  credential: VerifiableCredential;
  /** Kept by this process, not read for this request: the operation's read confirms it. */
  check?: CredentialCheck;
}

const pending = new WeakMap<FastifyRequest, Pending>();
const callers = new WeakMap<FastifyRequest, AcmCaller>();

/** Signature refusals are HTTP 400 with AWS's exception, like every ACM error. */
const refuse = (failure: SigV4Failure): AcmWireError =>
  new AcmWireError('unauthenticated', failure.type, failure.message);

const sigV4Request = (request: FastifyRequest) => ({
  method: request.raw.method ?? request.method,
  rawUrl: request.raw.url ?? request.url,
  rawHeaders: request.raw.rawHeaders,
});

/** What this face answers for an access key that is unknown or revoked. */
const unrecognized = (): AcmWireError =>
  new AcmWireError(
    'unauthenticated',
    'UnrecognizedClientException',
    'The security token included in the request is invalid.',
  );

async function readCredential(core: Core, accessKey: string): Promise<VerifiableCredential> {
  const credential = await core.credentials.lookupForVerification(accessKey);
  if (!credential) throw unrecognized();
  return credential;
}

/**
 * `onRequest`: everything that needs no body. `confirmsInRead(request)`: the operation confirms
 * the credential in its own read (core/actor.ts), so the secret this process keeps may serve
 * without a read here (ListCertificates; one statement per request on PostgreSQL).
 */
export function checkHeaders(core: Core, confirmsInRead: (request: FastifyRequest) => boolean = () => false) {
  return async (request: FastifyRequest): Promise<void> => {
    const checked = checkSigV4Headers({ request: sigV4Request(request), now: core.clock.now(), service: 'acm' });
    if (!checked.ok) throw refuse(checked);
    const { accessKey } = checked.claim;
    const kept = confirmsInRead(request) ? core.credentials.cachedForVerification(accessKey) : null;
    if (kept) pending.set(request, { claim: checked.claim, credential: kept, check: kept.check });
    else pending.set(request, { claim: checked.claim, credential: await readCredential(core, accessKey) });
  };
}

/** `preHandler`: the signature, over the body as received. */
export function checkSignature(core: Core) {
  return async (request: FastifyRequest): Promise<void> => {
    const seen = pending.get(request);
    if (!seen) throw new Error('ACM route reached without its onRequest hook');
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    let verified = verifySigV4Body(sigV4Request(request), seen.claim, body, seen.credential.secretKey);
    let check = seen.check;
    if (!verified.ok && check) {
      // Refused with the kept secret: decided again on the credential as read now, so the
      // refusal is exactly the one a read gives (unrecognized when revoked since).
      seen.credential = await readCredential(core, seen.claim.accessKey);
      check = undefined;
      verified = verifySigV4Body(sigV4Request(request), seen.claim, body, seen.credential.secretKey);
    }
    if (!verified.ok) throw refuse(verified);
    const { credential } = seen.credential;
    const actor = credentialActor(
      credential,
      request.ip,
      check ? { confirmation: { check }, refuse: unrecognized } : undefined,
    );
    // Only a verified signature counts: knowing an access key must not let anyone spend its rate.
    core.rateLimit.take(actor);
    callers.set(request, { actor, region: seen.claim.region, account: await core.acm.accountId(actor) });
  };
}

export function callerOf(request: FastifyRequest): AcmCaller {
  const caller = callers.get(request);
  if (!caller) throw new Error('ACM route reached without authentication');
  return caller;
}
