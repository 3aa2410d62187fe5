/**
 * The API 2.0 operations this deployment does not offer: paid (Advanced) certificates, domain
 * validation and ACME EAB (reference §1.2). The issuance operations it does offer are
 * routes-issuance.ts and routes-lifecycle.ts (29001 too while issuance is not configured). They are routed, authenticated and authorised like any other
 * operation, and answer code 29001 in the NCP envelope (HTTP 200, like every service error), so a
 * script learns why instead of meeting a bare 404.
 */
import type { FastifyInstance } from 'fastify';
import type { Action } from '../../core/policy.ts';
import type { NcpContext } from './context.ts';
import { NcpServiceError, UNAVAILABLE_OPERATION } from './errors.ts';

type Method = 'GET' | 'POST' | 'DELETE';

/**
 * Why, whatever the configuration: these are NCP's paid-certificate, domain and EAB products.
 * (Issuance itself is routes-issuance.ts, which says when it is not configured.)
 */
export const NOT_OFFERED =
  'certkeeper offers no paid (Advanced) certificates, domain registrations or EAB credentials; it imports certificates (withExternal) and issues them through an ACME CA (requestCertificateIssuance).';

/** [method, path, NCP operation name]. */
export const UNAVAILABLE_OPERATIONS: ReadonlyArray<readonly [Method, string, string]> = [
  ['POST', '/api/v2/certificate/requestPaidCertificateIssuance', 'AdvancedCertificateRequest'],
  ['GET', '/api/v2/certificate/getPaidCertificates', 'ListAdvancedCertificates'],
  ['POST', '/api/v2/certificate/subscription/extend', 'SubscriptionExtend'],
  ['GET', '/api/v2/domain/domains', 'ListDomainValidations'],
  ['POST', '/api/v2/domain/domains', 'RegisterDomain'],
  ['DELETE', '/api/v2/domain/domains/:dmnId', 'DeleteDomain'],
  ['GET', '/api/v2/acme/accounts', 'ListEabCredentials'],
  ['POST', '/api/v2/acme/account', 'CreateEabCredential'],
  ['POST', '/api/v2/acme/account/:accountId/deactivate', 'DeactivateEabCredential'],
];

export function registerUnavailableRoutes(app: FastifyInstance, ctx: NcpContext): void {
  for (const [method, url, operation] of UNAVAILABLE_OPERATIONS) {
    const action: Action = method === 'GET' ? 'certificate.read' : 'certificate.write';
    app.route({
      method,
      url,
      onRequest: ctx.auth(action),
      handler: async () => {
        throw new NcpServiceError(
          {
            code: 'not_found',
            message: `${operation} is not available in this deployment: ${NOT_OFFERED}`,
          },
          UNAVAILABLE_OPERATION,
        );
      },
    });
  }
}
