/**
 * The NCP Certificate Manager face (API 1.0 under `/api/v1`, API 2.0 under `/api/v2`): one
 * FacePlugin, one auth hook, one error table, two route files. docs/compat/ncp.md is its contract.
 *
 * Prefixes: the face owns `/api/v1` and `/api/v2` whole, so any unknown path there answers
 * gateway error 300 in the NCP envelope. `DELETE /api/v1/certificate/{certificateNo}` needs a
 * prefix at or above `/api/v1/certificate` anyway, which already contains the Global Edge paths
 * (`/api/v1/certificate/provisioning…`). When the edge face arrives, src/server/face.ts must let a
 * face own a prefix nested inside another face's (the longer prefix wins, for routes and 404s)
 * and edge registers `/api/v1/certificate/provisioning`; this face needs no change for that.
 */
import type { Config } from '../../config/config.ts';
import type { Core } from '../../core/core.ts';
import type { FacePlugin } from '../../server/index.ts';
import { installJsonParser } from './body.ts';
import { createNcpContext } from './context.ts';
import { gatewayReply, INTERNAL_DETAILS, renderNcpError } from './errors.ts';
import { NCP_OPENAPI } from './openapi.ts';
import { registerUnavailableRoutes } from './routes-unavailable.ts';
import { registerV1Routes } from './routes-v1.ts';
import { registerV2Routes } from './routes-v2.ts';

export const NCP_PREFIXES = ['/api/v1', '/api/v2'] as const;

export function createNcpFace(core: Core, config: Pick<Config, 'apiTimezone' | 'apiTimezoneOffsetMinutes'>): FacePlugin {
  const ctx = createNcpContext(core, { label: config.apiTimezone, offsetMinutes: config.apiTimezoneOffsetMinutes });
  return {
    name: 'ncp',
    prefixes: NCP_PREFIXES,
    async register(app) {
      installJsonParser(app);
      registerV1Routes(app, ctx);
      registerV2Routes(app, ctx);
      registerUnavailableRoutes(app, ctx);
    },
    renderError: (error) => renderNcpError(error),
    renderInternalError: () => gatewayReply('unexpected', INTERNAL_DETAILS),
    renderNotFound: () => gatewayReply('notFound', 'No API matches this method and path.'),
    renderBodyTooLarge: (_request, limitBytes) => gatewayReply('entityTooLarge', `The request body is larger than ${limitBytes} bytes.`),
    // Every protocol problem is the gateway's 400/100 (it has no 415); the text says which one.
    renderBadRequest: (_request, problem) => gatewayReply('badRequest', problem.message),
    openapi: NCP_OPENAPI,
  };
}
