/**
 * The `directory` target: each slot is a folder `<path>/<slotId>/` (0700) holding
 * `fullchain.pem` (leaf then issuers, 0644) and `privkey.pem` (PKCS#8, 0600), replaced atomically
 * (atomic-files.ts), then the optional reload command runs (run-command.ts: no shell, a timeout).
 * Removing a slot deletes its folder, then runs the reload command too.
 *
 * The reload command sees `CERTKEEPER_EVENT` (`publish` or `delete`), `CERTKEEPER_SLOT_ID` and
 * `CERTKEEPER_SLOT_DIR`. A reload that fails leaves the slot PUBLISHING (or DELETING) and the
 * worker retries the whole step: writing the same files again is harmless.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeployTargetSpec } from '../domain/deploy-target.ts';
import { commitFiles, removeStaleTemps, syncDirectory } from './atomic-files.ts';
import { fullChainOf, type Deployer } from '../core/deploy/deployer.ts';
import type { RunCommand } from './run-command.ts';

export const FULLCHAIN_FILE = 'fullchain.pem';
export const PRIVKEY_FILE = 'privkey.pem';

type DirectorySpec = Extract<DeployTargetSpec, { kind: 'directory' }>;

const described = (step: string, error: unknown): Error => {
  const code = (error as NodeJS.ErrnoException).code;
  return new Error(`${step} failed (${code ?? (error instanceof Error ? error.message : String(error))}).`, {
    cause: error,
  });
};

export function directoryDeployer(spec: DirectorySpec, run: RunCommand): Deployer {
  const slotDir = (slotId: number): string => join(spec.path, String(slotId));

  async function reload(event: 'publish' | 'delete', slotId: number, signal: AbortSignal): Promise<void> {
    if (spec.reloadCommand === null) return;
    await run(spec.reloadCommand, {
      timeoutMs: spec.reloadTimeoutMs,
      signal,
      extraEnv: { CERTKEEPER_EVENT: event, CERTKEEPER_SLOT_ID: String(slotId), CERTKEEPER_SLOT_DIR: slotDir(slotId) },
    });
  }

  return {
    async publish(bundle, signal) {
      const dir = slotDir(bundle.slotId);
      try {
        await mkdir(spec.path, { recursive: true, mode: 0o700 });
        const created = await mkdir(dir, { mode: 0o700 }).then(
          () => true,
          (error: NodeJS.ErrnoException) => {
            if (error.code === 'EEXIST') return false;
            throw error;
          },
        );
        if (created) await syncDirectory(spec.path);
        await removeStaleTemps(dir);
        // The key first: a reader that races the two renames finds the new key with the old
        // certificate only for the instant between them, and the reload runs after both.
        await commitFiles(dir, [
          { name: PRIVKEY_FILE, content: bundle.privateKeyPem, mode: 0o600 },
          { name: FULLCHAIN_FILE, content: fullChainOf(bundle), mode: 0o644 },
        ]);
      } catch (error) {
        throw described(`Writing ${dir}`, error);
      }
      await reload('publish', bundle.slotId, signal);
    },

    async remove(slot, signal) {
      const dir = slotDir(slot.slotId);
      try {
        await rm(dir, { recursive: true, force: true });
        await syncDirectory(spec.path).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
      } catch (error) {
        throw described(`Removing ${dir}`, error);
      }
      await reload('delete', slot.slotId, signal);
    },
  };
}
