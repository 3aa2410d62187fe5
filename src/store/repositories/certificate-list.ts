/**
 * The certificate list query: every CertificateQuery filter, a stable order, an exact total.
 *
 * - Live rows only, unless `changedBetween` is given: then every row whose `updated_at` (set on
 *   create, replace and delete) falls in [from, to), deleted ones included.
 * - Order: the chosen key, then `certificate_no` in the same direction, so pages never overlap or
 *   skip rows with equal keys.
 * - `total` is a plain COUNT over the same filters (a later change replaces it with counters).
 * - `nameContains` folds ASCII case only, on both dialects (SQLite's lower() and PostgreSQL's
 *   lower() under the column's "C" collation both do exactly that), so results agree.
 * - `domain` is an exact, case-insensitive match on one of the certificate's DNS names.
 */
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import { CERTIFICATE_PAGE_MAX, type CertificatePage, type CertificateQuery, type CertificateSort } from '../../core/ports.ts';
import { certificateFromRow, ms } from '../rows.ts';
import type { Database } from '../schema.ts';

const SORT_COLUMNS = {
  certificateNo: 'certificate_no',
  name: 'name',
  notAfter: 'not_after',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
} as const satisfies Record<CertificateSort, keyof Database['certificates']>;

export const asciiLower = (text: string): string => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** LIKE pattern for a literal substring: `\` escapes `%`, `_` and itself (ESCAPE is explicit: SQLite has no default). */
const containsPattern = (text: string): string => `%${asciiLower(text).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

type CertificateSelect = SelectQueryBuilder<Database, 'certificates', object>;

function filtered(db: Kysely<Database>, query: CertificateQuery): CertificateSelect {
  let select: CertificateSelect = db.selectFrom('certificates').where('tenant_id', '=', query.tenantId);
  if (query.changedBetween) {
    select = select.where('updated_at', '>=', ms(query.changedBetween.from)).where('updated_at', '<', ms(query.changedBetween.to));
  } else {
    select = select.where('deleted_at', 'is', null);
  }
  if (query.name !== undefined) select = select.where('name', '=', query.name);
  if (query.nameContains !== undefined && query.nameContains !== '') {
    select = select.where(sql<boolean>`lower(${sql.ref('name')}) like ${containsPattern(query.nameContains)} escape '\\'`);
  }
  if (query.certificateNo !== undefined) select = select.where('certificate_no', '=', query.certificateNo);
  if (query.domain !== undefined) {
    const domain = query.domain.toLowerCase();
    select = select.where('certificate_no', 'in', db.selectFrom('certificate_domains').select('certificate_no').where('tenant_id', '=', query.tenantId).where('domain', '=', domain));
  }
  // A certificate is valid through its notAfter instant inclusive (RFC 5280).
  const asOf = ms(query.asOf);
  if (query.validity === 'expired') select = select.where('not_after', '<', asOf);
  if (query.validity === 'unexpired') select = select.where('not_after', '>=', asOf);
  // Edge slots do not exist yet, so no certificate is used by any instance.
  if (query.usedByInstanceNo !== undefined) select = select.where(sql<boolean>`1 = 0`);
  return select;
}

export async function listCertificates(db: Kysely<Database>, query: CertificateQuery): Promise<CertificatePage> {
  const limit = Math.min(Math.max(Math.trunc(query.limit), 0), CERTIFICATE_PAGE_MAX);
  const offset = Math.max(Math.trunc(query.offset), 0);
  const select = filtered(db, query);
  const { total } = await select.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
  if (limit === 0 || offset >= Number(total)) return { items: [], total: Number(total) };
  const direction = query.order ?? 'asc';
  const sortColumn = SORT_COLUMNS[query.sort ?? 'certificateNo'];
  let ordered = select.selectAll().orderBy(sortColumn, direction);
  if (sortColumn !== 'certificate_no') ordered = ordered.orderBy('certificate_no', direction);
  const rows = await ordered.limit(limit).offset(offset).execute();
  return { items: rows.map(certificateFromRow), total: Number(total) };
}
