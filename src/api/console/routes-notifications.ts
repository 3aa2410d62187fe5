/**
 * Notifications of the caller's tenant (docs/notifications.md): channels with their health,
 * rules, expiry thresholds, test sends and the delivery log. Core validates and authorises
 * (reading needs certificate.read, changing needs certificate.write); the routes pass the JSON
 * body's fields through. Secrets go one way: a webhook's signing secret is in the 201 answer
 * once; nothing returns a Slack URL or an SMTP password.
 */
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/core.ts';
import type { ChannelInput } from '../../core/notifications/spec.ts';
import { AppError } from '../../domain/errors.ts';
import { callerOf, consoleAuth } from './auth.ts';
import { objectBody } from './body.ts';

const name = (params: unknown): string => String((params as { name?: unknown }).name ?? '').slice(0, 64);

export function registerNotificationRoutes(app: FastifyInstance, core: Core): void {
  const n = core.notifications;

  app.get('/console/api/notifications', { onRequest: consoleAuth(core, 'certificate.read') }, async (request) => {
    const { actor } = callerOf(request);
    const [channels, rules, thresholds] = await Promise.all([
      n.listChannels(actor),
      n.listRules(actor),
      n.thresholds(actor),
    ]);
    return { channels, rules, thresholds };
  });

  app.post(
    '/console/api/notifications/channels',
    { onRequest: consoleAuth(core, 'certificate.write') },
    async (request, reply) => {
      const { actor } = callerOf(request);
      const body = objectBody(request.body);
      const created = await n.addChannel(actor, body as unknown as ChannelInput);
      return reply.code(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.delete(
    '/console/api/notifications/channels/:name',
    { onRequest: consoleAuth(core, 'certificate.write') },
    async (request, reply) => {
      await n.removeChannel(callerOf(request).actor, name(request.params));
      return reply.code(204).send();
    },
  );

  app.post(
    '/console/api/notifications/channels/:name/test',
    { onRequest: consoleAuth(core, 'certificate.write') },
    async (request) => {
      const result = await n.test(callerOf(request).actor, name(request.params));
      return result;
    },
  );

  app.post(
    '/console/api/notifications/rules',
    { onRequest: consoleAuth(core, 'certificate.write') },
    async (request, reply) => {
      const body = objectBody(request.body);
      const rule = await n.addRule(callerOf(request).actor, {
        name: body.name as string,
        events: body.events as string[],
        certificatePattern: (body.certificatePattern ?? null) as string | null,
        channels: body.channels as string[],
      });
      return reply.code(201).send(rule);
    },
  );

  app.delete(
    '/console/api/notifications/rules/:name',
    { onRequest: consoleAuth(core, 'certificate.write') },
    async (request, reply) => {
      await n.removeRule(callerOf(request).actor, name(request.params));
      return reply.code(204).send();
    },
  );

  app.put(
    '/console/api/notifications/thresholds',
    { onRequest: consoleAuth(core, 'certificate.write') },
    async (request) => {
      const body = objectBody(request.body);
      if (!('days' in body))
        throw new AppError('invalid_argument', 'Send {"days": [30, 14, 7]} or {"days": null} for the defaults.', {
          field: 'days',
        });
      return { days: await n.setThresholds(callerOf(request).actor, body.days ?? null) };
    },
  );

  app.get('/console/api/notifications/log', { onRequest: consoleAuth(core, 'certificate.read') }, async (request) => {
    const query = request.query as Record<string, string | undefined>;
    const number = (text: string | undefined, field: string): number | undefined => {
      if (text === undefined || text === '') return undefined;
      if (!/^[0-9]{1,12}$/.test(text))
        throw new AppError('invalid_argument', `${field} must be a positive integer.`, { field });
      return Number(text);
    };
    const limit = number(query.limit, 'limit');
    const beforeId = number(query.beforeId, 'beforeId');
    const items = await n.log(callerOf(request).actor, {
      ...(limit === undefined ? {} : { limit }),
      ...(beforeId === undefined ? {} : { beforeId }),
      ...(query.channel ? { channel: query.channel.slice(0, 64) } : {}),
    });
    return { items };
  });
}
