/**
 * `startServer`: build and listen on `config.host`:`config.port` (port 0 picks a free port).
 *
 * Ownership: the caller owns the store; `close()` stops HTTP only (stop accepting, let
 * in-flight requests finish, close idle keep-alive connections) and never closes the store.
 * For signal-driven shutdown use `installSignalHandlers(running.app, store)`.
 */
import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { buildServer, httpsServerOf, type ServerDeps } from './build.ts';
import { readTlsPair, reloadOnChange } from './tls.ts';
import { isLoopbackHost } from '../domain/url.ts';

export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8080` (IPv6 in brackets). */
  address: string;
  /** The port actually bound (useful with port 0). */
  port: number;
  /** The HTTPS listener's base URL and port, when TLS is configured. */
  secure: { address: string; port: number } | null;
  app: FastifyInstance;
  close(): Promise<void>;
}

const urlHost = (address: string, family: string): string => (family === 'IPv6' ? `[${address}]` : address);

export async function startServer(deps: ServerDeps): Promise<RunningServer> {
  const tlsFiles = deps.config.tls;
  const tls = deps.tls ?? (tlsFiles ? await readTlsPair(tlsFiles) : undefined);
  const app = await buildServer({ ...deps, ...(tls ? { tls } : {}) });
  await app.listen({ host: deps.config.host, port: deps.config.port });
  const bound = app.server.address();
  if (bound === null || typeof bound === 'string') {
    await app.close();
    throw new Error(`server bound to an unexpected address: ${String(bound)}`);
  }
  const httpsServer = httpsServerOf(app);
  let secure: RunningServer['secure'] = null;
  let stopReloading = (): void => undefined;
  if (httpsServer && tlsFiles) {
    httpsServer.listen(tlsFiles.port, deps.config.host);
    try {
      await once(httpsServer, 'listening');
    } catch (error) {
      await app.close();
      throw error;
    }
    const address = httpsServer.address();
    if (address !== null && typeof address !== 'string') {
      secure = { address: `https://${urlHost(address.address, address.family)}:${address.port}`, port: address.port };
    }
    stopReloading = reloadOnChange(httpsServer, tlsFiles, app.log);
  }
  if (!isLoopbackHost(deps.config.host) && !secure) {
    app.log.warn(
      { host: deps.config.host },
      'listening on a non-loopback address without TLS: credentials, session cookies and private keys cross the network in clear. Set CERTKEEPER_TLS_CERT_FILE and CERTKEEPER_TLS_KEY_FILE, or put a TLS proxy in front and listen on 127.0.0.1.',
    );
  }
  return {
    address: `http://${urlHost(bound.address, bound.family)}:${bound.port}`,
    port: bound.port,
    secure,
    app,
    close: async () => {
      stopReloading();
      await app.close();
    },
  };
}
