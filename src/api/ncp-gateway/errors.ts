/**
 * src/api/ncp-gateway/ is what the NCP API Gateway does in front of every NCP service, shared by
 * the faces behind it (src/api/ncp: Certificate Manager; src/api/edge: Global Edge). It is not a
 * face (no prefix, no route; eslint.config.js lists it as none, so both faces may import it):
 * auth.ts (signature check → Actor, permission check), body.ts (JSON parser), and this file.
 *
 * The gateway's own error bodies (reference cloud-apis.md §2.3):
 *
 *   {"error":{"errorCode":"<n>","message":"<fixed text>","details":"<why>"}}
 *
 * with the gateway's HTTP status. The gateway answers these before (or instead of) the service:
 * authentication (200), permission (210), routing (300), malformed requests (100), body size
 * (430), a caller over its request rate (420, HTTP 429 with Retry-After), an unavailable or
 * crashing endpoint (500, 900).
 */
import type { FaceReply } from '../../server/index.ts';

export const GATEWAY_ERRORS = {
  badRequest: { status: 400, errorCode: '100', message: 'Bad Request Exception' },
  authenticationFailed: { status: 401, errorCode: '200', message: 'Authentication Failed' },
  permissionDenied: { status: 401, errorCode: '210', message: 'Permission Denied' },
  notFound: { status: 404, errorCode: '300', message: 'Not Found Exception' },
  entityTooLarge: { status: 413, errorCode: '430', message: 'Request Entity Too Large' },
  // Of the gateway's three 429s (400 Quota Exceeded, 410 Throttle Limited, 420 Rate Limited), the
  // one for a caller over its request rate: certkeeper's per-credential limit (core/rate-limit.ts).
  rateLimited: { status: 429, errorCode: '420', message: 'Rate Limited' },
  endpointError: { status: 503, errorCode: '500', message: 'Endpoint Error' },
  unexpected: { status: 500, errorCode: '900', message: 'Unexpected Error' },
} as const;

export type GatewayError = keyof typeof GATEWAY_ERRORS;

/** The details of every internal error: the cause is in the log, under the request id. */
export const INTERNAL_DETAILS =
  'An unexpected error occurred. Quote the x-request-id response header when reporting it.';

/** The details of an unavailable store: retrying later helps. */
export const UNAVAILABLE_DETAILS = 'The service is temporarily unavailable; retry later.';

export function gatewayReply(kind: GatewayError, details: string): FaceReply {
  const { status, errorCode, message } = GATEWAY_ERRORS[kind];
  return { status, body: { error: { errorCode, message, details } } };
}

/** The gateway's 404 for a method and path no route serves. */
export const gatewayNotFound = (): FaceReply => gatewayReply('notFound', 'No API matches this method and path.');

/** The gateway's 413 for a body over the limit. */
export const gatewayBodyTooLarge = (limitBytes: number): FaceReply =>
  gatewayReply('entityTooLarge', `The request body is larger than ${limitBytes} bytes.`);
