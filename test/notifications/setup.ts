/**
 * A real store and core for the notification suites: a tenant, an ADMIN actor, a test clock, the
 * real senders (src/notifiers/) with the operator's loopback switch on (the receivers listen on
 * 127.0.0.1), and loopback HTTP receivers that record what they get.
 */
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Actor } from '../../src/core/actor.ts';
import { createCore, type Core } from '../../src/core/core.ts';
import { DEFAULT_NOTIFICATION_SETTINGS, type NotificationSettings } from '../../src/core/notifications/service.ts';
import { createNotificationWorker, type NotifyWorkerOptions } from '../../src/core/notifications/worker.ts';
import { createNotificationSender } from '../../src/notifiers/index.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { TestClock } from '../helpers/app.ts';
import { newCertificate, testMasterKey, type StoreTarget, type TestLocation } from '../helpers/db.ts';

export const START = new Date('2027-03-01T00:00:00.000Z');
export const DAY = 86_400_000;
export const BASE = 'https://certs.example.test';

export interface NotifyWorld {
  location: TestLocation;
  masterKey: string;
  store: StoreHandle;
  clock: TestClock;
  core: Core;
  admin: Actor;
  tenantId: number;
  settings: NotificationSettings;
  worker(options?: Partial<NotifyWorkerOptions>): ReturnType<typeof createNotificationWorker>;
  /** Inserts a certificate valid [notBefore, notAfter] (hand-built facts). */
  certificate(notBefore: number, notAfter: number, name?: string, domains?: string[]): Promise<number>;
  close(): Promise<void>;
}

export async function notifyWorld(
  target: StoreTarget,
  extra: Partial<NotificationSettings> & { ca?: string[]; location?: TestLocation; masterKey?: string } = {},
): Promise<NotifyWorld> {
  const location = extra.location ?? (await target.fresh());
  const masterKey = extra.masterKey ?? testMasterKey();
  const store = await openStore(location.options({ masterKey }));
  const clock = new TestClock(START);
  const sender = createNotificationSender({
    clock,
    allowPrivateAddresses: true,
    ...(extra.ca ? { ca: extra.ca } : {}),
  });
  const { ca: _ca, location: _location, masterKey: _key, ...overrides } = extra;
  const settings: NotificationSettings = {
    ...DEFAULT_NOTIFICATION_SETTINGS,
    publicBaseUrl: BASE,
    allowPrivateAddresses: true,
    sender,
    timeoutMs: 2_000,
    ...overrides,
  };
  const core = createCore(store, clock, settings);
  const tenant = (await core.tenants.list()).find((t) => t.name === 'acme') ?? (await core.tenants.create('acme'));
  const admin: Actor = { tenantId: tenant.id, id: 'ADMIN-KEY', role: 'ADMIN', remoteAddress: null };
  return {
    location,
    masterKey,
    store,
    clock,
    core,
    admin,
    tenantId: tenant.id,
    settings,
    worker: (options = {}) =>
      createNotificationWorker({
        store,
        clock,
        sender,
        publicBaseUrl: BASE,
        scanEveryMs: 0,
        timeoutMs: settings.timeoutMs,
        ...options,
      }),
    async certificate(notBefore, notAfter, name, domains) {
      const cn = domains?.[0] ?? `${name ?? 'host'}.example.com`;
      const inserted = await store.certificates.insert(
        newCertificate(tenant.id, {
          ...(name ? { name } : {}),
          facts: {
            commonName: cn,
            domains: domains ?? [cn],
            notBefore: new Date(notBefore),
            notAfter: new Date(notAfter),
          },
        }),
        clock.now(),
      );
      return inserted.certificateNo;
    },
    async close() {
      await store.close();
      if (!extra.location) await location.cleanup();
    },
  };
}

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Status to answer with (default 204). */
  status: number;
  /** When set, requests are held this long before the answer. */
  delayMs: number;
  close(): Promise<void>;
}

export async function receiver(): Promise<Receiver> {
  const state: Omit<Receiver, 'close' | 'url'> = { received: [], status: 204, delayMs: 0 };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      state.received.push({ headers: request.headers, body, json: JSON.parse(body) as Record<string, unknown> });
      setTimeout(
        () => response.writeHead(state.status).end(state.status >= 300 ? 'receiver says no' : ''),
        state.delayMs,
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/hook`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  });
}

/** The signature rule of docs/notifications.md, written out independently of the code under test. */
export function expectedSignature(secret: string, headers: IncomingHttpHeaders, body: string): string {
  return `v1=${createHmac('sha256', secret)
    .update(`${String(headers['x-certkeeper-timestamp'])}.${body}`)
    .digest('hex')}`;
}
