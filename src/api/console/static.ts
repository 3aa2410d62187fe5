/**
 * Serves the allow-listed web files (assets.ts) from memory: GET (and HEAD) only, with content
 * type, strong ETag, `Cache-Control: no-cache`, 304 on a matching If-None-Match.
 */
import type { FastifyInstance } from 'fastify';
import type { Asset } from './assets.ts';

export function registerStaticRoutes(app: FastifyInstance, assets: readonly Asset[]): void {
  for (const asset of assets) {
    app.get(asset.path, async (request, reply) => {
      reply.header('etag', asset.etag).header('cache-control', 'no-cache');
      const match = request.headers['if-none-match'];
      if (typeof match === 'string' && match.split(',').some((tag) => tag.trim() === asset.etag))
        return reply.code(304).send();
      return reply.type(asset.type).send(asset.bytes);
    });
  }
}
