/**
 * The `directory` target: each slot is a folder `<path>/<slotId>/` (0700) holding
 * `fullchain.pem` (leaf then issuers, 0644) and `privkey.pem` (PKCS#8, 0600), replaced atomically
 * (atomic-files.ts), and a KR_JP_GLOBAL slot's Global Edge Dedicated certificates in
 * `<slotId>/global/<name>/` the same way (domain/deploy-target.ts, the layout), then the optional reload command runs (run-command.ts: no shell, a timeout).
 * Removing a slot deletes its folder, then runs the reload command too.
 *
 * The readable alias `<path>/by-name/<certificate name>` (domain/deploy-target.ts, the layout) is a
 * symlink to `../<slotId>`, replaced atomically (a temp link renamed over it) after the files are
 * written; aliases of other names that still point at the slot (its certificate changed) are
 * removed then, and every alias pointing at a slot is removed with the slot.
 *
 * The reload command sees `CERTKEEPER_EVENT` (`publish` or `delete`), `CERTKEEPER_SLOT_ID` and
 * `CERTKEEPER_SLOT_DIR`. A reload that fails leaves the slot PUBLISHING (or DELETING) and the
 * worker retries the whole step: writing the same files again is harmless.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readlink, rename, rm, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BY_NAME_FOLDER,
  certificateAlias,
  DIRECTORY_MODE,
  FULLCHAIN_FILE,
  GLOBAL_FOLDER,
  globalFolderName,
  FULLCHAIN_MODE,
  PRIVKEY_FILE,
  PRIVKEY_MODE,
  slotDirectory,
  type DeployTargetSpec,
} from '../domain/deploy-target.ts';
import { commitFiles, removeStaleTemps, syncDirectory } from './atomic-files.ts';
import { fullChainOf, type DeployBundle, type Deployer } from '../core/deploy/deployer.ts';
import type { RunCommand } from './run-command.ts';

type DirectorySpec = Extract<DeployTargetSpec, { kind: 'directory' }>;

const described = (step: string, error: unknown): Error => {
  const code = (error as NodeJS.ErrnoException).code;
  return new Error(`${step} failed (${code ?? (error instanceof Error ? error.message : String(error))}).`, {
    cause: error,
  });
};

export function directoryDeployer(spec: DirectorySpec, run: RunCommand): Deployer {
  const slotDir = (slotId: number): string => slotDirectory(spec.path, slotId);
  const byName = join(spec.path, BY_NAME_FOLDER);
  const linkTo = (slotId: number): string => `../${slotId}`;

  /** Removes the aliases that point at the slot, except `keep`. */
  async function dropAliases(slotId: number, keep: string | null): Promise<void> {
    const entries = await readdir(byName).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    for (const entry of entries) {
      if (entry === keep) continue;
      const points = await readlink(join(byName, entry)).catch(() => null);
      if (points === linkTo(slotId)) await unlink(join(byName, entry));
    }
  }

  /** `by-name/<alias>` → `../<slotId>`, replaced atomically; the slot's other aliases removed. */
  async function pointAlias(slotId: number, certificateName: string): Promise<void> {
    const alias = certificateAlias(certificateName);
    await mkdir(byName, { mode: DIRECTORY_MODE }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
    await removeStaleTemps(byName);
    if (alias !== null && (await readlink(join(byName, alias)).catch(() => null)) !== linkTo(slotId)) {
      const temp = join(byName, `.${alias}.${randomBytes(6).toString('hex')}.tmp`);
      await symlink(linkTo(slotId), temp);
      await rename(temp, join(byName, alias)).catch(async (error: unknown) => {
        await unlink(temp).catch(() => undefined);
        throw error;
      });
    }
    await dropAliases(slotId, alias);
    await syncDirectory(byName);
  }

  /** Creates `dir` (0700) unless it exists. */
  const ensureDir = (dir: string): Promise<void> =>
    mkdir(dir, { mode: DIRECTORY_MODE }).then(
      () => undefined,
      (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      },
    );

  /**
   * `<slot>/global/<name>/` for each GLOBAL item (each written atomically like the slot's own
   * files), then the folders of items the slot no longer holds removed; no GLOBAL item: no
   * `global/` folder.
   */
  async function writeGlobals(dir: string, bundle: DeployBundle): Promise<void> {
    const globalDir = join(dir, GLOBAL_FOLDER);
    const keep = new Set<string>();
    if (bundle.globalCertificates.length > 0) {
      await ensureDir(globalDir);
      for (const global of bundle.globalCertificates) {
        const name = globalFolderName(global.certificateNo, global.certificateName);
        keep.add(name);
        const folder = join(globalDir, name);
        await ensureDir(folder);
        await removeStaleTemps(folder);
        await commitFiles(folder, [
          { name: PRIVKEY_FILE, content: global.privateKeyPem, mode: PRIVKEY_MODE },
          { name: FULLCHAIN_FILE, content: fullChainOf(global), mode: FULLCHAIN_MODE },
        ]);
      }
    }
    const present = await readdir(globalDir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (present === null) return;
    if (keep.size === 0) {
      await rm(globalDir, { recursive: true, force: true });
    } else {
      for (const entry of present)
        if (!keep.has(entry)) await rm(join(globalDir, entry), { recursive: true, force: true });
    }
    await syncDirectory(keep.size === 0 ? dir : globalDir);
  }

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
        await mkdir(spec.path, { recursive: true, mode: DIRECTORY_MODE });
        const created = await mkdir(dir, { mode: DIRECTORY_MODE }).then(
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
          { name: PRIVKEY_FILE, content: bundle.privateKeyPem, mode: PRIVKEY_MODE },
          { name: FULLCHAIN_FILE, content: fullChainOf(bundle), mode: FULLCHAIN_MODE },
        ]);
        await writeGlobals(dir, bundle);
      } catch (error) {
        throw described(`Writing ${dir}`, error);
      }
      try {
        await pointAlias(bundle.slotId, bundle.certificateName);
      } catch (error) {
        throw described(`Pointing ${byName}/${bundle.certificateName}`, error);
      }
      await reload('publish', bundle.slotId, signal);
    },

    async remove(slot, signal) {
      const dir = slotDir(slot.slotId);
      try {
        await dropAliases(slot.slotId, null);
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
