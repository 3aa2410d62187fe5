/**
 * Node's on-disk module compile cache for the `certkeeper` process (server and CLI).
 *
 * Why: certkeeper runs its TypeScript sources directly. Without a cache every start type-strips
 * ~150 files (Node's WebAssembly stripper) and compiles ~900 modules from source: about 0.4 s of
 * CPU and ~20 MB of resident memory (the stripper's WebAssembly instance) before the server can
 * answer. With the cache, Node 24 reads the stripped source and V8's code cache of each module
 * from disk instead (the cache is keyed by the file's content, so an edited file is compiled
 * afresh; it never changes what runs).
 *
 * Contract:
 * - The cache lives in `<project>/node_modules/.cache/certkeeper/compile`: next to the code it
 *   caches, owned by whoever installed it. Not the shared temp directory, where another local
 *   user could have prepared the directory.
 * - Never fails and never prints: when the directory cannot be created or written (read-only
 *   install, another owner), the process runs without a cache, exactly as before.
 * - `NODE_COMPILE_CACHE=<dir>` (Node's own variable) takes precedence, and
 *   `NODE_DISABLE_COMPILE_CACHE=1` switches the cache off; both are Node's documented behaviour
 *   of `module.enableCompileCache()`.
 */
import { enableCompileCache, flushCompileCache } from 'node:module';
import { join } from 'node:path';

export const COMPILE_CACHE_DIR = join(
  import.meta.dirname,
  '..',
  '..',
  'node_modules',
  '.cache',
  'certkeeper',
  'compile',
);

/** Turns the cache on for every module loaded after this call. Returns Node's status (for tests). */
export function startCompileCache(directory: string = COMPILE_CACHE_DIR): number | null {
  try {
    return enableCompileCache(directory).status;
  } catch {
    return null;
  }
}

/**
 * Writes what was compiled so far. Node writes the cache at a normal exit; a server that is killed
 * (SIGKILL, a crash) never gets there, so `serve` flushes once it is listening. Cheap when nothing
 * new was compiled.
 */
export function saveCompileCache(): void {
  try {
    flushCompileCache();
  } catch {
    // A cache that cannot be written is no cache; nothing to report.
  }
}
