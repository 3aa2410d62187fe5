/**
 * The search indexes of migration 0013, kept in step with the certificate rows: written by
 * `insert` and `replace` and dropped by `markDeleted` (repositories/certificates.ts), inside their
 * write transactions, so a search never sees a name that the rows do not hold. They hold live
 * certificates only.
 *
 * - `certificate_names` (tenant_id, kind, name_key, certificate_no): one row per DNS name of the
 *   certificate (`CertificateFacts.domains`: SAN dNSNames, else the CN; kind 0) and per IP SAN
 *   (kind 1). A DNS name's key is its labels, ASCII lower-cased, in reverse order, each followed
 *   by a dot: `www.example.com` → `com.example.www.`, `*.example.com` → `com.example.*.`. So
 *   "equal to zone Z or below it" is one key range, the keys that start with Z's key (`[key,
 *   key with its last dot turned into '/')`, '/' being the byte after '.'), and "covers host H"
 *   is at most two exact keys (domain/x509/hostname.ts `namesCovering`). An IP's key is its
 *   canonical text (domain/x509/ip-address.ts), matched exactly. Keys compare byte-wise on both
 *   dialects (dialect.ts `sortableTextType`).
 * - SQLite only (`dialect.substringIndex === 'fts5'`): `certificate_search`, an FTS5 table with
 *   the trigram tokenizer, rowid = certificate_no, columns `name` and `domains` (the DNS names,
 *   lower-cased, separated by spaces). PostgreSQL's substring indexes are pg_trgm GIN indexes on
 *   the rows themselves and need no writes here.
 */
import { sql, type Kysely } from 'kysely';
import { asciiLower } from '../../domain/text.ts';
import type { CertificateFacts } from '../../domain/x509/types.ts';
import { batches, insertBatched } from '../batch-insert.ts';
import type { StoreDialect } from '../dialect.ts';
import type { CertificateNameRow, Database } from '../schema.ts';

export const NAME_KIND = { dns: 0, ip: 1 } as const;

/** A DNS name's key: reversed labels, each followed by a dot (see the top of this file). */
export function dnsNameKey(name: string): string {
  const lower = asciiLower(name);
  const labels = (lower.endsWith('.') ? lower.slice(0, -1) : lower).split('.');
  return `${labels.reverse().join('.')}.`;
}

/** The keys of every name equal to `zone` or below it: [from, to). */
export function zoneKeyRange(zone: string): { from: string; to: string } {
  const from = dnsNameKey(zone);
  return { from, to: `${from.slice(0, -1)}/` };
}

export function nameRowsOf(
  tenantId: number,
  certificateNo: number,
  facts: Pick<CertificateFacts, 'domains' | 'sans'>,
): CertificateNameRow[] {
  const rows = new Map<string, CertificateNameRow>();
  for (const name of facts.domains) {
    const name_key = dnsNameKey(name);
    rows.set(`d${name_key}`, { tenant_id: tenantId, kind: NAME_KIND.dns, name_key, certificate_no: certificateNo });
  }
  for (const ip of facts.sans.ip) {
    rows.set(`i${ip}`, { tenant_id: tenantId, kind: NAME_KIND.ip, name_key: ip, certificate_no: certificateNo });
  }
  return [...rows.values()];
}

/** The FTS5 row's `domains` column. */
export const searchDomainsText = (facts: Pick<CertificateFacts, 'domains'>): string =>
  [...new Set(facts.domains.map(asciiLower))].join(' ');

/** Writes a live certificate's search rows; run inside its write transaction, after dropping old ones on replace. */
export async function writeSearchIndex(
  trx: Kysely<Database>,
  dialect: StoreDialect,
  tenantId: number,
  certificateNo: number,
  name: string,
  facts: Pick<CertificateFacts, 'domains' | 'sans'>,
): Promise<void> {
  const rows = nameRowsOf(tenantId, certificateNo, facts);
  if (rows.length > 0) await trx.insertInto('certificate_names').values(rows).execute();
  if (dialect.substringIndex === 'fts5') {
    await sql`insert into certificate_search (rowid, name, domains) values (${certificateNo}, ${name}, ${searchDomainsText(facts)})`.execute(
      trx,
    );
  }
}

/**
 * `writeSearchIndex` for the certificates of a batch (the bulk import), each a new live
 * certificate: the same rows, written in multi-row statements (batch-insert.ts).
 */
export async function writeSearchIndexes(
  trx: Kysely<Database>,
  dialect: StoreDialect,
  certificates: ReadonlyArray<{
    tenantId: number;
    certificateNo: number;
    name: string;
    facts: Pick<CertificateFacts, 'domains' | 'sans'>;
  }>,
): Promise<void> {
  await insertBatched(
    trx,
    'certificate_names',
    certificates.flatMap((c) => nameRowsOf(c.tenantId, c.certificateNo, c.facts)),
  );
  if (dialect.substringIndex === 'fts5') {
    for (const run of batches(certificates)) {
      const rows = run.map((c) => sql`(${c.certificateNo}, ${c.name}, ${searchDomainsText(c.facts)})`);
      await sql`insert into certificate_search (rowid, name, domains) values ${sql.join(rows)}`.execute(trx);
    }
  }
}

/** Drops a certificate's search rows (deleted, or about to be rewritten by a replace). */
export async function dropSearchIndex(
  trx: Kysely<Database>,
  dialect: StoreDialect,
  certificateNo: number,
): Promise<void> {
  await trx.deleteFrom('certificate_names').where('certificate_no', '=', certificateNo).execute();
  if (dialect.substringIndex === 'fts5')
    await sql`delete from certificate_search where rowid = ${certificateNo}`.execute(trx);
}
