/**
 * Certificate use-cases. Every write runs the import ladder (domain/x509/ladder.ts) first, then
 * the duplicate check (ladder step 9, two point reads), then the store write, which is one
 * transaction (repositories/certificates.ts). The check runs before that transaction, not in it:
 * it gives the friendly message, and the store's unique live indexes refuse a duplicate that
 * raced it (already_exists either way). A refused import changes nothing. Reads are tenant-scoped by the actor; another tenant's certificate answers
 * exactly like a missing one. Every read of a private key is audited, success or refusal.
 */
import { AppError, isAppError, isAppErrorWithCode } from '../domain/errors.ts';
import type {
  AuditEvent,
  Certificate,
  CertificateOrigin,
  CertificateSummary,
  CertificateType,
  CertificateVersion,
} from '../domain/model.ts';
import {
  runImportLadder,
  tryImportLadder,
  type ImportCandidate,
  type ImportInput,
  type ImportPolicy,
  type LadderOutcome,
} from '../domain/x509/ladder.ts';
import { fullChainPems } from '../domain/x509/chain.ts';
import type { SourceFile } from '../domain/x509/file-set.ts';
import { confirmCredential, pendingCheck, settleCredential, type Actor } from './actor.ts';
import { importFiles, type ImportFilesOptions, type ImportFilesSummary } from './import-files.ts';
import type { AuditService } from './audit.ts';
import { normaliseSearchQuery } from './certificate-search.ts';
import { authorize } from './policy.ts';
import {
  CERTIFICATE_PAGE_MAX,
  type CertificatePage,
  type CertificateQuery,
  type CertificateWithSecrets,
  type Clock,
  type LiveHolder,
  type RecoveryRefusal,
  type Store,
} from './ports.ts';

const DAY_MS = 86_400_000;

/** The list's text filters, each refused when it holds a control character (`list`). */
const TEXT_FILTERS = [
  'name',
  'nameContains',
  'domain',
  'coversHost',
  'zone',
  'ipAddress',
  'domainContains',
  'issuer',
] as const satisfies ReadonlyArray<keyof CertificateQuery>;

export interface ImportOptions {
  origin: CertificateOrigin;
  /** The face's rules; `now` comes from the injected clock. */
  policy: Omit<ImportPolicy, 'now'>;
  /** Stored type of a new certificate; `EXT` (an import) unless an issuer says otherwise. */
  type?: CertificateType;
  /** The number reserved for a new certificate (an issuance order's); ignored by a replace. */
  certificateNo?: number;
}

/**
 * An import whose fields a face still has to convert to the ladder's PEM input (a picked DER or
 * PKCS#12 file and its passphrase). `fields` runs inside the audited import, after authorisation,
 * so a file it refuses (damaged, wrong passphrase, no certificate) is audited as a refused
 * `certificate.import` of the name, like a refusal of the ladder. The audit keeps only the error's
 * code; the errors carry no secret anyway (der.ts, pkcs12.ts).
 */
export interface ImportUpload {
  name: string;
  fields(): Omit<ImportInput, 'name'>;
}

export interface ReplaceOptions extends ImportOptions {
  /**
   * The name the caller believes the certificate has (NCP v2 `withExternal` with `certificateNo`):
   * checked against the stored name in the same use-case as the write; a mismatch is `not_found`.
   */
  expectedName?: string | undefined;
  /**
   * What the replacement is recorded as: default `certificate.replace` with its origin. An ACME
   * renewal or reissue names itself here (`certificate.renew` with its order), so a renewal is ONE
   * event on the certificate, not a replace plus a second event of the worker's.
   */
  audit?: { action: string; detail: AuditEvent['detail'] };
  /**
   * A replacement given without a private key keeps the current one when its certificate has the
   * same public key (a renewal with the same key: CLI and console). Without it, a certificate
   * whose key differs from the current one's needs its key (`key_missing`) when the current
   * certificate has one. Faces with their own key rule (NCP, NHN, ACM) leave it off.
   */
  keepCurrentKey?: boolean | undefined;
}

/**
 * How long what a replace or a delete leaves behind is kept (`CERTKEEPER_VERSION_RETENTION_DAYS`,
 * `CERTKEEPER_DELETE_RETENTION_DAYS`; app/retention-settings.ts). Versions: 0 keeps them forever.
 * Deleted certificates: 0 purges at deletion (nothing to restore).
 */
export interface RetentionSettings {
  versionRetentionDays: number;
  deleteRetentionDays: number;
}

export const DEFAULT_RETENTION: RetentionSettings = { versionRetentionDays: 90, deleteRetentionDays: 30 };

/** A certificate's versions: the current one (the certificate) and the replaced ones, newest first. */
export interface CertificateVersions {
  certificate: Certificate;
  currentVersion: number;
  previous: CertificateVersion[];
}

/** A recoverable certificate and when the retention pass purges it. */
export interface DeletedCertificate {
  certificate: CertificateSummary;
  purgeAfter: Date;
}

