/**
 * Edge slots through core's provisioning use-cases (core/provisioning.ts): list, show, provision,
 * replace the certificate, change TLS settings, delete. Reads for any role; writes need
 * `certificate.write` (checked in the hook, and again by core, which also audits them).
 *
 * Provisioning takes one certificate (a Korea/Japan `KR_JP` slot) or, with `globalCertificateNo`,
 * two (a `KR_JP_GLOBAL` slot: core gives each its item by type, the Global Edge Dedicated one the
 * `GLOBAL` item, as the Global Edge API does). Status changes come from the provisioning worker;
 * the browser polls a slot while it is pending.
 */
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/core.ts';
import { aliasDirectory, slotDirectory } from '../../domain/deploy-target.ts';
import { CIPHER_PROFILES, TLS_VERSIONS, type CipherProfile, type TlsVersion } from '../../domain/edge-slot.ts';
import { AppError } from '../../domain/errors.ts';
import { callerOf, consoleAuth } from './auth.ts';
import { objectBody, oneOf, positiveInt, type Json } from './body.ts';
import { slotOf, targetOf } from './present-edge.ts';

const PAGE_SIZE = 50;

const withSlash = (path: string | null): string | null => (path === null ? null : `${path}/`);

function slotIdParam(params: unknown): number {
  const raw = (params as { slotId?: string }).slotId ?? '';
  if (!/^[1-9][0-9]{0,14}$/.test(raw)) throw new AppError('not_found', 'No such edge slot.', { field: 'slotId' });
  return Number(raw);
}

function certificateNoField(body: Json, field: 'certificateNo' | 'globalCertificateNo' = 'certificateNo'): number {
  const value = body[field];
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^[0-9]{1,15}$/.test(value.trim())
        ? Number(value)
        : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new AppError(
      'invalid_argument',
      field === 'certificateNo'
        ? 'Choose the certificate to publish.'
        : 'Choose the Global Edge Dedicated certificate, or leave it empty for a Korea/Japan slot.',
      { field },
    );
  return n;
}

const tlsOf = (body: Json): { tlsVersion: TlsVersion; cipherProfile: CipherProfile } => ({
  tlsVersion: oneOf(body, 'tlsVersion', TLS_VERSIONS, 'TLS_MIN_VERSION_1_2'),
  cipherProfile: oneOf(body, 'cipherProfile', CIPHER_PROFILES, 'DEFAULT'),
});

export function registerEdgeRoutes(app: FastifyInstance, core: Core): void {
  const read = consoleAuth(core);
  const write = consoleAuth(core, 'certificate.write');

  app.get('/console/api/edge/slots', { onRequest: read }, async (request) => {
    const { actor } = callerOf(request);
    const page = positiveInt((request.query ?? {}) as Json, 'page', 1, 100_000);
    const result = await core.provisioning.list(actor, { offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE });
    const target = await core.targets.get(actor);
    const now = core.clock.now();
    return {
      items: result.items.map((view) => slotOf(view, now)),
      total: result.total,
      page,
      pageSize: PAGE_SIZE,
      pages: Math.ceil(result.total / PAGE_SIZE),
      targetKind: target?.spec.kind ?? null,
      target: targetOf(target),
    };
  });

  app.get('/console/api/edge/slots/:slotId', { onRequest: read }, async (request) => {
    const { actor } = callerOf(request);
    const slot = slotOf(await core.provisioning.get(actor, slotIdParam(request.params)), core.clock.now());
    // Where the files land, for a directory target (the deployer's layout, domain/deploy-target.ts);
    // a webhook's URL is not shown (it may carry a token).
    const target = await core.targets.get(actor);
    const directory = target?.spec.kind === 'directory' ? target.spec.path : null;
    const name = slot.items.find((item) => item.region === 'KR_JP')?.certificate?.name ?? null;
    return {
      ...slot,
      targetDirectory: directory === null ? null : `${slotDirectory(directory, slot.slotId)}/`,
      // The readable alias of the same folder (by-name/<certificate name>), when the name allows one.
      targetAlias: directory === null || name === null ? null : withSlash(aliasDirectory(directory, name)),
    };
  });

  app.post('/console/api/edge/slots', { onRequest: write }, async (request, reply) => {
    const { actor } = callerOf(request);
    const body = objectBody(request.body);
    const certificateNo = certificateNoField(body);
    const global =
      body.globalCertificateNo === undefined || body.globalCertificateNo === null || body.globalCertificateNo === ''
        ? null
        : certificateNoField(body, 'globalCertificateNo');
    const slot = await core.provisioning.provision(actor, {
      serviceRegion: global === null ? 'KR_JP' : 'KR_JP_GLOBAL',
      certificateNos: global === null ? [certificateNo] : [certificateNo, global],
      ...tlsOf(body),
    });
    return reply.code(201).send(slotOf(await core.provisioning.get(actor, slot.slotId), core.clock.now()));
  });

  app.put('/console/api/edge/slots/:slotId/certificate', { onRequest: write }, async (request) => {
    const { actor } = callerOf(request);
    const slotId = slotIdParam(request.params);
    await core.provisioning.replaceCertificate(actor, slotId, certificateNoField(objectBody(request.body)));
    return slotOf(await core.provisioning.get(actor, slotId), core.clock.now());
  });

  app.put('/console/api/edge/slots/:slotId/tls', { onRequest: write }, async (request) => {
    const { actor } = callerOf(request);
    const slotId = slotIdParam(request.params);
    const { tlsVersion, cipherProfile } = tlsOf(objectBody(request.body));
    await core.provisioning.setTls(actor, slotId, tlsVersion, cipherProfile);
    return slotOf(await core.provisioning.get(actor, slotId), core.clock.now());
  });

  app.delete('/console/api/edge/slots/:slotId', { onRequest: write }, async (request) => {
    const { actor } = callerOf(request);
    const slotId = slotIdParam(request.params);
    await core.provisioning.delete(actor, slotId);
    return slotOf(await core.provisioning.get(actor, slotId), core.clock.now());
  });
}
