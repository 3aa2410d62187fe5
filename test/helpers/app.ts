/**
 * A real certkeeper for tests: the real store (SQLite in a temp dir, or a fresh PostgreSQL
 * database), the real core, the real Fastify server with every face, listening on a loopback port.
 * Tests talk to it over HTTP like any client would. The clock is injectable so tests can move time
 * across expiry without waiting.
 *
 * ```ts
 * const app = await startTestApp();
 * const res = await fetch(`${app.baseUrl}/healthz`);
 * await app.close();
 * ```
 */
import { notifySettings } from '../../src/app/notify-settings.ts';
import { openApp, type App } from '../../src/app/app.ts';
import { buildFaces } from '../../src/app/faces.ts';
import { loadConfig, type Config, type IssuanceSetting } from '../../src/config/config.ts';
import { cliActor, type Actor } from '../../src/core/actor.ts';
import type { Clock } from '../../src/core/ports.ts';
import type { Role, Tenant } from '../../src/domain/model.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { freshPostgres, freshSqlite, testMasterKey, type TestLocation } from './db.ts';

/** A clock tests can set and move. */
export class TestClock implements Clock {
  private current: number;
  constructor(start: Date = new Date()) {
    this.current = start.getTime();
  }
  now(): Date {
    return new Date(this.current);
  }
  set(date: Date): void {
    this.current = date.getTime();
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

/**
 * A clock that follows real time, for tests whose other side runs on the wall clock: a browser's
 * sessions, Pebble's certificates (valid from now), a worker's real timers.
 */
export class WallClock extends TestClock {
  override now(): Date {
    return new Date();
  }
}

export interface TestCredential {
  accessKey: string;
  secretKey: string;
  role: Role;
}

export interface TestTenant {
  tenant: Tenant;
  admin: TestCredential;
  viewer: TestCredential;
  /** The local operator of this tenant, for seeding through core directly. */
  actor: Actor;
}

export interface TestApp {
  baseUrl: string;
  app: App;
  config: Config;
  clock: TestClock;
  location: TestLocation;
  server: RunningServer;
  /** Tenant `default` with an ADMIN and a VIEWER credential. */
  main: TestTenant;
  /** Creates another tenant with its own credentials (for isolation tests). */
  addTenant(name: string): Promise<TestTenant>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  store?: 'sqlite' | 'postgres';
  clock?: TestClock;
  /** Extra environment for loadConfig (e.g. CERTKEEPER_API_TIMEZONE). */
  env?: Record<string, string>;
  /** Issuance on (`loadIssuanceConfig`'s answer); the faces get the service, no worker runs. */
  issuance?: IssuanceSetting;
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const location = options.store === 'postgres' ? await freshPostgres() : await freshSqlite();
  const clock = options.clock ?? new TestClock();
  const config = loadConfig({
    CERTKEEPER_DATA_DIR: location.dataDir,
    CERTKEEPER_PORT: '0',
    CERTKEEPER_LOG_LEVEL: 'silent',
    CERTKEEPER_MASTER_KEY: testMasterKey(),
    ...(location.databaseUrl ? { DATABASE_URL: location.databaseUrl } : {}),
    ...options.env,
  });
  // Notification settings from the same environment (CERTKEEPER_NOTIFY_*, CERTKEEPER_PUBLIC_URL).
  const app = await openApp(config, {
    clock,
    notify: notifySettings(options.env ?? {}, config),
    ...(options.issuance ? { issuance: options.issuance } : {}),
  });
  let server: RunningServer | null = null;
  try {
    server = await startServer({
      config,
      store: app.store,
      clock,
      faces: buildFaces(app.core, config, app.issuance),
      expiryHistogram: (asOf, bounds) => app.store.certificates.expiryHistogram(null, asOf, bounds),
      notificationCounts: () => app.store.notifications.countDeliveries(),
      rateLimitStats: () => app.core.rateLimit.stats(),
    });
    const addTenant = async (name: string): Promise<TestTenant> => {
      const tenant = await app.core.tenants.create(name);
      const admin = await app.core.credentials.createForTenant(tenant.id, 'ADMIN', 'test admin');
      const viewer = await app.core.credentials.createForTenant(tenant.id, 'VIEWER', 'test viewer');
      return {
        tenant,
        admin: { accessKey: admin.credential.accessKey, secretKey: admin.secretKey, role: 'ADMIN' },
        viewer: { accessKey: viewer.credential.accessKey, secretKey: viewer.secretKey, role: 'VIEWER' },
        actor: cliActor(tenant.id),
      };
    };
    const main = await addTenant('default');
    const running = server;
    return {
      baseUrl: running.address,
      app,
      config,
      clock,
      location,
      server: running,
      main,
      addTenant,
      async close() {
        await running.close();
        await app.close();
        await location.cleanup();
      },
    };
  } catch (error) {
    await server?.close();
    await app.close();
    await location.cleanup();
    throw error;
  }
}
