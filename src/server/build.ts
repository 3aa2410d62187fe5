/**
 * `buildServer`: the one HTTP server (all faces on one port), ready to `listen()` or `inject()`.
 *
 * Order matters and is the contract: server-wide hooks (request id, headers, drain, metrics) first, so
 * every face inherits them; then the server's own routes and plain handlers; then each face in
 * its own encapsulated scope. Returns after `ready()`, so a misconfigured face (prefix clash,
 * route outside its prefixes, duplicate OpenAPI path) fails here, at boot, not on first request.
 */
import { once } from 'node:events';
import type { Server as HttpsServer } from 'node:https';
import Fastify, { type FastifyInstance } from 'fastify';
import { checkAllowedHosts } from './allowed-hosts.ts';
import { TLS_SERVER_OPTIONS, type TlsPair } from './tls.ts';
import type { Config } from '../config/config.ts';
import type { CertificateRepository, Clock, Store } from '../core/ports.ts';
import { refuseControlCharacters } from './control-characters.ts';
import { closeConnectionsWhileDraining } from './drain.ts';
import { lingerOnUnreadBody } from './linger.ts';
import { validateFaces, registerFace, type FacePlugin } from './face.ts';
import { DEFAULT_READINESS_TIMEOUT_MS, registerHealthRoutes, type HealthNotice } from './health.ts';
import { loggerOptions, OneLinePerRequest, type LogStream } from './logging.ts';
import type { ExpiryHistogramSource } from './metrics-certificates.ts';
import { registerMetrics } from './metrics.ts';
import type { NotificationCountsSource } from './metrics-notifications.ts';
import type { RateLimitStatsSource } from './metrics-rate-limit.ts';
import { buildOpenApi, registerDocsRoute, SERVER_OPENAPI } from './openapi.ts';
import { genRequestId, REQUEST_ID_HEADER } from './request-id.ts';
import { frameworkErrorsHandler, installRootHandlers } from './root-handlers.ts';
import { lazySchemaCompilers } from './schema-compilers.ts';

// From getBuiltinModule, not an ESM import: root-handlers.ts says why (Node's undici at start-up).
const { createServer: createHttpServer } = process.getBuiltinModule('node:http');
const { createServer: createHttpsServer } = process.getBuiltinModule('node:https');

/** The part of the store the server itself uses (faces get theirs through core). */
export type ServerStore = Pick<Store, 'ping'> & {
  readonly certificates: Pick<CertificateRepository, 'countByValidity'>;
  /** Found at start, listed by `/readyz` (health.ts). */
  readonly notices?: readonly HealthNotice[];
};

export interface ServerDeps {
  /** Uses `logLevel` and `bodyLimitBytes` here; `host` and `port` in `startServer`. */
  config: Config;
  store: ServerStore;
  clock: Clock;
  /** API faces, each on its own prefixes. */
  faces: readonly FacePlugin[];
  /** Log destination (JSON lines); stdout when absent. Tests pass a collecting stream. */
  logStream?: LogStream;
  /** Enables `certkeeper_certificate_days_to_expiry`; see metrics-certificates.ts. */
  expiryHistogram?: ExpiryHistogramSource;
  /** Enables `certkeeper_notification_deliveries`; see metrics-notifications.ts. */
  notificationCounts?: NotificationCountsSource;
  /** Enables `certkeeper_rate_limited_requests_total` and `_buckets`; see metrics-rate-limit.ts. */
  rateLimitStats?: RateLimitStatsSource;
  /** `/readyz` gives up on `store.ping()` after this long. Default 2 s. */
  readinessTimeoutMs?: number;
  /** `info.version` of `GET /docs`. */
  version?: string;
  /**
   * Where `GET /` leads (a 302 to this path, e.g. the console's `/console/`). Absent: `/` is a 404
   * like any other path no face owns.
   */
  homePath?: string;
  /**
   * The HTTPS listener's certificate and key (server/tls.ts). When given, the instance also has an
   * HTTPS server (`httpsServerOf`) with the same routes, which `startServer` listens on.
   */
  tls?: TlsPair;
}

