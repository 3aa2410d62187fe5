/**
 * The issuance pipeline in this process, on a real store: core, the issuance service and workers
 * wired as `serve` wires them (app/issuance.ts), against a real ACME CA (Pebble, or the tests' CA
 * proxy in front of it) and a real BIND9. Tests drive the worker pass by pass (`runOnce`).
 */
import { createAuditService } from '../../src/core/audit.ts';
import type { ForegroundYield } from '../../src/core/background-pace.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { AcmeIssuer, type AcmeIssuerOptions } from '../../src/acme/client.ts';
import { cliActor } from '../../src/core/actor.ts';
import { createCore, type Core } from '../../src/core/core.ts';
import { DEFAULT_NOTIFICATION_SETTINGS } from '../../src/core/notifications/service.ts';
import { createNotificationSender } from '../../src/notifiers/index.ts';
import { isFinalStep, type IssuanceOrder } from '../../src/core/issuance/ports.ts';
import { createIssuanceService, type IssuanceService } from '../../src/core/issuance/service.ts';
import { createIssuanceWorker, type IssuanceWorker } from '../../src/core/issuance/worker.ts';
import { systemClock } from '../../src/core/ports.ts';
import { createDcvResolver } from '../../src/dns/resolver.ts';
import { createDnsUpdateZone } from '../../src/dns/update.ts';
import { parseTsigKey } from '../../src/dns/tsig.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { DCV_ZONE, type BindServer } from '../helpers/bind.ts';
import { freshSqlite, testMasterKey, type TestLocation } from '../helpers/db.ts';

/** Where the ACME directory is and the PEM to trust for its HTTPS (a Pebble or a CaProxy). */
export interface AcmeCa {
  readonly directoryUrl: string;
  readonly caPem: string;
}

export interface Rig {
  location: TestLocation;
  store: StoreHandle;
  core: Core;
  service: IssuanceService;
  issuer: AcmeIssuer;
  tenantId: number;
  worker(options?: {
    tsigKey?: string;
    cnameWindowMs?: number;
    renewalScanEveryMs?: number;
    maxAttempts?: number;
    foreground?: ForegroundYield;
  }): IssuanceWorker;
}

export async function rig(
  bind: BindServer,
  ca: AcmeCa,
  issuerOptions: Partial<Pick<AcmeIssuerOptions, 'onEvent' | 'maxRequestsPerSecond'>> = {},
): Promise<Rig> {
  const location = await freshSqlite();
  const store = await openStore(location.options({ masterKey: testMasterKey() }));
  // Notifications through the real service to a webhook receiver on loopback (the last test).
  const sender = createNotificationSender({ clock: systemClock, allowPrivateAddresses: true });
  const core = createCore(store, systemClock, {
    ...DEFAULT_NOTIFICATION_SETTINGS,
    allowPrivateAddresses: true,
    sender,
  });
  const tenant = await core.tenants.create(`t-${Math.random().toString(36).slice(2, 8)}`);
  const service = createIssuanceService({
    store,
    issuance: store.issuance,
    audit: createAuditService(store, systemClock),
    clock: systemClock,
    settings: { dcvZone: DCV_ZONE, http01: false },
  });
  const issuer = new AcmeIssuer({ directoryUrl: ca.directoryUrl, caPem: ca.caPem, ...issuerOptions });
  const server = { host: bind.host, port: bind.port };
  return {
    location,
    store,
    core,
    service,
    issuer,
    tenantId: tenant.id,
    worker: (options = {}) =>
      createIssuanceWorker({
        store,
        issuance: store.issuance,
        service,
        certificates: core.certificates,
        audit: createAuditService(store, systemClock),
        clock: systemClock,
        issuer,
        directoryUrl: ca.directoryUrl,
        contact: ['admin@example.test'],
        dcv: {
          zone: createDnsUpdateZone({
            server,
            zone: DCV_ZONE,
            key: parseTsigKey(options.tsigKey ?? bind.dcvKey),
            clock: systemClock,
          }),
          resolver: createDcvResolver({ server }),
        },
        notify: core.notifications.emit,
        cnameWindowMs: options.cnameWindowMs ?? 60_000,
        renewalScanEveryMs: options.renewalScanEveryMs ?? 3_600_000,
        ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
        ...(options.foreground ? { foreground: options.foreground } : {}),
      }),
  };
}

/** Runs worker passes until the order is final (or `ms` passed); the order as it ended. */
export async function drive(r: Rig, worker: IssuanceWorker, orderId: number, ms = 60_000): Promise<IssuanceOrder> {
  const actor = cliActor(r.tenantId);
  const deadline = Date.now() + ms;
  for (;;) {
    await worker.runOnce();
    const order = await r.service.getOrder(actor, orderId);
    if (isFinalStep(order.step)) return order;
    if (Date.now() > deadline) throw new Error(`order ${orderId} still ${order.step}: ${order.lastError ?? ''}`);
    await sleep(100);
  }
}
