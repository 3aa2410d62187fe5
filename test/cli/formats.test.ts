/**
 * `certkeeper cert export --format pem|der|p12` and `cert import` of DER and PKCS#12 files, on
 * SQLite and PostgreSQL, with OpenSSL 3 as the oracle for what is written and as the writer of
 * what is read. Bad files are refused with one clear line (exit 1) or a usage error (exit 2),
 * and nothing is written: no certificate row, no file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/run.ts';
import { countRows, rawQuery, storeTargets, type TestLocation } from '../helpers/db.ts';
import { mintBundle, mintLeaf, P256, RSA2048, type Bundle } from '../helpers/pki.ts';

const PASS = 'löng passphrase 1';

let work: string;
let rsa: Bundle;
let ec: Bundle;

const path = (name: string) => join(work, name);
const openssl = (args: string[], input?: Buffer): Buffer =>
  execFileSync('openssl', args, { ...(input ? { input } : {}), stdio: ['pipe', 'pipe', 'pipe'] });
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'certkeeper-cli-formats-'));
  rsa = await mintBundle({ leaf: { key: RSA2048, cn: 'rsa.example.com', freshKey: true } });
  ec = await mintBundle({ leaf: { key: P256, cn: 'ec.example.com', freshKey: true } });
  await writeFile(path('pass.txt'), `${PASS}\n`);
  for (const [name, b] of [
    ['rsa', rsa],
    ['ec', ec],
  ] as const) {
    await writeFile(path(`${name}-cert.pem`), b.leaf.pem);
    await writeFile(path(`${name}-key.pem`), b.leaf.keyPem);
    await writeFile(path(`${name}-chain.pem`), b.chainPem);
  }
});

after(() => rm(work, { recursive: true, force: true }));

for (const target of storeTargets) {
  describe(`cert export and import formats (${target.name})`, { skip: target.skip }, () => {
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
    const ok = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
      const result = await cli(args, env);
      assert.equal(result.code, 0, `certkeeper ${args.join(' ')}: ${result.stderr}`);
      return result.stdout;
    };
    const keyReads = async () =>
      Number(
        (await rawQuery(loc, `select count(*) as n from audit_events where action = 'certificate.key.read'`))[0]?.n,
      );
    let rsaNo: number;

    before(async () => {
      loc = await target.fresh();
      await ok(['tenant', 'create', 'default']).catch(() => undefined);
      const imported = JSON.parse(
        await ok([
          'cert',
          'import',
          '--name',
          'rsa',
          '--cert',
          path('rsa-cert.pem'),
          '--key',
          path('rsa-key.pem'),
          '--chain',
          path('rsa-chain.pem'),
          '--json',
        ]),
      ) as { certificateNo: number };
      rsaNo = imported.certificateNo;
    });
    after(() => loc.cleanup());

    it('--format pem stays the default: the same four files as before', async () => {
      const out = path(`${target.name}-pem`);
      await ok(['cert', 'export', String(rsaNo), '--out', out, '--key']);
      assert.deepEqual((await readdir(out)).sort(), ['cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem']);
    });

    it('--format der: openssl x509 -inform DER reads cert.der, openssl pkey reads the PKCS#8 key, which matches', async () => {
      const out = path(`${target.name}-der`);
      const before = await keyReads();
      await ok(['cert', 'export', String(rsaNo), '--format', 'der', '--out', out, '--key']);
      assert.equal(await keyReads(), before + 1, 'the key read is audited once');
      assert.deepEqual((await readdir(out)).sort(), ['cert.der', 'chain-1.der', 'chain-2.der', 'privkey.der']);
      const leaf = openssl(['x509', '-inform', 'DER', '-in', join(out, 'cert.der')]).toString();
      assert.equal(fingerprint(leaf), fingerprint(rsa.leaf.pem));
      const issuer = openssl(['x509', '-inform', 'DER', '-in', join(out, 'chain-1.der')]).toString();
      assert.equal(fingerprint(issuer), fingerprint(rsa.intermediate.pem));
      assert.equal((await stat(join(out, 'privkey.der'))).mode & 0o777, 0o600);
      const keyPub = openssl(['pkey', '-inform', 'DER', '-pubout', '-in', join(out, 'privkey.der')]).toString();
      const certPub = openssl(['x509', '-noout', '-pubkey', '-in', path('rsa-cert.pem')]).toString();
      assert.equal(keyPub, certPub);
      assert.match(
        openssl(['asn1parse', '-inform', 'DER', '-in', join(out, 'privkey.der')]).toString(),
        /rsaEncryption/,
      );
    });

    for (const legacy of [false, true]) {
      it(`--format p12${legacy ? ' --legacy' : ''}: openssl pkcs12 opens it${legacy ? ' without -legacy' : ''}`, async () => {
        const out = path(`${target.name}-p12-${legacy}`);
        const before = await keyReads();
        const printed = await ok([
          'cert',
          'export',
          String(rsaNo),
          '--format',
          'p12',
          '--key',
          '--out',
          out,
          '--passphrase-file',
          path('pass.txt'),
          ...(legacy ? ['--legacy'] : []),
        ]);
        assert.equal(printed, `${join(out, 'cert.p12')}\n`);
        assert.equal(await keyReads(), before + 1);
        assert.equal((await stat(join(out, 'cert.p12'))).mode & 0o777, 0o600);
        const info = spawnSync(
          'openssl',
          ['pkcs12', '-in', join(out, 'cert.p12'), '-passin', `file:${path('pass.txt')}`, '-info', '-nodes'],
          { encoding: 'utf8' },
        );
        assert.equal(info.status, 0, info.stderr);
        assert.match(info.stderr, legacy ? /pbeWithSHA1And3-KeyTripleDES-CBC/ : /AES-256-CBC.*hmacWithSHA256/);
        assert.match(info.stderr, legacy ? /MAC: sha1/ : /MAC: sha256/);
        assert.match(info.stdout, /BEGIN PRIVATE KEY/);
        assert.equal((info.stdout.match(/BEGIN CERTIFICATE/g) ?? []).length, 3);
      });
    }

    it('--format p12 takes the passphrase from CERTKEEPER_P12_PASSPHRASE; without --key the file has no key', async () => {
      const out = path(`${target.name}-p12-env`);
      // A file already there, readable by all: written over, it is 0600 like a new one.
      await mkdir(out, { recursive: true });
      await writeFile(join(out, 'cert.p12'), 'old', { mode: 0o644 });
      const before = await keyReads();
      const printed = await ok(['cert', 'export', String(rsaNo), '--format', 'p12', '--out', out], {
        CERTKEEPER_P12_PASSPHRASE: PASS,
      });
      assert.match(printed, /no private key: add --key/);
      assert.equal(await keyReads(), before, 'no key, no key read');
      assert.equal((await stat(join(out, 'cert.p12'))).mode & 0o777, 0o600);
      const text = openssl(['pkcs12', '-in', join(out, 'cert.p12'), '-passin', `pass:${PASS}`, '-nodes']).toString();
      assert.doesNotMatch(text, /PRIVATE KEY/);
    });

    it('refuses what cannot be written well, and writes nothing', async () => {
      const out = path(`${target.name}-refused`);
      const cases: Array<[string[], NodeJS.ProcessEnv, number, RegExp]> = [
        [
          ['--format', 'p12', '--key', '--out', out],
          {},
          2,
          /needs a passphrase: --passphrase-file FILE or CERTKEEPER_P12_PASSPHRASE/,
        ],
        [['--format', 'p12', '--key', '--out', out], { CERTKEEPER_P12_PASSPHRASE: '' }, 1, /passphrase is empty/],
        [
          ['--format', 'p12', '--key', '--out', out, '--passphrase-file', path('missing.txt')],
          {},
          1,
          /Cannot read the passphrase file/,
        ],
        [['--format', 'der', '--key'], {}, 2, /--format der writes binary files: give --out DIR/],
        [['--format', 'pfx', '--out', out], {}, 2, /--format takes pem, der or p12/],
        [['--legacy', '--out', out], {}, 2, /--legacy applies to --format p12 only/],
      ];
      const before = await keyReads();
      for (const [args, env, code, message] of cases) {
        const result = await cli(['cert', 'export', String(rsaNo), ...args], env);
        assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, message);
      }
      assert.equal(await keyReads(), before, 'a refused export reads no key');
      await assert.rejects(stat(out), { code: 'ENOENT' });
    });

    it('imports PKCS#12 files openssl writes, modern and -legacy, with the passphrase from a file or the environment', async () => {
      for (const [name, extra, env] of [
        ['p12-modern', ['--passphrase-file', path('pass.txt')], {}],
        ['p12-legacy', [], { CERTKEEPER_P12_PASSPHRASE: PASS }],
      ] as const) {
        const b = await mintLeaf(ec.intermediate, { key: P256, cn: `${name}.example.com`, freshKey: true });
        await writeFile(path(`${name}-leaf.pem`), b.pem);
        await writeFile(path(`${name}-key.pem`), b.keyPem);
        const p12 = path(`${name}.p12`);
        openssl([
          'pkcs12',
          '-export',
          '-in',
          path(`${name}-leaf.pem`),
          '-inkey',
          path(`${name}-key.pem`),
          '-certfile',
          path('ec-chain.pem'),
          '-passout',
          `file:${path('pass.txt')}`,
          '-out',
          p12,
          ...(name === 'p12-legacy' ? ['-legacy'] : []),
        ]);
        const row = JSON.parse(await ok(['cert', 'import', '--name', name, '--p12', p12, ...extra, '--json'], env)) as {
          certificateNo: number;
          hasPrivateKey: boolean;
        };
        assert.equal(row.hasPrivateKey, true);
        const shown = JSON.parse(await ok(['cert', 'show', String(row.certificateNo), '--json'])) as {
          facts: { fingerprintSha256: string };
          chainLength: number;
        };
        assert.equal(shown.chainLength, 2);
        assert.equal(
          shown.facts.fingerprintSha256,
          new X509Certificate(b.pem).fingerprint256.replaceAll(':', '').toLowerCase(),
        );
      }
    });

    it('imports DER certificate, key and chain files', async () => {
      const b = await mintLeaf(ec.intermediate, { key: P256, cn: 'der.example.com', freshKey: true });
      await writeFile(path('der-leaf.pem'), b.pem);
      await writeFile(path('der-key.pem'), b.keyPem);
      openssl(['x509', '-in', path('der-leaf.pem'), '-outform', 'DER', '-out', path('leaf.der')]);
      openssl(['ec', '-in', path('der-key.pem'), '-outform', 'DER', '-out', path('key.der')]);
      const chainDer = Buffer.concat(
        [ec.intermediate.pem, ec.root.pem].map((pem) => openssl(['x509', '-outform', 'DER'], Buffer.from(pem))),
      );
      await writeFile(path('chain.der'), chainDer);
      const row = JSON.parse(
        await ok([
          'cert',
          'import',
          '--name',
          'der',
          '--cert',
          path('leaf.der'),
          '--key',
          path('key.der'),
          '--chain',
          path('chain.der'),
          '--json',
        ]),
      ) as { certificateNo: number; hasPrivateKey: boolean };
      assert.equal(row.hasPrivateKey, true);
    });

    it('refuses bad PKCS#12 and DER files with one clear line, and stores nothing', async () => {
      const good = path('good.p12');
      openssl([
        'pkcs12',
        '-export',
        '-in',
        path('ec-cert.pem'),
        '-inkey',
        path('ec-key.pem'),
        '-passout',
        `file:${path('pass.txt')}`,
        '-out',
        good,
      ]);
      const goodBytes = openssl(['base64', '-A', '-in', good]);
      const bytes = Buffer.from(goodBytes.toString(), 'base64');
      await writeFile(path('truncated.p12'), bytes.subarray(0, bytes.length - 50));
      await writeFile(path('nul.p12'), Buffer.alloc(1000));
      await writeFile(path('big.p12'), Buffer.alloc(600 * 1024, 0x30));
      await writeFile(path('wrong.txt'), 'not the passphrase\n');
      openssl([
        'pkcs12',
        '-export',
        '-nocerts',
        '-inkey',
        path('ec-key.pem'),
        '-passout',
        `file:${path('pass.txt')}`,
        '-out',
        path('nocert.p12'),
      ]);
      openssl(['pkey', '-in', path('ec-key.pem'), '-outform', 'DER', '-out', path('ec-key.der')]);
      await writeFile(path('nul.der'), Buffer.alloc(500));
      const pass = ['--passphrase-file', path('pass.txt')];
      const cases: Array<[string[], number, RegExp]> = [
        [
          ['--p12', good, '--passphrase-file', path('wrong.txt')],
          1,
          /passphrase does not open this PKCS#12 file.*\(invalid_argument, passphrase\)/,
        ],
        [['--p12', path('truncated.p12'), ...pass], 1, /damaged or is not a PKCS#12.*\(invalid_argument, pkcs12\)/],
        [['--p12', path('nul.p12'), ...pass], 1, /damaged or is not a PKCS#12/],
        [
          ['--p12', path('big.p12'), ...pass],
          1,
          /The PKCS#12 file is 614400 bytes; the limit is 524288 bytes\. \(input_too_large, pkcs12\)/,
        ],
        [['--p12', path('nocert.p12'), ...pass], 1, /holds no certificate\. .*\(certificate_missing, pkcs12\)/],
        [['--p12', good], 2, /--p12 needs its passphrase/],
        [['--p12', good, '--cert', path('ec-cert.pem'), ...pass], 2, /--p12 FILE, or --cert FILE/],
        [
          ['--cert', path('ec-key.der')],
          1,
          /DER of a private key, not a certificate\. \(certificate_invalid, certificate\)/,
        ],
        [['--cert', good], 1, /PKCS#12.*--p12 FILE/],
        [['--cert', path('nul.der')], 1, /binary data.*\(pem_malformed, certificate\)/],
        [['--cert', path('ec-cert.pem'), '--key', path('nul.der')], 1, /\(pem_malformed, privateKey\)/],
      ];
      const certificates = await countRows(loc, 'certificates');
      const refusals = async () =>
        rawQuery(
          loc,
          `select detail from audit_events where action = 'certificate.import' and result = 'failure' and target = 'certificate-name:bad' order by id`,
        );
      for (const [args, code, message] of cases) {
        const audited = (await refusals()).length;
        const result = await cli(['cert', 'import', '--name', 'bad', ...args]);
        assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, message);
        assert.equal(result.stderr.split('\n').filter(Boolean).length, code === 2 ? 2 : 1);
        assert.ok(!result.stderr.includes(PASS));
        // A file core refuses (converted inside the audited import) is audited with its code only;
        // usage errors and a file too large to read are refused before core.
        const events = await refusals();
        const expected = code === 1 && !/input_too_large/.test(message.source) ? 1 : 0;
        assert.equal(events.length - audited, expected, `${args.join(' ')}: audited`);
        if (expected) assert.doesNotMatch(JSON.stringify(events.at(-1)), new RegExp(`${PASS}|MII`));
      }
      assert.equal(await countRows(loc, 'certificates'), certificates, 'nothing stored');
    });
  });
}
