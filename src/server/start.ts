/**
 * `startServer`: build and listen on `config.host`:`config.port` (port 0 picks a free port).
 *
 * Ownership: the caller owns the store; `close()` stops HTTP only (stop accepting, let
 * in-flight requests finish, close idle keep-alive connections) and never closes the store.
 * For signal-driven shutdown use `installSignalHandlers(running.app, store)`.
 */
import type { FastifyInstance } from 'fastify';
import { buildServer, type ServerDeps } from './build.ts';

export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8080` (IPv6 in brackets). */
  address: string;
  /** The port actually bound (useful with port 0). */
  port: number;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function startServer(deps: ServerDeps): Promise<RunningServer> {
  const app = await buildServer(deps);
  await app.listen({ host: deps.config.host, port: deps.config.port });
  const bound = app.server.address();
  if (bound === null || typeof bound === 'string') {
    await app.close();
    throw new Error(`server bound to an unexpected address: ${String(bound)}`);
  }
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    address: `http://${host}:${bound.port}`,
    port: bound.port,
    app,
    close: () => app.close(),
  };
}
