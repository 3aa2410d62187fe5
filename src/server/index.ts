/**
 * The HTTP server's public API. Faces import `FacePlugin` and friends from here; the composition
 * root imports `startServer` and `installSignalHandlers`.
 */
export { buildServer, type ServerDeps, type ServerStore } from './build.ts';
export { startServer, type RunningServer } from './start.ts';
export { installSignalHandlers, DEFAULT_SHUTDOWN_TIMEOUT_MS, type SignalHandlerOptions } from './shutdown.ts';
export { sendFaceReply, withRetryAfter, type BadRequestProblem, type FacePlugin, type FaceReply } from './face.ts';
export type { OpenApiContribution } from './openapi.ts';
export {
  EXPIRY_BUCKETS_DAYS,
  expiryHistogramOf,
  type ExpiryHistogram,
  type ExpiryHistogramSource,
} from './metrics-certificates.ts';
export { SECRET_HEADERS, type LogStream } from './logging.ts';
export { REQUEST_ID_HEADER } from './request-id.ts';
export { DEFAULT_READINESS_TIMEOUT_MS } from './health.ts';
