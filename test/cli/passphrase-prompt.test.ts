/**
 * The PKCS#12 passphrase typed at a terminal: the real `certkeeper` process under a real
 * pseudo-terminal (util-linux `script`), answering each prompt once it is shown. The passphrase is
 * not echoed, an export asks twice and refuses two different answers (nothing written), and an
 * import of the file asks once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintBundle } from '../helpers/pki.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const NODE = join(ROOT, 'node_modules/.bin/node');
const PASS = 'typed at the terminal';

const noScript = spawnSync('script', ['--version']).error ? 'util-linux script is not installed' : false;

describe('the passphrase prompt on a terminal', { skip: noScript }, () => {
  let work: string;
  const env = () => ({ ...process.env, CERTKEEPER_DATA_DIR: join(work, 'data'), CERTKEEPER_LOG_LEVEL: 'silent' });
  const cli = (args: string[]) =>
    execFileSync(NODE, ['src/cli/main.ts', ...args], { cwd: ROOT, env: env(), encoding: 'utf8' });

  /**
   * Runs the CLI on a pseudo-terminal and types each answer after its prompt appears. Resolves
   * with the exit code and everything the terminal showed.
   */
  function onTerminal(args: string[], answers: Array<[prompt: string, answer: string]>) {
    const command = [NODE, 'src/cli/main.ts', ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: env() });
    let shown = '';
    const pending = [...answers];
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      shown += text;
      const next = pending[0];
      if (next && shown.includes(next[0])) {
        pending.shift();
        shown += '\u0000'; // a mark, so the same prompt text later is a new prompt
        child.stdin.write(`${next[1]}\r`);
      }
    });
    return new Promise<{ code: number | null; shown: string }>((done) =>
      child.on('close', (code) => {
        child.stdin.end();
        done({ code, shown });
      }),
    );
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'certkeeper-prompt-'));
    const bundle = await mintBundle();
    await writeFile(join(work, 'cert.pem'), bundle.leaf.pem);
    await writeFile(join(work, 'key.pem'), bundle.leaf.keyPem);
    await writeFile(join(work, 'chain.pem'), bundle.chainPem);
    cli(['tenant', 'create', 'default']);
    cli([
      'cert',
      'import',
      '--name',
      'www',
      '--cert',
      join(work, 'cert.pem'),
      '--key',
      join(work, 'key.pem'),
      '--chain',
      join(work, 'chain.pem'),
    ]);
  });
  after(() => rm(work, { recursive: true, force: true }));

  it('refuses two different answers and writes nothing', async () => {
    const out = join(work, 'differ');
    const result = await onTerminal(
      ['cert', 'export', '1', '--format', 'p12', '--key', '--out', out],
      [
        ['Passphrase for the PKCS#12 file: ', PASS],
        ['The same passphrase again: ', 'something else'],
      ],
    );
    assert.equal(result.code, 1, result.shown);
    assert.match(result.shown, /The two passphrases differ; nothing was written/);
    await assert.rejects(readdir(out), { code: 'ENOENT' });
  });

  it('exports with the passphrase typed twice, not echoed, and imports the file with it typed once', async () => {
    const out = join(work, 'typed');
    const exported = await onTerminal(
      ['cert', 'export', '1', '--format', 'p12', '--key', '--out', out],
      [
        ['Passphrase for the PKCS#12 file: ', PASS],
        ['The same passphrase again: ', PASS],
      ],
    );
    assert.equal(exported.code, 0, exported.shown);
    assert.ok(!exported.shown.includes(PASS), `the passphrase was echoed: ${JSON.stringify(exported.shown)}`);
    execFileSync('openssl', ['pkcs12', '-in', join(out, 'cert.p12'), '-passin', `pass:${PASS}`, '-noout']);

    cli(['cert', 'delete', '1']);
    const imported = await onTerminal(
      ['cert', 'import', '--name', 'again', '--p12', join(out, 'cert.p12')],
      [['PKCS#12 passphrase: ', PASS]],
    );
    assert.equal(imported.code, 0, imported.shown);
    assert.match(imported.shown, /name +again/);
    assert.ok(!imported.shown.includes(PASS));
  });
});
