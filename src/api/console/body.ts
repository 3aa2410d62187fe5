/**
 * Reading JSON request bodies and query strings: one small helper per shape, each refusing with
 * `invalid_argument` naming the field, so the browser can put the message next to it.
 */
import { AppError } from '../../domain/errors.ts';

export type Json = Record<string, unknown>;

export function objectBody(body: unknown): Json {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('invalid_argument', 'The request body must be a JSON object.');
  }
  return body as Json;
}

export function optionalString(source: Json, field: string, maxLength: number): string | undefined {
  const value = source[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new AppError('invalid_argument', `The ${field} must be text.`, { field });
  if (value.length > maxLength)
    throw new AppError('input_too_large', `The ${field} is ${value.length} characters; the limit is ${maxLength}.`, {
      field,
      details: { limit: maxLength, actual: value.length },
    });
  return value;
}

export function requiredString(source: Json, field: string, maxLength: number, label = field): string {
  const value = optionalString(source, field, maxLength);
  if (value === undefined || value.trim() === '')
    throw new AppError('invalid_argument', `Enter the ${label}.`, { field });
  return value;
}

export function oneOf<T extends string>(source: Json, field: string, allowed: readonly T[], fallback: T): T {
  const value = source[field];
  if (value === undefined || value === '') return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new AppError('invalid_argument', `The ${field} must be one of ${allowed.join(', ')}.`, { field });
}

export function positiveInt(source: Json, field: string, fallback: number, max: number): number {
  const value = source[field];
  if (value === undefined || value === '') return fallback;
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^[0-9]{1,15}$/.test(value)
        ? Number(value)
        : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max)
    throw new AppError('invalid_argument', `The ${field} must be a whole number from 1 to ${max}.`, { field });
  return n;
}

/** A certificate number from the path: another tenant's or a malformed one answers like a missing one. */
export function certificateNoParam(params: unknown): number {
  const raw = (params as { certificateNo?: string }).certificateNo ?? '';
  if (!/^[1-9][0-9]{0,14}$/.test(raw))
    throw new AppError('not_found', 'No such certificate.', { field: 'certificateNo' });
  return Number(raw);
}
