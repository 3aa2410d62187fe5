/**
 * A real store and core for the provisioning suites, a tenant with a directory target in a temp
 * dir whose reload command is a controllable fake (`gate`), certificates from the fixtures, and
 * workers with injected clock and command runner.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Actor } from '../../src/core/actor.ts';
import { createCore, type Core } from '../../src/core/core.ts';
import type { ImportOptions } from '../../src/core/certificates.ts';
import { createProvisioningWorker, type ProvisioningWorker, type WorkerOptions } from '../../src/core/deploy/worker.ts';
import { createDeployers } from '../../src/deployers/index.ts';
import type { RunCommand, RunCommandOptions } from '../../src/deployers/run-command.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { FIXTURES } from '../api/ncp/helpers.ts';
import { TestClock } from '../helpers/app.ts';
import { testMasterKey, type StoreTarget, type TestLocation } from '../helpers/db.ts';

export { FIXTURES };
export const START = new Date('2027-01-15T01:02:03.000Z');
const importOptions: ImportOptions = {
  origin: 'cli',
  policy: { requireKey: true, allowEd25519: false, nameRule: null },
};

/** The fake reload command: records calls; each call waits for `release()` when `hold` is on, and fails while `failWith` is set. */
export class FakeReload {
  calls: Array<{ argv: readonly string[]; env: Readonly<Record<string, string>> }> = [];
  failWith: string | null = null;
  hold = false;
  private waiting: Array<() => void> = [];
  private started: Array<() => void> = [];

  readonly run: RunCommand = async (argv, options: RunCommandOptions) => {
    this.calls.push({ argv, env: options.extraEnv ?? {} });
    for (const notify of this.started.splice(0)) notify();
    if (this.hold) {
      await new Promise<void>((resolve, reject) => {
        this.waiting.push(resolve);
        options.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      });
    }
    if (this.failWith !== null) throw new Error(this.failWith);
  };

  /** Resolves when the next call starts. */
  nextCall(): Promise<void> {
    return new Promise((resolve) => this.started.push(resolve));
  }

  release(): void {
    this.hold = false;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

export interface ProvisioningWorld {
  location: TestLocation;
  store: StoreHandle;
  core: Core;
  clock: TestClock;
  admin: Actor;
  other: Actor;
  dir: string;
  reload: FakeReload;
  certificates: { ec: number; korean: number; rsaSelf: number };
  worker(options?: Partial<WorkerOptions>): ProvisioningWorker;
  provision(certificateNo: number, actor?: Actor): Promise<number>;
  close(): Promise<void>;
}

export async function provisioningWorld(target: StoreTarget): Promise<ProvisioningWorld> {
  const location = await target.fresh();
  const store = await openStore(location.options({ masterKey: testMasterKey() }));
  const clock = new TestClock(START);
  const core = createCore(store, clock);
  const a = await core.tenants.create('tenant-a');
  const b = await core.tenants.create('tenant-b');
  const admin: Actor = { tenantId: a.id, id: 'A-ADMIN', role: 'ADMIN', remoteAddress: null };
  const other: Actor = { tenantId: b.id, id: 'B-ADMIN', role: 'ADMIN', remoteAddress: null };
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-provisioning-'));
  await core.targets.set(admin, { kind: 'directory', path: dir, reloadCommand: 'reload-it --now' });
  await core.targets.set(other, { kind: 'directory', path: join(dir, 'other') });
  const reload = new FakeReload();
  const imported = async (name: string, material: { certificate: string; privateKey: string; chain: string }) =>
    (
      await core.certificates.import(
        admin,
        { name, certificate: material.certificate, privateKey: material.privateKey, chain: material.chain },
        importOptions,
      )
    ).certificateNo;
  const certificates = {
    ec: await imported('ec', FIXTURES.ec),
    korean: await imported('korean', FIXTURES.korean),
    rsaSelf: await imported('rsa-self', FIXTURES.rsaSelf),
  };
  const workers: ProvisioningWorker[] = [];
  return {
    location,
    store,
    core,
    clock,
    admin,
    other,
    dir,
    reload,
    certificates,
    worker(options = {}) {
      const worker = createProvisioningWorker({
        store,
        clock,
        audit: core.audit,
        workerId: `worker-${workers.length + 1}`,
        deployers: createDeployers({ clock, runCommand: reload.run }),
        ...options,
      });
      workers.push(worker);
      return worker;
    },
    async provision(certificateNo, actor = admin) {
      const slot = await core.provisioning.provision(actor, {
        serviceRegion: 'KR_JP',
        certificateNos: [certificateNo],
        tlsVersion: 'TLS_MIN_VERSION_1_2',
        cipherProfile: 'DEFAULT',
      });
      return slot.slotId;
    },
    async close() {
      reload.release();
      for (const worker of workers) await worker.stop({ timeoutMs: 1000 });
      await store.close();
      await location.cleanup();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
