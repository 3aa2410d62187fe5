/**
 * Keep-alive and shutdown: once `app.close()` starts, every response still being produced says
 * `Connection: close`, so its socket ends with the response instead of idling for the
 * keep-alive timeout (72 s in Fastify) and holding `close()` open that long. New requests on
 * such sockets already get Fastify's 503 (`return503OnClosing`); idle sockets are closed by
 * Node's `server.close()`. Together: `close()` resolves as soon as the last in-flight request
 * has been answered.
 */
import type { FastifyInstance } from 'fastify';

export function closeConnectionsWhileDraining(app: FastifyInstance): void {
  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (draining) reply.header('connection', 'close');
    return payload;
  });
}
