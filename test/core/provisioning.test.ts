/**
 * The provisioning state machine on a real store, with an injected clock and a fake reload
 * command: READY → PUBLISHING → RUNNING, DELETING → DELETED, failures kept PUBLISHING with the
 * error and retried with backoff on the clock, changes racing a deployment, lease expiry and
 * take-over, atomic claims, republish on replace (and the sweep after a lost request; neither for a
 * replacement without its key until registerKey), usedBy,
 * and shutdown releasing a claim.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError, type ErrorCode } from '../../src/domain/errors.ts';
import { sql, type Kysely } from 'kysely';
import { connect } from '../../src/store/connect.ts';
import { backfillEdgeSlotCounts } from '../../src/store/migrations/0006-edge-slot-counts.ts';
import { rawQuery, storeTargets } from '../helpers/db.ts';
import { mintLeaf, mintRoot } from '../helpers/pki.ts';
import { FIXTURES, provisioningWorld, type ProvisioningWorld } from './provisioning-setup.ts';

async function rejects(work: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(work, (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

for (const target of storeTargets) {
  describe(`provisioning state machine on ${target.name}`, { skip: target.skip }, () => {
    let w: ProvisioningWorld;
    before(async () => {
      w = await provisioningWorld(target);
    });
    after(() => w.close());

    const status = async (slotId: number) => (await w.core.provisioning.get(w.admin, slotId)).slot;

    it('READY → PUBLISHING (while the target works) → RUNNING, files written, reload run without a shell', async () => {
      const slotId = await w.provision(w.certificates.ec);
      assert.equal((await status(slotId)).status, 'READY');
      const worker = w.worker();
      w.reload.hold = true;
      const started = w.reload.nextCall();
      const pass = worker.runOnce();
      await started;
      assert.equal((await status(slotId)).status, 'PUBLISHING');
      w.reload.release();
      assert.deepEqual(await pass, { claimed: 1, published: 1, removed: 0, failed: 0, republished: 0 });
      const slot = await status(slotId);
      assert.equal(slot.status, 'RUNNING');
      assert.deepEqual(
        [slot.deployment.generation, slot.deployment.deployedGeneration, slot.deployment.attempts],
        [1, 1, 0],
      );
      const call = w.reload.calls.at(-1)!;
      assert.deepEqual(call.argv, ['reload-it', '--now']);
      assert.deepEqual(call.env, {
        CERTKEEPER_EVENT: 'publish',
        CERTKEEPER_SLOT_ID: String(slotId),
        CERTKEEPER_SLOT_DIR: join(w.dir, String(slotId)),
      });
      assert.equal(
        await readFile(join(w.dir, String(slotId), 'fullchain.pem'), 'utf8'),
        // The chain is the self-signed root alone: a server does not send it (fullChainPems).
        FIXTURES.ec.certificate,
      );
      // Nothing left to do.
      assert.equal((await worker.runOnce()).claimed, 0);
    });

    it('a failing target leaves the slot PUBLISHING with the error, and retries with backoff on the injected clock', async () => {
      const slotId = await w.provision(w.certificates.korean);
      const warnings: Array<{ fields: Record<string, unknown>; message: string }> = [];
      const worker = w.worker({
        log: {
          info: () => undefined,
          error: () => undefined,
          warn: (fields, message) => warnings.push({ fields, message }),
        },
      });
      w.reload.failWith = 'nginx: [emerg] cannot load certificate';
      const t0 = w.clock.now().getTime();
      assert.equal((await worker.runOnce()).failed, 1);
      let slot = await status(slotId);
      assert.equal(slot.status, 'PUBLISHING');
      assert.equal(slot.deployment.lastError, 'nginx: [emerg] cannot load certificate');
      assert.equal(slot.deployment.attempts, 1);
      assert.equal(slot.deployment.nextAttemptAt?.getTime(), t0 + 5_000);
      assert.deepEqual(
        warnings.map((x) => [x.message, x.fields.slotId, x.fields.attempts, x.fields.err]),
        [['edge slot: the deployment target failed; will retry', slotId, 1, 'nginx: [emerg] cannot load certificate']],
        'and in the log',
      );
      assert.equal((await worker.runOnce()).claimed, 0, 'not before the backoff ends');
      w.clock.advance(4_999);
      assert.equal((await worker.runOnce()).claimed, 0);
      w.clock.advance(1);
      assert.equal((await worker.runOnce()).failed, 1);
      slot = await status(slotId);
      assert.equal(slot.deployment.attempts, 2);
      assert.equal(slot.deployment.nextAttemptAt?.getTime(), t0 + 5_000 + 10_000);
      // The files were written both times; the reload is what failed, and is retried whole.
      w.clock.advance(10_000);
      w.reload.failWith = null;
      assert.equal((await worker.runOnce()).published, 1);
      slot = await status(slotId);
      assert.equal(slot.status, 'RUNNING');
      assert.deepEqual(
        [slot.deployment.attempts, slot.deployment.lastError, slot.deployment.nextAttemptAt],
        [0, null, null],
      );
    });

    it('a change during a deployment is not lost: the worker publishes the new generation next', async () => {
      const slotId = await w.provision(w.certificates.ec);
      const worker = w.worker();
      w.reload.hold = true;
      const started = w.reload.nextCall();
      const pass = worker.runOnce();
      await started;
      await w.core.provisioning.replaceCertificate(w.admin, slotId, w.certificates.rsaSelf);
      w.reload.release();
      await pass;
      let slot = await status(slotId);
      assert.equal(slot.status, 'PUBLISHING', 'the target got generation 1, the slot wants 2');
      assert.deepEqual([slot.deployment.generation, slot.deployment.deployedGeneration], [2, 1]);
      await worker.runOnce();
      slot = await status(slotId);
      assert.equal(slot.status, 'RUNNING');
      assert.equal(slot.deployment.deployedGeneration, 2);
      assert.equal(await readFile(join(w.dir, String(slotId), 'fullchain.pem'), 'utf8'), FIXTURES.rsaSelf.certificate);
    });

    it('by-name/<certificate name> links to the slot, follows its new certificate, and goes with the slot', async () => {
      const slotId = await w.provision(w.certificates.korean);
      const worker = w.worker();
      const alias = (name: string) => join(w.dir, 'by-name', name);
      const pointsAt = (name: string) => readlink(alias(name)).catch(() => null);
      await worker.runOnce();
      assert.equal((await status(slotId)).status, 'RUNNING');
      assert.equal(await pointsAt('korean'), `../${slotId}`);
      assert.equal(
        await readFile(join(alias('korean'), 'fullchain.pem'), 'utf8'),
        await readFile(join(w.dir, String(slotId), 'fullchain.pem'), 'utf8'),
      );

      await w.core.provisioning.replaceCertificate(w.admin, slotId, w.certificates.rsaSelf);
      await worker.runOnce();
      assert.equal(await pointsAt('rsa-self'), `../${slotId}`);
      assert.notEqual(await pointsAt('korean'), `../${slotId}`, 'the old name no longer leads to this slot');
      assert.equal(await readFile(join(alias('rsa-self'), 'fullchain.pem'), 'utf8'), FIXTURES.rsaSelf.certificate);

      await w.core.provisioning.delete(w.admin, slotId);
      await worker.runOnce();
      assert.equal((await status(slotId)).status, 'DELETED');
      assert.notEqual(await pointsAt('rsa-self'), `../${slotId}`, 'no alias is left pointing at a removed slot');
    });

    it('DELETE: DELETING, then the worker removes the folder and the slot is DELETED (still readable, no longer listed or in use)', async () => {
      const slotId = await w.provision(w.certificates.rsaSelf);
      const worker = w.worker();
      await worker.runOnce();
      assert.ok(await exists(join(w.dir, String(slotId), 'privkey.pem')));
      await w.core.provisioning.delete(w.admin, slotId);
      assert.equal((await status(slotId)).status, 'DELETING');
      assert.ok(
        (await w.core.provisioning.usedByMany(w.admin, [w.certificates.rsaSelf]))
          .get(w.certificates.rsaSelf)!
          .includes(slotId),
        'DELETING still uses it',
      );
      const before = w.reload.calls.length;
      assert.equal((await worker.runOnce()).removed, 1);
      assert.equal(w.reload.calls[before]?.env.CERTKEEPER_EVENT, 'delete');
      const slot = await status(slotId);
      assert.equal(slot.status, 'DELETED');
      assert.ok(slot.deletedAt);
      assert.equal(await exists(join(w.dir, String(slotId))), false);
      assert.equal(
        (await w.core.provisioning.list(w.admin, { offset: 0, limit: 100 })).items.some(
          (v) => v.slot.slotId === slotId,
        ),
        false,
      );
      assert.equal(
        (await w.core.provisioning.usedByMany(w.admin, [w.certificates.rsaSelf]))
          .get(w.certificates.rsaSelf)!
          .includes(slotId),
        false,
      );
      await rejects(w.core.provisioning.delete(w.admin, slotId), 'conflict', /DELETED/);
      await rejects(w.core.provisioning.setTls(w.admin, slotId, 'TLS_ALL_VERSIONS', 'DEFAULT'), 'conflict');
    });

    it('a DELETE during a deployment ends DELETED', async () => {
      const slotId = await w.provision(w.certificates.ec);
      const worker = w.worker();
      w.reload.hold = true;
      const started = w.reload.nextCall();
      const pass = worker.runOnce();
      await started;
      await w.core.provisioning.delete(w.admin, slotId);
      w.reload.release();
      await pass;
      assert.equal((await status(slotId)).status, 'DELETING');
      await worker.runOnce();
      assert.equal((await status(slotId)).status, 'DELETED');
      assert.equal(await exists(join(w.dir, String(slotId))), false);
    });

    it('the list total is the exact count of listed slots through creates and deletions (edge_slot_counts), and the backfill rebuilds it', async () => {
      const bruteForce = async (tenantId: number): Promise<number> =>
        Number(
          (
            await rawQuery(
              w.location,
              `select count(*) as n from edge_slots where tenant_id = ${tenantId} and status <> 'DELETED'`,
            )
          )[0]?.n ?? 0,
        );
      const total = async (): Promise<number> =>
        (await w.core.provisioning.list(w.admin, { offset: 0, limit: 1 })).total;
      const check = async (when: string) => assert.equal(await total(), await bruteForce(w.admin.tenantId), when);
      await check('before');
      const worker = w.worker();
      const made = [];
      for (const certificateNo of [w.certificates.ec, w.certificates.korean, w.certificates.ec])
        made.push(await w.provision(certificateNo));
      await check('after three provisions');
      await worker.runOnce();
      await w.core.provisioning.delete(w.admin, made[0]!);
      await check('DELETING is still listed');
      await worker.runOnce();
      assert.equal((await status(made[0]!)).status, 'DELETED');
      await check('DELETED is not');
      await w.core.provisioning.delete(w.admin, made[1]!);
      await worker.runOnce();
      await worker.runOnce();
      await check('after a second deletion');
      assert.equal(
        (await w.core.provisioning.list(w.other, { offset: 0, limit: 1 })).total,
        await bruteForce(w.other.tenantId),
        'the other tenant is counted apart',
      );

      const { db } = await connect(w.location.options());
      try {
        await sql`update edge_slot_counts set listed = 999`.execute(db);
        await backfillEdgeSlotCounts(db as unknown as Kysely<unknown>);
      } finally {
        await db.destroy();
      }
      await check('after the backfill');
    });

    it('one worker per slot: a held lease keeps others out; an expired one (clock) is taken over, and the old holder writes nothing', async () => {
      const slotId = await w.provision(w.certificates.korean);
      const a = w.worker({ leaseMs: 30_000 });
      const b = w.worker({ leaseMs: 30_000 });
      w.reload.hold = true;
      const started = w.reload.nextCall();
      const passA = a.runOnce();
      await started;
      assert.equal((await b.runOnce()).claimed, 0, 'A holds the lease');
      w.clock.advance(30_001);
      // A is stuck (a crashed process, as far as the store can tell): B takes the slot over.
      const passB = b.runOnce();
      await new Promise((resolve) => setTimeout(resolve, 50));
      w.reload.release();
      assert.equal((await passB).published, 1);
      assert.equal((await status(slotId)).status, 'RUNNING');
      await passA;
      const slot = await status(slotId);
      assert.equal(slot.status, 'RUNNING');
      assert.equal(slot.deployment.deployedGeneration, 1);
    });

    it('claims are atomic: of many concurrent claims on one due slot exactly one wins', async () => {
      const slotId = await w.provision(w.certificates.ec);
      const now = w.clock.now();
      const claims = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          w.store.slotLeases.claim(slotId, `racer-${i}`, now, new Date(now.getTime() + 30_000)),
        ),
      );
      assert.equal(claims.filter((c) => c !== null).length, 1);
      const winner = claims.findIndex((c) => c !== null);
      await w.store.slotLeases.release(slotId, `racer-${winner}`);
      assert.equal((await w.worker().runOnce()).published, 1);
    });

    it('replacing an in-use certificate republishes its slots; a replacement whose republish was lost is found by the sweep', async () => {
      const slotId = await w.provision(w.certificates.rsaSelf);
      const worker = w.worker();
      await worker.runOnce();
      assert.equal((await status(slotId)).status, 'RUNNING');
      const sha1 = {
        certificate: (await import('../api/ncp/helpers.ts')).fixture('sha1-rsa.pem'),
        privateKey: (await import('../api/ncp/helpers.ts')).fixture('sha1-rsa.key'),
        chain: '',
      };
      await w.core.certificates.replace(
        w.admin,
        w.certificates.rsaSelf,
        { name: 'rsa-self', ...sha1 },
        { origin: 'cli', policy: { requireKey: true, allowEd25519: false, nameRule: null } },
      );
      assert.equal((await status(slotId)).status, 'PUBLISHING');
      await worker.runOnce();
      assert.equal((await status(slotId)).status, 'RUNNING');
      assert.equal(await readFile(join(w.dir, String(slotId), 'fullchain.pem'), 'utf8'), sha1.certificate);

      // The store replaced behind core's back (as if the process died before the republish).
      const back = await w.store.certificates.get(w.admin.tenantId, w.certificates.rsaSelf);
      const original = await w.core.certificates
        .validate(
          w.admin,
          { name: 'tmp', ...FIXTURES.rsaSelf },
          { origin: 'cli', policy: { requireKey: true, allowEd25519: false, nameRule: null } },
        )
        .catch(() => null);
      assert.ok(back);
      assert.ok(original);
      await w.store.certificates.replace(
        w.admin.tenantId,
        w.certificates.rsaSelf,
        {
          origin: 'cli',
          certificatePem: original.leaf.pem,
          chainPems: [],
          facts: original.facts,
          privateKeyPem: original.privateKey!.pkcs8Pem,
          file: null,
        },
        w.clock.now(),
      );
      assert.equal((await status(slotId)).status, 'RUNNING', 'nobody told the slot');
      const users = (await w.core.certificates.usedBy(w.admin, w.certificates.rsaSelf)).length;
      const fresh = w.worker();
      assert.equal(
        (await fresh.runOnce()).republished,
        users,
        'every RUNNING slot of the certificate (an earlier test PUT it into another slot)',
      );
      assert.equal((await status(slotId)).status, 'RUNNING');
      assert.equal(await readFile(join(w.dir, String(slotId), 'fullchain.pem'), 'utf8'), FIXTURES.rsaSelf.certificate);
    });

    it('a replacement without a key (reissue with a CSR) republishes nothing, not even by the sweep; registerKey does', async () => {
      const root = await mintRoot({ cn: 'Reissue Root', freshKey: true });
      const validity = { notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2028-01-01T00:00:00Z') };
      const leaf = (cn: string) => mintLeaf(root, { cn, sans: { dns: [cn] }, freshKey: true, ...validity });
      const [first, reissued] = [await leaf('reissue.example.com'), await leaf('reissue.example.com')];
      const policy = { requireKey: true, allowEd25519: false, nameRule: null };
      const { certificateNo } = await w.core.certificates.import(
        w.admin,
        { name: 'reissue-me', certificate: first.pem, privateKey: first.keyPem, chain: root.pem },
        { origin: 'cli', policy },
      );
      const slotId = await w.provision(certificateNo);
      const worker = w.worker();
      await worker.runOnce();
      const published = await status(slotId);
      assert.equal(published.status, 'RUNNING');
      const fullchain = () => readFile(join(w.dir, String(slotId), 'fullchain.pem'), 'utf8');
      assert.ok((await fullchain()).startsWith(first.pem));

      // What the issuance worker does when a reissue with the user's CSR lands (worker.ts storeCertificate).
      await w.core.certificates.replace(
        w.admin,
        certificateNo,
        { name: 'reissue-me', certificate: reissued.pem, chain: root.pem },
        { origin: 'acme', policy: { ...policy, requireKey: false } },
      );
      assert.equal((await w.core.certificates.get(w.admin, certificateNo)).hasPrivateKey, false);
      const waiting = await status(slotId);
      assert.equal(waiting.status, 'RUNNING', 'not republished without the key');
      assert.equal(waiting.deployment.generation, published.deployment.generation);
      // A fresh worker sweeps at once: the slot's published fingerprint is not the stored one, yet
      // the certificate has no key, so the slot stays as it is.
      const fresh = w.worker();
      await fresh.runOnce();
      assert.equal((await status(slotId)).status, 'RUNNING');
      assert.equal((await status(slotId)).deployment.generation, published.deployment.generation);
      assert.ok((await fullchain()).startsWith(first.pem), 'the slot still serves the certificate it has the key of');

      await w.core.certificates.registerKey(w.admin, certificateNo, reissued.keyPem);
      const registered = await status(slotId);
      assert.equal(registered.status, 'PUBLISHING', 'the key makes it publishable: republished');
      assert.equal(registered.deployment.generation, published.deployment.generation + 1);
      await fresh.runOnce();
      assert.equal((await status(slotId)).status, 'RUNNING');
      assert.ok((await fullchain()).startsWith(reissued.pem));
      assert.equal(await readFile(join(w.dir, String(slotId), 'privkey.pem'), 'utf8'), reissued.keyPem);
    });

    it('an in-use certificate cannot be deleted (in_use), not even while its slot is DELETING; once DELETED it can', async () => {
      const spare = await w.core.certificates.import(
        w.admin,
        { name: 'spare', ...FIXTURES.sanOnly },
        { origin: 'cli', policy: { requireKey: true, allowEd25519: false, nameRule: null } },
      );
      const spareSlot = await w.provision(spare.certificateNo);
      await w.core.provisioning.delete(w.admin, spareSlot);
      await rejects(w.core.certificates.delete(w.admin, spare.certificateNo), 'in_use');
      await w.worker().runOnce();
      assert.equal((await status(spareSlot)).status, 'DELETED');
      assert.equal((await w.core.certificates.delete(w.admin, spare.certificateNo)).certificateNo, spare.certificateNo);
      // The DELETED slot still shows its (now deleted) certificate's number.
      const view = await w.core.provisioning.get(w.admin, spareSlot);
      assert.deepEqual(
        view.items.map((i) => [i.item.certificateNo, i.certificate]),
        [[spare.certificateNo, null]],
      );

      const slotId = await w.provision(w.certificates.korean);
      await rejects(
        w.core.certificates.delete(w.admin, w.certificates.korean),
        'in_use',
        new RegExp(`\\(.*${slotId}.*\\)`),
      );
      assert.ok((await w.core.certificates.usedBy(w.admin, w.certificates.korean)).includes(slotId));
      const page = await w.core.certificates.list(w.admin, { usedByInstanceNo: slotId, offset: 0, limit: 10 });
      assert.deepEqual(
        page.items.map((c) => c.certificateNo),
        [w.certificates.korean],
      );
      assert.equal(page.total, 1);
      assert.equal(
        (await w.core.certificates.list(w.other, { usedByInstanceNo: slotId, offset: 0, limit: 10 })).total,
        0,
        'another tenant sees nothing',
      );
    });

    it('target: clear is refused while slots are live; set republishes every live slot', async () => {
      await rejects(w.core.targets.clear(w.admin), 'conflict', /slot/);
      const worker = w.worker();
      await worker.runOnce();
      const running = (await w.core.provisioning.list(w.admin, { offset: 0, limit: 100 })).items
        .filter((v) => v.slot.status === 'RUNNING')
        .map((v) => v.slot.slotId);
      const { republished, secret } = await w.core.targets.set(w.admin, {
        kind: 'directory',
        path: w.dir,
        reloadCommand: 'reload-it --now',
      });
      assert.equal(secret, null);
      for (const id of running) assert.ok(republished.includes(id));
      for (const id of running) assert.equal((await status(id)).status, 'PUBLISHING');
      await worker.runOnce();
      for (const id of running) assert.equal((await status(id)).status, 'RUNNING');
    });

    it('stop() aborts the target call in flight and releases the claim: the slot is due again at once', async () => {
      const slotId = await w.provision(w.certificates.ec);
      const worker = w.worker();
      w.reload.hold = true;
      const started = w.reload.nextCall();
      const pass = worker.runOnce();
      await started;
      await worker.stop();
      await pass;
      w.reload.release();
      const slot = await status(slotId);
      assert.equal(slot.status, 'PUBLISHING');
      assert.equal(slot.deployment.attempts, 0, 'a shutdown is not a failure');
      assert.equal((await w.worker().runOnce()).published, 1);
    });

    it('refusals: tenant isolation, eligibility, region and TLS rules, no target', async () => {
      const slotId = await w.provision(w.certificates.ec);
      await rejects(w.core.provisioning.get(w.other, slotId), 'not_found', /No provisioning slot/);
      await rejects(w.core.provisioning.delete(w.other, slotId), 'not_found');
      await rejects(w.provision(w.certificates.ec, w.other), 'not_found', /No certificate number/);
      await rejects(
        w.core.provisioning.provision(w.admin, {
          serviceRegion: 'KR_JP',
          certificateNos: [w.certificates.ec],
          tlsVersion: 'TLS_ALL_VERSIONS',
          cipherProfile: 'STRICT',
        }),
        'invalid_argument',
        /STRICT/,
      );
      await rejects(
        w.core.provisioning.provision(w.admin, {
          serviceRegion: 'KR_JP',
          certificateNos: [w.certificates.ec, w.certificates.korean],
          tlsVersion: 'TLS_ALL_VERSIONS',
          cipherProfile: 'DEFAULT',
        }),
        'invalid_argument',
        /exactly one/,
      );
      await rejects(
        w.core.provisioning.provision(w.admin, {
          serviceRegion: 'KR_JP_GLOBAL',
          certificateNos: [w.certificates.ec],
          tlsVersion: 'TLS_ALL_VERSIONS',
          cipherProfile: 'DEFAULT',
        }),
        'invalid_argument',
        /Global Edge Dedicated/,
      );
      const viewer = { ...w.admin, role: 'VIEWER' as const };
      await rejects(w.provision(w.certificates.ec, viewer), 'permission_denied');
      // Expired, as seen from the clock a century later.
      const saved = w.clock.now();
      w.clock.set(new Date('2127-01-01T00:00:00Z'));
      await rejects(w.provision(w.certificates.ec), 'certificate_expired', /expired at 2126-/);
      w.clock.set(saved);
      // No target: refused, and nothing is created.
      const lonely = await w.core.tenants.create('tenant-lonely');
      const actor = { tenantId: lonely.id, id: 'L', role: 'ADMIN' as const, remoteAddress: null };
      const own = await w.core.certificates.import(
        actor,
        { name: 'self', ...FIXTURES.rsaSelf },
        { origin: 'cli', policy: { requireKey: true, allowEd25519: false, nameRule: null } },
      );
      await rejects(w.provision(own.certificateNo, actor), 'conflict', /No deployment target/);
      assert.equal((await w.core.provisioning.list(actor, { offset: 0, limit: 10 })).total, 0);
      // A certificate without its key.
      const keyless = await w.core.certificates.import(
        actor,
        { name: 'keyless', certificate: FIXTURES.korean.certificate, chain: FIXTURES.korean.chain },
        { origin: 'cli', policy: { requireKey: false, allowEd25519: false, nameRule: null } },
      );
      await w.core.targets.set(actor, { kind: 'directory', path: join(w.dir, 'lonely') });
      await rejects(w.provision(keyless.certificateNo, actor), 'key_missing', /no private key/);
    });

    it('every write is audited, refusals included; key reads by the worker too', async () => {
      const events = await w.core.audit.list(w.admin, { limit: 500 });
      const actions = new Set(events.map((e) => `${e.action}:${e.result}`));
      for (const expected of [
        'edge.slot.provision:success',
        'edge.slot.provision:failure',
        'edge.slot.replace:success',
        'edge.slot.delete:success',
        'edge.slot.publish:success',
        'edge.slot.publish:failure',
        'edge.slot.remove:success',
        'certificate.key.read:success',
        'deploy-target.set:success',
        'deploy-target.clear:failure',
      ]) {
        assert.ok(actions.has(expected), `${expected} in ${[...actions].join(' ')}`);
      }
      const keyRead = events.find((e) => e.action === 'certificate.key.read' && e.actor === 'edge-worker');
      assert.equal(keyRead?.detail.purpose, 'edge.publish');
    });
  });
}
