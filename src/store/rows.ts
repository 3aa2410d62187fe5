/**
 * Row ⇄ domain mapping, the store's boundary (schema.ts holds the row types). Instants are epoch
 * milliseconds in rows and `Date`s in the domain; JSON documents are parsed here and nowhere else.
 */
import { sql, type Selectable } from 'kysely';
import type {
  AuditEvent,
  AuditResult,
  Certificate,
  CertificateOrigin,
  CertificateSummary,
  CertificateType,
  Credential,
  Role,
  Tenant,
} from '../domain/model.ts';
import type { CertificateFacts } from '../domain/x509/types.ts';
import type { AuditEventRow, CertificateRow, CredentialRow, TenantRow } from './schema.ts';
import type { ColumnKeys, RowValues } from './query-template.ts';
import { knownFacts, rememberFacts } from './known-facts.ts';

export function ms(date: Date): number {
  const value = date.getTime();
  if (!Number.isFinite(value)) throw new TypeError('Invalid Date given to the store.');
  return value;
}

export const date = (value: number): Date => new Date(Number(value));
const maybeDate = (value: number | null): Date | null => (value === null ? null : date(value));

export function tenantFromRow(row: Selectable<TenantRow>): Tenant {
  return {
    id: Number(row.id),
    name: row.name,
    memberNo: row.member_no,
    appKey: row.app_key,
    appKeyAuthEnabled: row.app_key_auth_enabled === 1,
    createdAt: date(row.created_at),
  };
}

/** What `credentialFromRow` reads: every column but the sealed secret. */
export const CREDENTIAL_COLUMNS = [
  'id',
  'tenant_id',
  'access_key',
  'role',
  'description',
  'created_at',
  'revoked_at',
] as const satisfies ReadonlyArray<keyof CredentialRow>;

export function credentialFromRow(
  row: Pick<Selectable<CredentialRow>, (typeof CREDENTIAL_COLUMNS)[number]>,
): Credential {
  return {
    id: Number(row.id),
    tenantId: Number(row.tenant_id),
    accessKey: row.access_key,
    role: row.role as Role,
    description: row.description,
    createdAt: date(row.created_at),
    revokedAt: maybeDate(row.revoked_at),
  };
}

/** Facts as stored: JSON with dates as ISO strings. */
export function factsToJson(facts: CertificateFacts): string {
  return JSON.stringify(facts);
}

/**
 * Parsed facts kept by the certificate's SHA-256 fingerprint, with the JSON text they came from
 * (first in, first out). Parsing a row's facts was a sixth of the server's CPU on a
 * 100-certificate page. The fingerprint is the key because looking up the 1 KB text itself in a
 * Map costs more than parsing it (hashing a fresh string); an entry is used only when its text
 * equals the row's text, so a hit is always exactly what parsing would give. About 2.5 KB an
 * entry: 2048 entries (twice the largest page a face asks for) stay near 5 MB of the 300 MB budget.
 */
export const FACTS_CACHE_SIZE = 2048;
const parsedFacts = new Map<string, { text: string; facts: CertificateFacts }>();

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function parseFacts(text: string): CertificateFacts {
  const parsed = JSON.parse(text) as Omit<CertificateFacts, 'notBefore' | 'notAfter'> & {
    notBefore: string;
    notAfter: string;
  };
  return { ...parsed, notBefore: new Date(parsed.notBefore), notAfter: new Date(parsed.notAfter) };
}

/**
 * Facts from their stored JSON. With the row's fingerprint, the result is shared between reads
 * and frozen (its Dates aside, which callers never change): never mutate it; copy to change.
 */
export function factsFromJson(text: string, fingerprint?: string): CertificateFacts {
  if (fingerprint === undefined) return parseFacts(text);
  const cached = parsedFacts.get(fingerprint);
  if (cached && cached.text === text) return cached.facts;
  const facts = deepFreeze(parseFacts(text));
  if (!cached && parsedFacts.size >= FACTS_CACHE_SIZE) parsedFacts.delete(parsedFacts.keys().next().value!);
  parsedFacts.set(fingerprint, { text, facts });
  return facts;
}

/**
 * A summary row's facts: parsed from its text (and kept as the row's: known-facts.ts), or, for a
 * row read without the column (known-facts.ts `readPage`), the ones kept for its identity. The
 * reader checked those with `factsInHand` first: a row without either is a bug, never a guess.
 */
function rowFacts(
  text: string | undefined,
  certificateNo: number,
  fingerprint: string,
  updatedAt: number,
): CertificateFacts {
  if (text !== undefined) {
    const facts = factsFromJson(text, fingerprint);
    rememberFacts(certificateNo, fingerprint, updatedAt, facts);
    return facts;
  }
  const known = knownFacts(certificateNo, fingerprint, updatedAt);
  if (known === undefined)
    throw new Error(`certificate ${certificateNo} was read without its facts, and they are not held`);
  return known;
}

/** Whether every summary row of `rows` read without `facts` has its facts held (known-facts.ts). */
export function factsInHand(rows: ReadonlyArray<RowValues>, keys: SummaryKeys): boolean {
  for (const r of rows) {
    if (r[keys.certificate_no] === null) continue;
    if (
      knownFacts(Number(r[keys.certificate_no]), r[keys.fingerprint_sha256] as string, Number(r[keys.updated_at])) ===
      undefined
    )
      return false;
  }
  return true;
}

