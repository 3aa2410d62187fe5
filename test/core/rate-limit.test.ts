/**
 * The per-credential token bucket (src/core/rate-limit.ts), driven by an injected clock: no test
 * here waits for real time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRateLimiter } from '../../src/core/rate-limit.ts';
import { isAppErrorWithCode, type AppError } from '../../src/domain/errors.ts';
import { TestClock } from '../helpers/app.ts';

const caller = (id: string, tenantId = 1) => ({ tenantId, id });

/** The `rate_limited` error `take` throws, or null when it let the request through. */
function refusal(take: () => void): AppError | null {
  try {
    take();
    return null;
  } catch (error) {
    assert.ok(isAppErrorWithCode(error, 'rate_limited'), `expected rate_limited, got ${String(error)}`);
    return error;
  }
}

describe('rate limiter: token bucket per credential', () => {
  it('lets a burst through, refuses the next, and refills at the rate', () => {
    const clock = new TestClock(new Date('2026-01-01T00:00:00Z'));
    const limiter = createRateLimiter(clock, { perSecond: 2, burst: 3 });
    for (let i = 0; i < 3; i++)
      assert.equal(
        refusal(() => limiter.take(caller('AK1'))),
        null,
        `request ${i}`,
      );
    const refused = refusal(() => limiter.take(caller('AK1')));
    assert.equal(refused?.details?.retryAfterSeconds, 1);
    assert.match(refused?.message ?? '', /Too many requests for this credential; retry in 1 s/);
    // Half a second at 2/s is one token: one request, then refused again.
    clock.advance(500);
    assert.equal(
      refusal(() => limiter.take(caller('AK1'))),
      null,
    );
    assert.notEqual(
      refusal(() => limiter.take(caller('AK1'))),
      null,
    );
    assert.equal(limiter.stats().refused, 2);
  });

  it('a refused request takes nothing: waiting the Retry-After is enough', () => {
    const clock = new TestClock();
    const limiter = createRateLimiter(clock, { perSecond: 0.5, burst: 1 });
    limiter.take(caller('AK1'));
    for (let i = 0; i < 5; i++) assert.equal(refusal(() => limiter.take(caller('AK1')))?.details?.retryAfterSeconds, 2);
    clock.advance(1000);
    assert.equal(refusal(() => limiter.take(caller('AK1')))?.details?.retryAfterSeconds, 1);
    clock.advance(1000);
    assert.equal(
      refusal(() => limiter.take(caller('AK1'))),
      null,
    );
  });

  it('each credential has its own bucket; the same id in another tenant is another caller', () => {
    const clock = new TestClock();
    const limiter = createRateLimiter(clock, { perSecond: 1, burst: 1 });
    limiter.take(caller('AK1'));
    assert.notEqual(
      refusal(() => limiter.take(caller('AK1'))),
      null,
    );
    assert.equal(
      refusal(() => limiter.take(caller('AK2'))),
      null,
    );
    assert.equal(
      refusal(() => limiter.take(caller('appkey', 1))),
      null,
    );
    assert.equal(
      refusal(() => limiter.take(caller('appkey', 2))),
      null,
    );
  });

  it('a clock that goes back refills nothing and never gives more than the burst', () => {
    const clock = new TestClock(new Date('2026-01-01T00:00:10Z'));
    const limiter = createRateLimiter(clock, { perSecond: 1, burst: 2 });
    limiter.take(caller('AK1'));
    limiter.take(caller('AK1'));
    clock.advance(-5000);
    assert.notEqual(
      refusal(() => limiter.take(caller('AK1'))),
      null,
    );
    clock.advance(3_600_000);
    limiter.take(caller('AK1'));
    limiter.take(caller('AK1'));
    assert.notEqual(
      refusal(() => limiter.take(caller('AK1'))),
      null,
    );
  });

  it('holds at most maxBuckets callers, least recently used out first', () => {
    const clock = new TestClock();
    const limiter = createRateLimiter(clock, { perSecond: 1, burst: 1 }, 3);
    for (const id of ['A', 'B', 'C']) limiter.take(caller(id));
    limiter.take(caller('D')); // evicts A (oldest), whose debt is forgiven
    assert.equal(limiter.stats().buckets, 3);
    assert.equal(
      refusal(() => limiter.take(caller('A'))),
      null,
    );
    // B was next oldest and is gone; D is still held and still empty.
    assert.notEqual(
      refusal(() => limiter.take(caller('D'))),
      null,
    );
    for (let i = 0; i < 1000; i++) limiter.take(caller(`flood-${i}`));
    assert.equal(limiter.stats().buckets, 3);
  });

  it('drops buckets that are full again, so idle callers cost no memory', () => {
    const clock = new TestClock();
    const limiter = createRateLimiter(clock, { perSecond: 1, burst: 2 });
    for (let i = 0; i < 50; i++) {
      limiter.take(caller(`idle-${i}`));
      limiter.take(caller(`idle-${i}`));
    }
    assert.equal(limiter.stats().buckets, 50);
    clock.advance(1000); // one token back each: not full yet, kept
    limiter.take(caller('active'));
    assert.equal(limiter.stats().buckets, 51);
    clock.advance(1000); // full again: dropped as they are met
    limiter.take(caller('active'));
    assert.equal(limiter.stats().buckets, 1);
  });

  it('off (no settings): takes nothing, keeps nothing', () => {
    const limiter = createRateLimiter(new TestClock(), null);
    for (let i = 0; i < 10_000; i++) limiter.take(caller('AK1'));
    assert.deepEqual(limiter.stats(), { buckets: 0, refused: 0 });
  });
});
