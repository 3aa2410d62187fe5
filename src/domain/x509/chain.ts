/**
 * Chain building and verification: step 7 of the import ladder.
 *
 * `buildChain` takes the certificates of the chain field in any order and builds the path from the
 * leaf up: leaf → its issuer → … → a self-signed root, or → an intermediate whose issuer is simply
 * not given (a root is optional: clients have it in their trust store). Each link is found with
 * OpenSSL's `child.checkIssued(parent)` (names, AKID/SKID and keyCertSign) and then proven with
 * `child.verify(parent.publicKey)`.
 *
 * Repairs, done silently because the result is unambiguous: any order, byte-identical duplicates.
 * Refusals, each with the block at fault: see `buildChain`.
 *
 * Cost: one `checkIssued` (sub-microsecond) per candidate per link and one signature check per
 * link, so O(n²) cheap calls for n blocks; the ladder caps n (blocks of the chain field).
 */
import { X509Certificate } from 'node:crypto';
import { AppError, type InputField } from '../errors.ts';
import { capitalise } from '../text.ts';
import { x509Version } from './inspect.ts';
import { fieldName } from './pem.ts';

export interface ChainCandidate {
  x509: X509Certificate;
  /** 1-based position of the block in the chain field, for messages. */
  index: number;
}

export interface ChainResult<C extends ChainCandidate = ChainCandidate> {
  /** The issuers in order, the leaf's issuer first. Each element is one of the candidates given. */
  path: C[];
  /** True when the path is not in the order the blocks were given. */
  reordered: boolean;
  /** How many byte-identical duplicate blocks were dropped (the first occurrence is kept). */
  duplicatesRemoved: number;
  /** True when the last element of the path is self-signed (a root). False for an empty path. */
  endsAtRoot: boolean;
}

export interface BuildChainOptions {
  /** Field named in errors and messages; `chain` unless the blocks came from elsewhere (`file`). */
  field?: InputField;
}

/**
 * Builds and verifies the issuer path of `leaf` from `candidates`.
 *
 * - An empty `candidates` gives an empty path: whether that is acceptable is the ladder's policy.
 * - Every candidate must end up on the path; the path may end at a root or at an intermediate whose
 *   issuer is absent.
 * - Validity is checked for every issuer on the path at `now` (the leaf's own window is step 6).
 *
 * @throws AppError with `field` (`options.field`, default `chain`) and details naming blocks:
 *   - `chain_issuer_missing`: the chain is non-empty but holds no issuer of the leaf; or the path
 *     stops at an issuer whose own issuer is absent while CA certificates remain that could sit
 *     above the gap (a missing middle intermediate).
 *   - `chain_signature_invalid`: a block has the issuer's name but its signature does not verify.
 *   - `chain_not_ca`: an issuer on the path is not a CA (no basicConstraints CA:TRUE) or may not
 *     sign certificates (keyUsage without keyCertSign).
 *   - `chain_expired`: an issuer on the path is expired or not yet valid at `now`.
 *   - `chain_unrelated`: a block is not on the leaf's path (including the leaf itself repeated in
 *     the chain field, details `reason: 'leaf_in_chain'`).
 *   - `chain_ambiguous`: two different blocks both verifiably issue the same link (cross-signed
 *     variants), or the path loops; certkeeper refuses rather than guessing.
 */
