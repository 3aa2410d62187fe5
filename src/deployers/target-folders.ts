/**
 * core's TargetFolders port (core/deploy/deployer.ts): is a directory target's folder there, and
 * create it (0700, with its parents) when asked. Read as the server's OS user, the one that will
 * write the files.
 */
import { mkdir, stat } from 'node:fs/promises';
import type { TargetFolders } from '../core/deploy/deployer.ts';
import { DIRECTORY_MODE } from '../domain/deploy-target.ts';

export function createTargetFolders(): TargetFolders {
  return {
    async prepare(path, create) {
      const found = await stat(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return null;
        throw error;
      });
      if (found) return found.isDirectory() ? 'exists' : 'not-directory';
      if (!create) return 'missing';
      await mkdir(path, { recursive: true, mode: DIRECTORY_MODE });
      return 'created';
    },
  };
}
