/**
 * The bulk import of a set of files (`certkeeper cert import-dir`): the files parsed and sorted
 * into certificates with their keys and chains (domain/x509/file-set.ts), then imported in
 * batches as `CertificateService.importMany` imports them: the same ladder, step 9 and audit as
 * one import, many certificates per store transaction. The parsing and the ladder run on worker
 * threads (core/import-files-pool.ts) beside this thread's pairing and writes: the ladder of the
 * next batches while a batch is written. The summary says what became of every certificate and
 * every refused file, the same whatever the number of workers.
 */
import { availableParallelism } from 'node:os';
import type { AppError } from '../domain/errors.ts';
import { FILE_SET_POLICY, pairFileSet, type NameSource, type SourceFile } from '../domain/x509/file-set.ts';
import type { LadderOutcome } from '../domain/x509/ladder.ts';
import type { Actor } from './actor.ts';
import type { BulkImportOutcome, ImportOptions } from './certificates.ts';
import { startImportFilesPool } from './import-files-pool.ts';
import { authorize } from './policy.ts';

/** Certificates per store transaction: large enough that the commit is a small share, small enough to keep a batch's memory and lock time short. */
export const IMPORT_FILES_BATCH = 250;

export interface ImportFilesOptions {
  names: NameSource;
  /** Validate only: nothing written or audited. */
  dryRun: boolean;
  /** The passphrase of every PKCS#12 file in the set; null: they are refused. */
  passphrase: string | null;
  /** Called after each batch with the certificates done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Worker threads for the parsing and the ladder (0: all on this thread); `defaultImportWorkers` by default. */
  workers?: number | undefined;
  /** Tests only: the workers' module (one that fails on purpose). */
  workerModule?: URL | undefined;
}

/** Files below which a set is imported on this thread alone: starting a worker costs more than it saves. */
export const IMPORT_WORKERS_MIN_FILES = 2 * IMPORT_FILES_BATCH;

/**
 * Workers when none is asked for: one per core but the one this thread's pairing and writes
 * keep busy (os.availableParallelism()), none for a small set.
 */
export function defaultImportWorkers(files: number): number {
  return files < IMPORT_WORKERS_MIN_FILES ? 0 : Math.max(availableParallelism() - 1, 0);
}

/** What importFiles needs of the certificate service: the bulk import after the ladder, and its clock. */
export interface ImportFilesDeps {
  importLaddered(
    actor: Actor,
    inputs: ReadonlyArray<{ name: string; outcome: LadderOutcome }>,
    options: ImportOptions & { dryRun?: boolean },
  ): Promise<BulkImportOutcome[]>;
  now(): Date;
}

export interface ImportFilesRefusal {
  file: string;
  /** The certificate's name, when the refusal is of a certificate (not of a whole file). */
  name?: string;
  code: AppError['code'];
  field: string | null;
  message: string;
}

export interface ImportFilesSummary {
  dryRun: boolean;
  /** Certificates found (not CA certificates), after merging the same one found in several files. */
  certificates: number;
  /** Imported (a dry run: would be imported). */
  imported: Array<{ file: string; keyFile: string | null; name: string; certificateNo: number | null }>;
  /** The same certificate is live in the store already: skipped. */
  present: Array<{ file: string; name: string; certificateNo: number | null }>;
  refused: ImportFilesRefusal[];
  /** Imported (or would be) without a private key: no file of the set holds it. */
  noKey: Array<{ file: string; name: string }>;
  /** Files whose keys match no certificate of the set. */
  unusedKeyFiles: string[];
}

/** Batches whose ladder runs ahead of the batch being written, per worker. */
const LADDER_AHEAD_PER_WORKER = 2;

export async function importFiles(
  certificates: ImportFilesDeps,
  actor: Actor,
  files: readonly SourceFile[],
  options: ImportFilesOptions,
): Promise<ImportFilesSummary> {
  authorize(actor, 'certificate.write');
  const pool = startImportFilesPool(options.workers ?? defaultImportWorkers(files.length), {
    ...(options.workerModule ? { module: options.workerModule } : {}),
  });
  try {
    const set = pairFileSet(await pool.parse(files, options.passphrase), options.names);
    const summary: ImportFilesSummary = {
      dryRun: options.dryRun,
      certificates: set.items.length + set.refused.filter((r) => r.error.field === 'name').length,
      imported: [],
      present: [],
      refused: set.refused.map(({ file, error }) => refusal(file, error)),
      noKey: [],
      unusedKeyFiles: set.unusedKeyFiles,
    };
    const batches: Array<typeof set.items> = [];
    for (let start = 0; start < set.items.length; start += IMPORT_FILES_BATCH)
      batches.push(set.items.slice(start, start + IMPORT_FILES_BATCH));
    // The ladder of the batches ahead is asked for before a batch is written, so the workers run
    // it meanwhile; each batch is written in order once its ladder is back (this thread runs
    // queued ladders itself rather than wait idle for it).
    const laddered: Array<Promise<LadderOutcome[]>> = [];
    const ladderUpTo = (last: number): void => {
      for (let next = laddered.length; next <= last && next < batches.length; next++) {
        const ladder = pool.ladder({
          kind: 'ladder',
          inputs: batches[next]!.map((item) => item.input),
          now: certificates.now().getTime(),
        });
        // A batch's failure (an error that is not a refusal) is thrown when that batch's turn
        // comes, as on one thread; until then it is not an unhandled rejection.
        ladder.catch(() => {});
        laddered.push(ladder);
      }
    };
    const ahead = Math.max(pool.workers, 1) * LADDER_AHEAD_PER_WORKER;
    let done = 0;
    options.onProgress?.(0, set.items.length);
    for (const [n, batch] of batches.entries()) {
      ladderUpTo(n + ahead);
      const ladders = await pool.wait(laddered[n]!);
      const outcomes = await certificates.importLaddered(
        actor,
        batch.map((item, i) => ({ name: item.input.name, outcome: ladders[i]! })),
        { origin: 'cli', policy: FILE_SET_POLICY, dryRun: options.dryRun },
      );
      for (const [i, outcome] of outcomes.entries()) {
        const item = batch[i]!;
        const name = item.input.name;
        if (outcome.status === 'refused') {
          const details = outcome.error.details;
          if (outcome.error.code === 'already_exists' && outcome.error.field === 'certificate')
            summary.present.push({
              file: item.file,
              name,
              certificateNo: typeof details?.certificateNo === 'number' ? details.certificateNo : null,
            });
          else summary.refused.push({ ...refusal(item.file, outcome.error), name });
          continue;
        }
        summary.imported.push({
          file: item.file,
          keyFile: item.keyFile,
          name,
          certificateNo: outcome.status === 'imported' ? outcome.certificate.certificateNo : null,
        });
        if (item.keyFile === null) summary.noKey.push({ file: item.file, name });
      }
      done += batch.length;
      options.onProgress?.(done, set.items.length);
    }
    return summary;
  } finally {
    await pool.close();
  }
}

const refusal = (file: string, error: AppError): ImportFilesRefusal => ({
  file,
  code: error.code,
  field: error.field ?? null,
  message: error.message,
});
