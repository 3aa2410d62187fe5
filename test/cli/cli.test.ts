/**
 * The CLI as an operator uses it: the DESIGN.md command set, `--json` shapes others rely on,
 * readable tables, exit codes (0 ok, 1 failed, 2 usage) and one clear line on error.
 * Runs `run()` in-process against a temp data directory (SQLite), the same code `certkeeper` runs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/run.ts';
import { mintBundle, mintLeaf, type Bundle } from '../helpers/pki.ts';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let dataDir: string;
let bundle: Bundle;

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    env: { CERTKEEPER_DATA_DIR: dataDir, CERTKEEPER_LOG_LEVEL: 'silent', ...env },
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  return { code, stdout, stderr };
}

async function ok(args: string[]): Promise<string> {
  const result = await cli(args);
  assert.equal(result.code, 0, `certkeeper ${args.join(' ')} failed: ${result.stderr}`);
  assert.equal(result.stderr, '');
  return result.stdout;
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'certkeeper-cli-'));
  bundle = await mintBundle();
  await writeFile(join(dataDir, 'cert.pem'), bundle.leaf.pem);
  await writeFile(join(dataDir, 'key.pem'), bundle.leaf.keyPem);
  await writeFile(join(dataDir, 'chain.pem'), bundle.chainPem);
  await writeFile(join(dataDir, 'full.pem'), bundle.leaf.pem + bundle.chainPem);
});

after(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('certkeeper CLI', () => {
  it('prints usage for --help (exit 0) and for nothing (exit 2)', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /credential create --tenant NAME --role ADMIN\|VIEWER/);
    assert.equal((await cli([])).code, 2);
  });

  it('refuses unknown commands and flags with exit 2 and one line', async () => {
    const unknown = await cli(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^certkeeper: unknown command 'frobnicate'\n/);
    const flag = await cli(['tenant', 'list', '--bogus']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /bogus/);
  });

  it('names the bad variable when the configuration is wrong (exit 1)', async () => {
    const result = await cli(['tenant', 'list'], { CERTKEEPER_PORT: 'eighty' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /CERTKEEPER_PORT/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  });

  it('warns on stderr of a deprecated variable, as serve logs it, and keeps stdout for the output', async () => {
    const dcv = {
      CERTKEEPER_DCV_ZONE: 'dcv.example.test',
      CERTKEEPER_DCV_DNS_SERVER: '127.0.0.1:53',
      CERTKEEPER_DCV_TSIG_KEY: 'hmac-sha256:certkeeper-dcv:c2VjcmV0c2VjcmV0c2VjcmV0',
    };
    const old = await cli(['tenant', 'list', '--json'], { ...dcv, CERTKEEPER_DCV_VALIDATION_WINDOW: '600' });
    assert.equal(old.code, 0, old.stderr);
    assert.equal(
      old.stderr,
      'certkeeper: warning: CERTKEEPER_DCV_VALIDATION_WINDOW is deprecated: set CERTKEEPER_DCV_WINDOW_SECONDS (the same number of seconds) instead\n',
    );
    assert.ok(Array.isArray(JSON.parse(old.stdout)), 'stdout is still the command output alone');
    const current = await cli(['tenant', 'list', '--json'], { ...dcv, CERTKEEPER_DCV_WINDOW_SECONDS: '600' });
    assert.equal(current.code, 0, current.stderr);
    assert.equal(current.stderr, '');
  });

  it('creates and lists tenants with the documented --json shapes', async () => {
    const created = JSON.parse(await ok(['tenant', 'create', 'acme', '--json'])) as Record<string, unknown>;
    assert.deepEqual(Object.keys(created).sort(), ['appKey', 'memberNo', 'name']);
    assert.equal(created.name, 'acme');
    assert.match(created.memberNo as string, /^\d{7}$/);
    const listed = JSON.parse(await ok(['tenant', 'list', '--json'])) as Array<Record<string, unknown>>;
    assert.deepEqual(
      listed.map((t) => t.name),
      ['acme'],
    );
    assert.match(await ok(['tenant', 'list']), /^NAME\s+MEMBERNO\s+APPKEY\nacme\s+\d{7}\s+\S{16}\n$/);
    const duplicate = await cli(['tenant', 'create', 'acme']);
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, /already exists\. \(already_exists, tenant\)/);
  });

  it('creates credentials (secret once), lists them without secrets, revokes them', async () => {
    const created = JSON.parse(
      await ok(['credential', 'create', '--tenant', 'acme', '--role', 'VIEWER', '--json']),
    ) as Record<string, string>;
    assert.deepEqual(Object.keys(created).sort(), ['accessKey', 'role', 'secretKey', 'tenant']);
    assert.equal(created.role, 'VIEWER');
    assert.equal(created.tenant, 'acme');
    const list = await ok(['credential', 'list', '--tenant', 'acme', '--json']);
    assert.ok(!list.includes(created.secretKey as string), 'credential list leaks the secret');
    assert.match(list, new RegExp(created.accessKey as string));
    await ok(['credential', 'revoke', created.accessKey as string]);
    const after = JSON.parse(await ok(['credential', 'list', '--tenant', 'acme', '--json'])) as Array<{
      revokedAt: string | null;
    }>;
    assert.ok(after[0]?.revokedAt);
    assert.equal((await cli(['credential', 'create', '--tenant', 'acme', '--role', 'ROOT'])).code, 2);
    assert.equal((await cli(['credential', 'revoke', 'NOSUCHKEY'])).code, 1);
  });

  it('imports, lists, shows, exports and deletes a certificate', async () => {
    const imported = JSON.parse(
      await ok([
        'cert',
        'import',
        '--tenant',
        'acme',
        '--name',
        'www',
        '--cert',
        join(dataDir, 'cert.pem'),
        '--key',
        join(dataDir, 'key.pem'),
        '--chain',
        join(dataDir, 'chain.pem'),
        '--json',
      ]),
    ) as { certificateNo: number; status: string; hasPrivateKey: boolean };
    assert.equal(imported.status, 'VALID');
    assert.equal(imported.hasPrivateKey, true);
    const no = String(imported.certificateNo);

    const listed = JSON.parse(await ok(['cert', 'list', '--tenant', 'acme', '--json'])) as {
      total: number;
      items: Array<{ name: string }>;
    };
    assert.equal(listed.total, 1);
    assert.equal(listed.items[0]?.name, 'www');
    assert.match(await ok(['cert', 'list', '--tenant', 'acme']), /Page 1 of 1: certificates 1-1 of 1 in all\.\n$/);

    const shown = JSON.parse(await ok(['cert', 'show', '--tenant', 'acme', no, '--json'])) as {
      facts: { commonName: string };
      chainLength: number;
    };
    assert.equal(shown.facts.commonName, 'www.example.com');
    assert.equal(shown.chainLength, 2);

    const out = join(dataDir, 'export');
    await ok(['cert', 'export', '--tenant', 'acme', no, '--out', out, '--key']);
    assert.equal(await readFile(join(out, 'cert.pem'), 'utf8'), bundle.leaf.pem);
    assert.equal(await readFile(join(out, 'fullchain.pem'), 'utf8'), bundle.leaf.pem + bundle.intermediate.pem);
    assert.equal(
      await readFile(join(out, 'chain.pem'), 'utf8'),
      bundle.chainPem,
      'the chain as supplied, root included',
    );
    assert.match(await readFile(join(out, 'privkey.pem'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    assert.equal((await stat(join(out, 'privkey.pem'))).mode & 0o777, 0o600);
    const withoutKey = JSON.parse(await ok(['cert', 'export', '--tenant', 'acme', no, '--json'])) as {
      privateKey: string | null;
    };
    assert.equal(withoutKey.privateKey, null);

    await ok(['cert', 'delete', '--tenant', 'acme', no]);
    const gone = await cli(['cert', 'show', '--tenant', 'acme', no]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /not_found/);
  });

  it('refuses a bad import with the ladder message on one line, and writes nothing', async () => {
    const result = await cli([
      'cert',
      'import',
      '--tenant',
      'acme',
      '--name',
      'chainy',
      '--cert',
      join(dataDir, 'full.pem'),
      '--key',
      join(dataDir, 'key.pem'),
    ]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^certkeeper: The certificate field holds 3 certificates; it looks like a full chain was pasted\..*\(certificate_multiple, certificate\)\n$/,
    );
    const missing = await cli([
      'cert',
      'import',
      '--tenant',
      'acme',
      '--name',
      'x',
      '--cert',
      join(dataDir, 'nope.pem'),
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Cannot read the certificate file .*ENOENT/);
    const listed = JSON.parse(await ok(['cert', 'list', '--tenant', 'acme', '--json'])) as { total: number };
    assert.equal(listed.total, 0);
  });

  it('rotates the master key and still opens the data afterwards', async () => {
    const rotated = JSON.parse(await ok(['master-key', 'rotate', '--json'])) as { rewrapped: number };
    assert.ok(rotated.rewrapped >= 1);
    assert.match(await ok(['tenant', 'list']), /acme/);
    // The human form ends its last line, so the shell prompt starts on a line of its own.
    const human = await ok(['master-key', 'rotate']);
    assert.match(
      human,
      /^Re-wrapped \d+ data key\(s\)\.\nEvery data key is now wrapped by the new master key[^\n]*\.\n$/,
    );
  });

  it('shows IP SANs beside DNS SANs', async () => {
    await ok(['tenant', 'create', 'ips']);
    const leaf = await mintLeaf(bundle.intermediate, {
      cn: 'svc.example.com',
      sans: { dns: ['svc.example.com'], ip: ['192.0.2.7', '2001:db8::1'] },
    });
    await writeFile(join(dataDir, 'ip.pem'), leaf.pem);
    const imported = JSON.parse(
      await ok([
        'cert',
        'import',
        '--tenant',
        'ips',
        '--name',
        'svc',
        '--cert',
        join(dataDir, 'ip.pem'),
        '--chain',
        join(dataDir, 'chain.pem'),
        '--json',
      ]),
    ) as { certificateNo: number };
    const shown = await ok(['cert', 'show', '--tenant', 'ips', String(imported.certificateNo)]);
    assert.match(shown, /^sans +svc\.example\.com$/m);
    assert.match(shown, /^ipSans +192\.0\.2\.7,2001:db8::1$/m);
  });

  it('searches: --covers (wildcard one label up, IPs), --zone, --contains, --expires-within, --sort, --after', async () => {
    await ok(['tenant', 'create', 'finder']);
    const specs = [
      { name: 'wild-api', cn: '*.api.example.com', days: 10 },
      { name: 'payments', cn: 'pay.example.com', days: 60 },
      { name: 'shop', cn: 'shop.example.org', days: 5, ip: ['192.0.2.9'] },
    ];
    for (const spec of specs) {
      const leaf = await mintLeaf(bundle.intermediate, {
        cn: spec.cn,
        sans: { dns: [spec.cn], ...(spec.ip ? { ip: spec.ip } : {}) },
        notAfter: new Date(Date.now() + spec.days * 86_400_000),
        freshKey: true,
      });
      await writeFile(join(dataDir, `${spec.name}.pem`), leaf.pem);
      await ok([
        'cert',
        'import',
        '--tenant',
        'finder',
        '--name',
        spec.name,
        '--cert',
        join(dataDir, `${spec.name}.pem`),
        '--chain',
        join(dataDir, 'chain.pem'),
      ]);
    }
    const names = async (...args: string[]) =>
      (
        JSON.parse(await ok(['cert', 'list', '--tenant', 'finder', '--json', ...args])) as {
          items: Array<{ name: string }>;
        }
      ).items.map((c) => c.name);
    assert.deepEqual(await names('--covers', 'foo.api.example.com'), ['wild-api']);
    assert.deepEqual(await names('--covers', 'a.b.api.example.com'), []);
    assert.deepEqual(await names('--covers', '192.0.2.9'), ['shop']);
    assert.deepEqual(await names('--zone', 'example.com', '--sort', 'name'), ['payments', 'wild-api']);
    assert.deepEqual(await names('--contains', 'PAY'), ['payments']);
    assert.deepEqual(await names('--expires-within', '14d', '--sort', 'notAfter'), ['shop', 'wild-api']);
    assert.deepEqual(await names('--expires-within', '14d', '--sort', 'notAfter', '--desc'), ['wild-api', 'shop']);
    // Keyset: one a page, following `next`.
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page = JSON.parse(
        await ok([
          'cert',
          'list',
          '--tenant',
          'finder',
          '--json',
          '--sort',
          'name',
          '--page-size',
          '1',
          ...(after ? ['--after', after] : []),
        ]),
      ) as { items: Array<{ name: string }>; next: string | null };
      seen.push(...page.items.map((c) => c.name));
      after = page.next;
    } while (after);
    assert.deepEqual(seen, ['payments', 'shop', 'wild-api']);
    const human = await ok(['cert', 'list', '--tenant', 'finder', '--zone', '*.example.com']);
    assert.match(human, /of 2 in all/);
    // Bad input: one line, exit 1 (core's refusal) or 2 (usage), never a stack trace.
    for (const [args, code, pattern] of [
      [
        ['--covers', 'a.*.example.com'],
        1,
        /wildcard that is not the whole first label .*\(invalid_argument, coversHost\)/,
      ],
      [['--contains', 'ab'], 1, /at least 3 characters/],
      [['--ip', '1.2.3'], 1, /not an IPv4 or IPv6 address/],
      [['--zone', `${'abcdefghi.'.repeat(26)}com`], 1, /longer than 253/],
      [['--sort', 'colour'], 2, /--sort takes certificateNo, name, notAfter, createdAt/],
      [['--expires-within', 'soon'], 2, /--expires-within takes a number of days/],
      [['--after', 'bogus!'], 1, /cursor/],
      [['--all', '--after', 'x'], 2, /one of --page, --all and --after/],
    ] as const) {
      const result = await cli(['cert', 'list', '--tenant', 'finder', ...args]);
      assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, pattern);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    }
  });

  it('pages cert list (--page, --all) and refuses --page-size over the cap', async () => {
    await ok(['tenant', 'create', 'many']);
    for (let i = 1; i <= 7; i += 1) {
      const leaf = await mintLeaf(bundle.intermediate, { cn: `h${i}.example.com`, freshKey: true });
      await writeFile(join(dataDir, `h${i}.pem`), leaf.pem);
      await ok([
        'cert',
        'import',
        '--tenant',
        'many',
        '--name',
        `h${i}`,
        '--cert',
        join(dataDir, `h${i}.pem`),
        '--chain',
        join(dataDir, 'chain.pem'),
      ]);
    }
    const names = (text: string) => [...text.matchAll(/^\d+ +h(\d) /gm)].map((m) => Number(m[1]));
    const first = await ok(['cert', 'list', '--tenant', 'many', '--page-size', '3']);
    assert.deepEqual(names(first), [1, 2, 3]);
    assert.match(first, /Page 1 of 3: certificates 1-3 of 7 in all\. Next: --page 2 \(or --all\)\.\n$/);
    const last = await ok(['cert', 'list', '--tenant', 'many', '--page-size', '3', '--page', '3']);
    assert.deepEqual(names(last), [7]);
    assert.match(last, /Page 3 of 3: certificates 7-7 of 7 in all\.\n$/);
    const past = await ok(['cert', 'list', '--tenant', 'many', '--page-size', '3', '--page', '9']);
    assert.match(past, /Page 9 is past the end: 7 certificate\(s\) in 3 page\(s\) of 3\.\n$/);
    const all = JSON.parse(await ok(['cert', 'list', '--tenant', 'many', '--all', '--page-size', '2', '--json'])) as {
      total: number;
      items: Array<{ name: string }>;
    };
    assert.equal(all.total, 7);
    assert.deepEqual(
      all.items.map((c) => c.name),
      ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7'],
    );
    const tooBig = await cli(['cert', 'list', '--tenant', 'many', '--page-size', '5000']);
    assert.equal(tooBig.code, 2);
    assert.match(tooBig.stderr, /^certkeeper: --page-size is at most 1000; use --page N to page through, or --all/);
    const both = await cli(['cert', 'list', '--tenant', 'many', '--all', '--page', '2']);
    assert.equal(both.code, 2);
  });
});
