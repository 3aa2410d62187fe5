/**
 * Requests this process is answering right now, over its HTTP and HTTPS listeners: the signal
 * background workers yield to (core/background-pace.ts), so the API keeps the event loop while it
 * has work.
 *
 * Contract: a request counts from the server's `request` event until its response is finished or
 * its connection closes (`close` fires once in either case), so an aborted request never leaves
 * the count high. Listening costs one listener and one counter; nothing is logged.
 */
import type { Server } from 'node:http';

export function countRequestsInFlight(servers: ReadonlyArray<Pick<Server, 'on'> | undefined>): () => number {
  let inFlight = 0;
  for (const server of servers) {
    server?.on('request', (_req, res) => {
      inFlight += 1;
      res.once('close', () => {
        inFlight -= 1;
      });
    });
  }
  return () => inFlight;
}
