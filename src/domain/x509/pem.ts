/**
 * PEM splitting: step 2 of the import ladder (docs/ARCHITECTURE.md, "The import ladder").
 *
 * `splitPem` finds every `-----BEGIN X-----` … `-----END X-----` block in user text and sorts the
 * blocks into certificates and private keys. It decides nothing about how many of each a field may
 * hold (that is step 3/4, the ladder's business) and does not parse the DER inside (X509Certificate
 * and createPrivateKey do that later).
 *
 * Contract:
 * - Tolerated: CRLF, CR or LF line endings; blank lines anywhere; leading/trailing whitespace on
 *   every line; spaces and tabs inside base64 lines; a leading byte-order mark; any text before,
 *   between and after blocks (openssl `Bag Attributes`, `subject=`/`issuer=` lines, comments);
 *   RFC 1421 headers inside a block (kept in `PemBlock.headers`).
 * - Certificates: `CERTIFICATE`, and also `X509 CERTIFICATE` / `X.509 CERTIFICATE`, which RFC 7468
 *   §5.1 lets parsers treat as the same thing (same DER; the canonical `pem` says `CERTIFICATE`,
 *   `label` keeps what was written). `TRUSTED CERTIFICATE` is refused: it is OpenSSL's private
 *   format (the DER is followed by trust settings, so it is not a plain certificate) and the fix is
 *   one openssl command, named in the message.
 * - Private keys: `RSA PRIVATE KEY` (PKCS#1), `PRIVATE KEY` (PKCS#8), `EC PRIVATE KEY` (SEC1).
 *   `ENCRYPTED PRIVATE KEY`, and any key block with a `Proc-Type: 4,ENCRYPTED` header, are refused
 *   with `key_encrypted`: certkeeper must hold the key in clear to serve it, so the user decrypts.
 * - `EC PARAMETERS` blocks (what `openssl ecparam -genkey` prints before the key) are skipped.
 * - Every other label is refused with `pem_malformed` naming the label and what was expected.
 * - Empty or whitespace-only text yields no blocks and no error: whether an empty field is
 *   acceptable (an empty chain is; an empty certificate is not) is the ladder's decision.
 * - Text without any block, DER/binary input, bare base64 and broken armour or base64 are refused
 *   with `pem_malformed` and a message that says what to fix, with the block number and line.
 *
 * Cost: the whole scan is linear in the input. No regular expression here can backtrack: lines are
 * found with indexOf, armour lines are recognised with startsWith/endsWith, and the only regexes
 * are anchored single character classes.
 */
import { AppError, type InputField } from '../errors.ts';
import { capitalise } from '../text.ts';
import type { PemBlock } from './types.ts';

export interface SplitPemOptions {
  /** Which input this text is, for error fields and messages. */
  field: InputField;
  /** Size cap in UTF-8 bytes; over it, `input_too_large` with details `{ limit, actual }`. */
  maxBytes: number;
  /** Cap on the number of BEGIN lines (all labels count); over it, `pem_too_many_blocks`. */
  maxBlocks: number;
}

export interface SplitPemResult {
  /** Certificate blocks in input order. */
  certificates: PemBlock[];
  /** Unencrypted private key blocks in input order. */
  privateKeys: PemBlock[];
}

/** Labels whose DER is a plain X.509 certificate (RFC 7468 §5.1). */
const CERTIFICATE_LABELS: ReadonlySet<string> = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'X.509 CERTIFICATE']);
/** Unencrypted private key labels: PKCS#1, PKCS#8, SEC1. */
const PRIVATE_KEY_LABELS: ReadonlySet<string> = new Set(['RSA PRIVATE KEY', 'PRIVATE KEY', 'EC PRIVATE KEY']);
/** Blocks that legitimately travel with keys and carry nothing we need. */
const IGNORED_LABELS: ReadonlySet<string> = new Set(['EC PARAMETERS']);

