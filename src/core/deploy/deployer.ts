/**
 * The Deployer port: what the worker (worker.ts) hands a deployment target, and the one interface
 * every target kind implements. The implementations do the I/O (file writes, process spawns,
 * HTTP calls) and live outside core, in src/deployers/ (directory.ts: files + reload command;
 * webhook.ts: signed HTTPS POST); src/app/ wires them into the worker as a DeployerFactory.
 *
 * A deployer either completes (the target holds the new state) or throws an Error whose message
 * says what failed, in one line, safe to show to the tenant (the slot's `lastError`).
 */
import type { DeployTargetSpec } from '../../domain/deploy-target.ts';
import { fullChainPems } from '../../domain/x509/chain.ts';
import type { CipherProfile, ServiceRegion, TlsVersion } from '../../domain/edge-slot.ts';

/** A certificate as a target receives it: its facts, PEM, chain and key. */
export interface PublishedCertificate {
  certificateNo: number;
  certificateName: string;
  commonName: string | null;
  domains: readonly string[];
  notBefore: Date;
  notAfter: Date;
  fingerprintSha256: string;
  certificatePem: string;
  /** Issuers in path order, leaf's issuer first. */
  chainPems: readonly string[];
  privateKeyPem: string;
}

/** A slot's publication: its Korea/Japan certificate (the bundle's own fields) and its GLOBAL items. */
export interface DeployBundle extends PublishedCertificate {
  tenantId: number;
  slotId: number;
  generation: number;
  serviceRegion: ServiceRegion;
  tlsVersion: TlsVersion;
  cipherProfile: CipherProfile;
  /**
   * The slot's GLOBAL items (KR_JP_GLOBAL slots; empty for KR_JP): Global Edge Dedicated
   * certificates with their keys. Publishing them to the edge is the one use of such a key, so
   * the worker reads it from the store directly, not through core's export path (which refuses).
   */
  globalCertificates: readonly GlobalCertificateBundle[];
}

/** One GLOBAL item of a slot, as published beside the Korea/Japan certificate. */
export interface GlobalCertificateBundle extends PublishedCertificate {
  itemId: number;
}

export interface SlotRef {
  tenantId: number;
  slotId: number;
  generation: number;
}

export interface Deployer {
  /** Puts the bundle on the target, replacing what the slot had there. */
  publish(bundle: DeployBundle, signal: AbortSignal): Promise<void>;
  /** Takes the slot off the target; nothing there is fine. */
  remove(slot: SlotRef, signal: AbortSignal): Promise<void>;
}

/**
 * The deployer for a tenant's target: its spec, and its secret opened by the vault (webhooks;
 * null for directory targets). Throws, like a deployer, an Error whose message is safe to show
 * when the target cannot be used as stored.
 */
export type DeployerFactory = (spec: DeployTargetSpec, secret: string | null) => Deployer;

/**
 * A directory target's folder, checked before the target is set (targets.ts `update`): the
 * deployer would otherwise create it, with its parents, on the first publish, so a typo in the path
 * would go unnoticed. Implemented in src/deployers/ (it looks at the file system), wired by app/.
 *
 * - `exists`: a directory is there; `created`: there was none and `create` was asked, so it was
 *   created (0700, with its parents); `missing`: none, and `create` was not asked;
 *   `not-directory`: something else is at the path.
 */
export interface TargetFolders {
  prepare(path: string, create: boolean): Promise<'exists' | 'created' | 'missing' | 'not-directory'>;
}

/** Leaf then issuers, a self-signed root left out: what web servers call the full chain (fullChainPems). */
export const fullChainOf = (bundle: Pick<DeployBundle, 'certificatePem' | 'chainPems'>): string =>
  fullChainPems(bundle.certificatePem, bundle.chainPems).join('');
