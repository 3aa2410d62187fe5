/**
 * A set of files with certificates and keys in them (a directory a migration exports), sorted
 * into the import ladder's inputs: `certkeeper cert import-dir` through core's `importFiles`.
 *
 * The rules, each applied once, here:
 * - Any file may hold anything: PEM text (any number of certificate and key blocks), DER
 *   certificates or keys (der.ts `fileToPem`), or PKCS#12 (opened with the one passphrase given;
 *   none given: the file is refused). A file that cannot be read as one of these is refused as a
 *   whole with the error of the step that failed (`pem_malformed`, `key_encrypted`, `key_invalid`,
 *   `certificate_invalid`, `input_too_large`…), and nothing in it is used.
 * - A certificate that is not a CA (basicConstraints) is one to import; CA certificates are the
 *   chain material. The same certificate in several files (cert.pem and fullchain.pem) is one
 *   certificate: the first file in path order names it.
 * - A certificate's key is the key, in whichever file, whose public key is the certificate's
 *   (the same SubjectPublicKeyInfo): file names play no part. None: imported without a key
 *   (listed). The match is read from the DER where it can be (public-key-match.ts), else
 *   compared as OpenSSL exports the SubjectPublicKeyInfo.
 * - Its chain: from the leaf, the CA certificates that `checkIssued` says issued the current link
 *   (names and key identifiers), up to a self-signed one or until none is found. Where several
 *   could, all are handed to the ladder, which refuses that (`chain_ambiguous`) rather than guess.
 *   The ladder verifies every signature; this only picks which files' certificates to give it.
 * - Its name: the certificate file's stem (the base name without its last extension), or its
 *   subject CN (else its first DNS name). The ladder's name rule (FILE_NAME_RULE) then applies.
 *
 * Pure: the caller reads the files. Paths are only labels here.
 */
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { AppError, isAppError } from '../errors.ts';
import { fileToPem } from './der.ts';
import { parseCertificateDer } from './inspect.ts';
import { parsePrivateKey } from './keys.ts';
import { IMPORT_LIMITS, type ImportInput, type ImportPolicy, type NameRule } from './ladder.ts';
import { splitPem } from './pem.ts';
import { pkcs12ToImportFields } from './pkcs12.ts';
import { certificateKeyMatch, privateKeyMatch } from './public-key-match.ts';
import type { ParsedPrivateKey } from './types.ts';

export interface SourceFile {
  /** Where the file is, as the user should read it (relative to the directory). */
  path: string;
  bytes: Buffer;
}

export type NameSource = 'stem' | 'cn';

export interface FileSetItem {
  /** The file of the certificate (the first in path order when several hold it). */
  file: string;
  /** The file of its private key, or null when no file holds it. */
  keyFile: string | null;
  /** The ladder's input. */
  input: ImportInput;
}

export interface FileRefusal {
  file: string;
  error: AppError;
}

export interface FileSet {
  items: FileSetItem[];
  /** Files refused as a whole, and certificates refused before the ladder (no name to give them). */
  refused: FileRefusal[];
  /** Files whose keys belong to no certificate of the set. */
  unusedKeyFiles: string[];
}

/** Files larger than this are refused unread by the ladder's rules: the largest field (a chain). */
export const FILE_SET_FILE_MAX_BYTES = IMPORT_LIMITS.chainBytes;

/**
 * The name rule of names taken from files: what a file stem or a CN may hold is not the user's
 * choice, so it is checked like user input (no C0 control character or DEL, not blank).
 */
export const FILE_NAME_RULE: NameRule = {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  test: (name) => name.trim() !== '' && !/[\u0000-\u001f\u007f]/.test(name),
  description: 'a name taken from a file or a certificate must not be blank or hold control characters.',
};

/** The ladder's policy for certificates found in files: key optional, Ed25519 allowed, FILE_NAME_RULE. */
export const FILE_SET_POLICY: Omit<ImportPolicy, 'now'> = {
  requireKey: false,
  allowEd25519: true,
  nameRule: FILE_NAME_RULE,
};

interface FoundCertificate {
  file: string;
  pem: string;
  x509: X509Certificate;
}