/** Labels we recognise but refuse, with the fix to suggest. */
const REFUSED_LABEL_HINTS: Readonly<Record<string, string>> = {
  'TRUSTED CERTIFICATE':
    "it is OpenSSL's certificate-with-trust-settings format; convert it with `openssl x509 -in cert.pem -out cert-plain.pem`",
  'CERTIFICATE REQUEST':
    'it is a certificate signing request (CSR), not a certificate; send it to your CA and paste the certificate the CA returns',
  'NEW CERTIFICATE REQUEST':
    'it is a certificate signing request (CSR), not a certificate; send it to your CA and paste the certificate the CA returns',
  'PUBLIC KEY': 'it is a public key; paste the private key that belongs to the certificate',
  'RSA PUBLIC KEY': 'it is a public key; paste the private key that belongs to the certificate',
  PKCS7:
    'it is a PKCS#7 bundle; extract the certificates with `openssl pkcs7 -print_certs -in bundle.p7b -out bundle.pem`',
  CMS: 'it is a CMS/PKCS#7 structure; extract the certificates with `openssl pkcs7 -print_certs -in bundle.p7b -out bundle.pem`',
  'X509 CRL': 'it is a certificate revocation list, which certkeeper does not import',
  'DSA PRIVATE KEY': 'DSA keys are not supported; use an RSA or EC key',
  'OPENSSH PRIVATE KEY': 'it is an SSH key, not a TLS private key; paste the key that belongs to the certificate',
  'DH PARAMETERS': 'it is a Diffie-Hellman parameter file, not a key or certificate',
};

/** How a field is named in messages. */
export function fieldName(field: InputField): string {
  switch (field) {
    case 'certificate':
      return 'certificate';
    case 'privateKey':
      return 'private key';
    case 'chain':
      return 'chain';
    case 'file':
      return 'file';
    default:
      return String(field);
  }
}

/** What a field is expected to hold, for "expected …" messages. */
function expectedFor(field: InputField): string {
  switch (field) {
    case 'certificate':
    case 'chain':
      return '-----BEGIN CERTIFICATE----- blocks';
    case 'privateKey':
      return 'a -----BEGIN PRIVATE KEY-----, -----BEGIN RSA PRIVATE KEY----- or -----BEGIN EC PRIVATE KEY----- block';
    default:
      return 'CERTIFICATE blocks and a PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block';
  }
}

/** The openssl command that turns DER into PEM for this field. */
function derHint(field: InputField): string {
  switch (field) {
    case 'privateKey':
      return 'convert it with `openssl pkey -inform DER -in key.der -out key.pem`';
    case 'certificate':
    case 'chain':
      return 'convert it with `openssl x509 -inform DER -in cert.der -out cert.pem`';
    default:
      return 'convert certificates with `openssl x509 -inform DER -in cert.der -out cert.pem` and keys with `openssl pkey -inform DER -in key.der -out key.pem`';
  }
}

const DECRYPT_HINT = 'decrypt it first, e.g. `openssl pkey -in key.pem -out key-decrypted.pem`, and paste the result';

/**
 * Splits `text` into certificate and private-key blocks. See the module comment for the contract.
 *
 * @throws AppError `input_too_large`, `pem_too_many_blocks`, `pem_malformed`, `key_encrypted`,
 *   all with `field` set to `options.field`.
 */
export function splitPem(text: string, options: SplitPemOptions): SplitPemResult {
  const { field, maxBytes, maxBlocks } = options;
  const name = fieldName(field);

  // Both caps come before any per-block work, and the size cap before everything: decoding and
  // re-armouring are cheap per block but not free, and without the caps a hostile caller gets
  // that work multiplied for free (a 2 MiB paste of minimal blocks is tens of thousands of them).
  // Counting bytes and BEGIN lines is one linear pass each with no allocation per block.
  const actualBytes = Buffer.byteLength(text, 'utf8');
  if (actualBytes > maxBytes) {
    throw new AppError(
      'input_too_large',
      `The ${name} is ${actualBytes} bytes; the limit is ${maxBytes} bytes. Remove anything that is not needed.`,
      { field, details: { limit: maxBytes, actual: actualBytes } },
    );
  }

  const input = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  refuseBinary(input, field);

  const blockCount = countBeginLines(input);
  if (blockCount > maxBlocks) {
    throw new AppError(
      'pem_too_many_blocks',
      `The ${name} holds ${blockCount} PEM blocks; at most ${maxBlocks} are accepted.`,
      { field, details: { limit: maxBlocks, actual: blockCount } },
    );
  }

  const result: SplitPemResult = { certificates: [], privateKeys: [] };
  const blocks = scanBlocks(input, field);
  if (blocks.length === 0) {
    if (input.trim() === '') return result;
    throw noBlockError(input, field);
  }

  for (const raw of blocks) {
    const block = finishBlock(raw, field);
    if (CERTIFICATE_LABELS.has(raw.label)) {
      result.certificates.push(block);
    } else if (PRIVATE_KEY_LABELS.has(raw.label)) {
      result.privateKeys.push(block);
    }
    // IGNORED_LABELS: nothing to keep. Every other label was refused by finishBlock.
  }
  return result;
}

