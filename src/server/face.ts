/**
 * THE FACE MECHANISM: how an API flavour (NCP, Global Edge, NHN, console) plugs into the one
 * HTTP server and keeps its own error envelope for every failure, not just its own exceptions.
 *
 * Each face is registered as an encapsulated Fastify plugin (`registerFace`) with its own error
 * handler and one not-found handler per prefix. So a 404 under its prefixes, a 413 (body over the
 * limit), malformed or empty JSON, an unsupported content type, a schema failure, an `AppError`
 * and an unknown error all come out in that face's envelope. Requests outside every face's
 * prefixes get the server's plain JSON (`{"error":"Not Found"}`).
 *
 * Rules the mechanism enforces at build time (a violation throws from `buildServer`):
 * - every prefix starts with `/`, is not `/` itself and has no trailing slash;
 * - two faces may not own the same prefix (`validateFaces`);
 * - every route a face registers lies under one of its prefixes, so its 404s and its routes
 *   agree on the envelope and a face cannot shadow `/healthz` or another face.
 *
 * Nested prefixes: a face may own a prefix inside another face's (the Global Edge face owns
 * `/api/v1/certificate/provisioning` inside the NCP face's `/api/v1`). The LONGEST prefix wins,
 * for everything under it:
 * - routes: the outer face may not register a route under the inner prefix (build error); the
 *   router prefers the inner face's static segments, and when an outer parametric route still
 *   matches a URL under the inner prefix (`DELETE /api/v1/certificate/:certificateNo` for
 *   `DELETE /api/v1/certificate/provisioning`), an `onRequest` hook the mechanism puts first in
 *   the outer face answers the inner face's 404 instead;
 * - 404s: each prefix has its own not-found handler; the router prefers the longer static prefix;
 * - errors, 413 and bad bodies: the route's (or not-found handler's) face renders them;
 * - errors raised before routing: `faceForUrl` picks the face of the longest matching prefix.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppError } from '../domain/errors.ts';
import { classifyError, CLIENT_GONE, type BadRequestProblem } from './classify-error.ts';
import type { OpenApiContribution } from './openapi.ts';

export type { BadRequestProblem } from './classify-error.ts';

/** What a face wants sent. `body` is serialized as JSON unless it is a string or Buffer. */
export interface FaceReply {
  status: number;
  body: unknown;
  /** Extra response headers; a `content-type` here wins over the JSON default. */
  headers?: Record<string, string>;
}

export interface FacePlugin {
  /** Short name for logs and OpenAPI tags, e.g. `ncp-v2`. */
  readonly name: string;
  /** URL prefixes the face owns, e.g. `['/certificate-manager/v2']`. */
  readonly prefixes: readonly string[];
  /**
   * Exact paths (no subtree) where the face may register routes, e.g. `['/']` for a protocol
   * that posts to the root (AWS JSON). The face renders errors of its own routes there; a request
   * no route takes, or a route's `callNotFound()`, gets the server's plain 404, so the path stays
   * the server's for everything else. A face needs prefixes, exact paths, or both.
   */
  readonly exactPaths?: readonly string[];
  /** Adds the face's routes (absolute paths under its prefixes), parsers and hooks. */
  register(app: FastifyInstance): Promise<void>;
  /** An `AppError` from core or from the face (including route-schema failures as `invalid_argument`). */
  renderError(error: AppError, request: FastifyRequest): FaceReply;
  /** Anything that is not an `AppError`. Already logged with its stack; never given to the face. */
  renderInternalError(request: FastifyRequest): FaceReply;
  /** No route under the face's prefixes matched. */
  renderNotFound(request: FastifyRequest): FaceReply;
  /** The body is larger than `limitBytes` (the server's body limit, or the route's). */
  renderBodyTooLarge(request: FastifyRequest, limitBytes: number): FaceReply;
  /** Malformed or empty JSON, unsupported content type, bad content-length, bad URL encoding. */
  renderBadRequest(request: FastifyRequest, problem: BadRequestProblem): FaceReply;
  /** Paths (and components) this face adds to `GET /docs`. */
  readonly openapi?: OpenApiContribution;
}

