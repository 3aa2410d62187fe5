/**
 * In-test PKI: mints real roots, intermediates and leaves with real keys, so tests exercise real
 * X.509 (chains, expiry, key types) instead of canned strings.
 *
 * Built on @peculiar/x509 (a dev dependency; never used by src/ on a hot path). Key generation is
 * the slow part (RSA-4096 takes about a second), so keys are pooled per key spec and reused unless a
 * test asks for `freshKey: true` (needed when two certificates must not share a key).
 *
 * Every function returns PEM text exactly as a user would paste it.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

// Web Crypto types from Node's own typings (the project does not load the DOM lib).
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type Algorithm = webcrypto.Algorithm;
type EcdsaParams = webcrypto.EcdsaParams;
type RsaHashedKeyGenParams = webcrypto.RsaHashedKeyGenParams;
type EcKeyGenParams = webcrypto.EcKeyGenParams;

x509.cryptoProvider.set(webcrypto as never);
const subtle = webcrypto.subtle;

export type KeySpec =
  | { kind: 'rsa'; bits: 1024 | 2048 | 3072 | 4096 }
  | { kind: 'ec'; curve: 'P-256' | 'P-384' | 'P-521' }
  | { kind: 'ed25519' };

export const RSA2048: KeySpec = { kind: 'rsa', bits: 2048 };
export const RSA3072: KeySpec = { kind: 'rsa', bits: 3072 };
export const RSA4096: KeySpec = { kind: 'rsa', bits: 4096 };
export const P256: KeySpec = { kind: 'ec', curve: 'P-256' };
export const P384: KeySpec = { kind: 'ec', curve: 'P-384' };
export const P521: KeySpec = { kind: 'ec', curve: 'P-521' };
export const ED25519: KeySpec = { kind: 'ed25519' };

export type HashName = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';

export interface SanSpec {
  dns?: string[];
  ip?: string[];
  email?: string[];
  uri?: string[];
}

export interface MintOptions {
  /** Subject CN; `null` for a subject without CN (SAN-only leaf). */
  cn?: string | null;
  /** Subject O. */
  o?: string;
  /** Full subject DN in @peculiar/x509 string form; overrides cn/o. */
  subject?: string;
  sans?: SanSpec;
  key?: KeySpec;
  freshKey?: boolean;
  notBefore?: Date;
  notAfter?: Date;
  /** Hex serial number. */
  serial?: string;
  /** Hash of the issuer's signature over this certificate (RSA and EC issuers). */
  hash?: HashName;
  /** Defaults: true for roots and intermediates, false for leaves. */
  isCa?: boolean;
  /** Omit the basicConstraints extension altogether. */
  noBasicConstraints?: boolean;
  keyUsages?: number;
  extendedKeyUsages?: string[];
}

export interface KeyPair {
  spec: KeySpec;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** node:crypto view of the private key, for exports in other encodings. */
  keyObject: KeyObject;
}

export interface Issued {
  cert: x509.X509Certificate;
  /** The certificate as PEM (LF line endings, trailing newline). */
  pem: string;
  /** The private key as PKCS#8 PEM. */
  keyPem: string;
  key: KeyPair;
  subject: string;
}

const DAY = 86_400_000;
const pool = new Map<string, Promise<KeyPair>>();

function specId(spec: KeySpec): string {
  return spec.kind === 'rsa' ? `rsa${spec.bits}` : spec.kind === 'ec' ? `ec${spec.curve}` : 'ed25519';
}

function generationAlgorithm(spec: KeySpec): RsaHashedKeyGenParams | EcKeyGenParams | Algorithm {
  switch (spec.kind) {
    case 'rsa':
      return {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: spec.bits,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      };
    case 'ec':
      return { name: 'ECDSA', namedCurve: spec.curve };
    case 'ed25519':
      return { name: 'Ed25519' };
  }
}

async function generateKey(spec: KeySpec): Promise<KeyPair> {
  const pair = (await subtle.generateKey(generationAlgorithm(spec), true, ['sign', 'verify'])) as CryptoKeyPair;
  const pkcs8 = Buffer.from(await subtle.exportKey('pkcs8', pair.privateKey));
  const keyObject = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  return { spec, privateKey: pair.privateKey, publicKey: pair.publicKey, keyObject };
}

/** A key of the given spec: pooled (shared with other certificates) unless `fresh`. */
export function keyPair(spec: KeySpec, fresh = false): Promise<KeyPair> {
  if (fresh) return generateKey(spec);
  const id = specId(spec);
  let pending = pool.get(id);
  if (!pending) {
    pending = generateKey(spec);
    pool.set(id, pending);
  }
  return pending;
}