export function buildChain<C extends ChainCandidate>(
  leaf: X509Certificate,
  candidates: readonly C[],
  now: Date,
  options: BuildChainOptions = {},
): ChainResult<C> {
  const field = options.field ?? 'chain';
  const where = fieldName(field);
  const block = (c: ChainCandidate): string => `block ${c.index} of the ${where} ('${nameOf(c.x509)}')`;
  const leafText = `the certificate ('${nameOf(leaf)}')`;

  if (candidates.length === 0) return { path: [], reordered: false, duplicatesRemoved: 0, endsAtRoot: false };

  // Duplicates (same bytes) are dropped; the leaf itself in the chain field is a mistake to name
  // (typically fullchain.pem pasted as the chain), not something to drop in silence.
  const leafFingerprint = leaf.fingerprint256;
  const seen = new Set<string>();
  const unique: C[] = [];
  let duplicatesRemoved = 0;
  for (const candidate of candidates) {
    const fingerprint = candidate.x509.fingerprint256;
    if (fingerprint === leafFingerprint) {
      throw new AppError(
        'chain_unrelated',
        `${capitalise(block(candidate))} is the certificate itself; the ${where} must hold only its issuers. ` +
          'Remove that block (with certbot, use chain.pem rather than fullchain.pem).',
        { field, details: { block: candidate.index, reason: 'leaf_in_chain' } },
      );
    }
    if (seen.has(fingerprint)) {
      duplicatesRemoved += 1;
      continue;
    }
    seen.add(fingerprint);
    unique.push(candidate);
  }

  const path: C[] = [];
  const onPath = new Set<C>();
  let current: X509Certificate = leaf;
  let currentText = leafText;
  let endsAtRoot = false;
  const leafSelfSigned = isSelfSigned(leaf);

  while (!leafSelfSigned) {
    // A root ends the path. Its self-signature is not checked: a trust anchor is trusted by its
    // identity, clients ignore that signature, and verifying it would cost one more verify per import.
    if (current !== leaf && current.subject === current.issuer) {
      endsAtRoot = true;
      break;
    }
    const child = current;
    const issuers = unique.filter((c) => c.x509 !== child && child.checkIssued(c.x509));
    const fresh = issuers.filter((c) => !onPath.has(c));
    const verified = fresh.filter((c) => verifies(child, c.x509));

    if (verified.length > 1) {
      throw new AppError(
        'chain_ambiguous',
        `${listBlocks(verified, where)} can each issue ${currentText} (cross-signed or re-issued variants of the same CA); ` +
          'certkeeper does not guess which path you want. Keep only the one your CA gave for this certificate.',
        { field, details: { blocks: verified.map((c) => c.index).join(',') } },
      );
    }

    const parent = verified[0];
    if (parent === undefined) {
      const fake = fresh[0];
      if (fake !== undefined) {
        throw new AppError(
          'chain_signature_invalid',
          `${capitalise(block(fake))} claims to have issued ${currentText} but its signature does not verify: ` +
            'the block is damaged or is not the real issuer. Get the issuer certificate from your CA again.',
          { field, details: { block: fake.index } },
        );
      }
      const loop = issuers.find((c) => onPath.has(c) && verifies(child, c.x509));
      if (loop !== undefined) {
        throw new AppError(
          'chain_ambiguous',
          `The ${where} loops: ${currentText} is issued by ${block(loop)}, which is already on the path, so the path never ` +
            'reaches a root. Remove the cross-certificate that closes the loop.',
          { field, details: { block: loop.index, reason: 'loop' } },
        );
      }
      diagnoseNamedIssuer(child, currentText, unique, onPath, field, block);
      break; // The issuer of `current` is not given: the path ends here.
    }

    if (!parent.x509.ca && !isVersion1Root(parent.x509)) {
      throw new AppError(
        'chain_not_ca',
        `${capitalise(block(parent))} issued ${currentText} but is not a CA certificate (basicConstraints CA:TRUE is missing), ` +
          'so clients will reject the chain. Use the CA certificate your CA provides.',
        { field, details: { block: parent.index } },
      );
    }
    checkValidity(parent, now, field, block);

    path.push(parent);
    onPath.add(parent);
    current = parent.x509;
    currentText = block(parent);
  }

  const leftovers = unique.filter((c) => !onPath.has(c));
  if (leftovers.length > 0)
    throw leftoverError(leaf, leafSelfSigned, path, leftovers, endsAtRoot, current, currentText, field);

  let reordered = false;
  for (let i = 1; i < path.length; i += 1) {
    if ((path[i] as C).index < (path[i - 1] as C).index) reordered = true;
  }
  return { path, reordered, duplicatesRemoved, endsAtRoot };
}

/**
 * No block passes `checkIssued` for `child`. If one still has the issuer's name, say why it is not
 * the issuer: it signed but may not sign certificates (`chain_not_ca`), or it did not sign at all
 * (`chain_signature_invalid`: same name, another key, e.g. an older intermediate). Otherwise return:
 * the issuer is simply absent.
 */
function diagnoseNamedIssuer(
  child: X509Certificate,
  childText: string,
  unique: readonly ChainCandidate[],
  onPath: ReadonlySet<ChainCandidate>,
  field: InputField,
  block: (c: ChainCandidate) => string,
): void {
  const named = unique.filter((c) => !onPath.has(c) && c.x509 !== child && c.x509.subject === child.issuer);
  const signer = named.find((c) => verifies(child, c.x509));
  if (signer !== undefined) {
    // Node's `ca` is OpenSSL's X509_check_ca: false both without basicConstraints CA:TRUE and with
    // a key usage that lacks keyCertSign, so both are named.
    const why = signer.x509.ca
      ? 'its key usage does not include keyCertSign'
      : 'it is not a CA certificate (it needs basicConstraints CA:TRUE and, if it has a key usage, keyCertSign)';
    throw new AppError(
      'chain_not_ca',
      `${capitalise(block(signer))} signed ${childText} but is not allowed to issue certificates: ${why}. Clients will reject the chain.`,
      { field, details: { block: signer.index } },
    );
  }
  const impostor = named[0];
  if (impostor !== undefined) {
    throw new AppError(
      'chain_signature_invalid',
      `${capitalise(block(impostor))} has the name of the issuer of ${childText} but did not sign it: the signature does not verify ` +
        'with its key. It is probably another certificate of the same CA name (an older or newer intermediate); ' +
        'use the one that issued this certificate.',
      { field, details: { block: impostor.index } },
    );
  }
}

