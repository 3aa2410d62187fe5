/**
 * PKCS#12 (RFC 7292; `.p12`/`.pfx`): reading one into the import ladder's PEM input, and writing
 * one from a stored certificate, its chain and key.
 *
 * Reading (`pkcs12ToImportFields`) is a conversion, not a validation: it opens the file with the
 * passphrase (MAC, then each encrypted part), takes out the certificates and the private key, picks
 * which certificate is the leaf (the one the file pairs with the key by `localKeyId`, else the one
 * whose public key is the key's, else the first that is not a CA) and hands PEM text to the ladder
 * (ladder.ts), which then checks everything it checks for pasted PEM. What only this step can know
 * is refused here, with `field: 'pkcs12'` (or `'passphrase'`):
 *   - not a PKCS#12 file, or a damaged one               invalid_argument
 *   - over PKCS12_MAX_BYTES                              input_too_large
 *   - the passphrase does not open it                    invalid_argument (field `passphrase`)
 *   - no certificate in it                               certificate_missing
 *   - more than one private key                          key_multiple
 *   - an algorithm outside the list below                invalid_argument, naming the OID
 * Read: MAC with SHA-1/224/256/384/512 (PKCS#12 KDF, RFC 7292 B.2); PBES2 (PBKDF2 with any
 * HMAC-SHA PRF, AES-128/192/256-CBC or 3DES-CBC); pbeWithSHAAnd3-KeyTripleDES-CBC and
 * pbeWithSHAAnd40BitRC2-CBC (what `openssl pkcs12 -export -legacy` and old Windows write; RC2 is
 * node-forge's, since OpenSSL 3 keeps it in the legacy provider Node does not load).
 *
 * Writing (`encodePkcs12`): what OpenSSL 3's `openssl pkcs12 -export` writes by default, so every
 * current tool opens it: key and certificates encrypted with PBES2 (PBKDF2 with HMAC-SHA256,
 * AES-256-CBC, 2048 iterations), MAC HMAC-SHA256. `legacy: true` writes what Java 8 before 8u301
 * and Windows Server 2016 and older can open: pbeWithSHAAnd3-KeyTripleDES-CBC for key and
 * certificates and a SHA-1 MAC (no RC2: OpenSSL 3 reads a 3DES file without `-legacy`).
 *
 * Passphrases: PBES2 takes the UTF-8 bytes, the PKCS#12 KDF the BMPString with its two zero bytes,
 * as OpenSSL does. Iteration counts above PKCS12_MAX_ITERATIONS are refused, so a hostile file
 * cannot make the server spin. No error message or cause carries key material or the passphrase.
 *
 * ASN.1 is node-forge's (asn1.ts); hashes, HMAC, PBKDF2, AES and 3DES are node:crypto's.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  pbkdf2Sync,
  randomBytes,
  timingSafeEqual,
  X509Certificate,
} from 'node:crypto';
import { createRequire } from 'node:module';
import type forge from 'node-forge';
import { AppError } from '../errors.ts';
import { armour } from './pem.ts';
import { IMPORT_LIMITS } from './ladder.ts';

const require = createRequire(import.meta.url);
const asn1 = require('node-forge/lib/asn1.js') as typeof forge.asn1;
const forgeUtil = require('node-forge/lib/util.js') as typeof forge.util;
const rc2 = (require('node-forge/lib/rc2.js') as { createDecryptionCipher(key: unknown, bits: number): ForgeCipher })
  .createDecryptionCipher;

interface ForgeCipher {
  start(iv: unknown): void;
  update(input: unknown): void;
  finish(): boolean;
  output: { getBytes(): string };
}

type Node = forge.asn1.Asn1;

/** The largest PKCS#12 file read: as large as the ladder's one-file import (leaf, chain, key). */
export const PKCS12_MAX_BYTES = IMPORT_LIMITS.fileBytes;
/** Above this, a KDF iteration count is refused (OpenSSL writes 2048, Java 10000, Windows 2000). */
export const PKCS12_MAX_ITERATIONS = 1_000_000;
/** What encodePkcs12 writes (OpenSSL 3's default). */
const WRITE_ITERATIONS = 2048;

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  pbeSha1TripleDes: '1.2.840.113549.1.12.1.3',
  pbeSha1Rc2_40: '1.2.840.113549.1.12.1.6',
  aes128Cbc: '2.16.840.1.101.3.4.1.2',
  aes192Cbc: '2.16.840.1.101.3.4.1.22',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  desEde3Cbc: '1.2.840.113549.3.7',
  hmacWithSha1: '1.2.840.113549.2.7',
  hmacWithSha256: '1.2.840.113549.2.9',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

