/**
 * The API faces served by this process. Each face is a FacePlugin (src/server/face.ts) built on
 * the core; adding a face is adding it to this list.
 */
import type { Config } from '../config/config.ts';
import type { Core } from '../core/core.ts';
import type { FacePlugin } from '../server/index.ts';

export function buildFaces(_core: Core, _config: Config): FacePlugin[] {
  return [];
}