/** A block as found by the scanner, before decoding. */
interface RawBlock {
  label: string;
  headers: Record<string, string>;
  /** Base64 text with all whitespace removed. */
  base64: string;
  index: number;
  /** 1-based line of the BEGIN line. */
  line: number;
}

/** A block whose END line has not been seen yet. */
interface OpenBlock extends RawBlock {
  parts: string[];
  /** Still reading RFC 1421 headers (only before the first base64 line). */
  inHeaders: boolean;
  lastHeader: string | null;
  sawBody: boolean;
}

/** Characters that never occur in text a person pastes: C0 controls except tab/LF/CR/FF, DEL, C1 controls and U+FFFD. */
function isBinaryChar(code: number): boolean {
  if (code < 0x20) return code !== 0x09 && code !== 0x0a && code !== 0x0d && code !== 0x0c;
  if (code === 0x7f) return true;
  if (code >= 0x80 && code <= 0x9f) return true;
  // U+FFFD is what a UTF-8 decoder leaves where the input had bytes that are not UTF-8.
  return code === 0xfffd;
}

/**
 * DER (a certificate, key or PKCS#12 file sent as bytes) decoded as text shows up as control
 * characters or U+FFFD replacement characters. Refuse it with the conversion command instead of
 * guessing at it.
 */
// The same set as isBinaryChar, as one native regex scan: the common case (clean text) costs one pass.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const BINARY_CHAR = /[\u0000-\u0008\u000b\u000e-\u001f\u007f-\u009f\ufffd]/;

function refuseBinary(text: string, field: InputField): void {
  if (!BINARY_CHAR.test(text)) return;
  const name = fieldName(field);
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (!isBinaryChar(code)) continue;
    // A DER SEQUENCE starts with 0x30 ('0') followed by a length byte; for anything the size of a
    // certificate or key that is a long-form length 0x81..0x84, a non-text byte right after, and
    // small keys (Ed25519 PKCS#8: 30 2e 02 01 00) have a control byte within the first four.
    const looksDer = text.charCodeAt(0) === 0x30 && i <= 3;
    if (looksDer) {
      throw new AppError(
        'pem_malformed',
        `The ${name} is binary DER (or PKCS#12), not PEM text; ${derHint(field)}. ` +
          'For a .pfx/.p12 file use `openssl pkcs12 -in file.pfx -out file.pem -nodes`.',
        { field, details: { offset: i } },
      );
    }
    throw new AppError(
      'pem_malformed',
      `The ${name} contains binary data (character ${i + 1} is 0x${code.toString(16).padStart(2, '0')}), not PEM text; ` +
        `paste the PEM text, or ${derHint(field)}.`,
      { field, details: { offset: i } },
    );
  }
}

/** Calls `visit(line, lineNumber)` for every line, splitting on CRLF, CR or LF, in linear time. */
function forEachLine(text: string, visit: (line: string, lineNumber: number) => void): void {
  let start = 0;
  let lineNumber = 1;
  const length = text.length;
  while (start <= length) {
    let end = start;
    while (end < length) {
      const c = text.charCodeAt(end);
      if (c === 0x0a || c === 0x0d) break;
      end += 1;
    }
    visit(text.slice(start, end), lineNumber);
    if (end >= length) break;
    // CRLF is one line break.
    start = text.charCodeAt(end) === 0x0d && text.charCodeAt(end + 1) === 0x0a ? end + 2 : end + 1;
    lineNumber += 1;
  }
}

const BEGIN = '-----BEGIN';
const END = '-----END';
const DASHES = '-----';

function countBeginLines(text: string): number {
  let count = 0;
  forEachLine(text, (line) => {
    if (line.trim().startsWith(BEGIN)) count += 1;
  });
  return count;
}