/**
 * Which certificate a file download names: its number; its live name (`name`); or an id as the
 * client sent it (`id`), which names the certificate of that number when it is one written the
 * canonical way (decimal, no leading zero, at most 15 digits) and nothing otherwise.
 */
export type CertificateFileRef = number | { name: string } | { id: string };

export interface CertificateBundle {
  certificate: Certificate;
  certificatePem: string;
  chainPems: string[];
  /** Present only when asked for and the certificate has one; the read is audited. */
  privateKeyPem: string | null;
}

/** One input's outcome in `importMany`: imported (or, in a dry run, valid), or refused with the ladder's error. */
export type BulkImportOutcome =
  | { status: 'imported'; certificate: Certificate }
  | { status: 'valid'; candidate: ImportCandidate }
  | { status: 'refused'; error: AppError };

export type CertificateListQuery = Omit<CertificateQuery, 'tenantId' | 'asOf'>;

export interface CertificateService {
  import(actor: Actor, input: ImportInput | ImportUpload, options: ImportOptions): Promise<Certificate>;
  /** Replaces bytes, key and file in place: same certificateNo, same name. */
  replace(actor: Actor, certificateNo: number, input: ImportInput, options: ReplaceOptions): Promise<Certificate>;
  /**
   * Imports under `input.name`, or replaces in place (same certificateNo) the live certificate of
   * that name (NHN's upload). The ladder runs once; a refusal there (the face's `check` included)
   * is audited as a refused `certificate.import` of the name and writes nothing. Of two uploads of
   * one new name at once, the second replaces what the first created.
   */
  upsertByName(
    actor: Actor,
    input: ImportInput,
    options: ImportOptions,
  ): Promise<{ certificate: Certificate; replaced: boolean }>;
  /**
   * The bulk import: each input through the same ladder and step 9 as `import` (and against the
   * other inputs of the call: the same certificate, key or name twice is refused the second
   * time), the accepted ones written in one store transaction, each audited as its own
   * `certificate.import` (refusals too). Outcomes in input order. When the batch write is
   * refused (a race with another writer), each is inserted on its own, with its own outcome.
   * `dryRun`: validate only; nothing written or audited.
   */
  importMany(
    actor: Actor,
    inputs: readonly ImportInput[],
    options: ImportOptions & { dryRun?: boolean },
  ): Promise<BulkImportOutcome[]>;
  /**
   * The bulk import of a set of files (core/import-files.ts): keys paired by public key, chains
   * from the set, names from file stems or CNs, then `importMany` in batches; a summary of what
   * became of each certificate and each refused file.
   */
  importFiles(actor: Actor, files: readonly SourceFile[], options: ImportFilesOptions): Promise<ImportFilesSummary>;
  /** Runs the ladder only (step 9 included), for dry runs and the console's live validation. */
  validate(actor: Actor, input: ImportInput | ImportUpload, options: ImportOptions): Promise<ImportCandidate>;
  list(actor: Actor, query: CertificateListQuery): Promise<CertificatePage>;
  /**
   * Every certificate the query matches, in the list order, read in pages of CERTIFICATE_PAGE_MAX.
   * Refused with `invalid_argument` (field `all`, details `total` and `max`) when more than `max`
   * match, before reading past the first page.
   */
  listAll(actor: Actor, query: Omit<CertificateListQuery, 'offset' | 'limit'>, max: number): Promise<CertificatePage>;
  get(actor: Actor, certificateNo: number): Promise<Certificate>;
  getByName(actor: Actor, name: string): Promise<Certificate>;
  export(actor: Actor, certificateNo: number, options: { includeKey: boolean }): Promise<CertificateBundle>;
  /**
   * The NHN file: as uploaded, or composed from certificate, chain and key. Every attempt that
   * passes `certificate.read` is audited (`certificate.file.read`): a hit under `certificate:<no>`,
   * a miss under the reference given (`certificate:<no or id>`, `certificate-name:<name>`).
   */
  readFile(actor: Actor, ref: CertificateFileRef): Promise<{ name: string; bytes: Buffer; composed: boolean }>;
  /**
   * Refused while in use. With `expectedName`, the name must match too (NCP's delete contract).
   * Recoverable for `deleteRetentionDays` (`restore`), purged at once when that is 0. Its name,
   * certificate and key are free for new imports at once either way.
   */
  delete(actor: Actor, certificateNo: number, options?: { expectedName?: string }): Promise<Certificate>;
  /** The live certificate's versions; `not_found` like `get`. */
  versions(actor: Actor, certificateNo: number): Promise<CertificateVersions>;
  /**
   * One version of a live certificate (the current one included) as `export` gives it; the key
   * read is audited like `export`'s (`certificate.key.read`, with the version in the detail).
   */
  exportVersion(
    actor: Actor,
    certificateNo: number,
    version: number,
    options: { includeKey: boolean },
  ): Promise<CertificateBundle & { version: number }>;
  /** Recoverable certificates, most recently deleted first. */
  listDeleted(
    actor: Actor,
    page: { offset: number; limit: number },
  ): Promise<{ items: DeletedCertificate[]; total: number }>;
  /**
   * Brings a recoverable certificate back, same number, name, key and versions. Refused
   * (`already_exists`, naming the holder) while a live certificate holds its name, certificate
   * or key; `conflict` when it is not deleted; `not_found` when missing or purged.
   */
  restore(actor: Actor, certificateNo: number): Promise<Certificate>;
  /** Purges a deleted certificate now (key, file and versions dropped); `conflict` when it is live. */
  purge(actor: Actor, certificateNo: number): Promise<void>;
  usedBy(actor: Actor, certificateNo: number): Promise<number[]>;
  /**
   * Gives a live certificate that has no private key (NCP status 2: reissued with the user's CSR)
   * its key: the same certificate and chain through the ladder with the key required, so a key
   * that does not match is `key_mismatch` and nothing is written; then replaced in place (edge
   * slots republish: the keyless replacement before it published nothing). `conflict` when the
   * certificate has a key already.
   */
  registerKey(actor: Actor, certificateNo: number, privateKeyPem: string): Promise<Certificate>;
}

