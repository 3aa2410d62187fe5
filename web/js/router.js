/**
 * Hash routing: `#/certificates/12?x=y`. The server serves one page (index.html); every view is
 * a route here, so links are bookmarkable and the browser's back button works.
 */

/** @returns {{ path: string, params: URLSearchParams }} */
export function currentRoute() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path = '/', search = ''] = hash.split('?', 2);
  return { path: path.startsWith('/') ? path : `/${path}`, params: new URLSearchParams(search) };
}

/** @param {string} path @param {Record<string, unknown>} [params] */
export function href(path, params = {}) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return `#${path}${text ? `?${text}` : ''}`;
}

/** @param {string} path @param {Record<string, unknown>} [params] */
export function navigate(path, params) {
  const target = href(path, params);
  if (location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = target;
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
