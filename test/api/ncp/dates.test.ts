/** The NCP date formats and the recentChanges date-time reader (src/api/ncp/dates.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatV1Date, formatV2Date, parseNcpDateTime, type ApiZone } from '../../../src/api/ncp/dates.ts';

const KST: ApiZone = { label: '+09:00', offsetMinutes: 540 };
const UTC: ApiZone = { label: '+00:00', offsetMinutes: 0 };
const NEWFOUNDLAND: ApiZone = { label: '-03:30', offsetMinutes: -210 };

describe('NCP dates', () => {
  it('prints API 1.0 and 2.0 dates in the configured zone, seconds cut', () => {
    // The seed: a notBefore at midnight UTC prints 09:00:00 in Korea.
    assert.equal(formatV1Date(new Date('2024-07-30T00:00:00Z'), KST), '2024-07-30 09:00:00');
    assert.equal(formatV2Date(new Date('2025-12-31T15:30:00.999Z'), KST), '2026-01-01 00:30:00(UTC+09:00)');
    assert.equal(formatV2Date(new Date('2026-01-01T01:00:00Z'), UTC), '2026-01-01 01:00:00(UTC+00:00)');
    assert.equal(formatV1Date(new Date('2026-01-01T01:00:00Z'), NEWFOUNDLAND), '2025-12-31 21:30:00');
    assert.equal(formatV1Date(new Date('2126-10-29T05:46:36Z'), KST), '2126-10-29 14:46:36');
  });

  it('prints every instant field by field, the fast path and the far years alike', () => {
    const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
    const reference = (date: Date, zone: ApiZone): string => {
      const t = new Date(date.getTime() + zone.offsetMinutes * 60_000);
      return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
    };
    // GeneralizedTime's last instant, shifted into year 10000 by +09:00; year 0; a leap day.
    const fixed = [
      '9999-12-31T23:59:59Z',
      '9999-12-31T14:59:59.999Z',
      '0000-01-01T00:00:00Z',
      '2028-02-29T23:59:59.5Z',
      '1950-01-01T00:00:00Z',
    ].map((text) => new Date(text));
    assert.equal(formatV1Date(new Date('9999-12-31T23:59:59Z'), KST), '10000-01-01 08:59:59');
    const random = Array.from(
      { length: 2000 },
      (_, i) => new Date(Date.UTC(0, 0, 1) + Math.floor((((i * 7919) % 2000) / 2000) * 3.2e14) + i * 997),
    );
    for (const date of [...fixed, ...random]) {
      for (const zone of [KST, UTC, NEWFOUNDLAND])
        assert.equal(formatV1Date(date, zone), reference(date, zone), `${date.toISOString()} ${zone.label}`);
    }
  });

  it('reads the NCP forms (zone optional) and ISO 8601 with a zone', () => {
    const at = new Date('2027-01-15T01:02:03Z');
    for (const text of [
      '2027-01-15 10:02:03',
      '2027-01-15 10:02:03(UTC+09:00)',
      '2027-01-15 10:02:03 (UTC+09:00)',
      '2027-01-15 01:02:03(UTC+00:00)',
      '2027-01-15T01:02:03Z',
      '2027-01-15T10:02:03+09:00',
      '2027-01-15T01:02:03.000Z',
    ]) {
      assert.deepEqual(parseNcpDateTime(text, KST), at, text);
    }
    assert.deepEqual(parseNcpDateTime('2027-01-15 01:02:03', UTC), at);
  });

  it('refuses what is not a real date-time', () => {
    for (const text of [
      '',
      'yesterday',
      '2027-01-15',
      '2027-01-15 10:02',
      '2027-13-01 00:00:00',
      '2027-02-29 00:00:00',
      '2027-01-15 24:00:00',
      '2027-01-15 10:60:00',
      '2027-01-15T10:02:03',
      '2027-01-15 10:02:03(UTC+09:99)',
      '2027-01-15 10:02:03(UTC+15:00)',
      ' 2027-01-15 10:02:03',
    ]) {
      assert.equal(parseNcpDateTime(text, KST), null, JSON.stringify(text));
    }
    assert.notEqual(parseNcpDateTime('2028-02-29 00:00:00', KST), null, 'a leap day exists');
  });
});
