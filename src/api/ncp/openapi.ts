/**
 * What the NCP face adds to `GET /docs`: every path it serves, with the NCP operation name.
 * Request and response fields are documented by NCP itself and in docs/compat/ncp.md; this is the
 * index, not a copy.
 */
import type { OpenApiContribution } from '../../server/index.ts';
import { ISSUANCE_OPERATIONS } from './routes-issuance.ts';
import { LIFECYCLE_OPERATIONS } from './routes-lifecycle.ts';
import { UNAVAILABLE_OPERATIONS } from './routes-unavailable.ts';

const tags = ['ncp'];
const security = [{ ncpAccessKey: [], ncpTimestamp: [], ncpSignature: [] }];
const json = (description: string) => ({ description, content: { 'application/json': {} } });
const op = (summary: string, extra: Record<string, unknown> = {}) => ({
  tags,
  summary,
  security,
  responses: {
    200: json('NCP envelope: returnCode "0" on success, another code on a service error'),
    400: json('Input validation (2000, 2100) or gateway error 100'),
    401: json('Gateway error 200 or 210'),
  },
  ...extra,
});

const openApiPath = (path: string): string => path.replace(/:([A-Za-z]+)/g, '{$1}');

const unavailable: Record<string, Record<string, unknown>> = {};
for (const [method, path, operation] of UNAVAILABLE_OPERATIONS) {
  (unavailable[openApiPath(path)] ??= {})[method.toLowerCase()] = op(
    `${operation}: not available in this deployment (code 29001)`,
  );
}

const issuance: Record<string, Record<string, unknown>> = {};
for (const [method, path, operation] of [...ISSUANCE_OPERATIONS, ...LIFECYCLE_OPERATIONS]) {
  (issuance[openApiPath(path)] ??= {})[method.toLowerCase()] = op(
    operation === 'RegisterPrivateKey'
      ? `${operation}: the key of a certificate that has none (status 2); it must match`
      : `${operation}: certificate issuance through ACME (code 29001 while issuance is not configured)`,
  );
}

export const NCP_OPENAPI: OpenApiContribution = {
  paths: {
    '/api/v1/certificates': { get: op('getCertificateList (API 1.0)') },
    '/api/v1/certificate/withExternal': { post: op('createExternalCertificate (API 1.0)') },
    '/api/v1/certificate/{certificateNo}': { delete: op('deleteCertificate (API 1.0)') },
    '/api/v2/certificate/certificates': { get: op('ListCertificates') },
    '/api/v2/certificate/getCertificates': { get: op('ListCloudCertificates') },
    '/api/v2/certificate/certificateTypes': { get: op('ListCertificateTypes') },
    '/api/v2/certificate/withExternal': { post: op('RegisterExternalCertificate (certificateNo replaces in place)') },
    '/api/v2/certificate/exportCertificate/{certificateNo}/chain': { get: op('GetCertificateChain') },
    '/api/v2/certificate/exportCertificate/{certificateNo}': {
      post: op('DownloadCertificate: ZIP of certificate.pem, chain.pem, private_key.pem (audited)', {
        responses: {
          200: { description: 'The ZIP', content: { 'application/zip': {} } },
          401: json('Gateway error 200 or 210'),
        },
      }),
    },
    '/api/v2/certificate/deleteCertificate/{certificateNo}': { delete: op('DeleteCertificate') },
    '/api/v2/certificate/recentChanges': { get: op('ListRecentCertChanges') },
    ...issuance,
    ...unavailable,
  },
  components: {
    securitySchemes: {
      ncpAccessKey: { type: 'apiKey', in: 'header', name: 'x-ncp-iam-access-key' },
      ncpTimestamp: { type: 'apiKey', in: 'header', name: 'x-ncp-apigw-timestamp' },
      ncpSignature: {
        type: 'apiKey',
        in: 'header',
        name: 'x-ncp-apigw-signature-v2',
        description: 'Base64(HMAC-SHA256(secret, "METHOD URI\\nTIMESTAMP\\nACCESS_KEY")); -v1 is accepted too',
      },
    },
  },
};
