/**
 * CertificateRepository over Kysely (both dialects).
 *
 * Contracts beyond ports.ts:
 * - `get`, `getByName`, `readPrivateKey`, `readFile`, `markDeleted` and `replace` see live
 *   certificates only; a deleted one answers like a missing one. Deleted rows show up only in
 *   `list` with `changedBetween` (recent changes).
 * - `insert` takes the number reserved for the certificate when one is given (dialect.ts
 *   `reservedIds`; an issuance order's), else the next one.
 * - `insert` and `replace` are one transaction each: the certificate row, its sealed key
 *   (AAD `certificate-key:<no>`), its sealed NHN file (AAD `certificate-file:<no>`; the file
 *   holds the key too) and its domain rows all land, or none does.
 * - `markDeleted` frees name, certificate and key for reuse (the unique indexes cover live rows
 *   only); the number is never reused (dialect.ts `autoId`). The sealed key, the uploaded file
 *   and the versions stay until the certificate is purged (`purge`, the retention pass
 *   `purgeExpired`, or `markDeleted` with `purge`), so `restore` can bring it back whole; reads
 *   never serve them meanwhile (they see live certificates only). `hasPrivateKey` keeps saying
 *   whether it had one.
 * - `replace` keeps the row it replaces as a version (certificate-versions.ts), in its transaction.
 * - `insert`, `replace`, `markDeleted` and `restore` keep the search indexes of live certificates
 *   (certificate-search-index.ts) in the same transaction.
 * - `insert`, `replace` (when the expiry day changes), `markDeleted` and `restore` keep the tenant's
 *   counters (certificate-counters.ts) in the same transaction, as their last statements, so a
 *   total read from the counters always equals a count of the rows. Every write of certificate
 *   rows must go through here for that to hold.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import {
  CERTIFICATE_PAGE_MAX,
  type CertificateRepository,
  type LiveHolder,
  type NewAuditEvent,
  type NewCertificate,
  type RecoveryRefusal,
} from '../../core/ports.ts';
import { AppError } from '../../domain/errors.ts';
import type { CertificateSummary } from '../../domain/model.ts';
import type { CertificateFacts } from '../../domain/x509/types.ts';
import type { StoreDialect } from '../dialect.ts';
import { rethrowUniqueViolation, type UniqueCandidate } from '../errors.ts';
import {
  CERTIFICATE_SUMMARY_COLUMNS,
  certificateFromRow,
  factColumns,
  hasChainColumn,
  ms,
  summaryFromRow,
  factsInHand,
  summaryColumns,
  SUMMARY_ROW_COLUMNS,
} from '../rows.ts';
import { insertBatched } from '../batch-insert.ts';
import { checkedReads } from '../credential-check.ts';
import {
  columnKeys,
  listTemplate,
  queryTemplate,
  templateOf,
  type QueryTemplate,
  type RowValues,
} from '../query-template.ts';
import { readPage } from '../known-facts.ts';
import type { CertificateRow, Database } from '../schema.ts';
import { inTransaction } from '../transaction.ts';
import { groupedWrites } from '../write-group.ts';
import type { StoreVault } from '../vault.ts';
import type { AuditWriter } from './audit.ts';
import { adjustCounters, advanceExpiredBefore, utcDay, validityCounts } from './certificate-counters.ts';
import { listCertificates } from './certificate-list.ts';
import { isSearchQuery, searchCertificates } from './certificate-search.ts';
import {
  dropSearchIndex,
  nameGramRowsOf,
  nameRowsOf,
  writeSearchIndex,
  writeSearchIndexes,
} from './certificate-search-index.ts';
import { lockForDeletion, usersOf } from './certificate-usage.ts';
import { archiveVersion, type VersionsDatabase } from './certificate-versions.ts';
import { expiryHistogram } from './expiry-histogram.ts';

/** Numbers per `getMany` query (well under SQLite's and PostgreSQL's bound-parameter limits). */
const GET_MANY_CHUNK = 500;

/**
 * Fault injection for tests: runs inside the write transaction before commit, after every row is
 * written; for a single insert, after its certificate row, before its group writes the rest
 * (`singleInserts`).
 */
export interface CertificateWriteHooks {
  beforeCommit?: (operation: 'insert' | 'replace', certificateNo: number) => void | Promise<void>;
}

export const privateKeyContext = (certificateNo: number): string => `certificate-key:${certificateNo}`;
/** The uploaded NHN file holds the private key as well, so it is sealed like the key. */
export const fileContext = (certificateNo: number): string => `certificate-file:${certificateNo}`;

type Replacement = Omit<NewCertificate, 'tenantId' | 'name' | 'type'>;

/**
 * The insert of a certificate row, built and compiled once per column list (query-template.ts):
 * two lists occur, with and without a reserved number. Kysely building a 20-column insert cost
 * about as much as SQLite inserting the row and its indexes (bench:import-cost --profile).
 */
const insertTemplates = new Map<string, QueryTemplate<Database, unknown[], Selectable<CertificateRow>>>();
function insertTemplate(columns: readonly string[]): QueryTemplate<Database, unknown[], Selectable<CertificateRow>> {
  const key = columns.join(',');
  let template = insertTemplates.get(key);
  if (!template) {
    template = templateOf<Database, Selectable<CertificateRow>>(columns.length, (db, values) =>
      db
        .insertInto('certificates')
        .values(Object.fromEntries(columns.map((column, i) => [column, values[i]])) as Insertable<CertificateRow>)
        .returningAll(),
    );
    insertTemplates.set(key, template);
  }
  return template;
}

