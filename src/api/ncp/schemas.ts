/**
 * Request readers for the NCP face: query strings, path parameters and JSON bodies in, typed
 * values out, or an `AppError` that the error table renders as HTTP 400 with code 2100 (a field
 * missing, of the wrong type, repeated or out of range) or 2000 (the certificate name rule).
 * Every message names the wire field. Values are never echoed back: they may be huge or hostile.
 *
 * Leniency, as a Spring service behind the NCP gateway behaves (docs/compat/ncp.md):
 * - an empty query value (`?certificateNo=`) counts as not given; one with a control character is
 *   refused (2100);
 * - unknown query parameters and unknown body fields are ignored;
 * - an omitted or empty body counts as `{}`;
 * - an integer body field may be a JSON number or a string of digits (Jackson coerces both).
 */
import { AppError } from '../../domain/errors.ts';
import { own, typeName, type Fields } from '../ncp-gateway/fields.ts';
import { NCP_TEXT } from './errors.ts';

export { bodyFields, queryFields, type Fields } from '../ncp-gateway/fields.ts';

/** The NCP certificate name rule (reference §1.1, observed live). */
export const NAME_RULE = /^[A-Za-z][A-Za-z0-9-]{2,19}$/;
/** Longest name accepted in a filter: names from other faces may be longer than NCP's 20. */
export const FILTER_NAME_MAX = 255;
export const PAGE_SIZE_MAX = 1000;
const DIGITS = /^[0-9]{1,15}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

const invalid = (field: string, message: string): AppError => new AppError('invalid_argument', message, { field });

// ---------------------------------------------------------------------------------------------
// Query parameters and path parameters

/** A query string value; empty means not given. */
export function queryString(query: Fields, name: string, max = FILTER_NAME_MAX): string | undefined {
  const value = own(query, name);
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw invalid(name, `The query parameter ${name} may be given only once.`);
  if (value.length > max) throw invalid(name, `The query parameter ${name} is longer than ${max} characters.`);
  // No name holds a control character, and PostgreSQL refuses NUL in text outright.
  if (CONTROL.test(value)) throw invalid(name, `The query parameter ${name} may not contain control characters.`);
  return value;
}

function integerText(text: string, name: string, where: string, min: number, max: number): number {
  const value = DIGITS.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(name, `The ${where} ${name} must be an integer from ${min} to ${max}.`);
  }
  return value;
}

export function queryInteger(query: Fields, name: string, min = 1, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const text = queryString(query, name, 32);
  return text === undefined ? undefined : integerText(text, name, 'query parameter', min, max);
}

/** `{certificateNo}` in a path: a positive integer. */
export function pathCertificateNo(params: unknown): number {
  const value = params !== null && typeof params === 'object' ? own(params as Fields, 'certificateNo') : undefined;
  return integerText(
    typeof value === 'string' ? value : '',
    'certificateNo',
    'path parameter',
    1,
    Number.MAX_SAFE_INTEGER,
  );
}

export interface Paging {
  offset: number;
  limit: number;
}

/** `page` (from 1) and `pageSize` (1 to 1000); without them, the first 1000. */
export function paging(query: Fields): Paging {
  const page = queryInteger(query, 'page', 1, 1_000_000) ?? 1;
  const pageSize = queryInteger(query, 'pageSize', 1, PAGE_SIZE_MAX) ?? PAGE_SIZE_MAX;
  return { offset: (page - 1) * pageSize, limit: pageSize };
}

// ---------------------------------------------------------------------------------------------
// Body fields

/** A required string field. `allowEmpty` lets `""` through (the chain of a self-signed certificate). */
export function requiredString(body: Fields, name: string, options: { allowEmpty?: boolean } = {}): string {
  const value = own(body, name);
  if (value === undefined) throw invalid(name, `${name} is required.`);
  if (typeof value !== 'string') throw invalid(name, `${name} must be a string, not ${typeName(value)}.`);
  if (!options.allowEmpty && value.trim() === '') throw invalid(name, `${name} is required and may not be empty.`);
  return value;
}

/** An optional string field (`null` counts as absent). */
export function optionalString(body: Fields, name: string, max = 64): string | undefined {
  const value = own(body, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(name, `${name} must be a string, not ${typeName(value)}.`);
  if (value.length > max) throw invalid(name, `${name} is longer than ${max} characters.`);
  return value;
}

/** An optional positive integer field: a JSON integer or a string of digits; `null` counts as absent. */
export function optionalInteger(body: Fields, name: string): number | undefined {
  const value = own(body, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return value;
  if (typeof value === 'string' && value !== '') return integerText(value, name, 'field', 1, Number.MAX_SAFE_INTEGER);
  throw invalid(name, `${name} must be a positive integer.`);
}

/** `certificateName` of a new certificate: a string that keeps NCP's rule (code 2000). */
export function newCertificateName(body: Fields): string {
  const name = requiredString(body, 'certificateName', { allowEmpty: true });
  if (!NAME_RULE.test(name))
    throw new AppError('name_invalid', `certificateName ${NCP_TEXT.nameRule}.`, { field: 'name' });
  return name;
}

/** A required positive integer field: a JSON integer or a string of digits. */
export function requiredInteger(body: Fields, name: string): number {
  const value = optionalInteger(body, name);
  if (value === undefined) throw invalid(name, `${name} is required.`);
  return value;
}

/** A required integer field that may be 0 (RevokeCertificate's `certificateNo`: 0 means "the order's"). */
export function requiredIntegerOrZero(body: Fields, name: string): number {
  const value = own(body, name);
  if (value === 0 || value === '0') return 0;
  return requiredInteger(body, name);
}

/** An optional array of strings (`null` counts as absent); its items are checked by core. */
export function optionalStringArray(body: Fields, name: string): string[] | undefined {
  const value = own(body, name);
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalid(name, `${name} must be an array of strings, not ${typeName(value)}.`);
  const index = value.findIndex((item) => typeof item !== 'string');
  if (index !== -1)
    throw invalid(name, `${name}[${index}] must be a string, not ${typeName(value[index] as unknown)}.`);
  return value as string[];
}

/** A required field that must be one of `allowed` (a string, compared exactly). */
export function requiredChoice<T extends string>(body: Fields, name: string, allowed: readonly T[]): T {
  const value = requiredString(body, name);
  if (!(allowed as readonly string[]).includes(value))
    throw invalid(name, `${name} must be ${allowed.map((a) => JSON.stringify(a)).join(' or ')}.`);
  return value as T;
}