/** Digest OIDs of a MAC, and HMAC OIDs of a PBKDF2 PRF, to node:crypto hash names. */
const MAC_DIGESTS: Readonly<Record<string, string>> = {
  [OID.sha1]: 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  [OID.sha256]: 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const PRF_DIGESTS: Readonly<Record<string, string>> = {
  [OID.hmacWithSha1]: 'sha1',
  '1.2.840.113549.2.8': 'sha224',
  [OID.hmacWithSha256]: 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};
const PBES2_CIPHERS: Readonly<Record<string, { name: string; keyBytes: number }>> = {
  [OID.aes128Cbc]: { name: 'aes-128-cbc', keyBytes: 16 },
  [OID.aes192Cbc]: { name: 'aes-192-cbc', keyBytes: 24 },
  [OID.aes256Cbc]: { name: 'aes-256-cbc', keyBytes: 32 },
  [OID.desEde3Cbc]: { name: 'des-ede3-cbc', keyBytes: 24 },
};

// ---------------------------------------------------------------------------------------------
// Errors

/** Structure not as RFC 7292 says; turned into the `invalid_argument` of a damaged file. */
class Malformed extends Error {}
/** The passphrase failed a check (MAC or padding). */
class WrongPassphrase extends Error {}
/** A well-formed file using an algorithm not read here. */
class Unsupported extends Error {}

const damaged = (): AppError =>
  new AppError(
    'invalid_argument',
    'The PKCS#12 file is damaged or is not a PKCS#12 (.p12/.pfx) file. Export it again from where it came from.',
    { field: 'pkcs12' },
  );

const wrongPassphrase = (): AppError =>
  new AppError(
    'invalid_argument',
    'The passphrase does not open this PKCS#12 file. Check the passphrase (it is case-sensitive); if it is right, the file was damaged on the way: export it again.',
    { field: 'passphrase' },
  );

// ---------------------------------------------------------------------------------------------
// ASN.1 helpers (forge binary strings: one character per byte)

const U = asn1.Class.UNIVERSAL;
const T = asn1.Type;

function parse(bytes: string): Node {
  try {
    // BER: PKCS#12 writers use indefinite lengths and constructed OCTET STRINGs (RFC 7292 §4).
    return asn1.fromDer(bytes, { strict: true, parseAllBytes: true, decodeBitStrings: false } as never);
  } catch {
    throw new Malformed('not BER');
  }
}

function children(node: Node | undefined, type: number = T.SEQUENCE): Node[] {
  if (!node || node.tagClass !== U || node.type !== type || !Array.isArray(node.value)) throw new Malformed('shape');
  return node.value;
}

function at(nodes: Node[], index: number): Node {
  const node = nodes[index];
  if (!node) throw new Malformed('shape');
  return node;
}

function oid(node: Node | undefined): string {
  if (!node || node.tagClass !== U || node.type !== T.OID || typeof node.value !== 'string')
    throw new Malformed('shape');
  return asn1.derToOid(node.value);
}

/** Content of an OCTET STRING, joining the pieces of a constructed (BER) one. */
function octets(node: Node | undefined): string {
  if (!node || node.tagClass !== U || node.type !== T.OCTETSTRING) throw new Malformed('shape');
  if (typeof node.value === 'string') return node.value;
  return node.value.map((piece) => octets(piece)).join('');
}

function integer(node: Node | undefined): number {
  if (!node || node.tagClass !== U || node.type !== T.INTEGER || typeof node.value !== 'string')
    throw new Malformed('shape');
  const bytes = node.value;
  if (bytes.length === 0 || bytes.length > 6 || bytes.charCodeAt(0) >= 0x80) throw new Malformed('integer');
  return Number.parseInt(forgeUtil.bytesToHex(bytes), 16);
}

/** The value of an `[n] EXPLICIT` wrapper. */
function explicit(node: Node | undefined, tag: number): Node {
  if (
    !node ||
    node.tagClass !== asn1.Class.CONTEXT_SPECIFIC ||
    node.type !== tag ||
    !Array.isArray(node.value) ||
    node.value.length !== 1
  )
    throw new Malformed('shape');
  return node.value[0] as Node;
}

const bin = (bytes: Buffer): string => bytes.toString('latin1');
const buf = (bytes: string): Buffer => Buffer.from(bytes, 'latin1');

const seq = (...items: Node[]): Node => asn1.create(U, T.SEQUENCE, true, items);
const set = (...items: Node[]): Node => asn1.create(U, T.SET, true, items);
const oidNode = (dotted: string): Node => asn1.create(U, T.OID, false, asn1.oidToDer(dotted).getBytes());
const octetNode = (bytes: Buffer): Node => asn1.create(U, T.OCTETSTRING, false, bin(bytes));
const intNode = (n: number): Node => asn1.create(U, T.INTEGER, false, asn1.integerToDer(n).getBytes());
const nullNode = (): Node => asn1.create(U, T.NULL, false, '');
const ctx0 = (inner: Node): Node => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [inner]);
const der = (node: Node): Buffer => buf(asn1.toDer(node).getBytes());

