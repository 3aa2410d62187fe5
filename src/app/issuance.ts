/**
 * Issuance wiring (issue 16): the ACME client (src/acme/), the DNS adapter (src/dns/), core's
 * issuance service and worker, and the HTTP-01 listener, built from `loadIssuanceConfig`.
 *
 * Without an ACME/DCV configuration the service exists but is off (`enabled: false`): its
 * operations answer `unavailable` (NCP 29001), and `serve` logs the reason (the missing variable).
 */
import type { NotificationService } from '../core/notifications/service.ts';
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import { AcmeIssuer } from '../acme/client.ts';
import type { IssuanceConfig, IssuanceSetting } from '../config/config.ts';
import type { AuditService } from '../core/audit.ts';
import type { CertificateService } from '../core/certificates.ts';
import { createIssuanceService, type IssuanceService } from '../core/issuance/service.ts';
import type { WorkerLog } from '../core/background-loop.ts';
import { createForegroundYield } from '../core/background-pace.ts';
import { createIssuanceWorker, type IssuanceWorker } from '../core/issuance/worker.ts';
import type { Clock } from '../core/ports.ts';
import { createDcvResolver } from '../dns/resolver.ts';
import { parseServer } from '../dns/transport.ts';
import { parseTsigKey } from '../dns/tsig.ts';
import { createDnsUpdateZone } from '../dns/update.ts';
import type { StoreHandle } from '../store/open.ts';

// From getBuiltinModule, not an ESM import: root-handlers.ts says why (Node's undici at start-up).
const { createServer } = process.getBuiltinModule('node:http');

export function buildIssuanceService(
  store: StoreHandle,
  audit: AuditService,
  clock: Clock,
  setting: IssuanceSetting | undefined,
): IssuanceService {
  const config = setting?.on ? setting.config : null;
  return createIssuanceService({
    store,
    issuance: store.issuance,
    audit,
    clock,
    settings: config ? { dcvZone: config.dcv?.zone ?? null, http01: config.http01Port !== null } : null,
    ...(setting && !setting.on ? { offReason: setting.reason } : {}),
  });
}

export interface IssuanceWorkerSettings {
  leaseMs?: number;
  pollMs?: number;
  cnameWindowMs?: number;
  renewalScanEveryMs?: number;
  maxAttempts?: number;
  /** While API requests are in flight, at most one step per this many ms (core/background-pace.ts). */
  busyStepGapMs?: number;
}

export interface RunningIssuance {
  worker: IssuanceWorker;
  /** Port of the HTTP-01 listener, when one runs. */
  http01Port: number | null;
  stop(): Promise<void>;
}

/** Starts the worker (and the HTTP-01 listener when configured). */
export async function startIssuance(
  parts: {
    store: StoreHandle;
    service: IssuanceService;
    certificates: CertificateService;
    audit: AuditService;
    clock: Clock;
    config: IssuanceConfig;
    log: WorkerLog;
    host?: string;
    /** Issuance events for the tenant's notification channels (core.notifications.emit). */
    notify?: NotificationService['emit'];
    /** API requests in flight in this process: the worker yields to them (core/background-pace.ts). */
    inFlight?: () => number;
  },
  settings: IssuanceWorkerSettings = {},
): Promise<RunningIssuance> {
  const { config } = parts;
  const { busyStepGapMs, ...timings } = settings;
  const issuer = new AcmeIssuer({
    directoryUrl: config.directoryUrl,
    ...(config.caFile ? { caPem: readFileSync(config.caFile, 'utf8') } : {}),
    maxRequestsPerSecond: config.maxRequestsPerSecond,
  });
  const dcv = config.dcv
    ? {
        zone: createDnsUpdateZone({
          server: parseServer(config.dcv.dnsServer, 'CERTKEEPER_DCV_DNS_SERVER'),
          zone: config.dcv.zone,
          key: parseTsigKey(config.dcv.tsigKey.reveal()),
          clock: parts.clock,
        }),
        resolver: createDcvResolver(
          config.dcv.resolver ? { server: parseServer(config.dcv.resolver, 'CERTKEEPER_DCV_RESOLVER') } : {},
        ),
      }
    : null;
  const worker = createIssuanceWorker({
    store: parts.store,
    issuance: parts.store.issuance,
    service: parts.service,
    certificates: parts.certificates,
    audit: parts.audit,
    clock: parts.clock,
    issuer,
    directoryUrl: config.directoryUrl,
    contact: config.contact,
    ...(config.eab ? { eab: { kid: config.eab.kid, hmacKey: config.eab.hmacKey.reveal() } } : {}),
    dcv,
    log: parts.log,
    ...(parts.notify ? { notify: parts.notify } : {}),
    foreground: createForegroundYield({
      ...(parts.inFlight ? { inFlight: parts.inFlight } : {}),
      ...(busyStepGapMs === undefined ? {} : { busyStepGapMs }),
    }),
    ...(config.dcv ? { cnameWindowMs: config.dcv.validationWindowMs } : {}),
    ...timings,
  });
  let server: http.Server | null = null;
  if (config.http01Port !== null) server = await startHttp01(parts.store, config.http01Port, parts.host ?? '0.0.0.0');
  worker.start();
  return {
    worker,
    http01Port: server ? (server.address() as { port: number }).port : null,
    async stop() {
      await worker.stop();
      issuer.close();
      if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const TOKEN = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]{1,256})$/;

/**
 * The HTTP-01 listener: `GET /.well-known/acme-challenge/<token>` answers the key authorization
 * of an active order (RFC 8555 8.3), read from the order rows so any process can answer; anything
 * else is 404.
 */
function startHttp01(store: StoreHandle, port: number, host: string): Promise<http.Server> {
  const server = createServer((req, res) => {
    const match = req.method === 'GET' ? TOKEN.exec(req.url ?? '') : null;
    if (!match) {
      res.writeHead(404).end();
      return;
    }
    store.issuance.http01Response(match[1]!).then(
      (body) => {
        if (body === null) res.writeHead(404).end();
        else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
      },
      () => res.writeHead(503).end(),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
