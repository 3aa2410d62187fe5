/**
 * Changing certificates: validate (dry run), import, delete. Writes need `certificate.write`
 * (checked in the auth hook before the body is read, and again by core).
 *
 * Delete names the certificate it means (`?name=`), as the confirmation dialog does: core refuses
 * when the number now belongs to another name, and refuses while the certificate is in use
 * (409 `in_use`, with the slots in the message).
 */
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/core.ts';
import { callerOf, consoleAuth } from './auth.ts';
import { certificateNoParam, optionalString, type Json } from './body.ts';
import { chainView } from './chain.ts';
import { CONSOLE_IMPORT, importInput, withEveryFieldError } from './import.ts';
import { certificateSummary, factsOf } from './present.ts';

export function registerWriteRoutes(app: FastifyInstance, core: Core): void {
  const write = consoleAuth(core, 'certificate.write');

  app.post('/console/api/certificates/validate', { onRequest: write }, async (request) => {
    const { actor } = callerOf(request);
    const input = importInput(request.body);
    const candidate = await withEveryFieldError(input, () => core.certificates.validate(actor, input, CONSOLE_IMPORT));
    return {
      name: candidate.name,
      facts: factsOf(candidate.facts),
      chainLength: candidate.chainPems.length,
      chainRepaired: candidate.chainRepaired,
      hasPrivateKey: candidate.privateKey !== null,
    };
  });

  app.post('/console/api/certificates', { onRequest: write }, async (request, reply) => {
    const { actor } = callerOf(request);
    const input = importInput(request.body);
    const certificate = await withEveryFieldError(input, () => core.certificates.import(actor, input, CONSOLE_IMPORT));
    const now = core.clock.now();
    return reply.code(201).send({
      ...certificateSummary(certificate, now),
      facts: factsOf(certificate.facts),
      chain: chainView(certificate, now),
      usedBy: [],
    });
  });

  app.delete('/console/api/certificates/:certificateNo', { onRequest: write }, async (request, reply) => {
    const { actor } = callerOf(request);
    const certificateNo = certificateNoParam(request.params);
    const expectedName = optionalString((request.query ?? {}) as Json, 'name', 255);
    await core.certificates.delete(actor, certificateNo, expectedName === undefined ? {} : { expectedName });
    return reply.code(204).send();
  });
}
