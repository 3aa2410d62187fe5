/**
 * `certkeeper cert import-dir DIR` on SQLite and PostgreSQL: a directory of certificates and keys
 * minted here (test/helpers/pki.ts) in every layout a migration meets: keys in files of any name
 * (PEM and DER), a certificate both alone and in a full-chain file, a PKCS#12 file, a certificate
 * without its key, a key of nothing, a corrupt file, an encrypted key, an expired certificate, a
 * CN with a NUL byte, a name twice. Each is imported, skipped or refused with the ladder's reason,
 * and a second run skips what the first imported.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDirectory } from '../../src/cli/import-dir.ts';
import { run } from '../../src/cli/run.ts';
import type { ImportFilesSummary } from '../../src/core/import-files.ts';
import { FILE_SET_FILE_MAX_BYTES } from '../../src/domain/x509/file-set.ts';
import { encodePkcs12 } from '../../src/domain/x509/pkcs12.ts';
import { rawQuery, storeTargets, type TestLocation } from '../helpers/db.ts';
import { derOf, days, mintBundle, mintLeaf, P256, RSA2048, type Bundle, type Issued } from '../helpers/pki.ts';

const PASS = 'p12 passphrase';
let dir: string;
let bundle: Bundle;
const leaves: Record<string, Issued> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certkeeper-import-dir-'));
  bundle = await mintBundle();
  const leaf = (cn: string, extra: Parameters<typeof mintLeaf>[1] = {}) =>
    mintLeaf(bundle.intermediate, { cn, key: P256, freshKey: true, sans: { dns: [cn] }, ...extra });
  for (const name of ['one', 'two', 'three', 'four', 'nokey', 'p12', 'twin-a', 'twin-b'])
    leaves[name] = await leaf(`${name}.example.test`);
  leaves.rsa = await leaf('rsa.example.test', { key: RSA2048 });
  leaves.expired = await leaf('expired.example.test', {
    notBefore: new Date(Date.now() - days(30)),
    notAfter: new Date(Date.now() - days(1)),
  });
  leaves.nul = await leaf('nul\u0000name.example.test');
  leaves.encrypted = await leaf('encrypted.example.test');
  leaves.bell = await leaf('bell.example.test');
  const stray = await leaf('stray.example.test');

  const put = async (path: string, content: string | Buffer) => {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  };
  await put('ca/chain.pem', bundle.chainPem);
  // Keys in files whose names say nothing, some in DER, one PKCS#1.
  await put('one.example.test.crt', leaves.one!.pem);
  await put('private/k-17.pem', leaves.one!.keyPem);
  await put('two.example.test.der', derOf(leaves.two!));
  await put('private/k-2.der', createPrivateKey(leaves.two!.keyPem).export({ type: 'pkcs8', format: 'der' }));
  await put('rsa.example.test.pem', leaves.rsa!.pem);
  await put('private/rsa.key', createPrivateKey(leaves.rsa!.keyPem).export({ type: 'pkcs1', format: 'pem' }));
  // certbot's layout: cert.pem alone and again in fullchain.pem, its key beside them.
  await put('live/three/cert.pem', leaves.three!.pem);
  await put('live/three/fullchain.pem', leaves.three!.pem + bundle.chainPem);
  await put('live/three/privkey.pem', leaves.three!.keyPem);
  // Certificate and key in one file.
  await put('four.example.test.pem', leaves.four!.pem + leaves.four!.keyPem);
  // No key anywhere; and a key of no certificate here; a file holding a certificate with the wrong key.
  await put('nokey.example.test.pem', leaves.nokey!.pem);
  await put('stray.key', stray.keyPem);
  await put(
    'p12.example.test.p12',
    encodePkcs12(
      {
        certificateDer: derOf(leaves.p12!),
        chainDers: [],
        privateKeyPkcs8Der: createPrivateKey(leaves.p12!.keyPem).export({ type: 'pkcs8', format: 'der' }),
        friendlyName: 'p12',
      },
      { passphrase: PASS, legacy: false },
    ),
  );
  // Two certificates whose stems are the same name.
  await put('a/twin.pem', leaves['twin-a']!.pem);
  await put('b/twin.pem', leaves['twin-b']!.pem);
  // Refused: a corrupt file, an encrypted key (its certificate then has none), an expired
  // certificate, a CN with a NUL byte (the ladder refuses it), a file stem with a control character.
  await put('corrupt.pem', '-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n');
  await put('encrypted.example.test.pem', leaves.encrypted!.pem);
  await put(
    'encrypted.key',
    createPrivateKey(leaves.encrypted!.keyPem).export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'secret',
    }),
  );
  await put('expired.example.test.pem', leaves.expired!.pem);
  await put('nul.pem', leaves.nul!.pem);
  await put('bell\u0007.pem', leaves.bell!.pem + leaves.bell!.keyPem);
});

after(() => rm(dir, { recursive: true, force: true }));

for (const target of storeTargets) {
  describe(`cert import-dir (${target.name})`, { skip: target.skip }, () => {
    let loc: TestLocation;
    const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
      let stdout = '';
      let stderr = '';
      const code = await run(args, {
        env: {
          CERTKEEPER_DATA_DIR: loc.dataDir,
          CERTKEEPER_LOG_LEVEL: 'silent',
          ...(loc.databaseUrl ? { DATABASE_URL: loc.databaseUrl } : {}),
          ...env,
        },
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
      });
      return { code, stdout, stderr };
    };
    const importDir = async (tenant: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) => {
      const result = await cli(['cert', 'import-dir', '--tenant', tenant, dir, '--json', ...extra], env);
      assert.equal(result.stderr, '', 'no progress line when stderr is not a terminal');
      return { code: result.code, summary: JSON.parse(result.stdout) as ImportFilesSummary };
    };
    const rows = async (tenant: string) =>
      rawQuery(
        loc,
        `select c.name, c.has_private_key, c.chain_pems, c.fingerprint_sha256 from certificates c join tenants t on t.id = c.tenant_id where t.name = '${tenant}' order by c.name`,
      );
    const refusedCodes = (summary: ImportFilesSummary) =>
      Object.fromEntries(summary.refused.map((r) => [r.file, r.code]));

    before(async () => {
      loc = await target.fresh();
      for (const tenant of ['stems', 'cns', 'dry']) assert.equal((await cli(['tenant', 'create', tenant])).code, 0);
    });
    after(() => loc.cleanup());

    it('imports by file stem, pairs keys by public key, chains from the directory, refuses with reasons', async () => {
      const { code, summary } = await importDir('stems', [], { CERTKEEPER_P12_PASSPHRASE: PASS });
      assert.equal(code, 1, 'something was refused');
      assert.deepEqual(summary.imported.map((i) => [i.file, i.keyFile, i.name]).sort(), [
        ['a/twin.pem', null, 'twin'],
        ['encrypted.example.test.pem', null, 'encrypted.example.test'],
        ['four.example.test.pem', 'four.example.test.pem', 'four.example.test'],
        ['live/three/cert.pem', 'live/three/privkey.pem', 'cert'],
        ['nokey.example.test.pem', null, 'nokey.example.test'],
        ['one.example.test.crt', 'private/k-17.pem', 'one.example.test'],
        ['p12.example.test.p12', 'p12.example.test.p12', 'p12.example.test'],
        ['rsa.example.test.pem', 'private/rsa.key', 'rsa.example.test'],
        ['two.example.test.der', 'private/k-2.der', 'two.example.test'],
      ]);
      assert.deepEqual(refusedCodes(summary), {
        'corrupt.pem': 'pem_malformed',
        'encrypted.key': 'key_encrypted',
        'expired.example.test.pem': 'certificate_expired',
        'b/twin.pem': 'already_exists',
        'nul.pem': 'certificate_invalid',
        'bell\u0007.pem': 'name_invalid',
      });
      assert.ok(summary.refused.every((r) => r.message.length > 0));
      assert.deepEqual(summary.noKey.map((n) => n.file).sort(), [
        'a/twin.pem',
        'encrypted.example.test.pem',
        'nokey.example.test.pem',
      ]);
      assert.deepEqual(summary.unusedKeyFiles, ['stray.key']);
      assert.equal(summary.present.length, 0);
      assert.equal(summary.certificates, 13);

      const stored = await rows('stems');
      assert.equal(stored.length, 9);
      const byName = new Map(stored.map((r) => [r.name as string, r]));
      assert.equal(Number(byName.get('one.example.test')!.has_private_key), 1);
      assert.equal(Number(byName.get('nokey.example.test')!.has_private_key), 0);
      // The chain came from ca/chain.pem: intermediate then root.
      assert.deepEqual(JSON.parse(byName.get('two.example.test')!.chain_pems as string), [
        bundle.intermediate.pem,
        bundle.root.pem,
      ]);
      // Every import audited as its own event, refusals of certificates too.
      const audited = await rawQuery(
        loc,
        `select result, count(*) as n from audit_events e join tenants t on t.id = e.tenant_id where t.name = 'stems' and action = 'certificate.import' group by result order by result`,
      );
      assert.deepEqual(
        audited.map((r) => [r.result, Number(r.n)]),
        [
          ['failure', 4],
          ['success', 9],
        ],
      );
    });

    it('skips what is already present on a second run, and writes nothing new', async () => {
      const before = (await rows('stems')).length;
      const { summary } = await importDir('stems', [], { CERTKEEPER_P12_PASSPHRASE: PASS });
      assert.equal(summary.imported.length, 0);
      assert.equal(summary.present.length, 9);
      assert.ok(summary.present.every((p) => typeof p.certificateNo === 'number'));
      assert.equal((await rows('stems')).length, before);
    });

    it('names by CN; a NUL byte in a CN is refused; PKCS#12 without its passphrase is refused', async () => {
      const { summary } = await importDir('cns', ['--name-from', 'cn']);
      const codes = refusedCodes(summary);
      assert.equal(codes['nul.pem'], 'certificate_invalid');
      assert.equal(codes['p12.example.test.p12'], 'invalid_argument');
      assert.equal(codes['b/twin.pem'], undefined, 'named by CN, the twins differ');
      const names = (await rows('cns')).map((r) => r.name);
      assert.ok(names.includes('one.example.test') && names.includes('twin-b.example.test'));
      assert.ok(!names.some((n) => String(n).includes('\u0000')));
    });

    it('--dry-run validates the same way and writes nothing, audit included', async () => {
      const { summary } = await importDir('dry', ['--dry-run'], { CERTKEEPER_P12_PASSPHRASE: PASS });
      assert.equal(summary.dryRun, true);
      assert.equal(summary.imported.length, 9);
      assert.ok(summary.imported.every((i) => i.certificateNo === null));
      assert.equal((await rows('dry')).length, 0);
      const audited = await rawQuery(
        loc,
        `select count(*) as n from audit_events e join tenants t on t.id = e.tenant_id where t.name = 'dry'`,
      );
      assert.equal(Number(audited[0]!.n), 0);
    });

    it('refuses a missing directory and a bad --name-from with a clear line', async () => {
      const missing = await cli(['cert', 'import-dir', '--tenant', 'dry', join(dir, 'nope')]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /Cannot read the directory/);
      const bad = await cli(['cert', 'import-dir', '--tenant', 'dry', dir, '--name-from', 'serial']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--name-from takes stem or cn/);
    });

    it('--workers N and CERTKEEPER_IMPORT_WORKERS give the summary of one thread; a bad count is refused', async () => {
      // Certificate numbers are each tenant's own: compared without them.
      const comparable = ({ summary }: { summary: ImportFilesSummary }) => ({
        ...summary,
        imported: summary.imported.map(({ certificateNo: _, ...rest }) => rest),
      });
      const env = { CERTKEEPER_P12_PASSPHRASE: PASS };
      for (const tenant of ['w0', 'w2', 'wenv']) assert.equal((await cli(['tenant', 'create', tenant])).code, 0);
      const one = comparable(await importDir('w0', ['--workers', '0'], env));
      assert.equal(one.imported.length, 9);
      assert.deepEqual(comparable(await importDir('w2', ['--workers', '2'], env)), one);
      assert.deepEqual(comparable(await importDir('wenv', [], { ...env, CERTKEEPER_IMPORT_WORKERS: '3' })), one);
      for (const [extra, env, source] of [
        [['--workers=-1'], {}, '--workers'],
        [['--workers', '65'], {}, '--workers'],
        [['--workers', '1.5'], {}, '--workers'],
        [[], { CERTKEEPER_IMPORT_WORKERS: 'many' }, 'CERTKEEPER_IMPORT_WORKERS'],
      ] as const) {
        const bad = await cli(['cert', 'import-dir', '--tenant', 'w0', dir, ...extra], env);
        assert.equal(bad.code, 2, `${extra.join(' ')} ${JSON.stringify(env)}`);
        assert.match(bad.stderr, new RegExp(`${source} takes a whole number of worker threads from 0 to 64`));
      }
    });
  });
}

describe('readDirectory', () => {
  it('reads regular files recursively in path order; lists links and oversized files as refused', async () => {
    const root = await mkdtemp(join(tmpdir(), 'certkeeper-read-dir-'));
    try {
      await mkdir(join(root, 'b', 'c'), { recursive: true });
      await writeFile(join(root, 'b', 'c', 'deep.pem'), 'deep');
      await writeFile(join(root, 'a.pem'), 'a');
      await writeFile(join(root, 'big.pem'), Buffer.alloc(FILE_SET_FILE_MAX_BYTES + 1));
      await symlink(join(root, 'a.pem'), join(root, 'link.pem'));
      const { files, unreadable } = await readDirectory(root);
      assert.deepEqual(
        files.map((f) => [f.path, f.bytes.toString()]),
        [
          ['a.pem', 'a'],
          [join('b', 'c', 'deep.pem'), 'deep'],
        ],
      );
      assert.deepEqual(
        unreadable.map((r) => [r.file, r.code, r.field]),
        [
          ['big.pem', 'input_too_large', 'file'],
          ['link.pem', 'invalid_argument', 'file'],
        ],
      );
      await assert.rejects(readDirectory(join(root, 'a.pem')), /Cannot read the directory .*not a directory/);
      await assert.rejects(readDirectory(join(root, 'nope')), /Cannot read the directory .*ENOENT/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
