/**
 * What the Global Edge face adds to `GET /docs`: its paths, with the Global Edge operation
 * names. The security schemes are the NCP gateway's, defined by the NCP face's contribution.
 * Fields are documented by NCP and in docs/compat/edge.md.
 */
import type { OpenApiContribution } from '../../server/index.ts';

const tags = ['edge'];
const security = [{ ncpAccessKey: [], ncpTimestamp: [], ncpSignature: [] }];
const json = (description: string) => ({ description, content: { 'application/json': {} } });
const op = (summary: string) => ({
  tags,
  summary,
  security,
  responses: {
    200: json('{"code":"0000","message":"Success","result":…}'),
    400: json('0040 Field validation Error'),
    401: json('Gateway error 200 or 210'),
    403: json('0032 not allowed (slot state, no deployment target)'),
    500: json('9999 Unknown Error'),
  },
});

const BASE = '/api/v1/certificate/provisioning';

export const EDGE_OPENAPI: OpenApiContribution = {
  paths: {
    [BASE]: {
      get: op('Get certificate list (pageNo, offset = page size)'),
      post: op('Provision certificate (serviceRegion, cmCertificateIds, tlsVersion, cipherProfile)'),
    },
    [`${BASE}/{slotId}`]: {
      get: op('Get certificate (slot detail, deployment state)'),
      post: op('Add global certificate to slot (a Global Edge Dedicated certificate, KR_JP_GLOBAL slots): republishes'),
      put: op('Update certificate (cmCertificateId): republishes'),
      delete: op('Delete certificate (slot): DELETING, then DELETED'),
    },
    [`${BASE}/{slotId}/certificates`]: {
      delete: op('Delete global certificate (GLOBAL items of the slot): republishes'),
    },
    [`${BASE}/{slotId}/tls`]: { put: op('Set TLS version and cipher profile: republishes') },
  },
};