// ---------------------------------------------------------------------------------------------
// Passphrases and key derivation

/** BMPString of the passphrase with its two terminating zero bytes (RFC 7292 B.1). */
function bmpPassword(passphrase: string): Buffer {
  const out = Buffer.alloc(passphrase.length * 2 + 2);
  for (let i = 0; i < passphrase.length; i += 1) out.writeUInt16BE(passphrase.charCodeAt(i), i * 2);
  return out;
}

const HASH_BLOCK: Readonly<Record<string, number>> = { sha1: 64, sha224: 64, sha256: 64, sha384: 128, sha512: 128 };

/** The PKCS#12 KDF (RFC 7292 B.2): `id` 1 makes cipher keys, 2 IVs, 3 MAC keys. */
function pkcs12Kdf(hash: string, password: Buffer, salt: Buffer, id: 1 | 2 | 3, iterations: number, n: number): Buffer {
  const v = HASH_BLOCK[hash] ?? 64;
  const repeat = (source: Buffer): Buffer => {
    if (source.length === 0) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(source.length / v));
    for (let i = 0; i < out.length; i += 1) out[i] = source[i % source.length] as number;
    return out;
  };
  const D = Buffer.alloc(v, id);
  const I = Buffer.concat([repeat(salt), repeat(password)]);
  const parts: Buffer[] = [];
  let produced = 0;
  while (produced < n) {
    let A = createHash(hash).update(D).update(I).digest();
    for (let r = 1; r < iterations; r += 1) A = createHash(hash).update(A).digest();
    parts.push(A);
    produced += A.length;
    if (produced >= n) break;
    const B = Buffer.alloc(v);
    for (let i = 0; i < v; i += 1) B[i] = A[i % A.length] as number;
    // I_j = (I_j + B + 1) mod 2^(8v), for each v-byte block of I.
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k -= 1) {
        const sum = (I[j + k] as number) + (B[k] as number) + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(parts).subarray(0, n);
}

function checkIterations(iterations: number): number {
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new Malformed('iterations');
  if (iterations > PKCS12_MAX_ITERATIONS)
    throw new Unsupported(`an iteration count of ${iterations} (at most ${PKCS12_MAX_ITERATIONS} are read)`);
  return iterations;
}

