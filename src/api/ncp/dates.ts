/**
 * Dates on the NCP wire, in the zone of `CERTKEEPER_API_TIMEZONE` (a fixed UTC offset, default
 * `+09:00`, Korea Standard Time, which is what NCP prints):
 * - API 1.0: `yyyy-MM-dd HH:mm:ss`, no zone (`2024-07-30 11:33:33`);
 * - API 2.0: the same with the offset appended without a space: `2026-01-01 10:00:00(UTC+09:00)`.
 * Sub-second parts are cut (not rounded), as `SimpleDateFormat` does.
 *
 * `parseNcpDateTime` reads the `startDateTime`/`endDateTime` of ListRecentCertChanges, whose
 * format NCP does not document: either NCP form, or ISO 8601 with an explicit zone.
 */
import { hasFourDigitYear, hms, ymd } from '../civil-time.ts';

export interface ApiZone {
  /** `±HH:MM`, e.g. `+09:00`. */
  label: string;
  /** Minutes east of UTC. */
  offsetMinutes: number;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * `yyyy-MM-dd HH:mm:ss` of `date` shifted to the zone. Years 0–9999 by arithmetic
 * (../civil-time.ts: every list item prints several dates); others field by field.
 */
export function formatV1Date(date: Date, zone: ApiZone): string {
  const shifted = date.getTime() + zone.offsetMinutes * 60_000;
  if (hasFourDigitYear(shifted)) return `${ymd(shifted)} ${hms(shifted)}`;
  const t = new Date(shifted);
  const year = t.getUTCFullYear();
  return `${pad(year, 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
}

/** `yyyy-MM-dd HH:mm:ss(UTC±HH:MM)`. */
export function formatV2Date(date: Date, zone: ApiZone): string {
  return `${formatV1Date(date, zone)}(UTC${zone.label})`;
}

const NCP_FORM = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\s?\(UTC([+-])(\d{2}):(\d{2})\))?$/;
const ISO_FORM = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

function build(
  parts: { y: string; mo: string; d: string; h: string; mi: string; s: string; ms?: string | undefined },
  offsetMinutes: number,
): Date | null {
  const [y, mo, d, h, mi, s] = [parts.y, parts.mo, parts.d, parts.h, parts.mi, parts.s].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = parts.ms === undefined ? 0 : Number(parts.ms.padEnd(3, '0'));
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59 || offsetMinutes < -14 * 60 || offsetMinutes > 14 * 60)
    return null;
  const utc = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const check = new Date(utc);
  // Date.UTC rolls 2027-02-30 over to March: refuse dates that do not exist.
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  return new Date(utc - offsetMinutes * 60_000);
}

const offsetOf = (sign: string, hh: string, mm: string): number =>
  (sign === '-' ? -1 : 1) * (Number(hh) * 60 + Number(mm));

/** A date-time as a client may send it, or null when it is not one. */
export function parseNcpDateTime(text: string, zone: ApiZone): Date | null {
  const ncp = NCP_FORM.exec(text);
  if (ncp) {
    const [, y, mo, d, h, mi, s, sign, oh, om] = ncp as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string?,
      string?,
      string?,
    ];
    if (oh !== undefined && om !== undefined && Number(om) > 59) return null;
    const offset =
      sign !== undefined && oh !== undefined && om !== undefined ? offsetOf(sign, oh, om) : zone.offsetMinutes;
    return build({ y, mo, d, h, mi, s }, offset);
  }
  const iso = ISO_FORM.exec(text);
  if (iso) {
    const [, y, mo, d, h, mi, s, ms, z, sign, oh, om] = iso as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string?,
      string?,
      string?,
      string?,
      string?,
    ];
    if (om !== undefined && Number(om) > 59) return null;
    const offset = z === 'Z' || sign === undefined || oh === undefined || om === undefined ? 0 : offsetOf(sign, oh, om);
    return build({ y, mo, d, h, mi, s, ms }, offset);
  }
  return null;
}
