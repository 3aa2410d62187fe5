/**
 * A real BIND9 (`/usr/sbin/named`, Debian package bind9) on a free loopback port, for tests.
 *
 * It serves, from a temp dir of its own (config, zone files, journals, pid, session key, managed
 * keys; no rndc control channel):
 * - `.` (a stub root zone of its own, so recursion never leaves the machine: every name outside
 *   the zones below is NXDOMAIN),
 * - the users' zone `example.test`, writable with `userKey` (any type): tests create the users'
 *   `_acme-challenge` CNAMEs there,
 * - the dcv zone `dcv.certkeeper.test`, writable with `dcvKey` for TXT records only
 *   (`update-policy`), as certkeeper's production zone should be,
 * with recursion on for loopback clients, so that a TXT query for a user's `_acme-challenge`
 * name answers the CNAME together with its target's TXT records in one answer (what Pebble
 * 2.4.0 needs: it neither chases a CNAME itself nor reads more than one answer).
 *
 * `BIND_SKIP` is false, or why the suites that need BIND are skipped: named is missing. Under
 * CI=true it is always false, so a missing named fails the tests instead of hiding them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NAMED = process.env.CERTKEEPER_TEST_NAMED ?? '/usr/sbin/named';

export const BIND_SKIP: string | false =
  process.env.CI === 'true' || existsSync(NAMED)
    ? false
    : `BIND9 is not installed (${NAMED}; Debian: apt-get install bind9): the DNS tests against a real server are skipped`;

export const USER_ZONE = 'example.test';
export const DCV_ZONE = 'dcv.certkeeper.test';

export interface BindServer {
  host: string;
  port: number;
  /** `algorithm:name:base64secret` of the key that may write TXT records in the dcv zone. */
  dcvKey: string;
  /** The key that may write anything in the users' zone. */
  userKey: string;
  dir: string;
  /** named's output so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** A port free for both UDP and TCP on 127.0.0.1 right now. */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

function zoneFile(origin: string, extra: string): string {
  return [
    `$ORIGIN ${origin}.`,
    '$TTL 60',
    `@ IN SOA ns.${origin === '' ? 'root' : origin}. hostmaster.${origin === '' ? 'root' : origin}. 1 3600 600 86400 60`,
    `@ IN NS ns.${origin === '' ? 'root' : origin}.`,
    extra,
    '',
  ].join('\n');
}

export async function startBind(): Promise<BindServer> {
  if (!existsSync(NAMED))
    throw new Error(`${NAMED} is missing (Debian: apt-get install bind9), and CI=true requires it`);
  let lastError: unknown;
  // A free port can be taken between the probe and named's bind: try again with another.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce();
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function startOnce(): Promise<BindServer> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-bind-'));
  const port = await freePort();
  const dcvSecret = randomBytes(32).toString('base64');
  const userSecret = randomBytes(32).toString('base64');
  await writeFile(join(dir, 'root.db'), zoneFile('', 'ns.root. IN A 127.0.0.1'));
  await writeFile(join(dir, 'example.db'), zoneFile(USER_ZONE, `ns IN A 127.0.0.1\nwww IN A 192.0.2.1`));
  await writeFile(join(dir, 'dcv.db'), zoneFile(DCV_ZONE, 'ns IN A 127.0.0.1'));
  const conf = `
options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  session-keyfile "${dir}/session.key";
  managed-keys-directory "${dir}";
  dump-file "${dir}/cache_dump.db";
  statistics-file "${dir}/named.stats";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion yes;
  allow-recursion { 127.0.0.0/8; };
  allow-query { 127.0.0.0/8; };
  allow-transfer { none; };
  dnssec-validation no;
  notify no;
  minimal-responses yes;
};
controls { };
key "dcv-key" { algorithm hmac-sha256; secret "${dcvSecret}"; };
key "user-key" { algorithm hmac-sha256; secret "${userSecret}"; };
zone "." { type primary; file "root.db"; };
zone "${USER_ZONE}" {
  type primary;
  file "example.db";
  update-policy { grant user-key zonesub ANY; };
};
zone "${DCV_ZONE}" {
  type primary;
  file "dcv.db";
  update-policy { grant dcv-key zonesub TXT; };
};
`;
  await writeFile(join(dir, 'named.conf'), conf);
  // -g: foreground, logs to stderr; -4: IPv4 only; -n 1: one worker (the test machine is shared).
  // As root, named keeps running as root: it needs no privilege drop for a temp dir and a high port.
  const child: ChildProcess = spawn(NAMED, ['-g', '-4', '-n', '1', '-c', join(dir, 'named.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A test process that ends without stop() (a failed before/after hook, an uncaught throw) must
  // not leave named running and holding its port, as Pebble's helper does for its servers.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`named did not start within 15 s:\n${output}`)), 15000);
      const check = () => {
        if (/ running\r?\n/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', check);
      child.stderr!.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`named exited with ${code} before it ran:\n${output}`));
      });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    host: '127.0.0.1',
    port,
    dcvKey: `hmac-sha256:dcv-key:${dcvSecret}`,
    userKey: `hmac-sha256:user-key:${userSecret}`,
    dir,
    log: () => output,
    stop,
  };
}
