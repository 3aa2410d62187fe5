/**
 * Downloads: the certificate, its chain (as stored), or the full chain (certificate then issuers, a
 * self-signed root left out: domain/x509/chain.ts fullChainPems) as PEM
 * files, and the certificate as DER (`certificate.der`) (GET, any role); the private key as PEM
 * or, with `{"format": "der"}`, PKCS#8 DER (POST, so it needs the CSRF token; ADMIN only by core's
 * policy; audited by core as `certificate.key.read`, success or refusal); a PKCS#12 file (POST
 * `pkcs12` with `{"passphrase", "legacy"?, "includeKey"?}`: certificate, chain and, unless
 * `includeKey` is false, the key, read through the same audited export).
 *
 * Files are `Content-Disposition: attachment`, `Cache-Control: no-store`, named after the
 * certificate (sanitized to letters, digits, ".", "_" and "-").
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Core } from '../../core/core.ts';
import { AppError } from '../../domain/errors.ts';
import { certificateDers, pkcs12Parts, privateKeyPkcs8Der } from '../../domain/x509/der.ts';
import { encodePkcs12 } from '../../domain/x509/pkcs12.ts';
import { fullChainPems } from '../../domain/x509/chain.ts';
import { callerOf, consoleAuth } from './auth.ts';
import { certificateNoParam, objectBody, oneOf, requiredString, type Json } from './body.ts';

const PARTS = ['certificate', 'chain', 'fullchain', 'certificate.der'] as const;
type Part = (typeof PARTS)[number];

export const safeFileStem = (name: string): string =>
  name
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 80) || 'certificate';

function sendFile(reply: FastifyReply, fileName: string, bytes: Buffer, type: string): FastifyReply {
  return reply
    .header('content-type', type)
    .header('content-disposition', `attachment; filename="${fileName}"`)
    .header('cache-control', 'no-store')
    .send(bytes);
}

export const sendPem = (reply: FastifyReply, fileName: string, text: string): FastifyReply =>
  sendFile(reply, fileName, Buffer.from(text, 'utf8'), 'application/x-pem-file');

/** The longest PKCS#12 passphrase taken (the import's cap too). */
const PASSPHRASE_MAX = 1024;

/** A body that may be absent (the key download without options). */
const optionalBody = (body: unknown): Json => (body === undefined || body === null ? {} : objectBody(body));

function flag(source: Json, field: string, fallback: boolean): boolean {
  const value = source[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean')
    throw new AppError('invalid_argument', `The ${field} must be true or false.`, { field });
  return value;
}

export function registerDownloadRoutes(app: FastifyInstance, core: Core): void {
  app.get(
    '/console/api/certificates/:certificateNo/files/:part',
    { onRequest: consoleAuth(core) },
    async (request, reply) => {
      const { actor } = callerOf(request);
      const certificateNo = certificateNoParam(request.params);
      const part = (request.params as { part: string }).part as Part;
      if (!PARTS.includes(part))
        throw new AppError(
          'not_found',
          `There is no '${part.slice(0, 32)}' download; choose certificate, chain, fullchain or certificate.der.`,
        );
      const bundle = await core.certificates.export(actor, certificateNo, { includeKey: false });
      const stem = safeFileStem(bundle.certificate.name);
      if (part === 'certificate') return sendPem(reply, `${stem}.crt.pem`, bundle.certificatePem);
      if (part === 'certificate.der')
        return sendFile(
          reply,
          `${stem}.der`,
          certificateDers(bundle.certificatePem)[0] as Buffer,
          'application/pkix-cert',
        );
      if (bundle.chainPems.length === 0 && part === 'chain')
        throw new AppError('not_found', 'This certificate was registered without a chain.');
      if (part === 'chain') return sendPem(reply, `${stem}.chain.pem`, bundle.chainPems.join(''));
      return sendPem(reply, `${stem}.fullchain.pem`, fullChainPems(bundle.certificatePem, bundle.chainPems).join(''));
    },
  );

  app.post(
    '/console/api/certificates/:certificateNo/private-key',
    { onRequest: consoleAuth(core) },
    async (request, reply) => {
      const { actor } = callerOf(request);
      const certificateNo = certificateNoParam(request.params);
      const format = oneOf(optionalBody(request.body), 'format', ['pem', 'der'] as const, 'pem');
      // Not pre-checked in the hook: core audits a VIEWER's attempt as a refused key read.
      const bundle = await core.certificates.export(actor, certificateNo, { includeKey: true });
      if (bundle.privateKeyPem === null)
        throw new AppError('not_found', 'This certificate was registered without a private key.');
      const stem = safeFileStem(bundle.certificate.name);
      if (format === 'der')
        return sendFile(reply, `${stem}.key.der`, privateKeyPkcs8Der(bundle.privateKeyPem), 'application/pkcs8');
      return sendPem(reply, `${stem}.key.pem`, bundle.privateKeyPem);
    },
  );

  app.post(
    '/console/api/certificates/:certificateNo/pkcs12',
    { onRequest: consoleAuth(core) },
    async (request, reply) => {
      const { actor } = callerOf(request);
      const certificateNo = certificateNoParam(request.params);
      const body = objectBody(request.body);
      const passphrase = requiredString(body, 'passphrase', PASSPHRASE_MAX);
      const legacy = flag(body, 'legacy', false);
      const includeKey = flag(body, 'includeKey', true);
      const bundle = await core.certificates.export(actor, certificateNo, { includeKey });
      if (includeKey && bundle.privateKeyPem === null)
        throw new AppError('not_found', 'This certificate was registered without a private key.', {
          field: 'includeKey',
        });
      const p12 = encodePkcs12(pkcs12Parts({ name: bundle.certificate.name, ...bundle }), { passphrase, legacy });
      return sendFile(reply, `${safeFileStem(bundle.certificate.name)}.p12`, p12, 'application/x-pkcs12');
    },
  );
}