function leftoverError(
  leaf: X509Certificate,
  leafSelfSigned: boolean,
  path: readonly ChainCandidate[],
  leftovers: readonly ChainCandidate[],
  endsAtRoot: boolean,
  last: X509Certificate,
  lastText: string,
  field: InputField,
): AppError {
  const where = fieldName(field);
  const first = leftovers[0] as ChainCandidate;
  const named = `${listBlocks(leftovers, where)}`;
  const details = { block: first.index, count: leftovers.length };

  if (leafSelfSigned) {
    return new AppError(
      'chain_unrelated',
      `The certificate ('${nameOf(leaf)}') is self-signed and has no issuers, so ${named} ${leftovers.length === 1 ? 'does' : 'do'} not belong in the ${where}. Remove ${leftovers.length === 1 ? 'it' : 'them'}.`,
      { field, details },
    );
  }
  if (path.length === 0) {
    return new AppError(
      'chain_issuer_missing',
      `The ${where} has no issuer for the certificate ('${nameOf(leaf)}'), issued by '${formatName(leaf.issuer)}': none of its ` +
        `blocks issued it. Add the certificate of '${formatName(leaf.issuer)}' (the intermediate your CA sent with the certificate).`,
      { field, details: { issuer: formatName(leaf.issuer), block: first.index, count: leftovers.length } },
    );
  }
  // A gap above `last`: a remaining CA block most likely sits above the missing issuer (an
  // intermediate left out of the middle of the chain), unless it is plainly elsewhere: issued by a
  // certificate on the path, or issued by the same CA as `last` (a sibling, not an ancestor).
  const onPath = [leaf, ...path.map((c) => c.x509)];
  const above = endsAtRoot
    ? []
    : leftovers.filter((c) => c.x509.ca && c.x509.issuer !== last.issuer && !onPath.some((p) => c.x509.checkIssued(p)));
  if (above.length > 0) {
    return new AppError(
      'chain_issuer_missing',
      `The ${where} has no issuer for ${lastText}, issued by '${formatName(last.issuer)}', so ${listBlocks(above, where)} ` +
        `cannot be connected to the certificate. Add the certificate of '${formatName(last.issuer)}', or remove ` +
        `${above.length === 1 ? 'that block' : 'those blocks'} if ${above.length === 1 ? 'it does' : 'they do'} not belong.`,
      {
        field,
        details: { issuer: formatName(last.issuer), block: (above[0] as ChainCandidate).index, count: above.length },
      },
    );
  }
  return new AppError(
    'chain_unrelated',
    `${capitalise(named)} ${leftovers.length === 1 ? 'is' : 'are'} not on the certificate's issuer path ` +
      `(certificate → ${path.map((c) => `block ${c.index}`).join(' → ')}${endsAtRoot ? ' (root)' : ''}); ` +
      `remove ${leftovers.length === 1 ? 'it' : 'them'} from the ${where}.`,
    { field, details },
  );
}

function checkValidity(
  parent: ChainCandidate,
  now: Date,
  field: InputField,
  block: (c: ChainCandidate) => string,
): void {
  const notBefore = parent.x509.validFromDate;
  const notAfter = parent.x509.validToDate;
  const details = { block: parent.index, notBefore: notBefore.toISOString(), notAfter: notAfter.toISOString() };
  if (now.getTime() > notAfter.getTime()) {
    throw new AppError(
      'chain_expired',
      `${capitalise(block(parent))} expired on ${notAfter.toISOString()}; get the current issuer certificate from your CA.`,
      { field, details },
    );
  }
  if (now.getTime() < notBefore.getTime()) {
    throw new AppError(
      'chain_expired',
      `${capitalise(block(parent))} is not valid until ${notBefore.toISOString()}; check the clock or use the issuer certificate valid now.`,
      { field, details },
    );
  }
}

/**
 * A self-signed X.509 v1 certificate: an old-style root (no extensions, so no basicConstraints).
 * RFC 5280 (6.1) lets a trust anchor be any certificate, and OpenSSL accepts a self-signed v1
 * certificate as a CA for that reason, so such a root may end a path. A v1 certificate that is
 * not self-signed still may not issue: nothing says it is a CA (OpenSSL refuses it too).
 * Node's `ca` is false for it (X509_check_ca answers 3, not 1), hence this check.
 */
function isVersion1Root(cert: X509Certificate): boolean {
  return x509Version(cert.raw) === 1 && isSelfSigned(cert);
}

