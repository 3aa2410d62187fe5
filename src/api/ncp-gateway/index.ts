/**
 * What the NCP API Gateway does in front of every NCP service, shared by the faces behind it
 * (src/api/ncp: Certificate Manager; src/api/edge: Global Edge). Not a face itself: it owns no
 * prefix and no route; faces import it (eslint.config.js lets them, it is not in the face list).
 *
 * - auth.ts: the `onRequest` signature check (src/auth/ncp-signature.ts) that builds the Actor
 *   from the credential, and the gateway's permission check (core's policy);
 * - errors.ts: the gateway's error bodies (100, 200, 210, 300, 430, 500, 900);
 * - body.ts: the JSON body parser (empty body is "no body").
 */
export { actorOf, ncpAuth } from './auth.ts';
export { installJsonParser, type JsonParserOptions } from './body.ts';
export { GATEWAY_ERRORS, gatewayBodyTooLarge, gatewayNotFound, gatewayReply, INTERNAL_DETAILS, UNAVAILABLE_DETAILS, type GatewayError } from './errors.ts';
