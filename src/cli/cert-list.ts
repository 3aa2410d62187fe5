/**
 * `certkeeper cert list`: the certificate search (core/certificate-search.ts) on the command line.
 *
 *   cert list [--tenant NAME] [--covers HOST|IP] [--zone ZONE] [--ip IP] [--contains TEXT]
 *             [--domain-contains TEXT] [--name N] [--domain D] [--expires-within 14d]
 *             [--expires-after DATE] [--expires-before DATE] [--status all|expired|unexpired]
 *             [--key-type RSA|RSA-2048|EC-256|…] [--issuer CA]
 *             [--sort certificateNo|name|notAfter|createdAt] [--desc]
 *             [--page N | --all | --after CURSOR] [--page-size N] [--json]
 *
 * 20 a page by default, at most 1000 (a larger --page-size is refused, saying so). `--page`
 * reads by offset and prints where the page sits; `--all` and `--after` read by keyset, so a
 * certificate imported or deleted meanwhile never makes another one appear twice or go missing;
 * `--json` prints `next` (with `--page` too), the cursor of the following page, for `--after`. When an exact total
 * would need reading every certificate, the total says "more than N" (`totalExact: false`).
 * `--search TEXT` is the older name of `--contains`.
 */
import { cliActor } from '../core/actor.ts';
import type { CertificateListQuery } from '../core/certificates.ts';
import { decodeCursor, encodeCursor, parseKeyType, sortKeyOf } from '../core/certificate-search.ts';
import type { Core } from '../core/core.ts';
import { CERTIFICATE_PAGE_MAX, type CertificateSort, type ValidityFilter } from '../core/ports.ts';
import type { CertificateSummary, Tenant } from '../domain/model.ts';
import { certificateStatus } from '../domain/status.ts';
import { caNameOf } from '../domain/x509/ca-name.ts';
import { table } from './output.ts';

export interface CertListFlags {
  name?: string | undefined;
  search?: string | undefined;
  contains?: string | undefined;
  'domain-contains'?: string | undefined;
  domain?: string | string[] | undefined;
  covers?: string | undefined;
  zone?: string | undefined;
  ip?: string | undefined;
  'expires-within'?: string | undefined;
  'expires-after'?: string | undefined;
  'expires-before'?: string | undefined;
  'key-type'?: string | undefined;
  issuer?: string | undefined;
  status?: string | undefined;
  sort?: string | undefined;
  desc?: boolean | undefined;
  page?: string | undefined;
  'page-size'?: string | undefined;
  all?: boolean | undefined;
  after?: string | undefined;
}

type Out = (value: unknown, human: string) => void;
type Usage = (message: string) => Error;

const DAY_MS = 86_400_000;
const SORTS: readonly CertificateSort[] = ['certificateNo', 'name', 'notAfter', 'createdAt'];
export const LIST_COLUMNS = ['certificateNo', 'name', 'commonName', 'status', 'notAfter', 'caName'];

export function presentCertificate(certificate: CertificateSummary, now: Date) {
  return {
    certificateNo: certificate.certificateNo,
    name: certificate.name,
    commonName: certificate.facts.commonName,
    domains: certificate.facts.domains.join(','),
    status: certificateStatus(certificate, now),
    notBefore: certificate.facts.notBefore.toISOString(),
    notAfter: certificate.facts.notAfter.toISOString(),
    caName: caNameOf(certificate.facts),
    keyAlgorithm: `${certificate.facts.key.algorithm} ${certificate.facts.key.curve ?? certificate.facts.key.bits}`,
    hasPrivateKey: certificate.hasPrivateKey,
    createdAt: certificate.createdAt.toISOString(),
  };
}

function positiveInt(text: string, flag: string, usage: Usage): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) throw usage(`${flag} takes a positive integer`);
  return Number(text);
}

/** `14d`, `14` (days), `2w`, `36h`: a duration from now. */
function parseWithin(text: string, usage: Usage): number {
  const match = /^([0-9]{1,5})(d|w|h)?$/.exec(text.trim());
  if (!match)
    throw usage(
      `--expires-within takes a number of days such as 14d (or 2w, 36h); got ${JSON.stringify(text.slice(0, 40))}`,
    );
  const n = Number(match[1]);
  return match[2] === 'w' ? n * 7 * DAY_MS : match[2] === 'h' ? n * 3_600_000 : n * DAY_MS;
}

/** `2026-12-31` (midnight UTC) or a full ISO 8601 instant. */
function parseDate(text: string, flag: string, usage: Usage): Date {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(`${text}T00:00:00Z`) : new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(date.getTime()))
    throw usage(
      `${flag} takes a date such as 2026-12-31 or 2026-12-31T12:00:00Z; got ${JSON.stringify(text.slice(0, 40))}`,
    );
  return date;
}

function parseValidity(status: string | undefined, usage: Usage): ValidityFilter {
  const value = (status ?? 'all').toLowerCase();
  if (value === 'all' || value === 'expired' || value === 'unexpired') return value;
  throw usage('--status takes all, expired or unexpired');
}

function parseSort(sort: string | undefined, usage: Usage): CertificateSort {
  const value = (sort ?? 'certificateNo') as CertificateSort;
  if (SORTS.includes(value)) return value;
  throw usage(`--sort takes ${SORTS.join(', ')}`);
}

