/**
 * Hash routing: `#/certificates/12?x=y`. The server serves one page (index.html); every view is
 * a route here, so links are bookmarkable and the browser's back button works.
 */
import { query } from './api.js';

/** @returns {{ path: string, params: URLSearchParams }} */
export function currentRoute() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path = '/', search = ''] = hash.split('?', 2);
  return { path: path.startsWith('/') ? path : `/${path}`, params: new URLSearchParams(search) };
}

/** @param {string} path @param {Record<string, unknown>} [params] the non-empty ones go into the link */
export const href = (path, params = {}) => `#${path}${query(params)}`;

/** Shows a route; the current one is shown again, its page loading afresh. @param {string} path @param {Record<string, unknown>} [params] */
export function navigate(path, params) {
  const target = href(path, params);
  if (location.hash === target) showAgain();
  else location.hash = target;
}

/** Shows the current route again (main.js routes on every hashchange). */
export function showAgain() {
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

/**
 * Matches a path against patterns like `/certificates/:no`.
 * @param {string} pattern @param {string} path
 * @returns {Record<string, string> | null}
 */
export function match(pattern, path) {
  const a = pattern.split('/');
  const b = path.split('/');
  if (a.length !== b.length) return null;
  /** @type {Record<string, string>} */
  const out = {};
  for (let i = 0; i < a.length; i++) {
    const p = a[i] ?? '';
    const v = b[i] ?? '';
    if (p.startsWith(':')) {
      if (!v) return null;
      out[p.slice(1)] = decodeURIComponent(v);
    } else if (p !== v) return null;
  }
  return out;
}
