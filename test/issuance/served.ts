/**
 * End-to-end issuance rig: a real BIND9 (users' zone + dcv zone), a real Pebble resolving
 * through it, the tests' CA proxy in front of Pebble (test/helpers/ca-proxy.ts: counts and holds
 * requests, offers ARI), and the environment that makes `certkeeper serve` (test/e2e/helpers.ts)
 * issue against them with the variables an operator sets. Orders are made and read with the CLI.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIND_SKIP, DCV_ZONE, startBind, type BindServer } from '../helpers/bind.ts';
import { startCaProxy, type CaProxy, type CaProxyOptions } from '../helpers/ca-proxy.ts';
import { testMasterKey } from '../helpers/db.ts';
import { PEBBLE_SKIP, startPebble, type Pebble, type PebbleOptions } from '../helpers/pebble.ts';
import { cli, cliJson } from '../e2e/helpers.ts';

export const SERVED_SKIP = PEBBLE_SKIP || BIND_SKIP;

export interface OrderView {
  order: number;
  kind: string;
  name: string;
  step: string;
  certificateNo: number | null;
  domains: string[];
  method: string;
  records: Array<{ name: string; type: string; value: string; state: string }>;
  problem: { type: string; detail?: string } | null;
  lastError: string | null;
}

export interface IssuanceRig {
  bind: BindServer;
  pebble: Pebble;
  proxy: CaProxy;
  dir: string;
  /** `certkeeper serve`/CLI environment: SQLite in `dir` unless `databaseUrl`, short timings. */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** Orders Pebble itself says it created ("Added order" lines of its log). */
  pebbleOrders(): number;
  /** Accounts Pebble holds (its last "There are now N accounts" line). */
  pebbleAccounts(): number;
  stop(): Promise<void>;
}

export async function startIssuanceRig(
  options: { pebble?: PebbleOptions; proxy?: CaProxyOptions; databaseUrl?: string } = {},
): Promise<IssuanceRig> {
  const bind = await startBind();
  const pebble = await startPebble({ ...options.pebble, dnsServer: `${bind.host}:${bind.port}` });
  const proxy = await startCaProxy(pebble, options.proxy);
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-issuance-e2e-'));
  const masterKey = testMasterKey();
  return {
    bind,
    pebble,
    proxy,
    dir,
    env(extra = {}) {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        CERTKEEPER_DATA_DIR: join(dir, 'data'),
        CERTKEEPER_PORT: '0',
        CERTKEEPER_LOG_LEVEL: 'info',
        CERTKEEPER_MASTER_KEY: masterKey,
        CERTKEEPER_ACME_DIRECTORY_URL: proxy.directoryUrl,
        CERTKEEPER_ACME_CA_FILE: proxy.caFile,
        CERTKEEPER_ACME_CONTACT: 'admin@example.test',
        CERTKEEPER_DCV_ZONE: DCV_ZONE,
        CERTKEEPER_DCV_DNS_SERVER: `${bind.host}:${bind.port}`,
        CERTKEEPER_DCV_TSIG_KEY: bind.dcvKey,
        CERTKEEPER_DCV_RESOLVER: `${bind.host}:${bind.port}`,
        CERTKEEPER_ISSUANCE_LEASE_SECONDS: '2',
        CERTKEEPER_ISSUANCE_POLL_MS: '100',
        ...extra,
      };
      if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
      else delete env.DATABASE_URL;
      return env;
    },
    pebbleOrders: () => pebble.log().match(/Added order /g)?.length ?? 0,
    pebbleAccounts: () => {
      const counts = [...pebble.log().matchAll(/There are now (\d+) accounts in memory/g)].map((m) => Number(m[1]));
      return counts.at(-1) ?? 0;
    },
    async stop() {
      await proxy.close();
      await pebble.stop();
      await bind.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `certkeeper cert request … --json`: the order as the CLI shows it. */
export function requestCertificate(env: NodeJS.ProcessEnv, name: string, domains: string[], more: string[] = []) {
  return cliJson<OrderView>(env, [
    'cert',
    'request',
    '--name',
    name,
    ...domains.flatMap((d) => ['--domain', d]),
    ...more,
  ]);
}

/** `certkeeper cert order show ORDER --json`. */
export function showOrder(env: NodeJS.ProcessEnv, orderId: number): Promise<OrderView> {
  return cliJson<OrderView>(env, ['cert', 'order', 'show', String(orderId)]);
}

export { cli };