/**
 * The one rule of key export: the key of a Global Edge dedicated certificate serves edge slots
 * only; no face exports it (key download, composed NHN file, ACM export, CLI). Every export
 * path of core calls this; faces render `key_not_exportable` with their own documented error.
 */
export function assertKeyExportable(certificate: Pick<Certificate, 'type' | 'certificateNo'>): void {
  if (certificate.type === 'NCP_GLOBAL_EDGE_DEDICATED')
    throw new AppError(
      'key_not_exportable',
      `Certificate ${certificate.certificateNo} is a Global Edge dedicated certificate: its private key serves edge slots only and is never exported.`,
      { field: 'certificateNo' },
    );
}

const notFound = (certificateNo: number | string): AppError =>
  new AppError(
    'not_found',
    `No certificate ${typeof certificateNo === 'number' ? `number ${certificateNo}` : `named '${certificateNo}'`}.`,
    { field: 'certificateNo' },
  );

/** How much of a caller's name a message quotes back. */
const QUOTED_NAME_MAX = 255;
const quoted = (name: string): string => (name.length > QUOTED_NAME_MAX ? `${name.slice(0, QUOTED_NAME_MAX)}…` : name);

const CANONICAL_NUMBER = /^[1-9][0-9]{0,14}$/;

/**
 * What replacing a certificate asks of edge provisioning: the slots that use it republish
 * (ProvisioningService.certificateReplaced).
 */
export interface ReplacementRepublisher {
  certificateReplaced(actor: Actor, certificateNo: number): Promise<number[]>;
}

