/**
 * `certkeeper target …` as an operator uses it: set (directory with a relative path and a quoted
 * reload command; webhook with its secret printed once), show, clear (refused while slots are
 * live), and the refusals: usage errors exit 2, bad values exit 1 with one clear line. Runs `run()`
 * in-process against a temp data directory, the same code the `certkeeper` binary runs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/run.ts';
import { parseDuration } from '../../src/cli/target.ts';

let dir: string;

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    env: { CERTKEEPER_DATA_DIR: join(dir, 'data'), CERTKEEPER_LOG_LEVEL: 'silent' },
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  return { code, stdout, stderr };
}

describe('certkeeper target', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'certkeeper-cli-target-'));
    assert.equal((await cli(['tenant', 'create', 'default'])).code, 0);
    assert.equal((await cli(['tenant', 'create', 'acme'])).code, 0);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('show without a target', async () => {
    const human = await cli(['target', 'show']);
    assert.deepEqual([human.code, human.stdout], [0, "No deployment target is set for tenant 'default'.\n"]);
    assert.deepEqual(JSON.parse((await cli(['target', 'show', '--json'])).stdout), { tenant: 'default', kind: null });
  });

  it('set directory: the path is resolved, the reload command split without a shell and shown re-quoted', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const set = await cli([
        'target',
        'set',
        'directory',
        '--path',
        'certs',
        '--create',
        '--reload-command',
        `nginx -g 'pid /tmp/x y.pid;' -s reload`,
        '--reload-timeout',
        '2m',
        '--json',
      ]);
      assert.equal(set.code, 0, set.stderr);
      const shown = JSON.parse(set.stdout) as Record<string, unknown>;
      assert.deepEqual(
        { ...shown, updatedAt: 'x' },
        {
          tenant: 'default',
          kind: 'directory',
          path: join(dir, 'certs'),
          reloadCommand: `nginx -g 'pid /tmp/x y.pid;' -s reload`,
          reloadTimeoutMs: 120_000,
          updatedAt: 'x',
          republished: [],
        },
      );
    } finally {
      process.chdir(cwd);
    }
    const human = await cli(['target', 'show']);
    assert.match(human.stdout, /kind\s+directory\n/);
    assert.match(human.stdout, /reloadTimeoutMs\s+120000\n/);
  });

  it('set directory again: changes only what is given, keeps the rest, prints the result', async () => {
    const again = await cli(['target', 'set', 'directory', '--reload-timeout', '30s']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`path\\s+${join(dir, 'certs').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`));
    assert.match(again.stdout, /reloadCommand\s+nginx -g 'pid \/tmp\/x y\.pid;' -s reload\n/);
    assert.match(again.stdout, /reloadTimeoutMs\s+30000\n/);
    await mkdir(join(dir, 'other'));
    const moved = JSON.parse(
      (await cli(['target', 'set', 'directory', '--path', join(dir, 'other'), '--json'])).stdout,
    ) as {
      path: string;
      reloadCommand: string | null;
      reloadTimeoutMs: number;
    };
    assert.deepEqual(
      [moved.path, moved.reloadCommand, moved.reloadTimeoutMs],
      [join(dir, 'other'), `nginx -g 'pid /tmp/x y.pid;' -s reload`, 30_000],
    );
    const cleared = JSON.parse(
      (await cli(['target', 'set', 'directory', '--reload-command', '', '--json'])).stdout,
    ) as {
      reloadCommand: string | null;
    };
    assert.equal(cleared.reloadCommand, null);
  });

  it('set directory: a folder that does not exist is refused, or created with --create', async () => {
    const missing = join(dir, 'nope', 'deeper');
    const refused = await cli(['target', 'set', 'directory', '--path', missing]);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      `certkeeper: The directory ${missing} does not exist. Create it first, or ask for it to be created (--create on the command line; "Create the directory" in the console). (invalid_argument, path)\n`,
    );
    assert.equal(JSON.parse((await cli(['target', 'show', '--json'])).stdout).path, join(dir, 'other'), 'unchanged');
    const created = await cli(['target', 'set', 'directory', '--path', missing, '--create']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(
      created.stdout,
      new RegExp(`^Created the directory ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[.]\n`),
    );
    assert.equal((await stat(missing)).isDirectory(), true);
  });

  it('set webhook: the secret is printed once, never shown again', async () => {
    const set = await cli(['target', 'set', '--tenant', 'acme', 'webhook', '--url', 'https://hooks.example.com/certs']);
    assert.equal(set.code, 0, set.stderr);
    const secret = /secret\s+([A-Za-z0-9_-]{43})\n/.exec(set.stdout)?.[1];
    assert.ok(secret, set.stdout);
    assert.match(set.stdout, /shown only now/);
    const shown = await cli(['target', 'show', '--tenant', 'acme', '--json']);
    const body = JSON.parse(shown.stdout) as Record<string, unknown>;
    assert.deepEqual([body.kind, body.url, body.hasSecret], ['webhook', 'https://hooks.example.com/certs', true]);
    assert.ok(!shown.stdout.includes(secret));
  });

  it('refuses bad values (exit 1, one line) and bad usage (exit 2)', async () => {
    const bad: Array<[string[], number, RegExp]> = [
      [['target', 'set', 'webhook', '--url', 'http://example.com/hook'], 1, /loopback/],
      [
        ['target', 'set', 'directory', '--path', '/srv/c', '--reload-command', 'nginx -s reload && rm -rf /'],
        1,
        /shell/,
      ],
      [['target', 'set', 'directory', '--path', '/srv/c', '--reload-timeout', '0s'], 1, /1 s to 600 s/],
      [
        ['target', 'set', 'directory', '--path', '/srv/c', '--reload-timeout', 'soon'],
        2,
        /--reload-timeout takes a duration/,
      ],
      // acme's target is a webhook: a new kind needs its required option.
      [['target', 'set', '--tenant', 'acme', 'directory'], 2, /needs --path/],
      [['target', 'set', 'webhook'], 2, /needs --url/],
      [['target', 'set'], 2, /takes a kind/],
      [['target', 'set', 'ftp'], 2, /takes a kind/],
      [['target', 'show', '--tenant', 'nobody'], 1, /nobody/],
    ];
    for (const [args, code, message] of bad) {
      const result = await cli(args);
      assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
      assert.equal(result.stderr.trim().split('\n')[0]!.startsWith('certkeeper: '), true);
    }
  });

  it('clear', async () => {
    assert.deepEqual(JSON.parse((await cli(['target', 'clear', '--tenant', 'acme', '--json'])).stdout), {
      tenant: 'acme',
      cleared: true,
    });
    assert.equal(
      (await cli(['target', 'clear', '--tenant', 'acme'])).stdout,
      "Tenant 'acme' had no deployment target.\n",
    );
  });

  it('durations', () => {
    const usage = (m: string) => new Error(m);
    assert.deepEqual(
      ['500ms', '10s', '2m', '15'].map((t) => parseDuration(t, usage)),
      [500, 10_000, 120_000, 15_000],
    );
    for (const t of ['', '1h', '-1s', '1.5s', 'ten']) assert.throws(() => parseDuration(t, usage));
  });
});
