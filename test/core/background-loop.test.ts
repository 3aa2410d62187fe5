import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBackgroundLoop, type WorkerLog } from '../../src/core/background-loop.ts';
import { AppError } from '../../src/domain/errors.ts';

/** A promise and its resolver, so a test decides when a pass ends. */
function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

function recordingLog(): WorkerLog & { errors: string[]; infos: string[] } {
  const errors: string[] = [];
  const infos: string[] = [];
  return {
    errors,
    infos,
    info: (_fields, message) => infos.push(message),
    warn: () => undefined,
    error: (_fields, message) => errors.push(message),
  };
}

const HOUR = 3_600_000;

describe('background loop (the lease workers’ shared loop)', () => {
  it('never overlaps passes, and a pass that throws fails only its own runOnce', async () => {
    const events: string[] = [];
    const first = gate();
    let n = 0;
    const loop = createBackgroundLoop({
      name: 'test worker',
      workerId: 'w',
      pollMs: HOUR,
      log: recordingLog(),
      async pass(background) {
        const mine = ++n;
        events.push(`start ${mine} ${background}`);
        if (mine === 1) await first.promise;
        if (mine === 2) throw new Error('store hiccup');
        events.push(`end ${mine}`);
        return mine;
      },
    });
    const a = loop.runOnce();
    const b = loop.runOnce();
    const c = loop.runOnce();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(events, ['start 1 false'], 'the second pass waits for the first');
    first.open();
    assert.equal(await a, 1);
    await assert.rejects(b, /store hiccup/);
    assert.equal(await c, 3);
    assert.deepEqual(events, ['start 1 false', 'end 1', 'start 2 false', 'start 3 false', 'end 3']);
    await loop.stop();
  });

  it('runs the next pass at once while again() says so, then waits for a kick or a change notice', async () => {
    let listener: (() => void) | null = null;
    const passes: number[] = [];
    const reached = new Map<number, () => void>();
    const at = (count: number) => new Promise<void>((resolve) => reached.set(count, resolve));
    const third = at(3);
    const loop = createBackgroundLoop({
      name: 'test worker',
      workerId: 'w',
      pollMs: HOUR, // never reached in this test: only again(), kick() and changes move it on
      log: recordingLog(),
      pass: async (background) => {
        assert.equal(background, true);
        passes.push(passes.length + 1);
        reached.get(passes.length)?.();
        return passes.length;
      },
      again: (count) => count < 3,
      changes: (l) => {
        listener = l;
        return () => (listener = null);
      },
    });
    loop.kick(); // before start: nothing
    loop.start();
    loop.start(); // twice: still one loop
    await third;
    assert.deepEqual(passes, [1, 2, 3]);
    const fourth = at(4);
    assert.ok(listener, 'subscribed while started');
    (listener as () => void)();
    await fourth;
    const fifth = at(5);
    loop.kick();
    await fifth;
    assert.deepEqual(passes, [1, 2, 3, 4, 5]);
    await loop.stop();
    assert.equal(listener, null, 'unsubscribed by stop');
    assert.ok(loop.signal.aborted);
  });

  it('logs a failing background pass and carries on', async () => {
    const log = recordingLog();
    let n = 0;
    const recovered = gate();
    const loop = createBackgroundLoop({
      name: 'test worker',
      workerId: 'w',
      pollMs: 1,
      log,
      pass: async () => {
        n += 1;
        if (n === 1) throw new Error('boom');
        recovered.open();
        return n;
      },
    });
    loop.start();
    await recovered.promise;
    await loop.stop();
    assert.deepEqual(log.errors, ['test worker pass failed; retrying after the poll pause']);
  });

  it('logs a pass that failed for an unavailable store at info: the outage is logged where it is watched', async () => {
    const log = recordingLog();
    let n = 0;
    const recovered = gate();
    const loop = createBackgroundLoop({
      name: 'test worker',
      workerId: 'w',
      pollMs: 1,
      log,
      pass: async () => {
        n += 1;
        if (n <= 3) throw new AppError('unavailable', 'The database is not reachable.');
        recovered.open();
        return n;
      },
    });
    loop.start();
    await recovered.promise;
    await loop.stop();
    assert.deepEqual(log.errors, []);
    assert.equal(log.infos.filter((m) => m === 'test worker pass failed; retrying after the poll pause').length, 3);
  });

  it('stop aborts the signal, waits for the running pass and pending work, and nothing runs after it', async () => {
    const inPass = gate();
    const pendingWork = gate();
    let passes = 0;
    let sawAbort = false;
    const loop = createBackgroundLoop({
      name: 'test worker',
      workerId: 'w',
      pollMs: 1,
      log: recordingLog(),
      pass: async () => {
        passes += 1;
        inPass.open();
        await new Promise<void>((resolve) => loop.signal.addEventListener('abort', () => resolve(), { once: true }));
        sawAbort = true;
        return passes;
      },
      pending: () => [pendingWork.promise],
    });
    loop.start();
    await inPass.promise;
    let stopped = false;
    const stopping = loop.stop({ timeoutMs: HOUR }).then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(sawAbort, 'the pass saw the abort');
    assert.equal(stopped, false, 'stop waits for pending work');
    pendingWork.open();
    await stopping;
    loop.start();
    loop.kick();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(passes, 1, 'nothing runs after stop');
  });
});
