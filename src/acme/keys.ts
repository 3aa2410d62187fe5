/**
 * Account keys as JWS signers (RFC 7515, RFC 7518) and JWKs (RFC 7517, thumbprint RFC 7638), and
 * key generation. node:crypto only.
 *
 * Contract: functions take PEM (PKCS#8, PKCS#1 or SEC1) and never put key material in an error
 * message: a key that does not parse or is of a kind ACME cannot use is an `invalid_input`
 * IssuerError saying which kinds are accepted.
 */
import { createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPair, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { IssuerError, type AccountKeyAlgorithm, type CertificateKeyKind } from '../core/issuance/issuer.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

export type Jwk =
  | { readonly kty: 'EC'; readonly crv: 'P-256' | 'P-384'; readonly x: string; readonly y: string }
  | { readonly kty: 'RSA'; readonly n: string; readonly e: string };

/** A parsed account key: what JWS signing needs. */
export interface AccountKey {
  readonly alg: AccountKeyAlgorithm;
  readonly privateKey: KeyObject;
  readonly jwk: Jwk;
  /** base64url(SHA-256 of the RFC 7638 canonical JWK). */
  readonly thumbprint: string;
}

export const b64u = (data: Uint8Array | string): string =>
  (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data)).toString('base64url');

function invalidKey(what: string): IssuerError {
  return new IssuerError(
    'invalid_input',
    `${what}: expected an ECDSA P-256/P-384 or RSA (2048 bits or more) private key in PEM`,
    {
      retryable: false,
    },
  );
}

/** Parses a private key PEM; the error never quotes the input. */
export function parsePrivateKey(pem: string, what: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw invalidKey(what);
  }
  return key;
}

/**
 * The last account keys parsed, by PEM: every ACME request is signed with the account key, and
 * parsing it (PEM → KeyObject → JWK → thumbprint) cost about 1 ms of the event loop per request.
 * An installation has one account key per directory URL, so a few entries hold them all. (The
 * process holds the key in memory while it works anyway; this keeps it no longer than the process.)
 */
const parsedAccountKeys = new Map<string, AccountKey>();
const PARSED_ACCOUNT_KEYS_MAX = 4;

/** The account key of `pem`, with its JWS algorithm, JWK and thumbprint. */
export function accountKey(pem: string): AccountKey {
  const cached = parsedAccountKeys.get(pem);
  if (cached) return cached;
  const parsed = Object.freeze(parseAccountKey(pem));
  if (parsedAccountKeys.size >= PARSED_ACCOUNT_KEYS_MAX)
    parsedAccountKeys.delete(parsedAccountKeys.keys().next().value!);
  parsedAccountKeys.set(pem, parsed);
  return parsed;
}

function parseAccountKey(pem: string): AccountKey {
  const privateKey = parsePrivateKey(pem, 'account key');
  const details = privateKey.asymmetricKeyDetails ?? {};
  const exported = createPublicKey(privateKey).export({ format: 'jwk' });
  let alg: AccountKeyAlgorithm;
  let jwk: Jwk;
  if (
    privateKey.asymmetricKeyType === 'ec' &&
    (details.namedCurve === 'prime256v1' || details.namedCurve === 'secp384r1')
  ) {
    const crv = details.namedCurve === 'prime256v1' ? 'P-256' : 'P-384';
    alg = crv === 'P-256' ? 'ES256' : 'ES384';
    jwk = { kty: 'EC', crv, x: String(exported.x), y: String(exported.y) };
  } else if (privateKey.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= 2048) {
    alg = 'RS256';
    jwk = { kty: 'RSA', n: String(exported.n), e: String(exported.e) };
  } else {
    throw invalidKey('account key');
  }
  return { alg, privateKey, jwk, thumbprint: thumbprint(jwk) };
}

/** RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace. */
export function thumbprint(jwk: Jwk): string {
  const canonical =
    jwk.kty === 'EC'
      ? `{"crv":"${jwk.crv}","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`
      : `{"e":"${jwk.e}","kty":"RSA","n":"${jwk.n}"}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/** Signature over `protected.payload` (ASCII), in JWS form: ECDSA as r||s (RFC 7518 3.4). */
export function jwsSign(key: AccountKey, signingInput: string): string {
  const data = Buffer.from(signingInput, 'ascii');
  switch (key.alg) {
    case 'ES256':
      return sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    case 'ES384':
      return sign('sha384', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    case 'RS256':
      return sign('sha256', data, key.privateKey).toString('base64url');
  }
}

export interface Jws {
  readonly protected: string;
  readonly payload: string;
  readonly signature: string;
}

/**
 * A flattened JWS (RFC 8555 6.2). `payload` undefined is POST-as-GET (empty payload); `kid` is the
 * account URL, or null to send the JWK (newAccount, and revocation by certificate key).
 */
export function signJws(
  key: AccountKey,
  header: { url: string; nonce: string; kid: string | null },
  payload: unknown,
): Jws {
  const protectedHeader =
    header.kid === null
      ? { alg: key.alg, jwk: key.jwk, nonce: header.nonce, url: header.url }
      : { alg: key.alg, kid: header.kid, nonce: header.nonce, url: header.url };
  const protectedB64 = b64u(JSON.stringify(protectedHeader));
  const payloadB64 = payload === undefined ? '' : b64u(JSON.stringify(payload));
  return { protected: protectedB64, payload: payloadB64, signature: jwsSign(key, `${protectedB64}.${payloadB64}`) };
}

/** Decodes an EAB MAC key given as base64url (or base64); refuses empty or non-base64 text. */
export function eabMacKey(text: string): Buffer {
  const trimmed = text.trim();
  if (trimmed.length === 0 || !/^[A-Za-z0-9_\-+/]+={0,2}$/.test(trimmed)) {
    throw new IssuerError('invalid_input', 'external account binding: the HMAC key must be base64url text', {
      retryable: false,
    });
  }
  return Buffer.from(trimmed.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), 'base64url');
}

/**
 * The `externalAccountBinding` member of newAccount (RFC 8555 7.3.4): a JWS with HS256 over the
 * account's JWK, `kid` the CA's key id, `url` the newAccount URL.
 */
export function externalAccountBinding(key: AccountKey, kid: string, macKey: Buffer, newAccountUrl: string): Jws {
  const protectedB64 = b64u(JSON.stringify({ alg: 'HS256', kid, url: newAccountUrl }));
  const payloadB64 = b64u(JSON.stringify(key.jwk));
  const signature = createHmac('sha256', macKey).update(`${protectedB64}.${payloadB64}`, 'ascii').digest('base64url');
  return { protected: protectedB64, payload: payloadB64, signature };
}

const PKCS8 = { format: 'pem', type: 'pkcs8' } as const;

export async function generateAccountKey(alg: AccountKeyAlgorithm = 'ES256'): Promise<string> {
  const pair =
    alg === 'RS256'
      ? await generateKeyPairAsync('rsa', {
          modulusLength: 2048,
          privateKeyEncoding: PKCS8,
          publicKeyEncoding: { format: 'pem', type: 'spki' },
        })
      : await generateKeyPairAsync('ec', {
          namedCurve: alg === 'ES256' ? 'P-256' : 'P-384',
          privateKeyEncoding: PKCS8,
          publicKeyEncoding: { format: 'pem', type: 'spki' },
        });
  return pair.privateKey;
}

export async function generateCertificateKey(kind: CertificateKeyKind = 'ec-p256'): Promise<string> {
  return generateAccountKey(kind === 'rsa-2048' ? 'RS256' : kind === 'ec-p256' ? 'ES256' : 'ES384');
}
