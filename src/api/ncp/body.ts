/**
 * The face's JSON body parser: Fastify's own (prototype-poisoning protection included), except
 * that an empty or all-whitespace body is "no body" instead of a 400. NCP clients send
 * `Content-Type: application/json` on every request, bodiless DELETEs included, and an omitted
 * DownloadCertificate body is read as `{}` (docs/compat/ncp.md). Malformed JSON still fails with
 * Fastify's error, which the face renders as gateway error 100, as does any other content type.
 */
import type { FastifyInstance } from 'fastify';

export function installJsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  // JSON only, like the Spring service behind the gateway: text/plain (which Fastify would hand
  // over as a string) is refused as an unsupported content type, like any other.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, text, done);
  });
}
