/**
 * Core certificate use-cases against a real store: the permission matrix, tenant isolation,
 * replace-in-place, audited key reads, derived status with an injected clock, and input guards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Actor } from '../../src/core/actor.ts';
import { createCore, type Core } from '../../src/core/core.ts';
import type { ImportOptions } from '../../src/core/certificates.ts';
import { AppError, type ErrorCode } from '../../src/domain/errors.ts';
import { certificateStatus } from '../../src/domain/status.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { TestClock } from '../helpers/app.ts';
import { makeTenant, newCertificate, storeTargets, testMasterKey, type TestLocation } from '../helpers/db.ts';
import { days, mintBundle, mintLeaf, type Bundle } from '../helpers/pki.ts';

const options: ImportOptions = { origin: 'cli', policy: { requireKey: true, allowEd25519: true, nameRule: null } };

async function rejects(work: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(work, (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, code, error.message);
    return true;
  });
}

for (const target of storeTargets) {
  describe(`core certificates on ${target.name}`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    let core: Core;
    let clock: TestClock;
    let bundle: Bundle;
    let admin: Actor;
    let viewer: Actor;
    let otherAdmin: Actor;

    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ masterKey: testMasterKey() }));
      clock = new TestClock();
      core = createCore(store, clock);
      const a = await core.tenants.create('tenant-a');
      const b = await core.tenants.create('tenant-b');
      admin = { tenantId: a.id, id: 'A-ADMIN', role: 'ADMIN', remoteAddress: '127.0.0.1' };
      viewer = { tenantId: a.id, id: 'A-VIEWER', role: 'VIEWER', remoteAddress: '127.0.0.1' };
      otherAdmin = { tenantId: b.id, id: 'B-ADMIN', role: 'ADMIN', remoteAddress: null };
      bundle = await mintBundle();
    });

    after(async () => {
      await store.close();
      await location.cleanup();
    });

    it('lets ADMIN import and VIEWER read, but not write or read keys', async () => {
      const certificate = await core.certificates.import(
        admin,
        { name: 'www', certificate: bundle.leaf.pem, privateKey: bundle.leaf.keyPem, chain: bundle.chainPem },
        options,
      );
      assert.equal((await core.certificates.get(viewer, certificate.certificateNo)).name, 'www');
      await rejects(
        core.certificates.import(
          viewer,
          { name: 'v', certificate: bundle.leaf.pem, privateKey: bundle.leaf.keyPem, chain: bundle.chainPem },
          options,
        ),
        'permission_denied',
      );
      await rejects(core.certificates.delete(viewer, certificate.certificateNo), 'permission_denied');
      await rejects(
        core.certificates.export(viewer, certificate.certificateNo, { includeKey: true }),
        'permission_denied',
      );
      const withoutKey = await core.certificates.export(viewer, certificate.certificateNo, { includeKey: false });
      assert.equal(withoutKey.privateKeyPem, null);
      // NHN documents that a VIEWER may download the file, which holds the key.
      const file = await core.certificates.readFile(viewer, certificate.certificateNo);
      assert.equal(file.composed, true);
      assert.ok(file.bytes.toString().includes('PRIVATE KEY'));
    });

    it('audits every key read, refused or not, without the key in the event', async () => {
      const [certificate] = (await core.certificates.list(admin, { name: 'www', offset: 0, limit: 1 })).items;
      assert.ok(certificate);
      const bundleWithKey = await core.certificates.export(admin, certificate.certificateNo, { includeKey: true });
      assert.match(bundleWithKey.privateKeyPem ?? '', /BEGIN PRIVATE KEY/);
      const events = await core.audit.list(admin, { target: `certificate:${certificate.certificateNo}`, limit: 50 });
      const keyReads = events.filter((e) => e.action === 'certificate.key.read');
      assert.deepEqual(keyReads.map((e) => [e.actor, e.result]).sort(), [
        ['A-ADMIN', 'success'],
        ['A-VIEWER', 'failure'],
      ]);
      assert.ok(!JSON.stringify(events).includes('PRIVATE KEY'));
      assert.ok(events.some((e) => e.action === 'certificate.file.read' && e.actor === 'A-VIEWER'));
    });

    it('keeps tenants apart: another tenant sees not_found, even for an existing number', async () => {
      const [certificate] = (await core.certificates.list(admin, { name: 'www', offset: 0, limit: 1 })).items;
      assert.ok(certificate);
      await rejects(core.certificates.get(otherAdmin, certificate.certificateNo), 'not_found');
      await rejects(core.certificates.export(otherAdmin, certificate.certificateNo, { includeKey: true }), 'not_found');
      await rejects(core.certificates.delete(otherAdmin, certificate.certificateNo), 'not_found');
      await rejects(
        core.certificates.replace(
          otherAdmin,
          certificate.certificateNo,
          { name: 'www', certificate: bundle.leaf.pem, privateKey: bundle.leaf.keyPem, chain: bundle.chainPem },
          options,
        ),
        'not_found',
      );
      assert.equal((await core.certificates.list(otherAdmin, { offset: 0, limit: 10 })).total, 0);
      // The same certificate may live in another tenant.
      const theirs = await core.certificates.import(
        otherAdmin,
        { name: 'www', certificate: bundle.leaf.pem, privateKey: bundle.leaf.keyPem, chain: bundle.chainPem },
        options,
      );
      assert.notEqual(theirs.certificateNo, certificate.certificateNo);
    });

    it('refuses a duplicate certificate and a reused key with already_exists', async () => {
      await rejects(
        core.certificates.import(
          admin,
          { name: 'www2', certificate: bundle.leaf.pem, privateKey: bundle.leaf.keyPem, chain: bundle.chainPem },
          options,
        ),
        'already_exists',
      );
      const sameKey = await mintLeaf(bundle.intermediate, { cn: 'other.example.com' });
      await assert.rejects(
        core.certificates.import(
          admin,
          { name: 'other', certificate: sameKey.pem, privateKey: sameKey.keyPem, chain: bundle.chainPem },
          options,
        ),
        (error: unknown) =>
          error instanceof AppError && error.code === 'already_exists' && error.field === 'privateKey',
      );
    });

    it('replaces in place: same number and name, new bytes', async () => {
      const [certificate] = (await core.certificates.list(admin, { name: 'www', offset: 0, limit: 1 })).items;
      assert.ok(certificate);
      const renewed = await mintLeaf(bundle.intermediate, { freshKey: true, cn: 'www.example.com' });
      const replaced = await core.certificates.replace(
        admin,
        certificate.certificateNo,
        { name: 'www', certificate: renewed.pem, privateKey: renewed.keyPem, chain: bundle.chainPem },
        options,
      );
      assert.equal(replaced.certificateNo, certificate.certificateNo);
      assert.equal(replaced.name, 'www');
      assert.notEqual(replaced.facts.fingerprintSha256, certificate.facts.fingerprintSha256);
      assert.equal((await core.certificates.get(admin, certificate.certificateNo)).certificatePem, renewed.pem);
    });

    it('replace with an expected name: another name is not_found, audited, and nothing changes', async () => {
      const [certificate] = (await core.certificates.list(admin, { name: 'www', offset: 0, limit: 1 })).items;
      assert.ok(certificate);
      const renewed = await mintLeaf(bundle.intermediate, { freshKey: true, cn: 'www.example.com' });
      const input = { name: 'www', certificate: renewed.pem, privateKey: renewed.keyPem, chain: bundle.chainPem };
      const long = 'x'.repeat(300);
      await assert.rejects(
        core.certificates.replace(admin, certificate.certificateNo, input, { ...options, expectedName: long }),
        (error: unknown) =>
          error instanceof AppError &&
          error.code === 'not_found' &&
          error.field === 'certificateName' &&
          error.message === `Certificate ${certificate.certificateNo} is not named '${'x'.repeat(255)}…'.`,
      );
      assert.equal(
        (await core.certificates.get(admin, certificate.certificateNo)).updatedAt.getTime(),
        certificate.updatedAt.getTime(),
      );
      const [event] = await core.audit.list(admin, { action: 'certificate.replace', limit: 1 });
      assert.deepEqual(
        [event?.target, event?.result, event?.detail],
        [`certificate:${certificate.certificateNo}`, 'failure', { origin: 'cli', code: 'not_found' }],
      );
      const replaced = await core.certificates.replace(admin, certificate.certificateNo, input, {
        ...options,
        expectedName: 'www',
      });
      assert.equal(replaced.certificatePem, renewed.pem);
    });

    it('upsertByName: imports a new name, replaces a live one in place, refusals audited as imports', async () => {
      const check = (candidate: { name: string; facts: { commonName: string | null } }) => {
        if (candidate.facts.commonName !== `${candidate.name}.example.com`) {
          throw new AppError('name_invalid', 'not covered', { field: 'name' });
        }
      };
      const nhn: ImportOptions = {
        origin: 'nhn',
        policy: { requireKey: false, allowEd25519: false, nameRule: null, check },
      };
      const fileOf = (leaf: { pem: string; keyPem: string }) => ({
        name: 'up.pem',
        bytes: Buffer.from(leaf.pem + bundle.chainPem + leaf.keyPem),
      });
      const first = await mintLeaf(bundle.intermediate, { freshKey: true, cn: 'up.example.com' });
      const created = await core.certificates.upsertByName(admin, { name: 'up', file: fileOf(first) }, nhn);
      assert.equal(created.replaced, false);
      const second = await mintLeaf(bundle.intermediate, { freshKey: true, cn: 'up.example.com' });
      const again = await core.certificates.upsertByName(admin, { name: 'up', file: fileOf(second) }, nhn);
      assert.deepEqual(
        [again.replaced, again.certificate.certificateNo, again.certificate.certificatePem],
        [true, created.certificate.certificateNo, second.pem],
      );

      // The face's check runs in the one ladder pass; its refusal writes nothing, audited as an import.
      const before = (await core.certificates.list(admin, { offset: 0, limit: 1 })).total;
      const wrong = await mintLeaf(bundle.intermediate, { freshKey: true, cn: 'other.example.com' });
      await rejects(core.certificates.upsertByName(admin, { name: 'up', file: fileOf(wrong) }, nhn), 'name_invalid');
      assert.equal((await core.certificates.get(admin, created.certificate.certificateNo)).certificatePem, second.pem);
      assert.equal((await core.certificates.list(admin, { offset: 0, limit: 1 })).total, before);
      const [event] = await core.audit.list(admin, { limit: 1 });
      assert.deepEqual(
        [event?.action, event?.target, event?.result, event?.detail],
        ['certificate.import', 'certificate-name:up', 'failure', { origin: 'nhn', code: 'name_invalid' }],
      );
      await rejects(
        core.certificates.upsertByName(viewer, { name: 'up', file: fileOf(second) }, nhn),
        'permission_denied',
      );
    });

    it('upsertByName: two uploads of one new name at once make one certificate, both succeed', async () => {
      const nhn: ImportOptions = { origin: 'nhn', policy: { requireKey: false, allowEd25519: false, nameRule: null } };
      const [a, b] = await Promise.all([
        mintLeaf(bundle.intermediate, { freshKey: true, cn: 'race.example.com' }),
        mintLeaf(bundle.intermediate, { freshKey: true, cn: 'race.example.com' }),
      ]);
      const results = await Promise.all(
        [a, b].map((leaf) =>
          core.certificates.upsertByName(
            admin,
            { name: 'race', file: { name: 'race.pem', bytes: Buffer.from(leaf.pem + bundle.chainPem) } },
            nhn,
          ),
        ),
      );
      assert.equal(new Set(results.map((r) => r.certificate.certificateNo)).size, 1);
      assert.equal((await core.certificates.list(admin, { name: 'race', offset: 0, limit: 5 })).total, 1);
    });

    it('readFile by number, name or id: one audit event per attempt, misses under the reference given', async () => {
      const [certificate] = (await core.certificates.list(admin, { name: 'www', offset: 0, limit: 1 })).items;
      assert.ok(certificate);
      const no = certificate.certificateNo;
      const byName = await core.certificates.readFile(admin, { name: 'www' });
      const byId = await core.certificates.readFile(admin, { id: String(no) });
      assert.deepEqual(byId, byName);
      await rejects(core.certificates.readFile(admin, { name: 'nope' }), 'not_found');
      await rejects(core.certificates.readFile(admin, { id: `0${no}` }), 'not_found');
      await rejects(core.certificates.readFile(admin, { id: `x${'9'.repeat(40)}` }), 'not_found');
      await rejects(core.certificates.readFile(otherAdmin, no), 'not_found');
      await rejects(core.certificates.readFile(otherAdmin, { id: String(no) }), 'not_found');
      const events = (await core.audit.list(admin, { action: 'certificate.file.read', limit: 5 })).reverse();
      assert.deepEqual(
        events.map((e) => [e.target, e.result, e.detail.code ?? null]),
        [
          [`certificate:${no}`, 'success', null],
          [`certificate:${no}`, 'success', null],
          ['certificate-name:nope', 'failure', 'not_found'],
          [`certificate:0${no}`, 'failure', 'not_found'],
          [`certificate:x${'9'.repeat(31)}`, 'failure', 'not_found'],
        ],
      );
      const theirs = await core.audit.list(otherAdmin, { action: 'certificate.file.read', limit: 5 });
      assert.deepEqual(
        theirs.map((e) => [e.target, e.result]),
        [
          [`certificate:${no}`, 'failure'],
          [`certificate:${no}`, 'failure'],
        ],
      );
    });

    it('derives status from the injected clock', async () => {
      const [certificate] = (await core.certificates.list(admin, { name: 'www', offset: 0, limit: 1 })).items;
      assert.ok(certificate);
      assert.equal(certificateStatus(certificate, clock.now()), 'VALID');
      clock.advance(days(365));
      try {
        assert.equal(
          (await core.certificates.list(admin, { name: 'www', validity: 'expired', offset: 0, limit: 1 })).total,
          1,
        );
        assert.equal(
          (await core.certificates.list(admin, { name: 'www', validity: 'unexpired', offset: 0, limit: 1 })).total,
          0,
        );
      } finally {
        clock.advance(-days(365));
      }
    });

    it('refuses control characters in list filters instead of failing in the driver', async () => {
      await rejects(core.certificates.list(admin, { name: 'a\u0000b', offset: 0, limit: 10 }), 'invalid_argument');
      await rejects(
        core.certificates.list(admin, { nameContains: '\u0000', offset: 0, limit: 10 }),
        'invalid_argument',
      );
      await rejects(core.certificates.list(admin, { domain: 'x\ny', offset: 0, limit: 10 }), 'invalid_argument');
    });

    it('deletes, frees the name, never reuses the number', async () => {
      const [certificate] = (await core.certificates.list(admin, { name: 'www', offset: 0, limit: 1 })).items;
      assert.ok(certificate);
      await rejects(
        core.certificates.delete(admin, certificate.certificateNo, { expectedName: 'not-www' }),
        'not_found',
      );
      await core.certificates.delete(admin, certificate.certificateNo, { expectedName: 'www' });
      await rejects(core.certificates.get(admin, certificate.certificateNo), 'not_found');
      const again = await core.certificates.import(
        admin,
        { name: 'www', certificate: bundle.leaf.pem, privateKey: bundle.leaf.keyPem, chain: bundle.chainPem },
        options,
      );
      assert.ok(again.certificateNo > certificate.certificateNo);
    });

    it('lists all matches across pages of 1,000, or refuses above the cap before reading on', async () => {
      const tenant = await makeTenant(store);
      const reader: Actor = { tenantId: tenant.id, id: 'ALL-VIEWER', role: 'VIEWER', remoteAddress: null };
      for (let i = 0; i < 1002; i++) {
        await store.certificates.insert(newCertificate(tenant.id, { name: `all-${i}` }), clock.now());
      }
      const all = await core.certificates.listAll(reader, { sort: 'certificateNo', order: 'asc' }, 5000);
      assert.equal(all.total, 1002);
      const numbers = all.items.map((c) => c.certificateNo);
      assert.equal(new Set(numbers).size, 1002, 'no certificate twice');
      assert.deepEqual(
        numbers,
        [...numbers].sort((x, y) => x - y),
        'in the list order',
      );
      await assert.rejects(core.certificates.listAll(reader, {}, 1001), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'invalid_argument');
        assert.equal(error.field, 'all');
        assert.deepEqual(error.details, { total: 1002, max: 1001 });
        return true;
      });
    });
  });
}
