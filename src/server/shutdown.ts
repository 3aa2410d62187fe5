/**
 * Graceful shutdown on SIGTERM / SIGINT.
 *
 * Sequence (the contract, in this order):
 * 1. stop accepting connections; requests arriving on kept-alive connections get 503;
 * 2. let in-flight requests finish, for at most `timeoutMs` (default 10 s); past that, cut the
 *    remaining connections;
 * 3. close the store (after the last request that could use it);
 * 4. exit 0, or 1 when connections had to be cut or the store failed to close.
 *
 * A second SIGTERM/SIGINT during the drain exits at once (128 + signal number, like a shell),
 * for the operator who does not want to wait.
 */
import { constants } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Store } from '../core/ports.ts';

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

export interface SignalHandlerOptions {
  /** Upper bound for in-flight requests to finish. */
  timeoutMs?: number;
  signals?: readonly NodeJS.Signals[];
  /** Injected for tests; `process.exit` by default. */
  exit?: (code: number) => void;
}

/** Installs the handlers; returns a function that removes them. */
export function installSignalHandlers(
  server: FastifyInstance,
  store: Pick<Store, 'close'>,
  options: SignalHandlerOptions = {},
): () => void {
  const timeoutMs = options.timeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const log = server.log;
  let shuttingDown = false;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      log.warn({ signal }, 'second signal: exiting now without waiting');
      exit(128 + (constants.signals[signal] ?? 0));
      return;
    }
    shuttingDown = true;
    log.info({ signal, timeoutMs }, 'shutting down: draining in-flight requests');
    void shutdown(server, store, timeoutMs).then(exit);
  };

  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}

/** Steps 1 to 3; resolves to the exit code. Never rejects. */
async function shutdown(server: FastifyInstance, store: Pick<Store, 'close'>, timeoutMs: number): Promise<number> {
  const log = server.log;
  let code = 0;
  const closing = server.close();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    closing.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    }),
  ]).catch((err: unknown) => {
    log.error({ err }, 'shutdown: closing the HTTP server failed');
    code = 1;
    return false;
  });
  clearTimeout(timer);
  if (timedOut) {
    log.warn({ timeoutMs }, 'shutdown: in-flight requests did not finish in time; closing their connections');
    server.server.closeAllConnections();
    code = 1;
    await closing.catch(() => undefined);
  }
  try {
    await store.close();
    log.info('shutdown: store closed');
  } catch (err) {
    log.error({ err }, 'shutdown: closing the store failed');
    code = 1;
  }
  log.info({ exitCode: code }, 'shutdown complete');
  return code;
}
