import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildServer, type FacePlugin } from '../../src/server/index.ts';
import { buildOpenApi } from '../../src/server/openapi.ts';
import { fakeStore, fixedClock, testConfig } from './helpers.ts';

const plain = (status: number) => ({ status, body: { status } });
const face = (name: string, prefix: string, openapi?: FacePlugin['openapi']): FacePlugin => ({
  name,
  prefixes: [prefix],
  register: async () => {},
  renderError: () => plain(400),
  renderInternalError: () => plain(500),
  renderNotFound: () => plain(404),
  renderBodyTooLarge: () => plain(413),
  renderBadRequest: (_r, p) => plain(p.status),
  ...(openapi ? { openapi } : {}),
});

describe('GET /docs/openapi.json and GET /docs', () => {
  it('is one OpenAPI 3.1 document: the server endpoints plus every face contribution', async () => {
    const faces = [
      face('ncp-v2', '/ncp', {
        paths: { '/ncp/certificates': { get: { tags: ['ncp-v2'], responses: { 200: { description: 'list' } } } } },
        components: {
          securitySchemes: { ncpHmac: { type: 'apiKey', in: 'header', name: 'x-ncp-apigw-signature-v2' } },
        },
      }),
      face('nhn', '/nhn', { paths: { '/nhn/certificates': { get: { responses: { 200: { description: 'list' } } } } } }),
      face('silent', '/silent'),
    ];
    const app = await buildServer({
      config: testConfig({ logLevel: 'silent' }),
      store: fakeStore(),
      clock: fixedClock,
      faces,
      version: '1.2.3',
    });
    try {
      const res = await app.inject({ method: 'GET', url: '/docs/openapi.json' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      const doc = res.json() as {
        openapi: string;
        info: { version: string; title: string };
        paths: Record<string, unknown>;
        tags: unknown;
        components: Record<string, Record<string, unknown>>;
      };
      assert.equal(doc.openapi, '3.1.0');
      assert.equal(doc.info.title, 'certkeeper');
      assert.equal(doc.info.version, '1.2.3');
      assert.deepEqual(Object.keys(doc.paths), [
        '/healthz',
        '/readyz',
        '/metrics',
        '/docs',
        '/docs/openapi.json',
        '/ncp/certificates',
        '/nhn/certificates',
      ]);
      assert.deepEqual(doc.tags, [{ name: 'server' }, { name: 'ncp-v2' }, { name: 'nhn' }]);
      assert.deepEqual(Object.keys(doc.components.securitySchemes ?? {}), ['ncpHmac']);
    } finally {
      await app.close();
    }
  });

  it('renders the document as a readable HTML page: no script, escaped text, own stylesheet', async () => {
    const faces = [
      face('ncp-v2', '/ncp', {
        paths: {
          '/ncp/certificates/{certificateNo}': {
            get: {
              tags: ['ncp-v2'],
              summary: 'Get one <certificate> & "its" chain',
              parameters: [{ name: 'certificateNo', in: 'path', required: true, schema: { type: 'integer' } }],
              responses: { 200: { description: 'found', content: { 'application/json': {} } } },
            },
            post: {
              tags: ['ncp-v2'],
              requestBody: {
                content: { 'application/json': { schema: { $ref: '#/components/schemas/Upload' } } },
              },
              responses: { 201: { description: 'made' } },
            },
          },
        },
        components: { schemas: { Upload: { type: 'object', properties: { name: { type: 'string' } } } } },
      }),
    ];
    const app = await buildServer({
      config: testConfig({ logLevel: 'silent' }),
      store: fakeStore(),
      clock: fixedClock,
      faces,
      version: '4.5.6',
    });
    try {
      const res = await app.inject({ method: 'GET', url: '/docs' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/html; charset=utf-8/);
      const csp = String(res.headers['content-security-policy']);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /style-src 'self'/);
      const html = res.body;
      assert.equal(/<script|\sstyle=|\son[a-z]+=/i.test(html), false, 'no script, inline style or handler');
      assert.match(html, /Version 4\.5\.6/);
      assert.ok(html.includes('Get one &#60;certificate&#62; &#38; &#34;its&#34; chain'), 'summary escaped');
      assert.ok(html.includes('<span class="m m-get">get</span>/ncp/certificates/{certificateNo}'));
      assert.ok(html.includes('<td><code>certificateNo</code></td><td>path</td><td>yes</td><td>integer</td>'));
      assert.ok(html.includes('<a href="#components-schemas-Upload">#/components/schemas/Upload</a>'));
      assert.ok(html.includes('<h3 id="components-schemas-Upload">'));
      assert.ok(html.includes('<link rel="stylesheet" href="/docs/docs.css">'));
      const css = await app.inject({ method: 'GET', url: '/docs/docs.css' });
      assert.equal(css.statusCode, 200);
      assert.match(String(css.headers['content-type']), /^text\/css/);
    } finally {
      await app.close();
    }
  });

  it('refuses two faces documenting the same path', () => {
    const paths = { '/shared': { get: {} } };
    assert.throws(
      () =>
        buildOpenApi(
          [
            { name: 'a', openapi: { paths } },
            { name: 'b', openapi: { paths } },
          ],
          '0',
        ),
      /openapi: b documents path \/shared that another face already documents/,
    );
  });

  it('refuses two faces defining the same component', () => {
    const components = { schemas: { Certificate: { type: 'object' } } };
    assert.throws(
      () =>
        buildOpenApi(
          [
            { name: 'a', openapi: { paths: {}, components } },
            { name: 'b', openapi: { paths: {}, components } },
          ],
          '0',
        ),
      /components\.schemas\.Certificate/,
    );
  });
});