/**
 * The full chain a server sends, as PEM blocks: the certificate, then its issuers in path order
 * (`chainPems`: the stored chain, leaf's issuer first), without a self-signed root at the end. A
 * client already holds the root it trusts; sending it costs every handshake bytes and some checkers
 * flag it (RFC 8446 4.4.2 lets a server omit it). This is the one rule for every full-chain output:
 * deploy files and webhooks, the console, CLI and NHN file exports. The stored chain itself, and the
 * "chain" outputs that show it, keep the root the user supplied.
 *
 * A self-signed certificate with no chain is its own full chain.
 */
export function fullChainPems(certificatePem: string, chainPems: readonly string[]): string[] {
  const last = chainPems[chainPems.length - 1];
  const issuers = last !== undefined && isSelfSignedPem(last) ? chainPems.slice(0, -1) : chainPems;
  return [certificatePem, ...issuers];
}

/**
 * `isSelfSigned` of a PEM text, kept by the text (exact: it depends on the DER alone). The top of
 * a chain is one CA's certificate for many certificates, and every full-chain output (each
 * composed NHN download) asked it again: a parse, 23 µs here (docs/performance.md). First in,
 * first out, at most SELF_SIGNED_MAX texts of a few KB each.
 */
const SELF_SIGNED_MAX = 256;
const selfSignedByPem = new Map<string, boolean>();

function isSelfSignedPem(pem: string): boolean {
  let known = selfSignedByPem.get(pem);
  if (known === undefined) {
    known = isSelfSigned(new X509Certificate(pem));
    if (selfSignedByPem.size >= SELF_SIGNED_MAX) selfSignedByPem.delete(selfSignedByPem.keys().next().value!);
    selfSignedByPem.set(pem, known);
  }
  return known;
}

/**
 * Subject equals issuer and the certificate verifies with its own key (the definition of
 * CertificateFacts.selfSigned). Not `checkIssued(cert)`: OpenSSL also demands keyCertSign there, which
 * a self-signed leaf does not have.
 */
export function isSelfSigned(cert: X509Certificate): boolean {
  return cert.subject === cert.issuer && verifies(cert, cert);
}

/**
 * Signature checks of CA certificates by their issuers, by the SHA-256 fingerprints of both (the
 * whole DER: the same bytes verify the same way). A chain's upper links come again with every
 * import of that CA's certificates (a bulk import of a directory: once per certificate); a leaf's
 * own check is never kept (it is new every time). First in, first out, at most VERIFIED_MAX.
 */
const VERIFIED_MAX = 1024;
const verifiedLinks = new Map<string, boolean>();

function verifies(child: X509Certificate, parent: X509Certificate): boolean {
  const key = child.ca ? `${child.fingerprint256}/${parent.fingerprint256}` : null;
  const known = key === null ? undefined : verifiedLinks.get(key);
  if (known !== undefined) return known;
  let result: boolean;
  try {
    result = child.verify(parent.publicKey);
  } catch {
    result = false;
  }
  if (key !== null) {
    if (verifiedLinks.size >= VERIFIED_MAX) verifiedLinks.delete(verifiedLinks.keys().next().value!);
    verifiedLinks.set(key, result);
  }
  return result;
}

function listBlocks(candidates: readonly ChainCandidate[], where: string): string {
  const names = candidates.map((c) => `${c.index} ('${nameOf(c.x509)}')`);
  if (names.length === 1) return `block ${names[0]} of the ${where}`;
  return `blocks ${names.slice(0, -1).join(', ')} and ${names[names.length - 1]} of the ${where}`;
}

function nameOf(cert: X509Certificate): string {
  return formatName(cert.subject) || '(empty subject)';
}

const MAX_NAME_LENGTH = 200;

/**
 * Formats a distinguished name as Node prints it (`X509Certificate.subject`/`issuer`: one RDN per
 * line, in DER order, least specific first) into `CN=…, O=…, C=…`: most specific first, as RFC 4514
 * and NCP print it. Control characters are escaped (`\x0a`) and the result is cut at 200 characters,
 * so a hostile name cannot forge lines in messages or logs.
 */
export function formatName(name: string | undefined): string {
  // Node gives `undefined` (despite its typings) for an empty subject, as on SAN-only leaves.
  const text = (name ?? '')
    .split('\n')
    .filter((rdn) => rdn !== '')
    .reverse()
    .join(', ');
  let out = '';
  for (const c of text) {
    const code = c.codePointAt(0) ?? 0;
    out += code < 0x20 || (code >= 0x7f && code <= 0x9f) ? `\\x${code.toString(16).padStart(2, '0')}` : c;
  }
  return out.length > MAX_NAME_LENGTH ? `${out.slice(0, MAX_NAME_LENGTH)}…` : out;
}
