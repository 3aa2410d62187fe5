/**
 * The deployment targets' moving parts, for real: argv splitting (no shell), target validation,
 * atomic file replacement (a reader never finds the files missing or torn), the reload command
 * runner (exit codes, timeout killing the process group, secrets kept out of its environment,
 * no shell), and the webhook (HMAC signature a receiver can check, failures retried with
 * exponential backoff by the worker, redirects not followed).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { joinCommand, splitCommand } from '../../src/core/deploy/argv.ts';
import { deployableCertificate } from '../../src/core/deploy/eligibility.ts';
import { deployTargetSpec } from '../../src/core/deploy/target-spec.ts';
import { commitFiles } from '../../src/deployers/atomic-files.ts';
import { runCommand } from '../../src/deployers/run-command.ts';
import { AppError } from '../../src/domain/errors.ts';
import { storeTargets } from '../helpers/db.ts';
import { mintLeaf, mintRoot } from '../helpers/pki.ts';
import { provisioningWorld } from './provisioning-setup.ts';

const NODE = process.execPath;

describe('reload command: argv without a shell', () => {
  const cases: Array<[string, string[]]> = [
    ['nginx -s reload', ['nginx', '-s', 'reload']],
    ['  nginx   -p /tmp/x\t-c /tmp/x/nginx.conf  ', ['nginx', '-p', '/tmp/x', '-c', '/tmp/x/nginx.conf']],
    [`"/opt/my tools/reload" 'a b' c\\ d`, ['/opt/my tools/reload', 'a b', 'c d']],
    [`echo "say \\"hi\\"" 'it''s'`, ['echo', 'say "hi"', 'its']],
    [`systemctl reload 'nginx;rm -rf /'`, ['systemctl', 'reload', 'nginx;rm -rf /']],
    [`x "" y`, ['x', '', 'y']],
  ];
  for (const [line, argv] of cases) {
    it(`splits ${JSON.stringify(line)}`, () => {
      assert.deepEqual(splitCommand(line), argv);
      assert.deepEqual(splitCommand(joinCommand(argv)), argv, 'joinCommand round-trips');
    });
  }
  for (const line of [
    'nginx -s reload; rm -rf /',
    'a && b',
    'a | b',
    'echo $HOME',
    'echo `id`',
    'a > /etc/passwd',
    'ls *.pem',
    '"unterminated',
    "'open",
    'trailing\\',
    '',
    '   ',
    'a\nb',
    'x\u0000y',
  ]) {
    it(`refuses ${JSON.stringify(line)}`, () => {
      assert.throws(
        () => splitCommand(line),
        (e: unknown) => e instanceof AppError && e.code === 'invalid_argument' && e.field === 'reloadCommand',
      );
    });
  }
});

describe('target validation', () => {
  const bad: Array<[Parameters<typeof deployTargetSpec>[0], RegExp]> = [
    [{ kind: 'directory', path: 'relative/dir' }, /absolute/],
    [{ kind: 'directory', path: '' }, /--path/],
    [{ kind: 'directory', path: '/srv/certs', reloadTimeoutMs: 500 }, /1 s to 600 s/],
    [{ kind: 'directory', path: '/srv/certs', reloadTimeoutMs: 601_000 }, /1 s to 600 s/],
    [{ kind: 'directory', path: '/srv/certs', reloadCommand: 'nginx -s reload && echo' }, /shell/],
    [{ kind: 'webhook', url: 'http://example.com/hook' }, /loopback/],
    [{ kind: 'webhook', url: 'http://10.0.0.1/hook' }, /loopback/],
    [{ kind: 'webhook', url: 'ftp://example.com/hook' }, /https/],
    [{ kind: 'webhook', url: 'https://user:pw@example.com/hook' }, /password/],
    [{ kind: 'webhook', url: 'not a url' }, /absolute URL/],
    [{ kind: 'webhook', url: `https://example.com/${'x'.repeat(3000)}` }, /2048/],
  ];
  for (const [input, message] of bad) {
    it(`refuses ${JSON.stringify(input).slice(0, 90)}`, () => {
      assert.throws(
        () => deployTargetSpec(input),
        (e: unknown) => e instanceof AppError && e.code === 'invalid_argument' && message.test(e.message),
      );
    });
  }
  it('accepts https anywhere and http to loopback; normalises the path; defaults the timeout', () => {
    assert.deepEqual(deployTargetSpec({ kind: 'webhook', url: 'https://hooks.example.com/certs' }), {
      kind: 'webhook',
      url: 'https://hooks.example.com/certs',
    });
    for (const url of ['http://127.0.0.1:9000/h', 'http://localhost/h', 'http://[::1]:8080/h', 'http://127.8.9.10/h'])
      assert.equal(deployTargetSpec({ kind: 'webhook', url }).kind, 'webhook');
    assert.deepEqual(deployTargetSpec({ kind: 'directory', path: '/srv//certs/' }), {
      kind: 'directory',
      path: '/srv/certs',
      reloadCommand: null,
      reloadTimeoutMs: 10_000,
    });
  });
});

describe('atomic file replacement', () => {
  it('a reader polling during 200 replacements never finds a file missing or torn; modes are exact; no temp file stays', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'certkeeper-atomic-'));
    try {
      const versions = Array.from({ length: 200 }, (_, i) => `version-${i}-`.padEnd(20_000, String(i % 10)));
      await commitFiles(dir, [{ name: 'privkey.pem', content: versions[0]!, mode: 0o600 }]);
      let reading = true;
      let reads = 0;
      const reader = (async () => {
        while (reading) {
          const text = await readFile(join(dir, 'privkey.pem'), 'utf8');
          assert.ok(versions.includes(text), 'a whole version, never a partial write');
          reads += 1;
        }
      })();
      for (const version of versions) await commitFiles(dir, [{ name: 'privkey.pem', content: version, mode: 0o600 }]);
      reading = false;
      await reader;
      assert.ok(reads > 10, `the reader read ${reads} times`);
      assert.equal((await stat(join(dir, 'privkey.pem'))).mode & 0o777, 0o600);
      const { readdir } = await import('node:fs/promises');
      assert.deepEqual(await readdir(dir), ['privkey.pem']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('reload command runner', () => {
  it('succeeds on exit 0 and passes the extra environment, without certkeeper secrets', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'certkeeper-run-'));
    const out = join(dir, 'env.json');
    const saved = { db: process.env.DATABASE_URL, key: process.env.CERTKEEPER_MASTER_KEY };
    process.env.DATABASE_URL = 'postgres://secret@db/x';
    process.env.CERTKEEPER_MASTER_KEY = 'c2VjcmV0';
    try {
      await runCommand(
        [NODE, '-e', `require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.env))`],
        { timeoutMs: 10_000, extraEnv: { CERTKEEPER_SLOT_ID: '7' } },
      );
      const env = JSON.parse(await readFile(out, 'utf8')) as Record<string, string>;
      assert.equal(env.CERTKEEPER_SLOT_ID, '7');
      assert.equal(env.DATABASE_URL, undefined);
      assert.equal(env.CERTKEEPER_MASTER_KEY, undefined);
    } finally {
      if (saved.db === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved.db;
      if (saved.key === undefined) delete process.env.CERTKEEPER_MASTER_KEY;
      else process.env.CERTKEEPER_MASTER_KEY = saved.key;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a non-zero exit with the tail of its output, and a command that cannot start', async () => {
    await assert.rejects(
      runCommand([NODE, '-e', 'console.error("nginx: [emerg] bad config"); process.exit(3)'], { timeoutMs: 10_000 }),
      /exited with code 3\. Output: nginx: \[emerg\] bad config/,
    );
    await assert.rejects(
      runCommand(['/nonexistent/reload-cmd'], { timeoutMs: 10_000 }),
      /could not be started \(ENOENT\)/,
    );
  });

  it('kills the whole process group on timeout (a forked grandchild too)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'certkeeper-run-'));
    const marker = join(dir, 'grandchild-survived');
    try {
      // The child forks a grandchild that would write the marker after 1.5 s, then both sleep.
      const script = `const { spawn } = require('child_process'); spawn(process.execPath, ['-e', "setTimeout(() => require('fs').writeFileSync(${JSON.stringify(marker).replaceAll('"', '\\"')}, 'x'), 1500)"], { stdio: 'ignore' }); setTimeout(() => {}, 60000);`;
      const started = Date.now();
      await assert.rejects(runCommand([NODE, '-e', script], { timeoutMs: 1_000 }), /timed out after 1 s/);
      assert.ok(Date.now() - started < 5_000);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.equal(existsSync(marker), false, 'the grandchild was killed with the group');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs no shell: metacharacters in arguments stay literal', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'certkeeper-run-'));
    try {
      const evil = join(dir, 'pwned');
      const out = join(dir, 'argv.json');
      await runCommand(
        [
          NODE,
          '-e',
          `require('fs').writeFileSync(process.argv[1], JSON.stringify(process.argv.slice(2)))`,
          out,
          `$(touch ${evil})`,
          `; touch ${evil}`,
        ],
        { timeoutMs: 10_000 },
      );
      assert.deepEqual(JSON.parse(await readFile(out, 'utf8')), [`$(touch ${evil})`, `; touch ${evil}`]);
      assert.equal(existsSync(evil), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

async function hookServer(respond: (index: number) => { status: number; headers?: Record<string, string> }) {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = respond(received.length - 1);
      response.writeHead(answer.status, answer.headers ?? {}).end(answer.status >= 300 ? 'receiver says no' : 'ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

for (const target of storeTargets) {
  describe(`webhook target on ${target.name}`, { skip: target.skip }, () => {
    it('POSTs a signed bundle; a 500 is retried with exponential backoff; a redirect is a failure; delete sends slot.delete', async () => {
      const statuses = [500, 500, 302, 200, 204];
      const hook = await hookServer((i) => ({
        status: statuses[i] ?? 200,
        ...(statuses[i] === 302 ? { headers: { location: 'https://elsewhere.example/' } } : {}),
      }));
      const w = await provisioningWorld(target);
      try {
        const { secret } = await w.core.targets.set(w.admin, { kind: 'webhook', url: hook.url });
        assert.match(secret ?? '', /^[A-Za-z0-9_-]{43}$/);
        const slotId = await w.provision(w.certificates.ec);
        const worker = w.worker();
        const t0 = w.clock.now().getTime();
        assert.equal((await worker.runOnce()).failed, 1);
        let slot = (await w.core.provisioning.get(w.admin, slotId)).slot;
        assert.equal(slot.status, 'PUBLISHING');
        assert.match(slot.deployment.lastError ?? '', /answered HTTP 500: receiver says no/);
        const delays = [5_000, 10_000];
        let at = t0;
        for (const delay of delays) {
          at += delay;
          w.clock.set(new Date(at - 1));
          assert.equal((await worker.runOnce()).claimed, 0);
          w.clock.set(new Date(at));
          assert.equal((await worker.runOnce()).failed, 1);
        }
        slot = (await w.core.provisioning.get(w.admin, slotId)).slot;
        assert.match(slot.deployment.lastError ?? '', /answered HTTP 302/, 'redirects are not followed');
        assert.equal(slot.deployment.attempts, 3);
        w.clock.set(new Date(at + 20_000));
        assert.equal((await worker.runOnce()).published, 1);
        assert.equal((await w.core.provisioning.get(w.admin, slotId)).slot.status, 'RUNNING');

        assert.equal(hook.received.length, 4);
        const last = hook.received[3]!;
        const timestamp = String(last.headers['x-certkeeper-timestamp']);
        assert.equal(timestamp, String(at + 20_000), 'the timestamp is the injected clock');
        const expected = `v1=${createHmac('sha256', secret!).update(`${timestamp}.${last.body}`).digest('hex')}`;
        assert.equal(
          last.headers['x-certkeeper-signature'],
          expected,
          'the receiver can verify with the printed secret',
        );
        assert.equal(last.headers['x-certkeeper-event'], 'slot.publish');
        assert.equal(last.headers['x-certkeeper-delivery'], `${slotId}-1`);
        assert.equal(
          new Set(hook.received.map((r) => r.headers['x-certkeeper-delivery'])).size,
          1,
          'retries share the delivery id',
        );
        const body = JSON.parse(last.body) as Record<string, unknown>;
        assert.deepEqual(Object.keys(body), [
          'event',
          'slotId',
          'generation',
          'serviceRegion',
          'tlsVersion',
          'tlsProtocols',
          'cipherProfile',
          'certificateNo',
          'certificateName',
          'commonName',
          'domains',
          'notBefore',
          'notAfter',
          'fingerprintSha256',
          'certificate',
          'chain',
          'fullchain',
          'privkey',
          'globalCertificates',
        ]);
        assert.equal(body.slotId, slotId);
        assert.deepEqual(body.tlsProtocols, ['1.2', '1.3']);
        assert.match(body.privkey as string, /^-----BEGIN PRIVATE KEY-----/);

        await w.core.provisioning.delete(w.admin, slotId);
        assert.equal((await worker.runOnce()).removed, 1);
        const removal = hook.received[4]!;
        assert.equal(removal.headers['x-certkeeper-event'], 'slot.delete');
        assert.deepEqual(JSON.parse(removal.body), { event: 'slot.delete', slotId, generation: 2 });
        // The secret is at rest sealed, never in clear.
        const stored = await w.store.targets.get(w.admin.tenantId);
        assert.ok(stored?.sealedSecret);
        assert.equal(stored.sealedSecret.blob.includes(Buffer.from(secret!)), false);
      } finally {
        await w.close();
        await hook.close();
      }
    });

    it('a KR_JP_GLOBAL slot sends its Global Edge Dedicated certificate, with its key, in globalCertificates', async () => {
      const hook = await hookServer(() => ({ status: 200 }));
      const w = await provisioningWorld(target);
      try {
        await w.core.targets.set(w.admin, { kind: 'webhook', url: hook.url });
        const root = await mintRoot({ cn: 'Webhook GED Root', freshKey: true });
        const leaf = await mintLeaf(root, {
          cn: 'ged.example.com',
          sans: { dns: ['ged.example.com'] },
          freshKey: true,
          notBefore: new Date('2026-01-01T00:00:00Z'),
          notAfter: new Date('2028-01-01T00:00:00Z'),
        });
        const ged = await w.core.certificates.import(
          w.admin,
          { name: 'ged', certificate: leaf.pem, privateKey: leaf.keyPem, chain: root.pem },
          {
            origin: 'acme',
            policy: { requireKey: true, allowEd25519: false, nameRule: null },
            type: 'NCP_GLOBAL_EDGE_DEDICATED',
          },
        );
        const slot = await w.core.provisioning.provision(w.admin, {
          serviceRegion: 'KR_JP_GLOBAL',
          certificateNos: [w.certificates.ec, ged.certificateNo],
          tlsVersion: 'TLS_MIN_VERSION_1_2',
          cipherProfile: 'DEFAULT',
        });
        assert.equal((await w.worker().runOnce()).published, 1);
        const body = JSON.parse(hook.received[0]!.body) as {
          certificateNo: number;
          serviceRegion: string;
          globalCertificates: Array<Record<string, unknown>>;
        };
        assert.deepEqual([body.certificateNo, body.serviceRegion], [w.certificates.ec, 'KR_JP_GLOBAL']);
        assert.equal(body.globalCertificates.length, 1);
        const global = body.globalCertificates[0]!;
        assert.deepEqual(
          [global.itemId, global.certificateNo, global.certificateName, global.commonName],
          [slot.items.find((item) => item.region === 'GLOBAL')!.itemId, ged.certificateNo, 'ged', 'ged.example.com'],
        );
        assert.equal(global.certificate, leaf.pem);
        assert.equal(global.privkey, leaf.keyPem);
        assert.ok((global.fullchain as string).startsWith(leaf.pem));
      } finally {
        await w.close();
        await hook.close();
      }
    });
  });
}

describe('eligibility: which certificates a slot may publish', () => {
  const NOW = new Date('2027-01-15T00:00:00Z');
  const base = {
    certificateNo: 5,
    tenantId: 1,
    name: 'www',
    hasPrivateKey: true,
    revokedAt: null as Date | null,
    deletedAt: null as Date | null,
    facts: { notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2028-01-01T00:00:00Z') },
  };
  const storeWith = (certificate: unknown) =>
    ({ certificates: { get: async () => certificate } }) as unknown as Parameters<typeof deployableCertificate>[0];
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['missing', null, 'not_found', /No certificate number 5\./],
    ['deleted', { ...base, deletedAt: NOW }, 'not_found', /No certificate number 5\./],
    ['revoked', { ...base, revokedAt: NOW }, 'invalid_argument', /is revoked/],
    [
      'expired',
      { ...base, facts: { ...base.facts, notAfter: new Date('2027-01-01T00:00:00Z') } },
      'certificate_expired',
      /expired at 2027-01-01T00:00:00\.000Z/,
    ],
    [
      'not yet valid',
      { ...base, facts: { ...base.facts, notBefore: new Date('2027-02-01T00:00:00Z') } },
      'certificate_not_yet_valid',
      /not valid before/,
    ],
    ['keyless', { ...base, hasPrivateKey: false }, 'key_missing', /no private key/],
  ];
  for (const [name, certificate, code, message] of cases) {
    it(`refuses a ${name} certificate (${code})`, async () => {
      await assert.rejects(
        deployableCertificate(storeWith(certificate), 1, 5, NOW, 'certificateNos'),
        (e: unknown) =>
          e instanceof AppError && e.code === code && message.test(e.message) && e.field === 'certificateNos',
      );
    });
  }
  it('accepts a valid one with its key', async () => {
    assert.equal((await deployableCertificate(storeWith(base), 1, 5, NOW, 'certificateNos')).certificateNo, 5);
  });
});