/**
 * PostgreSQL (`dialect.arrayParameters`): every row that hangs off new certificates (key, file,
 * domains, and the search rows of certificate-search-index.ts: names and name trigrams) in one
 * statement, each table's rows as one array per column (`unnest`), so a single import's five or
 * six inserts are one round trip, and the text is one whatever the rows (one prepared statement).
 * The same rows as `writeDependents` and `writeSearchIndex` write one table at a time.
 */
const DEPENDENT_COLUMNS = [
  ['certificate_keys', { certificate_no: 'bigint', data_key_id: 'bigint', sealed_key: 'bytea' }],
  ['certificate_files', { certificate_no: 'bigint', name: 'text', data_key_id: 'bigint', sealed_bytes: 'bytea' }],
  ['certificate_domains', { certificate_no: 'bigint', tenant_id: 'bigint', domain: 'text' }],
  ['certificate_names', { tenant_id: 'bigint', kind: 'integer', name_key: 'text', certificate_no: 'bigint' }],
  ['certificate_name_grams', { tenant_id: 'bigint', gram_key: 'text', certificate_no: 'bigint' }],
] as const satisfies ReadonlyArray<readonly [keyof Database, Record<string, string>]>;
type DependentTable = (typeof DEPENDENT_COLUMNS)[number][0];

const dependentsAtOnce = templateOf<Database, unknown>(
  DEPENDENT_COLUMNS.reduce((sum, [, columns]) => sum + Object.keys(columns).length, 0),
  (_db, values) => {
    let next = 0;
    const inserts = DEPENDENT_COLUMNS.map(([table, columns], t) => {
      const names = Object.keys(columns);
      const arrays = Object.values(columns).map((type) => sql`${values[next++]}::${sql.raw(type)}[]`);
      return sql`${sql.raw(`t${t}`)} as (insert into ${sql.table(table)} (${sql.join(names.map((name) => sql.ref(name)))}) select * from unnest(${sql.join(arrays)}))`;
    });
    return sql`with ${sql.join(inserts)} select 1`;
  },
);

/** Runs `dependentsAtOnce` with these rows of each table (any of them empty). */
async function writeDependentsAtOnce(
  trx: Kysely<Database>,
  rows: { [T in DependentTable]: ReadonlyArray<Insertable<Database[T]>> },
): Promise<void> {
  const values = DEPENDENT_COLUMNS.flatMap(([table, columns]) =>
    Object.keys(columns).map((column) =>
      (rows[table] as ReadonlyArray<Record<string, unknown>>).map((row) => row[column]),
    ),
  );
  await dependentsAtOnce.all(trx, ...values);
}

// The single-certificate reads of every request that names one (query-template.ts says why).
const liveRows = (db: Kysely<Database>, tenantId: number) =>
  db.selectFrom('certificates').where('tenant_id', '=', tenantId).where('deleted_at', 'is', null);
const byNumber = queryTemplate((db: Kysely<Database>, tenantId: number, certificateNo: number) =>
  liveRows(db, tenantId).selectAll().where('certificate_no', '=', certificateNo),
);
const byName = queryTemplate((db: Kysely<Database>, tenantId: number, name: string) =>
  liveRows(db, tenantId).selectAll().where('name', '=', name),
);
// Step 9 of a single import (findDuplicate): one template per unique live index.
const byFingerprintOf = queryTemplate((db: Kysely<Database>, tenantId: number, fingerprint: string) =>
  liveRows(db, tenantId).selectAll().where('fingerprint_sha256', '=', fingerprint),
);
const byKeyOf = queryTemplate((db: Kysely<Database>, tenantId: number, spki: string) =>
  liveRows(db, tenantId).selectAll().where('spki_sha256', '=', spki),
);
// PostgreSQL (`dialect.mergesReads`): both lookups in one statement, each still through its own
// index (a `union all` of the two, not an `or`), the lower number first.
const duplicateOf = queryTemplate(
  (db: Kysely<Database>, tenantId: number, fingerprint: string, keyTenantId: number, spki: string) =>
    liveRows(db, tenantId)
      .selectAll()
      .where('fingerprint_sha256', '=', fingerprint)
      .unionAll(liveRows(db, keyTenantId).selectAll().where('spki_sha256', '=', spki))
      .orderBy('certificate_no')
      .limit(sql.lit(1)),
);
const summariesOf = (facts: boolean) =>
  listTemplate(1, (db: Kysely<Database>, [tenantId]: unknown[], certificateNos: unknown[]) =>
    liveRows(db, tenantId as number)
      .select(summaryColumns(facts))
      .select(hasChainColumn('certificates'))
      .where('certificate_no', 'in', certificateNos as number[]),
  );
/** `summariesOf` with and without the facts column (known-facts.ts `readPage`). */
const summariesWithFacts = summariesOf(true);
const summariesWithoutFacts = summariesOf(false);
const SUMMARY_KEYS_BY_NAME = columnKeys(SUMMARY_ROW_COLUMNS, null);