// ---------------------------------------------------------------------------------------------
// Decryption of one encrypted part (an EncryptedPrivateKeyInfo or an EncryptedContentInfo)

function decrypt(algorithm: Node, ciphertext: string, passphrase: string): Buffer {
  const parts = children(algorithm);
  const algorithmOid = oid(at(parts, 0));
  const data = buf(ciphertext);
  if (algorithmOid === OID.pbes2) {
    const params = children(at(parts, 1));
    const kdf = children(at(params, 0));
    if (oid(at(kdf, 0)) !== OID.pbkdf2) throw new Unsupported(`the key derivation ${oid(at(kdf, 0))}`);
    const kdfParams = children(at(kdf, 1));
    const salt = buf(octets(at(kdfParams, 0)));
    const iterations = checkIterations(integer(at(kdfParams, 1)));
    let prf = 'sha1';
    for (const extra of kdfParams.slice(2)) {
      if (extra.type === T.SEQUENCE) {
        const prfOid = oid(at(children(extra), 0));
        const name = PRF_DIGESTS[prfOid];
        if (!name) throw new Unsupported(`the PBKDF2 function ${prfOid}`);
        prf = name;
      }
    }
    const scheme = children(at(params, 1));
    const cipherOid = oid(at(scheme, 0));
    const cipher = PBES2_CIPHERS[cipherOid];
    if (!cipher) throw new Unsupported(`the cipher ${cipherOid}`);
    const iv = buf(octets(at(scheme, 1)));
    const key = pbkdf2Sync(Buffer.from(passphrase, 'utf8'), salt, iterations, cipher.keyBytes, prf);
    return finish(() => {
      const decipher = createDecipheriv(cipher.name, key, iv);
      return Buffer.concat([decipher.update(data), decipher.final()]);
    });
  }
  if (algorithmOid === OID.pbeSha1TripleDes || algorithmOid === OID.pbeSha1Rc2_40) {
    const params = children(at(parts, 1));
    const salt = buf(octets(at(params, 0)));
    const iterations = checkIterations(integer(at(params, 1)));
    const password = bmpPassword(passphrase);
    const tripleDes = algorithmOid === OID.pbeSha1TripleDes;
    const key = pkcs12Kdf('sha1', password, salt, 1, iterations, tripleDes ? 24 : 5);
    const iv = pkcs12Kdf('sha1', password, salt, 2, iterations, 8);
    if (tripleDes) {
      return finish(() => {
        const decipher = createDecipheriv('des-ede3-cbc', key, iv);
        return Buffer.concat([decipher.update(data), decipher.final()]);
      });
    }
    const rc2Cipher = rc2(forgeUtil.createBuffer(bin(key)), 40);
    rc2Cipher.start(forgeUtil.createBuffer(bin(iv)));
    rc2Cipher.update(forgeUtil.createBuffer(ciphertext));
    if (!rc2Cipher.finish()) throw new WrongPassphrase();
    return buf(rc2Cipher.output.getBytes());
  }
  throw new Unsupported(`the encryption ${algorithmOid}`);
}

