/**
 * The certificate list's query string → core's list query (core/certificate-search.ts holds the
 * search's rules; docs/search.md is the user's page).
 *
 *   q              the search box: a host (covered by RFC 6125 rules), `*.example.com` or
 *                  `zone:example.com` (equal or below), an IP address, `name:`/`domain:` text,
 *                  or free text (name contains); `searchBoxFilter` decides
 *   name           substring of the name, case-insensitive (ASCII), 3 characters or more
 *   domain         a DNS name the certificate covers, exact, case-insensitive
 *   status         all | unexpired | expired        (validity at the clock's reading)
 *   expiresWithin  days (1-3650): notAfter in [now, now + days): the dashboard's cards
 *   expiresFrom, expiresTo   dates (YYYY-MM-DD, UTC midnight) or instants: notAfter in [from, to)
 *   keyType        RSA | RSA-2048 | EC | EC-256 | Ed25519 | …
 *   issuer         the CA name as the list prints it, exact
 *   type           all | EXT                        (EXT, imported, is the only type so far)
 *   sort           notAfter | name | createdAt | certificateNo, order asc | desc
 *   page           1-based; pageSize 10 | 25 | 50 | 100
 *   cursor         instead of page: the `next` of the previous answer (keyset: nothing skipped or
 *                  repeated while certificates are imported or deleted)
 *
 * Totals are exact unless `totalExact` is false: then `total` is a lower bound ("more than
 * total - 1") and `pages` with it.
 */
import type { CertificateListQuery } from '../../core/certificates.ts';
import { decodeCursor, parseKeyType, searchBoxFilter } from '../../core/certificate-search.ts';
import type { ValidityFilter } from '../../core/ports.ts';
import { AppError } from '../../domain/errors.ts';
import { oneOf, optionalString, positiveInt, type Json } from './body.ts';

export const PAGE_SIZES = [10, 25, 50, 100] as const;
const STATUSES = ['all', 'unexpired', 'expired'] as const;
const TYPES = ['all', 'EXT'] as const;
const SORTS = ['notAfter', 'name', 'createdAt', 'certificateNo'] as const;
const ORDERS = ['asc', 'desc'] as const;
const DAY_MS = 86_400_000;
/** Deeper than this, narrow the search instead (offset paging walks the index up to the offset). */
export const MAX_PAGE = 100_000;

export interface ListRequest {
  query: CertificateListQuery;
  page: number;
  pageSize: number;
  /** A type no certificate can have: the answer is empty without asking the store. */
  impossible: boolean;
}

function dateParam(source: Json, field: string): Date | undefined {
  const text = optionalString(source, field, 40)?.trim();
  if (text === undefined || text === '') return undefined;
  const date = /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(`${text}T00:00:00Z`) : new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(date.getTime()))
    throw new AppError('invalid_argument', `The ${field} must be a date such as 2026-12-31.`, { field });
  return date;
}

export function parseListQuery(raw: unknown, now: Date): ListRequest {
  const source = (raw ?? {}) as Json;
  const pageSize = positiveInt(source, 'pageSize', 25, 100);
  if (!(PAGE_SIZES as readonly number[]).includes(pageSize))
    throw new AppError('invalid_argument', `The page size must be one of ${PAGE_SIZES.join(', ')}.`, {
      field: 'pageSize',
    });
  const page = positiveInt(source, 'page', 1, MAX_PAGE);
  const box = optionalString(source, 'q', 1024) ?? '';
  const name = optionalString(source, 'name', 255)?.trim();
  const domain = optionalString(source, 'domain', 253)?.trim();
  const status: ValidityFilter = oneOf(source, 'status', STATUSES, 'all');
  const type = oneOf(source, 'type', TYPES, 'all');
  const sort = oneOf(source, 'sort', SORTS, 'notAfter');
  const order = oneOf(source, 'order', ORDERS, 'asc');
  const cursor = optionalString(source, 'cursor', 2048);
  if (cursor !== undefined && source.page !== undefined && source.page !== '' && page !== 1)
    throw new AppError('invalid_argument', 'Give a page or a cursor, not both.', { field: 'cursor' });
  const keyType = optionalString(source, 'keyType', 40);
  const issuer = optionalString(source, 'issuer', 1024);
  const within = source.expiresWithin === undefined ? undefined : positiveInt(source, 'expiresWithin', 1, 3650);
  const from = dateParam(source, 'expiresFrom');
  const to = dateParam(source, 'expiresTo');
  if (within !== undefined && (from !== undefined || to !== undefined))
    throw new AppError('invalid_argument', 'Give expiresWithin or expiresFrom/expiresTo, not both.', {
      field: 'expiresWithin',
    });
  const boxFilter = searchBoxFilter(box);
  return {
    page,
    pageSize,
    impossible: type !== 'all' && type !== 'EXT',
    query: {
      ...boxFilter,
      // The older fields; the search box's own name substring wins over them.
      ...(name && boxFilter.nameContains === undefined ? { nameContains: name } : {}),
      ...(domain ? { domain } : {}),
      ...(keyType ? { keyType: parseKeyType(keyType) } : {}),
      ...(issuer ? { issuer } : {}),
      ...(within !== undefined
        ? { notAfterBetween: { from: now, to: new Date(now.getTime() + within * DAY_MS) } }
        : {}),
      ...(from !== undefined || to !== undefined
        ? { notAfterBetween: { from: from ?? new Date(0), to: to ?? new Date(8.64e15) } }
        : {}),
      ...(cursor !== undefined ? { after: decodeCursor(cursor, sort, order) } : {}),
      validity: status,
      sort,
      order,
      offset: cursor !== undefined ? 0 : (page - 1) * pageSize,
      limit: pageSize,
    },
  };
}
