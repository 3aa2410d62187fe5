/**
 * What the server answers outside every face: plain, minimal JSON `{"error": "<reason>"}`.
 *
 * - Not found: 404 `{"error":"Not Found"}`.
 * - Protocol problems (oversized or malformed body on a path no face owns): 413/400/415 with the
 *   standard reason phrase.
 * - Input refused by a server-wide hook (control-characters.ts: `AppError('invalid_argument')`),
 *   which runs on paths no face owns too: plain 400, logged at info (any client can send it).
 * - Anything else, including another `AppError` (no face is there to own its code) and an error
 *   thrown by a face's own renderer: logged with its stack, answered 500
 *   `{"error":"Internal Server Error"}`.
 * - Errors Fastify raises before routing (undecodable URL, …) go to the owning face's
 *   `renderBadRequest` when the URL is under a face prefix, else plain 400.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { classifyError } from './classify-error.ts';
import { faceForUrl, sendFaceReply, type FacePlugin } from './face.ts';
import { REQUEST_ID_HEADER } from './request-id.ts';

// Not `import { STATUS_CODES } from 'node:http'`: importing a builtin from ESM builds its ESM
// facade, which reads every export, and node:http's WebSocket-family exports are getters that load
// Node's bundled undici (~0.1 s and ~13 MB at start-up, for a server that never uses it).
// getBuiltinModule returns the same CommonJS module without a facade.
const { STATUS_CODES } = process.getBuiltinModule('node:http');

function plain(reply: FastifyReply, status: number): FastifyReply {
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send(JSON.stringify({ error: STATUS_CODES[status] ?? 'Error' }));
}

export function installRootHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler((_request, reply) => plain(reply, 404));
  app.setErrorHandler((error, request, reply) => {
    const classified = classifyError(error);
    switch (classified.kind) {
      case 'body_too_large':
        return plain(reply, 413);
      case 'bad_request':
        return plain(reply, classified.problem.status);
      case 'client_gone':
        request.log.info('client went away before the body ended');
        return plain(reply, 400);
      case 'app':
        if (classified.error.code === 'invalid_argument') {
          request.log.info({ field: classified.error.field }, 'request refused: invalid input');
          return plain(reply, 400);
        }
        request.log.error({ err: error }, 'unhandled error');
        return plain(reply, 500);
      case 'internal':
        request.log.error({ err: error }, 'unhandled error');
        return plain(reply, 500);
    }
  });
}

type FrameworkErrors = NonNullable<FastifyServerOptions['frameworkErrors']>;

/** Fastify `frameworkErrors`: errors before routing, so no face error handler can see them. */
export function frameworkErrorsHandler(faces: () => readonly FacePlugin[]): FrameworkErrors {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    request.log.info({ code: error.code }, 'request refused before routing');
    // This path runs no hooks: set what the onRequest hook would have.
    reply.header(REQUEST_ID_HEADER, request.id);
    reply.header('x-content-type-options', 'nosniff');
    const face = faceForUrl(faces(), request.raw.url ?? '/');
    if (face) {
      try {
        sendFaceReply(
          reply,
          face.renderBadRequest(request, { kind: 'malformed', status: 400, message: 'The request URL is malformed.' }),
        );
        return;
      } catch (err) {
        request.log.error({ err, face: face.name }, 'face failed to render a bad request');
      }
    }
    plain(reply, 400);
  };
}
