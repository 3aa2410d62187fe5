/**
 * The bulk import's CPU-bound work on worker threads (`certkeeper cert import-dir`, core's
 * `importFiles`): parsing the files' blocks, and the ladder (steps 1–8, 10) of each certificate.
 * The main thread pairs the files and writes: it runs step 9 and the store transaction of batch N
 * while the workers run the ladder of the batches after it.
 *
 * Contract:
 * - The work is `runImportTask`, the same function on a worker and on the main thread, so where
 *   a task runs never changes its result: the same refusals with the same codes and messages.
 *   X509Certificate and KeyObject cross `postMessage` as themselves (Node shares the parsed
 *   OpenSSL object); an AppError crosses as its code, message, field and details (structured
 *   clone would keep only the message), and a Buffer comes back as one.
 * - A task whose worker fails (an error that is not an AppError, a crash, an exit) is run again
 *   on the main thread, where it gives its result or throws as the single-threaded import would;
 *   that worker takes no more tasks. A task's result is taken once: the first answer settles it.
 * - Size 0: every task runs on the main thread, no worker is started.
 * - The main thread never waits idle while tasks are queued: waiting for a result (`parse`,
 *   `wait`), it runs the oldest queued task itself, so on a machine whose cores are busy with
 *   other work the import does no worse than on one thread, and with free cores the workers take
 *   the work.
 */
import { getCompileCacheDir } from 'node:module';
import { Worker } from 'node:worker_threads';
import { AppError, type AppErrorOptions } from '../domain/errors.ts';
import { FILE_SET_POLICY, parseSourceFile, type ParsedSourceFile, type SourceFile } from '../domain/x509/file-set.ts';
import {
  tryImportLadder,
  type ImportCandidate,
  type ImportInput,
  type ImportPolicy,
  type LadderOutcome,
} from '../domain/x509/ladder.ts';

/**
 * One unit of work: files to parse, or inputs to run the ladder on under FILE_SET_POLICY at `now`
 * (ms since the epoch: the main thread's clock).
 */
export type ImportTask =
  | { kind: 'parse'; files: SourceFile[]; passphrase: string | null }
  | { kind: 'ladder'; inputs: ImportInput[]; now: number };

type TaskResult<T extends ImportTask> = T extends { kind: 'parse' } ? ParsedSourceFile[] : LadderOutcome[];

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Runs one task where it is called. Throws what the work throws when that is not an AppError. */
export function runImportTask<T extends ImportTask>(task: T): TaskResult<T> {
  if (task.kind === 'parse')
    // On a worker the bytes arrive as a Uint8Array (structured clone): a Buffer view of them.
    return task.files.map((file) =>
      parseSourceFile({ path: file.path, bytes: asBuffer(file.bytes) }, task.passphrase),
    ) as TaskResult<T>;
  const policy: ImportPolicy = { ...FILE_SET_POLICY, now: new Date(task.now) };
  return task.inputs.map((input) => tryImportLadder(input, policy)) as TaskResult<T>;
}

interface WireError {
  wireError: { code: AppError['code']; message: string; options: AppErrorOptions };
}

const toWire = (error: AppError): WireError => ({
  wireError: { code: error.code, message: error.message, options: { field: error.field, details: error.details } },
});
const fromWire = ({ wireError }: WireError): AppError =>
  new AppError(wireError.code, wireError.message, wireError.options);

/** A result made ready for `postMessage`: its AppErrors as data. */
export function encodeResult(result: ParsedSourceFile[] | LadderOutcome[]): unknown[] {
  return result.map((item) => {
    if ('read' in item) return 'error' in item.read ? { path: item.path, read: toWire(item.read.error) } : item;
    return 'error' in item ? toWire(item.error) : item;
  });
}

function decodeResult<T extends ImportTask>(task: T, wire: unknown[]): TaskResult<T> {
  if (task.kind === 'parse')
    return (wire as Array<{ path: string; read: ParsedSourceFile['read'] | WireError }>).map((file) => ({
      path: file.path,
      read: 'wireError' in file.read ? { error: fromWire(file.read) } : file.read,
    })) as TaskResult<T>;
  return (wire as Array<{ candidate: ImportCandidate } | WireError>).map((outcome): LadderOutcome => {
    if ('wireError' in outcome) return { error: fromWire(outcome) };
    // Structured clone gives a Uint8Array for a Buffer.
    outcome.candidate.leaf.der = asBuffer(outcome.candidate.leaf.der);
    return outcome;
  }) as TaskResult<T>;
}

/** What a worker answers: the result of task `id`, or that it failed (the main thread runs it again). */
export type WorkerReply = { id: number; result: unknown[] } | { id: number; failed: true };

