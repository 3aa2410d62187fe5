/**
 * Certificate Manager API 2.0: lookup, registration, export and deletion (reference §1.2).
 *
 *   GET    /api/v2/certificate/certificates                  ListCertificates
 *   GET    /api/v2/certificate/getCertificates               ListCloudCertificates (same answer)
 *   GET    /api/v2/certificate/certificateTypes              ListCertificateTypes
 *   POST   /api/v2/certificate/withExternal                  RegisterExternalCertificate (certificateNo: replace)
 *   GET    /api/v2/certificate/exportCertificate/{no}/chain  GetCertificateChain
 *   POST   /api/v2/certificate/exportCertificate/{no}        DownloadCertificate (ZIP, key read audited)
 *   DELETE /api/v2/certificate/deleteCertificate/{no}        DeleteCertificate
 *   GET    /api/v2/certificate/recentChanges                 ListRecentCertChanges
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../domain/errors.ts';
import { actorOf } from '../ncp-gateway/auth.ts';
import type { NcpContext } from './context.ts';
import { formatV2Date } from './dates.ts';
import { certificateZip, zipFileName } from './export-zip.ts';
import { importOptions, replaceOptions } from './policy.ts';
import { CERTIFICATE_TYPES, presentChain, presentV1Item, presentV2Item, SUCCESS } from './present.ts';
import { recentWindow } from './recent-window.ts';
import { deleteHandler } from './routes-v1.ts';
import {
  bodyFields,
  newCertificateName,
  optionalInteger,
  optionalString,
  paging,
  pathCertificateNo,
  queryFields,
  queryString,
  requiredString,
} from './schemas.ts';

const BASE = '/api/v2/certificate';

export function registerV2Routes(app: FastifyInstance, ctx: NcpContext): void {
  const { core } = ctx;
  const read = { onRequest: ctx.auth('certificate.read') };
  const write = { onRequest: ctx.auth('certificate.write') };
  // The lists confirm the credential in their own read (ncp-gateway/auth.ts `confirmsInRead`).
  const listRead = { onRequest: ctx.auth('certificate.read', { confirmsInRead: true }) };

  async function listCertificates(request: FastifyRequest) {
    const query = queryFields(request.query);
    const name = queryString(query, 'certificateName');
    const { offset, limit } = paging(query);
    const actor = actorOf(request);
    const page = await core.certificates.list(actor, { name, sort: 'certificateNo', order: 'desc', offset, limit });
    const present = await ctx.present(actor);
    return { ...SUCCESS, totalCount: page.total, sslCertificateList: page.items.map((c) => presentV2Item(c, present)) };
  }
  app.get(`${BASE}/certificates`, listRead, listCertificates);
  app.get(`${BASE}/getCertificates`, listRead, listCertificates);

  app.get(`${BASE}/certificateTypes`, read, async () => CERTIFICATE_TYPES);

  app.post(`${BASE}/withExternal`, write, async (request) => {
    const body = bodyFields(request.body);
    const certificateNo = optionalInteger(body, 'certificateNo');
    // A replacement keeps its stored name: the name only has to match it.
    const name = certificateNo === undefined ? newCertificateName(body) : requiredString(body, 'certificateName');
    const privateKey = requiredString(body, 'privateKey');
    const certificate = requiredString(body, certificateField(body));
    const chain = requiredString(body, 'certificateChain', { allowEmpty: true });
    const actor = actorOf(request);
    const input = { name, certificate, privateKey, chain };
    // With certificateNo, a replacement of the certificate of that number, which must have this name.
    const saved =
      certificateNo === undefined
        ? await core.certificates.import(actor, input, importOptions('ncp-v2'))
        : await core.certificates.replace(actor, certificateNo, input, {
            ...replaceOptions('ncp-v2'),
            expectedName: name,
          });
    // A new certificate is used by no edge slot when its import commits: only a replacement's
    // users are read (a statement saved on every import).
    const [present, [usedBy]] = await Promise.all([
      ctx.present(actor),
      certificateNo === undefined ? [[]] : ctx.usedBy(actor, [saved]),
    ]);
    return {
      ...SUCCESS,
      totalRows: 1,
      sslCertificateList: [presentV1Item(saved, usedBy ?? [], present, formatV2Date)],
    };
  });

  app.get(`${BASE}/exportCertificate/:certificateNo/chain`, read, async (request) => {
    const certificateNo = pathCertificateNo(request.params);
    return presentChain(await core.certificates.export(actorOf(request), certificateNo, { includeKey: false }));
  });

  // Only `certificate.read` up front: core decides on the key read itself, so a refused read (a
  // VIEWER's) is audited like a granted one.
  app.post(`${BASE}/exportCertificate/:certificateNo`, read, async (request, reply) => {
    const certificateNo = pathCertificateNo(request.params);
    checkDownloadBody(bodyFields(request.body), certificateNo);
    const bundle = await core.certificates.export(actorOf(request), certificateNo, { includeKey: true });
    return reply
      .type('application/zip')
      .header('content-disposition', `attachment; filename="${zipFileName(bundle.certificate.name)}"`)
      .header('cache-control', 'no-store')
      .send(certificateZip(bundle));
  });

  app.delete(`${BASE}/deleteCertificate/:certificateNo`, write, deleteHandler(core));

  app.get(`${BASE}/recentChanges`, read, async (request) => {
    const query = queryFields(request.query);
    const window = recentWindow(query, core.clock.now(), ctx.zone);
    const { offset, limit } = paging(query);
    const actor = actorOf(request);
    const page = await core.certificates.list(actor, {
      changedBetween: window,
      sort: 'updatedAt',
      order: 'desc',
      offset,
      limit,
    });
    const present = await ctx.present(actor);
    return { ...SUCCESS, totalCount: page.total, orders: page.items.map((c) => presentV2Item(c, present)) };
  });
}

/**
 * The certificate of a v2 registration is `certificateBody`; the older merged doc page printed the
 * v1 body (`publicKeyCertificate`) under the v2 title, so that name is read when `certificateBody`
 * is absent.
 */
function certificateField(body: Readonly<Record<string, unknown>>): string {
  return Object.hasOwn(body, 'certificateBody') || !Object.hasOwn(body, 'publicKeyCertificate')
    ? 'certificateBody'
    : 'publicKeyCertificate';
}

/** DownloadCertificate's body: `certificateNo` (same as the path), `type` (`PEM`), no `passwd`. */
function checkDownloadBody(body: Readonly<Record<string, unknown>>, certificateNo: number): void {
  const inBody = optionalInteger(body, 'certificateNo');
  if (inBody !== undefined && inBody !== certificateNo) {
    throw new AppError('invalid_argument', 'certificateNo in the body must be the certificateNo of the path.', {
      field: 'certificateNo',
    });
  }
  const type = optionalString(body, 'type');
  if (type !== undefined && type.toUpperCase() !== 'PEM') {
    throw new AppError('invalid_argument', 'type must be PEM, the only format offered.', { field: 'type' });
  }
  const passwd = optionalString(body, 'passwd', 1024);
  if (passwd !== undefined && passwd !== '') {
    throw new AppError(
      'invalid_argument',
      'passwd is not supported: the ZIP holds the private key unencrypted. Send the request without passwd.',
      { field: 'passwd' },
    );
  }
}
