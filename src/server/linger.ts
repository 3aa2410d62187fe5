/**
 * Lingering close: a response sent before the request body has all arrived (a 413 for a body over
 * the limit, a 401 from an authentication hook) is followed by reading and discarding the rest of
 * that body, within bounds, before the connection may close. What nginx calls lingering close.
 *
 * Why: Fastify answers a body over the limit with `Connection: close`, and Node then destroys the
 * socket as soon as the response is written. The client is usually still sending; its next writes
 * meet a closed socket (RST), and fetch-based clients (Node's fetch, undici) report `EPIPE` or
 * `ECONNRESET` instead of the 413 that was already on the wire. Measured against `npm start` with
 * Node's fetch: 4.5–100 MiB bodies got EPIPE in most attempts; with this hook every one got its 413.
 *
 * How: the `Connection: close` of such a response is dropped (so Node keeps the socket to read the
 * rest of the body, and the connection stays usable once the body ends), and the body is read and
 * discarded. When the client sends more than `LINGER_MAX_BYTES`, takes longer than
 * `LINGER_MAX_MS` in all, or pauses for `LINGER_IDLE_MS`, the socket is destroyed: a client cannot
 * make the server read without end. Node alone would read and discard without any bound.
 *
 * Registered before the drain hook (drain.ts), whose `Connection: close` while shutting down wins.
 */
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';

export const LINGER_MAX_BYTES = 64 * 1024 * 1024;
export const LINGER_MAX_MS = 30_000;
export const LINGER_IDLE_MS = 5_000;

export interface LingerLimits {
  maxBytes: number;
  maxMs: number;
  idleMs: number;
}

const DEFAULT_LIMITS: LingerLimits = { maxBytes: LINGER_MAX_BYTES, maxMs: LINGER_MAX_MS, idleMs: LINGER_IDLE_MS };

export function lingerOnUnreadBody(app: FastifyInstance, limits: LingerLimits = DEFAULT_LIMITS): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const raw = request.raw;
    if (raw.complete || raw.destroyed) return payload;
    if (String(reply.getHeader('connection') ?? '').toLowerCase() === 'close') reply.removeHeader('connection');
    discardRest(raw, limits);
    return payload;
  });
}

function discardRest(raw: IncomingMessage, limits: LingerLimits): void {
  let received = 0;
  const giveUp = (): void => {
    cleanUp();
    raw.socket.destroy();
  };
  const total = setTimeout(giveUp, limits.maxMs);
  const idle = setTimeout(giveUp, limits.idleMs);
  total.unref();
  idle.unref();
  const onData = (chunk: Buffer): void => {
    received += chunk.length;
    if (received > limits.maxBytes) return giveUp();
    idle.refresh();
  };
  function cleanUp(): void {
    clearTimeout(total);
    clearTimeout(idle);
    raw.removeListener('data', onData);
    raw.removeListener('end', cleanUp);
    raw.removeListener('close', cleanUp);
  }
  raw.on('data', onData);
  raw.once('end', cleanUp);
  raw.once('close', cleanUp);
  raw.resume();
}
