/**
 * PKCS#10 certification requests (RFC 2986) for ACME finalize (RFC 8555 7.4), built as DER here
 * (node:crypto has no CSR builder) and signed with node:crypto.
 *
 * Shape: version 0; subject CN = the first name when it fits X.520's 64 characters, else an empty
 * subject (CAs take the names from the SAN); SPKI as node:crypto exports it; one extensionRequest
 * attribute holding subjectAltName with every name (dNSName, or iPAddress for an IP literal);
 * signature ecdsa-with-SHA256 (P-256), ecdsa-with-SHA384 (P-384) or sha256WithRSAEncryption (RSA).
 */
import { createPublicKey, sign } from 'node:crypto';
import { isIP } from 'node:net';
import { IssuerError } from '../core/issuance/issuer.ts';
import { parsePrivateKey } from './keys.ts';
import { bitString, contextTag, nullValue, octetString, oid, sequence, set, smallInteger, utf8String } from './der.ts';

const OID_CN = '2.5.4.3';
const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';

function ipBytes(text: string): Buffer {
  if (isIP(text) === 4) return Buffer.from(text.split('.').map(Number));
  // IPv6: expand '::' and read eight groups.
  const [head = '', tail] = text.split('::');
  const parts = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const left = parts(head);
  const right = tail === undefined ? [] : parts(tail);
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** DER of a CSR for `names` signed by the private key in `keyPem`. */
export function createCsr(keyPem: string, names: readonly string[]): Buffer {
  if (names.length === 0) {
    throw new IssuerError('invalid_input', 'CSR: at least one name is needed', { retryable: false });
  }
  for (const name of names) {
    if (
      isIP(name) === 0 &&
      !/^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(name)
    ) {
      throw new IssuerError(
        'invalid_input',
        `CSR: ${JSON.stringify(name.slice(0, 300))} is not a DNS name or IP address`,
        {
          retryable: false,
        },
      );
    }
    if (isIP(name) === 6 && name.includes('.')) {
      throw new IssuerError('invalid_input', 'CSR: IPv6 addresses with an embedded IPv4 part are not supported', {
        retryable: false,
      });
    }
  }
  const privateKey = parsePrivateKey(keyPem, 'certificate key');
  const type = privateKey.asymmetricKeyType;
  const curve = privateKey.asymmetricKeyDetails?.namedCurve;
  let hash: 'sha256' | 'sha384';
  let algorithm: Buffer;
  if (type === 'ec' && curve === 'prime256v1') {
    hash = 'sha256';
    algorithm = sequence(oid('1.2.840.10045.4.3.2'));
  } else if (type === 'ec' && curve === 'secp384r1') {
    hash = 'sha384';
    algorithm = sequence(oid('1.2.840.10045.4.3.3'));
  } else if (type === 'rsa' && (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) {
    hash = 'sha256';
    algorithm = sequence(oid('1.2.840.113549.1.1.11'), nullValue());
  } else {
    throw new IssuerError('invalid_input', 'certificate key: expected ECDSA P-256, P-384 or RSA of 2048 bits or more', {
      retryable: false,
    });
  }

  const first = names[0]!;
  const subject = first.length <= 64 ? sequence(set(sequence(oid(OID_CN), utf8String(first)))) : sequence();
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const generalNames = sequence(
    ...names.map((name) =>
      isIP(name) === 0 ? contextTag(2, false, Buffer.from(name, 'ascii')) : contextTag(7, false, ipBytes(name)),
    ),
  );
  const extensions = sequence(sequence(oid(OID_SUBJECT_ALT_NAME), octetString(generalNames)));
  const attributes = contextTag(0, true, sequence(oid(OID_EXTENSION_REQUEST), set(extensions)));
  const info = sequence(smallInteger(0), subject, spki, attributes);
  const signature = sign(hash, info, privateKey);
  return sequence(info, algorithm, bitString(signature));
}
