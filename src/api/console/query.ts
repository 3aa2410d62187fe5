/**
 * The certificate list's query string → core's list query.
 *
 *   name      substring of the name, case-insensitive (ASCII)
 *   domain    a DNS name the certificate covers, exact, case-insensitive
 *   status    all | unexpired | expired        (validity at the clock's reading)
 *   type      all | EXT                        (EXT, imported, is the only type so far)
 *   sort      notAfter | name | createdAt | certificateNo, order asc | desc
 *   page      1-based; pageSize 10 | 25 | 50 | 100
 *
 * Paging is limit/offset in core; totals are exact (the store keeps counters), so `pages` is exact.
 */
import type { CertificateListQuery } from '../../core/certificates.ts';
import type { ValidityFilter } from '../../core/ports.ts';
import { AppError } from '../../domain/errors.ts';
import { oneOf, optionalString, positiveInt, type Json } from './body.ts';

export const PAGE_SIZES = [10, 25, 50, 100] as const;
const STATUSES = ['all', 'unexpired', 'expired'] as const;
const TYPES = ['all', 'EXT'] as const;
const SORTS = ['notAfter', 'name', 'createdAt', 'certificateNo'] as const;
const ORDERS = ['asc', 'desc'] as const;
/** Deeper than this, narrow the search instead (offset paging walks the index up to the offset). */
export const MAX_PAGE = 100_000;

export interface ListRequest {
  query: CertificateListQuery;
  page: number;
  pageSize: number;
  /** A type no certificate can have: the answer is empty without asking the store. */
  impossible: boolean;
}

export function parseListQuery(raw: unknown): ListRequest {
  const source = (raw ?? {}) as Json;
  const pageSize = positiveInt(source, 'pageSize', 25, 100);
  if (!(PAGE_SIZES as readonly number[]).includes(pageSize))
    throw new AppError('invalid_argument', `The page size must be one of ${PAGE_SIZES.join(', ')}.`, {
      field: 'pageSize',
    });
  const page = positiveInt(source, 'page', 1, MAX_PAGE);
  const name = optionalString(source, 'name', 255)?.trim();
  const domain = optionalString(source, 'domain', 253)?.trim();
  const status: ValidityFilter = oneOf(source, 'status', STATUSES, 'all');
  const type = oneOf(source, 'type', TYPES, 'all');
  const sort = oneOf(source, 'sort', SORTS, 'notAfter');
  const order = oneOf(source, 'order', ORDERS, 'asc');
  return {
    page,
    pageSize,
    impossible: type !== 'all' && type !== 'EXT',
    query: {
      ...(name ? { nameContains: name } : {}),
      ...(domain ? { domain } : {}),
      validity: status,
      sort,
      order,
      offset: (page - 1) * pageSize,
      limit: pageSize,
    },
  };
}
