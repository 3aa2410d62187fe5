/**
 * Private keys: parsing (ladder step 4), matching a certificate (step 5) and the key-type policy
 * (step 8). All parsing is node:crypto's (OpenSSL); nothing here reads DER by hand.
 *
 * Secrets: no message, `details` or `cause` produced here contains key material. OpenSSL's own
 * error messages are reason strings (`error:0680008E:asn1 encoding routines::not enough data`)
 * without input bytes, and even so the cause is rebuilt from those strings only, so that whatever
 * else a future Node attaches to its errors never reaches a log.
 */
import { createPrivateKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { AppError, type InputField } from '../errors.ts';
import { fieldName } from './pem.ts';
import type { KeyDescription, ParsedPrivateKey, PemBlock } from './types.ts';

type KeyFormat = ParsedPrivateKey['format'];

const FORMAT_BY_LABEL: Readonly<Record<string, KeyFormat>> = {
  'RSA PRIVATE KEY': 'pkcs1',
  'PRIVATE KEY': 'pkcs8',
  'EC PRIVATE KEY': 'sec1',
};

const FORMAT_NAMES: Readonly<Record<KeyFormat, string>> = {
  pkcs1: 'PKCS#1 RSA',
  pkcs8: 'PKCS#8',
  sec1: 'SEC1 EC',
};

/**
 * Parses one private-key block from `splitPem` (PKCS#1, PKCS#8 with RSA, RSA-PSS, EC, Ed25519,
 * Ed448 and anything else OpenSSL reads, or SEC1).
 *
 * Whether the algorithm and size are acceptable is not decided here (`checkKeyTypeAllowed`, step 8).
 * OpenSSL's decoder does not hold a key to its label, so the label is checked against the
 * algorithm instead: `RSA PRIVATE KEY` must hold an RSA key and `EC PRIVATE KEY` an EC key.
 *
 * @throws AppError `key_encrypted` for an encrypted block (also refused by splitPem; checked again
 *   so the function is safe on its own), `key_invalid` when the block is not a parseable key.
 */
export function parsePrivateKey(block: PemBlock, field: InputField): ParsedPrivateKey {
  const where = `The ${fieldName(field)} (block ${block.index}, ${block.label})`;
  const details = { block: block.index, label: block.label };

  const procType = Object.entries(block.headers).find(([k]) => k.toLowerCase() === 'proc-type')?.[1];
  if (
    block.label === 'ENCRYPTED PRIVATE KEY' ||
    (procType !== undefined && procType.toUpperCase().includes('ENCRYPTED'))
  ) {
    throw new AppError(
      'key_encrypted',
      `${where} is encrypted; decrypt it first, e.g. \`openssl pkey -in key.pem -out key-decrypted.pem\`, and paste the result.`,
      { field, details },
    );
  }

  const format = FORMAT_BY_LABEL[block.label];
  if (format === undefined) {
    throw new AppError(
      'key_invalid',
      `${where} is not a private key; expected PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY.`,
      {
        field,
        details,
      },
    );
  }

  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey({ key: block.der, format: 'der', type: format });
  } catch (error) {
    throw new AppError(
      'key_invalid',
      `${where} could not be read as a ${FORMAT_NAMES[format]} private key: the block is damaged or is not a key. ` +
        'Paste the key file exactly as your CA or openssl wrote it.',
      { field, details, cause: safeCause(error) },
    );
  }

  const type = keyObject.asymmetricKeyType;
  if ((format === 'pkcs1' && type !== 'rsa') || (format === 'sec1' && type !== 'ec')) {
    throw new AppError(
      'key_invalid',
      `${where} is labelled as ${FORMAT_NAMES[format]} but the key inside is ${describeAlgorithm(keyObject)}; ` +
        'the armour lines do not match the key. Re-export it with `openssl pkey -in key.pem -out key-pkcs8.pem`.',
      { field, details },
    );
  }

  // Both derived fields cost tens of microseconds on an RSA key and the import ladder needs neither
  // (it describes the certificate's public key, which the key matches), so they are computed on
  // first use. A PKCS#8 block's canonical armour already is the PKCS#8 PEM.
  let description: KeyDescription | undefined;
  let pkcs8Pem: string | undefined = format === 'pkcs8' ? block.pem : undefined;
  return {
    keyObject,
    format,
    get description() {
      description ??= describePrivateKey(keyObject);
      return description;
    },
    get pkcs8Pem() {
      pkcs8Pem ??= keyObject.export({ type: 'pkcs8', format: 'pem' }).toString();
      return pkcs8Pem;
    },
  };
}

