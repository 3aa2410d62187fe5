/**
 * The key-at-rest test: after importing a known private key (as key and inside an uploaded NHN
 * file) and creating a credential with a known secret, neither the SQLite files (database, -wal,
 * -shm, while open and after a checkpoint) nor a pg_dump of the PostgreSQL database contains them
 * in any encoding: PEM body lines, base64 of the DER, hex of the DER (both cases), raw DER.
 *
 * Values are searched for in chunks, not whole: a database may split a long value across pages,
 * and pg_dump escapes newlines. A positive control (the certificate, stored in clear on purpose)
 * proves the search finds what is there.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '../../src/store/open.ts';
import { factsOf, makeTenant, newCertificate, storeTargets, type TestLocation } from '../helpers/db.ts';
import { mintSelfSignedLeaf, RSA2048 } from '../helpers/pki.ts';
import { findNeedles, needles, type Needle } from '../helpers/key-material.ts';

const run = promisify(execFile);
const PG_DUMP = '/usr/bin/pg_dump';

function assertAbsent(haystacks: Array<{ name: string; bytes: Buffer }>, forbidden: Needle[]): void {
  assert.deepEqual(findNeedles(haystacks, forbidden), []);
}

async function sqliteFiles(location: TestLocation): Promise<Array<{ name: string; bytes: Buffer }>> {
  const base = join(location.dataDir, 'certkeeper.db');
  const files = [base, `${base}-wal`, `${base}-shm`].filter((f) => existsSync(f));
  return Promise.all(files.map(async (name) => ({ name, bytes: await readFile(name) })));
}

async function pgDump(location: TestLocation): Promise<Array<{ name: string; bytes: Buffer }>> {
  const { stdout } = await run(PG_DUMP, ['--no-owner', location.databaseUrl!], {
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'buffer',
  });
  return [{ name: `pg_dump of ${location.databaseName}`, bytes: stdout }];
}

for (const target of storeTargets) {
  describe(`${target.name}: keys at rest`, { skip: target.skip }, () => {
    it('neither the database files nor a dump contain the private key or credential secret in any encoding', async () => {
      const location = await target.fresh();
      try {
        const store = await openStore(location.options());
        const leaf = await mintSelfSignedLeaf({ cn: 'at-rest.example.com', key: RSA2048, freshKey: true });
        const keyDer = createPrivateKey(leaf.keyPem).export({ type: 'pkcs8', format: 'der' });
        const secret = `SK${randomBytes(30).toString('base64url')}`;

        const tenant = await makeTenant(store);
        const file = Buffer.from(`${leaf.pem}${leaf.keyPem}`);
        const cert = await store.certificates.insert(
          {
            ...newCertificate(tenant.id, { name: 'at-rest' }),
            certificatePem: leaf.pem,
            facts: factsOf(leaf),
            privateKeyPem: leaf.keyPem,
            file: { name: 'at-rest.pem', bytes: file },
          },
          new Date(),
        );
        const sealedSecret = await store.vault.seal(Buffer.from(secret), 'credential-secret:AKREST');
        await store.credentials.create(
          { tenantId: tenant.id, accessKey: 'AKREST', sealedSecret, role: 'ADMIN', description: '' },
          new Date(),
        );
        // A replace writes the key again (new row), and the old one must be gone too.
        await store.certificates.replace(
          tenant.id,
          cert.certificateNo,
          {
            origin: 'cli',
            certificatePem: leaf.pem,
            chainPems: [],
            facts: factsOf(leaf),
            privateKeyPem: leaf.keyPem,
            file: { name: 'at-rest.pem', bytes: file },
          },
          new Date(),
        );
        assert.equal(
          await store.certificates.readPrivateKey(tenant.id, cert.certificateNo),
          leaf.keyPem,
          'the store can still read it',
        );

        const forbidden = [
          ...needles('private key', keyDer, leaf.keyPem, 32),
          ...needles('credential secret', Buffer.from(secret), null, 16),
          { what: 'secret (whole)', bytes: Buffer.from(secret) },
        ];
        const certLine = leaf.pem.split('\n')[1]!;

        const check = async (moment: string) => {
          const haystacks = location.databaseUrl ? await pgDump(location) : await sqliteFiles(location);
          assert.ok(haystacks.length > 0, `nothing to search ${moment}`);
          // Positive control: the certificate is stored in clear, and the search finds it.
          assert.ok(
            haystacks.some((h) => h.bytes.includes(Buffer.from(certLine))),
            `control: certificate line found ${moment}`,
          );
          assertAbsent(haystacks, forbidden);
        };
        await check('while open');
        await store.close();
        await check('after close (SQLite: checkpointed)');
      } finally {
        await location.cleanup();
      }
    });
  });
}
