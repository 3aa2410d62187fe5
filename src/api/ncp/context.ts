/**
 * What every NCP route handler needs: the core, the API time zone, the auth hook factory, and
 * the presentation context of the caller's tenant (its memberNo, read once per tenant and kept:
 * a member number never changes).
 */
import type { Actor } from '../../core/actor.ts';
import type { Core } from '../../core/core.ts';
import type { IssuanceService } from '../../core/issuance/service.ts';
import type { Action } from '../../core/policy.ts';
import { AppError } from '../../domain/errors.ts';
import type { CertificateSummary } from '../../domain/model.ts';
import { ncpAuth, type NcpAuthOptions } from '../ncp-gateway/auth.ts';
import type { ApiZone } from './dates.ts';
import type { PresentContext } from './present.ts';

export interface NcpContext {
  core: Core;
  /** Certificate issuance (routes-issuance.ts); null or not `enabled`: those operations answer 29001. */
  issuance: IssuanceService | null;
  zone: ApiZone;
  auth(action: Action, options?: NcpAuthOptions): ReturnType<typeof ncpAuth>;
  present(actor: Actor): Promise<PresentContext>;
  /** Instance numbers using each certificate, in the order given. */
  usedBy(actor: Actor, certificates: readonly CertificateSummary[]): Promise<number[][]>;
}

export function createNcpContext(core: Core, zone: ApiZone, issuance: IssuanceService | null = null): NcpContext {
  const memberNos = new Map<number, string>();
  return {
    core,
    issuance,
    zone,
    auth: (action, options) => ncpAuth(core, action, options),
    async present(actor) {
      let memberNo = memberNos.get(actor.tenantId);
      if (memberNo === undefined) {
        const tenant = await core.tenants.getById(actor.tenantId);
        if (!tenant)
          throw new AppError('internal', `tenant ${actor.tenantId} of an authenticated credential is missing`);
        memberNo = tenant.memberNo;
        memberNos.set(actor.tenantId, memberNo);
      }
      return { memberNo, now: core.clock.now(), zone };
    },
    // One query for the whole page: the edge slots (instance numbers) using each certificate.
    async usedBy(actor, certificates) {
      if (certificates.length === 0) return [];
      const users = await core.provisioning.usedByMany(
        actor,
        certificates.map((c) => c.certificateNo),
      );
      return certificates.map((c) => users.get(c.certificateNo) ?? []);
    },
  };
}