/** The issuer's signing key, re-imported when a different RSA hash is requested. */
async function signingKey(
  issuerKey: KeyPair,
  hash: HashName,
): Promise<{ key: CryptoKey; algorithm: Algorithm | EcdsaParams }> {
  switch (issuerKey.spec.kind) {
    case 'ed25519':
      return { key: issuerKey.privateKey, algorithm: { name: 'Ed25519' } };
    case 'ec':
      return { key: issuerKey.privateKey, algorithm: { name: 'ECDSA', hash } as EcdsaParams };
    case 'rsa': {
      if (hash === 'SHA-256') return { key: issuerKey.privateKey, algorithm: { name: 'RSASSA-PKCS1-v1_5' } };
      const pkcs8 = await subtle.exportKey('pkcs8', issuerKey.privateKey);
      const key = await subtle.importKey('pkcs8', pkcs8, { name: 'RSASSA-PKCS1-v1_5', hash }, false, ['sign']);
      return { key, algorithm: { name: 'RSASSA-PKCS1-v1_5' } };
    }
  }
}

function subjectOf(options: MintOptions, fallbackCn: string): string {
  if (options.subject !== undefined) return options.subject;
  const parts: string[] = [];
  const cn = options.cn === undefined ? fallbackCn : options.cn;
  if (cn !== null) parts.push(`CN=${cn}`);
  if (options.o) parts.push(`O=${options.o}`);
  return parts.join(', ');
}

function sanExtension(sans: SanSpec): x509.SubjectAlternativeNameExtension {
  const names: x509.JsonGeneralName[] = [
    ...(sans.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(sans.ip ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(sans.email ?? []).map((value) => ({ type: 'email' as const, value })),
    ...(sans.uri ?? []).map((value) => ({ type: 'url' as const, value })),
  ];
  return new x509.SubjectAlternativeNameExtension(names);
}

let serialCounter = 0;
function nextSerial(): string {
  serialCounter += 1;
  // Positive, 16 bytes, unique within the process: 0x4… + counter.
  return `4${Date.now().toString(16).padStart(15, '0')}${serialCounter.toString(16).padStart(16, '0')}`;
}

async function mint(
  issuer: Issued | null,
  options: MintOptions,
  defaults: { cn: string; isCa: boolean; days: number },
): Promise<Issued> {
  const spec = options.key ?? (issuer ? issuer.key.spec : P256);
  const key = await keyPair(spec, options.freshKey ?? false);
  const subject = subjectOf(options, defaults.cn);
  const notBefore = options.notBefore ?? new Date(Date.now() - DAY);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + defaults.days * DAY);
  const isCa = options.isCa ?? defaults.isCa;

  const extensions: x509.Extension[] = [];
  if (!options.noBasicConstraints) extensions.push(new x509.BasicConstraintsExtension(isCa, undefined, true));
  const usages =
    options.keyUsages ??
    (isCa
      ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature
      : x509.KeyUsageFlags.digitalSignature | (spec.kind === 'rsa' ? x509.KeyUsageFlags.keyEncipherment : 0));
  extensions.push(new x509.KeyUsagesExtension(usages, true));
  const eku = options.extendedKeyUsages ?? (isCa ? [] : ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  if (eku.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(eku));
  if (options.sans) extensions.push(sanExtension(options.sans));
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(key.publicKey));
  if (issuer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.key.publicKey));

  const signer = issuer ? issuer.key : key;
  const { key: signWith, algorithm } = await signingKey(signer, options.hash ?? 'SHA-256');
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: options.serial ?? nextSerial(),
    subject,
    issuer: issuer ? issuer.cert.subject : subject,
    notBefore,
    notAfter,
    publicKey: key.publicKey,
    signingKey: signWith,
    signingAlgorithm: algorithm,
    extensions,
  });
  const keyPem = key.keyObject.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { cert, pem: toPem(cert), keyPem, key, subject };
}

function toPem(cert: x509.X509Certificate): string {
  return `${cert.toString('pem').replace(/\r\n/g, '\n').trimEnd()}\n`;
}

/** A self-signed CA certificate (10 years by default). */
export function mintRoot(options: MintOptions = {}): Promise<Issued> {
  return mint(null, { o: 'certkeeper Test CA', ...options }, { cn: 'certkeeper Test Root', isCa: true, days: 3650 });
}

/** An intermediate CA signed by `issuer` (5 years by default). */
export function mintIntermediate(issuer: Issued, options: MintOptions = {}): Promise<Issued> {
  return mint(
    issuer,
    { o: 'certkeeper Test CA', ...options },
    { cn: 'certkeeper Test Intermediate', isCa: true, days: 1825 },
  );
}

