/**
 * The calendar date and time of day of an instant (UTC, proleptic Gregorian), by arithmetic,
 * as the faces print them.
 *
 * `Date#toISOString()` costs about 0.5 µs here, and list pages print two to four dates per item
 * (100 items on an NCP v2 page: about 200 µs a request went to it). The arithmetic below
 * (days to civil date, after Howard Hinnant's `civil_from_days`) costs under 0.1 µs.
 *
 * Contract: for every instant of years 0–9999 (`FOUR_DIGIT_YEARS`), `ymd` and `hms` are exactly
 * the date and time parts of `toISOString()` (tested against it); callers keep their own
 * handling of instants outside that range, which toISOString writes with a sign and six digits.
 */

const DAY_MS = 86_400_000;

/** Instants whose year has four digits: 0000-01-01T00:00:00.000Z up to, not including, 10000-01-01. */
export const FOUR_DIGIT_YEARS = { from: -62_167_219_200_000, until: 253_402_300_800_000 } as const;

export function hasFourDigitYear(ms: number): boolean {
  return ms >= FOUR_DIGIT_YEARS.from && ms < FOUR_DIGIT_YEARS.until;
}

const two = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

function fourDigits(n: number): string {
  if (n >= 1000) return `${n}`;
  if (n >= 100) return `0${n}`;
  return n >= 10 ? `00${n}` : `000${n}`;
}

/** `yyyy-MM-dd` of `ms` (milliseconds since the epoch, UTC); four-digit years only (see above). */
export function ymd(ms: number): string {
  const z = Math.floor(ms / DAY_MS) + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return `${fourDigits(year)}-${two(month)}-${two(day)}`;
}

/** `HH:mm:ss` of `ms` (UTC), sub-second part cut. */
export function hms(ms: number): string {
  const secondOfDay = Math.floor((ms - Math.floor(ms / DAY_MS) * DAY_MS) / 1000);
  return `${two(Math.floor(secondOfDay / 3600))}:${two(Math.floor(secondOfDay / 60) % 60)}:${two(secondOfDay % 60)}`;
}
