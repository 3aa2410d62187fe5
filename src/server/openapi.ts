/**
 * `GET /docs/openapi.json`: one OpenAPI 3.1 document assembled from what each face contributes, so
 * a new face only adds its own paths. `GET /docs`: the same document as a readable HTML reference,
 * rendered here on the server once (docs-page.ts): no script, nothing fetched from a CDN.
 *
 * Contract: the document is built once, at `buildServer`. Two contributions may not define the
 * same path or the same component name: that throws at build time instead of one face silently
 * hiding the other's documentation.
 */
import type { FastifyInstance } from 'fastify';
import { DOCS_PAGE_HEADERS, DOCS_STYLESHEET, DOCS_STYLESHEET_PATH, renderDocsPage } from './docs-page.ts';

export interface OpenApiContribution {
  /** OpenAPI path items keyed by absolute path, e.g. `'/certificate-manager/v2/certificates'`. */
  paths: Record<string, unknown>;
  /** Component sections (`schemas`, `securitySchemes`, `responses`, …) keyed by name. */
  components?: Record<string, Record<string, unknown>>;
}

export interface OpenApiSource {
  name: string;
  openapi?: OpenApiContribution | undefined;
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  tags: Array<{ name: string }>;
  paths: Record<string, unknown>;
  components: Record<string, Record<string, unknown>>;
}

const statusResponse = (description: string, status: string) => ({
  description,
  content: {
    'application/json': { schema: { type: 'object', properties: { status: { const: status } }, required: ['status'] } },
  },
});

/** The server's own endpoints, documented like any face's. */
export const SERVER_OPENAPI: OpenApiContribution = {
  paths: {
    '/healthz': {
      get: { tags: ['server'], summary: 'Liveness: the process is up', responses: { 200: statusResponse('Up', 'ok') } },
    },
    '/readyz': {
      get: {
        tags: ['server'],
        summary: 'Readiness: the store answers',
        responses: {
          200: statusResponse('Ready', 'ok'),
          503: statusResponse('The store did not answer in time', 'unavailable'),
        },
      },
    },
    '/metrics': {
      get: {
        tags: ['server'],
        summary: 'Prometheus metrics',
        responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': {} } } },
      },
    },
    '/docs': {
      get: {
        tags: ['server'],
        summary: 'This API reference, as an HTML page',
        responses: { 200: { description: 'HTML', content: { 'text/html': {} } } },
      },
    },
    '/docs/openapi.json': {
      get: {
        tags: ['server'],
        summary: 'This OpenAPI document',
        responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': {} } } },
      },
    },
  },
};

export function buildOpenApi(sources: readonly OpenApiSource[], version: string): OpenApiDocument {
  const doc: OpenApiDocument = {
    openapi: '3.1.0',
    info: {
      title: 'certkeeper',
      version,
      description:
        'Self-hosted certificate manager speaking the NCP Certificate Manager, NCP Global Edge and NHN Cloud Certificate Manager APIs.',
    },
    tags: [],
    paths: {},
    components: {},
  };
  for (const source of sources) {
    if (!source.openapi) continue;
    doc.tags.push({ name: source.name });
    for (const [path, item] of Object.entries(source.openapi.paths)) {
      if (Object.hasOwn(doc.paths, path))
        throw new Error(`openapi: ${source.name} documents path ${path} that another face already documents`);
      doc.paths[path] = item;
    }
    for (const [section, entries] of Object.entries(source.openapi.components ?? {})) {
      const target = (doc.components[section] ??= {});
      for (const [name, value] of Object.entries(entries)) {
        if (Object.hasOwn(target, name))
          throw new Error(
            `openapi: ${source.name} defines components.${section}.${name} that another face already defines`,
          );
        target[name] = value;
      }
    }
  }
  return doc;
}

export function registerDocsRoute(app: FastifyInstance, doc: OpenApiDocument): void {
  const json = JSON.stringify(doc);
  const page = renderDocsPage(doc);
  app.get('/docs/openapi.json', async (_request, reply) => reply.type('application/json; charset=utf-8').send(json));
  app.get('/docs', async (_request, reply) =>
    reply.headers(DOCS_PAGE_HEADERS).type('text/html; charset=utf-8').send(page),
  );
  app.get(DOCS_STYLESHEET_PATH, async (_request, reply) =>
    reply.headers(DOCS_PAGE_HEADERS).type('text/css; charset=utf-8').send(DOCS_STYLESHEET),
  );
}
