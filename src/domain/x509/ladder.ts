/**
 * The import ladder: the one function every way in (NCP v1/v2 `withExternal`, NHN file upload,
 * console, CLI) runs before anything is stored. It turns user text into a validated import
 * candidate with every fact derived from the bytes, or throws the AppError of the first step that
 * failed. Steps, in order (DESIGN.md, "Import: the validation ladder"):
 *
 *  1. sizes                       input_too_large
 *  2. PEM decodes                 pem_malformed, pem_too_many_blocks, key_encrypted
 *  3. exactly one certificate     certificate_missing, certificate_multiple, certificate_invalid
 *  4. private key parses          key_missing, key_multiple, key_invalid
 *  5. key matches certificate     key_mismatch
 *  6. validity window             certificate_expired, certificate_not_yet_valid
 *  7. chain                       chain_invalid, chain_issuer_missing, chain_signature_invalid,
 *                                 chain_not_ca, chain_expired, chain_unrelated, chain_ambiguous
 *  8. key type allowed            key_type_unsupported
 *  9. not a duplicate             already_exists        (core: needs the store, runs in the write transaction)
 * 10. the face's name rule        name_invalid
 * 11. the face's own checks       the face's AppError   (policy.check: rules on the candidate's facts,
 *                                                        such as NHN's name coverage, 52004, and CA name, 52006)
 *
 * Pure and synchronous: the clock and the face's policy come in as arguments; nothing is stored.
 */
import { X509Certificate } from 'node:crypto';
import { AppError, type InputField } from '../errors.ts';
import { buildChain } from './chain.ts';
import { parseCertificateDer } from './inspect.ts';
import { checkKeyTypeAllowed, keyMatchesCertificate, parsePrivateKey } from './keys.ts';
import { splitPem } from './pem.ts';
import type { CertificateFacts, ParsedCertificate, ParsedPrivateKey, PemBlock } from './types.ts';

/** Size caps per field (step 1). Generous for real bundles, small enough to bound the work. */
export const IMPORT_LIMITS = {
  certificateBytes: 32 * 1024,
  privateKeyBytes: 16 * 1024,
  chainBytes: 2 * 1024 * 1024,
  fileBytes: 512 * 1024,
  nameBytes: 255,
  /** A real chain has 1–4 issuers; 64 blocks allows odd bundles while capping parse work. */
  chainBlocks: 64,
  /** Leaf + chain + key in one NHN file. */
  fileBlocks: 64,
} as const;

export interface ImportInput {
  name: string;
  /** PEM text of the leaf certificate. */
  certificate?: string | undefined;
  /** PEM text of the private key. */
  privateKey?: string | undefined;
  /** PEM text of the issuers, any order. */
  chain?: string | undefined;
  /**
   * An NHN-style file: leaf, issuers and key in one PEM text. When present, `certificate`,
   * `privateKey` and `chain` must be absent.
   */
  file?: { name: string; bytes: Buffer } | undefined;
  /**
   * The key of `privateKey` as the caller parsed it already (the bulk import pairs keys by
   * parsing them: domain/x509/file-set.ts), with the canonical PEM of the block it parsed. Step 4
   * takes it instead of parsing again only when that PEM is the one its own split finds (the same
   * bytes under the same label); otherwise it parses the field as always.
   */
  parsedKey?: { pem: string; key: ParsedPrivateKey } | undefined;
  /**
   * The certificate of `certificate` as the caller parsed it already (the same pairing). Step 3
   * takes it instead of parsing again only when its DER is exactly the block's.
   */
  parsedCertificate?: X509Certificate | undefined;
}

export interface NameRule {
  /** Returns true when the name is acceptable. */
  test(name: string): boolean;
  /** What the rule is, in words, for the error message. */
  description: string;
}

