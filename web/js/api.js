/**
 * The console's only way to the server: JSON over fetch to /console/api, same origin, with the
 * session cookie (HttpOnly, the browser sends it) and, on every state change, the session's
 * CSRF token in X-CSRF-Token. Errors become ApiError with the server's message (written for
 * people) and, for form errors, the field it concerns. A request given an AbortSignal that is
 * aborted rejects with the signal's reason (an AbortError), never with an ApiError: the caller
 * has gone and shows nothing.
 *
 * The typedefs at the end are what the pages read of the server's answers
 * (src/api/console/present.ts, present-edge.ts, chain.ts). They are declared, not checked: the
 * JSON is taken as it comes.
 */

const BASE = '/console/api';
let csrfToken = '';
/** @type {(message: string) => void} */
let onSessionEnded = () => {};

export class ApiError extends Error {
  /**
   * @param {number} status @param {string} code @param {string} message @param {string | undefined} field
   * @param {Array<{ code: string, message: string, field?: string }>} [errors] every field's problem
   *   when the request had several (the first is this error's own)
   */
  constructor(status, code, message, field, errors = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.errors = errors;
    /** @type {Array<{ field: string, message: string, index?: number }> | undefined} every field's error (issuance request) */
    this.fields = undefined;
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
 * @param {{ raw?: boolean, signal?: AbortSignal }} [options] raw: return the Response (downloads);
 *   signal: aborts the request
 * @returns {Promise<any>} the parsed JSON (null for 204), or the Response when raw
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
      signal: options.signal ?? null,
    });
  } catch {
    if (options.signal?.aborted) throw options.signal.reason;
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
    Array.isArray(error.errors) ? error.errors : [],
  );
  if (Array.isArray(error.fields)) failure.fields = error.fields;
  if (response.status === 401 && path !== '/session') onSessionEnded(failure.message);
  throw failure;
}

/** @param {string} path @param {AbortSignal} [signal] */
export const get = (path, signal) => request('GET', path, undefined, signal ? { signal } : {});
/** @param {string} path @param {unknown} [body] */
export const post = (path, body) => request('POST', path, body ?? {});
/** @param {string} path */
export const del = (path) => request('DELETE', path);

/**
 * A query string of the non-empty values (`?a=1&b=x`, or '' when there are none): for API paths
 * and for the console's own routes (router.js).
 * @param {Record<string, unknown>} params
 */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

/**
 * @typedef {'VALID' | 'EXPIRED' | 'NOT_YET_VALID'} CertificateStatus
 * @typedef {{ id: number, at: string, actor: string, action: string, target: string,
 *   result: 'success' | 'failure', remoteAddress: string | null, detail: Record<string, unknown> }} AuditEvent
 * @typedef {{ certificateNo: number, name: string, type: string, origin: string,
 *   status: CertificateStatus, commonName: string | null, domains: string[], caName: string | null,
 *   key: string, notBefore: string, notAfter: string, daysToExpiry: number, hasPrivateKey: boolean,
 *   hasChain: boolean, createdAt: string, updatedAt: string }} CertificateSummary
 * @typedef {{ subjectDn: string, commonName: string | null,
 *   sans: { dns: string[], ip: string[], email: string[], uri: string[] }, domains: string[],
 *   issuerDn: string, issuerCommonName: string | null, caName: string | null, serialNumber: string,
 *   notBefore: string, notAfter: string, key: { text: string }, signatureAlgorithm: string,
 *   signatureAlgorithmOid: string, publicKeyInfo: string, fingerprintSha256: string,
 *   publicKeyFingerprintSha256: string, keyUsage: string[], extendedKeyUsage: string[], isCa: boolean,
 *   selfSigned: boolean }} CertificateFacts
 * @typedef {{ role: 'root' | 'intermediate' | 'leaf', subjectDn: string, commonName: string | null,
 *   issuerDn: string, notBefore: string, notAfter: string, status: CertificateStatus, key: string,
 *   signatureAlgorithm: string }} ChainLevel
 * @typedef {{ origin: string | null, at: string }} ProvenanceStep
 * @typedef {CertificateSummary & { fileName: string | null, facts: CertificateFacts,
 *   chain: { levels: ChainLevel[], complete: boolean }, usedBy: number[],
 *   provenance: { imported: ProvenanceStep | null, lastReplaced: ProvenanceStep | null } }} CertificateDetail
 * @typedef {{ total: number, page: number, pageSize: number, pages: number }} Paging
 * @typedef {Paging & { items: CertificateSummary[], totalExact: boolean, next: string | null }} CertificatePage
 * @typedef {{ items: AuditEvent[], next: number | null }} HistoryPage
 * @typedef {{ asOf: string, counts: { total: number, valid: number, expired: number, notYetValid: number },
 *   expiring: Array<{ days: number, count: number }>, soonest: CertificateSummary[], recent: AuditEvent[],
 *   actors: Record<string, { role: string, description: string, revoked: boolean }> }} Dashboard
 * @typedef {{ name: string, facts: CertificateFacts, chainLength: number, chainRepaired: boolean,
 *   hasPrivateKey: boolean }} ImportCheck
 * @typedef {{ accessKey: string, role: string, description: string, createdAt: string,
 *   revokedAt: string | null, current: boolean }} Credential
 * @typedef {{ slotId: number, serviceRegion: string, status: string, pending: boolean, tlsVersion: string,
 *   tlsProtocols: string[], cipherProfile: string, targetKind: string | null, onTarget: string,
 *   items: Array<{ itemId: number, region: string, certificateNo: number,
 *     certificate: { name: string, status: CertificateStatus, commonName: string | null, notAfter: string } | null }>,
 *   deployment: { generation: number, deployedGeneration: number, attempts: number, lastError: string | null,
 *     lastErrorAt: string | null, nextAttemptAt: string | null },
 *   createdAt: string, provisionedAt: string, updatedAt: string, deletedAt: string | null,
 *   targetDirectory?: string | null, targetAlias?: string | null }} Slot
 *   The detail answer also carries `targetDirectory`: where a directory target puts its files, and
 *   `targetAlias`: the same folder by the certificate's name (null when the name allows none).
 * @typedef {{ kind: 'directory', path: string, reloadCommand: string | null, reloadTimeoutMs: number,
 *   files: Array<{ path: string, mode: string, holds: string }>, updatedAt: string }
 *   | { kind: 'webhook', origin: string, updatedAt: string }} DeployTargetView
 *   The tenant's deployment target (a directory in full, a webhook by its origin).
 * @typedef {{ target: DeployTargetView | null,
 *   lastDeployment: { slotId: number | null, action: 'publish' | 'remove', result: string, at: string } | null,
 *   edit: { switchedOn: boolean, allowed: boolean, variable: string }, command: string | null }} DeployTargetPage
 *   GET /deploy-target: the target, the worker's last deployment to it, whether this session may
 *   change it (the server's CERTKEEPER_CONSOLE_TARGET_EDIT and the role), the equivalent CLI command.
 * @typedef {Paging & { items: Slot[], targetKind: string | null, target: DeployTargetView | null }} SlotPage
 * @typedef {{ version: number, current: boolean, commonName: string | null, serialNumber: string,
 *   fingerprintSha256: string, notBefore: string, notAfter: string, hasPrivateKey: boolean, hasChain: boolean,
 *   currentSince: string, replacedAt: string | null, replacedBy: string | null }} CertificateVersionItem
 * @typedef {{ certificateNo: number, currentVersion: number, items: CertificateVersionItem[] }} VersionList
 */
