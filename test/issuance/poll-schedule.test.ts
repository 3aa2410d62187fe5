/**
 * When the worker polls an order the CA is validating (core/issuance/worker.ts): each poll is a
 * signed CA request, a store round trip and a step, so an order the CA has not moved is polled
 * rarely, and later and later, up to every 30 s (Retry-After, when the CA sends it, wins: the
 * pipeline tests).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FIRST_POLL_MS, pollDelayMs } from '../../src/core/issuance/worker.ts';

/** Seconds after the challenge responses at which the polls fall. */
function pollTimes(count: number): number[] {
  const times = [FIRST_POLL_MS];
  for (let polls = 1; times.length < count; polls += 1) times.push(times.at(-1)! + pollDelayMs(polls));
  return times.map((ms) => ms / 1000);
}

/** Polls until the first one at or after `seconds` (when the CA has validated). */
const pollsFor = (seconds: number): number => pollTimes(50).findIndex((t) => t >= seconds) + 1;

describe('polling an order the CA is validating', () => {
  it('polls 2, 6, 14 and 30 s after the response, then every 30 s', () => {
    assert.deepEqual(pollTimes(6), [2, 6, 14, 30, 60, 90]);
  });

  it('a CA that validates within 2 s costs one poll, within 15 s at most four', () => {
    assert.equal(pollsFor(1.5), 1);
    assert.equal(pollsFor(5), 2);
    assert.equal(pollsFor(14), 3);
    assert.equal(pollsFor(15), 4);
    // An hour of validation: about two polls a minute, not one a second.
    assert.ok(pollsFor(3600) <= 125, String(pollsFor(3600)));
  });
});
