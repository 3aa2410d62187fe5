/**
 * Downloads: the certificate, its chain (as stored), or the full chain (certificate then issuers, a
 * self-signed root left out: domain/x509/chain.ts fullChainPems) as PEM
 * files (GET, any role); the private key (POST, so it needs the CSRF token; ADMIN only by core's
 * policy; audited by core as `certificate.key.read`, success or refusal).
 *
 * Files are `Content-Disposition: attachment`, `Cache-Control: no-store`, named after the
 * certificate (sanitized to letters, digits, ".", "_" and "-").
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Core } from '../../core/core.ts';
import { AppError } from '../../domain/errors.ts';
import { fullChainPems } from '../../domain/x509/chain.ts';
import { callerOf, consoleAuth } from './auth.ts';
import { certificateNoParam } from './body.ts';

const PARTS = ['certificate', 'chain', 'fullchain'] as const;
type Part = (typeof PARTS)[number];

export const safeFileStem = (name: string): string =>
  name
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 80) || 'certificate';

function sendPem(reply: FastifyReply, fileName: string, text: string): FastifyReply {
  return reply
    .header('content-type', 'application/x-pem-file')
    .header('content-disposition', `attachment; filename="${fileName}"`)
    .header('cache-control', 'no-store')
    .send(Buffer.from(text, 'utf8'));
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
          `There is no '${part.slice(0, 32)}' download; choose certificate, chain or fullchain.`,
        );
      const bundle = await core.certificates.export(actor, certificateNo, { includeKey: false });
      const stem = safeFileStem(bundle.certificate.name);
      if (part === 'certificate') return sendPem(reply, `${stem}.crt.pem`, bundle.certificatePem);
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
      // Not pre-checked in the hook: core audits a VIEWER's attempt as a refused key read.
      const bundle = await core.certificates.export(actor, certificateNo, { includeKey: true });
      if (bundle.privateKeyPem === null)
        throw new AppError('not_found', 'This certificate was registered without a private key.');
      return sendPem(reply, `${safeFileStem(bundle.certificate.name)}.key.pem`, bundle.privateKeyPem);
    },
  );
}
