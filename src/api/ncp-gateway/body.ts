/**
 * The JSON body parser of the faces behind the NCP gateway: Fastify's own (prototype-poisoning
 * protection included), except that an empty or all-whitespace body is "no body" instead of a
 * 400. NCP clients send `Content-Type: application/json` on every request, bodiless DELETEs
 * included, and an omitted DownloadCertificate body is read as `{}` (docs/compat/ncp.md).
 * Malformed JSON still fails with Fastify's error, which each face renders in its envelope.
 *
 * `anyContentType`: Global Edge documents `Content-Type` as optional, so that face reads every
 * body as JSON whatever its content type (or none); the Certificate Manager face takes JSON only.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

type Done = (err: Error | null, body?: unknown) => void;

export interface JsonParserOptions {
  /** Read bodies of any content type, or none, as JSON. */
  anyContentType?: boolean;
}

export function installJsonParser(app: FastifyInstance, options: JsonParserOptions = {}): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  // JSON only, like the Spring service behind the gateway: text/plain (which Fastify would hand
  // over as a string) is refused as an unsupported content type, like any other.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  const parser = (request: FastifyRequest, body: string | Buffer, done: Done): void => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    // Fastify's default JSON parser answers through `done`, synchronously; its type also admits
    // the promise an async parser would return, so there is nothing here to await.
    void parseJson(request, text, done);
  };
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parser);
  if (options.anyContentType) app.addContentTypeParser('*', { parseAs: 'string' }, parser);
}
