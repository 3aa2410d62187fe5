/**
 * The window of ListRecentCertChanges: exactly one of `minutes` (1–10080), `seconds` (1–604800),
 * or `startDateTime` with `endDateTime` (at most 7 days apart, start not after end). A value that
 * is not a number or a date-time is 2100 (HTTP 400); a window that is missing, doubled, half given
 * or out of range is 2101 (HTTP 200), as NCP answers an absent window.
 *
 * The window includes both ends: changes at `now` (or at `endDateTime`) are listed.
 */
import { AppError } from '../../domain/errors.ts';
import { parseNcpDateTime, type ApiZone } from './dates.ts';
import { windowError } from './errors.ts';
import { queryString, type Fields } from './schemas.ts';

export const MAX_MINUTES = 10_080;
export const MAX_SECONDS = 604_800;
const MAX_SPAN_MS = MAX_SECONDS * 1000;
const SIGNED_DIGITS = /^-?[0-9]{1,15}$/;

function signedInteger(query: Fields, name: string): number | undefined {
  const text = queryString(query, name, 32);
  if (text === undefined) return undefined;
  if (!SIGNED_DIGITS.test(text))
    throw new AppError('invalid_argument', `The query parameter ${name} must be an integer.`, { field: name });
  return Number(text);
}

function dateTime(query: Fields, name: string, zone: ApiZone): Date | undefined {
  const text = queryString(query, name, 64);
  if (text === undefined) return undefined;
  const date = parseNcpDateTime(text, zone);
  if (!date) {
    throw new AppError(
      'invalid_argument',
      `The query parameter ${name} must be a date-time written yyyy-MM-dd HH:mm:ss (in UTC${zone.label}, or followed by (UTC±HH:MM)), or ISO 8601 with a zone.`,
      { field: name },
    );
  }
  return date;
}

/** [from, to) for the store's `changedBetween`. */
export function recentWindow(query: Fields, now: Date, zone: ApiZone): { from: Date; to: Date } {
  const minutes = signedInteger(query, 'minutes');
  const seconds = signedInteger(query, 'seconds');
  const start = dateTime(query, 'startDateTime', zone);
  const end = dateTime(query, 'endDateTime', zone);
  const given = [minutes !== undefined, seconds !== undefined, start !== undefined || end !== undefined].filter(
    Boolean,
  ).length;
  if (given !== 1) throw windowError('Give exactly one window: minutes, seconds, or startDateTime with endDateTime.');
  const to = new Date(now.getTime() + 1);
  if (minutes !== undefined) {
    if (minutes < 1 || minutes > MAX_MINUTES) throw windowError(`minutes must be from 1 to ${MAX_MINUTES}.`);
    return { from: new Date(now.getTime() - minutes * 60_000), to };
  }
  if (seconds !== undefined) {
    if (seconds < 1 || seconds > MAX_SECONDS) throw windowError(`seconds must be from 1 to ${MAX_SECONDS}.`);
    return { from: new Date(now.getTime() - seconds * 1000), to };
  }
  if (start === undefined || end === undefined)
    throw windowError('startDateTime and endDateTime must be given together.');
  if (start.getTime() > end.getTime()) throw windowError('startDateTime must not be after endDateTime.');
  if (end.getTime() - start.getTime() > MAX_SPAN_MS)
    throw windowError('startDateTime and endDateTime may be at most 7 days (604800 seconds) apart.');
  return { from: start, to: new Date(end.getTime() + 1) };
}
