/**
 * Row types: what the tables hold, column for column. These are not domain types; repositories
 * map rows to `domain/model.ts` at their boundary (docs/ARCHITECTURE.md, "Row types are not
 * domain types"). Conventions, identical on both dialects (see dialect.ts):
 * - `*_at`, `not_before`, `not_after`: BIGINT epoch milliseconds, null when not (yet) set;
 * - flags: INTEGER 0/1;
 * - JSON documents: TEXT.
 */
import type { Generated } from 'kysely';

export interface TenantRow {
  id: Generated<number>;
  name: string;
  member_no: string;
  app_key: string;
  app_key_auth_enabled: number;
  created_at: number;
}

export interface CredentialRow {
  id: Generated<number>;
  tenant_id: number;
  access_key: string;
  role: string;
  description: string;
  /** The secret key, sealed by the vault (AAD chosen by core). */
  secret_data_key_id: number;
  secret_blob: Buffer;
  created_at: number;
  revoked_at: number | null;
}

/**
 * A data key (AES-256), wrapped by the master key with AAD `data-key:<id>`. `master_key_id` is the
 * key-check value of the master key that wrapped it, so a wrong master key is named at start
 * instead of surfacing as a decryption failure later. `next_*` holds a second wrap under the new
 * master key while a rotation is in progress (see rotate-master-key.ts).
 */
export interface DataKeyRow {
  id: Generated<number>;
  wrapped_key: Buffer;
  master_key_id: string;
  next_wrapped_key: Buffer | null;
  next_master_key_id: string | null;
  created_at: number;
}

/** Every fact a list query filters or sorts on is a column; `facts` keeps all of them as JSON. */
export interface CertificateRow {
  certificate_no: Generated<number>;
  tenant_id: number;
  name: string;
  type: string;
  origin: string;
  common_name: string | null;
  ca_name: string;
  serial_number: string;
  key_algorithm: string;
  key_bits: number;
  not_before: number;
  not_after: number;
  fingerprint_sha256: string;
  spki_sha256: string;
  /** JSON of CertificateFacts (dates as ISO strings). */
  facts: string;
  certificate_pem: string;
  /** JSON array of PEM strings, leaf's issuer first. */
  chain_pems: string;
  file_name: string | null;
  has_private_key: number;
  created_at: number;
  /** Last change of any kind: creation, replacement, deletion (so "changed since" is one range scan). */
  updated_at: number;
  revoked_at: number | null;
  /** Migration 0014: revocation asked for, not yet confirmed by the CA. */
  revocation_requested_at: number | null;
  deleted_at: number | null;
  /** Number of the current version (migration 0012): 1 at import, + 1 per replace. */
  version: Generated<number>;
  /** When a deleted certificate stopped being recoverable (migration 0012); null while live or recoverable. */
  purged_at: Generated<number | null>;
  /**
   * The UUID of the certificate's ACM ARN (migration 0009), unique, never changed. The repository's
   * insert gives one; the column's default (PostgreSQL) or trigger (SQLite) covers other inserts.
   */
  arn_id: Generated<string>;
}

/** The PKCS#8 PEM of a certificate's key, sealed with AAD `certificate-key:<certificate_no>`. */
export interface CertificateKeyRow {
  certificate_no: number;
  data_key_id: number;
  sealed_key: Buffer;
}

/**
 * The NHN file, byte for byte as uploaded, sealed with AAD `certificate-file:<certificate_no>`:
 * it holds the private key too, so it is a secret like the key itself.
 */
export interface CertificateFileRow {
  certificate_no: number;
  name: string;
  data_key_id: number;
  sealed_bytes: Buffer;
}

/** One row per DNS name a certificate covers, lower-cased, for the domain filter. */
export interface CertificateDomainRow {
  certificate_no: number;
  tenant_id: number;
  domain: string;
}

/**
 * One DNS name (kind 0, key: reversed labels) or IP SAN (kind 1, key: canonical text) of a live
 * certificate, for the search (migration 0013; repositories/certificate-search-index.ts).
 */
export interface CertificateNameRow {
  tenant_id: number;
  kind: number;
  name_key: string;
  certificate_no: number;
}

/**
 * One distinct trigram of a live certificate's name (migration 0023; key: the trigram, a space,
 * the name: repositories/certificate-search-index.ts `nameGramKey`).
 */
export interface CertificateNameGramRow {
  tenant_id: number;
  gram_key: string;
  certificate_no: number;
}

/** Live certificates of a tenant (migration 0003; kept by repositories/certificate-counters.ts). */
export interface CertificateCountRow {
  tenant_id: number;
  live: number;
  /** Migration 0036: `past` counts the live certificates expiring before this UTC day. */
  past_day: Generated<number>;
  past: Generated<number>;
}

/**
 * Live certificates of a tenant whose `not_after` falls on one UTC day (`day`: whole days since
 * 1970-01-01 UTC, floored). Rows that drop to zero are deleted.
 */
export interface CertificateExpiryDayRow {
  tenant_id: number;
  day: number;
  n: number;
  /** Σ (not_after − day × 86 400 000) over those certificates (migration 0007). */
  ms_sum: number;
}

/**
 * Live certificates of a tenant whose `not_after` falls in one UTC hour (`hour`: whole hours
 * since 1970-01-01 UTC, floored; migration 0035). Rows that drop to zero are deleted.
 */
export interface CertificateExpiryHourRow {
  tenant_id: number;
  hour: number;
  n: number;
}

/**
 * Live certificates of a tenant whose certificate_no is in [block × 4096, (block + 1) × 4096)
 * (migrations/0003 `NUMBER_BLOCK`), for deep offsets of the default order. Zero rows are deleted.
 */
export interface CertificateNumberBlockRow {
  tenant_id: number;
  block: number;
  n: number;
}

export interface AuditEventRow {
  id: Generated<number>;
  tenant_id: number | null;
  actor: string;
  action: string;
  target: string;
  result: string;
  remote_address: string | null;
  /** JSON object of non-secret facts. */
  detail: string;
  at: number;
  /** Hash chain (domain/audit-chain.ts); null only on a row a writer outside certkeeper added. */
  prev_hash: string | null;
  hash: string | null;
}

/** Each audit chain's last hash (migration 0016). */
export interface AuditChainHeadRow {
  /** The tenant id as text, or `system` for events without a tenant. */
  chain_key: string;
  head_hash: string;
}

export interface Database {
  tenants: TenantRow;
  credentials: CredentialRow;
  data_keys: DataKeyRow;
  certificates: CertificateRow;
  certificate_keys: CertificateKeyRow;
  certificate_files: CertificateFileRow;
  certificate_domains: CertificateDomainRow;
  certificate_names: CertificateNameRow;
  certificate_name_grams: CertificateNameGramRow;
  certificate_counts: CertificateCountRow;
  certificate_expiry_days: CertificateExpiryDayRow;
  certificate_expiry_hours: CertificateExpiryHourRow;
  certificate_number_blocks: CertificateNumberBlockRow;
  audit_events: AuditEventRow;
  audit_chain_heads: AuditChainHeadRow;
}
