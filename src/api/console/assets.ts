/**
 * The console's static files: a fixed allow-list, nothing else under web/ is ever served (no
 * directory listing, no path taken from the URL). Each file is read once when the face starts
 * (a missing one stops the start with its name) and served from memory with its content type,
 * a strong ETag and `Cache-Control: no-cache` (the browser revalidates, a 304 costs nothing;
 * file names carry no version, so nothing may be cached blindly).
 *
 * `web/index.html` is served at `/console` and `/console/`; every other file at
 * `/console/static/<path under web/>`.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export const WEB_ROOT = new URL('../../../web/', import.meta.url);

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Every file the console serves, relative to web/. Adding a file to web/ means adding it here. */
export const WEB_FILES = [
  'index.html',
  'styles.css',
  'favicon.svg',
  'js/main.js',
  'js/api.js',
  'js/dom.js',
  'js/router.js',
  'js/format.js',
  'js/dialog.js',
  'js/layout.js',
  'js/download.js',
  'js/pages/login.js',
  'js/pages/issuance.js',
  'js/pages/dashboard.js',
  'js/pages/certificates.js',
  'js/pages/certificate.js',
  'js/pages/import.js',
  'js/pages/credentials.js',
  'js/pages/edge.js',
  'js/pages/notifications.js',
  'js/pages/replace.js',
  'js/pages/deleted.js',
] as const;

export interface Asset {
  /** URL path the file is served at. */
  path: string;
  type: string;
  etag: string;
  bytes: Buffer;
}

const typeOf = (file: string): string => {
  const type = TYPES[file.slice(file.lastIndexOf('.'))];
  if (!type) throw new Error(`console: no content type for web/${file}`);
  return type;
};

export async function loadAssets(root: URL = WEB_ROOT): Promise<Asset[]> {
  const assets: Asset[] = [];
  for (const file of WEB_FILES) {
    let bytes: Buffer;
    try {
      bytes = await readFile(new URL(file, root));
    } catch (cause) {
      throw new Error(`console: cannot read web/${file}; the console's files must ship with certkeeper`, { cause });
    }
    const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 32)}"`;
    const paths = file === 'index.html' ? ['/console', '/console/'] : [`/console/static/${file}`];
    for (const path of paths) assets.push({ path, type: typeOf(file), etag, bytes });
  }
  return assets;
}