/** A label is printable ASCII without '-' at either end, as RFC 7468 §3 describes; short enough to print. */
const LABEL_CHARS = /^[\x20-\x7e]*$/;
function validLabel(label: string): boolean {
  return (
    label.length > 0 &&
    label.length <= 64 &&
    LABEL_CHARS.test(label) &&
    !label.startsWith('-') &&
    !label.endsWith('-') &&
    label.trim() === label
  );
}

/**
 * Parses an armour line (`-----BEGIN LABEL-----` / `-----END LABEL-----`, already trimmed) and
 * returns the label, or null when the line is not well formed.
 */
function armourLabel(line: string, keyword: typeof BEGIN | typeof END): string | null {
  if (!line.startsWith(`${keyword} `) || !line.endsWith(DASHES)) return null;
  const label = line.slice(keyword.length + 1, line.length - DASHES.length);
  return validLabel(label) ? label : null;
}

/** Shows at most 40 characters of a line in a message, control characters escaped. */
function excerpt(line: string): string {
  const short = line.length > 40 ? `${line.slice(0, 40)}…` : line;
  let out = '';
  for (const c of short) {
    const code = c.charCodeAt(0);
    out += code < 0x20 || (code >= 0x7f && code <= 0x9f) ? `\\x${code.toString(16).padStart(2, '0')}` : c;
  }
  return out;
}

const BASE64_LINE = /^[A-Za-z0-9+/=]*$/;
const HEADER_LINE = /^[A-Za-z0-9][A-Za-z0-9-]*:/;

/** Finds the blocks; checks armour and base64 characters, not what the DER means. */
function scanBlocks(text: string, field: InputField): RawBlock[] {
  const name = fieldName(field);
  const malformed = (message: string, line: number, block?: number): AppError =>
    new AppError('pem_malformed', message, { field, details: block === undefined ? { line } : { line, block } });

  const blocks: RawBlock[] = [];
  // Held in an object so TypeScript does not narrow it to `null` across the callback.
  const state: { open: OpenBlock | null } = { open: null };

  forEachLine(text, (rawLine, lineNumber) => {
    const line = rawLine.trim();
    const current = state.open;
    if (current === null) {
      if (line.startsWith(BEGIN)) {
        const label = armourLabel(line, BEGIN);
        if (label === null) {
          const lostBreaks = lostLineBreaks(line, field);
          if (lostBreaks !== null) throw lostBreaks;
          throw malformed(
            `Line ${lineNumber} of the ${name} is not a valid BEGIN line ("${excerpt(line)}"); it must read exactly like -----BEGIN CERTIFICATE----- on a line of its own.`,
            lineNumber,
            blocks.length + 1,
          );
        }
        state.open = {
          label,
          headers: {},
          base64: '',
          index: blocks.length + 1,
          line: lineNumber,
          parts: [],
          inHeaders: true,
          lastHeader: null,
          sawBody: false,
        };
      } else if (line.startsWith(END)) {
        const label = armourLabel(line, END) ?? excerpt(line);
        throw malformed(
          `Line ${lineNumber} of the ${name} ends a ${label} block that was never begun (no matching -----BEGIN ${label}----- line before it); the start of the block is missing.`,
          lineNumber,
        );
      }
      // Anything else outside a block is commentary (Bag Attributes, subject= lines…): ignored.
      return;
    }

    const block = current;
    const where = `block ${block.index} of the ${name} (${block.label}, begun on line ${block.line})`;
    if (line.startsWith(BEGIN)) {
      throw malformed(
        `${capitalise(where)} has no END line: line ${lineNumber} begins another block. Add -----END ${block.label}----- or remove the incomplete block.`,
        lineNumber,
        block.index,
      );
    }
    if (line.startsWith(END)) {
      const endLabel = armourLabel(line, END);
      if (endLabel === null) {
        throw malformed(
          `Line ${lineNumber} of the ${name} is not a valid END line ("${excerpt(line)}"); it must read exactly -----END ${block.label}-----.`,
          lineNumber,
          block.index,
        );
      }
      if (endLabel !== block.label) {
        throw malformed(
          `${capitalise(where)} begins with "-----BEGIN ${block.label}-----" but ends with "-----END ${endLabel}-----" on line ${lineNumber}; the labels must match.`,
          lineNumber,
          block.index,
        );
      }
      blocks.push({
        label: block.label,
        headers: block.headers,
        base64: block.parts.join(''),
        index: block.index,
        line: block.line,
      });
      state.open = null;
      return;
    }

    if (line === '') {
      // A blank line ends the RFC 1421 header section; elsewhere blank lines are tolerated.
      if (block.lastHeader !== null) block.inHeaders = false;
      return;
    }

    if (block.inHeaders && !block.sawBody) {
      // A header continuation line starts with whitespace (RFC 1421 §4.4).
      if (block.lastHeader !== null && (rawLine.startsWith(' ') || rawLine.startsWith('\t'))) {
        block.headers[block.lastHeader] = `${block.headers[block.lastHeader] ?? ''} ${line}`;
        return;
      }
      if (HEADER_LINE.test(line)) {
        const colon = line.indexOf(':');
        const key = line.slice(0, colon);
        block.headers[key] = line.slice(colon + 1).trim();
        block.lastHeader = key;
        return;
      }
      block.inHeaders = false;
    }

    // Base64 body. Spaces and tabs inside a line are ignored, as lax RFC 7468 parsers do.
    const compact = line.replace(/[ \t]+/g, '');
    if (!BASE64_LINE.test(compact)) {
      const bad = firstNonBase64(compact);
      throw malformed(
        `${capitalise(where)} has a character that is not base64 on line ${lineNumber}: ${describeChar(bad)}. ` +
          'A PEM body holds only A-Z, a-z, 0-9, "+", "/" and "=" padding; re-export or re-copy the block.',
        lineNumber,
        block.index,
      );
    }
    block.sawBody = true;
    block.parts.push(compact);
  });

  const block = state.open;
  if (block !== null) {
    throw malformed(
      `Block ${block.index} of the ${name} (${block.label}, begun on line ${block.line}) has no -----END ${block.label}----- line; the text was probably cut off when copying.`,
      block.line,
      block.index,
    );
  }
  return blocks;
}

