/**
 * Certificates in use by edge slots, as the CertificateRepository answers it: `usedBy` and the
 * `usedByInstanceNo` filter of `list` come from the slots (NCP `instanceNo` is the slot id).
 * A wrapper around the certificate repository, so certificate-list.ts need not know about slots
 * (certificates.ts knows them in one place only: `markDeleted` re-checks "in use" under the
 * certificate row's lock, closing the race between a delete and a provision):
 * - `usedBy(tenant, no)`: the ids of the tenant's slots (every status but DELETED) that hold the
 *   certificate; core's `delete` refuses while it is not empty;
 * - `list({ usedByInstanceNo })`: the certificates of that slot, through the same list query with
 *   a `certificateNo` filter (a slot holds one certificate, two for KR_JP_GLOBAL), so order,
 *   other filters and `total` behave exactly as without it.
 */
import type {
  CertificatePage,
  CertificateQuery,
  CertificateRepository,
  CertificateSort,
  SlotRepository,
} from '../../core/ports.ts';
import type { CertificateSummary } from '../../domain/model.ts';

const SORT_KEYS: Record<CertificateSort, (c: CertificateSummary) => number | string> = {
  certificateNo: (c) => c.certificateNo,
  name: (c) => c.name,
  notAfter: (c) => c.facts.notAfter.getTime(),
  createdAt: (c) => c.createdAt.getTime(),
  updatedAt: (c) => c.updatedAt.getTime(),
};

function compare(sort: CertificateSort, order: 'asc' | 'desc') {
  const key = SORT_KEYS[sort];
  const sign = order === 'desc' ? -1 : 1;
  return (a: CertificateSummary, b: CertificateSummary): number => {
    const ka = key(a);
    const kb = key(b);
    const byKey = ka < kb ? -1 : ka > kb ? 1 : 0;
    return sign * (byKey !== 0 ? byKey : a.certificateNo - b.certificateNo);
  };
}

async function listUsedBy(
  certificates: CertificateRepository,
  slots: SlotRepository,
  query: CertificateQuery & { usedByInstanceNo: number },
): Promise<CertificatePage> {
  const { usedByInstanceNo, ...rest } = query;
  let numbers = await slots.certificatesOf(query.tenantId, usedByInstanceNo);
  if (rest.certificateNo !== undefined) numbers = numbers.filter((no) => no === rest.certificateNo);
  if (numbers.length === 0) return { items: [], total: 0 };
  if (numbers.length === 1) return certificates.list({ ...rest, certificateNo: numbers[0] as number });
  // A few certificates at most: list each, merge in the query's order, then page.
  const pages = await Promise.all(
    numbers.map((certificateNo) => certificates.list({ ...rest, certificateNo, offset: 0, limit: 1 })),
  );
  const all = pages.flatMap((p) => p.items).sort(compare(rest.sort ?? 'certificateNo', rest.order ?? 'asc'));
  const offset = Math.max(Math.trunc(rest.offset), 0);
  const limit = Math.max(Math.trunc(rest.limit), 0);
  return { items: all.slice(offset, offset + limit), total: all.length };
}

export function withSlotUsage(certificates: CertificateRepository, slots: SlotRepository): CertificateRepository {
  return {
    ...certificates,
    usedBy: (tenantId, certificateNo) => slots.usedBy(tenantId, certificateNo),
    list: (query) =>
      query.usedByInstanceNo === undefined
        ? certificates.list(query)
        : listUsedBy(certificates, slots, { ...query, usedByInstanceNo: query.usedByInstanceNo }),
  };
}
