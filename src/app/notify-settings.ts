/**
 * Settings of notifications (core/notifications/, src/notifiers/), read from the environment by
 * the app (server and CLI alike: the CLI's `notify test` sends too):
 *
 * | Variable | Default | Meaning |
 * |---|---|---|
 * | `CERTKEEPER_PUBLIC_URL` | `http://<CERTKEEPER_HOST>:<CERTKEEPER_PORT>` | base of the console links in notifications (`<base>/console/#/certificates/<no>`); http(s), no query or fragment |
 * | `CERTKEEPER_NOTIFY_ALLOW_PRIVATE` | `0` | `1`: channels may reach loopback and link-local addresses (refused otherwise, so a tenant cannot make the server call itself or a metadata service) |
 * | `CERTKEEPER_NOTIFY_LOG_DAYS` | 30 (1–3650) | how long the delivery log and finished deliveries are kept |
 * | `CERTKEEPER_NOTIFY_TIMEOUT_SECONDS` | 10 (1–120) | per delivery attempt; a slower channel is cut off and retried |
 * | `CERTKEEPER_NOTIFY_POLL_MS` | 1000 (50–60000) | the worker's pause between passes |
 * | `CERTKEEPER_NOTIFY_LEASE_SECONDS` | 60 (2–3600) | a worker's claim on a delivery: how long a crashed process's delivery waits before another process retries it; must exceed the timeout |
 * | `CERTKEEPER_NOTIFY_SCAN_SECONDS` | 60 (1–3600) | how often the expiry pass runs |
 *
 * Kept beside `loadConfig` like edge-worker-settings.ts (the Config object is pinned by its own
 * tests); same rules: empty means unset, a bad value stops the start naming the variable.
 */
import type { Config } from '../config/config.ts';

export interface NotifySettings {
  publicBaseUrl: string;
  allowPrivateAddresses: boolean;
  retentionMs: number;
  timeoutMs: number;
  pollMs: number;
  scanEveryMs: number;
  leaseMs: number;
}

function configError(message: string): Error {
  const error = new Error(message);
  error.name = 'ConfigError';
  return error;
}

function integer(env: NodeJS.ProcessEnv, name: string, min: number, max: number, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^[0-9]{1,9}$/.test(text) || Number(text) < min || Number(text) > max)
    throw configError(`${name} must be an integer from ${min} to ${max}; got ${JSON.stringify(text.slice(0, 40))}.`);
  return Number(text);
}

/** The listen address as a URL base (an IPv6 address in brackets). */
export function listenBaseUrl(config: Pick<Config, 'host' | 'port'>): string {
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host}:${config.port}`;
}

export function notifySettings(env: NodeJS.ProcessEnv, config: Pick<Config, 'host' | 'port'>): NotifySettings {
  const text = env.CERTKEEPER_PUBLIC_URL;
  let publicBaseUrl = listenBaseUrl(config);
  if (text !== undefined && text !== '') {
    const url = URL.canParse(text) ? new URL(text) : null;
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '')
      throw configError(
        `CERTKEEPER_PUBLIC_URL must be an http:// or https:// URL without query or fragment (e.g. https://certs.example.com); got ${JSON.stringify(text.slice(0, 80))}.`,
      );
    publicBaseUrl = url.toString().replace(/\/+$/, '');
  }
  const allow = env.CERTKEEPER_NOTIFY_ALLOW_PRIVATE ?? '';
  if (!['', '0', '1'].includes(allow))
    throw configError(`CERTKEEPER_NOTIFY_ALLOW_PRIVATE must be 0 or 1; got ${JSON.stringify(allow.slice(0, 40))}.`);
  const timeoutMs = integer(env, 'CERTKEEPER_NOTIFY_TIMEOUT_SECONDS', 1, 120, 10) * 1000;
  const leaseMs = integer(env, 'CERTKEEPER_NOTIFY_LEASE_SECONDS', 2, 3600, 60) * 1000;
  // A lease shorter than an attempt would let a second process send while the first still waits.
  if (leaseMs <= timeoutMs)
    throw configError(
      `CERTKEEPER_NOTIFY_LEASE_SECONDS (${leaseMs / 1000}) must be longer than CERTKEEPER_NOTIFY_TIMEOUT_SECONDS (${timeoutMs / 1000}).`,
    );
  return {
    publicBaseUrl,
    allowPrivateAddresses: allow === '1',
    retentionMs: integer(env, 'CERTKEEPER_NOTIFY_LOG_DAYS', 1, 3650, 30) * 86_400_000,
    timeoutMs,
    pollMs: integer(env, 'CERTKEEPER_NOTIFY_POLL_MS', 50, 60_000, 1000),
    scanEveryMs: integer(env, 'CERTKEEPER_NOTIFY_SCAN_SECONDS', 1, 3600, 60) * 1000,
    leaseMs,
  };
}
