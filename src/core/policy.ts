/**
 * Role → actions, in one table. VIEWER reads; ADMIN also writes and reads private keys.
 *
 * `certificate.file.read` is separate from `certificate.key.read` because NHN documents that a
 * VIEWER may download the certificate file, which holds the key: that face asks for the file
 * action, the console and NCP export ask for the key action. Both are audited.
 *
 * `deploy-target.write` (set, change or clear a tenant's deployment target) is its own action: a
 * directory target makes the server write private keys to a path and run a command as its own OS
 * user, so whoever holds it acts as that user. ADMIN has it; the console offers it only when the
 * operator opts in (CERTKEEPER_CONSOLE_TARGET_EDIT, docs/operations.md).
 */
import { AppError } from '../domain/errors.ts';
import type { Role } from '../domain/model.ts';
import type { Actor } from './actor.ts';

export const ACTIONS = [
  'certificate.read',
  'certificate.write',
  'certificate.key.read',
  'certificate.file.read',
  'credential.read',
  'credential.write',
  'audit.read',
  'deploy-target.write',
] as const;
export type Action = (typeof ACTIONS)[number];

const GRANTS = {
  ADMIN: new Set<Action>(ACTIONS),
  VIEWER: new Set<Action>(['certificate.read', 'certificate.file.read', 'audit.read']),
} satisfies Record<Role, Set<Action>>;

export function can(role: Role, action: Action): boolean {
  return GRANTS[role].has(action);
}

export function authorize(actor: Actor, action: Action): void {
  if (!can(actor.role, action)) {
    throw new AppError('permission_denied', `The ${actor.role} role may not do this (${action}).`, {
      details: { action },
    });
  }
}
