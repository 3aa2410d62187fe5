/**
 * Pebble (Let's Encrypt's test ACME CA, Debian package `pebble` 2.4.0) and pebble-challtestsrv
 * on loopback, for the ACME client's tests. Real servers, never mocks.
 *
 * - Each `startPebble()` picks free loopback ports, writes a config and a TLS certificate for
 *   `localhost`/127.0.0.1 (minted by the test PKI, test/helpers/pki.ts) into a temp dir, starts
 *   pebble-challtestsrv as Pebble's DNS server (`-dnsserver`), waits until Pebble's directory
 *   answers over HTTPS, and `stop()` ends both processes and removes the dir.
 * - challtestsrv serves DNS only (its HTTP-01/TLS-ALPN listeners are off): A queries answer
 *   127.0.0.1, AAAA nothing, so Pebble validates HTTP-01 on 127.0.0.1:`httpPort`, where a test
 *   serves the key authorization itself. TXT records go in with `setTxt()` (challtestsrv keeps
 *   every value set for a name, so wildcard + apex give two TXT values at one name).
 * - `PEBBLE_VA_NOSLEEP=1` unless `vaSleep`; `PEBBLE_WFE_NONCEREJECT` stays at Pebble's default (5 % of nonces
 *   refused) unless `nonceRejectPercent` is given, so the client's badNonce retry runs for real.
 * - When /usr/bin/pebble is missing the suites skip with PEBBLE_SKIP as the message, except
 *   under CI=true, where they run and fail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import http from 'node:http';
import net from 'node:net';
import dgram from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mintLeaf, mintRoot } from './pki.ts';

export const PEBBLE_BIN = process.env.CERTKEEPER_TEST_PEBBLE ?? '/usr/bin/pebble';
export const CHALLTESTSRV_BIN = process.env.CERTKEEPER_TEST_CHALLTESTSRV ?? '/usr/bin/pebble-challtestsrv';

const missing = [PEBBLE_BIN, CHALLTESTSRV_BIN].filter((bin) => !existsSync(bin));
/** The skip message for node:test (`{ skip: PEBBLE_SKIP }`), or false when the tests must run. */
export const PEBBLE_SKIP: string | false =
  missing.length > 0 && process.env.CI !== 'true'
    ? `ACME tests skipped: ${missing.join(', ')} not installed (Debian package "pebble")`
    : false;

/** The EAB keys of Pebble's example config (/usr/share/doc/pebble/examples/…-external-account-bindings.json). */
export const PEBBLE_EXAMPLE_EAB: Readonly<Record<string, string>> = {
  'kid-1': 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W',
  'kid-2': 'b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH',
};

export interface PebbleOptions {
  /** EAB key ids → base64url HMAC keys; EAB is then required. */
  externalAccountMACKeys?: Readonly<Record<string, string>>;
  /** Seconds of validity of issued certificates (Pebble's default: about 5 years). */
  certificateValidityPeriod?: number;
  /** PEBBLE_WFE_NONCEREJECT: percent of valid nonces refused as badNonce. Unset: Pebble's default. */
  nonceRejectPercent?: number;
  /** PEBBLE_ALTERNATE_ROOTS: how many alternate chains Pebble links (`Link: rel="alternate"`). */
  alternateRoots?: number;
  /**
   * PEBBLE_AUTHZREUSE: percent of new orders that reuse an account's valid authorization for a
   * name instead of validating it again. Unset: Pebble's default (50). 0 makes every order, renewals
   * included, go through DNS.
   */
  authzReusePercent?: number;
  /**
   * `host:port` of the DNS server Pebble resolves through (e.g. BIND from test/helpers/bind.ts)
   * instead of challtestsrv; `setTxt`/`clearTxt` then write to a server Pebble does not ask.
   */
  dnsServer?: string;
  /**
   * Lets Pebble's VA sleep its random 0–15 s before each validation, as a real CA takes its time
   * (PEBBLE_VA_NOSLEEP unset); by default it validates at once.
   */
  vaSleep?: boolean;
}

