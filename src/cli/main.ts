#!/usr/bin/env node
/**
 * `certkeeper`: the command line. Same configuration as the server (environment variables, see
 * src/config/config.ts), same data directory or DATABASE_URL, safe to run while the server runs
 * (SQLite in WAL mode with a busy timeout; PostgreSQL transactions).
 *
 * Exit codes: 0 success, 1 the command failed (one clear line on stderr), 2 usage error.
 *
 * The compile cache is switched on before anything else loads, so the commands (run.ts and the
 * ~900 modules under it) are imported dynamically after it (compile-cache.ts says why).
 */
import { saveCompileCache, startCompileCache } from './compile-cache.ts';

startCompileCache();
const { run } = await import('./run.ts');
process.exitCode = await run(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
});
// `serve` resolves once listening and keeps running: persist the cache now, not only at exit.
saveCompileCache();
