/**
 * Reading certificates: the dashboard, the list, one certificate with its chain and users, and its
 * audit history. Handlers are thin: authenticate (auth.ts), parse, call core, present.
 */
import type { FastifyInstance } from 'fastify';
import type { Actor } from '../../core/actor.ts';
import type { Core } from '../../core/core.ts';
import { AppError } from '../../domain/errors.ts';
import type { AuditEvent, Certificate } from '../../domain/model.ts';
import { callerOf, consoleAuth } from './auth.ts';
import { certificateNoParam, positiveInt, type Json } from './body.ts';
import { chainView } from './chain.ts';
import { auditEvent, certificateSummary, factsOf } from './present.ts';
import { parseListQuery } from './query.ts';
import { encodeCursor } from '../../core/certificate-search.ts';

const HISTORY_PAGE = 50;

/**
 * The successful import of this certificate: the `certificate.import` success recorded under
 * `certificate-name:<name>` at or after its creation. Names are unique among live certificates, so
 * only this certificate's import can have succeeded under its name since it was created.
 */
async function importEvent(core: Core, actor: Actor, certificate: Certificate): Promise<AuditEvent[]> {
  const events = await core.audit.list(actor, {
    target: `certificate-name:${certificate.name}`,
    action: 'certificate.import',
    limit: 20,
  });
  const found = events
    .filter((e) => e.result === 'success' && e.at.getTime() >= certificate.createdAt.getTime())
    .at(-1);
  return found ? [found] : [];
}

/**
 * How the certificate came to be what it is, from its history: the face it was imported through
 * and when, and the face of its last successful replacement and when (the row's `origin` is the
 * face of the last write only). An import older than the audit trail reads as null.
 */
async function provenanceOf(core: Core, actor: Actor, certificate: Certificate) {
  const [imported] = await importEvent(core, actor, certificate);
  const replaces = await core.audit.list(actor, {
    target: `certificate:${certificate.certificateNo}`,
    action: 'certificate.replace',
    limit: 20,
  });
  const replaced = replaces.find((e) => e.result === 'success');
  const step = (event: AuditEvent | undefined) =>
    event
      ? { origin: typeof event.detail.origin === 'string' ? event.detail.origin : null, at: event.at.toISOString() }
      : null;
  return { imported: step(imported), lastReplaced: step(replaced) };
}

/**
 * Who the actors of some audit events are, for people: each access key's role and description
 * (`cli` is the local operator and needs none). Only for a caller core lets read credentials
 * (ADMIN); anyone else gets no labels and sees the access keys, as before.
 */
async function actorLabels(core: Core, actor: Actor, events: AuditEvent[]) {
  const wanted = new Set(events.map((e) => e.actor));
  let credentials;
  try {
    credentials = await core.credentials.list(actor);
  } catch (error) {
    if (error instanceof AppError && error.code === 'permission_denied') return {};
    throw error;
  }
  return Object.fromEntries(
    credentials
      .filter((c) => wanted.has(c.accessKey))
      .map((c) => [c.accessKey, { role: c.role, description: c.description, revoked: c.revokedAt !== null }]),
  );
}

export function registerCertificateRoutes(app: FastifyInstance, core: Core): void {
  const auth = consoleAuth(core);

  app.get('/console/api/dashboard', { onRequest: auth }, async (request) => {
    const { actor } = callerOf(request);
    const dashboard = await core.dashboard.read(actor);
    return {
      asOf: dashboard.asOf.toISOString(),
      counts: dashboard.counts,
      expiring: dashboard.expiring,
      soonest: dashboard.soonest.map((c) => certificateSummary(c, dashboard.asOf)),
      recent: dashboard.recent.map(auditEvent),
      actors: await actorLabels(core, actor, dashboard.recent),
    };
  });

  app.get('/console/api/certificates', { onRequest: auth }, async (request) => {
    const { actor } = callerOf(request);
    const now = core.clock.now();
    const { query, page, pageSize, impossible } = parseListQuery(request.query, now);
    const result = impossible ? { items: [], total: 0, totalExact: true } : await core.certificates.list(actor, query);
    const last = result.items.at(-1);
    return {
      items: result.items.map((c) => certificateSummary(c, now)),
      total: result.total,
      // False: `total` is a lower bound (more than total - 1 match), and `pages` with it.
      totalExact: result.totalExact,
      page,
      pageSize,
      pages: Math.ceil(result.total / pageSize),
      // The keyset cursor of the next page (`cursor=`), when this page is full.
      next:
        result.items.length === pageSize && last
          ? encodeCursor(last, query.sort ?? 'notAfter', query.order ?? 'asc')
          : null,
    };
  });

  app.get('/console/api/certificates/:certificateNo', { onRequest: auth }, async (request) => {
    const { actor } = callerOf(request);
    const certificateNo = certificateNoParam(request.params);
    const certificate = await core.certificates.get(actor, certificateNo);
    const usedBy = await core.certificates.usedBy(actor, certificateNo);
    const now = core.clock.now();
    return {
      ...certificateSummary(certificate, now),
      provenance: await provenanceOf(core, actor, certificate),
      fileName: certificate.fileName,
      facts: factsOf(certificate.facts),
      chain: chainView(certificate, now),
      usedBy,
    };
  });

  app.get('/console/api/certificates/:certificateNo/history', { onRequest: auth }, async (request) => {
    const { actor } = callerOf(request);
    const certificateNo = certificateNoParam(request.params);
    // The certificate must be the caller's (another tenant's answers like a missing one).
    const certificate = await core.certificates.get(actor, certificateNo);
    const before = positiveInt((request.query ?? {}) as Json, 'before', 0, Number.MAX_SAFE_INTEGER);
    const events = await core.audit.list(actor, {
      target: `certificate:${certificateNo}`,
      limit: HISTORY_PAGE + 1,
      ...(before > 0 ? { beforeId: before } : {}),
    });
    const page = events.slice(0, HISTORY_PAGE);
    const last = events.length <= HISTORY_PAGE;
    // Its import was recorded under its name (it had no number yet): the oldest event, on the last page.
    if (last) page.push(...(await importEvent(core, actor, certificate)));
    return { items: page.map(auditEvent), next: last ? null : (page.at(-1)?.id ?? null) };
  });
}
