/**
 * Global Edge certificate provisioning (reference §4.2), thin handlers: read the request
 * (schemas.ts), call core.provisioning, present (present.ts).
 *
 *   GET    /api/v1/certificate/provisioning                         list            read
 *   POST   /api/v1/certificate/provisioning                         provision       write
 *   GET    /api/v1/certificate/provisioning/{slotId}                detail          read
 *   POST   /api/v1/certificate/provisioning/{slotId}                add global      write (refused: 0040)
 *   PUT    /api/v1/certificate/provisioning/{slotId}                replace         write
 *   DELETE /api/v1/certificate/provisioning/{slotId}                delete          write
 *   DELETE /api/v1/certificate/provisioning/{slotId}/certificates   remove global   write (refused: 0040)
 *   PUT    /api/v1/certificate/provisioning/{slotId}/tls            TLS settings    write
 */
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/core.ts';
import { CIPHER_PROFILES, SERVICE_REGIONS, TLS_VERSIONS } from '../../domain/edge-slot.ts';
import { actorOf, ncpAuth } from '../ncp-gateway/auth.ts';
import { presentDetail, presentList, success } from './present.ts';
import { bodyFields, paging, pathSlotId, queryFields, requiredEnum, requiredId, requiredIds } from './schemas.ts';

export const EDGE_BASE = '/api/v1/certificate/provisioning';

export function registerEdgeRoutes(app: FastifyInstance, core: Core): void {
  const read = { onRequest: ncpAuth(core, 'certificate.read') };
  const write = { onRequest: ncpAuth(core, 'certificate.write') };
  // The list confirms the credential in its own read (ncp-gateway/auth.ts `confirmsInRead`).
  const listRead = { onRequest: ncpAuth(core, 'certificate.read', { confirmsInRead: true }) };
  const slot = `${EDGE_BASE}/:slotId`;

  app.get(EDGE_BASE, listRead, async (request) => {
    const page = paging(queryFields(request.query));
    return presentList(await core.provisioning.list(actorOf(request), page.rows), page);
  });

  app.post(EDGE_BASE, write, async (request, reply) => {
    const body = bodyFields(request.body);
    const serviceRegion = requiredEnum(body, 'serviceRegion', SERVICE_REGIONS);
    const certificateNos = requiredIds(body, 'cmCertificateIds');
    const tlsVersion = requiredEnum(body, 'tlsVersion', TLS_VERSIONS);
    const cipherProfile = requiredEnum(body, 'cipherProfile', CIPHER_PROFILES);
    const created = await core.provisioning.provision(actorOf(request), {
      serviceRegion,
      certificateNos,
      tlsVersion,
      cipherProfile,
    });
    // The documented answer is `result: true`; the new slot's address comes as a header.
    reply.header('location', `${EDGE_BASE}/${created.slotId}`);
    return success(true);
  });

  app.get(slot, read, async (request) => {
    const slotId = pathSlotId(request.params);
    const page = paging(queryFields(request.query));
    return presentDetail(await core.provisioning.get(actorOf(request), slotId), page);
  });

  app.post(slot, write, async (request) => {
    const slotId = pathSlotId(request.params);
    const certificateNo = requiredId(bodyFields(request.body), 'cmCertificateId');
    await core.provisioning.addGlobalCertificate(actorOf(request), slotId, certificateNo);
    return success(true);
  });

  app.put(slot, write, async (request) => {
    const slotId = pathSlotId(request.params);
    const certificateNo = requiredId(bodyFields(request.body), 'cmCertificateId');
    await core.provisioning.replaceCertificate(actorOf(request), slotId, certificateNo);
    return success(true);
  });

  app.delete(slot, write, async (request) => {
    const slotId = pathSlotId(request.params);
    await core.provisioning.delete(actorOf(request), slotId);
    return success(true);
  });

  app.delete(`${slot}/certificates`, write, async (request) => {
    const slotId = pathSlotId(request.params);
    const itemIds = requiredIds(bodyFields(request.body), 'certificateItemIds');
    await core.provisioning.removeGlobalCertificates(actorOf(request), slotId, itemIds);
    return success(true);
  });

  app.put(`${slot}/tls`, write, async (request) => {
    const slotId = pathSlotId(request.params);
    const body = bodyFields(request.body);
    const tlsVersion = requiredEnum(body, 'tlsVersion', TLS_VERSIONS);
    const cipherProfile = requiredEnum(body, 'cipherProfile', CIPHER_PROFILES);
    await core.provisioning.setTls(actorOf(request), slotId, tlsVersion, cipherProfile);
    return success(true);
  });
}
