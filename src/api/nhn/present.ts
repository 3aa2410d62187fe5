/**
 * Domain → wire for the NHN face: the `{header, body}` envelope, list items per API version,
 * dates, and the download's Content-Disposition. Pure functions; no I/O.
 */
import type { CertificateSummary } from '../../domain/model.ts';
import { hasFourDigitYear, ymd } from '../civil-time.ts';
import type { NhnWire } from './errors.ts';
import { caNameOf } from '../../domain/x509/ca-name.ts';

export const NHN_VERSIONS = ['v1.0', 'v1.1', 'v1.2', 'v1.3'] as const;
export type NhnVersion = (typeof NHN_VERSIONS)[number];

export interface NhnHeader {
  resultCode: number;
  resultMessage: string;
  isSuccessful: boolean;
}

export interface NhnEnvelope<T> {
  header: NhnHeader;
  body: T;
}

export function success<T>(body: T): NhnEnvelope<T> {
  return { header: { resultCode: 0, resultMessage: 'SUCCESS', isSuccessful: true }, body };
}

export function failure(wire: NhnWire): NhnEnvelope<Record<string, never>> {
  return { header: { resultCode: wire.resultCode, resultMessage: wire.resultMessage, isSuccessful: false }, body: {} };
}

/** `yyyy-MM-dd` of an instant, in the API time zone (minutes east of UTC). */
export function formatDate(instant: Date, offsetMinutes: number): string {
  const shifted = instant.getTime() + offsetMinutes * 60_000;
  return hasFourDigitYear(shifted) ? ymd(shifted) : new Date(shifted).toISOString().slice(0, 10);
}

export interface NhnListItem {
  /** v1.3 only: the certificateNo, for `…/certificates/{certificateId}/certificate-files`. */
  certificateId?: number;
  certificateName: string;
  authority: string;
  /** v1.2 and v1.3. */
  domains?: string[];
  signatureAlgorithm: string;
  fileCreationDate: string;
  expirationDate: string;
}

export function listItem(certificate: CertificateSummary, version: NhnVersion, offsetMinutes: number): NhnListItem {
  const { facts } = certificate;
  return {
    ...(version === 'v1.3' ? { certificateId: certificate.certificateNo } : {}),
    certificateName: certificate.name,
    authority: caNameOf(facts),
    ...(version === 'v1.2' || version === 'v1.3' ? { domains: [...facts.domains] } : {}),
    signatureAlgorithm: facts.signatureAlgorithm,
    // The current file's date: first upload, or the last replacement (replace sets updatedAt).
    fileCreationDate: formatDate(certificate.updatedAt, offsetMinutes),
    expirationDate: formatDate(facts.notAfter, offsetMinutes),
  };
}

export interface NhnListBody {
  totalCount: number;
  totalPage: number;
  currentPage: number;
  pageSize: number;
  data: NhnListItem[];
}

// ---------------------------------------------------------------------------------------------
// Download file names

const MAX_FILE_NAME_LENGTH = 200;

/**
 * A file name safe to save under (`curl -OJ`, browsers): the last path segment only; no control
 * characters (C0, DEL, C1), no quotes or backslashes, no leading dots (no hidden files, no `..`),
 * at most 200 characters. Empty after that means `fallback`.
 */
export function sanitizeFileName(name: string, fallback: string): string {
  const base = name.split(/[/\\]/).pop() ?? '';
  const cleaned = Array.from(base.normalize('NFC'))
    // eslint-disable-next-line no-control-regex
    .map((c) => (/[\u0000-\u001f\u007f-\u009f"\\]/.test(c) ? '_' : c))
    .join('')
    .replace(/^[.\s]+/, '')
    .trim();
  const short = Array.from(cleaned).slice(0, MAX_FILE_NAME_LENGTH).join('');
  return short === '' ? fallback : short;
}

/**
 * `attachment; filename="…"` with a printable-ASCII fallback (non-ASCII and `%` become `_`), plus
 * RFC 5987 `filename*=UTF-8''…` when the name is not plain ASCII. `name` must already be sanitised.
 */
export function contentDisposition(name: string): string {
  const ascii = Array.from(name)
    .map((c) => (/^[\x20-\x7e]$/.test(c) && c !== '%' ? c : '_'))
    .join('');
  if (ascii === name) return `attachment; filename="${ascii}"`;
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
