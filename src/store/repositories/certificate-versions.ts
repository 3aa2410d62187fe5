/**
 * Replaced versions of certificates (migration 0012): the archive step of a replace, run inside
 * the replace's own transaction (certificates.ts), and the reads of `CertificateVersionRepository`.
 *
 * Contracts beyond ports.ts:
 * - `archiveVersion` copies the row being replaced, as it was, into `certificate_versions` under
 *   its version number, with its private key opened and sealed again under
 *   `certificate-version-key:<no>:<version>`: a version's blob does not open as the current key
 *   or as another version's key. The uploaded NHN file is not kept (it holds the same key; a
 *   download of an old version is composed from its PEM, chain and key).
 * - Reads answer for the certificate's versions whatever the certificate's state: core decides
 *   which certificates may be read (live ones).
 */
import type { Kysely, Selectable } from 'kysely';
import type { CertificateVersionRepository } from '../../core/ports.ts';
import type { CertificateOrigin, CertificateVersion, CertificateVersionDetail } from '../../domain/model.ts';
import { date, factsFromJson, ms } from '../rows.ts';
import type { CertificateRow, Database } from '../schema.ts';
import type { StoreVault } from '../vault.ts';

export interface CertificateVersionRow {
  certificate_no: number;
  version: number;
  tenant_id: number;
  origin: string;
  fingerprint_sha256: string;
  not_before: number;
  not_after: number;
  facts: string;
  certificate_pem: string;
  chain_pems: string;
  file_name: string | null;
  has_private_key: number;
  key_data_key_id: number | null;
  sealed_key: Buffer | null;
  current_since: number;
  replaced_at: number;
  replaced_by: string;
}

export type VersionsDatabase = Database & { certificate_versions: CertificateVersionRow };

export const versionKeyContext = (certificateNo: number, version: number): string =>
  `certificate-version-key:${certificateNo}:${version}`;

/**
 * Keeps `current` (the certificate row about to be replaced, read in this transaction) as a
 * version. `currentKeyPem` is its decrypted key, or null when it has none.
 */
export async function archiveVersion(
  trx: Kysely<Database>,
  vault: StoreVault,
  current: Selectable<CertificateRow>,
  currentKeyPem: string | null,
  replacedBy: string,
  at: Date,
): Promise<void> {
  const certificateNo = Number(current.certificate_no);
  const version = Number(current.version);
  const sealed =
    currentKeyPem === null
      ? null
      : await vault.seal(Buffer.from(currentKeyPem, 'utf8'), versionKeyContext(certificateNo, version));
  await (trx as unknown as Kysely<VersionsDatabase>)
    .insertInto('certificate_versions')
    .values({
      certificate_no: certificateNo,
      version,
      tenant_id: Number(current.tenant_id),
      origin: current.origin,
      fingerprint_sha256: current.fingerprint_sha256,
      not_before: Number(current.not_before),
      not_after: Number(current.not_after),
      facts: current.facts,
      certificate_pem: current.certificate_pem,
      chain_pems: current.chain_pems,
      file_name: current.file_name,
      has_private_key: sealed === null ? 0 : 1,
      key_data_key_id: sealed?.dataKeyId ?? null,
      sealed_key: sealed?.blob ?? null,
      current_since: Number(current.updated_at),
      replaced_at: ms(at),
      replaced_by: replacedBy,
    })
    .execute();
}

const SUMMARY_COLUMNS = [
  'certificate_no',
  'version',
  'origin',
  'fingerprint_sha256',
  'facts',
  'chain_pems',
  'file_name',
  'has_private_key',
  'current_since',
  'replaced_at',
  'replaced_by',
] as const;

type VersionSummaryRow = Pick<CertificateVersionRow, (typeof SUMMARY_COLUMNS)[number]>;

function versionFromRow(row: VersionSummaryRow): CertificateVersion {
  return {
    certificateNo: Number(row.certificate_no),
    version: Number(row.version),
    origin: row.origin as CertificateOrigin,
    facts: factsFromJson(row.facts, row.fingerprint_sha256),
    hasChain: row.chain_pems !== '[]',
    hasPrivateKey: Number(row.has_private_key) === 1,
    fileName: row.file_name,
    currentSince: date(row.current_since),
    replacedAt: date(row.replaced_at),
    replacedBy: row.replaced_by,
  };
}

export function certificateVersionRepository(db: Kysely<Database>, vault: StoreVault): CertificateVersionRepository {
  const vdb = db as unknown as Kysely<VersionsDatabase>;
  const ofCertificate = (tenantId: number, certificateNo: number) =>
    vdb
      .selectFrom('certificate_versions')
      .where('tenant_id', '=', tenantId)
      .where('certificate_no', '=', certificateNo);
  return {
    async list(tenantId, certificateNo) {
      const rows = await ofCertificate(tenantId, certificateNo)
        .select(SUMMARY_COLUMNS)
        .orderBy('version', 'desc')
        .execute();
      return rows.map(versionFromRow);
    },

    async get(tenantId, certificateNo, version) {
      const row = await ofCertificate(tenantId, certificateNo)
        .select([...SUMMARY_COLUMNS, 'certificate_pem'])
        .where('version', '=', version)
        .executeTakeFirst();
      if (!row) return null;
      const detail: CertificateVersionDetail = {
        ...versionFromRow(row),
        certificatePem: row.certificate_pem,
        chainPems: JSON.parse(row.chain_pems) as string[],
      };
      return detail;
    },

    async readPrivateKey(tenantId, certificateNo, version) {
      const row = await ofCertificate(tenantId, certificateNo)
        .select(['key_data_key_id', 'sealed_key'])
        .where('version', '=', version)
        .executeTakeFirst();
      if (!row || row.key_data_key_id === null || row.sealed_key === null) return null;
      const pem = await vault.open(
        { dataKeyId: Number(row.key_data_key_id), blob: row.sealed_key },
        versionKeyContext(certificateNo, version),
      );
      return pem.toString('utf8');
    },

    async currentVersion(tenantId, certificateNo) {
      const row = await db
        .selectFrom('certificates')
        .select('version')
        .where('tenant_id', '=', tenantId)
        .where('certificate_no', '=', certificateNo)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      return row ? Number(row.version) : null;
    },
  };
}
