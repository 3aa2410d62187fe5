/**
 * Credentials of the caller's tenant (ADMIN, by core's policy): list, create (the secret is in
 * the answer once and never again), revoke (sessions and tokens of the key die with it).
 */
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/core.ts';
import type { Role } from '../../domain/model.ts';
import { callerOf, consoleAuth } from './auth.ts';
import { objectBody, oneOf, optionalString } from './body.ts';
import { credentialOf } from './present.ts';

const ROLES = ['ADMIN', 'VIEWER'] as const satisfies readonly Role[];

export function registerCredentialRoutes(app: FastifyInstance, core: Core): void {
  app.get('/console/api/credentials', { onRequest: consoleAuth(core, 'credential.read') }, async (request) => {
    const { actor } = callerOf(request);
    const credentials = await core.credentials.list(actor);
    return { items: credentials.map((c) => credentialOf(c, actor.id)) };
  });

  app.post('/console/api/credentials', { onRequest: consoleAuth(core, 'credential.write') }, async (request, reply) => {
    const { actor } = callerOf(request);
    const body = objectBody(request.body);
    const role = oneOf(body, 'role', ROLES, 'VIEWER');
    const description = optionalString(body, 'description', 200)?.trim() ?? '';
    const created = await core.credentials.create(actor, role, description);
    return reply
      .code(201)
      .header('cache-control', 'no-store')
      .send({ credential: credentialOf(created.credential, actor.id), secretKey: created.secretKey });
  });

  app.delete(
    '/console/api/credentials/:accessKey',
    { onRequest: consoleAuth(core, 'credential.write') },
    async (request, reply) => {
      const { actor } = callerOf(request);
      const { accessKey } = request.params as { accessKey: string };
      await core.credentials.revoke(actor, accessKey.slice(0, 128));
      return reply.code(204).send();
    },
  );
}
