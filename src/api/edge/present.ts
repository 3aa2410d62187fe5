/**
 * Domain → Global Edge wire: the list item and the slot detail, field by field in the order the
 * documents print them, then certkeeper's own additions (docs/compat/edge.md, "Fields"). Null
 * fields are left out, as the NCP services' Jackson output does.
 */
import type { SlotListView, SlotView } from '../../core/provisioning.ts';
import { primaryItem, TLS_PROTOCOLS, type CipherProfile, type TlsVersion } from '../../domain/edge-slot.ts';
import type { CertificateSummary } from '../../domain/model.ts';
import { isoMillis, isoSeconds } from './dates.ts';
import { EDGE_CODES } from './errors.ts';
import type { EdgePaging } from './schemas.ts';

/** `{"code":"0000","message":"Success","result":…}`. */
export function success(result: unknown) {
  return { code: EDGE_CODES.success.code, message: EDGE_CODES.success.text, result };
}

export const tlsVersionText = (tls: TlsVersion): string => TLS_PROTOCOLS[tls].join(',');
export const cipherProfileText = (profile: CipherProfile): string => `GE-${profile}-v1`;

/** The representative domain: the CN, else the first DNS name. */
const commonNameOf = (certificate: CertificateSummary | null): string | undefined =>
  certificate?.facts.commonName ?? certificate?.facts.domains[0];

/** `record` without its null and undefined fields, the others in their order. */
function without<T extends Record<string, unknown>>(record: T): Partial<T> {
  // A loop, not entries → filter → fromEntries: a list page calls this for every item, and the
  // three arrays of the other way were a twentieth of the Edge list's server time.
  const kept: Partial<T> = {};
  for (const key in record) {
    const value = record[key];
    if (value !== undefined && value !== null) kept[key] = value;
  }
  return kept;
}

/** A `result.content[]` item of the list. */
export function presentListItem(view: SlotView) {
  const { slot } = view;
  const primary = primaryItem(slot);
  const certificate = view.items.find((entry) => entry.item === primary)?.certificate ?? null;
  return without({
    slotId: slot.slotId,
    commonName: commonNameOf(certificate),
    serviceRegion: slot.serviceRegion,
    tlsVersion: tlsVersionText(slot.tlsVersion),
    cipherProfile: cipherProfileText(slot.cipherProfile),
    certificateName: certificate?.name,
    expirationDate: certificate ? isoSeconds(certificate.facts.notAfter) : undefined,
    provisionStatus: slot.status,
    provisionDate: isoMillis(slot.provisionedAt),
  });
}

export function presentList(list: SlotListView, paging: EdgePaging) {
  return success({
    content: list.items.map(presentListItem),
    pageable: { pageNo: paging.pageNo, offset: paging.pageSize, totalCount: list.total },
  });
}

/** The slot detail: `slotId`, `certificates`, `linkedEdges` as documented, then certkeeper's fields. */
export function presentDetail(view: SlotView, paging: EdgePaging) {
  const { slot } = view;
  const { deployment } = slot;
  return success({
    slotId: slot.slotId,
    certificates: view.items.map(({ item, certificate }) =>
      without({
        itemId: item.itemId,
        serviceRegion: item.region,
        cmCertificateId: item.certificateNo,
        cmCertificateName: certificate?.name,
        commonName: commonNameOf(certificate),
        sanDomains: certificate?.facts.sans.dns,
        expirationDate: certificate ? isoSeconds(certificate.facts.notAfter) : undefined,
      }),
    ),
    // certkeeper links no edge servers: it publishes to the tenant's deployment target instead.
    linkedEdges: { content: [], pageable: { pageNo: paging.pageNo, offset: paging.pageSize, totalCount: 0 } },
    serviceRegion: slot.serviceRegion,
    tlsVersion: tlsVersionText(slot.tlsVersion),
    cipherProfile: cipherProfileText(slot.cipherProfile),
    provisionStatus: slot.status,
    provisionDate: isoMillis(slot.provisionedAt),
    deployment: without({
      target: view.targetKind,
      generation: deployment.generation,
      deployedGeneration: deployment.deployedGeneration,
      attempts: deployment.attempts,
      lastError: deployment.lastError,
      lastErrorDate: deployment.lastErrorAt ? isoMillis(deployment.lastErrorAt) : null,
      nextAttemptDate: deployment.nextAttemptAt ? isoMillis(deployment.nextAttemptAt) : null,
      deletedDate: slot.deletedAt ? isoMillis(slot.deletedAt) : null,
    }),
  });
}