export interface ImportPolicy {
  /** The injected clock's reading. */
  now: Date;
  /** Whether a private key must be present (NCP: yes; NHN file and CLI: optional). */
  requireKey: boolean;
  allowEd25519: boolean;
  nameRule: NameRule | null;
  /**
   * Step 11, the face's own rules on what the bytes say (the name and the derived facts): throws
   * the AppError the face renders. Runs last, so every refusal of the steps above comes first.
   */
  check?: ((candidate: { name: string; facts: CertificateFacts }) => void) | undefined;
}

export interface ImportCandidate {
  name: string;
  leaf: ParsedCertificate;
  facts: CertificateFacts;
  /** Issuers in path order (leaf's issuer first), canonical PEM. */
  chainPems: string[];
  /** True when the chain came in another order, with duplicates, and was put right. */
  chainRepaired: boolean;
  privateKey: ParsedPrivateKey | null;
  file: { name: string; bytes: Buffer } | null;
}

/** The ladder's answer as a value: the candidate, or the AppError of the step that refused it. */
export type LadderOutcome = { candidate: ImportCandidate } | { error: AppError };

/** `runImportLadder` with its refusal as a value; an error that is not an AppError is thrown. */
export function tryImportLadder(input: ImportInput, policy: ImportPolicy): LadderOutcome {
  try {
    return { candidate: runImportLadder(input, policy) };
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return { error };
  }
}