/** Sends a face's reply. JSON unless the face set its own content type. */
export function sendFaceReply(reply: FastifyReply, out: FaceReply): FastifyReply {
  reply.code(out.status);
  if (out.headers) reply.headers(out.headers);
  if (!reply.hasHeader('content-type')) reply.type('application/json; charset=utf-8');
  const body = typeof out.body === 'string' || Buffer.isBuffer(out.body) ? out.body : JSON.stringify(out.body);
  return reply.send(body);
}

/**
 * A face's reply to a `rate_limited` AppError (core/rate-limit.ts) with `Retry-After` (whole
 * seconds, RFC 9110 10.2.3) added; any other reply as it is. For faces whose protocol has the header.
 */
export function withRetryAfter(out: FaceReply, error: AppError): FaceReply {
  const seconds = error.code === 'rate_limited' ? error.details?.retryAfterSeconds : undefined;
  if (typeof seconds !== 'number') return out;
  return { ...out, headers: { ...out.headers, 'retry-after': String(seconds) } };
}

/** Renders any error in `face`'s envelope, logging it first. Used by the face's error handler. */
export function renderFaceError(face: FacePlugin, error: unknown, request: FastifyRequest): FaceReply {
  const classified = classifyError(error);
  switch (classified.kind) {
    case 'app':
      logAppError(request, classified.error);
      return face.renderError(classified.error, request);
    case 'body_too_large':
      request.log.info({ face: face.name, limitBytes: request.routeOptions.bodyLimit }, 'request body too large');
      return face.renderBodyTooLarge(request, request.routeOptions.bodyLimit);
    case 'bad_request':
      request.log.info({ face: face.name, problem: classified.problem.kind }, 'bad request');
      return face.renderBadRequest(request, classified.problem);
    case 'client_gone':
      request.log.info({ face: face.name }, 'client went away before the body ended');
      return face.renderBadRequest(request, CLIENT_GONE);
    case 'internal':
      // The one place an unknown error is recorded: stack and cause go to the log with the
      // request id (bound on request.log), never to the client.
      request.log.error({ err: error, face: face.name }, 'unhandled error');
      return face.renderInternalError(request);
  }
}

/**
 * Expected failures are info; an `internal` AppError carries a cause worth an error line with its
 * stack. `unavailable` is info too, with the cause's code and no stack: the outage behind it (a
 * store that went away, a CA not answering) is one event, logged once by whatever watches it
 * (store/availability.ts for the store), not once per request it fails.
 */
export function logAppError(request: FastifyRequest, error: AppError): void {
  if (error.code === 'internal') {
    request.log.error({ err: error, code: error.code }, 'request failed');
  } else if (error.code === 'unavailable') {
    request.log.info({ code: error.code, cause: causeCode(error.cause) }, 'request failed');
  } else {
    request.log.info({ code: error.code, field: error.field }, 'request failed');
  }
}

