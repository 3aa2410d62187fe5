/**
 * Test helpers for the HTTP mechanism: a tiny fake of the store (only what the server itself
 * touches: ping, countByValidity, close), a log collector, and a config for tests. Tests about
 * certificates use the real store; these tests are about HTTP plumbing only.
 */
import { loadConfig, type Config } from '../../src/config/config.ts';
import type { Clock } from '../../src/core/ports.ts';
import type { ServerStore } from '../../src/server/index.ts';

export interface FakeStore extends ServerStore {
  pings: number;
  closed: boolean;
  close(): Promise<void>;
}

export interface FakeStoreOptions {
  ping?: () => Promise<void>;
  counts?: { valid: number; expired: number; notYetValid: number };
  countByValidity?: (
    tenantId: number | null,
    asOf: Date,
  ) => Promise<{ valid: number; expired: number; notYetValid: number }>;
}

export function fakeStore(options: FakeStoreOptions = {}): FakeStore {
  const store: FakeStore = {
    pings: 0,
    closed: false,
    async ping() {
      store.pings += 1;
      if (options.ping) await options.ping();
    },
    certificates: {
      countByValidity:
        options.countByValidity ?? (async () => options.counts ?? { valid: 0, expired: 0, notYetValid: 0 }),
    },
    async close() {
      store.closed = true;
    },
  };
  return store;
}

export const FIXED_NOW = new Date('2026-11-15T00:00:00Z');
export const fixedClock: Clock = { now: () => FIXED_NOW };

/** Defaults from loadConfig, with overrides (e.g. a tiny body limit that loadConfig would refuse). */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({ CERTKEEPER_PORT: '0', CERTKEEPER_LOG_LEVEL: 'info' }), ...overrides };
}

/** Collects pino's JSON lines. */
export class LogCollector {
  readonly lines: string[] = [];

  write(line: string): void {
    this.lines.push(line);
  }

  get text(): string {
    return this.lines.join('');
  }

  records(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Records of one request, by its id. */
  forRequest(reqId: string): Array<Record<string, unknown>> {
    return this.records().filter((r) => r.reqId === reqId);
  }
}
