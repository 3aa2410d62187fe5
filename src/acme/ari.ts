/**
 * RFC 9773 (ACME Renewal Information) certificate identifiers: base64url of the Authority Key
 * Identifier's keyIdentifier, '.', base64url of the serial number's DER content octets (sign octet
 * included, as encoded). Read from the certificate's DER with domain/x509/asn1.ts.
 */
import { X509Certificate } from 'node:crypto';
import { IssuerError } from '../core/issuance/issuer.ts';
import {
  Asn1ShapeError,
  TAG,
  childAt,
  childrenOf,
  contentOf,
  decodeDer,
  isContext,
  isUniversal,
  oidOf,
  sequenceOf,
} from '../domain/x509/asn1.ts';

const OID_AKI = '2.5.29.35';

/** The ARI id of the first certificate in `pem`. An `invalid_input` IssuerError when it has no AKI keyIdentifier. */
export function ariCertId(pem: string): string {
  let der: Buffer;
  try {
    der = new X509Certificate(pem).raw;
  } catch {
    throw new IssuerError('invalid_input', 'renewal info: the certificate PEM does not parse', { retryable: false });
  }
  try {
    const cert = sequenceOf(decodeDer(der.toString('latin1')), 'certificate');
    const tbs = sequenceOf(childAt(cert, 0, 'certificate'), 'tbsCertificate');
    const hasVersion = isContext(childAt(tbs, 0, 'tbsCertificate'), 0);
    const serialNode = childAt(tbs, hasVersion ? 1 : 0, 'tbsCertificate');
    if (!isUniversal(serialNode, TAG.INTEGER)) throw new Asn1ShapeError('serialNumber: expected an INTEGER');
    const serial = contentOf(serialNode, 'serialNumber');
    const extensionsWrapper = tbs.find((node) => isContext(node, 3));
    let keyIdentifier: string | undefined;
    if (extensionsWrapper) {
      const extensions = sequenceOf(
        childAt(childrenOf(extensionsWrapper, 'extensions'), 0, 'extensions'),
        'extensions',
      );
      for (const extension of extensions) {
        const parts = sequenceOf(extension, 'extension');
        if (oidOf(childAt(parts, 0, 'extension'), 'extnID') !== OID_AKI) continue;
        const value = parts[parts.length - 1]!;
        if (!isUniversal(value, TAG.OCTET_STRING)) throw new Asn1ShapeError('AKI: expected an OCTET STRING');
        const aki = sequenceOf(decodeDer(contentOf(value, 'AKI')), 'AKI');
        const id = aki.find((node) => isContext(node, 0));
        if (id) keyIdentifier = contentOf(id, 'keyIdentifier');
      }
    }
    if (keyIdentifier === undefined) {
      throw new IssuerError('invalid_input', 'renewal info: the certificate has no authority key identifier', {
        retryable: false,
      });
    }
    return `${Buffer.from(keyIdentifier, 'latin1').toString('base64url')}.${Buffer.from(serial, 'latin1').toString('base64url')}`;
  } catch (error) {
    if (error instanceof IssuerError) throw error;
    throw new IssuerError('invalid_input', 'renewal info: the certificate is malformed', {
      retryable: false,
      cause: error,
    });
  }
}