/** A CBC decryption whose padding check fails was made with another passphrase. */
function finish(run: () => Buffer): Buffer {
  try {
    return run();
  } catch {
    throw new WrongPassphrase();
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

interface Bag {
  der: Buffer;
  localKeyId: string | null;
}

export interface ImportFields {
  /** PEM of the leaf certificate. */
  certificate: string;
  /** PEM (PKCS#8) of the private key, when the file holds one. */
  privateKey: string | undefined;
  /** PEM of the other certificates, in the file's order; undefined when there are none. */
  chain: string | undefined;
}

/**
 * Opens a PKCS#12 file with its passphrase and returns the ladder's PEM fields. See the module
 * comment for what is refused here and what is left to the ladder.
 */
export function pkcs12ToImportFields(bytes: Buffer, passphrase: string): ImportFields {
  if (bytes.length > PKCS12_MAX_BYTES) {
    throw new AppError(
      'input_too_large',
      `The PKCS#12 file is ${bytes.length} bytes; the limit is ${PKCS12_MAX_BYTES} bytes.`,
      { field: 'pkcs12', details: { limit: PKCS12_MAX_BYTES, actual: bytes.length } },
    );
  }
  let contents: { certificates: Bag[]; keys: Bag[] };
  try {
    contents = readPfx(bin(bytes), passphrase);
  } catch (error) {
    if (error instanceof WrongPassphrase) throw wrongPassphrase();
    if (error instanceof Unsupported) {
      throw new AppError(
        'invalid_argument',
        `The PKCS#12 file uses ${error.message}, which certkeeper does not read. Export it again with current settings (e.g. \`openssl pkcs12 -export\`).`,
        { field: 'pkcs12' },
      );
    }
    // Malformed, and anything forge throws on hostile input (deep nesting included).
    throw damaged();
  }
  const { certificates, keys } = contents;
  if (keys.length > 1) {
    throw new AppError(
      'key_multiple',
      `The PKCS#12 file holds ${keys.length} private keys; certkeeper imports one certificate with its key. Export that one alone.`,
      { field: 'pkcs12', details: { count: keys.length } },
    );
  }
  if (certificates.length === 0) {
    throw new AppError(
      'certificate_missing',
      'The PKCS#12 file holds no certificate. Export it again with the certificate (and its chain).',
      { field: 'pkcs12' },
    );
  }
  const key = keys[0] ?? null;
  const leafIndex = pickLeaf(certificates, key);
  const chain = certificates.filter((_, i) => i !== leafIndex).map((bag) => armour('CERTIFICATE', bag.der));
  return {
    certificate: armour('CERTIFICATE', (certificates[leafIndex] as Bag).der),
    privateKey: key ? armour('PRIVATE KEY', key.der) : undefined,
    chain: chain.length > 0 ? chain.join('') : undefined,
  };
}

function readPfx(bytes: string, passphrase: string): { certificates: Bag[]; keys: Bag[] } {
  const pfx = children(parse(bytes));
  if (integer(at(pfx, 0)) !== 3) throw new Malformed('version');
  const authSafe = children(at(pfx, 1));
  if (oid(at(authSafe, 0)) !== OID.data)
    throw new Unsupported('public-key integrity mode (only password integrity is read)');
  const content = octets(explicit(at(authSafe, 1), 0));
  const macData = pfx[2];
  if (macData) verifyMac(macData, content, passphrase);

  const certificates: Bag[] = [];
  const keys: Bag[] = [];
  for (const info of children(parse(content))) {
    const parts = children(info);
    const type = oid(at(parts, 0));
    let safeContents: string;
    if (type === OID.data) {
      safeContents = octets(explicit(at(parts, 1), 0));
    } else if (type === OID.encryptedData) {
      const encryptedData = children(explicit(at(parts, 1), 0));
      const encryptedContentInfo = children(at(encryptedData, 1));
      const encrypted = encryptedContentInfo[2];
      if (!encrypted || encrypted.tagClass !== asn1.Class.CONTEXT_SPECIFIC || encrypted.type !== 0)
        throw new Malformed('encryptedContent');
      // [0] IMPLICIT OCTET STRING: primitive, or constructed of OCTET STRING pieces.
      const ciphertext =
        typeof encrypted.value === 'string' ? encrypted.value : encrypted.value.map((p) => octets(p)).join('');
      safeContents = bin(decrypt(at(encryptedContentInfo, 1), ciphertext, passphrase));
    } else {
      throw new Unsupported(`the content type ${type}`);
    }
    readSafeContents(safeContents, passphrase, certificates, keys);
  }
  return { certificates, keys };
}

function readSafeContents(bytes: string, passphrase: string, certificates: Bag[], keys: Bag[]): void {
  for (const bag of children(parse(bytes))) {
    const parts = children(bag);
    const type = oid(at(parts, 0));
    const value = explicit(at(parts, 1), 0);
    const localKeyId = localKeyIdOf(parts[2]);
    if (type === OID.keyBag) {
      keys.push({ der: der(value), localKeyId });
    } else if (type === OID.shroudedKeyBag) {
      const encrypted = children(value);
      keys.push({ der: decrypt(at(encrypted, 0), octets(at(encrypted, 1)), passphrase), localKeyId });
    } else if (type === OID.certBag) {
      const certBag = children(value);
      // Other certificate types (SDSI) are not X.509: skipped, as OpenSSL does.
      if (oid(at(certBag, 0)) !== OID.x509Certificate) continue;
      certificates.push({ der: buf(octets(explicit(at(certBag, 1), 0))), localKeyId });
    }
    // CRL, secret and nested bags carry nothing certkeeper stores: skipped.
  }
}

function localKeyIdOf(attributes: Node | undefined): string | null {
  if (!attributes) return null;
  for (const attribute of children(attributes, T.SET)) {
    const parts = children(attribute);
    if (oid(at(parts, 0)) !== OID.localKeyId) continue;
    const values = children(at(parts, 1), T.SET);
    return values[0] ? octets(values[0]) : null;
  }
  return null;
}

function verifyMac(macData: Node, content: string, passphrase: string): void {
  const parts = children(macData);
  const digestInfo = children(at(parts, 0));
  const digestOid = oid(at(children(at(digestInfo, 0)), 0));
  const hash = MAC_DIGESTS[digestOid];
  if (!hash) throw new Unsupported(`the MAC digest ${digestOid}`);
  const expected = buf(octets(at(digestInfo, 1)));
  const salt = buf(octets(at(parts, 1)));
  const iterations = checkIterations(parts[2] ? integer(parts[2]) : 1);
  const size = createHash(hash).digest().length;
  // An empty passphrase is written either as the two zero bytes or as no bytes: OpenSSL tries both.
  const passwords = passphrase === '' ? [bmpPassword(''), Buffer.alloc(0)] : [bmpPassword(passphrase)];
  for (const password of passwords) {
    const key = pkcs12Kdf(hash, password, salt, 3, iterations, size);
    const mac = createHmac(hash, key).update(buf(content)).digest();
    if (mac.length === expected.length && timingSafeEqual(mac, expected)) return;
  }
  throw new WrongPassphrase();
}

function pickLeaf(certificates: Bag[], key: Bag | null): number {
  if (key?.localKeyId) {
    const paired = certificates.findIndex((c) => c.localKeyId === key.localKeyId);
    if (paired >= 0) return paired;
  }
  const parsed = certificates.map((c) => {
    try {
      return new X509Certificate(c.der);
    } catch {
      return null; // the ladder says what is wrong with it
    }
  });
  if (key) {
    try {
      const spki = createPublicKey(createPrivateKey({ key: key.der, format: 'der', type: 'pkcs8' })).export({
        type: 'spki',
        format: 'der',
      });
      const match = parsed.findIndex((c) => c?.publicKey.export({ type: 'spki', format: 'der' }).equals(spki));
      if (match >= 0) return match;
    } catch {
      // The ladder refuses the key with its own message.
    }
  }
  const endEntity = parsed.findIndex((c) => c !== null && !c.ca);
  return endEntity >= 0 ? endEntity : 0;
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface Pkcs12Parts {
  certificateDer: Buffer;
  /** Issuers, leaf's issuer first. */
  chainDers: readonly Buffer[];
  /** PKCS#8 DER of the key, or null for a file of certificates only. */
  privateKeyPkcs8Der: Buffer | null;
  /** Shown by Windows and Java as the entry's name (alias). */
  friendlyName: string;
}

export interface Pkcs12Options {
  passphrase: string;
  /** 3DES and a SHA-1 MAC, for old Java and Windows; otherwise AES-256 and SHA-256. */
  legacy: boolean;
}

/** Writes a PKCS#12 file; see the module comment for the algorithms. */
export function encodePkcs12(parts: Pkcs12Parts, options: Pkcs12Options): Buffer {
  const { passphrase, legacy } = options;
  const localKeyId = createHash('sha1').update(parts.certificateDer).digest();
  const attributes = (withKeyId: boolean): Node =>
    set(
      seq(oidNode(OID.friendlyName), set(asn1.create(U, T.BMPSTRING, false, parts.friendlyName))),
      ...(withKeyId ? [seq(oidNode(OID.localKeyId), set(octetNode(localKeyId)))] : []),
    );
  const certBag = (certificate: Buffer, leaf: boolean): Node =>
    seq(
      oidNode(OID.certBag),
      ctx0(seq(oidNode(OID.x509Certificate), ctx0(octetNode(certificate)))),
      ...(leaf ? [attributes(true)] : []),
    );
  const certificates = der(
    seq(certBag(parts.certificateDer, true), ...parts.chainDers.map((chain) => certBag(chain, false))),
  );
  const [certAlgorithm, certCiphertext] = encrypt(certificates, passphrase, legacy);
  const safes: Node[] = [
    seq(
      oidNode(OID.encryptedData),
      ctx0(
        seq(
          intNode(0),
          seq(
            oidNode(OID.data),
            certAlgorithm,
            asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, false, bin(certCiphertext)),
          ),
        ),
      ),
    ),
  ];
  if (parts.privateKeyPkcs8Der) {
    const [keyAlgorithm, keyCiphertext] = encrypt(parts.privateKeyPkcs8Der, passphrase, legacy);
    const keyBag = seq(
      oidNode(OID.shroudedKeyBag),
      ctx0(seq(keyAlgorithm, octetNode(keyCiphertext))),
      attributes(true),
    );
    safes.push(seq(oidNode(OID.data), ctx0(octetNode(der(seq(keyBag))))));
  }
  const authenticatedSafe = der(seq(...safes));
  const hash = legacy ? 'sha1' : 'sha256';
  const macSalt = randomBytes(8);
  const macKey = pkcs12Kdf(hash, bmpPassword(passphrase), macSalt, 3, WRITE_ITERATIONS, legacy ? 20 : 32);
  const mac = createHmac(hash, macKey).update(authenticatedSafe).digest();
  return der(
    seq(
      intNode(3),
      seq(oidNode(OID.data), ctx0(octetNode(authenticatedSafe))),
      seq(
        seq(seq(oidNode(legacy ? OID.sha1 : OID.sha256), nullNode()), octetNode(mac)),
        octetNode(macSalt),
        intNode(WRITE_ITERATIONS),
      ),
    ),
  );
}

/** Encrypts one part; returns its AlgorithmIdentifier and the ciphertext. */
function encrypt(plaintext: Buffer, passphrase: string, legacy: boolean): [Node, Buffer] {
  const salt = randomBytes(8);
  if (legacy) {
    const password = bmpPassword(passphrase);
    const key = pkcs12Kdf('sha1', password, salt, 1, WRITE_ITERATIONS, 24);
    const iv = pkcs12Kdf('sha1', password, salt, 2, WRITE_ITERATIONS, 8);
    const cipher = createCipheriv('des-ede3-cbc', key, iv);
    return [
      seq(oidNode(OID.pbeSha1TripleDes), seq(octetNode(salt), intNode(WRITE_ITERATIONS))),
      Buffer.concat([cipher.update(plaintext), cipher.final()]),
    ];
  }
  const iv = randomBytes(16);
  const key = pbkdf2Sync(Buffer.from(passphrase, 'utf8'), salt, WRITE_ITERATIONS, 32, 'sha256');
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const algorithm = seq(
    oidNode(OID.pbes2),
    seq(
      seq(
        oidNode(OID.pbkdf2),
        seq(octetNode(salt), intNode(WRITE_ITERATIONS), seq(oidNode(OID.hmacWithSha256), nullNode())),
      ),
      seq(oidNode(OID.aes256Cbc), octetNode(iv)),
    ),
  );
  return [algorithm, Buffer.concat([cipher.update(plaintext), cipher.final()])];
}
