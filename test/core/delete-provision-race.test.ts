/**
 * A certificate delete and a provision of the same certificate, started together, never leave a
 * deleted certificate inside a live slot: one of them wins and the other is refused (in_use, or
 * the certificate is gone). The store serialises them on the certificate row (PostgreSQL) or on
 * the write lock (SQLite).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../src/domain/errors.ts';
import { storeTargets } from '../helpers/db.ts';
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
          const users = await world.store.certificates.usedBy(world.admin.tenantId, certificateNo);
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
  });
}
