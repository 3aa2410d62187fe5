/**
 * Who is acting, as every use-case receives it. Faces build it after authenticating; the CLI
 * builds the local operator. Authorisation happens in core (policy.ts), so a face cannot forget it.
 */
import type { Credential, Role } from '../domain/model.ts';

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

/**
 * The actor of a request authenticated as `credential` (every face's one way to build it: the
 * credential's own tenant and role, never values the request claims).
 */
export function credentialActor(
  credential: Pick<Credential, 'tenantId' | 'accessKey' | 'role'>,
  remoteAddress: string | null,
): Actor {
  return { tenantId: credential.tenantId, id: credential.accessKey, role: credential.role, remoteAddress };
}
