/**
 * Shared by the Global Edge suites: a real app (NCP test app: fixed clock, signing client) with
 * a deployment target, a worker driven step by step (`runOnce`), and helpers to read slots and
 * the target directory.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createProvisioningWorker,
  type ProvisioningWorker,
  type WorkerOptions,
} from '../../../src/core/deploy/worker.ts';
import type { DeployTargetInput } from '../../../src/core/deploy/target-spec.ts';
import { createDeployers } from '../../../src/deployers/index.ts';
import type { TestTenant } from '../../helpers/app.ts';
import type { NcpResponse } from '../../helpers/ncp-client.ts';
import { FIXTURES, GOLDEN_NOW, startNcpApp, v1Body, type NcpTestApp } from '../ncp/helpers.ts';

export { FIXTURES, GOLDEN_NOW, v1Body };
export const EDGE = '/api/v1/certificate/provisioning';

export interface EdgeTestApp extends NcpTestApp {
  /** The target directory (a temp dir) when the app was started with `target: 'directory'`. */
  targetDir: string;
  worker: ProvisioningWorker;
  /** Registers a certificate through NCP v1 and returns its number. */
  register(
    name: string,
    material: { certificate: string; privateKey: string; chain: string },
    tenant?: TestTenant,
  ): Promise<number>;
  /** POST provisioning with KR_JP defaults; returns the new slot id (from the Location header). */
  provision(certificateNo: number, extra?: Record<string, unknown>, tenant?: TestTenant): Promise<number>;
  /** The slot detail's `result`. */
  slot(
    slotId: number,
    tenant?: TestTenant,
  ): Promise<Record<string, unknown> & { provisionStatus: string; deployment: Record<string, unknown> }>;
}

export interface EdgeAppOptions {
  store?: 'sqlite' | 'postgres';
  now?: Date;
  /** Default `directory` (a temp dir, no reload command). `none`: no target. */
  target?: 'directory' | 'none' | DeployTargetInput;
  worker?: Partial<WorkerOptions>;
}

export async function startEdgeApp(options: EdgeAppOptions = {}): Promise<EdgeTestApp> {
  const app = await startNcpApp({
    ...(options.store ? { store: options.store } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const targetDir = await mkdtemp(join(tmpdir(), 'certkeeper-edge-target-'));
  const target = options.target ?? 'directory';
  if (target !== 'none')
    await app.app.core.targets.set(
      app.main.actor,
      target === 'directory' ? { kind: 'directory', path: targetDir } : target,
    );
  const worker = createProvisioningWorker({
    store: app.app.store,
    clock: app.clock,
    audit: app.app.core.audit,
    workerId: 'test-worker',
    deployers: createDeployers({ clock: app.clock }),
    ...options.worker,
  });
  const close = app.close.bind(app);
  return Object.assign(app, {
    targetDir,
    worker,
    async register(
      name: string,
      material: { certificate: string; privateKey: string; chain: string },
      tenant?: TestTenant,
    ) {
      const res = await app.call({
        method: 'POST',
        path: '/api/v1/certificate/withExternal',
        body: v1Body(name, material),
        ...(tenant ? { credentials: tenant.admin } : {}),
      });
      const list = (res.json as { sslCertificateList?: Array<{ certificateNo: number }> }).sslCertificateList;
      if (!list?.[0]) throw new Error(`register ${name}: ${res.body.toString()}`);
      return list[0].certificateNo;
    },
    async provision(certificateNo: number, extra: Record<string, unknown> = {}, tenant?: TestTenant) {
      const res = await app.call({
        method: 'POST',
        path: EDGE,
        body: {
          serviceRegion: 'KR_JP',
          cmCertificateIds: [certificateNo],
          tlsVersion: 'TLS_MIN_VERSION_1_2',
          cipherProfile: 'DEFAULT',
          ...extra,
        },
        ...(tenant ? { credentials: tenant.admin } : {}),
      });
      const location = res.headers.location;
      if (res.status !== 200 || !location) throw new Error(`provision: ${res.status} ${res.body.toString()}`);
      return Number(location.split('/').at(-1));
    },
    async slot(slotId: number, tenant?: TestTenant) {
      const res = await app.call({
        method: 'GET',
        path: `${EDGE}/${slotId}`,
        ...(tenant ? { credentials: tenant.admin } : {}),
      });
      if (res.status !== 200) throw new Error(`slot ${slotId}: ${res.status} ${res.body.toString()}`);
      return (
        res.json as {
          result: Record<string, unknown> & { provisionStatus: string; deployment: Record<string, unknown> };
        }
      ).result;
    },
    async close() {
      await worker.stop();
      await close();
      await rm(targetDir, { recursive: true, force: true });
    },
  });
}

/** The result of an edge answer. */
export const resultOf = (res: NcpResponse): unknown => (res.json as { result?: unknown }).result;

/** SHA-256 of a PEM certificate's DER, hex, as X509Certificate.fingerprint256 without colons. */
export function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase();
}

/** What the directory target holds for a slot: the leaf's fingerprint, whether the key matches it, the key file mode. */
export async function deployedPair(
  dir: string,
  slotId: number,
): Promise<{ fingerprint: string; keyMatches: boolean; fullchain: string; privkey: string }> {
  const fullchain = await readFile(join(dir, String(slotId), 'fullchain.pem'), 'utf8');
  const privkey = await readFile(join(dir, String(slotId), 'privkey.pem'), 'utf8');
  const leaf = new X509Certificate(fullchain);
  const { createPrivateKey } = await import('node:crypto');
  return {
    fingerprint: fingerprintOf(fullchain),
    keyMatches: leaf.checkPrivateKey(createPrivateKey(privkey)),
    fullchain,
    privkey,
  };
}

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
