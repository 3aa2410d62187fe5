/**
 * DER: binary certificates and keys, in and out.
 *
 * In (`uploadToPem`): a file a user picked for the certificate, private key or chain field may be
 * PEM text or DER. DER is recognised by its framing (one or more complete DER elements, the first
 * byte 0x30) and by the shape of each element, and armoured as the PEM the ladder (ladder.ts)
 * reads: a certificate as CERTIFICATE, a key as PRIVATE KEY (PKCS#8), RSA PRIVATE KEY (PKCS#1) or
 * EC PRIVATE KEY (SEC1). That is a conversion: the ladder then parses and checks it as it checks
 * pasted PEM. Refused here, because only this step can say it:
 *   - over the field's size cap                               input_too_large
 *   - a PKCS#12 file where a certificate or key was expected  invalid_argument (use the PKCS#12 import)
 *   - DER of something else (a key in the certificate field, a CSR, any other structure)
 *                                                             certificate_invalid, chain_invalid, key_invalid
 *   - an encrypted PKCS#8 key                                 key_encrypted
 * Anything that is not DER framing is returned as text (latin1, one character per byte) for the
 * ladder's PEM step, which refuses binary junk and NUL bytes with its own message.
 *
 * Out: the DER of stored PEM (`certificateDers`, `privateKeyPkcs8Der`) and the parts of a
 * PKCS#12 file (`pkcs12Parts`).
 */
import { createPrivateKey } from 'node:crypto';
import { createRequire } from 'node:module';
import type forge from 'node-forge';
import { AppError, type ErrorCode } from '../errors.ts';
import { IMPORT_LIMITS } from './ladder.ts';
import { armour, splitPem } from './pem.ts';
import type { Pkcs12Parts } from './pkcs12.ts';

const require = createRequire(import.meta.url);
const asn1 = require('node-forge/lib/asn1.js') as typeof forge.asn1;
const forgeUtil = require('node-forge/lib/util.js') as typeof forge.util;
type Node = forge.asn1.Asn1;

export type UploadField = 'certificate' | 'privateKey' | 'chain';

const LIMITS: Readonly<Record<UploadField, number>> = {
  certificate: IMPORT_LIMITS.certificateBytes,
  privateKey: IMPORT_LIMITS.privateKeyBytes,
  chain: IMPORT_LIMITS.chainBytes,
};

const NAMES: Readonly<Record<UploadField, string>> = {
  certificate: 'certificate file',
  privateKey: 'private key file',
  chain: 'chain file',
};

/** What a DER element is, from its outer shape only. */
type Shape = 'certificate' | 'pkcs8' | 'pkcs1' | 'sec1' | 'encrypted-pkcs8' | 'pkcs12' | 'other';

const LABELS: Partial<Record<Shape, string>> = {
  pkcs8: 'PRIVATE KEY',
  pkcs1: 'RSA PRIVATE KEY',
  sec1: 'EC PRIVATE KEY',
};

const DESCRIBED: Readonly<Record<Shape, string>> = {
  certificate: 'a certificate',
  pkcs8: 'a private key',
  pkcs1: 'a private key',
  sec1: 'a private key',
  'encrypted-pkcs8': 'an encrypted private key',
  pkcs12: 'a PKCS#12 file',
  other: 'neither a certificate nor a private key',
};

/** PEM text for the ladder from the bytes of a picked file: see the module comment. */
export function uploadToPem(bytes: Buffer, field: UploadField): string {
  const limit = LIMITS[field];
  if (bytes.length > limit) {
    throw new AppError(
      'input_too_large',
      `The ${NAMES[field]} is ${bytes.length} bytes; the limit is ${limit} bytes.`,
      {
        field,
        details: { limit, actual: bytes.length },
      },
    );
  }
  const elements = bytes[0] === 0x30 ? derElements(bytes.toString('latin1')) : null;
  if (elements === null) return bytes.toString('latin1');
  const blocks: string[] = [];
  for (const [index, element] of elements.entries()) {
    const shape = shapeOf(element.node);
    const where = elements.length > 1 ? `Element ${index + 1} of the ${NAMES[field]}` : `The ${NAMES[field]}`;
    if (shape === 'pkcs12') {
      throw new AppError(
        'invalid_argument',
        `${where} is a PKCS#12 (.p12/.pfx) file; import it as PKCS#12 with its passphrase (CLI: --p12 FILE).`,
        { field },
      );
    }
    if (field === 'privateKey') {
      if (shape === 'encrypted-pkcs8') {
        throw new AppError(
          'key_encrypted',
          `${where} is an encrypted private key; decrypt it first, e.g. \`openssl pkey -inform DER -in key.der -out key.pem\`.`,
          { field },
        );
      }
      const label = LABELS[shape];
      if (label === undefined) throw refused('key_invalid', where, shape, 'a private key', field);
      blocks.push(armour(label, element.der));
    } else {
      if (shape !== 'certificate')
        throw refused(
          field === 'chain' ? 'chain_invalid' : 'certificate_invalid',
          where,
          shape,
          'a certificate',
          field,
        );
      blocks.push(armour('CERTIFICATE', element.der));
    }
  }
  return blocks.join('');
}