export function runImportLadder(input: ImportInput, policy: ImportPolicy): ImportCandidate {
  checkSizes(input);
  const pieces = input.file ? splitFile(input.file) : splitFields(input);

  const privateKey = parseKey(pieces.keys, pieces.keyField, policy.requireKey, input.parsedKey);
  const { leaf, chain: chainBlocks } = pickLeaf(pieces, privateKey, input.parsedCertificate);
  refuseNulInNames(leaf.facts, pieces.certificateField);

  if (privateKey && !keyMatchesCertificate(privateKey.keyObject, leaf.x509)) {
    throw new AppError(
      'key_mismatch',
      'The private key does not belong to this certificate: its public key differs from the one in the certificate. Check that you paired the right key and certificate files.',
      { field: pieces.keyField },
    );
  }

  checkValidity(leaf, pieces.certificateField, policy.now);
  const chain = checkChain(leaf, chainBlocks, pieces, policy.now);
  checkKeyTypeAllowed(leaf.facts.key, { allowEd25519: policy.allowEd25519 }, pieces.certificateField);
  checkName(input.name, policy.nameRule);
  policy.check?.({ name: input.name, facts: leaf.facts });

  return {
    name: input.name,
    leaf,
    facts: leaf.facts,
    chainPems: chain.pems,
    chainRepaired: chain.repaired,
    privateKey,
    file: input.file ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// Step 1

function checkSizes(input: ImportInput): void {
  const fields: Array<[InputField, string | Buffer | undefined, number]> = [
    ['name', input.name, IMPORT_LIMITS.nameBytes],
    ['certificate', input.certificate, IMPORT_LIMITS.certificateBytes],
    ['privateKey', input.privateKey, IMPORT_LIMITS.privateKeyBytes],
    ['chain', input.chain, IMPORT_LIMITS.chainBytes],
    ['file', input.file?.bytes, IMPORT_LIMITS.fileBytes],
  ];
  for (const [field, value, limit] of fields) {
    if (value === undefined) continue;
    const actual = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
    if (actual > limit) {
      throw new AppError(
        'input_too_large',
        `The ${describeField(field)} is ${actual} bytes; the limit is ${limit} bytes.`,
        {
          field,
          details: { limit, actual },
        },
      );
    }
  }
  if (input.file && (input.certificate !== undefined || input.privateKey !== undefined || input.chain !== undefined)) {
    throw new AppError(
      'invalid_argument',
      'Send either one file, or the certificate, key and chain fields; not both.',
      { field: 'file' },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Step 2: split every field into blocks. Each field must hold only what belongs in it.

interface Pieces {
  certificates: PemBlock[];
  keys: PemBlock[];
  chain: PemBlock[];
  /** The chain field's text when it is to be remembered once parsed (see `parsedChains`). */
  chainText: string | null;
  /** The chain field's blocks parsed, when this very text was parsed before (see `parsedChains`). */
  chainParsed: readonly ChainBlock[] | null;
  certificateField: InputField;
  keyField: InputField;
  chainField: InputField;
}

/** A chain block parsed for step 7. */
interface ChainBlock {
  x509: X509Certificate;
  index: number;
  pem: string;
}

/**
 * Chain fields already split and parsed, by their exact text: every certificate of a CA comes
 * with the same chain text (every NCP import of a customer, every certificate of a directory), and
 * splitting and parsing it again cost more than the rest of step 7. Only a text that split with no
 * private key in it and whose every block parsed is kept, so a hit gives exactly what splitting
 * and parsing it again would (both are functions of the text alone), and no secret is ever kept.
 * Bounded in entries and in characters: the least recently used entries go first.
 */
const CHAIN_CACHE_ENTRIES = 32;
const CHAIN_CACHE_TEXT_MAX = 64 * 1024;
const parsedChains = new Map<string, { blocks: PemBlock[]; parsed: readonly ChainBlock[] }>();

function cachedChain(text: string): { blocks: PemBlock[]; parsed: readonly ChainBlock[] } | undefined {
  const hit = parsedChains.get(text);
  if (hit) {
    parsedChains.delete(text);
    parsedChains.set(text, hit);
  }
  return hit;
}

function rememberChain(text: string, blocks: PemBlock[], parsed: readonly ChainBlock[]): void {
  if (text.length > CHAIN_CACHE_TEXT_MAX) return;
  parsedChains.set(text, { blocks, parsed });
  if (parsedChains.size > CHAIN_CACHE_ENTRIES) parsedChains.delete(parsedChains.keys().next().value!);
}

function splitFields(input: ImportInput): Pieces {
  const certificate = splitPem(input.certificate ?? '', {
    field: 'certificate',
    maxBytes: IMPORT_LIMITS.certificateBytes,
    maxBlocks: IMPORT_LIMITS.chainBlocks,
  });
  if (certificate.privateKeys.length > 0) {
    throw new AppError(
      'pem_malformed',
      'The certificate field holds a private key. Put the private key in the private key field, and only the certificate here.',
      { field: 'certificate' },
    );
  }
  const key = input.privateKey
    ? splitPem(input.privateKey, { field: 'privateKey', maxBytes: IMPORT_LIMITS.privateKeyBytes, maxBlocks: 4 })
    : { certificates: [], privateKeys: [] };
  if (key.certificates.length > 0) {
    throw new AppError('pem_malformed', 'The private key field holds a certificate. Put only the private key here.', {
      field: 'privateKey',
    });
  }
  const known = input.chain ? cachedChain(input.chain) : undefined;
  if (known) {
    return {
      certificates: certificate.certificates,
      keys: key.privateKeys,
      chain: known.blocks,
      chainText: null,
      chainParsed: known.parsed,
      certificateField: 'certificate',
      keyField: 'privateKey',
      chainField: 'chain',
    };
  }
  const chain = input.chain
    ? splitPem(input.chain, {
        field: 'chain',
        maxBytes: IMPORT_LIMITS.chainBytes,
        maxBlocks: IMPORT_LIMITS.chainBlocks,
      })
    : { certificates: [], privateKeys: [] };
  if (chain.privateKeys.length > 0) {
    throw new AppError(
      'pem_malformed',
      'The chain field holds a private key. The chain takes only the issuing CA certificates.',
      { field: 'chain' },
    );
  }
  return {
    certificates: certificate.certificates,
    keys: key.privateKeys,
    chain: chain.certificates,
    chainText: input.chain || null,
    chainParsed: null,
    certificateField: 'certificate',
    keyField: 'privateKey',
    chainField: 'chain',
  };
}

/**
 * An NHN file holds the leaf, its issuers and the key. The leaf is the certificate whose public
 * key matches the private key; without a key, the first certificate (the order NHN documents).
 */
function splitFile(file: { name: string; bytes: Buffer }): Pieces {
  const text = decodeText(file.bytes);
  const { certificates, privateKeys } = splitPem(text, {
    field: 'file',
    maxBytes: IMPORT_LIMITS.fileBytes,
    maxBlocks: IMPORT_LIMITS.fileBlocks,
  });
  return {
    certificates,
    keys: privateKeys,
    chain: [],
    chainText: null,
    chainParsed: null,
    certificateField: 'file',
    keyField: 'file',
    chainField: 'file',
  };
}

function decodeText(bytes: Buffer): string {
  // PEM is ASCII. A UTF-8 BOM (Windows editors) is tolerated; anything else non-text is left for
  // splitPem to refuse with a precise message.
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return bytes.toString('latin1', start);
}

// ---------------------------------------------------------------------------------------------
// Step 3

function pickLeaf(
  pieces: Pieces,
  key: ParsedPrivateKey | null,
  given: X509Certificate | undefined,
): { leaf: ParsedCertificate; chain: PemBlock[] } {
  const field = pieces.certificateField;
  const [first] = pieces.certificates;
  if (!first) {
    throw new AppError(
      'certificate_missing',
      field === 'file'
        ? 'The file holds no certificate. It must contain the certificate, its chain and the private key in PEM.'
        : 'No certificate was given. Paste the server certificate in PEM (-----BEGIN CERTIFICATE-----).',
      { field },
    );
  }
  if (field !== 'file') {
    if (pieces.certificates.length > 1) {
      throw new AppError(
        'certificate_multiple',
        `The certificate field holds ${pieces.certificates.length} certificates; it looks like a full chain was pasted. Put only the server certificate here, and its issuers in the chain field.`,
        { field, details: { count: pieces.certificates.length } },
      );
    }
    return { leaf: parseBlock(first, field, given), chain: pieces.chain };
  }
  // The NHN file: the leaf is the certificate matching the key, the others are the chain.
  const parsed = pieces.certificates.map((block) => parseBlock(block, field));
  const match = key ? parsed.findIndex((certificate) => keyMatchesCertificate(key.keyObject, certificate.x509)) : -1;
  const leafIndex = match >= 0 ? match : 0;
  return { leaf: parsed[leafIndex] as ParsedCertificate, chain: pieces.certificates.filter((_, i) => i !== leafIndex) };
}

/**
 * A NUL byte in a name of the certificate (subject, issuer, SANs) is the old null-prefix attack on
 * name checks (`www.bank.com\0.evil.com`), and PostgreSQL's text cannot hold it: refused, so both
 * stores answer alike (certificate_invalid, never a store error).
 */
function refuseNulInNames(facts: CertificateFacts, field: InputField): void {
  const names = [
    facts.subjectDn,
    facts.commonName ?? '',
    facts.issuerDn,
    facts.issuerCommonName ?? '',
    facts.caName,
    ...facts.domains,
    ...facts.sans.dns,
    ...facts.sans.email,
    ...facts.sans.uri,
    ...facts.sans.ip,
  ];
  if (names.some((name) => name.includes('\u0000')))
    throw new AppError(
      'certificate_invalid',
      'A name in the certificate (its subject, issuer or alternative names) holds a NUL character; certkeeper refuses such certificates.',
      { field },
    );
}

function parseBlock(block: PemBlock, field: InputField, given?: X509Certificate): ParsedCertificate {
  try {
    return parseCertificateDer(block.der, given);
  } catch (error) {
    if (error instanceof AppError) {
      throw new AppError(error.code, `Block ${block.index} of the ${describeField(field)}: ${error.message}`, {
        field,
        cause: error,
      });
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Step 4

function parseKey(
  keys: PemBlock[],
  field: InputField,
  required: boolean,
  parsed: ImportInput['parsedKey'],
): ParsedPrivateKey | null {
  if (keys.length === 0) {
    if (!required) return null;
    throw new AppError(
      'key_missing',
      field === 'file'
        ? 'The file holds no private key. Add the unencrypted private key in PEM after the certificates.'
        : 'No private key was given. Paste the unencrypted private key in PEM (-----BEGIN PRIVATE KEY-----).',
      { field },
    );
  }
  if (keys.length > 1) {
    throw new AppError(
      'key_multiple',
      `The ${describeField(field)} holds ${keys.length} private keys; give exactly one, the key of this certificate.`,
      {
        field,
        details: { count: keys.length },
      },
    );
  }
  const block = keys[0] as PemBlock;
  return parsed !== undefined && field !== 'file' && parsed.pem === block.pem
    ? parsed.key
    : parsePrivateKey(block, field);
}

// ---------------------------------------------------------------------------------------------
// Step 6

function checkValidity(leaf: ParsedCertificate, field: InputField, now: Date): void {
  const { notBefore, notAfter } = leaf.facts;
  if (now.getTime() > notAfter.getTime()) {
    throw new AppError(
      'certificate_expired',
      `The certificate expired on ${notAfter.toISOString()}. Renew it with your CA and import the new one.`,
      {
        field,
        details: { notAfter: notAfter.toISOString() },
      },
    );
  }
  if (now.getTime() < notBefore.getTime()) {
    throw new AppError(
      'certificate_not_yet_valid',
      `The certificate is not valid before ${notBefore.toISOString()}. Check the system clock, or import it once it is valid.`,
      { field, details: { notBefore: notBefore.toISOString() } },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Step 7

function checkChain(
  leaf: ParsedCertificate,
  blocks: PemBlock[],
  pieces: Pieces,
  now: Date,
): { pems: string[]; repaired: boolean } {
  const field = pieces.chainField;
  let candidates = pieces.chainParsed;
  if (candidates === null) {
    candidates = blocks.map((block) => ({ x509: parseChainBlock(block, field), index: block.index, pem: block.pem }));
    // Split with no key in it (splitFields refused that) and every block parsed: remembered.
    if (pieces.chainText !== null) rememberChain(pieces.chainText, blocks, candidates);
  }
  const result = buildChain(leaf.x509, candidates, now, { field });
  if (!leaf.facts.selfSigned && result.path.length === 0) {
    throw new AppError(
      'chain_issuer_missing',
      `The chain is missing the certificate of the issuer '${leaf.facts.issuerDn}'. Add the intermediate CA certificate(s) your CA sent with the certificate.`,
      { field, details: { issuer: leaf.facts.issuerDn } },
    );
  }
  return {
    pems: result.path.map((link) => link.pem),
    repaired: result.reordered || result.duplicatesRemoved > 0,
  };
}

/** Issuers need no facts, only the parsed certificate: the cheap built-in parse is enough. */
function parseChainBlock(block: PemBlock, field: InputField): X509Certificate {
  try {
    return new X509Certificate(block.der);
  } catch (cause) {
    throw new AppError(
      'chain_invalid',
      `Block ${block.index} of the ${describeField(field)} is not a valid X.509 certificate.`,
      { field, cause },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Step 10

function checkName(name: string, rule: NameRule | null): void {
  const refusal = nameRefusal(name, rule);
  if (refusal) throw refusal;
}

/**
 * The name step on its own (it needs none of the PEM input): the refusal the ladder would throw
 * for `name`, or null. A face that shows every field's problem at once asks it beside a refusal
 * of another field (the console's import form).
 */
export function nameRefusal(name: string, rule: NameRule | null): AppError | null {
  return rule && !rule.test(name)
    ? new AppError('name_invalid', `The certificate name is not allowed: ${rule.description}`, { field: 'name' })
    : null;
}

function describeField(field: InputField): string {
  switch (field) {
    case 'certificate':
      return 'certificate field';
    case 'privateKey':
      return 'private key field';
    case 'chain':
      return 'chain field';
    case 'file':
      return 'file';
    case 'name':
      return 'certificate name';
    default:
      return `${field} field`;
  }
}