export function createCertificateService(
  store: Store,
  clock: Clock,
  audit: AuditService,
  slots: ReplacementRepublisher,
  retention: RetentionSettings = DEFAULT_RETENTION,
): CertificateService {
  function ladder(input: ImportInput | ImportUpload, options: ImportOptions): ImportCandidate {
    const fields = 'fields' in input ? { name: input.name, ...input.fields() } : input;
    return runImportLadder(fields, { ...options.policy, now: clock.now() });
  }

  /**
   * `importMany` after the ladder: step 9 for the batch, then the checks in input order, the
   * accepted ones written in one transaction, each audited. Each input is a name and the ladder's
   * outcome for it under `options.policy`, run by the caller: `importMany` here, the bulk import
   * on worker threads (core/import-files-pool.ts).
   */
  async function importLaddered(
    actor: Actor,
    inputs: ReadonlyArray<{ name: string; outcome: LadderOutcome }>,
    options: ImportOptions & { dryRun?: boolean },
  ): Promise<BulkImportOutcome[]> {
    authorize(actor, 'certificate.write');
    const outcomes: BulkImportOutcome[] = new Array(inputs.length);
    const accepted: Array<{ index: number; candidate: ImportCandidate }> = [];
    const fingerprints = new Set<string>();
    const keys = new Set<string>();
    const names = new Set<string>();
    // Appended without waiting one by one: the audit's group commit writes them together. A
    // failed append fails the call once all are settled (none left unhandled meanwhile).
    const recorded: Array<Promise<unknown>> = [];
    let auditFailure: { error: unknown } | null = null;
    const record = (event: Promise<void>): void => {
      recorded.push(event.catch((error: unknown) => (auditFailure ??= { error })));
    };
    const refuse = (index: number, error: unknown): void => {
      if (!isAppError(error)) throw error;
      outcomes[index] = { status: 'refused', error };
      if (!options.dryRun)
        record(
          audit.record(actor, 'certificate.import', `certificate-name:${inputs[index]!.name}`, 'failure', {
            origin: options.origin,
            code: error.code,
          }),
        );
    };
    // Step 9 for the batch in one lookup (findLiveHolders), then the checks in input order, as
    // `import` would make them one after the other.
    const laddered = inputs.map((input) => input.outcome);
    const candidates = laddered.flatMap((result) => ('candidate' in result ? [result.candidate] : []));
    const holders = await store.certificates.findLiveHolders(actor.tenantId, {
      fingerprints: candidates.map((candidate) => candidate.facts.fingerprintSha256),
      spkis: candidates.map((candidate) => candidate.facts.publicKeyFingerprintSha256),
      names: candidates.map((candidate) => candidate.name),
    });
    // Each value is held by one live certificate at most (the unique live indexes).
    const byFingerprintOf = new Map(holders.map((holder) => [holder.fingerprintSha256, holder]));
    const byKeyOf = new Map(holders.map((holder) => [holder.publicKeyFingerprintSha256, holder]));
    const byNameOf = new Map(holders.map((holder) => [holder.name, holder]));
    for (const [index, result] of laddered.entries()) {
      try {
        if ('error' in result) throw result.error;
        const { candidate } = result;
        // As findDuplicate answers: the lower number when two live certificates match.
        const byFingerprint = byFingerprintOf.get(candidate.facts.fingerprintSha256);
        const byKey = byKeyOf.get(candidate.facts.publicKeyFingerprintSha256);
        const duplicate =
          byFingerprint && byKey
            ? byFingerprint.certificateNo <= byKey.certificateNo
              ? byFingerprint
              : byKey
            : (byFingerprint ?? byKey);
        if (duplicate) refuseDuplicate(candidate, duplicate, null);
        if (fingerprints.has(candidate.facts.fingerprintSha256))
          throw new AppError('already_exists', 'This certificate is given twice in this import.', {
            field: 'certificate',
          });
        if (keys.has(candidate.facts.publicKeyFingerprintSha256))
          throw new AppError(
            'already_exists',
            'This key is used by another certificate of this import; each certificate needs its own key.',
            { field: 'privateKey' },
          );
        if (names.has(candidate.name) || byNameOf.has(candidate.name))
          throw new AppError('already_exists', `A certificate named '${quoted(candidate.name)}' already exists.`, {
            field: 'name',
          });
        fingerprints.add(candidate.facts.fingerprintSha256);
        keys.add(candidate.facts.publicKeyFingerprintSha256);
        names.add(candidate.name);
        accepted.push({ index, candidate });
      } catch (error) {
        refuse(index, error);
      }
    }
    if (options.dryRun) {
      for (const { index, candidate } of accepted) outcomes[index] = { status: 'valid', candidate };
      return outcomes;
    }
    const newCertificate = (candidate: ImportCandidate) => ({
      tenantId: actor.tenantId,
      name: candidate.name,
      type: options.type ?? 'EXT',
      ...newCertificateFields(candidate, options),
    });
    let written: Certificate[] | null = null;
    try {
      written = await store.certificates.insertMany(
        actor.tenantId,
        accepted.map(({ candidate }) => newCertificate(candidate)),
        clock.now(),
      );
    } catch {
      // Another writer took a name, certificate or key since step 9 (or the batch failed for a
      // reason of one row): each on its own, so each gets its own outcome.
    }
    for (const [i, { index, candidate }] of accepted.entries()) {
      let certificate = written?.[i];
      if (!certificate) {
        try {
          certificate = await store.certificates.insert(newCertificate(candidate), clock.now());
        } catch (error) {
          refuse(index, error);
          continue;
        }
      }
      outcomes[index] = { status: 'imported', certificate };
      record(
        audit.record(actor, 'certificate.import', `certificate-name:${candidate.name}`, 'success', {
          origin: options.origin,
        }),
      );
    }
    await Promise.all(recorded);
    if (auditFailure) throw (auditFailure as { error: unknown }).error;
    return outcomes;
  }

  /** Step 9: a friendly message for the common case; the unique indexes close the race. */
  async function checkDuplicate(tenantId: number, candidate: ImportCandidate, except: number | null): Promise<void> {
    const duplicate = await store.certificates.findDuplicate(tenantId, candidate.facts);
    if (duplicate)
      refuseDuplicate(
        candidate,
        {
          certificateNo: duplicate.certificateNo,
          name: duplicate.name,
          fingerprintSha256: duplicate.facts.fingerprintSha256,
        },
        except,
      );
  }

  /** Step 9's refusal, when the live certificate that holds the candidate's certificate or key is not `except`. */
  function refuseDuplicate(
    candidate: ImportCandidate,
    duplicate: Pick<LiveHolder, 'certificateNo' | 'name' | 'fingerprintSha256'>,
    except: number | null,
  ): void {
    if (duplicate.certificateNo !== except) {
      const sameCertificate = duplicate.fingerprintSha256 === candidate.facts.fingerprintSha256;
      throw new AppError(
        'already_exists',
        sameCertificate
          ? `This certificate is already registered as '${duplicate.name}' (number ${duplicate.certificateNo}).`
          : `This key is already used by certificate '${duplicate.name}' (number ${duplicate.certificateNo}); each certificate needs its own key.`,
        { field: sameCertificate ? 'certificate' : 'privateKey', details: { certificateNo: duplicate.certificateNo } },
      );
    }
  }

  const audited = audit.around;

  /** The edge slots using the certificate (ports.ts CertificateUsageRepository: the one answer to "in use"). */
  const usersOf = async (tenantId: number, certificateNo: number): Promise<number[]> =>
    (await store.usage.usersOf(tenantId, [certificateNo])).get(certificateNo) ?? [];

  /** The live certificate of that number; with `expectedName`, only if it has that name. */
  async function getLive(actor: Actor, certificateNo: number, expectedName?: string): Promise<Certificate> {
    const certificate = await store.certificates.get(actor.tenantId, certificateNo);
    if (!certificate || certificate.deletedAt) throw notFound(certificateNo);
    if (expectedName !== undefined && expectedName !== certificate.name) {
      throw new AppError('not_found', `Certificate ${certificateNo} is not named '${quoted(expectedName)}'.`, {
        field: 'certificateName',
      });
    }
    return certificate;
  }

  async function liveByName(tenantId: number, name: string): Promise<Certificate | null> {
    const certificate = await store.certificates.getByName(tenantId, name);
    return certificate && !certificate.deletedAt ? certificate : null;
  }

  function newCertificateFields(candidate: ImportCandidate, options: ImportOptions) {
    return {
      origin: options.origin,
      certificatePem: candidate.leaf.pem,
      chainPems: candidate.chainPems,
      facts: candidate.facts,
      privateKeyPem: candidate.privateKey?.pkcs8Pem ?? null,
      file: candidate.file,
    };
  }

  /** The audited write of a new certificate; `candidateOf` runs the ladder (or hands over its result). */
  function insertNew(
    actor: Actor,
    name: string,
    options: ImportOptions,
    candidateOf: () => ImportCandidate,
  ): Promise<Certificate> {
    // The success event commits in the certificate's own transaction (audit.ts `aroundWrite`).
    return audit.aroundWrite(
      actor,
      'certificate.import',
      `certificate-name:${name}`,
      async (success) => {
        const candidate = candidateOf();
        await checkDuplicate(actor.tenantId, candidate, null);
        return store.certificates.insert(
          {
            tenantId: actor.tenantId,
            name: candidate.name,
            type: options.type ?? 'EXT',
            ...newCertificateFields(candidate, options),
            ...(options.certificateNo !== undefined ? { certificateNo: options.certificateNo } : {}),
          },
          clock.now(),
          success(),
        );
      },
      { origin: options.origin },
    );
  }

  /**
   * The audited in-place replacement of a live certificate (and, with `expectedName`, only of that
   * name), then the republish step: every replace path (replace, upsertByName) goes through here.
   */
  async function replaceLive(
    actor: Actor,
    certificateNo: number,
    options: ReplaceOptions,
    candidateOf: () => ImportCandidate,
  ): Promise<Certificate> {
    const replaced = await audited(
      actor,
      options.audit?.action ?? 'certificate.replace',
      `certificate:${certificateNo}`,
      async () => {
        const current = await getLive(actor, certificateNo, options.expectedName);
        let candidate = candidateOf();
        if (options.keepCurrentKey && candidate.privateKey === null && current.hasPrivateKey) {
          candidate = await withCurrentKey(actor, current, candidate, options);
        }
        await checkDuplicate(actor.tenantId, candidate, certificateNo);
        return store.certificates.replace(
          actor.tenantId,
          certificateNo,
          newCertificateFields(candidate, options),
          clock.now(),
          actor.id,
        );
      },
      { origin: options.origin, ...options.audit?.detail },
    );
    // The edge slots using the certificate republish it; the target gets the new bytes over the
    // old ones atomically, so it never holds no certificate. The replacement is committed: a
    // failure to record the republish (store hiccup, crash) must not make it an error for the
    // caller. The worker's stale-certificate sweep (deploy/worker.ts) finds those slots anyway:
    // their published fingerprint is no longer the stored certificate's.
    // A replacement without a key (a reissue with the user's CSR, NCP status 2) is not published:
    // a slot cannot serve a certificate whose key certkeeper does not hold, so the slots keep the
    // previous certificate until `registerKey` gives the key, a replace that republishes them
    // (the sweep skips keyless certificates too: SlotLeaseRepository.republishStale).
    if (replaced.hasPrivateKey) await slots.certificateReplaced(actor, certificateNo).catch(() => undefined);
    return replaced;
  }

  /**
   * `keepCurrentKey`: a replacement without a key, for a certificate that has one. The same public
   * key: the ladder runs again with the stored key (which it checks against the new certificate);
   * the key stays inside core, so this is not a key read. Another key: it must be given.
   */
  async function withCurrentKey(
    actor: Actor,
    current: Certificate,
    candidate: ImportCandidate,
    options: ReplaceOptions,
  ): Promise<ImportCandidate> {
    if (candidate.facts.publicKeyFingerprintSha256 !== current.facts.publicKeyFingerprintSha256) {
      throw new AppError(
        'key_missing',
        `The new certificate has a different key than certificate ${current.certificateNo}'s current one; give its private key as well.`,
        { field: 'privateKey' },
      );
    }
    const privateKey = await store.certificates.readPrivateKey(actor.tenantId, current.certificateNo);
    if (privateKey === null) return candidate;
    return ladder(
      {
        name: candidate.name,
        certificate: candidate.leaf.pem,
        chain: candidate.chainPems.join(''),
        privateKey,
      },
      options,
    );
  }

  /** The live certificate's version `version` (its current one included), or `not_found` naming the versions there are. */
  async function versionOf(actor: Actor, certificateNo: number, version: number) {
    const certificate = await getLive(actor, certificateNo);
    const current = await store.certificateVersions.currentVersion(actor.tenantId, certificateNo);
    if (current === null) throw notFound(certificateNo);
    if (version === current) return { certificate, current, old: null };
    const old = Number.isSafeInteger(version)
      ? await store.certificateVersions.get(actor.tenantId, certificateNo, version)
      : null;
    if (!old) {
      const kept = (await store.certificateVersions.list(actor.tenantId, certificateNo)).map((v) => v.version);
      throw new AppError(
        'not_found',
        `Certificate ${certificateNo} has no version ${String(version).slice(0, 32)}; its versions are ${[current, ...kept].join(', ')} (${current} is current).`,
        { field: 'version' },
      );
    }
    return { certificate, current, old };
  }

  /** The friendly answer to a restore that would collide; the unique live indexes close the race. */
  async function checkRestorable(tenantId: number, deleted: Certificate): Promise<void> {
    const named = await liveByName(tenantId, deleted.name);
    if (named) {
      throw new AppError(
        'already_exists',
        `Cannot restore certificate ${deleted.certificateNo}: certificate ${named.certificateNo} now has the name '${deleted.name}'. Delete that one first to restore this one.`,
        { field: 'name', details: { certificateNo: named.certificateNo } },
      );
    }
    const holder = await store.certificates.findDuplicate(tenantId, deleted.facts);
    if (holder) {
      const sameCertificate = holder.facts.fingerprintSha256 === deleted.facts.fingerprintSha256;
      throw new AppError(
        'already_exists',
        `Cannot restore certificate ${deleted.certificateNo}: its ${sameCertificate ? 'certificate' : 'key'} is now used by certificate '${holder.name}' (number ${holder.certificateNo}). Delete that one first to restore this one.`,
        {
          field: sameCertificate ? 'certificate' : 'privateKey',
          details: { certificateNo: holder.certificateNo },
        },
      );
    }
  }

  const refused = (certificateNo: number, refusal: RecoveryRefusal, verb: 'restore' | 'purge'): AppError =>
    refusal === 'live'
      ? new AppError(
          'conflict',
          verb === 'restore'
            ? `Certificate ${certificateNo} is not deleted; there is nothing to restore.`
            : `Certificate ${certificateNo} is not deleted; delete it first (purge applies to deleted certificates only).`,
          { field: 'certificateNo' },
        )
      : new AppError(
          'not_found',
          refusal === 'purged'
            ? `Certificate ${certificateNo} was purged; it cannot be ${verb === 'restore' ? 'restored' : 'purged again'}.`
            : `No deleted certificate number ${certificateNo}.`,
          { field: 'certificateNo' },
        );

  /** The certificate a download names, and the audit target of a miss. */
  /** The live certificate a file download names, with its secrets (unsealed when asked), and its audit target. */
  async function fileTarget(actor: Actor, ref: CertificateFileRef): Promise<[CertificateWithSecrets | null, string]> {
    const { tenantId } = actor;
    const check = pendingCheck(actor);
    if (typeof ref === 'number')
      return [await store.certificates.getWithSecrets(tenantId, { certificateNo: ref }, check), `certificate:${ref}`];
    if ('name' in ref)
      return [
        await store.certificates.getWithSecrets(tenantId, { name: ref.name }, check),
        `certificate-name:${ref.name}`,
      ];
    const target = `certificate:${ref.id.slice(0, 32)}`;
    if (!CANONICAL_NUMBER.test(ref.id)) return [null, target];
    return [await store.certificates.getWithSecrets(tenantId, { certificateNo: Number(ref.id) }, check), target];
  }

  const service: CertificateService = {
    async import(actor, input, options) {
      authorize(actor, 'certificate.write');
      return insertNew(actor, input.name, options, () => ladder(input, options));
    },

    async replace(actor, certificateNo, input, options) {
      authorize(actor, 'certificate.write');
      return replaceLive(actor, certificateNo, options, () => ladder(input, options));
    },

    async upsertByName(actor, input, options) {
      authorize(actor, 'certificate.write');
      let candidate: ImportCandidate;
      try {
        candidate = ladder(input, options);
      } catch (error) {
        // Refused before any lookup: recorded as the import of that name it would have been.
        await audit.record(actor, 'certificate.import', `certificate-name:${input.name}`, 'failure', {
          origin: options.origin,
          code: isAppError(error) ? error.code : 'internal',
        });
        throw error;
      }
      const validated = (): ImportCandidate => candidate;
      const existing = await liveByName(actor.tenantId, input.name);
      if (existing) {
        return { certificate: await replaceLive(actor, existing.certificateNo, options, validated), replaced: true };
      }
      try {
        return { certificate: await insertNew(actor, input.name, options, validated), replaced: false };
      } catch (error) {
        // Two uploads of a new name at once: the name's unique index refused the second insert,
        // which then replaces what the first created.
        if (!isAppErrorWithCode(error, 'already_exists') || error.field !== 'name') throw error;
        const created = await liveByName(actor.tenantId, input.name);
        if (!created) throw error;
        return { certificate: await replaceLive(actor, created.certificateNo, options, validated), replaced: true };
      }
    },

    importMany(actor, inputs, options) {
      authorize(actor, 'certificate.write');
      return importLaddered(
        actor,
        inputs.map((input) => ({
          name: input.name,
          outcome: tryImportLadder(input, { ...options.policy, now: clock.now() }),
        })),
        options,
      );
    },

    importFiles(actor, files, options) {
      return importFiles({ importLaddered, now: () => clock.now() }, actor, files, options);
    },

    async validate(actor, input, options) {
      authorize(actor, 'certificate.write');
      const candidate = ladder(input, options);
      await checkDuplicate(actor.tenantId, candidate, null);
      return candidate;
    },

    async list(actor, query) {
      authorize(actor, 'certificate.read');
      for (const field of TEXT_FILTERS) {
        const value = query[field];
        // No stored name or domain holds a control character, and PostgreSQL refuses NUL in text:
        // answer as a bad argument instead of letting the driver fail.
        // eslint-disable-next-line no-control-regex -- matching control characters is the point
        if (value !== undefined && /[\u0000-\u001f\u007f]/.test(value)) {
          throw new AppError('invalid_argument', `The ${field} filter contains a control character.`, { field });
        }
      }
      const limit = Math.min(Math.max(Math.trunc(query.limit), 0), CERTIFICATE_PAGE_MAX);
      const offset = Math.max(Math.trunc(query.offset), 0);
      const search = normaliseSearchQuery({ ...query, limit, offset });
      const page = await store.certificates.list(
        { ...search, tenantId: actor.tenantId, asOf: clock.now() },
        pendingCheck(actor),
      );
      settleCredential(actor);
      return page;
    },

    async listAll(actor, query, max) {
      const first = await service.list(actor, { ...query, offset: 0, limit: CERTIFICATE_PAGE_MAX });
      if (first.total > max) {
        throw new AppError(
          'invalid_argument',
          `At most ${max} certificates can be listed at once; ${first.total} match.`,
          {
            field: 'all',
            details: { total: first.total, max },
          },
        );
      }
      const items = [...first.items];
      while (items.length < first.total) {
        const next = await service.list(actor, { ...query, offset: items.length, limit: CERTIFICATE_PAGE_MAX });
        if (next.items.length === 0) break;
        items.push(...next.items);
      }
      return { items, total: first.total, totalExact: first.totalExact };
    },

    async get(actor, certificateNo) {
      authorize(actor, 'certificate.read');
      return getLive(actor, certificateNo);
    },

    async getByName(actor, name) {
      authorize(actor, 'certificate.read');
      const certificate = await store.certificates.getByName(actor.tenantId, name);
      if (!certificate || certificate.deletedAt) throw notFound(name);
      return certificate;
    },

    async export(actor, certificateNo, options) {
      authorize(actor, 'certificate.read');
      const certificate = await getLive(actor, certificateNo);
      let privateKeyPem: string | null = null;
      if (options.includeKey) {
        privateKeyPem = await audited(actor, 'certificate.key.read', `certificate:${certificateNo}`, async () => {
          authorize(actor, 'certificate.key.read');
          assertKeyExportable(certificate);
          return store.certificates.readPrivateKey(actor.tenantId, certificateNo);
        });
      }
      return {
        certificate,
        certificatePem: certificate.certificatePem,
        chainPems: certificate.chainPems,
        privateKeyPem,
      };
    },

    async readFile(actor, ref) {
      authorize(actor, 'certificate.read');
      const [found, missTarget] = await fileTarget(actor, ref);
      // Before the miss's audit or any unsealing: refused here when the credential is revoked.
      await confirmCredential(store, actor);
      const certificate = found?.certificate;
      if (!found || !certificate || certificate.deletedAt) {
        await audit.record(actor, 'certificate.file.read', missTarget, 'failure', { code: 'not_found' });
        if (typeof ref === 'number' || 'name' in ref) throw notFound(typeof ref === 'number' ? ref : ref.name);
        throw new AppError('not_found', `No certificate has the id '${quoted(ref.id)}'.`, { field: 'certificateNo' });
      }
      const { certificateNo } = certificate;
      return audited(actor, 'certificate.file.read', `certificate:${certificateNo}`, async () => {
        authorize(actor, 'certificate.file.read');
        assertKeyExportable(certificate);
        // Unsealed here, inside the audit and after the checks (read with the row, on PostgreSQL).
        const uploaded = await found.readFile();
        if (uploaded) return { ...uploaded, composed: false };
        // Came in through another face: compose the file NHN clients expect, the full chain (leaf and
        // issuers, a self-signed root left out) then the key.
        const key = await found.readPrivateKey();
        const text = [...fullChainPems(certificate.certificatePem, certificate.chainPems), ...(key ? [key] : [])].join(
          '',
        );
        return { name: `${certificate.name}.pem`, bytes: Buffer.from(text, 'utf8'), composed: true };
      });
    },

    async delete(actor, certificateNo, options = {}) {
      authorize(actor, 'certificate.write');
      return audited(actor, 'certificate.delete', `certificate:${certificateNo}`, async () => {
        const certificate = await getLive(actor, certificateNo, options.expectedName);
        // The usual answer, with every slot named; markDeleted checks again under the certificate
        // row's lock, for a provision racing this delete (ports.ts CertificateUsageRepository).
        const users = await usersOf(actor.tenantId, certificateNo);
        if (users.length > 0) {
          throw new AppError(
            'in_use',
            `Certificate '${certificate.name}' is in use by ${users.length} instance(s) (${users.join(', ')}); remove it from them first.`,
            {
              details: { instances: users.join(',') },
            },
          );
        }
        const at = clock.now();
        const purge = retention.deleteRetentionDays === 0;
        if (!(await store.certificates.markDeleted(actor.tenantId, certificateNo, at, { purge })))
          throw notFound(certificateNo);
        return { ...certificate, deletedAt: at, updatedAt: at };
      });
    },

    async versions(actor, certificateNo) {
      authorize(actor, 'certificate.read');
      const certificate = await getLive(actor, certificateNo);
      const currentVersion = await store.certificateVersions.currentVersion(actor.tenantId, certificateNo);
      if (currentVersion === null) throw notFound(certificateNo);
      const previous = await store.certificateVersions.list(actor.tenantId, certificateNo);
      return { certificate, currentVersion, previous };
    },

    async exportVersion(actor, certificateNo, version, options) {
      authorize(actor, 'certificate.read');
      const { certificate, old } = await versionOf(actor, certificateNo, version);
      let privateKeyPem: string | null = null;
      if (options.includeKey) {
        privateKeyPem = await audited(
          actor,
          'certificate.key.read',
          `certificate:${certificateNo}`,
          async () => {
            authorize(actor, 'certificate.key.read');
            return old
              ? store.certificateVersions.readPrivateKey(actor.tenantId, certificateNo, version)
              : store.certificates.readPrivateKey(actor.tenantId, certificateNo);
          },
          { version },
        );
      }
      return {
        certificate,
        version,
        certificatePem: old ? old.certificatePem : certificate.certificatePem,
        chainPems: old ? old.chainPems : certificate.chainPems,
        privateKeyPem,
      };
    },

    async listDeleted(actor, page) {
      authorize(actor, 'certificate.read');
      const limit = Math.min(Math.max(Math.trunc(page.limit), 0), CERTIFICATE_PAGE_MAX);
      const offset = Math.max(Math.trunc(page.offset), 0);
      const found = await store.certificates.listDeleted(actor.tenantId, { offset, limit });
      const keepMs = retention.deleteRetentionDays * DAY_MS;
      return {
        total: found.total,
        items: found.items.map((certificate) => ({
          certificate,
          purgeAfter: new Date((certificate.deletedAt ?? certificate.updatedAt).getTime() + keepMs),
        })),
      };
    },

    async restore(actor, certificateNo) {
      authorize(actor, 'certificate.write');
      return audited(actor, 'certificate.restore', `certificate:${certificateNo}`, async () => {
        const deleted = await store.certificates.getRecoverable(actor.tenantId, certificateNo);
        if (deleted) await checkRestorable(actor.tenantId, deleted);
        const restored = await store.certificates.restore(actor.tenantId, certificateNo, clock.now());
        if (typeof restored === 'string') throw refused(certificateNo, restored, 'restore');
        return restored;
      });
    },

    async purge(actor, certificateNo) {
      authorize(actor, 'certificate.write');
      await audited(actor, 'certificate.purge', `certificate:${certificateNo}`, async () => {
        const purged = await store.certificates.purge(actor.tenantId, certificateNo, clock.now());
        if (purged !== true) throw refused(certificateNo, purged, 'purge');
      });
    },

    async usedBy(actor, certificateNo) {
      authorize(actor, 'certificate.read');
      return usersOf(actor.tenantId, certificateNo);
    },

    async registerKey(actor, certificateNo, privateKeyPem) {
      authorize(actor, 'certificate.write');
      const current = await getLive(actor, certificateNo);
      if (current.hasPrivateKey)
        throw new AppError('conflict', `Certificate ${certificateNo} has its private key already.`, {
          field: 'certificateNo',
        });
      const options: ReplaceOptions = {
        origin: current.origin,
        policy: { requireKey: true, allowEd25519: false, nameRule: null },
      };
      const input: ImportInput = {
        name: current.name,
        certificate: current.certificatePem,
        chain: current.chainPems.join(''),
        privateKey: privateKeyPem,
      };
      return replaceLive(actor, certificateNo, options, () => ladder(input, options));
    },
  };
  return service;
}