function firstNonBase64(s: string): string {
  for (const c of s) {
    if (!/[A-Za-z0-9+/=]/.test(c)) return c;
  }
  return '';
}

function describeChar(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (code >= 0x21 && code <= 0x7e) return `"${c}" (${hex})`;
  return hex;
}

/** Classifies one scanned block: decodes it, refuses labels and encrypted keys, re-armours it. */
function finishBlock(raw: RawBlock, field: InputField): PemBlock {
  const name = fieldName(field);
  const where = `Block ${raw.index} of the ${name} (${raw.label}, line ${raw.line})`;
  const details = { block: raw.index, label: raw.label, line: raw.line };

  // Encryption is checked before the body: the fix for an encrypted key is to decrypt it, not to
  // look at its base64.
  if (raw.label === 'ENCRYPTED PRIVATE KEY') {
    throw new AppError('key_encrypted', `${where} is an encrypted private key; ${DECRYPT_HINT}.`, { field, details });
  }
  const procType = headerValue(raw.headers, 'Proc-Type');
  if (raw.label.endsWith('PRIVATE KEY') && procType !== undefined && procType.toUpperCase().includes('ENCRYPTED')) {
    throw new AppError(
      'key_encrypted',
      `${where} is an encrypted private key (Proc-Type: ${excerpt(procType)}); ${DECRYPT_HINT}.`,
      {
        field,
        details,
      },
    );
  }

  const known = CERTIFICATE_LABELS.has(raw.label) || PRIVATE_KEY_LABELS.has(raw.label) || IGNORED_LABELS.has(raw.label);
  if (!known) {
    const hint = REFUSED_LABEL_HINTS[raw.label];
    throw new AppError(
      'pem_malformed',
      `${where} is a "${raw.label}" block, which certkeeper does not accept` +
        `${hint === undefined ? '' : `: ${hint}`}. Expected ${expectedFor(field)}.`,
      { field, details },
    );
  }

  const der = decodeBase64(raw, field);
  const canonicalLabel = CERTIFICATE_LABELS.has(raw.label) ? 'CERTIFICATE' : raw.label;
  return {
    label: raw.label,
    headers: Object.freeze({ ...raw.headers }),
    der,
    pem: armour(canonicalLabel, der),
    index: raw.index,
  };
}

function headerValue(headers: Record<string, string>, key: string): string | undefined {
  const wanted = key.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === wanted) return v;
  }
  return undefined;
}