export interface ImportFilesPool {
  /** Workers alive (not failed). */
  readonly workers: number;
  /** Every file parsed, in the order given, in chunks shared by the workers and this thread. */
  parse(files: readonly SourceFile[], passphrase: string | null): Promise<ParsedSourceFile[]>;
  /** The ladder of each input, in the order given: queued for a worker (run here when there is none). */
  ladder(task: Extract<ImportTask, { kind: 'ladder' }>): Promise<LadderOutcome[]>;
  /** Waits for a result of this pool, running queued tasks on this thread meanwhile. */
  wait<T>(result: Promise<T>): Promise<T>;
  /**
   * Stops the workers. Tasks not answered yet are dropped, their results never settle: the import
   * awaits every result it needs before closing, and one that failed needs no more.
   */
  close(): Promise<void>;
}

/** Files per parse task: small enough to share out evenly, large enough that a message is a small cost. */
const PARSE_CHUNK = 64;

/** Tasks in flight on one worker: one to run, one queued so it never waits for the main thread. */
const WORKER_DEPTH = 2;

interface Pending {
  id: number;
  task: ImportTask;
  settle: (run: () => unknown) => void;
}

/**
 * Starts `size` workers (0: every task runs on this thread). `module`: the workers' module, for
 * tests (one that fails on purpose); by default import-files-worker.ts.
 */
export function startImportFilesPool(size: number, options: { module?: URL } = {}): ImportFilesPool {
  const module = options.module ?? new URL('./import-files-worker.ts', import.meta.url);
  const queue: Pending[] = [];
  const live = new Set<{ worker: Worker; inFlight: Map<number, Pending> }>();
  let nextId = 0;

  const runHere = (pending: Pending): void => pending.settle(() => runImportTask(pending.task));

  const dispatch = (): void => {
    for (const slot of live) {
      while (slot.inFlight.size < WORKER_DEPTH && queue.length > 0) {
        const pending = queue.shift()!;
        slot.inFlight.set(pending.id, pending);
        slot.worker.postMessage({ id: pending.id, task: pending.task });
      }
    }
  };

  const fail = (slot: { worker: Worker; inFlight: Map<number, Pending> }): void => {
    if (!live.delete(slot)) return;
    void slot.worker.terminate();
    // Its tasks, in the order given, ahead of the queue: the main thread waits for them first.
    queue.unshift(...slot.inFlight.values());
    slot.inFlight.clear();
    if (live.size > 0) dispatch();
    else while (queue.length > 0) runHere(queue.shift()!);
  };

  const cacheDir = getCompileCacheDir();
  for (let i = 0; i < size; i++) {
    // A CommonJS stub turns Node's compile cache on before the TypeScript module loads, as
    // bin/certkeeper.js does for the process: without it each worker type-strips its modules
    // again (about 0.3 s of CPU).
    const worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       if (workerData.cacheDir) try { require('node:module').enableCompileCache(workerData.cacheDir); } catch {}
       import(workerData.module);`,
      { eval: true, workerData: { cacheDir: cacheDir ?? null, module: module.href } },
    );
    const slot = { worker, inFlight: new Map<number, Pending>() };
    live.add(slot);
    worker.on('message', (reply: WorkerReply) => {
      const pending = slot.inFlight.get(reply.id);
      if (!pending) return; // answered after its worker was taken out: the task is run elsewhere
      if ('failed' in reply) return fail(slot);
      slot.inFlight.delete(reply.id);
      pending.settle(() => decodeResult(pending.task, reply.result));
      dispatch();
    });
    worker.on('error', () => fail(slot));
    worker.on('exit', () => fail(slot));
  }

  const submit = <T extends ImportTask>(task: T): Promise<TaskResult<T>> =>
    new Promise((resolve, reject) => {
      let settled = false;
      const pending: Pending = {
        id: nextId++,
        task,
        settle: (run) => {
          if (settled) return;
          settled = true;
          try {
            resolve(run() as TaskResult<T>);
          } catch (error) {
            reject(error as Error);
          }
        },
      };
      if (live.size === 0) runHere(pending);
      else {
        queue.push(pending);
        dispatch();
      }
    });

  const wait = async <T>(result: Promise<T>): Promise<T> => {
    let settled = false;
    result.then(
      () => (settled = true),
      () => (settled = true),
    );
    // Yielding between tasks, so the workers' answers (and their room for more) are handled.
    while (!settled && queue.length > 0) {
      runHere(queue.shift()!);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return result;
  };

  return {
    get workers() {
      return live.size;
    },
    async parse(files, passphrase) {
      const chunks: Array<Promise<ParsedSourceFile[]>> = [];
      for (let start = 0; start < files.length; start += PARSE_CHUNK)
        chunks.push(submit({ kind: 'parse', files: files.slice(start, start + PARSE_CHUNK), passphrase }));
      return (await wait(Promise.all(chunks))).flat();
    },
    ladder: (task) => submit(task),
    wait,
    async close() {
      const slots = [...live];
      live.clear();
      queue.length = 0;
      await Promise.all(slots.map(({ worker }) => worker.terminate()));
    },
  };
}
