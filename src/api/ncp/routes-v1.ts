/**
 * Certificate Manager API 1.0: the three external-certificate operations (reference §1.1).
 *
 *   GET    /api/v1/certificates                                 getCertificateList
 *   POST   /api/v1/certificate/withExternal                     createExternalCertificate
 *   DELETE /api/v1/certificate/{certificateNo}?certificateName=  deleteCertificate
 *
 * NOTE for the Global Edge face: its routes live under `/api/v1/certificate/provisioning`. The
 * DELETE route here takes one path segment, so `/provisioning/{slotId}` never reaches it, but
 * until that face carves out its prefix, `/api/v1/certificate/provisioning…` is answered by this
 * face (gateway error 300, or 2100 for `DELETE /api/v1/certificate/provisioning`).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.ts';
import { AppError } from '../../domain/errors.ts';
import { actorOf } from '../ncp-gateway/auth.ts';
import type { NcpContext } from './context.ts';
import { DELETE_NOT_FOUND, withOverrides } from './errors.ts';
import { importOptions } from './policy.ts';
import { presentV1Item, SUCCESS } from './present.ts';
import {
  bodyFields,
  newCertificateName,
  PAGE_SIZE_MAX,
  pathCertificateNo,
  queryFields,
  queryInteger,
  queryString,
  requiredString,
} from './schemas.ts';

export function registerV1Routes(app: FastifyInstance, ctx: NcpContext): void {
  const { core } = ctx;

  // No paging in API 1.0: the newest 1000 certificates that match; totalRows counts the list.
  // Its list confirms the credential in its own read (ncp-gateway/auth.ts `confirmsInRead`).
  const listRead = { onRequest: ctx.auth('certificate.read', { confirmsInRead: true }) };
  app.get('/api/v1/certificates', listRead, async (request) => {
    const query = queryFields(request.query);
    const name = queryString(query, 'certificateName');
    const certificateNo = queryInteger(query, 'certificateNo');
    const instanceNo = queryInteger(query, 'instanceNo');
    const actor = actorOf(request);
    const page = await core.certificates.list(actor, {
      name,
      certificateNo,
      usedByInstanceNo: instanceNo,
      sort: 'certificateNo',
      order: 'desc',
      offset: 0,
      limit: PAGE_SIZE_MAX,
      withUsers: true,
    });
    const present = await ctx.present(actor);
    return {
      ...SUCCESS,
      totalRows: page.items.length,
      sslCertificateList: page.items.map((c) => presentV1Item(c, page.usedBy?.get(c.certificateNo) ?? [], present)),
    };
  });

  app.post('/api/v1/certificate/withExternal', { onRequest: ctx.auth('certificate.write') }, async (request) => {
    const body = bodyFields(request.body);
    const name = newCertificateName(body);
    const privateKey = requiredString(body, 'privateKey');
    const certificate = requiredString(body, 'publicKeyCertificate');
    const chain = requiredString(body, 'certificateChain', { allowEmpty: true });
    const actor = actorOf(request);
    const created = await core.certificates.import(
      actor,
      { name, certificate, privateKey, chain },
      importOptions('ncp-v1'),
    );
    return { ...SUCCESS, totalRows: 1, sslCertificateList: [presentV1Item(created, [], await ctx.present(actor))] };
  });

  app.delete('/api/v1/certificate/:certificateNo', { onRequest: ctx.auth('certificate.write') }, deleteHandler(core));
}

/**
 * DELETE of both APIs: the number in the path, the name it must have in `certificateName`; core
 * checks both in the delete, and any not_found is NCP's documented delete answer.
 */
export function deleteHandler(core: Core) {
  return async (request: FastifyRequest) => {
    const certificateNo = pathCertificateNo(request.params);
    const name = requiredQueryName(queryFields(request.query));
    const actor = actorOf(request);
    await withOverrides(() => core.certificates.delete(actor, certificateNo, { expectedName: name }), {
      not_found: DELETE_NOT_FOUND,
    });
    return { ...SUCCESS, totalRows: 1 };
  };
}

/** The `certificateName` a delete must name (both APIs). */
export function requiredQueryName(query: Readonly<Record<string, unknown>>): string {
  const name = queryString(query, 'certificateName');
  if (name === undefined)
    throw new AppError('invalid_argument', 'The query parameter certificateName is required.', {
      field: 'certificateName',
    });
  return name;
}
