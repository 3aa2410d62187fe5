/**
 * The API faces served by this process. Each face is a FacePlugin (src/server/face.ts) built on
 * the core; adding a face is adding it to this list.
 */
import { createAcmFace } from '../api/acm/face.ts';
import { CONSOLE_PREFIX, createConsoleFace } from '../api/console/face.ts';
import { createEdgeFace } from '../api/edge/face.ts';
import { createNcpFace } from '../api/ncp/face.ts';
import { createNhnFace } from '../api/nhn/index.ts';
import type { Config } from '../config/config.ts';
import type { Core } from '../core/core.ts';
import type { IssuanceService } from '../core/issuance/service.ts';
import type { FacePlugin } from '../server/index.ts';

/** The console's start page: where `GET /` leads and what the start banner prints. */
export const CONSOLE_HOME = `${CONSOLE_PREFIX}/`;

/** `issuance`: the NCP and console issuance operations' service (app.ts `App.issuance`); without it they answer 29001. */
export function buildFaces(core: Core, config: Config, issuance: IssuanceService | null = null): FacePlugin[] {
  // Global Edge owns /api/v1/certificate/provisioning, nested in NCP's /api/v1 (the longest prefix wins).
  return [
    createNcpFace(core, config, issuance),
    createEdgeFace(core),
    createNhnFace(core, config),
    createConsoleFace(core, { issuance, targetEdit: config.consoleTargetEdit }),
    createAcmFace(core),
  ];
}
