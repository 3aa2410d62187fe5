/**
 * The AWS Certificate Manager face: AWS JSON 1.1 at `POST /` (`X-Amz-Target:
 * CertificateManager.<Operation>`, `Content-Type: application/x-amz-json-1.1`), signed with
 * Signature Version 4 (auth.ts), so `aws --endpoint-url http://host:8080 acm …`, the AWS SDKs,
 * boto3 and Terraform work against certkeeper with no path. docs/compat/acm.md records every
 * wire choice.
 *
 * The face owns the exact path `/` for requests that carry X-Amz-Target (server/face.ts
 * `exactPaths`); every other request to `/` gets the server's plain 404, as before the face.
 * Errors: HTTP status, `{"__type","message"}`, `x-amzn-ErrorType` (errors.ts); every answer
 * carries `x-amzn-RequestId`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.ts';
import type { FacePlugin, FaceReply } from '../../server/index.ts';
import { callerOf, checkHeaders, checkSignature } from './auth.ts';
import { AcmWireError, wireOf, type AcmWire } from './errors.ts';
import { parseBody } from './input.ts';
import { OPERATIONS } from './operations.ts';

export const ACM_CONTENT_TYPE = 'application/x-amz-json-1.1';
export const ACM_TARGET_PREFIX = 'CertificateManager.';
/**
 * Largest request body: an ImportCertificate at ACM's limits (chain 2 MiB, certificate 32 KiB,
 * key 5 KiB) in base64 is about 2.85 MB; the rest of the JSON is small.
 */
export const ACM_BODY_LIMIT = 3 * 1024 * 1024;

function reply(request: FastifyRequest, status: number, body: unknown, extra: Record<string, string> = {}): FaceReply {
  return {
    status,
    body,
    headers: { 'content-type': ACM_CONTENT_TYPE, 'x-amzn-requestid': String(request.id), ...extra },
  };
}

const errorReply = (request: FastifyRequest, wire: AcmWire): FaceReply =>
  reply(request, wire.status, { __type: wire.type, message: wire.message }, { 'x-amzn-errortype': wire.type });

const LIST_TARGET = `${ACM_TARGET_PREFIX}ListCertificates`;
const hasTarget = (request: FastifyRequest): boolean => request.headers['x-amz-target'] !== undefined;

export function createAcmFace(core: Core): FacePlugin {
  return {
    name: 'acm',
    prefixes: [],
    exactPaths: ['/'],

    async register(app: FastifyInstance) {
      // The body is kept as bytes: the signature covers them exactly.
      app.addContentTypeParser(ACM_CONTENT_TYPE, { parseAs: 'buffer', bodyLimit: ACM_BODY_LIMIT }, (_r, body, done) =>
        done(null, body),
      );
      // ListCertificates confirms the credential in its own read (auth.ts `checkHeaders`).
      const headers = checkHeaders(core, (request) => request.headers['x-amz-target'] === LIST_TARGET);
      const signature = checkSignature(core);
      app.post(
        '/',
        {
          bodyLimit: ACM_BODY_LIMIT,
          onRequest: async (request, res) => {
            // Not an AWS JSON request: the server's own 404, as for every other request to `/`.
            if (!hasTarget(request)) return res.callNotFound();
            await headers(request);
          },
          preHandler: signature,
        },
        async (request, res) => {
          const target = request.headers['x-amz-target'];
          const name =
            typeof target === 'string' && target.startsWith(ACM_TARGET_PREFIX)
              ? target.slice(ACM_TARGET_PREFIX.length)
              : '';
          const operation = Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
          if (!operation) {
            throw new AcmWireError(
              'invalid_argument',
              'UnknownOperationException',
              `Unknown operation ${String(target).slice(0, 128)}.`,
            );
          }
          const body = parseBody(Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
          const out = await operation(core, callerOf(request), body);
          const sent = reply(request, 200, out ?? {});
          return res
            .code(sent.status)
            .headers(sent.headers ?? {})
            .send(JSON.stringify(sent.body));
        },
      );
    },

    renderError(error, request) {
      const wire = wireOf(error);
      return errorReply(request, wire);
    },

    renderInternalError(request) {
      return errorReply(request, { status: 500, type: 'InternalFailure', message: 'An internal error occurred.' });
    },

    renderNotFound(request) {
      return errorReply(request, {
        status: 400,
        type: 'UnknownOperationException',
        message: `Unknown operation ${request.method} ${request.url.slice(0, 128)}.`,
      });
    },

    renderBodyTooLarge(request, limitBytes) {
      return {
        ...errorReply(request, {
          status: 413,
          type: 'RequestEntityTooLargeException',
          message: `The request body is over ${limitBytes} bytes.`,
        }),
        headers: {
          'content-type': ACM_CONTENT_TYPE,
          'x-amzn-requestid': String(request.id),
          'x-amzn-errortype': 'RequestEntityTooLargeException',
          connection: 'close',
        },
      };
    },

    renderBadRequest(request, problem) {
      const type = problem.status === 415 ? 'UnsupportedMediaTypeException' : 'SerializationException';
      return errorReply(request, { status: problem.status, type, message: problem.message });
    },
  };
}