/** OpenSSL's reason strings only: never the error object itself (see the module comment). */
function safeCause(error: unknown): Error {
  if (!(error instanceof Error)) return new Error('createPrivateKey failed');
  const code = (error as { code?: unknown }).code;
  const cause = new Error(error.message);
  cause.name = error.name;
  if (typeof code === 'string') (cause as Error & { code: string }).code = code;
  return cause;
}

function describeAlgorithm(key: KeyObject): string {
  const d = describeKey(key);
  return d.algorithm === 'unknown' ? (key.asymmetricKeyType ?? 'unknown') : d.algorithm;
}

/** OpenSSL curve names for the three NIST curves, normalised to the names the APIs print. */
const CURVE_NAMES: Readonly<Record<string, string>> = {
  prime256v1: 'P-256',
  secp256r1: 'P-256',
  'P-256': 'P-256',
  secp384r1: 'P-384',
  'P-384': 'P-384',
  secp521r1: 'P-521',
  'P-521': 'P-521',
};

const CURVE_BITS: Readonly<Record<string, number>> = {
  'P-256': 256,
  'P-384': 384,
  'P-521': 521,
  secp256k1: 256,
  secp224r1: 224,
  prime192v1: 192,
};

function curveBits(curve: string): number {
  const known = CURVE_BITS[curve];
  if (known !== undefined) return known;
  // Other OpenSSL curve names carry their field size: brainpoolP384r1, sect571k1, secp160r1.
  const digits = /\d{3}/.exec(curve);
  return digits ? Number(digits[0]) : 0;
}

function describeKey(key: KeyObject): KeyDescription {
  if (key.type === 'secret') {
    throw new AppError('internal', 'describeKey: a symmetric key has no public-key description');
  }
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { algorithm: 'RSA', bits: details.modulusLength ?? 0, curve: null };
    case 'rsa-pss':
      return { algorithm: 'RSA-PSS', bits: details.modulusLength ?? 0, curve: null };
    case 'dsa':
      return { algorithm: 'DSA', bits: details.modulusLength ?? 0, curve: null };
    case 'ec': {
      const raw = details.namedCurve ?? '';
      const curve = CURVE_NAMES[raw] ?? raw;
      return { algorithm: 'EC', bits: curveBits(curve), curve: curve === '' ? null : curve };
    }
    case 'ed25519':
      return { algorithm: 'Ed25519', bits: 255, curve: null };
    case 'ed448':
      return { algorithm: 'Ed448', bits: 448, curve: null };
    case 'x25519':
      return { algorithm: 'unknown', bits: 255, curve: 'X25519' };
    case 'x448':
      return { algorithm: 'unknown', bits: 448, curve: 'X448' };
    default:
      return { algorithm: 'unknown', bits: 0, curve: null };
  }
}

/**
 * Algorithm and size of a public key (e.g. `X509Certificate.publicKey`): RSA bits from the
 * modulus, EC curve normalised (`prime256v1` → `P-256`, …) with the field size in bits, Ed25519
 * 255, Ed448 448. Other EC curves keep their OpenSSL name. X25519/X448 and anything OpenSSL knows
 * but we do not are `unknown` (X25519/X448 with their curve name).
 */
export function describePublicKey(key: KeyObject): KeyDescription {
  return describeKey(key);
}

