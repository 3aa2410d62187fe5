/**
 * A worker thread of the bulk import's pool (core/import-files-pool.ts): runs each task it is
 * sent and answers its result, or `failed` when the work threw something that is not an AppError
 * (the main thread then runs the task itself and meets the same error there).
 */
import { parentPort } from 'node:worker_threads';
import { encodeResult, runImportTask, type ImportTask, type WorkerReply } from './import-files-pool.ts';

const port = parentPort!;
port.on('message', ({ id, task }: { id: number; task: ImportTask }) => {
  let reply: WorkerReply;
  try {
    reply = { id, result: encodeResult(runImportTask(task)) };
  } catch {
    reply = { id, failed: true };
  }
  port.postMessage(reply);
});