/** The query of the flags, paging aside. */
export function certListQuery(
  flags: CertListFlags,
  now: Date,
  usage: Usage,
): Omit<CertificateListQuery, 'offset' | 'limit'> {
  if (flags.search !== undefined && flags.contains !== undefined)
    throw usage('--search is --contains: give one of them');
  if (Array.isArray(flags.domain)) throw usage('--domain takes one name');
  const contains = flags.contains ?? flags.search;
  const query: Omit<CertificateListQuery, 'offset' | 'limit'> = {
    validity: parseValidity(flags.status, usage),
    sort: parseSort(flags.sort, usage),
    order: flags.desc ? 'desc' : 'asc',
  };
  if (flags.name) query.name = flags.name;
  if (contains) query.nameContains = contains;
  if (flags['domain-contains'] !== undefined) query.domainContains = flags['domain-contains'];
  if (flags.domain) query.domain = flags.domain;
  if (flags.covers !== undefined) query.coversHost = flags.covers;
  if (flags.zone !== undefined) query.zone = flags.zone;
  if (flags.ip !== undefined) query.ipAddress = flags.ip;
  if (flags['key-type'] !== undefined) query.keyType = parseKeyType(flags['key-type'], '--key-type');
  if (flags.issuer !== undefined) query.issuer = flags.issuer;
  const within = flags['expires-within'];
  const afterDate = flags['expires-after'];
  const beforeDate = flags['expires-before'];
  if (within !== undefined && (afterDate !== undefined || beforeDate !== undefined))
    throw usage('--expires-within is a window from now: give it, or --expires-after/--expires-before, not both');
  if (within !== undefined)
    query.notAfterBetween = { from: now, to: new Date(now.getTime() + parseWithin(within, usage)) };
  if (afterDate !== undefined || beforeDate !== undefined) {
    query.notAfterBetween = {
      from: afterDate === undefined ? new Date(0) : parseDate(afterDate, '--expires-after', usage),
      to: beforeDate === undefined ? new Date(8.64e15) : parseDate(beforeDate, '--expires-before', usage),
    };
  }
  return query;
}

/** Where this page sits in the list and how to get the next one. */
function pageFooter(total: number, exact: boolean, page: number, pageSize: number, shown: number): string {
  if (!exact) {
    const first = (page - 1) * pageSize + 1;
    return `Page ${page}: certificates ${first}-${first + shown - 1} of more than ${total - 1}. Next: --page ${page + 1} (or --all).\n`;
  }
  const pages = Math.max(1, Math.ceil(total / pageSize));
  if (total === 0) return '0 certificate(s) in all.\n';
  if (page > pages)
    return `Page ${page} is past the end: ${total} certificate(s) in ${pages} page(s) of ${pageSize}.\n`;
  const first = (page - 1) * pageSize + 1;
  const last = Math.min(page * pageSize, total);
  const next = page < pages ? ` Next: --page ${page + 1} (or --all).` : '';
  return `Page ${page} of ${pages}: certificates ${first}-${last} of ${total} in all.${next}\n`;
}

export async function runCertList(core: Core, tenant: Tenant, flags: CertListFlags, out: Out, usage: Usage) {
  const actor = cliActor(tenant.id);
  const all = flags.all === true;
  const paging = [flags.page !== undefined && '--page', all && '--all', flags.after !== undefined && '--after'].filter(
    Boolean,
  );
  if (paging.length > 1) throw usage(`cert list takes one of --page, --all and --after, not ${paging.join(' and ')}`);
  const pageSize = positiveInt(flags['page-size'] ?? (all ? String(CERTIFICATE_PAGE_MAX) : '20'), '--page-size', usage);
  if (pageSize > CERTIFICATE_PAGE_MAX)
    throw usage(
      `--page-size is at most ${CERTIFICATE_PAGE_MAX}; use --page N to page through, or --all for every certificate`,
    );
  const now = core.clock.now();
  const query = certListQuery(flags, now, usage);
  const sort = query.sort ?? 'certificateNo';
  const order = query.order ?? 'asc';
  if (all || flags.after !== undefined) {
    // Keyset pages: each starts strictly after the last row of the one before.
    const items: CertificateSummary[] = [];
    let after = flags.after === undefined ? undefined : decodeCursor(flags.after, sort, order);
    for (;;) {
      const result = await core.certificates.list(actor, {
        ...query,
        ...(after ? { after } : {}),
        offset: 0,
        limit: pageSize,
      });
      items.push(...result.items);
      const last = result.items.at(-1);
      const more = result.items.length === pageSize && last !== undefined;
      if (!all) {
        const rows = result.items.map((c) => presentCertificate(c, now));
        const next = more ? encodeCursor(last, sort, order) : null;
        out(
          { items: rows, next },
          table(rows, LIST_COLUMNS) + (next ? `Next: --after ${next}\n` : 'End of the list.\n'),
        );
        return;
      }
      if (!more) break;
      after = { key: sortKeyOf(last, sort), certificateNo: last.certificateNo };
    }
    const rows = items.map((c) => presentCertificate(c, now));
    out({ total: rows.length, items: rows }, `${table(rows, LIST_COLUMNS)}${rows.length} certificate(s) in all.\n`);
    return;
  }
  const page = positiveInt(flags.page ?? '1', '--page', usage);
  const result = await core.certificates.list(actor, { ...query, offset: (page - 1) * pageSize, limit: pageSize });
  const rows = result.items.map((c) => presentCertificate(c, now));
  const last = result.items.at(-1);
  const next = result.items.length === pageSize && last ? encodeCursor(last, sort, order) : null;
  out(
    { total: result.total, totalExact: result.totalExact, page, pageSize, items: rows, next },
    table(rows, LIST_COLUMNS) + pageFooter(result.total, result.totalExact, page, pageSize, rows.length),
  );
}
