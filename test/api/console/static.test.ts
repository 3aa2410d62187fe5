/**
 * The console's files: exactly the allow-list is served, each with its content type, ETag,
 * Cache-Control and the strict Content-Security-Policy; nothing else under web/ or elsewhere is
 * reachable; HTML loads nothing inline and nothing from another origin.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { WEB_FILES } from '../../../src/api/console/assets.ts';
import type { TestApp } from '../../helpers/app.ts';
import { startConsoleApp } from './helpers.ts';

const WEB = join(import.meta.dirname, '../../../web');

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(relative(WEB, path));
  }
  return out;
}

describe('console static files', () => {
  let app: TestApp;
  before(async () => {
    app = await startConsoleApp('sqlite');
  });
  after(() => app?.close());

  it('the allow-list is exactly the files in web/', async () => {
    assert.deepEqual([...WEB_FILES].sort(), (await filesUnder(WEB)).sort());
  });

  it('serves each file with its type, ETag, no-cache and the CSP; 304 on a matching ETag', async () => {
    for (const file of WEB_FILES) {
      const url = file === 'index.html' ? '/console/' : `/console/static/${file}`;
      const response = await fetch(`${app.baseUrl}${url}`);
      assert.equal(response.status, 200, url);
      const type = response.headers.get('content-type') ?? '';
      const expected = file.endsWith('.js')
        ? 'text/javascript; charset=utf-8'
        : file.endsWith('.css')
          ? 'text/css; charset=utf-8'
          : file.endsWith('.svg')
            ? 'image/svg+xml'
            : 'text/html; charset=utf-8';
      assert.equal(type, expected, url);
      assert.equal(response.headers.get('cache-control'), 'no-cache', url);
      assert.match(
        response.headers.get('content-security-policy') ?? '',
        /^default-src 'self'; script-src 'self'; style-src 'self';/,
      );
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(response.headers.get('x-frame-options'), 'DENY');
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), await readFile(join(WEB, file)), url);
      const etag = response.headers.get('etag') ?? '';
      const again = await fetch(`${app.baseUrl}${url}`, { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304, url);
    }
    assert.equal((await fetch(`${app.baseUrl}/console`)).status, 200);
  });

  it('serves nothing outside the allow-list, in the console envelope with the CSP', async () => {
    for (const path of [
      '/console/static/',
      '/console/static/js/',
      '/console/static/../package.json',
      '/console/static/%2e%2e/package.json',
      '/console/static/js/../../package.json',
      '/console/web/index.html',
      '/console/static/index.html',
      '/console/api/nope',
      '/console/static/js/main.ts',
    ]) {
      const response = await fetch(`${app.baseUrl}${path}`);
      assert.equal(response.status, 404, path);
      const body = (await response.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'not_found', path);
      assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'self'/, path);
    }
    const post = await fetch(`${app.baseUrl}/console/static/js/main.js`, { method: 'POST' });
    assert.equal(post.status, 404);
  });

  it('documents its API in GET /docs/openapi.json', async () => {
    const doc = (await (await fetch(`${app.baseUrl}/docs/openapi.json`)).json()) as { paths: Record<string, unknown> };
    for (const path of ['/console/api/session', '/console/api/certificates', '/console/api/edge/slots/{slotId}/tls'])
      assert.ok(doc.paths[path], path);
  });

  it('the page has no inline script or style and loads nothing from another origin', async () => {
    for (const file of WEB_FILES.filter((f) => f.endsWith('.html') || f.endsWith('.js') || f.endsWith('.css'))) {
      const text = await readFile(join(WEB, file), 'utf8');
      if (file.endsWith('.html')) {
        assert.doesNotMatch(text, /<script(?![^>]*\bsrc=)[^>]*>/, `${file}: inline script`);
        assert.doesNotMatch(text, /<style|\sstyle=|\son[a-z]+=/i, `${file}: inline style or handler`);
      }
      assert.doesNotMatch(text, /https?:\/\/(?!www\.w3\.org)/, `${file}: absolute URL to another origin`);
      assert.doesNotMatch(
        text,
        /\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/,
        `${file}: HTML string sink`,
      );
    }
  });
});
