/** What the console face adds to `GET /docs`: its JSON API (docs/console.md is the full story). */
import type { OpenApiContribution } from '../../server/index.ts';

const tags = ['console'];
const json = (description: string) => ({ description, content: { 'application/json': {} } });
const pem = (description: string) => ({ description, content: { 'application/x-pem-file': {} } });
const errors = {
  400: {
    description: 'Refused input; `field` names the input to fix',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/ConsoleError' } } },
  },
  401: {
    description: 'No valid session',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/ConsoleError' } } },
  },
  403: {
    description: 'Role not allowed, CSRF token missing or wrong, or a cross-site request',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/ConsoleError' } } },
  },
};
const session = [{ consoleSession: [] }];
const write = [{ consoleSession: [], consoleCsrf: [] }];
const op = (summary: string, ok: unknown, security: unknown = session) => ({
  tags,
  summary,
  security,
  responses: { 200: ok, ...errors },
});
const no = { name: 'certificateNo', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } };
const slotId = { name: 'slotId', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } };
const withParams = (operation: Record<string, unknown>, parameters: unknown[]) => ({ ...operation, parameters });

export const CONSOLE_OPENAPI: OpenApiContribution = {
  paths: {
    '/console': {
      get: {
        tags,
        summary: 'The web console (HTML)',
        responses: { 200: { description: 'The page', content: { 'text/html': {} } } },
      },
    },
    '/console/api/session': {
      post: {
        tags,
        summary: 'Log in with an access key and secret key; sets the session cookie (throttled: 429 with Retry-After)',
        responses: { 200: json('The session, with its CSRF token'), 429: json('Too many failed logins'), ...errors },
      },
      get: op('The current session', json('The session')),
      delete: op('Log out', { description: 'Logged out' }, write),
    },
    '/console/api/dashboard': {
      get: op('Counts by status, expiry windows, soonest, recent changes', json('The dashboard')),
    },
    '/console/api/certificates/{certificateNo}/replace': {
      post: withParams(
        op(
          'Replace in place (the import body; name = the current name); the old version is kept',
          json('The certificate'),
          write,
        ),
        [no],
      ),
    },
    '/console/api/certificates/{certificateNo}/versions': {
      get: withParams(op('The current and the replaced versions, newest first', json('The versions')), [no]),
    },
    '/console/api/certificates/{certificateNo}/versions/{version}/files/{part}': {
      get: withParams(op('Download one version: certificate or fullchain', pem('PEM file')), [
        no,
        { name: 'version', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } },
        { name: 'part', in: 'path', required: true, schema: { enum: ['certificate', 'fullchain'] } },
      ]),
    },
    '/console/api/certificates/{certificateNo}/versions/{version}/private-key': {
      post: withParams(op('Download the private key of one version (ADMIN; audited)', pem('PEM file'), write), [
        no,
        { name: 'version', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } },
      ]),
    },
    '/console/api/deleted-certificates': {
      get: withParams(op('Recently deleted, recoverable certificates, newest deletion first', json('A page')), [
        { name: 'page', in: 'query', schema: { type: 'integer', minimum: 1 } },
        { name: 'pageSize', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 } },
      ]),
    },
    '/console/api/certificates/{certificateNo}/restore': {
      post: withParams(op('Restore a deleted certificate', json('The certificate'), write), [no]),
    },
    '/console/api/certificates/{certificateNo}/purge': {
      post: withParams(op('Purge a deleted certificate now', { description: 'Purged' }, write), [no]),
    },
    '/console/api/certificates': {
      get: withParams(
        op(
          'Search (q: a host, *.zone, an IP or text; docs/search.md), filter, sort and page certificates',
          json('A page with its total (exact unless totalExact is false) and the next keyset cursor'),
        ),
        [
          ...['q', 'name', 'domain', 'keyType', 'issuer', 'expiresFrom', 'expiresTo', 'cursor'].map((name) => ({
            name,
            in: 'query',
            schema: { type: 'string' },
          })),
          { name: 'expiresWithin', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 3650 } },
          { name: 'status', in: 'query', schema: { enum: ['all', 'unexpired', 'expired'] } },
          { name: 'type', in: 'query', schema: { enum: ['all', 'EXT'] } },
          { name: 'sort', in: 'query', schema: { enum: ['notAfter', 'name', 'createdAt', 'certificateNo'] } },
          { name: 'order', in: 'query', schema: { enum: ['asc', 'desc'] } },
          { name: 'page', in: 'query', schema: { type: 'integer', minimum: 1 } },
          { name: 'pageSize', in: 'query', schema: { enum: [10, 25, 50, 100] } },
        ],
      ),
      post: op('Import PEM, DER or PKCS#12 (converted, then the import ladder)', json('The certificate'), write),
    },
    '/console/api/certificates/validate': {
      post: op('Validate an import without storing it', json('What would be imported'), write),
    },
    '/console/api/certificates/{certificateNo}': {
      get: withParams(op('Every fact, the chain, where it is used', json('The certificate')), [no]),
      delete: withParams(op('Delete (refused while in use)', { description: 'Deleted' }, write), [
        no,
        { name: 'name', in: 'query', schema: { type: 'string' } },
      ]),
    },
    '/console/api/certificates/{certificateNo}/history': {
      get: withParams(op('Audit events of the certificate', json('A page of events')), [no]),
    },
    '/console/api/certificates/{certificateNo}/files/{part}': {
      get: withParams(
        op('Download the certificate, chain or full bundle (PEM), or the certificate as DER', pem('PEM')),
        [
          no,
          {
            name: 'part',
            in: 'path',
            required: true,
            schema: { enum: ['certificate', 'chain', 'fullchain', 'certificate.der'] },
          },
        ],
      ),
    },
    '/console/api/certificates/{certificateNo}/private-key': {
      post: withParams(
        op('Download the private key, PEM or {"format":"der"} PKCS#8 DER (ADMIN, audited)', pem('PEM'), write),
        [no],
      ),
    },
    '/console/api/certificates/{certificateNo}/pkcs12': {
      post: withParams(
        op(
          'Download a PKCS#12 file: {"passphrase", "legacy"?, "includeKey"?} (with the key: ADMIN, audited)',
          { description: 'PKCS#12', content: { 'application/x-pkcs12': {} } },
          write,
        ),
        [no],
      ),
    },
    '/console/api/credentials': {
      get: op('Access keys of the tenant (ADMIN)', json('The keys')),
      post: op('Create an access key; the secret is in this answer only', json('The key and its secret'), write),
    },
    '/console/api/credentials/{accessKey}': {
      delete: withParams(op('Revoke an access key', { description: 'Revoked' }, write), [
        { name: 'accessKey', in: 'path', required: true, schema: { type: 'string' } },
      ]),
    },
    '/console/api/edge/slots': {
      get: op('Edge slots with their status', json('A page of slots')),
      post: op('Provision a certificate to a new slot', json('The slot'), write),
    },
    '/console/api/edge/slots/{slotId}': {
      get: withParams(op('One slot', json('The slot')), [slotId]),
      delete: withParams(op('Delete the slot', json('The slot, DELETING'), write), [slotId]),
    },
    '/console/api/edge/slots/{slotId}/certificate': {
      put: withParams(op('Publish another certificate', json('The slot'), write), [slotId]),
    },
    '/console/api/edge/slots/{slotId}/tls': {
      put: withParams(op('Change TLS versions and cipher profile', json('The slot'), write), [slotId]),
    },
    '/console/api/issuance': {
      get: op('Whether issuance is configured, its validation methods and key types', json('The settings')),
    },
    '/console/api/issuance/orders': {
      get: withParams(op('Certificate orders, newest first', json('A page of orders')), [
        { name: 'page', in: 'query', schema: { type: 'integer', minimum: 1 } },
      ]),
      post: op(
        'Request a certificate (every field error at once in error.fields)',
        json('The order and its records'),
        write,
      ),
    },
    '/console/api/issuance/orders/{orderId}': {
      get: withParams(op('An order and the CNAME records to create, with each domain state', json('The order')), [
        { name: 'orderId', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } },
      ]),
    },
    '/console/api/certificates/{certificateNo}/issuance': {
      get: withParams(op('Order history and renewal of a certificate issued here', json('The history')), [no]),
    },
    '/console/api/certificates/{certificateNo}/renewal': {
      put: withParams(op('Turn automatic renewal on or off', json('The renewal setting'), write), [no]),
    },
  },
  components: {
    schemas: {
      ConsoleError: {
        type: 'object',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } },
          },
        },
      },
    },
    securitySchemes: {
      consoleSession: { type: 'apiKey', in: 'cookie', name: 'ck_console', description: '`__Host-ck_console` over TLS' },
      consoleCsrf: {
        type: 'apiKey',
        in: 'header',
        name: 'X-CSRF-Token',
        description: 'The csrfToken of the session; state changes also need a same-origin Origin/Sec-Fetch-Site',
      },
    },
  },
};
