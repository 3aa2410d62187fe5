/**
 * The bulk import's worker threads (core/import-files-pool.ts) on SQLite and PostgreSQL: a
 * directory of more certificates than one batch, with hostile files among them (NUL bytes,
 * bytes that are not text, garbage PEM, a file over the size limit, an expired certificate),
 * imported with no worker, with workers, and with a worker that dies or fails mid-run (test/helpers/failing-import-worker.ts). Every
 * run gives the same summary, the same rows and the same audit as the run on one thread: no
 * certificate lost, none written twice.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApp, type App } from '../../src/app/app.ts';
import { readDirectory } from '../../src/cli/import-dir.ts';
import { loadConfig } from '../../src/config/config.ts';
import { cliActor } from '../../src/core/actor.ts';
import { IMPORT_FILES_BATCH, type ImportFilesOptions, type ImportFilesSummary } from '../../src/core/import-files.ts';
import { runImportTask, startImportFilesPool, type ImportFilesPool } from '../../src/core/import-files-pool.ts';
import { FILE_SET_FILE_MAX_BYTES, type SourceFile } from '../../src/domain/x509/file-set.ts';
import { rawQuery, storeTargets, type TestLocation } from '../helpers/db.ts';
import { mintBundle, mintLeaf, P256, type Bundle } from '../helpers/pki.ts';

/** More than one batch, so batches are written while later ones are laddered. */
const CERTIFICATES = IMPORT_FILES_BATCH + 30;
const failing = (failAt: number, how: 'exit' | 'throw' | 'reply') =>
  new URL(`../helpers/failing-import-worker.ts?fail-at=${failAt}&how=${how}`, import.meta.url);

let dir: string;
let bundle: Bundle;
let files: SourceFile[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certkeeper-import-workers-'));
  bundle = await mintBundle();
  await writeFile(join(dir, 'chain.pem'), bundle.chainPem);
  for (let i = 0; i < CERTIFICATES; i++) {
    const leaf = await mintLeaf(bundle.intermediate, { cn: `w${i}.example.test`, key: P256, freshKey: true });
    // Every 50th without its key (imported without one).
    await writeFile(join(dir, `w${i}.pem`), leaf.pem);
    if (i % 50 !== 7) await writeFile(join(dir, `key-${CERTIFICATES - i}.key`), leaf.keyPem);
  }
  const expired = await mintLeaf(bundle.intermediate, {
    cn: 'expired.example.test',
    key: P256,
    freshKey: true,
    notBefore: new Date(Date.now() - 30 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  });
  await writeFile(join(dir, 'expired.pem'), expired.pem + expired.keyPem);
  await writeFile(
    join(dir, 'nul-bytes.pem'),
    Buffer.concat([Buffer.from('-----BEGIN CERTIFICATE-----\n'), Buffer.alloc(64)]),
  );
  // Bytes that are neither text nor DER (the first is not a SEQUENCE tag).
  await writeFile(join(dir, 'random.bin'), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 131 + 7) & 0xff)));
  await writeFile(
    join(dir, 'garbage.pem'),
    '-----BEGIN CERTIFICATE-----\nMIIB!!not*base64\n-----END CERTIFICATE-----\n',
  );
  files = (await readDirectory(dir)).files;
  // Over the limit: readDirectory leaves such a file unread; core refuses it on its own too.
  files.push({ path: 'oversized.pem', bytes: Buffer.alloc(FILE_SET_FILE_MAX_BYTES + 1, 0x41) });
});

after(() => rm(dir, { recursive: true, force: true }));

/** The summary without the certificate numbers, which each tenant counts on its own. */
const comparable = (summary: ImportFilesSummary) => ({
  ...summary,
  imported: summary.imported.map(({ certificateNo: _, ...rest }) => rest),
  present: summary.present.map(({ certificateNo: _, ...rest }) => rest),
});

