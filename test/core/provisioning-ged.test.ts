/**
 * Global Edge Dedicated (GED) certificates on edge slots, on a real store with a directory target:
 * KR_JP_GLOBAL provisioning (one Korea/Japan + one GED certificate), the files the worker writes for
 * the GLOBAL item (`<slot>/global/<name>/`, key 0600), adding and removing a global certificate, the
 * refusals (a non-GED certificate as global, a GED one as Korea/Japan, another tenant's, expired,
 * a KR_JP slot), renewal republishing, and `republishTenant` leaving a keyless slot alone.
 * GED certificates are imported with `type: 'NCP_GLOBAL_EDGE_DEDICATED'`, as the issuance worker
 * stores them, from leaves minted here (no CA needed).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Actor } from '../../src/core/actor.ts';
import type { ImportOptions } from '../../src/core/certificates.ts';
import { AppError, type ErrorCode } from '../../src/domain/errors.ts';
import { storeTargets } from '../helpers/db.ts';
import { mintLeaf, mintRoot, type Issued } from '../helpers/pki.ts';
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

const policy = { requireKey: true, allowEd25519: false, nameRule: null };
const ged: ImportOptions = { origin: 'acme', policy, type: 'NCP_GLOBAL_EDGE_DEDICATED' };

for (const target of storeTargets) {
  describe(`Global Edge Dedicated certificates on slots, ${target.name}`, { skip: target.skip }, () => {
    let w: ProvisioningWorld;
    let root: Issued;
    const validity = { notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2028-01-01T00:00:00Z') };
    const leaf = (cn: string, extra: Partial<typeof validity> = {}) =>
      mintLeaf(root, { cn, sans: { dns: [cn] }, freshKey: true, ...validity, ...extra });
    async function importGed(actor: Actor, name: string, cn: string, extra: Partial<typeof validity> = {}) {
      const minted = await leaf(cn, extra);
      const { certificateNo } = await w.core.certificates.import(
        actor,
        { name, certificate: minted.pem, privateKey: minted.keyPem, chain: root.pem },
        ged,
      );
      return { certificateNo, minted };
    }
    const status = async (slotId: number) => (await w.core.provisioning.get(w.admin, slotId)).slot;
    const globalRequest = (certificateNos: number[]) => ({
      serviceRegion: 'KR_JP_GLOBAL' as const,
      certificateNos,
      tlsVersion: 'TLS_MIN_VERSION_1_2' as const,
      cipherProfile: 'DEFAULT' as const,
    });

    before(async () => {
      w = await provisioningWorld(target);
      root = await mintRoot({ cn: 'GED Root', freshKey: true });
    });
    after(() => w.close());

    it('KR_JP_GLOBAL publishes the Korea/Japan certificate and the GED one (global/<name>/, key 0600); add and remove go to the target', async () => {
      const first = await importGed(w.admin, 'edge-one', 'one.edge.example.com');
      const second = await importGed(w.admin, 'edge-two', 'two.edge.example.com');
      // The list's order does not matter: the GED certificate is told apart by its type.
      const slot = await w.core.provisioning.provision(
        w.admin,
        globalRequest([first.certificateNo, w.certificates.korean]),
      );
      assert.equal(slot.serviceRegion, 'KR_JP_GLOBAL');
      assert.deepEqual(
        slot.items.map((item) => [item.region, item.certificateNo]),
        [
          ['KR_JP', w.certificates.korean],
          ['GLOBAL', first.certificateNo],
        ],
      );
      const worker = w.worker();
      await worker.runOnce();
      assert.equal((await status(slot.slotId)).status, 'RUNNING');
      const slotDir = join(w.dir, String(slot.slotId));
      const globalOf = (name: string) => join(slotDir, 'global', name);
      assert.ok((await readFile(join(globalOf('edge-one'), 'fullchain.pem'), 'utf8')).startsWith(first.minted.pem));
      assert.equal(await readFile(join(globalOf('edge-one'), 'privkey.pem'), 'utf8'), first.minted.keyPem);
      assert.equal((await stat(join(globalOf('edge-one'), 'privkey.pem'))).mode & 0o777, 0o600);
      assert.equal((await stat(globalOf('edge-one'))).mode & 0o777, 0o700);
      // The Korea/Japan files are where they always were, and the by-name alias reaches both.
      assert.equal(await readFile(join(slotDir, 'privkey.pem'), 'utf8'), FIXTURES.korean.privateKey);
      assert.ok(await exists(join(w.dir, 'by-name', 'korean', 'global', 'edge-one', 'fullchain.pem')));
      // In use on the other faces, like the Korea/Japan one.
      const used = await w.core.provisioning.usedByMany(w.admin, [first.certificateNo]);
      assert.deepEqual(used.get(first.certificateNo), [slot.slotId]);

      // A slot holds one global certificate: the same one again, or another, is refused.
      await rejects(
        w.core.provisioning.addGlobalCertificate(w.admin, slot.slotId, first.certificateNo),
        'invalid_argument',
        /already holds certificate/,
      );
      await rejects(
        w.core.provisioning.addGlobalCertificate(w.admin, slot.slotId, second.certificateNo),
        'invalid_argument',
        /remove it first/,
      );
      // Removing: the Korea/Japan item and unknown items are refused, and change nothing.
      const [krItem, globalItem] = slot.items as [(typeof slot.items)[0], (typeof slot.items)[0]];
      await rejects(
        w.core.provisioning.removeGlobalCertificates(w.admin, slot.slotId, [krItem.itemId]),
        'invalid_argument',
        /Korea\/Japan certificate/,
      );
      await rejects(
        w.core.provisioning.removeGlobalCertificates(w.admin, slot.slotId, [globalItem.itemId, 99_999]),
        'invalid_argument',
        /no certificate item 99999/,
      );
      assert.equal((await status(slot.slotId)).items.length, 2);

      const removed = await w.core.provisioning.removeGlobalCertificates(w.admin, slot.slotId, [globalItem.itemId]);
      assert.equal(removed.status, 'PUBLISHING');
      assert.deepEqual(
        removed.items.map((item) => item.region),
        ['KR_JP'],
      );
      await worker.runOnce();
      assert.equal((await status(slot.slotId)).status, 'RUNNING');
      assert.equal(await exists(join(slotDir, 'global')), false, 'no global item: no global folder');
      assert.ok(await exists(join(slotDir, 'fullchain.pem')));

      const added = await w.core.provisioning.addGlobalCertificate(w.admin, slot.slotId, second.certificateNo);
      assert.deepEqual(
        added.items.map((item) => [item.region, item.certificateNo]),
        [
          ['KR_JP', w.certificates.korean],
          ['GLOBAL', second.certificateNo],
        ],
      );
      await worker.runOnce();
      assert.equal((await status(slot.slotId)).status, 'RUNNING');
      assert.deepEqual(await readdir(join(slotDir, 'global')), ['edge-two']);
      assert.equal(await readFile(join(globalOf('edge-two'), 'privkey.pem'), 'utf8'), second.minted.keyPem);

      // A renewal of the GED certificate republishes the slot, and the new bytes reach the target.
      const renewed = await leaf('two.edge.example.com');
      await w.core.certificates.replace(
        w.admin,
        second.certificateNo,
        { name: 'edge-two', certificate: renewed.pem, privateKey: renewed.keyPem, chain: root.pem },
        { origin: 'acme', policy },
      );
      assert.equal((await w.core.certificates.get(w.admin, second.certificateNo)).type, 'NCP_GLOBAL_EDGE_DEDICATED');
      assert.equal((await status(slot.slotId)).status, 'PUBLISHING', 'the replace republished the slot');
      await worker.runOnce();
      assert.ok((await readFile(join(globalOf('edge-two'), 'fullchain.pem'), 'utf8')).startsWith(renewed.pem));
      assert.equal(await readFile(join(globalOf('edge-two'), 'privkey.pem'), 'utf8'), renewed.keyPem);

      // Deleting the slot removes its folder, global certificates included.
      await w.core.provisioning.delete(w.admin, slot.slotId);
      await worker.runOnce();
      assert.equal(await exists(slotDir), false);
    });

    it("refusals: GED as Korea/Japan, non-GED as global, two or no GED, another tenant's, expired, a KR_JP slot", async () => {
      const own = await importGed(w.admin, 'edge-refusals', 'refusals.edge.example.com');
      const kr = (certificateNo: number) =>
        w.core.provisioning.provision(w.admin, { ...globalRequest([certificateNo]), serviceRegion: 'KR_JP' });
      await rejects(
        kr(own.certificateNo),
        'invalid_argument',
        /is a Global Edge Dedicated certificate; it serves only the global region/,
      );
      await rejects(
        w.core.provisioning.provision(w.admin, globalRequest([w.certificates.ec, w.certificates.korean])),
        'invalid_argument',
        /none of these is one/,
      );
      const another = await importGed(w.admin, 'edge-another', 'another.edge.example.com');
      await rejects(
        w.core.provisioning.provision(w.admin, globalRequest([own.certificateNo, another.certificateNo])),
        'invalid_argument',
        /both of these are Global Edge Dedicated/,
      );
      await rejects(
        w.core.provisioning.provision(w.admin, globalRequest([own.certificateNo])),
        'invalid_argument',
        /takes two certificates/,
      );
      // Another tenant's GED certificate answers like a number never used.
      const theirs = await importGed(w.other, 'edge-theirs', 'theirs.edge.example.com');
      await rejects(
        w.core.provisioning.provision(w.admin, globalRequest([w.certificates.ec, theirs.certificateNo])),
        'not_found',
        /No certificate number/,
      );
      // Expired on certkeeper's clock (imported while valid, then the clock moves past it).
      const expired = await importGed(w.admin, 'edge-expired', 'expired.edge.example.com', {
        notAfter: new Date('2027-03-01T00:00:00Z'),
      });
      const saved = w.clock.now();
      const expire = () => w.clock.set(new Date('2027-04-01T00:00:00Z'));
      expire();
      await rejects(
        w.core.provisioning.provision(w.admin, globalRequest([w.certificates.ec, expired.certificateNo])),
        'certificate_expired',
      );
      w.clock.set(saved);

      // PUT (the Korea/Japan item) refuses a GED certificate; add-global refuses a non-GED one.
      const slot = await w.core.provisioning.provision(w.admin, globalRequest([w.certificates.ec, own.certificateNo]));
      await rejects(
        w.core.provisioning.replaceCertificate(w.admin, slot.slotId, another.certificateNo),
        'invalid_argument',
        /serves only the global region/,
      );
      const globalItem = slot.items.find((item) => item.region === 'GLOBAL')!;
      await w.core.provisioning.removeGlobalCertificates(w.admin, slot.slotId, [globalItem.itemId]);
      await rejects(
        w.core.provisioning.addGlobalCertificate(w.admin, slot.slotId, w.certificates.rsaSelf),
        'invalid_argument',
        /is not a Global Edge Dedicated certificate/,
      );
      await rejects(w.core.provisioning.addGlobalCertificate(w.admin, slot.slotId, theirs.certificateNo), 'not_found');
      expire();
      await rejects(
        w.core.provisioning.addGlobalCertificate(w.admin, slot.slotId, expired.certificateNo),
        'certificate_expired',
      );
      w.clock.set(saved);
      await rejects(
        w.core.provisioning.addGlobalCertificate(w.other, slot.slotId, theirs.certificateNo),
        'not_found',
        /No provisioning slot/,
      );
      // A KR_JP slot takes no global certificate (its region is chosen when it is provisioned).
      const krSlot = await w.provision(w.certificates.rsaSelf);
      await rejects(
        w.core.provisioning.addGlobalCertificate(w.admin, krSlot, another.certificateNo),
        'invalid_argument',
        /serves Korea\/Japan only/,
      );
      assert.deepEqual(
        (await status(krSlot)).items.map((item) => item.region),
        ['KR_JP'],
      );
      // A deleted slot: conflict.
      await w.core.provisioning.delete(w.admin, slot.slotId);
      await rejects(w.core.provisioning.addGlobalCertificate(w.admin, slot.slotId, another.certificateNo), 'conflict');
      await w.core.provisioning.delete(w.admin, krSlot);
      await w.worker().runOnce();
    });

    it('a new target republishes every live slot except one whose certificate waits for its key', async () => {
      const keyed = await importGed(w.admin, 'edge-keyed', 'keyed.edge.example.com');
      const waiting = await importGed(w.admin, 'edge-waiting', 'waiting.edge.example.com');
      const ok = await w.core.provisioning.provision(w.admin, globalRequest([w.certificates.ec, keyed.certificateNo]));
      const held = await w.core.provisioning.provision(
        w.admin,
        globalRequest([w.certificates.korean, waiting.certificateNo]),
      );
      const worker = w.worker();
      await worker.runOnce();
      // A reissue with the user's CSR: the certificate is replaced, its key comes later.
      const reissued = await leaf('waiting.edge.example.com');
      await w.core.certificates.replace(
        w.admin,
        waiting.certificateNo,
        { name: 'edge-waiting', certificate: reissued.pem, chain: root.pem },
        { origin: 'acme', policy: { ...policy, requireKey: false } },
      );
      const before = (await status(held.slotId)).deployment.generation;
      await w.core.targets.set(w.admin, { kind: 'directory', path: join(w.dir, 'moved') });
      assert.equal((await status(ok.slotId)).status, 'PUBLISHING', 'republished to the new target');
      assert.equal((await status(held.slotId)).status, 'RUNNING', 'left alone until its key arrives');
      assert.equal((await status(held.slotId)).deployment.generation, before);
      await worker.runOnce();
      assert.ok(await exists(join(w.dir, 'moved', String(ok.slotId), 'global', 'edge-keyed', 'privkey.pem')));
      await w.core.certificates.registerKey(w.admin, waiting.certificateNo, reissued.keyPem);
      await worker.runOnce();
      assert.equal(
        await readFile(join(w.dir, 'moved', String(held.slotId), 'global', 'edge-waiting', 'privkey.pem'), 'utf8'),
        reissued.keyPem,
      );
    });
  });
}
