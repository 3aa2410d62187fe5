/**
 * An HTTPS reverse proxy of the tests' own in front of Pebble (test/helpers/pebble.ts): what lets
 * an end-to-end test see and steer what certkeeper says to the CA, with the CA itself still real.
 *
 * - Transparent: every request goes to Pebble with the proxy's own `Host`, and Pebble builds every
 *   URL it hands out (directory, orders, authorizations, `Location`, JWS `url` checks) from `Host`,
 *   so the client only ever talks to the proxy. Certkeeper trusts the proxy's TLS root (`caFile`).
 * - Counting: each request is recorded with its kind (`newOrder`, `finalize`, …, from Pebble's
 *   paths) and, for JWS POSTs, the decoded payload (e.g. a newOrder's `replaces`).
 * - Holding: `hold(kind)` parks the next request of that kind, before Pebble sees it or (with
 *   `afterCa`) after Pebble answered it, until `release()`: the window in which a test kills the
 *   certkeeper process at a known step. A request held before the CA whose client died meanwhile
 *   is dropped on release, never forwarded.
 * - Pausing: `pause()` parks every request before Pebble until `resume()`, so certkeeper's
 *   issuance worker (one CA request at a time) stands still with its orders in flight: the
 *   issuance load benchmark's "worker idle" slices (bench/issuance-load.ts).
 * - ARI (RFC 9773): Pebble 2.4.0 has no `renewalInfo`; with `ari` set, the proxy adds
 *   `renewalInfo` to the directory and answers `GET /renewal-info/<certId>` itself with the
 *   window `ari(certId)` returns.
 */
import { once } from 'node:events';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pebble } from './pebble.ts';
import { mintLeaf, mintRoot } from './pki.ts';

export type CaRequestKind =
  | 'directory'
  | 'nonce'
  | 'newAccount'
  | 'newOrder'
  | 'order'
  | 'authorization'
  | 'challenge'
  | 'finalize'
  | 'certificate'
  | 'renewalInfo'
  | 'other';

export interface CaRequest {
  readonly kind: CaRequestKind;
  readonly method: string;
  readonly path: string;
  /** The JWS payload of a POST (undefined for POST-as-GET and for GETs). */
  readonly payload?: Record<string, unknown>;
  /** The CA's HTTP status, once it answered (a badNonce refusal is a 400 the client re-sends). */
  status?: number;
}

export interface SuggestedWindow {
  readonly start: string;
  readonly end: string;
}

export interface CaProxyOptions {
  /** When set, the directory offers renewalInfo and this gives each certificate's window. */
  ari?: (certId: string) => SuggestedWindow;
  /** The `Retry-After` of renewalInfo answers (seconds); 3600 unless given. */
  ariRetryAfterSeconds?: number;
}

export interface Hold {
  /**
   * Resolves when a request of the kind arrived (before the CA sees it), or with `afterCa` when the
   * CA accepted one (a 2xx: refusals such as badNonce pass through and leave the hold waiting).
   */
  readonly reached: Promise<CaRequest>;
  /** Lets the held request (and later ones) through. */
  release(): void;
}

export interface CaProxy {
  readonly directoryUrl: string;
  /** PEM file of the proxy's TLS root: what CERTKEEPER_ACME_CA_FILE names. */
  readonly caFile: string;
  readonly caPem: string;
  readonly requests: readonly CaRequest[];
  /** Requests of the kind the CA answered with a 2xx (badNonce re-sends and refusals left out). */
  count(kind: CaRequestKind): number;
  hold(kind: CaRequestKind, options?: { afterCa?: boolean }): Hold;
  /** Parks every request from now on (before the CA) until `resume()`. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

/** Pebble 2.4.0's paths (wfe.go) → what the request is. */
function kindOf(method: string, path: string): CaRequestKind {
  if (path === '/dir') return 'directory';
  if (path.startsWith('/nonce-plz')) return 'nonce';
  if (path.startsWith('/sign-me-up')) return 'newAccount';
  if (path.startsWith('/order-plz')) return 'newOrder';
  if (path.startsWith('/my-order/')) return 'order';
  if (path.startsWith('/authZ/')) return 'authorization';
  if (path.startsWith('/chalZ/')) return 'challenge';
  if (path.startsWith('/finalize-order/')) return 'finalize';
  if (path.startsWith('/certZ/')) return 'certificate';
  if (method === 'GET' && path.startsWith('/renewal-info/')) return 'renewalInfo';
  return 'other';
}

function payloadOf(body: Buffer): Record<string, unknown> | undefined {
  try {
    const jws = JSON.parse(body.toString('utf8')) as { payload?: string };
    if (!jws.payload) return undefined;
    return JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

interface PendingHold {
  kind: CaRequestKind;
  afterCa: boolean;
  arrived: (request: CaRequest) => void;
  gate: Promise<void>;
}

export async function startCaProxy(pebble: Pebble, options: CaProxyOptions = {}): Promise<CaProxy> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-ca-proxy-'));
  const root = await mintRoot({ cn: 'certkeeper CA proxy TLS Root', freshKey: true });
  const leaf = await mintLeaf(root, { cn: 'localhost', sans: { dns: ['localhost'], ip: ['127.0.0.1'] } });
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, root.pem);
  const upstream = new URL(pebble.directoryUrl);
  const agent = new https.Agent({ ca: pebble.caPem, keepAlive: true });
  const requests: CaRequest[] = [];
  const holds: PendingHold[] = [];
  /** While paused: the gate every request waits on. */
  let paused: { gate: Promise<void>; open: () => void } | null = null;

  const forward = (
    req: http.IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const out = https.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          agent,
          headers: { ...req.headers, host: req.headers.host },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });

