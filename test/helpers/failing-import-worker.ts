/**
 * A worker of the bulk import's pool that fails on purpose (test/cli/import-dir-workers.test.ts):
 * the real worker (src/core/import-files-worker.ts), except that the task numbered by the URL's
 * `fail-at` (1-based, in the order this worker receives them) fails:
 *   `?fail-at=N&how=exit`   the worker exits before answering it (the task is lost with it)
 *   `?fail-at=N&how=throw`  an uncaught exception: the real listener still answers the task (a
 *                           port's listeners all run), then the worker dies
 *   `?fail-at=N&how=reply`  it answers `failed` first, as when the work throws something that is
 *                           not an AppError; the real listener's answer follows
 */
import { parentPort } from 'node:worker_threads';

const params = new URL(import.meta.url).searchParams;
const failAt = Number(params.get('fail-at'));
const how = params.get('how');
let received = 0;
const port = parentPort!;
// Registered before the real worker's listener, so it runs first.
port.on('message', ({ id }: { id: number }) => {
  received++;
  if (received !== failAt) return;
  if (how === 'exit') process.exit(1);
  if (how === 'throw') throw new Error(`worker failing on purpose at task ${received}`);
  port.postMessage({ id, failed: true });
});
await import('../../src/core/import-files-worker.ts');