/** Same as `describePublicKey`, for a private key (the description of its public half). */
export function describePrivateKey(key: KeyObject): KeyDescription {
  return describeKey(key);
}

/**
 * True when `key` belongs to `cert`'s public key. A private key is checked with OpenSSL
 * (`X509Certificate.checkPrivateKey`, which works for RSA, EC and EdDSA on Node 24 and returns
 * false, not throws, for a key of another algorithm); a public key is compared by its
 * SubjectPublicKeyInfo DER.
 */
export function keyMatchesCertificate(key: KeyObject, cert: X509Certificate): boolean {
  try {
    if (key.type === 'private') return cert.checkPrivateKey(key);
    if (key.type === 'public') {
      const ours = key.export({ type: 'spki', format: 'der' });
      const theirs = cert.publicKey.export({ type: 'spki', format: 'der' });
      return ours.equals(theirs);
    }
    return false;
  } catch {
    // OpenSSL refuses some pairs outright instead of answering "no"; either way they do not match.
    return false;
  }
}

export interface KeyTypePolicy {
  /** Whether this face accepts Ed25519 certificates (most TLS endpoints of the cloud APIs do not). */
  allowEd25519: boolean;
}

/** RSA sizes accepted: any modulus from 2048 to 4096 bits inclusive, not only 2048/3072/4096. */
export const RSA_MIN_BITS = 2048;
export const RSA_MAX_BITS = 4096;
export const ALLOWED_CURVES: readonly string[] = ['P-256', 'P-384', 'P-521'];

/**
 * Ladder step 8: the key types certkeeper imports.
 *
 * Allowed: RSA (rsaEncryption keys) with 2048 ≤ bits ≤ 4096 (odd sizes such as 2304 included:
 * they are valid RSA and every TLS stack takes them); EC on P-256, P-384 or P-521; Ed25519 only when
 * `policy.allowEd25519`. Refused: smaller or larger RSA, RSA-PSS-only keys (id-RSASSA-PSS: few TLS
 * endpoints accept them), other curves, Ed448, DSA, anything else.
 *
 * @throws AppError `key_type_unsupported` naming what was found and what is allowed, with details
 *   `{ algorithm, bits, curve? }` (no secrets: these are facts of the public key).
 */
export function checkKeyTypeAllowed(desc: KeyDescription, policy: KeyTypePolicy, field: InputField): void {
  switch (desc.algorithm) {
    case 'RSA':
      if (desc.bits >= RSA_MIN_BITS && desc.bits <= RSA_MAX_BITS) return;
      break;
    case 'EC':
      if (desc.curve !== null && ALLOWED_CURVES.includes(desc.curve)) return;
      break;
    case 'Ed25519':
      if (policy.allowEd25519) return;
      break;
    default:
      break;
  }
  const allowed = `RSA ${RSA_MIN_BITS}–${RSA_MAX_BITS} bits, EC ${ALLOWED_CURVES.join(', ')}${policy.allowEd25519 ? ', or Ed25519' : ''}`;
  const details: Record<string, string | number> = { algorithm: desc.algorithm, bits: desc.bits };
  if (desc.curve !== null) details.curve = desc.curve;
  throw new AppError(
    'key_type_unsupported',
    `The key of the ${fieldName(field)} is ${foundText(desc)}, which is not supported; allowed: ${allowed}.`,
    { field, details },
  );
}

function foundText(desc: KeyDescription): string {
  switch (desc.algorithm) {
    case 'RSA':
    case 'DSA':
      return `${desc.algorithm} ${desc.bits} bits`;
    case 'RSA-PSS':
      return `RSA-PSS (id-RSASSA-PSS) ${desc.bits} bits`;
    case 'EC':
      return `EC ${desc.curve ?? 'unnamed-curve'}`;
    case 'Ed25519':
    case 'Ed448':
      return desc.algorithm;
    case 'unknown':
      return desc.curve ?? 'unknown-algorithm';
  }
}
