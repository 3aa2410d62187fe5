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
 * - `certificate_name_grams` (tenant_id, gram_key, certificate_no), migration 0023: one row per
 *   distinct trigram of the certificate's name, keyed so that one trigram's rows list the names
 *   holding it in name order (`nameGramKey`).
 * - SQLite only (`dialect.substringIndex === 'fts5'`): `certificate_search`, an FTS5 table with
 *   the trigram tokenizer, rowid = certificate_no, columns `name` and `domains` (the DNS names,
 *   lower-cased, separated by spaces). PostgreSQL's domain substring index is a pg_trgm GIN index
 *   on `certificate_domains` itself and needs no writes here (its names use the trigram rows above).
 */
import { sql, type Kysely } from 'kysely';
import { asciiLower } from '../../domain/text.ts';
import type { CertificateFacts } from '../../domain/x509/types.ts';
import { batches, EXACT_INSERT_MAX, insertBatched } from '../batch-insert.ts';
import type { StoreDialect } from '../dialect.ts';
import { queryTemplate } from '../query-template.ts';
import type { CertificateNameGramRow, CertificateNameRow, Database } from '../schema.ts';

export const NAME_KIND = { dns: 0, ip: 1 } as const;

/**
 * The distinct trigrams of a text as `lower(name) LIKE` compares it: ASCII lower-cased, three
 * code points each. A name contains a text only if it holds every trigram of the text.
 */
export function trigramsOf(text: string): string[] {
  const chars = [...asciiLower(text)];
  return [...new Set(Array.from({ length: Math.max(chars.length - 2, 0) }, (_, i) => chars.slice(i, i + 3).join('')))];
}

/**
 * A name trigram row's key (`certificate_name_grams`, migration 0023): the trigram, a space, then the name as
 * stored. Keys compare byte-wise and every key of one trigram starts with the same four code
 * points, so the keys of a trigram are in the order of the names: walking them is walking the
 * names that hold the trigram in name order (repositories/certificate-search.ts, `walk`).
 */
export const nameGramKey = (gram: string, name: string): string => `${gram} ${name}`;

/** The keys of one trigram's rows: [from, to) ('!' is the byte after ' '). */
export const nameGramKeyRange = (gram: string): { from: string; to: string } => ({
  from: `${gram} `,
  to: `${gram}!`,
});

/** Where the name starts in a trigram key, in code points, 1-based (SQL `substr`). */
export const NAME_GRAM_NAME_START = 5;

export function nameGramRowsOf(tenantId: number, certificateNo: number, name: string): CertificateNameGramRow[] {
  return trigramsOf(name).map((gram) => ({
    tenant_id: tenantId,
    gram_key: nameGramKey(gram, name),
    certificate_no: certificateNo,
  }));
}

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

/** One certificate's FTS5 row (SQLite). */
const ftsRow = queryTemplate(
  (db: Kysely<Database>, certificateNo: number, name: string, domains: string) =>
    sql`insert into certificate_search (rowid, name, domains) values (${certificateNo}, ${name}, ${domains})`,
);

/** Writes a live certificate's search rows; run inside its write transaction, after dropping old ones on replace. */
export async function writeSearchIndex(
  trx: Kysely<Database>,
  dialect: StoreDialect,
  tenantId: number,
  certificateNo: number,
  name: string,
  facts: Pick<CertificateFacts, 'domains' | 'sans'>,
): Promise<void> {
  // Templates, built and compiled once (insertBatched's, and ftsRow).
  await insertBatched(trx, 'certificate_names', nameRowsOf(tenantId, certificateNo, facts));
  await insertBatched(trx, 'certificate_name_grams', nameGramRowsOf(tenantId, certificateNo, name));
  if (dialect.substringIndex === 'fts5') await ftsRow.all(trx, certificateNo, name, searchDomainsText(facts));
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
  await insertBatched(
    trx,
    'certificate_name_grams',
    certificates.flatMap((c) => nameGramRowsOf(c.tenantId, c.certificateNo, c.name)),
  );
  if (dialect.substringIndex === 'fts5') {
    // A write group's rows (at most MAX_GROUP, write-group.ts) in one statement: FTS5 wrote a
    // segment for each multi-row statement here (a group's 8 rows as 4 + 4: two segments; in one
    // statement: one, test/store/write-group.test.ts), and every segment is pages to write now
    // and to merge later.
    const runs = certificates.length <= EXACT_INSERT_MAX ? [certificates] : batches(certificates);
    for (const run of runs) {
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
  await trx.deleteFrom('certificate_name_grams').where('certificate_no', '=', certificateNo).execute();
  if (dialect.substringIndex === 'fts5')
    await sql`delete from certificate_search where rowid = ${certificateNo}`.execute(trx);
}
