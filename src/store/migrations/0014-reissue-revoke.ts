/**
 * Migration 0014: reissue with the user's CSR, revocation, Global Edge dedicated certificates
 * (issue 16; core/issuance/ports.ts).
 *
 * - `issuance_orders.csr`: the PEM CSR a `reissue` order finalizes with (the user keeps the key;
 *   the order has no key of its own). Public: a CSR holds no secret.
 * - `issuance_orders.revocation_reason`: the RFC 5280 CRLReason code of a `revoke` order.
 * - `issuance_orders.certificate_type`: the type the issued certificate is stored with
 *   (`NCP_FREE_DV_01`, or `NCP_GLOBAL_EDGE_DEDICATED`, whose key no face exports).
 * - `certificates.revocation_requested_at`: a revocation was asked for and the CA has not
 *   confirmed it yet (NCP status -7 REQUEST_REVOKE); `revoked_at` is set once it has (-5).
 */
import type { Kysely, Migration } from 'kysely';

export function reissueRevokeSchema(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('issuance_orders').addColumn('csr', 'text').execute();
      await db.schema.alterTable('issuance_orders').addColumn('revocation_reason', 'integer').execute();
      await db.schema.alterTable('issuance_orders').addColumn('certificate_type', 'text').execute();
      await db.schema.alterTable('certificates').addColumn('revocation_requested_at', 'bigint').execute();
    },
  };
}
