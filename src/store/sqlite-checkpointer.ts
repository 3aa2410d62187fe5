/**
 * WAL checkpoints of a serving SQLite store, on a worker thread.
 *
 * SQLite checkpoints by default inside the commit that takes the WAL past 1,000 pages: that
 * commit copies the pages into the database file and waits for `fsync`, on the event loop. With
 * a million certificates, an import dirties pages all over a 5 GB file, and the server sat idle
 * a third of the time during imports (249 imports/s at 2.3 ms of CPU each, bench/).
 *
 * So the server, once ready (`StoreHandle.startBackgroundCheckpoints`, called by app/serve.ts:
 * the worker's start-up stays off the way to /readyz), raises the connection's own threshold to
 * WAL_AUTOCHECKPOINT_FALLBACK_PAGES, and a worker thread with its own connection runs
 * `PRAGMA wal_checkpoint(PASSIVE)` every CHECKPOINT_INTERVAL_MS. PASSIVE never waits for readers
 * or the writer and never blocks them: it copies what it can. The fallback stays on: should the
 * worker stall or die, the WAL still stops growing at about 40 MB (checkpointed the old way).
 *
 * Contract: `stop()` runs a last checkpoint and closes the worker's connection; it never throws.
 * A worker that fails to start or dies is reported through `onError` and leaves the fallback; a
 * checkpoint that fails is reported once (again only after one succeeded or the code changed),
 * with the SQLite error code only.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export const CHECKPOINT_INTERVAL_MS = 200;
/** The serving connection's own checkpoint threshold while the worker runs (pages of 4 KB). */
export const WAL_AUTOCHECKPOINT_FALLBACK_PAGES = 10_000;

export interface Checkpointer {
  /** Checkpoints the worker has run so far (for tests). */
  checkpoints(): Promise<number>;
  stop(): Promise<void>;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
let count = 0;
let failing = null;
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    count++;
    failing = null;
  } catch (error) {
    const code = String((error && error.code) || (error && error.name) || 'error');
    // Reported once per run of failures with the same code, not every interval.
    if (code !== failing) parentPort.postMessage({ error: code });
    failing = code;
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'count') parentPort.postMessage({ count });
  if (message === 'stop') {
    clearInterval(timer);
    checkpoint();
    db.close();
    parentPort.postMessage({ stopped: true, count });
    parentPort.close();
  }
});
parentPort.postMessage({ ready: true });
`;

export function startCheckpointer(
  file: string,
  onError: (message: string) => void,
  intervalMs = CHECKPOINT_INTERVAL_MS,
): Checkpointer {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { file, intervalMs, driver: fileURLToPath(import.meta.resolve('better-sqlite3')) },
  });
  // The checkpointer never keeps the process alive on its own.
  worker.unref();
  let alive = true;
  const waiters: Array<(message: { count?: number; stopped?: boolean }) => void> = [];
  worker.on('message', (message: { error?: string; count?: number; stopped?: boolean }) => {
    if (message.error) onError(`WAL checkpoint failed (${message.error}); SQLite will checkpoint on commit instead`);
    else if (message.count !== undefined) waiters.shift()?.(message);
  });
  worker.on('error', (error) => {
    alive = false;
    onError(`WAL checkpoint worker stopped (${error.name}); SQLite will checkpoint on commit instead`);
  });
  worker.on('exit', () => {
    alive = false;
    for (const waiter of waiters.splice(0)) waiter({});
  });
  const ask = (message: 'count' | 'stop'): Promise<{ count?: number; stopped?: boolean }> =>
    alive
      ? new Promise((resolve) => {
          waiters.push(resolve);
          worker.postMessage(message);
        })
      : Promise.resolve({});
  return {
    async checkpoints() {
      return (await ask('count')).count ?? 0;
    },
    async stop() {
      await ask('stop');
      await worker.terminate().catch(() => undefined);
    },
  };
}