describe('the import pool', () => {
  // Parse results compared as data: the certificates' DER, the keys' PEM and match, the refusals.
  const plain = (parsed: Awaited<ReturnType<ImportFilesPool['parse']>>) =>
    parsed.map(({ path, read }) =>
      'error' in read
        ? {
            path,
            code: read.error.code,
            field: read.error.field,
            message: read.error.message,
            details: read.error.details,
          }
        : {
            path,
            certificates: read.blocks.certificates.map((c) => [c.pem, c.x509.fingerprint256]),
            keys: read.blocks.keys.map((k) => [
              k.pem,
              k.match,
              k.parsed.pkcs8Pem,
              k.parsed.keyObject.asymmetricKeyType,
            ]),
          },
    );

  it("parses on workers what this thread parses, with AppErrors whole, and takes back a dead worker's tasks", async () => {
    const here = plain(runImportTask({ kind: 'parse', files, passphrase: null }));
    for (const [size, module, left] of [
      [2, undefined, 2],
      [1, failing(2, 'exit'), 0],
      [2, failing(1, 'reply'), 0],
      [1, failing(1, 'throw'), null],
    ] as const) {
      const pool = startImportFilesPool(size, module ? { module } : {});
      try {
        assert.deepEqual(plain(await pool.parse(files, null)), here);
        // A worker that exits or answers `failed` at a task it was given (two at once, nine
        // chunks) has left the pool by then; one that throws answers first and dies after.
        if (left !== null) assert.equal(pool.workers, left);
      } finally {
        await pool.close();
      }
    }
  });
});

for (const target of storeTargets) {
  describe(`cert import-dir with worker threads (${target.name})`, { skip: target.skip }, () => {
    let loc: TestLocation;
    let app: App;
    let reference: { summary: ReturnType<typeof comparable>; rows: unknown[]; audit: unknown[] };

    const importInto = async (tenant: string, options: Partial<ImportFilesOptions>) => {
      const { id } = await app.core.tenants.create(tenant);
      const summary = await app.core.certificates.importFiles(cliActor(id), files, {
        names: 'stem',
        dryRun: false,
        passphrase: null,
        ...options,
      });
      const rows = await rawQuery(
        loc,
        `select c.name, c.fingerprint_sha256, c.has_private_key, c.chain_pems from certificates c join tenants t on t.id = c.tenant_id where t.name = '${tenant}' order by c.name`,
      );
      const audit = await rawQuery(
        loc,
        `select e.target, e.result from audit_events e join tenants t on t.id = e.tenant_id where t.name = '${tenant}' and e.action = 'certificate.import' order by e.target, e.result`,
      );
      return { summary: comparable(summary), rows, audit };
    };

    before(async () => {
      loc = await target.fresh();
      app = await openApp(
        loadConfig({
          CERTKEEPER_DATA_DIR: loc.dataDir,
          CERTKEEPER_LOG_LEVEL: 'silent',
          ...(loc.databaseUrl ? { DATABASE_URL: loc.databaseUrl } : {}),
        }),
      );
      reference = await importInto('one-thread', { workers: 0 });
    });
    after(async () => {
      await app.close();
      await loc.cleanup();
    });

    it('on one thread: imports every pair, refuses the hostile files with their reasons', () => {
      const { summary, rows } = reference;
      assert.deepEqual(Object.fromEntries(summary.refused.map((r) => [r.file, r.code])), {
        'expired.pem': 'certificate_expired',
        'garbage.pem': 'pem_malformed',
        'nul-bytes.pem': 'pem_malformed',
        'oversized.pem': 'input_too_large',
        'random.bin': 'pem_malformed',
      });
      for (const file of ['nul-bytes.pem', 'random.bin'])
        assert.match(summary.refused.find((r) => r.file === file)!.message, /binary data/);
      assert.ok(summary.refused.every((r) => r.message.length > 0));
      assert.equal(summary.imported.length, CERTIFICATES);
      assert.equal(rows.length, CERTIFICATES);
      assert.equal(summary.noKey.length, Math.ceil((CERTIFICATES - 7) / 50));
    });

    for (const workers of [1, 3]) {
      it(`${workers} worker(s): the same summary, rows and audit as one thread`, async () => {
        assert.deepEqual(await importInto(`workers-${workers}`, { workers }), reference);
      });
    }

    for (const [failAt, how] of [
      [1, 'exit'],
      [3, 'exit'],
      [5, 'exit'],
      [2, 'throw'],
      [2, 'reply'],
      [5, 'reply'],
    ] as const) {
      it(`a worker that fails (${how}) at its task ${failAt}: nothing lost, nothing twice`, async () => {
        const outcome = await importInto(`fails-${how}-${failAt}`, { workers: 2, workerModule: failing(failAt, how) });
        assert.deepEqual(outcome, reference);
      });
    }
  });
}
