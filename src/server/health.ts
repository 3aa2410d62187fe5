/**
 * Probes for orchestrators and load balancers.
 *
 * - `GET /healthz`: liveness. 200 `{"status":"ok"}` while the process can answer HTTP at all;
 *   it touches nothing else, so a slow database never gets the process killed.
 * - `GET /readyz`: readiness. 200 `{"status":"ok"}` when `store.ping()` resolves within the
 *   timeout, else 503 `{"status":"unavailable"}`. The cause (driver error, timeout) is logged
 *   with the request id, never sent: it may name hosts, users or paths. The store's own
 *   `unavailable` (an outage the store logs once, store/availability.ts) is logged at info with
 *   its cause's code, since probes keep coming every few seconds through an outage; any other
 *   failure at warn with the error. Ready but slower than it should be (the store's start-up
 *   `notices`, such as PostgreSQL without pg_trgm): still 200, with
 *   `"notices": [{"code", "message"}]`, so a readiness check never fails on it but an operator
 *   looking at it sees why.
 */
import type { FastifyInstance } from 'fastify';
import type { Store } from '../core/ports.ts';
import { isAppError } from '../domain/errors.ts';

/** Long enough for a busy PostgreSQL round trip, short enough for a probe's own timeout. */
export const DEFAULT_READINESS_TIMEOUT_MS = 2_000;

class PingTimeout extends Error {
  constructor(ms: number) {
    super(`store.ping() did not settle within ${ms} ms`);
    this.name = 'PingTimeout';
  }
}

/** Resolves when `ping()` does, rejects on its failure or after `ms`. Never leaves a timer behind. */
async function pingWithin(ping: () => Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PingTimeout(ms)), ms);
  });
  try {
    await Promise.race([ping(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface HealthNotice {
  readonly code: string;
  readonly message: string;
}

export function registerHealthRoutes(
  app: FastifyInstance,
  store: Pick<Store, 'ping'> & { readonly notices?: readonly HealthNotice[] },
  readinessTimeoutMs: number,
): void {
  const notices = (store.notices ?? []).map(({ code, message }) => ({ code, message }));
  app.get('/healthz', async (_request, reply) => reply.code(200).send({ status: 'ok' }));

  app.get('/readyz', async (request, reply) => {
    try {
      await pingWithin(() => store.ping(), readinessTimeoutMs);
      return reply.code(200).send(notices.length === 0 ? { status: 'ok' } : { status: 'ok', notices });
    } catch (err) {
      if (isAppError(err) && err.code === 'unavailable') {
        const cause = (err.cause as { code?: unknown } | undefined)?.code;
        request.log.info(
          { code: err.code, cause: typeof cause === 'string' ? cause : undefined },
          'readiness: store unavailable',
        );
      } else {
        request.log.warn({ err }, 'readiness: store ping failed');
      }
      return reply.code(503).send({ status: 'unavailable' });
    }
  });
}
