/**
 * The list query of `GET …/certificates`: `pageSize`, `pageNum`, `all`, `status`.
 *
 * - Absent or empty means the default: pageSize 10, pageNum 1, all false, status UNEXPIRED.
 * - `all` (`true`/`false`) and `status` (`ALL`/`EXPIRED`/`UNEXPIRED`) are case-insensitive.
 * - `pageSize` and `pageNum` are decimal integers ≥ 1 (a leading `+` and surrounding spaces are
 *   tolerated). Values that cannot mean a page (0, negative, fractional, not a number, repeated)
 *   are refused with 40000; a pageSize over 1000 is cut to 1000 (the body's `pageSize` says so); a
 *   pageNum past the last page answers an empty `data`; numbers past 2^53 − 1 saturate there.
 */
import type { ValidityFilter } from '../../core/ports.ts';
import { FACE_CODES, NhnWireError } from './errors.ts';

export const DEFAULT_PAGE_SIZE = 10;
export const MAX_PAGE_SIZE = 1000;
/** `all=true` answers every matching certificate in one page, up to this many; more is refused. */
export const MAX_ALL = 10_000;

export interface ListQuery {
  pageSize: number;
  pageNum: number;
  all: boolean;
  validity: ValidityFilter;
}

const STATUSES: Readonly<Record<string, ValidityFilter>> = { all: 'all', expired: 'expired', unexpired: 'unexpired' };

function invalid(message: string, field: string): NhnWireError {
  return new NhnWireError(
    'invalid_argument',
    { status: 400, resultCode: FACE_CODES.invalidParameter, resultMessage: message },
    { field },
  );
}

function single(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(`${name} is given more than once.`, name);
  return value === '' ? undefined : value;
}

function positiveInteger(query: Record<string, unknown>, name: string, fallback: number): number {
  const text = single(query, name);
  if (text === undefined) return fallback;
  const digits = /^\+?([0-9]{1,64})$/.exec(text.trim())?.[1];
  if (digits === undefined || Number(digits) < 1) throw invalid(`${name} must be an integer of at least 1.`, name);
  // Beyond 2^53 a number is past any real page end: it saturates instead of losing precision.
  return Math.min(Number(digits), Number.MAX_SAFE_INTEGER);
}

export function parseListQuery(query: Record<string, unknown>): ListQuery {
  const pageSize = Math.min(positiveInteger(query, 'pageSize', DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE);
  const pageNum = positiveInteger(query, 'pageNum', 1);
  const allText = single(query, 'all')?.toLowerCase();
  if (allText !== undefined && allText !== 'true' && allText !== 'false')
    throw invalid('all must be true or false.', 'all');
  const statusText = single(query, 'status');
  const validity = statusText === undefined ? 'unexpired' : STATUSES[statusText.toLowerCase()];
  if (validity === undefined) throw invalid('status must be ALL, EXPIRED or UNEXPIRED.', 'status');
  return { pageSize, pageNum, all: allText === 'true', validity };
}
