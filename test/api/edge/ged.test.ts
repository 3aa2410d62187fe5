/**
 * Global Edge Dedicated (GED) certificates through the Global Edge face, on both stores: a
 * KR_JP_GLOBAL slot provisioned with `cmCertificateIds` [Korea/Japan, GED] answers `0000`, its
 * detail lists a `GLOBAL` item, the worker writes the GED certificate under
 * `<slot>/global/<name>/` (key 0600); add and remove global certificate answer `0000` and reach
 * the target; the refusals are the documented `0040` (a non-GED certificate as global, a GED one
 * as Korea/Japan, another tenant's, a KR_JP slot, duplicates, the Korea/Japan item) and `0032`
 * for a deleted slot. GED certificates are stored as the issuance worker stores them (core import
 * with `type: 'NCP_GLOBAL_EDGE_DEDICATED'`), from leaves minted here.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Actor } from '../../../src/core/actor.ts';
import { storeTargets } from '../../helpers/db.ts';
import { mintLeaf, mintRoot, type Issued } from '../../helpers/pki.ts';
import { EDGE, FIXTURES, resultOf, startEdgeApp, type EdgeTestApp } from './helpers.ts';

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

interface Item {
  itemId: number;
  serviceRegion: string;
  cmCertificateId: number;
  cmCertificateName: string;
}

for (const target of storeTargets) {
  describe(`Global Edge Dedicated certificates on the Edge face, ${target.name}`, { skip: target.skip }, () => {
    let app: EdgeTestApp;
    let root: Issued;
    let korean: number;
    const send = (method: string, path: string, body?: unknown) =>
      app.call({ method, path, ...(body === undefined ? {} : { body }) });
    const codeOf = (res: { json?: unknown }) => (res.json as { code: string }).code;
    const messageOf = (res: { json?: unknown }) => (res.json as { message: string }).message;

    async function importGed(actor: Actor, name: string) {
      const minted = await mintLeaf(root, {
        cn: `${name}.example.com`,
        sans: { dns: [`${name}.example.com`] },
        freshKey: true,
        notBefore: new Date('2020-01-01T00:00:00Z'),
        notAfter: new Date('2200-01-01T00:00:00Z'),
      });
      const { certificateNo } = await app.app.core.certificates.import(
        actor,
        { name, certificate: minted.pem, privateKey: minted.keyPem, chain: root.pem },
        {
          origin: 'acme',
          policy: { requireKey: true, allowEd25519: false, nameRule: null },
          type: 'NCP_GLOBAL_EDGE_DEDICATED',
        },
      );
      return { certificateNo, minted };
    }

    before(async () => {
      app = await startEdgeApp({ store: target.name });
      root = await mintRoot({ cn: 'GED Face Root', freshKey: true });
      korean = await app.register('korean', FIXTURES.korean);
    });
    after(() => app.close());

    it('provision KR_JP_GLOBAL, publish, add and remove a global certificate', async () => {
      const first = await importGed(app.main.actor, 'ged-one');
      const second = await importGed(app.main.actor, 'ged-two');
      const slotId = await app.provision(first.certificateNo, {
        serviceRegion: 'KR_JP_GLOBAL',
        cmCertificateIds: [korean, String(first.certificateNo)],
      });
      const detail = await app.slot(slotId);
      const items = detail.certificates as Item[];
      assert.deepEqual(
        items.map((item) => [item.serviceRegion, item.cmCertificateId, item.cmCertificateName]),
        [
          ['KR_JP', korean, 'korean'],
          ['GLOBAL', first.certificateNo, 'ged-one'],
        ],
      );
      assert.equal(detail.serviceRegion, 'KR_JP_GLOBAL');
      await app.worker.runOnce();
      assert.equal((await app.slot(slotId)).provisionStatus, 'RUNNING');
      const globalDir = (name: string) => join(app.targetDir, String(slotId), 'global', name);
      assert.ok((await readFile(join(globalDir('ged-one'), 'fullchain.pem'), 'utf8')).startsWith(first.minted.pem));
      assert.equal(await readFile(join(globalDir('ged-one'), 'privkey.pem'), 'utf8'), first.minted.keyPem);
      assert.equal((await stat(join(globalDir('ged-one'), 'privkey.pem'))).mode & 0o777, 0o600);

      // Duplicates and a second global certificate are refused while one is held.
      const again = await send('POST', `${EDGE}/${slotId}`, { cmCertificateId: first.certificateNo });
      assert.equal(codeOf(again), '0040');
      assert.match(messageOf(again), /already holds certificate/);
      const another = await send('POST', `${EDGE}/${slotId}`, { cmCertificateId: second.certificateNo });
      assert.equal(codeOf(another), '0040');
      assert.match(messageOf(another), /remove it first/);
      // The Korea/Japan item is not removed this way.
      const kr = items[0]!;
      const krRemoval = await send('DELETE', `${EDGE}/${slotId}/certificates`, { certificateItemIds: [kr.itemId] });
      assert.equal(codeOf(krRemoval), '0040');
      assert.match(messageOf(krRemoval), /Korea\/Japan certificate/);

      const removed = await send('DELETE', `${EDGE}/${slotId}/certificates`, {
        certificateItemIds: [items[1]!.itemId],
      });
      assert.equal(removed.status, 200, removed.body.toString());
      assert.deepEqual([codeOf(removed), resultOf(removed)], ['0000', true]);
      await app.worker.runOnce();
      assert.equal(await exists(join(app.targetDir, String(slotId), 'global')), false);

      const added = await send('POST', `${EDGE}/${slotId}`, { cmCertificateId: second.certificateNo });
      assert.deepEqual([codeOf(added), resultOf(added)], ['0000', true]);
      assert.deepEqual(
        ((await app.slot(slotId)).certificates as Item[]).map((item) => [item.serviceRegion, item.cmCertificateId]),
        [
          ['KR_JP', korean],
          ['GLOBAL', second.certificateNo],
        ],
      );
      await app.worker.runOnce();
      assert.equal(await readFile(join(globalDir('ged-two'), 'privkey.pem'), 'utf8'), second.minted.keyPem);
      assert.equal(await exists(globalDir('ged-one')), false);

      // A deleted slot: 0032.
      await send('DELETE', `${EDGE}/${slotId}`);
      const late = await send('POST', `${EDGE}/${slotId}`, { cmCertificateId: first.certificateNo });
      assert.equal(codeOf(late), '0032');
    });

    it('refusals are 0040 and change nothing', async () => {
      const own = await importGed(app.main.actor, 'ged-refusals');
      const otherTenant = await app.addTenant('ged-other');
      const theirs = await importGed(otherTenant.actor, 'ged-theirs');
      const spare = await importGed(app.main.actor, 'ged-spare');
      const ec = await app.register('ec-cert', FIXTURES.ec);
      const provision = (serviceRegion: string, cmCertificateIds: unknown[]) =>
        send('POST', EDGE, {
          serviceRegion,
          cmCertificateIds,
          tlsVersion: 'TLS_MIN_VERSION_1_2',
          cipherProfile: 'DEFAULT',
        });
      const cases: Array<[string, Promise<{ json?: unknown; status: number }>, RegExp]> = [
        ['GED as the KR_JP certificate', provision('KR_JP', [own.certificateNo]), /serves only the global region/],
        ['no GED in KR_JP_GLOBAL', provision('KR_JP_GLOBAL', [korean, ec]), /none of these is one/],
        [
          'two GED',
          provision('KR_JP_GLOBAL', [own.certificateNo, spare.certificateNo]),
          /both of these are Global Edge/,
        ],
        ["another tenant's GED", provision('KR_JP_GLOBAL', [korean, theirs.certificateNo]), /No certificate number/],
        ['one certificate', provision('KR_JP_GLOBAL', [own.certificateNo]), /takes two certificates/],
      ];
      for (const [label, response, message] of cases) {
        const res = await response;
        assert.equal(res.status, 400, label);
        assert.equal(codeOf(res), '0040', label);
        assert.match(messageOf(res), message, label);
      }
      const krSlot = await app.provision(korean);
      const onKr = await send('POST', `${EDGE}/${krSlot}`, { cmCertificateId: own.certificateNo });
      assert.equal(codeOf(onKr), '0040');
      assert.match(messageOf(onKr), /serves Korea\/Japan only/);
      const globalSlot = await app.provision(korean, {
        serviceRegion: 'KR_JP_GLOBAL',
        cmCertificateIds: [own.certificateNo, korean],
      });
      const items = (await app.slot(globalSlot)).certificates as Item[];
      await send('DELETE', `${EDGE}/${globalSlot}/certificates`, { certificateItemIds: [items[1]!.itemId] });
      const notGed = await send('POST', `${EDGE}/${globalSlot}`, { cmCertificateId: korean });
      assert.equal(codeOf(notGed), '0040');
      assert.match(messageOf(notGed), /is not a Global Edge Dedicated certificate/);
      const put = await send('PUT', `${EDGE}/${globalSlot}`, { cmCertificateId: own.certificateNo });
      assert.equal(codeOf(put), '0040');
      assert.match(messageOf(put), /serves only the global region/);
      assert.deepEqual(
        ((await app.slot(globalSlot)).certificates as Item[]).map((item) => item.serviceRegion),
        ['KR_JP'],
      );
    });
  });
}
