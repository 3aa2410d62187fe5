/**
 * The certmanager routes of every NHN API version. Handlers are thin: authenticate (auth.ts, in
 * `onRequest`), parse, call core, present. Each version serves the same operations under its own
 * authentication; `…/{certificateId}/certificate-files` exists in v1.3 only.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../../core/actor.ts';
import type { Core } from '../../core/core.ts';
import { can } from '../../core/policy.ts';
import { isAppErrorWithCode } from '../../domain/errors.ts';
import { IMPORT_LIMITS } from '../../domain/x509/ladder.ts';
import { authHook, callerOf } from './auth.ts';
import { documentedError, FACE_CODES, NhnWireError } from './errors.ts';
import { readSingleFile, type UploadLimits } from './multipart.ts';
import {
  contentDisposition,
  listItem,
  NHN_VERSIONS,
  sanitizeFileName,
  success,
  type NhnListBody,
  type NhnVersion,
} from './present.ts';
import { MAX_ALL, parseListQuery, type ListQuery } from './query.ts';
import { checkNameSyntax, NHN_IMPORT_OPTIONS, uploadInput } from './upload.ts';

export const CERTMANAGER_PREFIX = '/certmanager';

export const UPLOAD_LIMITS: UploadLimits = { fileBytes: IMPORT_LIMITS.fileBytes, framingBytes: 16 * 1024 };

export interface RouteOptions {
  /** Minutes east of UTC for `yyyy-MM-dd` dates (config `apiTimezoneOffsetMinutes`). */
  offsetMinutes: number;
}

const base = (version: NhnVersion): string => `${CERTMANAGER_PREFIX}/${version}/appkeys/:appKey/certificates`;

/** Whether a URL is an upload (POST of `…/certificates/{name}/files`). */
export const isUploadRoute = (request: FastifyRequest): boolean =>
  request.method === 'POST' && /\/certificates\/:certificateName\/files$/.test(request.routeOptions.url ?? '');

export function registerCertmanagerRoutes(app: FastifyInstance, core: Core, options: RouteOptions): void {
  for (const version of NHN_VERSIONS) {
    const authenticate = authHook(core, version);
    // The list and the downloads confirm the credential in their own read (auth.ts `authHook`).
    const authenticateRead = authHook(core, version, { confirmsInRead: true });

    app.get(base(version), { onRequest: authenticateRead }, async (request) => {
      const { actor } = callerOf(request);
      const body = await listPage(
        core,
        actor,
        parseListQuery(request.query as Record<string, unknown>),
        version,
        options.offsetMinutes,
      );
      return success(body);
    });

    app.get(`${base(version)}/:certificateName/files`, { onRequest: authenticateRead }, async (request, reply) => {
      const { actor } = callerOf(request);
      const { certificateName } = request.params as { certificateName: string };
      return sendFile(reply, await core.certificates.readFile(actor, { name: certificateName }));
    });

    app.post(`${base(version)}/:certificateName/files`, { onRequest: [authenticate, uploadGuard] }, async (request) => {
      const { actor } = callerOf(request);
      const { certificateName } = request.params as { certificateName: string };
      const file = await readSingleFile(request, UPLOAD_LIMITS);
      await core.certificates.upsertByName(actor, uploadInput(certificateName, file), NHN_IMPORT_OPTIONS);
      // NHN's (older v1.0) upload documents `"body": null`.
      return success(null);
    });

    if (version === 'v1.3') {
      app.get(
        `${base(version)}/:certificateId/certificate-files`,
        { onRequest: authenticateRead },
        async (request, reply) => {
          const { actor } = callerOf(request);
          const { certificateId } = request.params as { certificateId: string };
          const file = await core.certificates.readFile(actor, { id: certificateId }).catch((error: unknown) => {
            // This route's miss has its own documented code (52009, not 52000).
            throw isAppErrorWithCode(error, 'not_found') ? documentedError('not_found', 404, 52009) : error;
          });
          return sendFile(reply, file);
        },
      );
    }
  }
}

/** Upload is ADMIN only, and the name must be DNS-like: both refused before the body is read. */
async function uploadGuard(request: FastifyRequest): Promise<void> {
  const caller = callerOf(request);
  if (!can(caller.actor.role, 'certificate.write')) {
    throw new NhnWireError('permission_denied', {
      status: 403,
      resultCode: FACE_CODES.roleInsufficient,
      resultMessage:
        caller.via === 'appkey'
          ? 'AppKey-only access (v1.0, v1.2) may not upload. Use v1.1 or v1.3 with an ADMIN credential.'
          : `The ${caller.actor.role} role may not upload certificate files; use an ADMIN credential.`,
    });
  }
  checkNameSyntax((request.params as { certificateName: string }).certificateName);
}

async function listPage(
  core: Core,
  actor: Actor,
  query: ListQuery,
  version: NhnVersion,
  offsetMinutes: number,
): Promise<NhnListBody> {
  const present = (items: Parameters<typeof listItem>[0][]) =>
    items.map((certificate) => listItem(certificate, version, offsetMinutes));
  if (query.all) {
    const all = await core.certificates
      .listAll(actor, { validity: query.validity }, MAX_ALL)
      .catch((error: unknown) => {
        if (!isAppErrorWithCode(error, 'invalid_argument') || error.field !== 'all') throw error;
        throw new NhnWireError('invalid_argument', {
          status: 400,
          resultCode: FACE_CODES.invalidParameter,
          resultMessage: `all=true lists at most ${MAX_ALL} certificates and this list has ${String(error.details?.total)}; page through it with pageSize and pageNum.`,
        });
      });
    return {
      totalCount: all.total,
      totalPage: all.total > 0 ? 1 : 0,
      currentPage: 1,
      pageSize: all.items.length,
      data: present(all.items),
    };
  }
  const page = await core.certificates.list(actor, {
    validity: query.validity,
    offset: (query.pageNum - 1) * query.pageSize,
    limit: query.pageSize,
  });
  return {
    totalCount: page.total,
    totalPage: Math.ceil(page.total / query.pageSize),
    currentPage: query.pageNum,
    pageSize: query.pageSize,
    data: present(page.items),
  };
}

function sendFile(reply: FastifyReply, file: { name: string; bytes: Buffer }): FastifyReply {
  const name = sanitizeFileName(file.name, 'certificate.pem');
  return reply
    .header('content-type', 'application/octet-stream')
    .header('content-disposition', contentDisposition(name))
    .header('cache-control', 'no-store')
    .send(file.bytes);
}
