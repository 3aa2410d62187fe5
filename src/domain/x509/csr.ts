/**
 * A user's PKCS#10 certificate signing request (RFC 2986), for a reissue where the user keeps the
 * key: what it asks for (its names and public key) and whether it is signed by that key.
 *
 * `parseCsr(text)` returns the parsed request or throws an AppError naming field `csr`:
 * - `input_too_large` over CSR_MAX_BYTES; `pem_malformed` when the text is not one PEM
 *   `CERTIFICATE REQUEST` block (the `NEW CERTIFICATE REQUEST` label of old tools is accepted) or
 *   its DER is not a CertificationRequest;
 * - `invalid_argument` when the signature does not verify with the request's own key (proof of
 *   possession, RFC 2986 §3): a CA refuses such a CSR at finalize, so it is refused here first;
 * - `key_type_unsupported` for a key the import ladder would refuse (keys.ts step 8: RSA under
 *   2048 bits, other curves, Ed25519…).
 *
 * Names: the subject CN (when it has one) and the dNSName entries of the subjectAltName in the
 * extensionRequest attribute, as written (callers normalise and compare them).
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { AppError } from '../errors.ts';
import {
  Asn1ShapeError,
  bitStringBytes,
  characterString,
  childAt,
  childrenOf,
  CLASS_CONTEXT,
  contentOf,
  decodeDer,
  encodeDer,
  isContext,
  oidOf,
  sequenceOf,
  TAG,
  type Asn1Node,
} from './asn1.ts';
import { checkKeyTypeAllowed, describePublicKey } from './keys.ts';
import { OID_COMMON_NAME, OID_EXT_SUBJECT_ALT_NAME } from './names.ts';

/** A CSR with 100 names and an RSA-4096 key is under 8 KB. */
export const CSR_MAX_BYTES = 64 * 1024;

const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

/** Signature algorithms a CSR may use, with the digest node:crypto verifies with. */
const SIGNATURES: ReadonlyMap<string, string> = new Map([
  ['1.2.840.113549.1.1.11', 'sha256'], // sha256WithRSAEncryption
  ['1.2.840.113549.1.1.12', 'sha384'],
  ['1.2.840.113549.1.1.13', 'sha512'],
  ['1.2.840.10045.4.3.2', 'sha256'], // ecdsa-with-SHA256
  ['1.2.840.10045.4.3.3', 'sha384'],
  ['1.2.840.10045.4.3.4', 'sha512'],
]);

export interface ParsedCsr {
  /** The request's DER (what a CA's finalize takes). */
  readonly der: Buffer;
  /** The subject CN, or null. */
  readonly commonName: string | null;
  /** subjectAltName dNSNames, in request order. */
  readonly dnsNames: readonly string[];
  readonly publicKey: KeyObject;
}

const malformed = (why: string): AppError =>
  new AppError('pem_malformed', `The CSR is not a PKCS#10 certificate request: ${why}.`, { field: 'csr' });

/** The DER of the one CERTIFICATE REQUEST block of `text`. */
function csrDer(text: string): Buffer {
  const match =
    /-----BEGIN (NEW )?CERTIFICATE REQUEST-----([A-Za-z0-9+/=\s]*?)-----END (NEW )?CERTIFICATE REQUEST-----/.exec(text);
  if (!match) throw malformed('no -----BEGIN CERTIFICATE REQUEST----- block');
  const rest = text.slice(0, match.index) + text.slice(match.index + match[0].length);
  if (rest.includes('-----BEGIN')) throw malformed('give exactly one CERTIFICATE REQUEST block');
  const der = Buffer.from(match[2]!.replace(/\s+/g, ''), 'base64');
  if (der.length === 0) throw malformed('the block is empty');
  return der;
}

export function parseCsr(text: string): ParsedCsr {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > CSR_MAX_BYTES)
    throw new AppError('input_too_large', `The CSR is ${bytes} bytes; at most ${CSR_MAX_BYTES} are accepted.`, {
      field: 'csr',
      details: { limit: CSR_MAX_BYTES, actual: bytes },
    });
  const der = csrDer(text);
  let info: Asn1Node;
  let algorithm: string;
  let signature: string;
  try {
    const [infoNode, algorithmNode, signatureNode] = sequenceOf(decodeDer(der.toString('latin1')), 'request');
    info = childAt([infoNode!], 0, 'certificationRequestInfo');
    algorithm = oidOf(childAt(sequenceOf(childAt([algorithmNode!], 0, 'algorithm'), 'algorithm'), 0, 'oid'), 'oid');
    signature = bitStringBytes(childAt([signatureNode!], 0, 'signature'), 'signature');
  } catch (error) {
    if (error instanceof Asn1ShapeError || error instanceof TypeError) throw malformed('its DER does not decode');
    throw error;
  }
  let commonName: string | null = null;
  const dnsNames: string[] = [];
  let publicKey: KeyObject;
  try {
    const [, subject, spki, attributes] = sequenceOf(info, 'certificationRequestInfo');
    for (const rdn of childrenOf(childAt([subject!], 0, 'subject'), 'subject'))
      for (const atv of childrenOf(rdn, 'rdn')) {
        const [type, value] = sequenceOf(atv, 'attribute');
        if (oidOf(childAt([type!], 0, 'type'), 'type') === OID_COMMON_NAME)
          commonName = characterString(childAt([value!], 0, 'value'));
      }
    publicKey = createPublicKey({
      key: Buffer.from(encodeDer(childAt([spki!], 0, 'subjectPKInfo')), 'latin1'),
      format: 'der',
      type: 'spki',
    });
    if (attributes && isContext(attributes, 0))
      for (const attribute of childrenOf(attributes, 'attributes')) {
        const [type, values] = sequenceOf(attribute, 'attribute');
        if (oidOf(childAt([type!], 0, 'type'), 'type') !== OID_EXTENSION_REQUEST) continue;
        for (const extensions of sequenceOf(childAt([values!], 0, 'values'), 'values', TAG.SET))
          for (const extension of sequenceOf(extensions, 'extensions')) {
            const parts = sequenceOf(extension, 'extension');
            if (oidOf(childAt(parts, 0, 'extnID'), 'extnID') !== OID_EXT_SUBJECT_ALT_NAME) continue;
            const value = decodeDer(contentOf(childAt(parts, parts.length - 1, 'extnValue'), 'extnValue'));
            for (const name of sequenceOf(value, 'subjectAltName'))
              if ((name.tagClass as number) === CLASS_CONTEXT && (name.type as number) === 2)
                dnsNames.push(contentOf(name, 'dNSName'));
          }
      }
  } catch (error) {
    if (error instanceof Asn1ShapeError || error instanceof TypeError) throw malformed('its fields do not decode');
    if (error instanceof Error && !(error instanceof AppError)) throw malformed('its public key does not decode');
    throw error;
  }
  checkKeyTypeAllowed(describePublicKey(publicKey), { allowEd25519: false }, 'csr');
  const digest = SIGNATURES.get(algorithm);
  if (digest === undefined)
    throw new AppError('invalid_argument', `The CSR is signed with an unsupported algorithm (${algorithm}).`, {
      field: 'csr',
    });
  let signed: boolean;
  try {
    signed = verify(
      digest,
      Buffer.from(encodeDer(info), 'latin1'),
      { key: publicKey, dsaEncoding: 'der' },
      Buffer.from(signature, 'latin1'),
    );
  } catch {
    signed = false;
  }
  if (!signed)
    throw new AppError('invalid_argument', 'The CSR is not signed by its own key (its signature does not verify).', {
      field: 'csr',
    });
  return { der, commonName, dnsNames, publicKey };
}