interface FoundKey {
  file: string;
  pem: string;
  /** Parsed once here, handed to the ladder (`ImportInput.parsedKey`), which checks it is this PEM's. */
  parsed: ParsedPrivateKey;
  /** `privateKeyMatch` of its DER, or null when only OpenSSL's export can say. */
  match: string | null;
  /** SHA-256 of its SubjectPublicKeyInfo as OpenSSL exports it; computed when needed. */
  spki?: string;
}

const sha256 = (der: Buffer): string => createHash('sha256').update(der).digest('hex');
const keySpki = (key: FoundKey): string =>
  (key.spki ??= sha256(createPublicKey(key.parsed.keyObject).export({ type: 'spki', format: 'der' })));

/** The file's stem: its base name without the last extension (`a/b/www.example.com.pem` → `www.example.com`). */
export function fileStem(path: string): string {
  const base = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/** What one file holds, parsed. */
export interface FileBlocks {
  certificates: Array<{ pem: string; x509: X509Certificate }>;
  keys: Array<{ pem: string; match: string | null; parsed: ParsedPrivateKey }>;
}

/** One file of the set, parsed: its blocks, or the error that refuses it as a whole. */
export interface ParsedSourceFile {
  path: string;
  read: { blocks: FileBlocks } | { error: AppError };
}

/**
 * The certificates and keys of one file (the first of the rules above), or the AppError that
 * refuses it; an error that is not an AppError is thrown. Depends on nothing but the file and the
 * passphrase, so files may be parsed in any order and on any thread (core/import-files-pool.ts):
 * `pairFileSet` takes them in path order.
 */
export function parseSourceFile(file: SourceFile, passphrase: string | null): ParsedSourceFile {
  try {
    return { path: file.path, read: { blocks: blocksOf(file, passphrase) } };
  } catch (error) {
    if (!isAppError(error)) throw error;
    return { path: file.path, read: { error } };
  }
}

/** The certificates and keys of one file, or throws the AppError that refuses the file as a whole. */
function blocksOf(file: SourceFile, passphrase: string | null): FileBlocks {
  if (file.bytes.length > FILE_SET_FILE_MAX_BYTES) {
    throw new AppError(
      'input_too_large',
      `The file is ${file.bytes.length} bytes; the limit is ${FILE_SET_FILE_MAX_BYTES} bytes.`,
      { field: 'file', details: { limit: FILE_SET_FILE_MAX_BYTES, actual: file.bytes.length } },
    );
  }
  const converted = fileToPem(file.bytes);
  let text: string;
  if (converted === 'pkcs12') {
    if (passphrase === null)
      throw new AppError(
        'invalid_argument',
        'The file is PKCS#12 (.p12/.pfx); give its passphrase (--passphrase-file FILE or CERTKEEPER_P12_PASSPHRASE).',
        { field: 'passphrase' },
      );
    const fields = pkcs12ToImportFields(file.bytes, passphrase);
    text = fields.certificate + (fields.chain ?? '') + (fields.privateKey ?? '');
  } else text = converted.pem;
  const split = splitPem(text, {
    field: 'file',
    maxBytes: FILE_SET_FILE_MAX_BYTES,
    maxBlocks: IMPORT_LIMITS.chainBlocks,
  });
  return {
    certificates: split.certificates.map((block) => {
      try {
        return { pem: block.pem, x509: new X509Certificate(block.der) };
      } catch (cause) {
        throw new AppError('certificate_invalid', `Block ${block.index} is not a valid X.509 certificate.`, {
          field: 'file',
          cause,
        });
      }
    }),
    keys: split.privateKeys.map((block) => {
      const parsed = parsePrivateKey(block, 'file');
      return { pem: block.pem, match: privateKeyMatch(block.der, parsed.format), parsed };
    }),
  };
}

/** Every file read here, then paired (`pairFileSet`): the set on one thread. */
export function sortFileSet(
  files: readonly SourceFile[],
  options: { passphrase: string | null; names: NameSource },
): FileSet {
  return pairFileSet(
    files.map((file) => parseSourceFile(file, options.passphrase)),
    options.names,
  );
}

/**
 * The files' blocks sorted into ladder inputs by the rules above, in path order whatever the
 * order of `files`.
 */
export function pairFileSet(files: readonly ParsedSourceFile[], names: NameSource): FileSet {
  const refused: FileRefusal[] = [];
  const certificates = new Map<string, FoundCertificate>();
  // Keys by their match string; those it cannot read, by their exported SPKI. First file wins.
  const keys = new Map<string, FoundKey>();
  const opaqueKeys = new Map<string, FoundKey>();
  const allKeys: FoundKey[] = [];
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  for (const file of sorted) {
    if ('error' in file.read) {
      refused.push({ file: file.path, error: file.read.error });
      continue;
    }
    const found = file.read.blocks;
    for (const { pem, x509 } of found.certificates)
      if (!certificates.has(x509.fingerprint256)) certificates.set(x509.fingerprint256, { file: file.path, pem, x509 });
    for (const { pem, match, parsed } of found.keys) {
      const key: FoundKey = { file: file.path, pem, parsed, match };
      const [index, id] = match !== null ? [keys, match] : [opaqueKeys, keySpki(key)];
      if (index.has(id)) continue;
      index.set(id, key);
      allKeys.push(key);
    }
  }

  // A certificate's key. Equal match strings are equal SPKIs and unequal ones unequal, so OpenSSL's
  // export is asked only of what the match cannot read: a certificate it cannot read is compared
  // with every key's export, one it can with the keys it could not.
  let everyKeyBySpki: Map<string, FoundKey> | null = null;
  const keyOf = (leaf: X509Certificate): FoundKey | undefined => {
    const match = certificateKeyMatch(leaf.raw);
    const found = match === null ? undefined : keys.get(match);
    if (found !== undefined || (match !== null && opaqueKeys.size === 0)) return found;
    const spki = sha256(leaf.publicKey.export({ type: 'spki', format: 'der' }));
    if (match !== null) return opaqueKeys.get(spki);
    if (everyKeyBySpki === null) {
      everyKeyBySpki = new Map();
      for (const key of allKeys) if (!everyKeyBySpki.has(keySpki(key))) everyKeyBySpki.set(keySpki(key), key);
    }
    return everyKeyBySpki.get(spki);
  };

  const all = [...certificates.values()];
  const authorities = all.filter((c) => c.x509.ca);
  const usedKeys = new Set<FoundKey>();
  const items: FileSetItem[] = [];
  for (const leaf of all.filter((c) => !c.x509.ca)) {
    const key = keyOf(leaf.x509);
    if (key) usedKeys.add(key);
    const name = nameOf(leaf, names);
    if (name instanceof AppError) {
      refused.push({ file: leaf.file, error: name });
      continue;
    }
    items.push({
      file: leaf.file,
      keyFile: key?.file ?? null,
      input: {
        name,
        certificate: leaf.pem,
        parsedCertificate: leaf.x509,
        ...(key ? { privateKey: key.pem, parsedKey: { pem: key.pem, key: key.parsed } } : {}),
        ...(() => {
          const chain = chainOf(leaf.x509, authorities);
          return chain === '' ? {} : { chain };
        })(),
      },
    });
  }
  const unusedKeyFiles = [...new Set(allKeys.filter((key) => !usedKeys.has(key)).map((key) => key.file))];
  return { items, refused, unusedKeyFiles };
}

function nameOf(leaf: FoundCertificate, names: NameSource): string | AppError {
  if (names === 'stem') return fileStem(leaf.file);
  const facts = parseCertificateDer(leaf.x509.raw).facts;
  const name = facts.commonName ?? facts.domains[0];
  return name !== undefined
    ? name
    : new AppError('name_invalid', 'The certificate has no common name or DNS name to be named by; name it by file.', {
        field: 'name',
      });
}

/** The PEM of the CA certificates on the leaf's path (see the module comment). */
function chainOf(leaf: X509Certificate, authorities: readonly FoundCertificate[]): string {
  const path: string[] = [];
  const onPath = new Set<FoundCertificate>();
  let current = leaf;
  while (current.subject !== current.issuer) {
    const child = current;
    const issuers = authorities.filter((c) => !onPath.has(c) && c.x509 !== child && child.checkIssued(c.x509));
    for (const issuer of issuers) {
      onPath.add(issuer);
      path.push(issuer.pem);
    }
    if (issuers.length !== 1) break;
    current = issuers[0]!.x509;
  }
  return path.join('');
}
