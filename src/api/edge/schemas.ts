/**
 * Request readers for the Global Edge face: query strings, path parameters and JSON bodies in,
 * typed values out, or an AppError the error table renders as `0040` (HTTP 400). Messages name
 * the wire field and never echo the value (it may be huge or hostile).
 *
 * Leniency (a Spring service behind the NCP gateway, as for the NCP face):
 * - unknown query parameters and body fields are ignored; an omitted or empty body is `{}`;
 * - an id may be a JSON integer or a string of digits (Jackson coerces both to Long);
 * - an empty query value (`?pageNo=`) counts as not given.
 * Strict: enum values are case-sensitive and exact; arrays hold no duplicates.
 */
import { AppError } from '../../domain/errors.ts';
import { gatewayNotFound } from '../ncp-gateway/errors.ts';
import { own, typeName, type Fields } from '../ncp-gateway/fields.ts';
import { EdgeReplyError } from './errors.ts';

export { bodyFields, queryFields, type Fields } from '../ncp-gateway/fields.ts';

/** Largest page (the wire's `offset`, the page size here). */
export const PAGE_SIZE_MAX = 1000;
export const PAGE_SIZE_DEFAULT = 15;
export const PAGE_NO_MAX = 1_000_000;
/** Most ids one request may name (a slot holds at most two certificates). */
export const IDS_MAX = 10;
const DIGITS = /^[0-9]{1,15}$/;

const invalid = (field: string, message: string): AppError => new AppError('invalid_argument', message, { field });

/** A positive integer id: a JSON integer or a string of digits, 1 to 15 digits. */
function idValue(value: unknown, name: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value < 1e15) return value;
  if (typeof value === 'string' && DIGITS.test(value) && Number(value) >= 1) return Number(value);
  throw invalid(name, `${name} must be a positive integer.`);
}

export function requiredId(body: Fields, name: string): number {
  const value = own(body, name);
  if (value === undefined || value === null) throw invalid(name, `${name} is required.`);
  return idValue(value, name);
}

/** A required, non-empty array of distinct positive integer ids, at most IDS_MAX. */
export function requiredIds(body: Fields, name: string): number[] {
  const value = own(body, name);
  if (value === undefined || value === null) throw invalid(name, `${name} is required.`);
  if (!Array.isArray(value)) throw invalid(name, `${name} must be an array of ids, not ${typeName(value)}.`);
  if (value.length === 0) throw invalid(name, `${name} may not be empty.`);
  if (value.length > IDS_MAX) throw invalid(name, `${name} may hold at most ${IDS_MAX} ids.`);
  const ids = value.map((item) => idValue(item, `${name}[]`));
  if (new Set(ids).size !== ids.length) throw invalid(name, `${name} names the same id twice.`);
  return ids;
}

/** A required string field that must be one of `values`, exactly. */
export function requiredEnum<T extends string>(body: Fields, name: string, values: readonly T[]): T {
  const value = own(body, name);
  if (value === undefined || value === null || value === '') throw invalid(name, `${name} is required.`);
  if (typeof value !== 'string') throw invalid(name, `${name} must be a string, not ${typeName(value)}.`);
  if (!(values as readonly string[]).includes(value))
    throw invalid(name, `${name} must be one of ${values.join(', ')}.`);
  return value as T;
}

function queryInteger(query: Fields, name: string, min: number, max: number): number | undefined {
  const value = own(query, name);
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw invalid(name, `The query parameter ${name} may be given only once.`);
  if (!/^[0-9]{1,10}$/.test(value) || Number(value) < min || Number(value) > max)
    throw invalid(name, `The query parameter ${name} must be an integer from ${min} to ${max}.`);
  return Number(value);
}

export interface EdgePaging {
  /** The page as echoed back: `pageNo` 0 is page 1. */
  pageNo: number;
  /** Rows per page. The wire calls it `offset`; that name stops here and in the presenter. */
  pageSize: number;
  /** The rows of the page, as core's list takes them (`offset`: rows to skip). */
  rows: { offset: number; limit: number };
}

/** `pageNo` (0 to 1,000,000; 0 and 1 are the first page; default 1), `offset` (page size 1 to 1000, default 15). */
export function paging(query: Fields): EdgePaging {
  const pageNo = Math.max(queryInteger(query, 'pageNo', 0, PAGE_NO_MAX) ?? 1, 1);
  const pageSize = queryInteger(query, 'offset', 1, PAGE_SIZE_MAX) ?? PAGE_SIZE_DEFAULT;
  return { pageNo, pageSize, rows: { offset: (pageNo - 1) * pageSize, limit: pageSize } };
}

/** `{slotId}` in a path: a positive integer; an empty one is no route (gateway 300). */
export function pathSlotId(params: unknown): number {
  const value = params !== null && typeof params === 'object' ? own(params as Fields, 'slotId') : undefined;
  if (value === undefined || value === '') throw new EdgeReplyError('empty slotId', gatewayNotFound());
  if (typeof value !== 'string' || !DIGITS.test(value) || Number(value) < 1)
    throw invalid('slotId', 'The path parameter slotId must be a positive integer.');
  return Number(value);
}