  /** Removes and returns the first hold of `kind` that parks at that point (before or after the CA). */
  const takeHold = (kind: CaRequestKind, afterCa: boolean): PendingHold | null => {
    const index = holds.findIndex((h) => h.kind === kind && h.afterCa === afterCa);
    return index >= 0 ? holds.splice(index, 1)[0]! : null;
  };

  const server = https.createServer({ cert: leaf.pem, key: leaf.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const method = req.method ?? 'GET';
        const path = (req.url ?? '/').split('?')[0]!;
        const body = Buffer.concat(chunks);
        const kind = kindOf(method, path);
        const payload = method === 'POST' ? payloadOf(body) : undefined;
        const request: CaRequest = { kind, method, path, ...(payload ? { payload } : {}) };
        requests.push(request);
        if (kind === 'renewalInfo' && options.ari) {
          const certId = decodeURIComponent(path.slice('/renewal-info/'.length));
          res
            .writeHead(200, {
              'content-type': 'application/json',
              'retry-after': String(options.ariRetryAfterSeconds ?? 3600),
            })
            .end(JSON.stringify({ suggestedWindow: options.ari(certId) }));
          return;
        }
        while (paused) await paused.gate;
        const before = takeHold(kind, false);
        if (before) {
          before.arrived(request);
          await before.gate;
          // The client died while its request was parked (the test killed it): the CA never sees it.
          if (req.socket.destroyed) return;
        }
        const answer = await forward(req, body);
        request.status = answer.status;
        // Only an answer the CA accepted is parked: a badNonce refusal (Pebble rejects some nonces at
        // random) is re-sent by the client, and the CA has not acted on it yet.
        const after = answer.status < 300 ? takeHold(kind, true) : null;
        if (after) {
          after.arrived(request);
          await after.gate;
        }
        let out = answer.body;
        const headers = { ...answer.headers };
        if (kind === 'directory' && options.ari && answer.status === 200) {
          const directory = JSON.parse(out.toString('utf8')) as Record<string, unknown>;
          directory.renewalInfo = `https://${req.headers.host}/renewal-info/`;
          out = Buffer.from(JSON.stringify(directory));
        }
        delete headers['content-length'];
        delete headers['transfer-encoding'];
        delete headers.connection;
        if (res.destroyed) return;
        res.writeHead(answer.status, headers).end(out);
      })().catch(() => {
        if (!res.headersSent) res.writeHead(502).end();
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const releases: Array<() => void> = [];

  return {
    directoryUrl: `https://127.0.0.1:${port}/dir`,
    caFile,
    caPem: root.pem,
    requests,
    count: (kind) => requests.filter((r) => r.kind === kind && r.status !== undefined && r.status < 300).length,
    hold(kind, holdOptions = {}) {
      let release!: () => void;
      let arrived!: (request: CaRequest) => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const reached = new Promise<CaRequest>((resolve) => (arrived = resolve));
      holds.push({ kind, afterCa: holdOptions.afterCa === true, arrived, gate });
      releases.push(release);
      return { reached, release };
    },
    pause() {
      if (paused) return;
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      paused = { gate, open };
    },
    resume() {
      const was = paused;
      paused = null;
      was?.open();
    },
    async close() {
      paused?.open();
      paused = null;
      for (const release of releases) release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
