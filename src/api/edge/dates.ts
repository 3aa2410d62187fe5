/**
 * Dates on the Global Edge wire: ISO 8601 in UTC with `Z`, as the seed example prints them.
 * - `expirationDate`: whole seconds (`2025-11-05T23:59:59Z`); certificate times have no fraction.
 * - `provisionDate` and the other instants: milliseconds with trailing zeros dropped, and no
 *   fraction at all on a whole second (`…34.076Z`, `…58.99Z`, `…58Z`), as the seed shows
 *   `2025-08-07T00:34:58.99Z`.
 *
 * Years 0–9999 by arithmetic (../civil-time.ts); others as `toISOString()` writes them.
 */
import { hasFourDigitYear, hms, ymd } from '../civil-time.ts';

export function isoSeconds(date: Date): string {
  const ms = date.getTime();
  return hasFourDigitYear(ms) ? `${ymd(ms)}T${hms(ms)}Z` : `${date.toISOString().slice(0, 19)}Z`;
}

export function isoMillis(date: Date): string {
  const ms = date.getTime();
  const fraction = String(ms - Math.floor(ms / 1000) * 1000)
    .padStart(3, '0')
    .replace(/0+$/, '');
  return `${isoSeconds(date).slice(0, -1)}${fraction === '' ? '' : `.${fraction}`}Z`;
}
