/**
 * Contract (store/credential-check.ts): the store methods that take a `CredentialConfirmation`
 * (certificates `list` and `getWithSecrets`, slots `list`, acm `list`) answer exactly what they
 * answer without one (the same rows in the same order, an empty answer included) and set its
 * state from the credential or token row as it is now: `live`, `revoked`, or `unknown` (no such
 * row). On PostgreSQL the check rides in the read's own statement: one statement, as without it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CredentialCheck, CredentialConfirmation } from '../../src/core/ports.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import {
  makeCredential,
  makeTenant,
  newCertificate,
  storeTargets,
  testMasterKey,
  type TestLocation,
} from '../helpers/db.ts';
import { statementsDuring } from '../helpers/pg-statements.ts';

const DAY = 86_400_000;
const AT = new Date(Date.UTC(2026, 2, 1));

for (const target of storeTargets) {
  describe(`a credential check in the request's read on ${target.name}`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    let tenantId: number;
    let emptyTenantId: number;
    let live: number;
    let revoked: number;
    const names: string[] = [];

    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ masterKey: testMasterKey() }));
      tenantId = (await makeTenant(store)).id;
      emptyTenantId = (await makeTenant(store)).id;
      for (let i = 0; i < 12; i++) {
        const created = await store.certificates.insert(
          newCertificate(tenantId, {
            facts: { notBefore: new Date(AT.getTime() - 100 * DAY), notAfter: new Date(AT.getTime() + (i - 4) * DAY) },
          }),
          AT,
        );
        names.push(created.name);
      }
      const credential = (accessKey: string) => makeCredential(store, tenantId, accessKey, AT);
      live = await credential('CHECKLIVE00000000001');
      revoked = await credential('CHECKREVOKED00000001');
      await store.credentials.revoke('CHECKREVOKED00000001', AT);
      await store.tokens.insert(
        { tokenHash: 'a'.repeat(64), credentialId: live, issuedAt: AT, expiresAt: new Date(AT.getTime() + DAY) },
        100,
      );
      await store.tokens.insert(
        { tokenHash: 'b'.repeat(64), credentialId: revoked, issuedAt: AT, expiresAt: new Date(AT.getTime() + DAY) },
        100,
      );
    });
    after(async () => {
      await store?.close();
      await location?.cleanup();
    });

    const checks: Array<[string, () => CredentialCheck, 'live' | 'revoked' | 'unknown']> = [
      ['a live credential', () => ({ credentialId: live }), 'live'],
      ['a revoked credential', () => ({ credentialId: revoked }), 'revoked'],
      ['no such credential', () => ({ credentialId: 987_654 }), 'unknown'],
      ["a live credential's token", () => ({ tokenHash: 'a'.repeat(64) }), 'live'],
      ["a revoked credential's token", () => ({ tokenHash: 'b'.repeat(64) }), 'revoked'],
      ['no such token (pruned)', () => ({ tokenHash: 'c'.repeat(64) }), 'unknown'],
    ];

    /** The read with a check: the same answer as without, its state, one statement on PostgreSQL. */
    async function same<T>(read: (confirm?: CredentialConfirmation) => Promise<T>, label: string): Promise<void> {
      const expected = await read();
      await read(); // a list's plan hint (certificate-list.ts), so both runs take the merged path
      for (const [what, check, state] of checks) {
        const confirm: CredentialConfirmation = { check: check() };
        const { result, statements } = await statementsDuring(() => read(confirm));
        assert.deepEqual(result, expected, `${label}, ${what}: the same answer`);
        assert.equal(confirm.state, state, `${label}, ${what}: state`);
        if (target.name === 'postgres') assert.equal(statements, 1, `${label}, ${what}: statements`);
      }
    }

    it('certificate list pages: every validity, direction and offset, empty pages too', async () => {
      for (const validity of ['all', 'unexpired', 'expired'] as const)
        for (const order of ['asc', 'desc'] as const)
          for (const offset of [0, 5, 40]) {
            const read = (confirm?: CredentialConfirmation) =>
              store.certificates.list({ tenantId, asOf: AT, offset, limit: 5, validity, order }, confirm);
            await same(read, `${validity} ${order} offset ${offset}`);
          }
      await same(
        (confirm) => store.certificates.list({ tenantId, asOf: AT, offset: 0, limit: 100, name: names[3]! }, confirm),
        'name filter',
      );
      await same(
        (confirm) => store.certificates.list({ tenantId: emptyTenantId, asOf: AT, offset: 0, limit: 10 }, confirm),
        'an empty tenant',
      );
    });

    it('a certificate with its secrets, and a miss', async () => {
      const secrets = async (ref: { name: string } | { certificateNo: number }, confirm?: CredentialConfirmation) => {
        const found = await store.certificates.getWithSecrets(tenantId, ref, confirm);
        return found ? { certificate: found.certificate, key: await found.readPrivateKey() } : null;
      };
      // The secrets are read apart on SQLite: counted here without them.
      await same(
        async (confirm) =>
          (await store.certificates.getWithSecrets(tenantId, { name: names[2]! }, confirm))?.certificate,
        'by name',
      );
      await same((confirm) => store.certificates.getWithSecrets(tenantId, { name: 'no-such-name' }, confirm), 'a miss');
      assert.deepEqual(
        await secrets({ name: names[2]! }, { check: { credentialId: live } }),
        await secrets({ name: names[2]! }),
      );
    });

    it('the Edge list (no slots) and the ACM list in both orders', async () => {
      await same((confirm) => store.slots.list(tenantId, { offset: 0, limit: 15 }, confirm), 'edge list');
      for (const order of ['asc', 'desc'] as const)
        await same(
          (confirm) =>
            store.acm.list(
              {
                tenantId,
                asOf: AT,
                certificates: ['issued', 'expired', 'revoked'],
                keyTypes: null,
                requests: null,
                order,
                after: null,
                limit: 11,
              },
              confirm,
            ),
          `acm ${order}`,
        );
    });
  });
}
