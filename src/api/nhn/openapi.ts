/** What the NHN face adds to `GET /docs`. docs/compat/nhn.md is the full story. */
import type { OpenApiContribution } from '../../server/index.ts';
import { NHN_VERSIONS, type NhnVersion } from './present.ts';
import { TOKEN_PATH } from './tokens.ts';

const tags = ['nhn'];

const envelope = (body: unknown) => ({
  type: 'object',
  required: ['header', 'body'],
  properties: { header: { $ref: '#/components/schemas/NhnHeader' }, body },
});

const errorResponses = {
  400: {
    description: 'Refused input (52001–52007, 40000, 40001, 59xxx)',
    content: { 'application/json': { schema: envelope({ type: 'object' }) } },
  },
  401: {
    description: 'Not authenticated (40100–40106)',
    content: { 'application/json': { schema: envelope({ type: 'object' }) } },
  },
  403: {
    description: 'Role or appKey not allowed (40300, 40301)',
    content: { 'application/json': { schema: envelope({ type: 'object' }) } },
  },
  404: {
    description: 'No such certificate (52000, 52009) or API (40400)',
    content: { 'application/json': { schema: envelope({ type: 'object' }) } },
  },
};

function security(version: NhnVersion): Array<Record<string, string[]>> {
  if (version === 'v1.3') return [{ nhnBearer: [] }];
  if (version === 'v1.1') return [{ nhnAccessKeyId: [], nhnSecretAccessKey: [] }];
  return [];
}

const appKey = { name: 'appKey', in: 'path', required: true, schema: { type: 'string' } };
const certificateName = { name: 'certificateName', in: 'path', required: true, schema: { type: 'string' } };
const file = {
  description: 'The PEM file as uploaded',
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
};

function paths(version: NhnVersion): Record<string, unknown> {
  const root = `/certmanager/${version}/appkeys/{appKey}/certificates`;
  const auth = version === 'v1.0' || version === 'v1.2' ? ' (appKey alone; off unless the tenant enables it)' : '';
  const out: Record<string, unknown> = {
    [root]: {
      get: {
        tags,
        summary: `List certificates, ${version}${auth}`,
        security: security(version),
        parameters: [
          appKey,
          { name: 'pageSize', in: 'query', schema: { type: 'integer', minimum: 1, default: 10 } },
          { name: 'pageNum', in: 'query', schema: { type: 'integer', minimum: 1, default: 1 } },
          { name: 'all', in: 'query', schema: { type: 'string', enum: ['true', 'false'], default: 'false' } },
          {
            name: 'status',
            in: 'query',
            schema: { type: 'string', enum: ['ALL', 'EXPIRED', 'UNEXPIRED'], default: 'UNEXPIRED' },
          },
        ],
        responses: {
          200: {
            description: 'A page',
            content: { 'application/json': { schema: envelope({ $ref: '#/components/schemas/NhnCertificatePage' }) } },
          },
          ...errorResponses,
        },
      },
    },
    [`${root}/{certificateName}/files`]: {
      get: {
        tags,
        summary: `Download a certificate file by name, ${version}${auth}`,
        security: security(version),
        parameters: [appKey, certificateName],
        responses: { 200: file, ...errorResponses },
      },
      post: {
        tags,
        summary: `Upload or replace a certificate file (ADMIN), ${version}`,
        security: security(version),
        parameters: [appKey, certificateName],
        requestBody: {
          content: {
            'multipart/form-data': {
              schema: {
                type: 'object',
                required: ['file'],
                properties: { file: { type: 'string', format: 'binary' } },
              },
            },
          },
        },
        responses: {
          200: { description: 'Stored', content: { 'application/json': { schema: envelope({ type: 'null' }) } } },
          413: { description: '52008: over 524,288 bytes' },
          ...errorResponses,
        },
      },
    },
  };
  if (version === 'v1.3') {
    out[`${root}/{certificateId}/certificate-files`] = {
      get: {
        tags,
        summary: 'Download a certificate file by certificateId, v1.3',
        security: security(version),
        parameters: [appKey, { name: 'certificateId', in: 'path', required: true, schema: { type: 'integer' } }],
        responses: { 200: file, ...errorResponses },
      },
    };
  }
  return out;
}

export const NHN_OPENAPI: OpenApiContribution = {
  paths: {
    [TOKEN_PATH]: {
      post: {
        tags,
        summary: 'Issue a User Access Key token (OAuth 2.0 client credentials)',
        security: [{ nhnBasic: [] }],
        requestBody: {
          content: {
            'application/x-www-form-urlencoded': {
              schema: {
                type: 'object',
                required: ['grant_type'],
                properties: { grant_type: { const: 'client_credentials' } },
              },
            },
          },
        },
        responses: {
          200: {
            description: 'A token',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    access_token: { type: 'string' },
                    token_type: { const: 'Bearer' },
                    expires_in: { type: 'integer' },
                  },
                },
              },
            },
          },
          400: { description: 'invalid_request, unsupported_grant_type' },
          401: { description: 'invalid_client' },
        },
      },
    },
    ...Object.assign({}, ...NHN_VERSIONS.map(paths)),
  },
  components: {
    schemas: {
      NhnHeader: {
        type: 'object',
        required: ['resultCode', 'resultMessage', 'isSuccessful'],
        properties: {
          resultCode: { type: 'integer' },
          resultMessage: { type: 'string' },
          isSuccessful: { type: 'boolean' },
        },
      },
      NhnCertificatePage: {
        type: 'object',
        properties: {
          totalCount: { type: 'integer' },
          totalPage: { type: 'integer' },
          currentPage: { type: 'integer' },
          pageSize: { type: 'integer' },
          data: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                certificateId: { type: 'integer', description: 'v1.3' },
                certificateName: { type: 'string' },
                authority: { type: 'string' },
                domains: { type: 'array', items: { type: 'string' }, description: 'v1.2, v1.3' },
                signatureAlgorithm: { type: 'string' },
                fileCreationDate: { type: 'string', format: 'date' },
                expirationDate: { type: 'string', format: 'date' },
              },
            },
          },
        },
      },
    },
    securitySchemes: {
      nhnBearer: {
        type: 'apiKey',
        in: 'header',
        name: 'X-NHN-AUTHORIZATION',
        description: 'Bearer <token> from POST /oauth2/token/create',
      },
      nhnAccessKeyId: { type: 'apiKey', in: 'header', name: 'X-TC-AUTHENTICATION-ID' },
      nhnSecretAccessKey: { type: 'apiKey', in: 'header', name: 'X-TC-AUTHENTICATION-SECRET' },
      nhnBasic: { type: 'http', scheme: 'basic' },
    },
  },
};
