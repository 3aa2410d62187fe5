/**
 * The NCP Certificate Manager face (API 1.0 under `/api/v1`, API 2.0 under `/api/v2`): one
 * FacePlugin, one auth hook, one error table, two route files. docs/compat/ncp.md is its contract.
 *
 * Prefixes: the face owns `/api/v1` and `/api/v2` whole, so any unknown path there answers
 * gateway error 300 in the NCP envelope. `DELETE /api/v1/certificate/{certificateNo}` needs a
 * prefix at or above `/api/v1/certificate` anyway, which also contains the Global Edge paths:
 * the edge face owns the nested prefix `/api/v1/certificate/provisioning`, and the face mechanism
 * (src/server/face.ts) gives everything under it to that face (the longest prefix wins).
 *
 * Authentication, the gateway's error bodies and the JSON parser are the NCP gateway's
 * (src/api/ncp-gateway/), shared with the edge face.
 */
import type { Config } from '../../config/config.ts';
import type { Core } from '../../core/core.ts';
import type { IssuanceService } from '../../core/issuance/service.ts';
import type { FacePlugin } from '../../server/index.ts';
import { installJsonParser } from '../ncp-gateway/body.ts';
import { gatewayBodyTooLarge, gatewayNotFound, gatewayReply, INTERNAL_DETAILS } from '../ncp-gateway/errors.ts';
import { createNcpContext } from './context.ts';
import { renderNcpError } from './errors.ts';
import { NCP_OPENAPI } from './openapi.ts';
import { registerIssuanceRoutes } from './routes-issuance.ts';
import { registerLifecycleRoutes } from './routes-lifecycle.ts';
import { registerUnavailableRoutes } from './routes-unavailable.ts';
import { registerV1Routes } from './routes-v1.ts';
import { registerV2Routes } from './routes-v2.ts';

export const NCP_PREFIXES = ['/api/v1', '/api/v2'] as const;

export function createNcpFace(
  core: Core,
  config: Pick<Config, 'apiTimezone' | 'apiTimezoneOffsetMinutes'>,
  issuance: IssuanceService | null = null,
): FacePlugin {
  const ctx = createNcpContext(
    core,
    { label: config.apiTimezone, offsetMinutes: config.apiTimezoneOffsetMinutes },
    issuance,
  );
  return {
    name: 'ncp',
    prefixes: NCP_PREFIXES,
    async register(app) {
      installJsonParser(app);
      registerV1Routes(app, ctx);
      registerV2Routes(app, ctx);
      registerIssuanceRoutes(app, ctx);
      registerLifecycleRoutes(app, ctx);
      registerUnavailableRoutes(app, ctx);
    },
    renderError: (error) => renderNcpError(error),
    renderInternalError: () => gatewayReply('unexpected', INTERNAL_DETAILS),
    renderNotFound: () => gatewayNotFound(),
    renderBodyTooLarge: (_request, limitBytes) => gatewayBodyTooLarge(limitBytes),
    // Every protocol problem is the gateway's 400/100 (it has no 415); the text says which one.
    renderBadRequest: (_request, problem) => gatewayReply('badRequest', problem.message),
    openapi: NCP_OPENAPI,
  };
}
