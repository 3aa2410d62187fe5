/**
 * Dates on the Global Edge wire: ISO 8601 in UTC with `Z`, as the seed example prints them.
 * - `expirationDate`: whole seconds (`2025-11-05T23:59:59Z`); certificate times have no fraction.
 * - `provisionDate` and the other instants: milliseconds with trailing zeros dropped, and no
 *   fraction at all on a whole second (`…34.076Z`, `…58.99Z`, `…58Z`), as the seed shows
 *   `2025-08-07T00:34:58.99Z`.
 */
export function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

export function isoMillis(date: Date): string {
  const iso = date.toISOString();
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${fraction === '' ? '' : `.${fraction}`}Z`;
}
