/**
 * The console's only way to the server: JSON over fetch to /console/api, same origin, with the
 * session cookie (HttpOnly, the browser sends it) and, on every state change, the session's
 * CSRF token in X-CSRF-Token. Errors become ApiError with the server's message (written for
 * people) and, for form errors, the field it concerns.
 */

const BASE = '/console/api';
let csrfToken = '';
/** @type {(message: string) => void} */
let onSessionEnded = () => {};

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message @param {string | undefined} field */
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** @param {string} token */
export function setCsrfToken(token) {
  csrfToken = token;
}

/** Called with the server's words when a request finds the session gone. @param {(message: string) => void} handler */
export function whenSessionEnds(handler) {
  onSessionEnded = handler;
}

/**
 * @param {'GET'|'POST'|'PUT'|'PATCH'|'DELETE'} method
 * @param {string} path under /console/api
 * @param {unknown} [body]
 * @param {{ raw?: boolean }} [options] raw: return the Response (downloads)
 */
export async function request(method, path, body, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      redirect: 'error',
    });
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached. Check your connection and try again.', undefined);
  }
  if (response.ok) {
    if (options.raw) return response;
    return response.status === 204 ? null : response.json();
  }
  const data = await response.json().catch(() => null);
  const error = data && typeof data === 'object' && data.error ? data.error : {};
  const failure = new ApiError(
    response.status,
    error.code ?? `http_${response.status}`,
    error.message ?? `The server answered ${response.status}.`,
    error.field,
  );
  if (response.status === 401 && path !== '/session') onSessionEnded(failure.message);
  throw failure;
}

export const get = (/** @type {string} */ path) => request('GET', path);
export const post = (/** @type {string} */ path, /** @type {unknown} */ body) => request('POST', path, body ?? {});
export const del = (/** @type {string} */ path) => request('DELETE', path);

/** Builds a query string from the non-empty values. @param {Record<string, unknown>} params */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
