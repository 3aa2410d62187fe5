/**
 * Certificate Manager API 2.0: what happens to a certificate issued here after it was issued
 * (reference §1.2 "Request and issuance", "Management"), carried out by core:
 *
 *   POST /api/v2/certificate/{certificateNo}/reissue   ReissueCertificate  (issuance service)
 *   POST /api/v2/certificate/registPrivateKey          RegisterPrivateKey  (certificate service)
 *   POST /api/v2/certificate/revoke                    RevokeCertificate   (issuance service)
 *
 * A reissue orders the certificate again for the key of the user's CSR; it lands in place without
 * a key (status 2) and `registPrivateKey` gives it the key, which must match (26040). A revoke is
 * status -7 until the CA confirmed it, then -5. 29001 while issuance is not configured (register
 * excepted: it needs no CA). docs/compat/ncp.md records every field and error choice.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NCP_REVOKE_TYPES, revocationReason } from '../../core/issuance/revocation.ts';
import { actorOf } from '../ncp-gateway/auth.ts';
import type { NcpContext } from './context.ts';
import { SUCCESS } from './present.ts';
import { issuanceOf, sansChecked } from './routes-issuance.ts';
import {
  bodyFields,
  optionalStringArray,
  pathCertificateNo,
  requiredChoice,
  requiredInteger,
  requiredIntegerOrZero,
  requiredString,
} from './schemas.ts';

type Method = 'POST';

/** [method, path, NCP operation name] of the operations this file serves. */
export const LIFECYCLE_OPERATIONS: ReadonlyArray<readonly [Method, string, string]> = [
  ['POST', '/api/v2/certificate/:certificateNo/reissue', 'ReissueCertificate'],
  ['POST', '/api/v2/certificate/registPrivateKey', 'RegisterPrivateKey'],
  ['POST', '/api/v2/certificate/revoke', 'RevokeCertificate'],
];

export function registerLifecycleRoutes(app: FastifyInstance, ctx: NcpContext): void {
  const write = { onRequest: ctx.auth('certificate.write') };
  const [reissue, register, revoke] = LIFECYCLE_OPERATIONS;

  app.post(reissue![1], write, async (req: FastifyRequest) => {
    const service = issuanceOf(ctx, reissue![2]);
    const certificateNo = pathCertificateNo(req.params);
    const body = bodyFields(req.body);
    const csr = requiredString(body, 'csr');
    const certificateName = requiredString(body, 'certificateName');
    const commonName = requiredString(body, 'commonName');
    const dnsName = optionalStringArray(body, 'dnsName') ?? [];
    requiredChoice(body, 'validationMethod', ['D'] as const);
    const order = await sansChecked(() =>
      service.reissue(actorOf(req), certificateNo, {
        csr,
        name: certificateName,
        commonName,
        domains: dnsName,
        asciiOnly: true,
      }),
    );
    return { ...SUCCESS, totalRows: 1, certificateNo, requestSn: order.orderId };
  });

  app.post(register![1], write, async (req: FastifyRequest) => {
    const body = bodyFields(req.body);
    const certificateNo = requiredInteger(body, 'certificateNo');
    const privateKey = requiredString(body, 'privateKey');
    await ctx.core.certificates.registerKey(actorOf(req), certificateNo, privateKey);
    return { ...SUCCESS, totalRows: 1 };
  });

  app.post(revoke![1], write, async (req: FastifyRequest) => {
    const service = issuanceOf(ctx, revoke![2]);
    const body = bodyFields(req.body);
    const orderText = requiredString(body, 'orderId');
    const orderId = /^[1-9][0-9]{0,14}$/.test(orderText) ? Number(orderText) : Number.NaN;
    const certificateNo = requiredIntegerOrZero(body, 'certificateNo');
    const revokeType = requiredChoice(body, 'revokeType', NCP_REVOKE_TYPES);
    const order = await service.revoke(actorOf(req), {
      certificateNo,
      // An orderId that is no order number of ours names no order: 2200, like an unknown one.
      orderId: Number.isSafeInteger(orderId) ? orderId : 0,
      reason: revocationReason(revokeType),
    });
    return { ...SUCCESS, totalRows: 1, certificateNo: order.certificateNo };
  });
}