/** `CertificateRepository.getMany`: the live certificates among `certificateNos`, by number. */
export async function liveSummaries(
  db: Kysely<Database>,
  tenantId: number,
  certificateNos: readonly number[],
): Promise<Map<number, CertificateSummary>> {
  const found = new Map<number, CertificateSummary>();
  const distinct = [...new Set(certificateNos)];
  for (let i = 0; i < distinct.length; i += GET_MANY_CHUNK) {
    const chunk = distinct.slice(i, i + GET_MANY_CHUNK);
    // The same certificates asked for again (an Edge list page's, polled) leave out held facts.
    const rows = await readPage(
      `many:${tenantId}:${chunk.join(',')}`,
      (facts) => (facts ? summariesWithFacts : summariesWithoutFacts).all(db, [tenantId], chunk),
      (read) => factsInHand(read as unknown as readonly RowValues[], SUMMARY_KEYS_BY_NAME),
    );
    for (const row of rows) found.set(Number(row.certificate_no), summaryFromRow(row));
  }
  return found;
}

const sealedKeyOf = queryTemplate((db: Kysely<Database>, tenantId: number, certificateNo: number) =>
  liveRows(db, tenantId)
    .innerJoin('certificate_keys', 'certificate_keys.certificate_no', 'certificates.certificate_no')
    .select(['certificate_keys.data_key_id', 'certificate_keys.sealed_key'])
    .where('certificates.certificate_no', '=', certificateNo),
);
const sealedFileOf = queryTemplate((db: Kysely<Database>, tenantId: number, certificateNo: number) =>
  liveRows(db, tenantId)
    .innerJoin('certificate_files', 'certificate_files.certificate_no', 'certificates.certificate_no')
    .select(['certificate_files.name', 'certificate_files.data_key_id', 'certificate_files.sealed_bytes'])
    .where('certificates.certificate_no', '=', certificateNo),
);

/**
 * The row of `getWithSecrets` on PostgreSQL: the certificate (as `byNumber`, `byName`) with its
 * uploaded file and its key, still sealed, left-joined (each table has at most one row per
 * certificate, keyed by its number), so a certificate without them still comes back.
 */
const withSecrets = (db: Kysely<Database>, tenantId: number) =>
  liveRows(db, tenantId)
    .leftJoin('certificate_files as f', 'f.certificate_no', 'certificates.certificate_no')
    .leftJoin('certificate_keys as k', 'k.certificate_no', 'certificates.certificate_no')
    .selectAll('certificates')
    .select([
      'f.name as upload_name',
      'f.data_key_id as upload_data_key_id',
      'f.sealed_bytes as upload_sealed_bytes',
      'k.data_key_id as key_data_key_id',
      'k.sealed_key as key_sealed_key',
    ]);
const withSecretsByNumber = queryTemplate((db: Kysely<Database>, tenantId: number, certificateNo: number) =>
  withSecrets(db, tenantId).where('certificates.certificate_no', '=', certificateNo),
);
const withSecretsByName = queryTemplate((db: Kysely<Database>, tenantId: number, name: string) =>
  withSecrets(db, tenantId).where('certificates.name', '=', name),
);

/** A single insert's part of its group (`singleInserts`): its row as written, input and event. */
interface SingleInsert {
  row: Selectable<CertificateRow>;
  input: NewCertificate;
  audit: NewAuditEvent | undefined;
  /** Set by the group's finish: what the audit does once the event is committed. */
  committed: (() => void) | null;
}

