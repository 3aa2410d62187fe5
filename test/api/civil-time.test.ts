/**
 * Contract: src/api/civil-time.ts prints exactly the date and time parts of `toISOString()` for
 * every instant of years 0–9999, and the faces' date formats keep their outputs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FOUR_DIGIT_YEARS, hasFourDigitYear, hms, ymd } from '../../src/api/civil-time.ts';
import { isoMillis, isoSeconds } from '../../src/api/edge/dates.ts';
import { formatDate } from '../../src/api/nhn/present.ts';

const DAY = 86_400_000;

function* instants(): Generator<number> {
  // Every day boundary (and the milliseconds around it) over 1968–2100: leap years, 2000, 2100.
  for (let t = Date.UTC(1968, 0, 1); t < Date.UTC(2101, 0, 1); t += DAY) {
    yield t;
    yield t - 1;
    yield t + 1;
  }
  // Pseudo-random instants over the whole four-digit range (fixed seed: reproducible).
  let seed = 20_261_204;
  const span = FOUR_DIGIT_YEARS.until - FOUR_DIGIT_YEARS.from;
  for (let i = 0; i < 200_000; i++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    yield FOUR_DIGIT_YEARS.from + Math.floor((seed / 2_147_483_648) * span);
  }
  // The edges, century leap rules, and the epoch.
  yield* [
    FOUR_DIGIT_YEARS.from,
    FOUR_DIGIT_YEARS.from + 1,
    FOUR_DIGIT_YEARS.until - 1,
    0,
    -1,
    1,
    Date.UTC(1600, 1, 29),
    Date.UTC(1700, 1, 28, 23, 59, 59, 999),
    Date.UTC(1700, 2, 1),
    Date.UTC(9999, 11, 31, 23, 59, 59, 999),
  ];
}

describe('civil time', () => {
  it('agrees with toISOString for every instant of years 0–9999 it is given', () => {
    let checked = 0;
    for (const t of instants()) {
      const iso = new Date(t).toISOString();
      assert.equal(hasFourDigitYear(t), true, iso);
      if (ymd(t) !== iso.slice(0, 10) || hms(t) !== iso.slice(11, 19))
        assert.fail(`${t}: ${ymd(t)} ${hms(t)} against ${iso}`);
      checked++;
    }
    assert.ok(checked > 300_000);
  });

  it('knows where four-digit years end', () => {
    assert.equal(new Date(FOUR_DIGIT_YEARS.from).toISOString(), '0000-01-01T00:00:00.000Z');
    assert.equal(new Date(FOUR_DIGIT_YEARS.until).toISOString(), '+010000-01-01T00:00:00.000Z');
    assert.equal(hasFourDigitYear(FOUR_DIGIT_YEARS.from - 1), false);
    assert.equal(hasFourDigitYear(FOUR_DIGIT_YEARS.until), false);
  });

  it('keeps the faces’ formats, inside and outside four-digit years', () => {
    assert.equal(
      formatDate(new Date('9999-12-31T20:00:00Z'), 540),
      new Date(Date.UTC(9999, 11, 31, 20) + 540 * 60_000).toISOString().slice(0, 10),
    );
    assert.equal(formatDate(new Date('1999-12-31T15:00:00Z'), 540), '2000-01-01');
    assert.equal(isoSeconds(new Date('2025-11-05T23:59:59.999Z')), '2025-11-05T23:59:59Z');
    assert.equal(isoMillis(new Date('2025-08-07T00:34:58.990Z')), '2025-08-07T00:34:58.99Z');
    assert.equal(isoMillis(new Date('2025-08-07T00:34:58.076Z')), '2025-08-07T00:34:58.076Z');
    assert.equal(isoMillis(new Date('2025-08-07T00:34:58.000Z')), '2025-08-07T00:34:58Z');
    assert.equal(isoMillis(new Date('2025-08-07T00:34:58.100Z')), '2025-08-07T00:34:58.1Z');
    assert.equal(isoMillis(new Date('1969-12-31T23:59:59.999Z')), '1969-12-31T23:59:59.999Z');
  });
});