const httpsServers = new WeakMap<FastifyInstance, HttpsServer>();

/** The HTTPS server of an instance built with `tls`, serving the same routes; undefined otherwise. */
export function httpsServerOf(app: FastifyInstance): HttpsServer | undefined {
  return httpsServers.get(app);
}

/** HSTS for a year on answers over TLS; not on plain HTTP, where browsers ignore it anyway. */
const HSTS = 'max-age=31536000';

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config, faces } = deps;
  validateFaces(faces);
  let httpsServer: HttpsServer | undefined;
  const tls = deps.tls;
  const app = Fastify({
    // With TLS, one router behind two servers: Fastify's own (HTTP) and an HTTPS one.
    ...(tls
      ? {
          serverFactory: (handler: Parameters<typeof createHttpServer>[1]) => {
            httpsServer = createHttpsServer({ ...TLS_SERVER_OPTIONS, ...tls }, handler);
            return createHttpServer(handler);
          },
        }
      : {}),
    logger: loggerOptions({ level: config.logLevel, stream: deps.logStream }),
    // One line per request instead of Fastify's incoming + completed (logging.ts).
    logController: new OneLinePerRequest(),
    bodyLimit: config.bodyLimitBytes,
    // Our own id generation validates an incoming x-request-id before trusting it.
    requestIdHeader: false,
    genReqId: genRequestId,
    // Behind a proxy the operator must opt in; never believe X-Forwarded-For by default.
    trustProxy: false,
    // While draining for shutdown, new requests on kept-alive connections get a 503.
    return503OnClosing: true,
    // Close idle keep-alive sockets on close; in-flight requests are left to finish.
    forceCloseConnections: 'idle',
    frameworkErrors: frameworkErrorsHandler(() => faces),
    // No route declares a Fastify schema: load Ajv and fast-json-stringify only if one ever does.
    schemaController: { compilersFactory: lazySchemaCompilers() },
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    reply.header('x-content-type-options', 'nosniff');
    if (request.protocol === 'https') reply.header('strict-transport-security', HSTS);
  });
  // app.close() (the signal handlers', tests') closes the HTTPS listener too, after its requests end.
  app.addHook('onClose', async () => {
    if (!httpsServer?.listening) return;
    const closed = once(httpsServer, 'close');
    httpsServer.close();
    httpsServer.closeIdleConnections();
    await closed;
  });
  // Before everything else a request can reach: a DNS-rebinding page never gets past this.
  checkAllowedHosts(app, {
    any: config.allowedHosts.any,
    names: new Set([...config.allowedHosts.names, config.host.toLowerCase()]),
  });
  // Before any face's hooks, so a face's authentication never looks up such text.
  refuseControlCharacters(app);
  // A response sent before its body arrived reads the rest, bounded, so the client sees it.
  lingerOnUnreadBody(app);
  closeConnectionsWhileDraining(app);
  registerMetrics(app, {
    certificates: deps.store.certificates,
    clock: deps.clock,
    expiryHistogram: deps.expiryHistogram,
    notificationCounts: deps.notificationCounts,
    rateLimitStats: deps.rateLimitStats,
  });
  installRootHandlers(app);
  registerHealthRoutes(app, deps.store, deps.readinessTimeoutMs ?? DEFAULT_READINESS_TIMEOUT_MS);
  if (deps.homePath !== undefined) {
    const home = deps.homePath;
    app.get('/', async (_request, reply) => reply.redirect(home, 302));
  }
  registerDocsRoute(
    app,
    buildOpenApi([{ name: 'server', openapi: SERVER_OPENAPI }, ...faces], deps.version ?? '0.0.0'),
  );

  try {
    for (const face of faces) await registerFace(app, face, faces);
    await app.ready();
    if (httpsServer) httpsServers.set(app, httpsServer);
  } catch (error) {
    // A face that cannot boot must not leave a half-built instance (timers, hooks) behind.
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}