export function certificateRepository(
  db: Kysely<Database>,
  dialect: StoreDialect,
  vault: StoreVault,
  hooks: CertificateWriteHooks = {},
  /** How `insert` writes its `audit` event (the store's audit repository); benches that read only go without. */
  writeAudit?: AuditWriter,
): CertificateRepository {
  const live = (tenantId: number) => liveRows(db, tenantId);
  const vdb = db as unknown as Kysely<VersionsDatabase>;
  /**
   * Single inserts share a transaction with the concurrent ones (of their tenant on PostgreSQL;
   * write-group.ts): each writes its certificate row in its own savepoint, which is where a unique
   * index refuses it, and the group's finish writes what hangs off the rows that landed, in one
   * go: dependents and search rows, counters (one update of the tenant's rows for the group) and
   * the audit events (one chain step). The hot rows, the counters and the chain head, are thus
   * locked once per group and only from its finish to its commit.
   */
  const singleInserts = groupedWrites<Database, SingleInsert>(db, dialect, async (trx, inserts) => {
    for (const [tenantId, ofTenant] of Map.groupBy(inserts, (insert) => insert.input.tenantId)) {
      await writeNewRows(
        trx,
        tenantId,
        ofTenant.map(({ row, input }) => ({ certificateNo: Number(row.certificate_no), input })),
      );
      await adjustCounters(trx, tenantId, counted(ofTenant.map(({ row }) => row)), dialect.arrayParameters);
    }
    // Last: the chain head's lock (PostgreSQL) is held for the shortest time.
    const audited = inserts.filter((insert) => insert.audit !== undefined);
    if (audited.length === 0) return;
    if (!writeAudit) throw new Error('certificateRepository: insert with an audit event needs writeAudit');
    const committed = await writeAudit(
      trx,
      audited.map((insert) => insert.audit!),
    );
    for (const insert of audited) insert.committed = committed;
  });

  /** Whether another live certificate of the tenant has this value (`except`: the one being replaced). */
  const taken = async (
    tenantId: number,
    column: 'name' | 'fingerprint_sha256' | 'spki_sha256',
    value: string,
    except: number | null,
  ): Promise<boolean> => {
    let query = live(tenantId).select('certificate_no').where(column, '=', value);
    if (except !== null) query = query.where('certificate_no', '<>', except);
    return (await query.executeTakeFirst()) !== undefined;
  };

  /** Same order as the indexes are created (see migrations/0001-initial.ts). */
  const candidates = (
    tenantId: number,
    name: string | null,
    facts: Pick<CertificateFacts, 'fingerprintSha256' | 'publicKeyFingerprintSha256'>,
    except: number | null,
  ): UniqueCandidate[] => [
    {
      field: 'certificate',
      constraint: 'certificates_live_fingerprint',
      message: 'This certificate is already registered.',
      conflicts: () => taken(tenantId, 'fingerprint_sha256', facts.fingerprintSha256, except),
    },
    {
      field: 'privateKey',
      constraint: 'certificates_live_spki',
      message: 'This key is already used by another certificate; each certificate needs its own key.',
      conflicts: () => taken(tenantId, 'spki_sha256', facts.publicKeyFingerprintSha256, except),
    },
    ...(name === null
      ? []
      : [
          {
            field: 'name',
            constraint: 'certificates_live_name',
            message: `A certificate named '${name}' already exists.`,
            conflicts: () => taken(tenantId, 'name', name, except),
          },
        ]),
  ];

  /**
   * The key, file and domain rows of new certificates, sealed and ready to insert (the rows
   * `writeDependents` writes for one). Sealing is per certificate: its number is in the AAD.
   */
  async function dependentRows(certificates: ReadonlyArray<{ certificateNo: number; input: NewCertificate }>) {
    const keys: Array<Insertable<Database['certificate_keys']>> = [];
    const files: Array<Insertable<Database['certificate_files']>> = [];
    const domains: Array<Insertable<Database['certificate_domains']>> = [];
    for (const { certificateNo, input } of certificates) {
      if (input.privateKeyPem !== null) {
        const sealed = await vault.seal(Buffer.from(input.privateKeyPem, 'utf8'), privateKeyContext(certificateNo));
        keys.push({ certificate_no: certificateNo, data_key_id: sealed.dataKeyId, sealed_key: sealed.blob });
      }
      if (input.file !== null) {
        const sealed = await vault.seal(input.file.bytes, fileContext(certificateNo));
        files.push({
          certificate_no: certificateNo,
          name: input.file.name,
          data_key_id: sealed.dataKeyId,
          sealed_bytes: sealed.blob,
        });
      }
      for (const domain of new Set(input.facts.domains.map((d) => d.toLowerCase())))
        domains.push({ certificate_no: certificateNo, tenant_id: input.tenantId, domain });
    }
    return { keys, files, domains };
  }

  /**
   * PostgreSQL: the key, file, domain and search rows of new certificates of one tenant in one
   * statement (`dependentsAtOnce`); inside their write transaction.
   */
  async function writeNewDependents(
    trx: Kysely<Database>,
    tenantId: number,
    numbered: ReadonlyArray<{ certificateNo: number; input: NewCertificate }>,
  ): Promise<void> {
    const { keys, files, domains } = await dependentRows(numbered);
    await writeDependentsAtOnce(trx, {
      certificate_keys: keys,
      certificate_files: files,
      certificate_domains: domains,
      certificate_names: numbered.flatMap(({ certificateNo, input }) =>
        nameRowsOf(tenantId, certificateNo, input.facts),
      ),
      certificate_name_grams: numbered.flatMap(({ certificateNo, input }) =>
        nameGramRowsOf(tenantId, certificateNo, input.name),
      ),
    });
  }

  /** Key, file and domain rows of a certificate; run inside its write transaction. */
  async function writeDependents(
    trx: Kysely<Database>,
    tenantId: number,
    certificateNo: number,
    input: Replacement,
  ): Promise<void> {
    // insertBatched: templates (batch-insert.ts), built and compiled once.
    if (input.privateKeyPem !== null) {
      const sealed = await vault.seal(Buffer.from(input.privateKeyPem, 'utf8'), privateKeyContext(certificateNo));
      await insertBatched(trx, 'certificate_keys', [
        { certificate_no: certificateNo, data_key_id: sealed.dataKeyId, sealed_key: sealed.blob },
      ]);
    }
    if (input.file !== null) {
      const sealed = await vault.seal(input.file.bytes, fileContext(certificateNo));
      await insertBatched(trx, 'certificate_files', [
        {
          certificate_no: certificateNo,
          name: input.file.name,
          data_key_id: sealed.dataKeyId,
          sealed_bytes: sealed.blob,
        },
      ]);
    }
    const domains = [...new Set(input.facts.domains.map((d) => d.toLowerCase()))];
    await insertBatched(
      trx,
      'certificate_domains',
      domains.map((domain) => ({ certificate_no: certificateNo, tenant_id: tenantId, domain })),
    );
  }

  /** What purging drops: key, file and versions (the row stays for recentChanges). Inside its transaction. */
  async function dropRecoverable(trx: Kysely<Database>, certificateNo: number): Promise<void> {
    await trx.deleteFrom('certificate_keys').where('certificate_no', '=', certificateNo).execute();
    await trx.deleteFrom('certificate_files').where('certificate_no', '=', certificateNo).execute();
    await (trx as unknown as Kysely<VersionsDatabase>)
      .deleteFrom('certificate_versions')
      .where('certificate_no', '=', certificateNo)
      .execute();
  }

  /** Why a restore or purge of that certificate matched nothing. */
  async function refusal(trx: Kysely<Database>, tenantId: number, certificateNo: number): Promise<RecoveryRefusal> {
    const row = await trx
      .selectFrom('certificates')
      .select(['deleted_at', 'purged_at'])
      .where('tenant_id', '=', tenantId)
      .where('certificate_no', '=', certificateNo)
      .executeTakeFirst();
    if (!row) return 'missing';
    return row.deleted_at === null ? 'live' : 'purged';
  }

  const contentColumns = (input: Replacement, at: Date) => ({
    ...factColumns(input.facts),
    origin: input.origin,
    certificate_pem: input.certificatePem,
    chain_pems: JSON.stringify(input.chainPems),
    file_name: input.file?.name ?? null,
    has_private_key: input.privateKeyPem === null ? 0 : 1,
    updated_at: ms(at),
  });

  /** The certificates row of a new certificate, as inserted; inside its write transaction. */
  async function insertCertificateRow(trx: Kysely<Database>, certificate: NewCertificate, at: Date) {
    const row = {
      ...contentColumns(certificate, at),
      ...(certificate.certificateNo !== undefined ? { certificate_no: certificate.certificateNo } : {}),
      tenant_id: certificate.tenantId,
      name: certificate.name,
      type: certificate.type,
      // The ARN id (migration 0009) chosen here, a random v4 UUID as the column's default would
      // choose: on SQLite the default is an AFTER INSERT trigger that updates the row just
      // written (the whole record re-encoded, its overflow pages freed and allocated again). A
      // requested certificate's insert still takes its request's id (migration 0017's triggers).
      arn_id: randomUUID(),
      created_at: ms(at),
      revoked_at: null,
      revocation_requested_at: null,
      deleted_at: null,
    } satisfies Insertable<CertificateRow>;
    const columns = Object.keys(row) as Array<keyof typeof row>;
    const [inserted] = await insertTemplate(columns).all(trx, ...columns.map((column) => row[column]));
    if (!inserted) throw new Error('insert into certificates returned no row');
    return inserted;
  }

  /**
   * The dependents and search rows of new certificates of one tenant whose rows are written;
   * inside their write transaction (PostgreSQL: one statement, `writeNewDependents`).
   */
  async function writeNewRows(
    trx: Kysely<Database>,
    tenantId: number,
    numbered: ReadonlyArray<{ certificateNo: number; input: NewCertificate }>,
  ): Promise<void> {
    if (dialect.arrayParameters) {
      await writeNewDependents(trx, tenantId, numbered);
      return;
    }
    for (const { certificateNo, input } of numbered) await writeDependents(trx, tenantId, certificateNo, input);
    await writeSearchIndexes(
      trx,
      dialect,
      numbered.map(({ certificateNo, input }) => ({ tenantId, certificateNo, name: input.name, facts: input.facts })),
    );
  }

  const counted = (rows: ReadonlyArray<{ certificate_no: number; not_after: number }>) =>
    rows.map((row) => ({
      certificateNo: Number(row.certificate_no),
      notAfter: Number(row.not_after),
      delta: 1 as const,
    }));

  const repository: CertificateRepository = {
    async insert(certificate, at, audit) {
      try {
        // All or nothing for this certificate (its savepoint), answered after the group's commit.
        // Scope: the tenant, whose counters and audit chain head the group locks.
        const inserted = await singleInserts.run(String(certificate.tenantId), async (trx) => {
          const row = await insertCertificateRow(trx, certificate, at);
          await hooks.beforeCommit?.('insert', row.certificate_no);
          return { row, input: certificate, audit, committed: null };
        });
        inserted.committed?.();
        return certificateFromRow(inserted.row);
      } catch (error) {
        return rethrowUniqueViolation(
          error,
          candidates(certificate.tenantId, certificate.name, certificate.facts, null),
        );
      }
    },

    async insertMany(tenantId, certificates, at) {
      if (certificates.some((c) => c.tenantId !== tenantId)) throw new Error('insertMany: one tenant per call');
      if (certificates.length === 0) return [];
      // No unique-violation mapping here: a refusal fails the whole batch, and the caller (core's
      // importMany) then inserts one at a time through `insert`, which names the field.
      const rows = await inTransaction(db, dialect, async (trx) => {
        // The certificate rows one by one (each needs its number back); what hangs off them, the
        // batch's rows of each table together, in multi-row inserts (insertBatched).
        const inserted = [];
        for (const certificate of certificates) inserted.push(await insertCertificateRow(trx, certificate, at));
        const numbered = inserted.map((row, i) => ({
          certificateNo: Number(row.certificate_no),
          input: certificates[i]!,
        }));
        const dependents = await dependentRows(numbered);
        await insertBatched(trx, 'certificate_keys', dependents.keys);
        await insertBatched(trx, 'certificate_files', dependents.files);
        await insertBatched(trx, 'certificate_domains', dependents.domains);
        await writeSearchIndexes(
          trx,
          dialect,
          numbered.map(({ certificateNo, input }) => ({
            tenantId,
            certificateNo,
            name: input.name,
            facts: input.facts,
          })),
        );
        // One counter update for the batch: adjustCounters sums the deltas per counter row.
        await adjustCounters(trx, tenantId, counted(inserted), dialect.arrayParameters);
        for (const row of inserted) await hooks.beforeCommit?.('insert', row.certificate_no);
        return inserted;
      });
      return rows.map(certificateFromRow);
    },

    async replace(tenantId, certificateNo, replacement, at, replacedBy = 'system') {
      try {
        const row = await inTransaction(db, dialect, async (trx) => {
          // The replaced row is kept as a version and its notAfter leaves the counters, so it must
          // be exactly the row this update replaces. Compare-and-set on its version number: the
          // update applies only if the version is still the one read; on PostgreSQL a concurrent
          // replace that committed in between makes it match nothing (READ COMMITTED re-checks the
          // condition on the newest row version after waiting for its lock), and we read again.
          // On SQLite the write lock excludes that, so the first round always applies.
          let current;
          let updated;
          do {
            current = await trx
              .selectFrom('certificates')
              .selectAll()
              .where('tenant_id', '=', tenantId)
              .where('certificate_no', '=', certificateNo)
              .where('deleted_at', 'is', null)
              .executeTakeFirst();
            if (!current) return null;
            updated = await trx
              .updateTable('certificates')
              .set({ ...contentColumns(replacement, at), version: Number(current.version) + 1 })
              .where('tenant_id', '=', tenantId)
              .where('certificate_no', '=', certificateNo)
              .where('deleted_at', 'is', null)
              .where('version', '=', current.version)
              .returningAll()
              .executeTakeFirst();
          } while (!updated);
          const currentKey = await trx
            .selectFrom('certificate_keys')
            .select(['data_key_id', 'sealed_key'])
            .where('certificate_no', '=', certificateNo)
            .executeTakeFirst();
          const currentKeyPem = currentKey
            ? (
                await vault.open(
                  { dataKeyId: Number(currentKey.data_key_id), blob: currentKey.sealed_key },
                  privateKeyContext(certificateNo),
                )
              ).toString('utf8')
            : null;
          await archiveVersion(trx, vault, current, currentKeyPem, replacedBy, at);
          await trx.deleteFrom('certificate_keys').where('certificate_no', '=', certificateNo).execute();
          await trx.deleteFrom('certificate_files').where('certificate_no', '=', certificateNo).execute();
          await trx.deleteFrom('certificate_domains').where('certificate_no', '=', certificateNo).execute();
          await writeDependents(trx, tenantId, certificateNo, replacement);
          await dropSearchIndex(trx, dialect, certificateNo);
          await writeSearchIndex(trx, dialect, tenantId, certificateNo, updated.name, replacement.facts);
          await adjustCounters(trx, tenantId, [
            { certificateNo, notAfter: Number(current.not_after), delta: -1 },
            { certificateNo, notAfter: Number(updated.not_after), delta: 1 },
          ]);
          await hooks.beforeCommit?.('replace', certificateNo);
          return updated;
        });
        if (!row)
          throw new AppError('not_found', `No certificate number ${certificateNo}.`, { field: 'certificateNo' });
        return certificateFromRow(row);
      } catch (error) {
        return rethrowUniqueViolation(error, candidates(tenantId, null, replacement.facts, certificateNo));
      }
    },

    async get(tenantId, certificateNo) {
      const row = await byNumber.first(db, tenantId, certificateNo);
      return row ? certificateFromRow(row) : null;
    },

    getMany: (tenantId, certificateNos) => liveSummaries(db, tenantId, certificateNos),

    async getByName(tenantId, name) {
      const row = await byName.first(db, tenantId, name);
      return row ? certificateFromRow(row) : null;
    },

    async list(query, confirm) {
      const reads = checkedReads(dialect, confirm);
      const page = isSearchQuery(query)
        ? await searchCertificates(db, dialect, query)
        : await listCertificates(db, query, dialect.mergesReads, reads);
      await reads.settle(db);
      // Not merged into the page's statement (SQLite, the search path): read apart.
      if (query.withUsers && !page.usedBy)
        page.usedBy = await usersOf(
          db,
          query.tenantId,
          page.items.map((item) => item.certificateNo),
        );
      return page;
    },

    async findLiveHolders(tenantId, keys) {
      const found = new Map<number, LiveHolder>();
      const lookups = [
        ['fingerprint_sha256', keys.fingerprints],
        ['spki_sha256', keys.spkis],
        ['name', keys.names],
      ] as const;
      // One `in` list per column and chunk: each through that column's unique live index (an OR
      // of the three would scan, as findDuplicate says).
      for (const [column, values] of lookups) {
        const distinct = [...new Set(values)];
        for (let i = 0; i < distinct.length; i += GET_MANY_CHUNK) {
          const rows = await live(tenantId)
            .select(['certificate_no', 'name', 'fingerprint_sha256', 'spki_sha256'])
            .where(column, 'in', distinct.slice(i, i + GET_MANY_CHUNK))
            .execute();
          for (const row of rows)
            found.set(Number(row.certificate_no), {
              certificateNo: Number(row.certificate_no),
              name: row.name,
              fingerprintSha256: row.fingerprint_sha256,
              publicKeyFingerprintSha256: row.spki_sha256,
            });
        }
      }
      return [...found.values()];
    },

    async findDuplicate(tenantId, facts) {
      // At most one live row can match each fingerprint (both are unique among live rows), and
      // usually one row matches both. Two point lookups, each through its own unique partial
      // index: written as one `a = ? OR b = ?`, SQLite scans every live row of the tenant (it
      // does not combine two partial indexes), about 25 ms at 10,000 and 3 s at a million.
      if (dialect.mergesReads) {
        const row = await duplicateOf.first(
          db,
          tenantId,
          facts.fingerprintSha256,
          tenantId,
          facts.publicKeyFingerprintSha256,
        );
        return row ? certificateFromRow(row) : null;
      }
      const byFingerprint = await byFingerprintOf.first(db, tenantId, facts.fingerprintSha256);
      const byKey = await byKeyOf.first(db, tenantId, facts.publicKeyFingerprintSha256);
      // When two different rows match, the lower certificate number, as the single query did.
      const row =
        byFingerprint && byKey
          ? Number(byFingerprint.certificate_no) <= Number(byKey.certificate_no)
            ? byFingerprint
            : byKey
          : (byFingerprint ?? byKey);
      return row ? certificateFromRow(row) : null;
    },

    async readPrivateKey(tenantId, certificateNo) {
      const row = await sealedKeyOf.first(db, tenantId, certificateNo);
      if (!row) return null;
      const pem = await vault.open(
        { dataKeyId: Number(row.data_key_id), blob: row.sealed_key },
        privateKeyContext(certificateNo),
      );
      return pem.toString('utf8');
    },

    async readFile(tenantId, certificateNo) {
      const row = await sealedFileOf.first(db, tenantId, certificateNo);
      if (!row) return null;
      return {
        name: row.name,
        bytes: await vault.open(
          { dataKeyId: Number(row.data_key_id), blob: row.sealed_bytes },
          fileContext(certificateNo),
        ),
      };
    },

    async getWithSecrets(tenantId, ref, confirm) {
      const reads = checkedReads(dialect, confirm);
      if (!dialect.mergesReads) {
        const certificate =
          'name' in ref
            ? await repository.getByName(tenantId, ref.name)
            : await repository.get(tenantId, ref.certificateNo);
        await reads.settle(db);
        if (!certificate) return null;
        return {
          certificate,
          readFile: () => repository.readFile(tenantId, certificate.certificateNo),
          readPrivateKey: () => repository.readPrivateKey(tenantId, certificate.certificateNo),
        };
      }
      const [row] =
        'name' in ref
          ? await reads.all(withSecretsByName, db, [tenantId, ref.name])
          : await reads.all(withSecretsByNumber, db, [tenantId, ref.certificateNo]);
      await reads.settle(db);
      if (!row) return null;
      const certificate = certificateFromRow(row);
      const { certificateNo } = certificate;
      return {
        certificate,
        readFile: async () =>
          row.upload_data_key_id === null || row.upload_sealed_bytes === null || row.upload_name === null
            ? null
            : {
                name: row.upload_name,
                bytes: await vault.open(
                  { dataKeyId: Number(row.upload_data_key_id), blob: row.upload_sealed_bytes },
                  fileContext(certificateNo),
                ),
              },
        readPrivateKey: async () =>
          row.key_data_key_id === null || row.key_sealed_key === null
            ? null
            : (
                await vault.open(
                  { dataKeyId: Number(row.key_data_key_id), blob: row.key_sealed_key },
                  privateKeyContext(certificateNo),
                )
              ).toString('utf8'),
      };
    },

    async markDeleted(tenantId, certificateNo, at, options = {}) {
      return inTransaction(db, dialect, async (trx) => {
        // "In use" is decided here, under the certificate row's lock: core's check before the
        // call gives the usual answer, this one the answer to a provision racing the delete
        // (certificate-usage.ts says how the lock serialises them).
        const users = await lockForDeletion(trx, dialect, tenantId, certificateNo);
        if (users === null) return false;
        if (users.length > 0) {
          throw new AppError(
            'in_use',
            `Certificate ${certificateNo} is in use by ${users.length} instance(s) (${users.join(', ')}); remove it from them first.`,
            { details: { instances: users.join(',') } },
          );
        }
        // RETURNING gives the notAfter of the row as deleted (after any concurrent replace).
        const deleted = await trx
          .updateTable('certificates')
          .set({ deleted_at: ms(at), updated_at: ms(at), ...(options.purge ? { purged_at: ms(at) } : {}) })
          .where('tenant_id', '=', tenantId)
          .where('certificate_no', '=', certificateNo)
          .where('deleted_at', 'is', null)
          .returning('not_after')
          .executeTakeFirst();
        if (!deleted) return false;
        if (options.purge) await dropRecoverable(trx, certificateNo);
        await dropSearchIndex(trx, dialect, certificateNo);
        await adjustCounters(trx, tenantId, [{ certificateNo, notAfter: Number(deleted.not_after), delta: -1 }]);
        return true;
      });
    },

    async restore(tenantId, certificateNo, at) {
      try {
        return await inTransaction(db, dialect, async (trx) => {
          const restored = await trx
            .updateTable('certificates')
            .set({ deleted_at: null, updated_at: ms(at) })
            .where('tenant_id', '=', tenantId)
            .where('certificate_no', '=', certificateNo)
            .where('deleted_at', 'is not', null)
            .where('purged_at', 'is', null)
            .returningAll()
            .executeTakeFirst();
          if (!restored) return refusal(trx, tenantId, certificateNo);
          const certificate = certificateFromRow(restored);
          // Live again, so searchable again (markDeleted dropped its search rows).
          await writeSearchIndex(trx, dialect, tenantId, certificateNo, certificate.name, certificate.facts);
          await adjustCounters(trx, tenantId, [{ certificateNo, notAfter: Number(restored.not_after), delta: 1 }]);
          return certificate;
        });
      } catch (error) {
        // A live certificate holds its name, certificate or key: say which.
        const row = await db
          .selectFrom('certificates')
          .select(['name', 'fingerprint_sha256', 'spki_sha256'])
          .where('tenant_id', '=', tenantId)
          .where('certificate_no', '=', certificateNo)
          .executeTakeFirst();
        if (!row) throw error;
        return rethrowUniqueViolation(
          error,
          candidates(
            tenantId,
            row.name,
            { fingerprintSha256: row.fingerprint_sha256, publicKeyFingerprintSha256: row.spki_sha256 },
            certificateNo,
          ),
        );
      }
    },

    async getRecoverable(tenantId, certificateNo) {
      const row = await db
        .selectFrom('certificates')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('certificate_no', '=', certificateNo)
        .where('deleted_at', 'is not', null)
        .where('purged_at', 'is', null)
        .executeTakeFirst();
      return row ? certificateFromRow(row) : null;
    },

    async purge(tenantId, certificateNo, at) {
      return inTransaction(db, dialect, async (trx) => {
        const purged = await trx
          .updateTable('certificates')
          .set({ purged_at: ms(at) })
          .where('tenant_id', '=', tenantId)
          .where('certificate_no', '=', certificateNo)
          .where('deleted_at', 'is not', null)
          .where('purged_at', 'is', null)
          .returning('certificate_no')
          .executeTakeFirst();
        if (!purged) return refusal(trx, tenantId, certificateNo);
        await dropRecoverable(trx, certificateNo);
        return true as const;
      });
    },

    async listDeleted(tenantId, page) {
      const recoverable = () =>
        db
          .selectFrom('certificates')
          .where('tenant_id', '=', tenantId)
          .where('deleted_at', 'is not', null)
          .where('purged_at', 'is', null);
      const rows = await recoverable()
        .select(CERTIFICATE_SUMMARY_COLUMNS)
        .select(hasChainColumn('certificates'))
        .orderBy('deleted_at', 'desc')
        .orderBy('certificate_no', 'desc')
        .limit(Math.min(Math.max(page.limit, 0), CERTIFICATE_PAGE_MAX))
        .offset(Math.max(page.offset, 0))
        .execute();
      const { n } = await recoverable()
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      return { items: rows.map(summaryFromRow), total: Number(n), totalExact: true };
    },

    advanceExpiredBefore({ at, limit }) {
      return advanceExpiredBefore(db, dialect, utcDay(ms(at)), limit);
    },

    async purgeExpired({ deletedBefore, replacedBefore, limit, at }) {
      let certificates = 0;
      if (deletedBefore !== null) {
        const cutoff = ms(deletedBefore);
        const due = await db
          .selectFrom('certificates')
          .select('certificate_no')
          .where('deleted_at', 'is not', null)
          .where('purged_at', 'is', null)
          .where('deleted_at', '<', cutoff)
          .orderBy('deleted_at')
          .limit(limit)
          .execute();
        for (const { certificate_no } of due) {
          const certificateNo = Number(certificate_no);
          // Conditional on the row's state: another process's pass, or a restore, got there first.
          const purged = await inTransaction(db, dialect, async (trx) => {
            const row = await trx
              .updateTable('certificates')
              .set({ purged_at: ms(at) })
              .where('certificate_no', '=', certificateNo)
              .where('deleted_at', 'is not', null)
              .where('purged_at', 'is', null)
              .where('deleted_at', '<', cutoff)
              .returning('certificate_no')
              .executeTakeFirst();
            if (row) await dropRecoverable(trx, certificateNo);
            return row !== undefined;
          });
          if (purged) certificates += 1;
        }
      }
      let versions = 0;
      if (replacedBefore !== null) {
        const cutoff = ms(replacedBefore);
        const due = await vdb
          .selectFrom('certificate_versions')
          .select(['certificate_no', 'version'])
          .where('replaced_at', '<', cutoff)
          .orderBy('replaced_at')
          .limit(limit)
          .execute();
        for (const { certificate_no, version } of due) {
          // A row another process dropped first deletes nothing here.
          const result = await vdb
            .deleteFrom('certificate_versions')
            .where('certificate_no', '=', certificate_no)
            .where('version', '=', version)
            .where('replaced_at', '<', cutoff)
            .executeTakeFirst();
          versions += Number(result.numDeletedRows);
        }
      }
      return { certificates, versions };
    },

    /**
     * Live certificates by validity bucket at `asOf`; `tenantId: null` counts every tenant
     * (metrics). From the counters, never a scan of the tenant: see certificate-counters.ts.
     */
    countByValidity: (tenantId, asOf) => validityCounts(db, tenantId, ms(asOf)),

    /** From the expiry-day counters, never a scan: see expiry-histogram.ts. */
    expiryHistogram: (tenantId, asOf, upperBoundsDays) => expiryHistogram(db, tenantId, ms(asOf), upperBoundsDays),
  };
  return repository;
}
