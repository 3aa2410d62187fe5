/**
 * End to end with a real nginx (Debian's): nginx runs as a non-daemon child with its own prefix,
 * config, pid and error log in a temp dir, on a loopback port, serving the files of a `directory`
 * target. nginx is configured as docs/compat/edge.md tells users to: by the certificate's name,
 * `<path>/by-name/<certificate name>/fullchain.pem`, never a slot number. A certificate provisioned
 * through the Global Edge API is what nginx serves (compared by fingerprint over a real TLS
 * handshake); renewing it under its name (NCP v2 `withExternal` with its `certificateNo`)
 * republishes the slot, and nginx serves the new one from the same path once the reload command
 * (`nginx … -s reload`) has run.
 *
 * Without nginx the test is skipped with a message, except under CI=true, where it fails
 * (.ci/run installs nginx).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { fingerprintOf, FIXTURES, startEdgeApp, type EdgeTestApp } from '../api/edge/helpers.ts';
import { v2Body } from '../api/ncp/helpers.ts';
import { freePort, waitFor } from './helpers.ts';

function findNginx(): string | null {
  for (const candidate of ['nginx', '/usr/sbin/nginx']) {
    try {
      execFileSync(candidate, ['-v'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // not this one
    }
  }
  return null;
}

const NGINX = findNginx();
const skip =
  NGINX === null && process.env.CI !== 'true'
    ? 'nginx is not installed (apt-get install nginx); CI=true makes this a failure'
    : false;

/** The fingerprint of the certificate nginx presents. */
async function servedFingerprint(port: number, servername: string): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
  try {
    await once(socket, 'secureConnect');
    return socket.getPeerX509Certificate()!.fingerprint256.replaceAll(':', '').toLowerCase();
  } finally {
    socket.destroy();
  }
}

describe('a real nginx serves what the Global Edge API provisions', { skip }, () => {
  let dir: string;
  let app: EdgeTestApp;
  let nginx: ChildProcess | null = null;
  let port: number;

  before(async () => {
    assert.ok(NGINX, 'CI=true: nginx must be installed (see .ci/run)');
    dir = await mkdtemp(join(tmpdir(), 'certkeeper-nginx-'));
    await mkdir(join(dir, 'certs'));
    port = await freePort();
    // Everything nginx needs lives in the temp dir: prefix, config, pid, logs, temp paths.
    const reload = `${NGINX} -p ${dir} -e ${join(dir, 'error.log')} -c ${join(dir, 'nginx.conf')} -g 'pid ${join(dir, 'nginx.pid')};' -s reload`;
    app = await startEdgeApp({
      target: { kind: 'directory', path: join(dir, 'certs'), reloadCommand: reload, reloadTimeoutMs: 15_000 },
    });
  });

  after(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = once(nginx, 'exit');
      nginx.kill('SIGQUIT');
      const timer = setTimeout(() => nginx?.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await app?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves the provisioned certificate by its name, then its renewal from the same path', async () => {
    const rsa = await app.register('www', FIXTURES.rsaSelf);
    const slotId = await app.provision(rsa);
    // The documented, readable layout: what nginx is configured with knows the name, not the slot.
    const byName = join(dir, 'certs', 'by-name', 'www');

    // nginx is not running yet: the reload fails, the slot stays PUBLISHING with the error.
    assert.equal((await app.worker.runOnce()).failed, 1);
    const failed = await app.slot(slotId);
    assert.equal(failed.provisionStatus, 'PUBLISHING');
    assert.match(String(failed.deployment.lastError), /reload command .*nginx exited with code 1/);

    // Start nginx on the files the target wrote.
    await writeFile(
      join(dir, 'nginx.conf'),
      `error_log ${join(dir, 'error.log')};
events {}
http {
  access_log off;
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${join(byName, 'fullchain.pem')};
    ssl_certificate_key ${join(byName, 'privkey.pem')};
    return 200 "served by nginx\\n";
  }
}
`,
    );
    nginx = spawn(
      NGINX!,
      [
        '-p',
        dir,
        '-e',
        join(dir, 'error.log'),
        '-c',
        join(dir, 'nginx.conf'),
        '-g',
        `daemon off; pid ${join(dir, 'nginx.pid')};`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    nginx.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(
      'nginx to listen',
      async () => ((await servedFingerprint(port, 'rsa.example.com').catch(() => undefined)) ? true : undefined),
      15_000,
    ).catch(async (error: unknown) => {
      throw new Error(
        `${String(error)}\nnginx stderr: ${stderr}\nerror.log: ${await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')}`,
      );
    });
    assert.equal(await servedFingerprint(port, 'rsa.example.com'), fingerprintOf(FIXTURES.rsaSelf.certificate));

    // The retry (after the backoff, on the test clock) runs the reload against the live nginx.
    app.clock.advance(5_000);
    assert.equal((await app.worker.runOnce()).published, 1);
    assert.equal((await app.slot(slotId)).provisionStatus, 'RUNNING');
    assert.equal(await readlink(byName), `../${slotId}`, 'the name leads to the slot folder');

    // Renew under the same name (NCP v2 withExternal with its certificateNo): core republishes the
    // slot, new files land atomically under the same by-name path, reload, nginx serves the new one.
    const renewed = await app.call({
      method: 'POST',
      path: '/api/v2/certificate/withExternal',
      body: v2Body('www', FIXTURES.ec, rsa),
    });
    assert.equal(renewed.status, 200, renewed.body.toString());
    assert.equal((await app.worker.runOnce()).published, 1);
    assert.equal(await readlink(byName), `../${slotId}`, 'the same path after the renewal');
    assert.equal((await app.slot(slotId)).provisionStatus, 'RUNNING');
    const expected = fingerprintOf(FIXTURES.ec.certificate);
    // nginx applies a reload asynchronously (new workers start, old ones stop accepting and
    // drain): wait until five handshakes in a row see the new certificate.
    let streak = 0;
    await waitFor(
      'nginx to serve the replacement',
      async () => {
        streak = (await servedFingerprint(port, 'ec.example.com')) === expected ? streak + 1 : 0;
        return streak >= 5 ? true : undefined;
      },
      15_000,
      50,
    );
    for (let i = 0; i < 10; i++) assert.equal(await servedFingerprint(port, 'ec.example.com'), expected);
    assert.equal(nginx.exitCode, null, 'nginx kept running through the reload');
  });
});