/** Strict base64: characters were checked by the scanner; here length and padding. */
function decodeBase64(raw: RawBlock, field: InputField): Buffer {
  const name = fieldName(field);
  const where = `Block ${raw.index} of the ${name} (${raw.label}, line ${raw.line})`;
  const details = { block: raw.index, label: raw.label, line: raw.line };
  const b64 = raw.base64;
  if (b64.length === 0) {
    throw new AppError(
      'pem_malformed',
      `${where} is empty: there is nothing between its BEGIN and END lines. Paste the whole block.`,
      {
        field,
        details,
      },
    );
  }
  const firstPad = b64.indexOf('=');
  const padding = firstPad === -1 ? 0 : b64.length - firstPad;
  if (firstPad !== -1 && (padding > 2 || b64.slice(firstPad) !== '='.repeat(padding))) {
    throw new AppError(
      'pem_malformed',
      `${where} has "=" padding in the middle of its base64; "=" may only appear at the very end. ` +
        'Two blocks were probably merged, or the block was edited: re-export it.',
      { field, details },
    );
  }
  if (b64.length % 4 !== 0) {
    throw new AppError(
      'pem_malformed',
      `${where} has ${b64.length} base64 characters, which is not a multiple of 4: the block is truncated or has characters missing. Re-copy the whole block.`,
      { field, details },
    );
  }
  const der = Buffer.from(b64, 'base64');
  if (der.length === 0) {
    throw new AppError('pem_malformed', `${where} is empty: its base64 decodes to no bytes. Paste the whole block.`, {
      field,
      details,
    });
  }
  return der;
}

/** Canonical armour: LF endings, 64-column base64, trailing newline. */
export function armour(label: string, der: Buffer): string {
  const b64 = der.toString('base64');
  const lines: string[] = [`-----BEGIN ${label}-----`];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  lines.push(`-----END ${label}-----`, '');
  return lines.join('\n');
}

/**
 * A PEM whose line breaks were lost: turned into the two characters `\n` (double escaping in JSON
 * or shell) or into spaces (a single-line input box). Refused, not repaired: the text is not what the
 * user's file holds, and the message says how to send it intact.
 */
function lostLineBreaks(text: string, field: InputField): AppError | null {
  const name = fieldName(field);
  if (text.includes('\\n') && text.includes(BEGIN)) {
    return new AppError(
      'pem_malformed',
      `The ${name} contains the two characters "\\n" instead of line breaks, so no PEM block could be read. ` +
        'Send real line breaks (in JSON, a "\\n" escape inside the string is right; a doubly escaped "\\\\n" is not).',
      { field },
    );
  }
  const begin = text.indexOf(BEGIN);
  if (begin !== -1 ? text.includes(END, begin) || text.length > begin + 80 : text.includes(END)) {
    return new AppError(
      'pem_malformed',
      `The ${name} has a -----BEGIN or -----END marker that is not on a line of its own, so no PEM block could be read; ` +
        'the line breaks were probably lost. Each marker and each base64 line must be on its own line.',
      { field },
    );
  }
  return null;
}

/** Explains why text without any block is not PEM, as precisely as the text allows. */
function noBlockError(text: string, field: InputField): AppError {
  const name = fieldName(field);
  const expected = expectedFor(field);
  const trimmed = text.trim();

  const lostBreaks = lostLineBreaks(trimmed, field);
  if (lostBreaks !== null) return lostBreaks;
  // Bare base64: only base64 characters and whitespace, e.g. the body of a PEM without its armour.
  const compact = trimmed.replace(/\s+/g, '');
  if (compact.length >= 16 && BASE64_LINE.test(compact)) {
    const looksDer = compact.startsWith('MI');
    return new AppError(
      'pem_malformed',
      `The ${name} is bare base64${looksDer ? ' (it looks like DER)' : ''} without the PEM armour lines. ` +
        `Expected ${expected}: add the -----BEGIN …----- and -----END …----- lines around it, or paste the original PEM file.`,
      { field },
    );
  }
  return new AppError(
    'pem_malformed',
    `The ${name} contains no PEM block. Expected ${expected}; paste the contents of the .pem/.crt/.key file, starting with the -----BEGIN line.`,
    { field },
  );
}
