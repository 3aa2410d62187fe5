/**
 * core/background-pace.ts: a background worker waits between steps while the API has requests in
 * flight, but never longer than the gap, so it always progresses; with no foreground it does not
 * wait at all. Counts, not times: the assertions read which steps waited.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createForegroundYield } from '../../src/core/background-pace.ts';

describe('foreground yield (background workers give the event loop to the API)', () => {
  it('with nothing in flight and a quiet loop, no step waits', async () => {
    // busyUtilization above 1: only the request count decides here, whatever the machine does.
    const pace = createForegroundYield({ inFlight: () => 0, busyUtilization: 2, busyStepGapMs: 60_000 });
    for (let i = 0; i < 5; i += 1) await pace.beforeStep();
    assert.equal(pace.busy(), false);
    assert.deepEqual(pace.stats(), { deferredSteps: 0, freeSteps: 5 });
  });

  it('while requests are in flight, every step after the first waits, and each still runs (no starvation)', async () => {
    const pace = createForegroundYield({ inFlight: () => 3, busyUtilization: 2, busyStepGapMs: 30, checkEveryMs: 5 });
    assert.equal(pace.busy(), true);
    for (let i = 0; i < 4; i += 1) await pace.beforeStep();
    assert.deepEqual(pace.stats(), { deferredSteps: 3, freeSteps: 1 });
  });

  it('a waiting step goes as soon as the requests are answered, before the gap', async () => {
    let inFlight = 1;
    // A gap of an hour: the second step can only have returned because the count fell to zero.
    const pace = createForegroundYield({ inFlight: () => inFlight, busyUtilization: 2, busyStepGapMs: 3_600_000 });
    await pace.beforeStep();
    const second = pace.beforeStep();
    setTimeout(() => (inFlight = 0), 50);
    await second;
    assert.deepEqual(pace.stats(), { deferredSteps: 1, freeSteps: 1 });
  });

  it('stopping the worker (its abort signal) ends a wait at once', async () => {
    const pace = createForegroundYield({ inFlight: () => 1, busyUtilization: 2, busyStepGapMs: 3_600_000 });
    await pace.beforeStep();
    const stopping = new AbortController();
    const waiting = pace.beforeStep(stopping.signal);
    setTimeout(() => stopping.abort(), 20);
    await waiting;
    assert.equal(pace.stats().deferredSteps, 1);
  });

  it("a loaded event loop counts as busy even with no request count (the loop's utilisation)", async () => {
    const pace = createForegroundYield({ busyUtilization: 0.5, sampleMs: 50 });
    // Keep the loop busy for 120 ms straight: the utilisation of that window is near 1.
    const until = performance.now() + 120;
    while (performance.now() < until);
    assert.equal(pace.busy(), true);
  });
});
