/**
 * Replace in place, versions and recently deleted certificates (docs/console.md, "Replace,
 * versions and recovery"). Writes need `certificate.write` (checked in the hook before the body is
 * read, and again by core).
 *
 * - `POST /certificates/:no/replace`: the import body (import.ts); `name` must be the
 *   certificate's current name (core refuses another with not_found, as delete's `?name=` does).
 *   The key may be left out when the new certificate has the current one's key. The console's
 *   name rule does not apply: the name stays what it is, whichever face gave it.
 * - `GET /certificates/:no/versions`: the current version and the replaced ones, newest first.
 * - `GET /certificates/:no/versions/:version/files/:part` and `POST …/private-key`: downloads of
 *   one version, as routes-download.ts serves the current one (the key read audited by core).
 * - `GET /deleted-certificates`: recoverable certificates, most recently deleted first.
 * - `POST /certificates/:no/restore`, `POST /certificates/:no/purge`.
 */
import type { FastifyInstance } from 'fastify';
import { fullChainPems } from '../../domain/x509/chain.ts';
import type { ReplaceOptions } from '../../core/certificates.ts';
import type { Core } from '../../core/core.ts';
import { AppError } from '../../domain/errors.ts';
import { callerOf, consoleAuth } from './auth.ts';
import { certificateNoParam, positiveInt, type Json } from './body.ts';
import { chainView } from './chain.ts';
import { CONSOLE_IMPORT, importInput } from './import.ts';
import { certificateSummary, factsOf } from './present.ts';
import { safeFileStem, sendPem } from './routes-download.ts';

const CONSOLE_REPLACE: Omit<ReplaceOptions, 'expectedName'> = {
  ...CONSOLE_IMPORT,
  policy: { ...CONSOLE_IMPORT.policy, nameRule: null },
  keepCurrentKey: true,
};

const DELETED_PAGE_MAX = 100;

/** A version number from the path; anything else is no such version. */
function versionParam(params: unknown): number {
  const raw = (params as { version?: string }).version ?? '';
  if (!/^[1-9][0-9]{0,8}$/.test(raw))
    throw new AppError('not_found', `There is no version '${raw.slice(0, 32)}'.`, { field: 'version' });
  return Number(raw);
}

export function registerVersionRoutes(app: FastifyInstance, core: Core): void {
  const read = consoleAuth(core);
  const write = consoleAuth(core, 'certificate.write');

  app.post('/console/api/certificates/:certificateNo/replace', { onRequest: write }, async (request) => {
    const { actor } = callerOf(request);
    const certificateNo = certificateNoParam(request.params);
    const input = importInput(request.body);
    const certificate = await core.certificates.replace(actor, certificateNo, input, {
      ...CONSOLE_REPLACE,
      expectedName: input.name,
    });
    const now = core.clock.now();
    return {
      ...certificateSummary(certificate, now),
      facts: factsOf(certificate.facts),
      chain: chainView(certificate, now),
      usedBy: await core.certificates.usedBy(actor, certificateNo),
    };
  });

  app.get('/console/api/certificates/:certificateNo/versions', { onRequest: read }, async (request) => {
    const { actor } = callerOf(request);
    const { certificate, currentVersion, previous } = await core.certificates.versions(
      actor,
      certificateNoParam(request.params),
    );
    const current = {
      version: currentVersion,
      current: true,
      commonName: certificate.facts.commonName,
      serialNumber: certificate.facts.serialNumber,
      fingerprintSha256: certificate.facts.fingerprintSha256,
      notBefore: certificate.facts.notBefore.toISOString(),
      notAfter: certificate.facts.notAfter.toISOString(),
      hasPrivateKey: certificate.hasPrivateKey,
      hasChain: certificate.hasChain,
      currentSince: certificate.updatedAt.toISOString(),
      replacedAt: null,
      replacedBy: null,
    };
    return {
      certificateNo: certificate.certificateNo,
      currentVersion,
      items: [
        current,
        ...previous.map((v) => ({
          version: v.version,
          current: false,
          commonName: v.facts.commonName,
          serialNumber: v.facts.serialNumber,
          fingerprintSha256: v.facts.fingerprintSha256,
          notBefore: v.facts.notBefore.toISOString(),
          notAfter: v.facts.notAfter.toISOString(),
          hasPrivateKey: v.hasPrivateKey,
          hasChain: v.hasChain,
          currentSince: v.currentSince.toISOString(),
          replacedAt: v.replacedAt.toISOString(),
          replacedBy: v.replacedBy,
        })),
      ],
    };
  });

  app.get(
    '/console/api/certificates/:certificateNo/versions/:version/files/:part',
    { onRequest: read },
    async (request, reply) => {
      const { actor } = callerOf(request);
      const certificateNo = certificateNoParam(request.params);
      const version = versionParam(request.params);
      const part = (request.params as { part: string }).part;
      if (part !== 'certificate' && part !== 'fullchain')
        throw new AppError(
          'not_found',
          `There is no '${part.slice(0, 32)}' download of a version; choose certificate or fullchain.`,
        );
      const bundle = await core.certificates.exportVersion(actor, certificateNo, version, { includeKey: false });
      const stem = `${safeFileStem(bundle.certificate.name)}.v${version}`;
      return part === 'certificate'
        ? sendPem(reply, `${stem}.crt.pem`, bundle.certificatePem)
        : sendPem(reply, `${stem}.fullchain.pem`, fullChainPems(bundle.certificatePem, bundle.chainPems).join(''));
    },
  );

  app.post(
    '/console/api/certificates/:certificateNo/versions/:version/private-key',
    { onRequest: read },
    async (request, reply) => {
      const { actor } = callerOf(request);
      const certificateNo = certificateNoParam(request.params);
      const version = versionParam(request.params);
      // Not pre-checked in the hook: core audits a VIEWER's attempt as a refused key read.
      const bundle = await core.certificates.exportVersion(actor, certificateNo, version, { includeKey: true });
      if (bundle.privateKeyPem === null)
        throw new AppError('not_found', 'This version was registered without a private key.');
      return sendPem(reply, `${safeFileStem(bundle.certificate.name)}.v${version}.key.pem`, bundle.privateKeyPem);
    },
  );

  app.get('/console/api/deleted-certificates', { onRequest: read }, async (request) => {
    const { actor } = callerOf(request);
    const source = (request.query ?? {}) as Json;
    const page = positiveInt(source, 'page', 1, 1_000_000);
    const pageSize = positiveInt(source, 'pageSize', 25, DELETED_PAGE_MAX);
    const found = await core.certificates.listDeleted(actor, { offset: (page - 1) * pageSize, limit: pageSize });
    const now = core.clock.now();
    return {
      items: found.items.map(({ certificate, purgeAfter }) => ({
        ...certificateSummary(certificate, now),
        deletedAt: certificate.deletedAt?.toISOString() ?? null,
        purgeAfter: purgeAfter.toISOString(),
      })),
      total: found.total,
      page,
      pageSize,
      pages: Math.ceil(found.total / pageSize),
    };
  });

  app.post('/console/api/certificates/:certificateNo/restore', { onRequest: write }, async (request) => {
    const { actor } = callerOf(request);
    const certificate = await core.certificates.restore(actor, certificateNoParam(request.params));
    return certificateSummary(certificate, core.clock.now());
  });

  app.post('/console/api/certificates/:certificateNo/purge', { onRequest: write }, async (request, reply) => {
    const { actor } = callerOf(request);
    await core.certificates.purge(actor, certificateNoParam(request.params));
    return reply.code(204).send();
  });
}