/**
 * A file of any content (the bulk import reads a directory whose files say nothing of what they
 * hold): PEM text as it is; DER certificates and keys armoured by their shape, in file order, so
 * one file may hold both; a PKCS#12 file reported as such (it needs its passphrase). An encrypted
 * PKCS#8 key is armoured as ENCRYPTED PRIVATE KEY, which the PEM step refuses (`key_encrypted`);
 * DER of anything else is `certificate_invalid` (field `file`).
 */
export function fileToPem(bytes: Buffer): { pem: string } | 'pkcs12' {
  const elements = bytes[0] === 0x30 ? derElements(bytes.toString('latin1')) : null;
  if (elements === null) {
    const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    return { pem: bytes.toString('latin1', start) };
  }
  if (elements.length === 1 && shapeOf(elements[0]!.node) === 'pkcs12') return 'pkcs12';
  const blocks: string[] = [];
  for (const [index, element] of elements.entries()) {
    const shape = shapeOf(element.node);
    if (shape === 'certificate') blocks.push(armour('CERTIFICATE', element.der));
    else if (shape === 'encrypted-pkcs8') blocks.push(armour('ENCRYPTED PRIVATE KEY', element.der));
    else if (LABELS[shape] !== undefined) blocks.push(armour(LABELS[shape], element.der));
    else
      throw new AppError(
        'certificate_invalid',
        `Element ${index + 1} of the file is DER of ${DESCRIBED[shape]}, not a certificate or a private key.`,
        { field: 'file' },
      );
  }
  return { pem: blocks.join('') };
}

function refused(code: ErrorCode, where: string, shape: Shape, expected: string, field: UploadField): AppError {
  return new AppError(code, `${where} is DER of ${DESCRIBED[shape]}, not ${expected}.`, { field });
}

/**
 * The complete DER elements `bytes` is made of (a DER file, or several concatenated, as
 * `cat a.der b.der` makes), each with its own bytes, or null when it is not DER from start to end.
 */
function derElements(bytes: string): Array<{ node: Node; der: Buffer }> | null {
  const elements: Array<{ node: Node; der: Buffer }> = [];
  const buffer = forgeUtil.createBuffer(bytes);
  try {
    while (buffer.length() > 0) {
      const start = bytes.length - buffer.length();
      const node = asn1.fromDer(
        buffer as never,
        { strict: true, parseAllBytes: false, decodeBitStrings: false } as never,
      );
      if (node.tagClass !== asn1.Class.UNIVERSAL || node.type !== asn1.Type.SEQUENCE) return null;
      elements.push({ node, der: Buffer.from(bytes.slice(start, bytes.length - buffer.length()), 'latin1') });
    }
  } catch {
    return null;
  }
  return elements.length > 0 ? elements : null;
}

function shapeOf(element: Node): Shape {
  const parts = Array.isArray(element.value) ? element.value : [];
  const [a, b, c] = parts;
  const is = (node: Node | undefined, type: number) =>
    node !== undefined && node.tagClass === asn1.Class.UNIVERSAL && node.type === type;
  const T = asn1.Type;
  if (is(a, T.SEQUENCE) && is(b, T.SEQUENCE) && is(c, T.BITSTRING) && parts.length === 3) return 'certificate';
  if (is(a, T.SEQUENCE) && is(b, T.OCTETSTRING) && parts.length === 2) return 'encrypted-pkcs8';
  if (is(a, T.INTEGER) && is(b, T.SEQUENCE) && is(c, T.OCTETSTRING)) return 'pkcs8';
  if (is(a, T.INTEGER) && is(b, T.SEQUENCE) && parts.length >= 2 && a?.value === '\x03') return 'pkcs12';
  if (is(a, T.INTEGER) && is(b, T.INTEGER) && parts.length >= 9) return 'pkcs1';
  if (is(a, T.INTEGER) && is(b, T.OCTETSTRING) && a?.value === '\x01') return 'sec1';
  return 'other';
}

// ---------------------------------------------------------------------------------------------
// Out

/** The DER of each certificate in stored PEM text, in order. */
export function certificateDers(pem: string): Buffer[] {
  return splitPem(pem, {
    field: 'certificate',
    maxBytes: IMPORT_LIMITS.chainBytes * 2,
    maxBlocks: 1024,
  }).certificates.map((block) => block.der);
}

/** PKCS#8 DER of a stored private key (PEM of any format OpenSSL reads). */
export function privateKeyPkcs8Der(pem: string): Buffer {
  return createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
}

/** What encodePkcs12 takes, from what core's export returns. */
export function pkcs12Parts(bundle: {
  name: string;
  certificatePem: string;
  chainPems: readonly string[];
  privateKeyPem: string | null;
}): Pkcs12Parts {
  const [certificateDer] = certificateDers(bundle.certificatePem);
  if (!certificateDer) throw new AppError('internal', 'The stored certificate holds no certificate.');
  return {
    certificateDer,
    chainDers: bundle.chainPems.flatMap((pem) => certificateDers(pem)),
    privateKeyPkcs8Der: bundle.privateKeyPem === null ? null : privateKeyPkcs8Der(bundle.privateKeyPem),
    friendlyName: bundle.name,
  };
}
