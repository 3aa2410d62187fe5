/**
 * The bulk import of a set of files (`certkeeper cert import-dir`): the files sorted into
 * certificates with their keys and chains (domain/x509/file-set.ts), then imported through
 * `CertificateService.importMany` in batches: the same ladder, step 9 and audit as one import,
 * many certificates per store transaction. The summary says what became of every certificate and
 * every refused file.
 */
import type { AppError } from '../domain/errors.ts';
import { FILE_NAME_RULE, sortFileSet, type NameSource, type SourceFile } from '../domain/x509/file-set.ts';
import type { Actor } from './actor.ts';
import type { CertificateService } from './certificates.ts';
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

export async function importFiles(
  certificates: CertificateService,
  actor: Actor,
  files: readonly SourceFile[],
  options: ImportFilesOptions,
): Promise<ImportFilesSummary> {
  authorize(actor, 'certificate.write');
  const set = sortFileSet(files, { passphrase: options.passphrase, names: options.names });
  const summary: ImportFilesSummary = {
    dryRun: options.dryRun,
    certificates: set.items.length + set.refused.filter((r) => r.error.field === 'name').length,
    imported: [],
    present: [],
    refused: set.refused.map(({ file, error }) => refusal(file, error)),
    noKey: [],
    unusedKeyFiles: set.unusedKeyFiles,
  };
  options.onProgress?.(0, set.items.length);
  for (let start = 0; start < set.items.length; start += IMPORT_FILES_BATCH) {
    const batch = set.items.slice(start, start + IMPORT_FILES_BATCH);
    const outcomes = await certificates.importMany(
      actor,
      batch.map((item) => item.input),
      {
        origin: 'cli',
        policy: { requireKey: false, allowEd25519: true, nameRule: FILE_NAME_RULE },
        dryRun: options.dryRun,
      },
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
    options.onProgress?.(Math.min(start + batch.length, set.items.length), set.items.length);
  }
  return summary;
}

const refusal = (file: string, error: AppError): ImportFilesRefusal => ({
  file,
  code: error.code,
  field: error.field ?? null,
  message: error.message,
});