export interface Pebble {
  readonly directoryUrl: string;
  /** PEM of the CA that signed Pebble's HTTPS certificate (to trust for the directory). */
  readonly caPem: string;
  /** The same, as a file (what CERTKEEPER_ACME_CA_FILE names). */
  readonly caFile: string;
  /** Pebble's management API (HTTPS, same certificate). */
  readonly managementUrl: string;
  /** The port Pebble's VA connects to for HTTP-01 (on 127.0.0.1). */
  readonly httpPort: number;
  /** Adds a TXT value at `host` (a trailing dot is added) in challtestsrv. */
  setTxt(host: string, value: string): Promise<void>;
  /** Removes every TXT value at `host`. */
  clearTxt(host: string): Promise<void>;
  /** GET on the management API (`/roots/0`, `/cert-status-by-serial/<hex>`): status and body text. */
  management(path: string): Promise<{ status: number; body: string }>;
  /** Everything Pebble printed, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * A port free on 127.0.0.1 for TCP (and UDP when `udp`), released before returning, and not one
 * of `taken`: a port released is free again, so ports drawn one after another for one start may
 * repeat unless the caller passes the ones it already holds.
 */
export async function freePort(udp = false, taken: ReadonlySet<number> = new Set()): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address() as net.AddressInfo;
        server.close(() => resolve(address.port));
      });
    });
    if (taken.has(port)) continue;
    if (!udp) return port;
    const ok = await new Promise<boolean>((resolve) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function httpPost(url: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startPebble(options: PebbleOptions = {}): Promise<Pebble> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-pebble-'));
  const root = await mintRoot({ cn: 'certkeeper Pebble TLS Root', freshKey: true });
  const leaf = await mintLeaf(root, { cn: 'localhost', sans: { dns: ['localhost'], ip: ['127.0.0.1'] } });
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, root.pem);
  await writeFile(join(dir, 'cert.pem'), leaf.pem);
  await writeFile(join(dir, 'key.pem'), leaf.keyPem, { mode: 0o600 });

  // Six distinct ports: Pebble and challtestsrv each bind theirs only once started.
  const taken = new Set<number>();
  const draw = async (udp = false) => {
    const port = await freePort(udp, taken);
    taken.add(port);
    return port;
  };
  const [acmePort, managementPort, httpPort, tlsPort, dnsPort, challtestPort] = [
    await draw(),
    await draw(),
    await draw(),
    await draw(),
    await draw(true),
    await draw(),
  ];
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate: join(dir, 'cert.pem'),
      privateKey: join(dir, 'key.pem'),
      httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: options.externalAccountMACKeys !== undefined,
      ...(options.externalAccountMACKeys ? { externalAccountMACKeys: options.externalAccountMACKeys } : {}),
      ...(options.certificateValidityPeriod ? { certificateValidityPeriod: options.certificateValidityPeriod } : {}),
    },
  };
  await writeFile(join(dir, 'pebble.json'), JSON.stringify(config, null, 2));

  let output = '';
  let spawnFailed = false;
  const capture = (child: ChildProcess, name: string): void => {
    child.stdout?.on('data', (c: Buffer) => (output += `[${name}] ${c.toString('utf8')}`));
    child.stderr?.on('data', (c: Buffer) => (output += `[${name}] ${c.toString('utf8')}`));
    child.on('error', (error) => {
      spawnFailed = true;
      output += `[${name}] cannot start: ${error.message}\n`;
    });
    // A test process that dies without stop() must not leave the servers running.
    const killOnExit = (): void => void child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
  };
  const challtest = spawn(
    CHALLTESTSRV_BIN,
    [
      '-dns01',
      `127.0.0.1:${dnsPort}`,
      '-http01',
      '',
      '-https01',
      '',
      '-tlsalpn01',
      '',
      '-management',
      `127.0.0.1:${challtestPort}`,
      '-defaultIPv4',
      '127.0.0.1',
      '-defaultIPv6',
      '',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  capture(challtest, 'challtestsrv');
  const env: NodeJS.ProcessEnv = { ...process.env, PEBBLE_VA_NOSLEEP: '1' };
  if (options.vaSleep) delete env.PEBBLE_VA_NOSLEEP;
  delete env.PEBBLE_WFE_NONCEREJECT;
  if (options.alternateRoots !== undefined) env.PEBBLE_ALTERNATE_ROOTS = String(options.alternateRoots);
  if (options.nonceRejectPercent !== undefined) env.PEBBLE_WFE_NONCEREJECT = String(options.nonceRejectPercent);
  if (options.authzReusePercent !== undefined) env.PEBBLE_AUTHZREUSE = String(options.authzReusePercent);
  const pebble = spawn(
    PEBBLE_BIN,
    ['-config', join(dir, 'pebble.json'), '-dnsserver', options.dnsServer ?? `127.0.0.1:${dnsPort}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
      cwd: dir,
    },
  );
  capture(pebble, 'pebble');

  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  const managementUrl = `https://127.0.0.1:${managementPort}`;
  const challtestUrl = `http://127.0.0.1:${challtestPort}`;
  const stop = async (): Promise<void> => {
    await Promise.all([stopProcess(pebble), stopProcess(challtest)]);
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 15_000;
  for (;;) {
    if (spawnFailed || pebble.exitCode !== null || challtest.exitCode !== null) {
      await stop();
      throw new Error(`pebble or challtestsrv exited at start:\n${output}`);
    }
    const ready =
      (await tcpOpen(challtestPort)) &&
      (await httpsGet(directoryUrl, root.pem).then(
        (r) => r.status === 200,
        () => false,
      ));
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`pebble did not answer within 15 s:\n${output}`);
    }
    await sleep(50);
  }

  const fqdn = (host: string): string => (host.endsWith('.') ? host : `${host}.`);
  return {
    directoryUrl,
    caPem: root.pem,
    caFile,
    managementUrl,
    httpPort,
    async setTxt(host, value) {
      const status = await httpPost(`${challtestUrl}/set-txt`, { host: fqdn(host), value });
      if (status !== 200) throw new Error(`challtestsrv set-txt: HTTP ${status}`);
    },
    async clearTxt(host) {
      const status = await httpPost(`${challtestUrl}/clear-txt`, { host: fqdn(host) });
      if (status !== 200) throw new Error(`challtestsrv clear-txt: HTTP ${status}`);
    },
    management: (path) => httpsGet(`${managementUrl}${path}`, root.pem),
    log: () => output,
    stop,
  };
}
