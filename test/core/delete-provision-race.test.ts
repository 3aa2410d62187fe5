/**
 * A certificate delete and a provision of the same certificate, started together, never leave a
 * deleted certificate inside a live slot: one of them wins and the other is refused (in_use, or
 * the certificate is gone). The store serialises them on the certificate row's lock (PostgreSQL:
 * FOR SHARE by slot writes, FOR UPDATE by deletion) or on the write lock (SQLite); see
 * store/repositories/certificate-usage.ts. Without the row locks the PostgreSQL run fails
 * ("both won"). Taking the lock writes nothing: the certificate row keeps its version.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../src/domain/errors.ts';
import { rawQuery, storeTargets } from '../helpers/db.ts';
import { mintBundle } from '../helpers/pki.ts';
import { provisioningWorld } from './provisioning-setup.ts';

const options = { origin: 'cli' as const, policy: { requireKey: true, allowEd25519: false, nameRule: null } };

for (const target of storeTargets) {
  describe(`delete racing provision on ${target.name}`, { skip: target.skip }, () => {
    it('20 rounds: never a deleted certificate in a live slot', async () => {
      const world = await provisioningWorld(target);
      try {
        let deletions = 0;
        let provisions = 0;
        for (let round = 0; round < 20; round++) {
          const bundle = await mintBundle({ leaf: { freshKey: true } });
          const { certificateNo } = await world.core.certificates.import(
            world.admin,
            {
              name: `race-${round}`,
              certificate: bundle.leaf.pem,
              privateKey: bundle.leaf.keyPem,
              chain: bundle.chainPem,
            },
            options,
          );
          const [deleted, provisioned] = await Promise.allSettled([
            world.core.certificates.delete(world.admin, certificateNo),
            world.core.provisioning.provision(world.admin, {
              serviceRegion: 'KR_JP',
              certificateNos: [certificateNo],
              tlsVersion: 'TLS_MIN_VERSION_1_2',
              cipherProfile: 'DEFAULT',
            }),
          ]);
          for (const outcome of [deleted, provisioned]) {
            if (outcome.status === 'rejected')
              assert.ok(outcome.reason instanceof AppError, `unexpected failure: ${String(outcome.reason)}`);
          }
          assert.ok(deleted.status === 'fulfilled' || provisioned.status === 'fulfilled', 'one of the two must win');
          assert.ok(
            !(deleted.status === 'fulfilled' && provisioned.status === 'fulfilled'),
            'both won: a deleted certificate is in a live slot',
          );
          if (deleted.status === 'fulfilled') deletions++;
          else provisions++;
          const users =
            (await world.store.usage.usersOf(world.admin.tenantId, [certificateNo])).get(certificateNo) ?? [];
          const live = await world.store.certificates.get(world.admin.tenantId, certificateNo);
          assert.ok(
            users.length === 0 || live !== null,
            `certificate ${certificateNo} is deleted but used by slots ${users.join(',')}`,
          );
        }
        assert.equal(deletions + provisions, 20);
      } finally {
        await world.close();
      }
    });

    it(
      'slot writes lock their certificates without writing them',
      { skip: target.skip || (target.name !== 'postgres' && 'PostgreSQL row versions (xmin)') },
      async () => {
        const world = await provisioningWorld(target);
        try {
          const { ec, korean } = world.certificates;
          const versions = async () =>
            (
              await rawQuery(
                world.location,
                `select certificate_no, xmin::text as version from certificates where certificate_no in (${ec}, ${korean}) order by certificate_no`,
              )
            ).map((row) => `${String(row.certificate_no)}@${String(row.version)}`);
          const before = await versions();
          assert.equal(before.length, 2);
          const slotId = await world.provision(ec);
          await world.core.provisioning.replaceCertificate(world.admin, slotId, korean);
          assert.deepEqual(await world.core.certificates.usedBy(world.admin, korean), [slotId]);
          assert.deepEqual(await versions(), before);
        } finally {
          await world.close();
        }
      },
    );
  });
}
