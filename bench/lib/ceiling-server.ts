/**
 * The ceiling: a bare Fastify server, started by bench/run.ts as its own process on the same
 * Node, with certkeeper's own logger options at the same level (CERTKEEPER_LOG_LEVEL, `warn` in
 * the benchmark) and the same body limit. It has one route per benchmark case, registered at run
 * time, that answers with a response of the same size as the case's endpoint: the endpoint's own
 * response body, captured once, returned as an object that Fastify serializes on every request
 * (what any handler that builds that answer must pay), or as bytes for files. No hooks, no auth,
 * no database: what Fastify on this machine can do at best for that request and that response.
 *
 *   PUT  /__payload/:id   {"contentType": "...", "json": …} or {"contentType": "...", "base64": "…"}
 *   GET  /c/:id           the payload     (POST too: the import's ceiling reads a JSON body like the import)
 *
 * Prints `ceiling listening on http://127.0.0.1:<port>` when ready; exits on SIGTERM.
 */
import Fastify from 'fastify';
import { DEFAULT_BODY_LIMIT_BYTES, LOG_LEVELS, type LogLevel } from '../../src/config/config.ts';
import { loggerOptions } from '../../src/server/logging.ts';

const requested = process.env.CERTKEEPER_LOG_LEVEL ?? 'warn';
const level: LogLevel = (LOG_LEVELS as readonly string[]).includes(requested) ? (requested as LogLevel) : 'warn';

const app = Fastify({ logger: loggerOptions({ level }), bodyLimit: DEFAULT_BODY_LIMIT_BYTES });

// The ACM cases' bodies (AWS JSON 1.1): parsed as JSON, as the ACM face parses them.
app.addContentTypeParser('application/x-amz-json-1.1', { parseAs: 'string' }, (_request, body, done) => {
  try {
    done(null, JSON.parse(body as string));
  } catch (error) {
    done(error as Error, undefined);
  }
});

interface Payload {
  contentType: string;
  body: unknown;
}
const payloads = new Map<string, Payload>();

app.put('/__payload/:id', async (request) => {
  const { id } = request.params as { id: string };
  const input = request.body as { contentType: string; json?: unknown; base64?: string };
  payloads.set(id, {
    contentType: input.contentType,
    body: input.base64 !== undefined ? Buffer.from(input.base64, 'base64') : input.json,
  });
  return { ok: true };
});

app.route({
  method: ['GET', 'POST'],
  url: '/c/:id',
  handler: async (request, reply) => {
    const payload = payloads.get((request.params as { id: string }).id);
    if (!payload) return reply.code(404).send({ error: 'no payload' });
    reply.type(payload.contentType);
    return payload.body;
  },
});

const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.CEILING_PORT ?? 0) });
process.stdout.write(`ceiling listening on ${address}\n`);
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