/** A TLS server leaf signed by `issuer` (90 days by default), SANs default to the CN. */
export function mintLeaf(issuer: Issued, options: MintOptions = {}): Promise<Issued> {
  const cn = options.cn === undefined ? 'www.example.com' : options.cn;
  const sans = options.sans ?? (cn ? { dns: [cn] } : undefined);
  return mint(issuer, { ...options, cn, ...(sans ? { sans } : {}) }, { cn: 'www.example.com', isCa: false, days: 90 });
}

/** A self-signed leaf (not a CA), as a user might import for internal use. */
export function mintSelfSignedLeaf(options: MintOptions = {}): Promise<Issued> {
  const cn = options.cn === undefined ? 'self.example.com' : options.cn;
  const sans = options.sans ?? (cn ? { dns: [cn] } : undefined);
  return mint(null, { ...options, cn, ...(sans ? { sans } : {}) }, { cn: 'self.example.com', isCa: false, days: 90 });
}

export interface Bundle {
  root: Issued;
  intermediate: Issued;
  leaf: Issued;
  /** intermediate + root, in order, as PEM text. */
  chainPem: string;
}

/** root → intermediate → leaf, with the leaf's key spec chosen by the caller. */
export async function mintBundle(
  options: { leaf?: MintOptions; rootKey?: KeySpec; intermediateKey?: KeySpec } = {},
): Promise<Bundle> {
  const root = await mintRoot({ key: options.rootKey ?? P256 });
  const intermediate = await mintIntermediate(root, { key: options.intermediateKey ?? P256 });
  const leaf = await mintLeaf(intermediate, options.leaf ?? {});
  return { root, intermediate, leaf, chainPem: intermediate.pem + root.pem };
}

/**
 * An X.509 **version 1** certificate (no version field, no extensions), RSA-2048 key, signed with
 * SHA-256: self-signed when `issuer` is null (an old-style root, as some long-lived public roots
 * still are), else signed by `issuer` (an RSA issuer). @peculiar/x509 writes only v3, so the
 * TBSCertificate is built with forge, its version field removed, and signed with node:crypto.
 */
export async function mintV1(issuer: Issued | null, options: { cn: string; days?: number }): Promise<Issued> {
  const key = await keyPair(RSA2048, true);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(
    createPublicKey(key.keyObject).export({ type: 'spki', format: 'pem' }).toString(),
  );
  cert.serialNumber = nextSerial();
  cert.validity.notBefore = new Date(Date.now() - DAY);
  cert.validity.notAfter = new Date(Date.now() + (options.days ?? 3650) * DAY);
  const subject = [
    { name: 'organizationName', value: 'certkeeper Test CA' },
    { name: 'commonName', value: options.cn },
  ];
  cert.setSubject(subject);
  cert.setIssuer(
    issuer
      ? issuer.cert.subjectName
          .toJSON()
          .flatMap((rdn) => Object.entries(rdn).map(([shortName, [value]]) => ({ shortName, value: value as string })))
      : subject,
  );
  cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption!;
  // forge exports getTBSCertificate; @types/node-forge does not declare it.
  const tbs = (
    forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }
  ).getTBSCertificate(cert);
  (tbs.value as forge.asn1.Asn1[]).shift(); // the [0] version field: absent means v1
  const tbsDer = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  const signature = sign('sha256', tbsDer, (issuer ?? { key }).key.keyObject);
  const { asn1 } = forge;
  const certificate = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(
        asn1.Class.UNIVERSAL,
        asn1.Type.OID,
        false,
        asn1.oidToDer(forge.pki.oids.sha256WithRSAEncryption!).getBytes(),
      ),
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
    ]),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\u0000${signature.toString('binary')}`),
  ]);
  const der = Buffer.from(asn1.toDer(certificate).getBytes(), 'binary');
  const parsed = new x509.X509Certificate(der);
  const keyPem = key.keyObject.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { cert: parsed, pem: toPem(parsed), keyPem, key, subject: parsed.subject };
}

/** The private key of `issued` in another PEM encoding: PKCS#1 (RSA) or SEC1 (EC). */
export function keyPemAs(issued: Issued, type: 'pkcs1' | 'sec1' | 'pkcs8'): string {
  return issued.key.keyObject.export({ type, format: 'pem' } as never).toString();
}

/** The certificate's DER bytes. */
export function derOf(issued: Issued): Buffer {
  return Buffer.from(issued.cert.rawData);
}

export const days = (n: number): number => n * DAY;
