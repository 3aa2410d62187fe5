/**
 * Who is acting, as every use-case receives it. Faces build it after authenticating; the CLI
 * builds the local operator. Authorisation happens in core (policy.ts), so a face cannot forget it.
 */
import type { Role } from '../domain/model.ts';

export interface Actor {
  tenantId: number;
  /** Access key of the credential, or `cli` for the local operator. */
  id: string;
  role: Role;
  remoteAddress: string | null;
}

/** The local operator of the CLI: full rights on the tenant it names. */
export function cliActor(tenantId: number): Actor {
  return { tenantId, id: 'cli', role: 'ADMIN', remoteAddress: null };
}
