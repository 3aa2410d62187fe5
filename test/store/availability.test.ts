/**
 * store/availability.ts: an outage is one `unavailable` and one `recovered`, however many
 * statements fail in between, and a statement that started before the outage cannot end it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AvailabilityWatch, type AvailabilityEvent } from '../../src/store/availability.ts';
import { storeUnavailable } from '../../src/store/postgres-faults.ts';

describe('store availability watch', () => {
  it('reports an outage once when it starts and once when it ends, with its length and failures', () => {
    let now = 1_000;
    const watch = new AvailabilityWatch(() => now);
    const events: AvailabilityEvent[] = [];
    watch.listen((event) => events.push(event));
    watch.succeeded();
    assert.deepEqual(events, [], 'nothing to report while all is well');
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    watch.failed(storeUnavailable(refused));
    now += 250;
    for (let i = 0; i < 9; i++) watch.failed(refused);
    assert.equal(watch.unavailable, true);
    assert.deepEqual(
      events,
      [{ kind: 'unavailable', code: 'ECONNREFUSED', relapse: false }],
      "the driver's code, under the AppError",
    );
    now += 250;
    watch.succeeded();
    watch.succeeded();
    assert.deepEqual(events.slice(1), [{ kind: 'recovered', code: 'ECONNREFUSED', downMs: 500, failures: 10 }]);
    assert.equal(watch.unavailable, false);
  });

  it('a statement that started before the outage does not end it', () => {
    const watch = new AvailabilityWatch();
    const events: string[] = [];
    watch.listen((event) => events.push(event.kind));
    const before = watch.epoch;
    watch.failed({ code: '57P01' });
    watch.succeeded(before);
    assert.deepEqual(events, ['unavailable']);
    watch.succeeded(watch.epoch);
    assert.deepEqual(events, ['unavailable', 'recovered']);
    // The next outage is a new one.
    watch.failed({ code: 'SQLITE_FULL' });
    assert.deepEqual(events, ['unavailable', 'recovered', 'unavailable']);
  });

  it('an outage with the same code within a minute of the recovery is a relapse; later or another code is not', () => {
    let now = 0;
    const watch = new AvailabilityWatch(() => now);
    const events: AvailabilityEvent[] = [];
    watch.listen((event) => events.push(event));
    const full = { code: 'SQLITE_FULL' };
    watch.failed(full);
    watch.succeeded(); // a write got through: WAL frames reused on a full disk
    now += 59_999;
    watch.failed(full);
    watch.succeeded();
    now += 60_000;
    watch.failed(full);
    watch.succeeded();
    now += 1_000;
    watch.failed({ code: 'SQLITE_IOERR' });
    const outages = events.filter((e) => e.kind === 'unavailable');
    assert.deepEqual(
      outages.map((e) => [e.code, e.relapse]),
      [
        ['SQLITE_FULL', false],
        ['SQLITE_FULL', true],
        ['SQLITE_FULL', false],
        ['SQLITE_IOERR', false],
      ],
    );
  });
});
