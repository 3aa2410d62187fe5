/**
 * The NCP Global Edge face: certificate provisioning under `/api/v1/certificate/provisioning`,
 * a prefix nested in the NCP Certificate Manager face's `/api/v1` (src/server/face.ts: the
 * longest prefix wins, for routes, 404s, 413s and errors). docs/compat/edge.md is its contract.
 *
 * Behind the same NCP gateway as Certificate Manager (src/api/ncp-gateway/): same credentials,
 * same signature check, same 401/404/413 gateway bodies. Unknown paths under the prefix answer
 * the gateway's 300 (the Global Edge documents refer to the common gateway codes). A body that is
 * not JSON is `0040` (the documented "request data format mismatch"); `Content-Type` is optional
 * (documented so), so any body is read as JSON.
 */
import type { Core } from '../../core/core.ts';
import type { FacePlugin } from '../../server/index.ts';
import { installJsonParser } from '../ncp-gateway/body.ts';
import { gatewayBodyTooLarge, gatewayNotFound, gatewayReply } from '../ncp-gateway/errors.ts';
import { edgeReply, renderEdgeError, unknownReply } from './errors.ts';
import { EDGE_OPENAPI } from './openapi.ts';
import { EDGE_BASE, registerEdgeRoutes } from './routes.ts';

export const EDGE_PREFIXES = [EDGE_BASE] as const;

const BODY_PROBLEMS = new Set(['invalid_json', 'empty_json', 'unsupported_media_type']);

export function createEdgeFace(core: Core): FacePlugin {
  return {
    name: 'edge',
    prefixes: EDGE_PREFIXES,
    async register(app) {
      installJsonParser(app, { anyContentType: true });
      registerEdgeRoutes(app, core);
    },
    renderError: (error) => renderEdgeError(error),
    renderInternalError: () => unknownReply(),
    renderNotFound: () => gatewayNotFound(),
    renderBodyTooLarge: (_request, limitBytes) => gatewayBodyTooLarge(limitBytes),
    // A body that is not JSON is the service's 0040; protocol problems (a malformed URL, a
    // Content-Length that lies) are the gateway's 100.
    renderBadRequest: (_request, problem) =>
      BODY_PROBLEMS.has(problem.kind)
        ? edgeReply('fieldValidation', problem.message)
        : gatewayReply('badRequest', problem.message),
    openapi: EDGE_OPENAPI,
  };
}