/** The `code` of an error's cause (a driver's code, a socket error's), never its message text. */
function causeCode(cause: unknown): string | undefined {
  const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** One face's prefixes are well-formed: at least one, each `/x[/y…]` without a trailing slash. */
export function validateFacePrefixes(face: FacePlugin): void {
  if (face.prefixes.length === 0 && (face.exactPaths ?? []).length === 0)
    throw new Error(`face ${face.name}: needs at least one prefix or exact path`);
  for (const path of face.exactPaths ?? []) {
    if (!/^\/[^?#*:]*$/.test(path))
      throw new Error(`face ${face.name}: exact path ${JSON.stringify(path)} must start with "/" and hold no ? # * :`);
  }
  for (const prefix of face.prefixes) {
    if (!/^\/[^?#*:]*[^/?#*:]$/.test(prefix)) {
      throw new Error(
        `face ${face.name}: prefix ${JSON.stringify(prefix)} must start with "/", not be "/", not end with "/" and hold no ? # * :`,
      );
    }
  }
}

/**
 * Every face's prefixes are well-formed and no prefix is owned twice. A prefix nested in
 * another face's is allowed: the longer one wins (see the top of this file).
 */
export function validateFaces(faces: readonly FacePlugin[]): void {
  for (const face of faces) validateFacePrefixes(face);
  const exact = faces.flatMap((face) => (face.exactPaths ?? []).map((path) => ({ face, path })));
  for (const [i, a] of exact.entries()) {
    for (const b of exact.slice(i + 1)) {
      if (a.path === b.path)
        throw new Error(`faces ${a.face.name} and ${b.face.name} both own the exact path ${a.path}`);
    }
  }
  const owned = faces.flatMap((face) => face.prefixes.map((prefix) => ({ face, prefix })));
  for (const [i, a] of owned.entries()) {
    for (const b of owned.slice(i + 1)) {
      if (a.prefix === b.prefix)
        throw new Error(`faces ${a.face.name} and ${b.face.name} overlap: ${a.prefix} and ${b.prefix}`);
    }
  }
}

function underPrefix(url: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => url === p || url.startsWith(`${p}/`));
}

/** The longest prefix of `url` among `prefixes`, or undefined. */
function longestPrefix(url: string, prefixes: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const p of prefixes) if (underPrefix(url, [p]) && (best === undefined || p.length > best.length)) best = p;
  return best;
}

/**
 * Registers one face as an encapsulated plugin: its error handler, its per-prefix not-found
 * handlers, its routes. Call it after the server-wide hooks are added so the face inherits them.
 * `faces` is every face of the server (this one included), for the nested-prefix rules.
 */
export async function registerFace(
  app: FastifyInstance,
  face: FacePlugin,
  faces: readonly FacePlugin[] = [face],
): Promise<void> {
  validateFacePrefixes(face);
  const allPrefixes = faces.flatMap((f) => f.prefixes);
  // Prefixes of other faces nested inside one of this face's: what lies under them is theirs.
  const innerOfOthers = new Map(
    faces
      .filter((f) => f !== face)
      .flatMap((f) =>
        f.prefixes
          .filter((p) => !face.prefixes.includes(p) && underPrefix(p, face.prefixes))
          .map((p) => [p, f] as const),
      ),
  );

  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      if (face.exactPaths?.includes(route.url)) return;
      if (!underPrefix(route.url, face.prefixes)) {
        throw new Error(
          `face ${face.name}: route ${route.method} ${route.url} is outside its prefixes ${face.prefixes.join(', ')}`,
        );
      }
      const owner = longestPrefix(route.url, allPrefixes);
      if (owner !== undefined && innerOfOthers.has(owner)) {
        throw new Error(
          `face ${face.name}: route ${route.method} ${route.url} is under ${owner}, which another face owns`,
        );
      }
    });
    if (innerOfOthers.size > 0) {
      // A parametric route of this face (`DELETE /api/v1/certificate/:certificateNo`) can match a
      // URL under an inner face's prefix that no inner route serves: that URL is the inner face's
      // 404. Added before the face's own hooks, so its authentication never sees such a request.
      const inner = [...innerOfOthers.keys()];
      scope.addHook('onRequest', async (request, reply) => {
        const owner = longestPrefix(request.url.split('?', 1)[0] ?? request.url, [...face.prefixes, ...inner]);
        const other = owner === undefined ? undefined : innerOfOthers.get(owner);
        if (other) return sendFaceReply(reply, other.renderNotFound(request));
      });
    }
    scope.setErrorHandler((error, request, reply) => sendFaceReply(reply, renderFaceError(face, error, request)));
    for (const prefix of face.prefixes) {
      // A child with a prefix may set its own not-found handler; it inherits the error handler
      // above, so a 413 or bad JSON on an unknown path under the prefix uses the face's envelope too.
      await scope.register(
        async (child) => {
          child.setNotFoundHandler((request, reply) => sendFaceReply(reply, face.renderNotFound(request)));
        },
        { prefix },
      );
    }
    await face.register(scope);
  });
}

/** The face owning `url` (path with optional query): the one with the longest matching prefix. */
export function faceForUrl(faces: readonly FacePlugin[], url: string): FacePlugin | undefined {
  const path = url.split('?', 1)[0] ?? url;
  let best: { face: FacePlugin; length: number } | undefined;
  for (const face of faces) {
    const prefix = longestPrefix(path, face.prefixes);
    if (prefix !== undefined && (best === undefined || prefix.length > best.length))
      best = { face, length: prefix.length };
  }
  return best?.face;
}