/** Parsed facts currently kept (for tests). */
export const cachedFactsCount = (): number => parsedFacts.size;

/** The columns derived from facts: what list queries filter and sort on. */
export function factColumns(facts: CertificateFacts) {
  return {
    common_name: facts.commonName,
    ca_name: facts.caName,
    serial_number: facts.serialNumber,
    key_algorithm: facts.key.algorithm,
    key_bits: facts.key.bits,
    not_before: ms(facts.notBefore),
    not_after: ms(facts.notAfter),
    fingerprint_sha256: facts.fingerprintSha256,
    spki_sha256: facts.publicKeyFingerprintSha256,
    facts: factsToJson(facts),
  };
}

/**
 * The certificates columns a summary needs: every one but the PEM text (`certificate_pem`,
 * `chain_pems`). `has_chain` is computed by the query (`hasChainColumn`).
 */
export const CERTIFICATE_SUMMARY_COLUMNS = [
  'certificate_no',
  'tenant_id',
  'name',
  'type',
  'origin',
  'facts',
  'fingerprint_sha256',
  'file_name',
  'has_private_key',
  'created_at',
  'updated_at',
  'revoked_at',
  'revocation_requested_at',
  'deleted_at',
] as const satisfies ReadonlyArray<keyof CertificateRow>;

/**
 * The summary columns, without `facts` for a page read when every row's facts are held
 * (known-facts.ts `readPage`).
 */
export const summaryColumns = (withFacts: boolean): ReadonlyArray<(typeof CERTIFICATE_SUMMARY_COLUMNS)[number]> =>
  withFacts ? CERTIFICATE_SUMMARY_COLUMNS : SUMMARY_COLUMNS_WITHOUT_FACTS;
const SUMMARY_COLUMNS_WITHOUT_FACTS = CERTIFICATE_SUMMARY_COLUMNS.filter((column) => column !== 'facts');

export type CertificateSummaryRow = Pick<Selectable<CertificateRow>, (typeof CERTIFICATE_SUMMARY_COLUMNS)[number]> & {
  has_chain: number | boolean;
};

/**
 * `has_chain`, without decoding the chain: an empty chain is stored as exactly `[]`
 * (JSON.stringify of an empty array), so the comparison answers it on both dialects.
 */
export const hasChainColumn = (table: string) =>
  sql<number>`case when ${sql.ref(`${table}.chain_pems`)} = '[]' then 0 else 1 end`.as('has_chain');

/** The columns `summaryFromRow` reads. */
export const SUMMARY_ROW_COLUMNS = [...CERTIFICATE_SUMMARY_COLUMNS, 'has_chain'] as const;
export type SummaryKeys = ColumnKeys<(typeof SUMMARY_ROW_COLUMNS)[number]>;

const SUMMARY_BY_NAME = Object.fromEntries(SUMMARY_ROW_COLUMNS.map((column) => [column, column])) as SummaryKeys;

/** A summary from its row object: `summaryFromValues` by column name. */
export const summaryFromRow = (row: CertificateSummaryRow): CertificateSummary =>
  summaryFromValues(row as unknown as RowValues, SUMMARY_BY_NAME);

/**
 * A summary from a row of a RowSet (query-template.ts), read with its
 * `columnKeys(SUMMARY_ROW_COLUMNS or a longer list, columns)`: an object row or an array row.
 */
export function summaryFromValues(r: RowValues, keys: SummaryKeys): CertificateSummary {
  const certificateNo = Number(r[keys.certificate_no]);
  const fingerprint = r[keys.fingerprint_sha256] as string;
  const updatedAt = Number(r[keys.updated_at]);
  return {
    certificateNo,
    tenantId: Number(r[keys.tenant_id]),
    name: r[keys.name] as string,
    type: r[keys.type] as CertificateType,
    origin: r[keys.origin] as CertificateOrigin,
    hasChain: Number(r[keys.has_chain]) === 1,
    hasPrivateKey: r[keys.has_private_key] === 1,
    facts: rowFacts(r[keys.facts] as string | undefined, certificateNo, fingerprint, updatedAt),
    fileName: r[keys.file_name] as string | null,
    createdAt: date(r[keys.created_at] as number),
    updatedAt: date(updatedAt),
    revokedAt: maybeDate(r[keys.revoked_at] as number | null),
    revocationRequestedAt: maybeDate(r[keys.revocation_requested_at] as number | null),
    deletedAt: maybeDate(r[keys.deleted_at] as number | null),
  };
}

export function certificateFromRow(row: Selectable<CertificateRow>): Certificate {
  const chainPems = JSON.parse(row.chain_pems) as string[];
  return {
    ...summaryFromRow({ ...row, has_chain: chainPems.length > 0 ? 1 : 0 }),
    certificatePem: row.certificate_pem,
    chainPems,
  };
}

export function auditEventFromRow(row: Selectable<AuditEventRow>): AuditEvent {
  return {
    id: Number(row.id),
    tenantId: row.tenant_id === null ? null : Number(row.tenant_id),
    actor: row.actor,
    action: row.action,
    target: row.target,
    result: row.result as AuditResult,
    remoteAddress: row.remote_address,
    detail: JSON.parse(row.detail) as AuditEvent['detail'],
    at: date(row.at),
  };
}
