/**
 * The records certkeeper keeps, as the core sees them. These are domain types, not rows: the
 * store maps its rows to these at its boundary (docs/ARCHITECTURE.md, "Row types are not domain
 * types"). Secrets never appear here: a certificate says whether it has a private key, and the key
 * itself is read only through the audited export use-case.
 */
import type { CertificateFacts } from './x509/types.ts';

export type Role = 'ADMIN' | 'VIEWER';
export const ROLES: readonly Role[] = ['ADMIN', 'VIEWER'];

export interface Tenant {
  id: number;
  /** Unique, human-chosen, e.g. `default`. */
  name: string;
  /** NCP member number (generated, unique, digits). */
  memberNo: string;
  /** NHN appKey (generated, unique, URL-safe). */
  appKey: string;
  /** Whether NHN v1.0/v1.2 (appKey-only) authentication is allowed for this tenant. Off by default. */
  appKeyAuthEnabled: boolean;
  createdAt: Date;
}

export interface Credential {
  id: number;
  tenantId: number;
  /** Public identifier (NCP access key, NHN User Access Key ID). */
  accessKey: string;
  role: Role;
  description: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** How a certificate came in. */
/** `acme`: issued through certkeeper's ACME pipeline (core/issuance/). */
export type CertificateOrigin = 'ncp-v1' | 'ncp-v2' | 'nhn' | 'console' | 'cli' | 'acme' | 'acm';

/**
 * `EXT` for imported certificates; `NCP_FREE_DV_01` for those issued through ACME (NCP's free DV
 * type); `NCP_GLOBAL_EDGE_DEDICATED` for those issued for Global Edge only: edge slots serve them,
 * and no face ever exports their key (core/certificates.ts `keyExportable`).
 */
export type CertificateType = 'EXT' | 'NCP_FREE_DV_01' | 'NCP_GLOBAL_EDGE_DEDICATED';

/**
 * What lists show of a certificate: everything but its PEM text. List queries read these columns
 * only; decoding each row's leaf and chain PEM (about 2 KB, in SQLite overflow pages) was half the
 * cost of a list page (bench/, see docs/ARCHITECTURE.md "List pages read summaries").
 */
export interface CertificateSummary {
  /** Tenant-visible number, never reused, not even after deletion. */
  certificateNo: number;
  tenantId: number;
  name: string;
  type: CertificateType;
  origin: CertificateOrigin;
  /** Whether the certificate was registered with at least one issuer. */
  hasChain: boolean;
  hasPrivateKey: boolean;
  facts: CertificateFacts;
  /** NHN file name as uploaded (`curl -OJ` keeps it), null when none was uploaded. */
  fileName: string | null;
  createdAt: Date;
  updatedAt: Date;
  revokedAt: Date | null;
  /**
   * A revocation was asked for and the CA has not confirmed it yet (set with `revokedAt` null;
   * cleared when the CA refused). Absent in summaries built outside the store.
   */
  revocationRequestedAt?: Date | null;
  deletedAt: Date | null;
}

/** A certificate with its PEM text: what a single read (detail, download, deploy) returns. */
export interface Certificate extends CertificateSummary {
  /** Leaf certificate, canonical PEM. */
  certificatePem: string;
  /** Issuers in path order (leaf's issuer first), canonical PEM each. `hasChain` is `length > 0`. */
  chainPems: string[];
}

export type AuditResult = 'success' | 'failure';

export interface AuditEvent {
  id: number;
  tenantId: number | null;
  /** Access key of the actor, `cli` for the local operator, `system` for start-up work. */
  actor: string;
  /** Dotted verb, e.g. `certificate.import`, `certificate.key.read`, `credential.revoke`. */
  action: string;
  /** e.g. `certificate:42`, `credential:AKxxxx`. */
  target: string;
  result: AuditResult;
  remoteAddress: string | null;
  /** Non-secret facts about the event. */
  detail: Record<string, string | number | boolean | null>;
  at: Date;
}

/**
 * A replaced version of a certificate (every replace keeps the one it replaces, for a retention
 * window): what it was, since when it was current, when and by whom it was replaced. The
 * certificate's current version is the certificate itself; lists and counters never see these.
 */
export interface CertificateVersion {
  certificateNo: number;
  /** 1 for the certificate as first imported, + 1 per replace. */
  version: number;
  origin: CertificateOrigin;
  facts: CertificateFacts;
  hasChain: boolean;
  hasPrivateKey: boolean;
  /** NHN file name it was uploaded as (the file itself is not kept for old versions). */
  fileName: string | null;
  currentSince: Date;
  replacedAt: Date;
  /** Actor id of the replace (an access key, `cli`, `acme-worker`, …). */
  replacedBy: string;
}

/** A replaced version with its PEM text (a download). */
export interface CertificateVersionDetail extends CertificateVersion {
  certificatePem: string;
  chainPems: string[];
}
