/**
 * The one validated configuration object, read once from the environment at boot.
 *
 * Contract:
 * - `loadConfig(process.env)` returns a frozen `Config` or throws a `ConfigError` that lists every
 *   bad variable at once (name, what is wrong, what is accepted). Nothing else reads
 *   `process.env`; everything else takes a `Config` (or the few fields it needs).
 * - An empty variable (`CERTKEEPER_PORT=`) counts as unset and gets the default, so an env file
 *   with blank lines for optional settings works.
 * - Secret variables (`DATABASE_URL`, `CERTKEEPER_MASTER_KEY`) come back wrapped in `Secret` and
 *   their values are never echoed in errors; other variables' bad values are quoted back to help.
 *
 * @example
 * ```ts
 * const config = loadConfig(process.env);
 * await startServer({ config, store, clock: systemClock, faces: [] });
 * ```
 */
import { isIP } from 'node:net';
import path from 'node:path';
import { ConfigError, type ConfigProblem } from './config-error.ts';
import { Secret } from './secret.ts';

export { ConfigError, type ConfigProblem } from './config-error.ts';
export { Secret } from './secret.ts';

// ---------------------------------------------------------------------------------------------
// Named defaults and limits

export const DEFAULT_DATA_DIR = './data';
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';
/** Korea Standard Time: both NCP and NHN print their timestamps in it. */
export const DEFAULT_API_TIMEZONE = '+09:00';
/** NHN's own token lifetime (one day). */
export const DEFAULT_TOKEN_TTL_SECONDS = 86_400;
export const TOKEN_TTL_MIN_SECONDS = 60;
export const TOKEN_TTL_MAX_SECONDS = 86_400;

const MiB = 1024 * 1024;
/**
 * Request body cap. Why 4 MiB: the largest import the ladder accepts is a 2 MiB chain + a 32 KiB
 * certificate + a 16 KiB key = 2,146,304 bytes of PEM. JSON escaping turns each line break into
 * two bytes (`\n`): +1.6 % for 64-column PEM, +3.1 % with CRLF, so about 2.2 MiB. Should a face
 * take form-urlencoded bodies, `+`, `/`, `=`, CR and LF cost three bytes each: about +12 %, so
 * about 2.4 MiB. 4 MiB covers that with room for the rest of the request.
 */
export const DEFAULT_BODY_LIMIT_BYTES = 4 * MiB;
export const DEFAULT_TLS_PORT = 8443;
/** Below this a valid maximum-size import (about 2.4 MiB on the wire, see above) would get a 413. */
export const BODY_LIMIT_MIN_BYTES = 3 * MiB;
/** Bodies are buffered in memory before parsing; past this one request can hurt the process. */
export const BODY_LIMIT_MAX_BYTES = 64 * MiB;
/** `CERTKEEPER_RATE_LIMIT`: up to a million requests a second, in steps of a thousandth. */
export const RATE_LIMIT_MAX_PER_SECOND = 1_000_000;
export const RATE_LIMIT_BURST_MAX = 1_000_000;
/** Bytes of key material AES-256 needs. */
export const MASTER_KEY_BYTES = 32;

// ---------------------------------------------------------------------------------------------
// The result

export interface Config {
  /** `CERTKEEPER_DATA_DIR`, absolute: SQLite database, master key file. */
  readonly dataDir: string;
  /** `CERTKEEPER_HOST`: address to listen on (IP address or host name). */
  readonly host: string;
  /** `CERTKEEPER_PORT`: TCP port, 0 asks the OS for a free one (tests). */
  readonly port: number;
  /** `DATABASE_URL`: PostgreSQL connection string; `null` means SQLite under `dataDir`. */
  readonly databaseUrl: Secret<string> | null;
  /** `CERTKEEPER_MASTER_KEY`: the 32-byte master key; `null` means the key file in `dataDir`. */
  readonly masterKey: Secret<Buffer> | null;
  /** `CERTKEEPER_LOG_LEVEL`: pino level. */
  readonly logLevel: LogLevel;
  /** `CERTKEEPER_API_TIMEZONE`: UTC offset the cloud APIs print their timestamps in, `±HH:MM`. */
  readonly apiTimezone: string;
  /** The same offset in minutes east of UTC (`+09:00` is 540, `-03:30` is -210). */
  readonly apiTimezoneOffsetMinutes: number;
  /** `CERTKEEPER_TOKEN_TTL_SECONDS`: lifetime of NHN bearer tokens. */
  readonly tokenTtlSeconds: number;
  /** `CERTKEEPER_BODY_LIMIT_BYTES`: largest request body accepted; larger gets 413. */
  readonly bodyLimitBytes: number;
  /**
   * `CERTKEEPER_ALLOWED_HOSTS`: host names requests may name in `Host`, besides IP literals,
   * `localhost` and `CERTKEEPER_HOST` (server/allowed-hosts.ts); `*` allows any.
   */
  readonly allowedHosts: { readonly any: boolean; readonly names: readonly string[] };
  /**
   * The HTTPS listener: `CERTKEEPER_TLS_CERT_FILE` and `CERTKEEPER_TLS_KEY_FILE` (both or neither),
   * on `CERTKEEPER_TLS_PORT`; null when off (server/tls.ts).
   */
  readonly tls: { readonly certFile: string; readonly keyFile: string; readonly port: number } | null;
  /**
   * Requests per credential on the API faces (core/rate-limit.ts): `CERTKEEPER_RATE_LIMIT` per
   * second sustained, `CERTKEEPER_RATE_LIMIT_BURST` at once (default: the rate rounded up, at
   * least 1); null when off (the default).
   */
  readonly rateLimit: { readonly perSecond: number; readonly burst: number } | null;
  /**
   * `CERTKEEPER_CONSOLE_TARGET_EDIT` (`on` or `off`, default off): whether the web console may
   * change deployment targets. A directory target makes the server write private keys to a path
   * and run a command as its own OS user, so a browser session that can change it acts as that
   * user; off, targets are set with `certkeeper target set` on the server (docs/operations.md).
   */
  readonly consoleTargetEdit: boolean;
}

// ---------------------------------------------------------------------------------------------
// One check per variable. Messages say what is accepted; `got` quotes non-secret input only.
//
// Hand-written rather than a schema library: this is all the validation the process needs at
// start, and loading zod (95 modules) cost ~0.1 s and ~14 MB of every start for these nine checks.

/** A variable's value, or what is wrong with its text (the message, without the variable name). */
type Checked<T> = { ok: true; value: T } | { ok: false; message: string };
type Check<T> = (text: string) => Checked<T>;

const valid = <T>(value: T): Checked<T> => ({ ok: true, value });
const invalid = (message: string): Checked<never> => ({ ok: false, message });

/** Quotes a non-secret value for an error message, cut short so a pasted file cannot flood it. */
function got(input: unknown): string {
  const text = String(input);
  return `got ${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)}`;
}

/**
 * Plain decimal digits (no sign, exponent, spaces or other scripts' digits) for an integer from
 * `min` to `max`. Every refusal says `accepted`, even past 2^53 (16 digits can be).
 */
function integerIn(min: number, max: number, accepted: string): Check<number> {
  return (text) => {
    if (!/^[0-9]{1,16}$/.test(text)) return invalid(`${accepted}; ${got(text)}`);
    const value = Number(text);
    if (value >= min && value <= max) return valid(value);
    // The number as read (`080` quotes as "80"), or the text when it is past exact integers.
    return invalid(`${accepted}; ${got(Number.isSafeInteger(value) ? value : text)}`);
  };
}

/** A check that keeps the text when `accept` says yes, and says `message(text)` otherwise. */
function textWhere(accept: (text: string) => boolean, message: (text: string) => string): Check<string> {
  return (text) => (accept(text) ? valid(text) : invalid(message(text)));
}

const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const UTC_OFFSET = /^([+-])([0-9]{2}):([0-9]{2})$/;

/** Parses `±HH:MM` into minutes east of UTC, or null when out of the real-world range. */
function offsetMinutes(text: string): number | null {
  const m = UTC_OFFSET.exec(text);
  if (!m) return null;
  const [, sign, hh, mm] = m;
  const minutes = Number(hh) * 60 + Number(mm);
  if (Number(mm) > 59) return null;
  const signed = sign === '-' && minutes !== 0 ? -minutes : minutes;
  // Real offsets run from UTC-12:00 (Baker Island) to UTC+14:00 (Line Islands).
  return signed < -12 * 60 || signed > 14 * 60 ? null : signed;
}

/** Strict canonical base64: Buffer.from() silently skips junk, so re-encoding must round-trip. */
function decodeBase64Strict(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

function isPostgresUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
  } catch {
    return false;
  }
}

function isLogLevel(text: string): text is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(text);
}

const variables = {
  /** Where certkeeper keeps its files; relative paths are resolved against the working directory. */
  CERTKEEPER_DATA_DIR: textWhere(
    (v) => !v.includes('\0'),
    () => 'must be a directory path without NUL characters',
  ),

  /** Listen address: an IPv4/IPv6 address (`127.0.0.1`, `0.0.0.0`, `::`) or a host name. */
  CERTKEEPER_HOST: textWhere(
    (v) => isIP(v) !== 0 || HOST_NAME.test(v),
    (v) =>
      `must be an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1, without brackets) or a host name (e.g. localhost); ${got(v)}`,
  ),

  /** TCP port; 0 lets the OS pick a free port (used by tests). */
  CERTKEEPER_PORT: integerIn(0, 65_535, 'must be an integer from 0 to 65535 (0 picks a free port)'),

  /** PostgreSQL connection URL. Secret (may hold a password): never echoed. */
  DATABASE_URL: textWhere(
    isPostgresUrl,
    () =>
      'must be a PostgreSQL URL such as postgres://user:password@host:5432/certkeeper (scheme postgres:// or postgresql://, with a host); unset it to use SQLite in CERTKEEPER_DATA_DIR (value not shown: it may hold a password)',
  ),

  /** Master key as base64 of 32 bytes. Secret: never echoed, only its decoded length. */
  CERTKEEPER_MASTER_KEY: (text: string): Checked<Buffer> => {
    const bytes = decodeBase64Strict(text);
    if (bytes?.length === MASTER_KEY_BYTES) return valid(bytes);
    const what = bytes === null ? 'is not canonical base64' : `decodes to ${bytes.length} bytes`;
    return invalid(
      `${what}: must be the standard base64 of exactly ${MASTER_KEY_BYTES} random bytes (44 characters ending in "=", e.g. from \`openssl rand -base64 32\`); unset it to use the key file in CERTKEEPER_DATA_DIR (value not shown)`,
    );
  },

  /** pino level; case-insensitive (a refusal quotes the value lower-cased). */
  CERTKEEPER_LOG_LEVEL: (text: string): Checked<LogLevel> => {
    const level = text.toLowerCase();
    return isLogLevel(level) ? valid(level) : invalid(`must be one of ${LOG_LEVELS.join(', ')}; ${got(level)}`);
  },

  /**
   * UTC offset for timestamps on the cloud API faces. Only fixed `±HH:MM` offsets from -12:00 to
   * +14:00 are accepted, not zone names (`Asia/Seoul`) or `Z`: the real services print a fixed
   * offset, and a zone name would make the wire format change with daylight saving time.
   */
  CERTKEEPER_API_TIMEZONE: textWhere(
    (v) => offsetMinutes(v) !== null,
    (v) =>
      `must be a UTC offset written ±HH:MM from -12:00 to +14:00 (e.g. +09:00, +00:00, -05:00); zone names such as Asia/Seoul are not accepted; ${got(v)}`,
  ),

  /** Lifetime of NHN bearer tokens, in seconds. */
  CERTKEEPER_TOKEN_TTL_SECONDS: integerIn(
    TOKEN_TTL_MIN_SECONDS,
    TOKEN_TTL_MAX_SECONDS,
    `must be an integer number of seconds from ${TOKEN_TTL_MIN_SECONDS} to ${TOKEN_TTL_MAX_SECONDS}`,
  ),

  /** Largest request body, in bytes (see DEFAULT_BODY_LIMIT_BYTES for the arithmetic). */
  CERTKEEPER_BODY_LIMIT_BYTES: integerIn(
    BODY_LIMIT_MIN_BYTES,
    BODY_LIMIT_MAX_BYTES,
    `must be an integer number of bytes from ${BODY_LIMIT_MIN_BYTES} (3 MiB, the largest import) to ${BODY_LIMIT_MAX_BYTES} (64 MiB)`,
  ),

  /** Comma-separated host names (or IP addresses) the server is reached by, or `*` for any. */
  CERTKEEPER_ALLOWED_HOSTS: (text: string): Checked<{ any: boolean; names: string[] }> => {
    if (text.trim() === '*') return valid({ any: true, names: [] });
    const names = text.split(',').map((name) => name.trim().replace(/\.$/, ''));
    const bad = names.find((name) => isIP(name) === 0 && !HOST_NAME.test(name));
    if (bad !== undefined)
      return invalid(
        `must be host names or IP addresses separated by commas (e.g. certs.example.com,10.0.0.5), or * for any host; ${got(bad)}`,
      );
    return valid({ any: false, names: [...new Set(names.map((name) => name.toLowerCase()))] });
  },

  /** PEM file of the HTTPS listener's certificate (leaf first, then intermediates). */
  CERTKEEPER_TLS_CERT_FILE: textWhere(
    (v) => !v.includes('\0'),
    () => 'must be a file path without NUL characters',
  ),

  /** PEM file of the HTTPS listener's private key. */
  CERTKEEPER_TLS_KEY_FILE: textWhere(
    (v) => !v.includes('\0'),
    () => 'must be a file path without NUL characters',
  ),

  /** TCP port of the HTTPS listener; 0 picks a free one (tests). */
  CERTKEEPER_TLS_PORT: integerIn(0, 65_535, 'must be an integer from 0 to 65535 (0 picks a free port)'),

  /** Requests per second per credential: plain decimal, up to three decimals (`0.5`, `20`). */
  CERTKEEPER_RATE_LIMIT: (text: string): Checked<number> => {
    const accepted = `must be a number of requests per second above 0 and at most ${RATE_LIMIT_MAX_PER_SECOND}, with at most three decimals (e.g. 20 or 0.5); unset it to turn rate limits off`;
    if (!/^[0-9]{1,7}(?:\.[0-9]{1,3})?$/.test(text)) return invalid(`${accepted}; ${got(text)}`);
    const value = Number(text);
    return value > 0 && value <= RATE_LIMIT_MAX_PER_SECOND ? valid(value) : invalid(`${accepted}; ${got(text)}`);
  },

  /** Requests a credential may send at once after an idle spell. */
  CERTKEEPER_RATE_LIMIT_BURST: integerIn(
    1,
    RATE_LIMIT_BURST_MAX,
    `must be an integer number of requests from 1 to ${RATE_LIMIT_BURST_MAX}`,
  ),

  /** Whether the console may change deployment targets: `on` or `off` (case-insensitive). */
  CERTKEEPER_CONSOLE_TARGET_EDIT: (text: string): Checked<boolean> => {
    const value = text.toLowerCase();
    if (value === 'on' || value === 'off') return valid(value === 'on');
    return invalid(
      `must be on or off (on lets console sessions whose role may manage targets change them; docs/operations.md); ${got(value)}`,
    );
  },
};

type Variable = keyof typeof variables;
/** Every variable is optional (unset means its default). */
type Values = { [K in Variable]?: (typeof variables)[K] extends Check<infer T> ? T : never };

/** The variables loadConfig reads, in the order it reports them. */
export const CONFIG_VARIABLES = Object.keys(variables) as ReadonlyArray<Variable>;

export interface LoadConfigOptions {
  /** Base for a relative `CERTKEEPER_DATA_DIR`; defaults to `process.cwd()`. */
  cwd?: string;
}

/** Reads and validates the environment once. Throws `ConfigError` listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv, options: LoadConfigOptions = {}): Config {
  const values: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  for (const variable of CONFIG_VARIABLES) {
    const text = env[variable];
    // An empty string counts as unset, so `CERTKEEPER_PORT=` in an env file means the default.
    if (text === undefined || text === '') continue;
    const checked = (variables[variable] as Check<unknown>)(text);
    if (checked.ok) values[variable] = checked.value;
    else problems.push({ variable, message: checked.message });
  }
  const v = values as Values;
  // The HTTPS listener needs both files; one without the other is a mistake, not "off".
  for (const [given, missing] of [
    ['CERTKEEPER_TLS_CERT_FILE', 'CERTKEEPER_TLS_KEY_FILE'],
    ['CERTKEEPER_TLS_KEY_FILE', 'CERTKEEPER_TLS_CERT_FILE'],
  ] as const) {
    if (v[given] !== undefined && v[missing] === undefined)
      problems.push({ variable: missing, message: `must be set too when ${given} is (the HTTPS listener needs both)` });
  }
  if (v.CERTKEEPER_RATE_LIMIT_BURST !== undefined && v.CERTKEEPER_RATE_LIMIT === undefined)
    problems.push({
      variable: 'CERTKEEPER_RATE_LIMIT',
      message: 'must be set too when CERTKEEPER_RATE_LIMIT_BURST is (a burst without a rate limits nothing)',
    });
  if (problems.length > 0) throw new ConfigError(problems);
  const apiTimezone = v.CERTKEEPER_API_TIMEZONE ?? DEFAULT_API_TIMEZONE;
  const apiTimezoneOffsetMinutes = offsetMinutes(apiTimezone) ?? 0;
  return Object.freeze({
    dataDir: path.resolve(options.cwd ?? process.cwd(), v.CERTKEEPER_DATA_DIR ?? DEFAULT_DATA_DIR),
    host: v.CERTKEEPER_HOST ?? DEFAULT_HOST,
    port: v.CERTKEEPER_PORT ?? DEFAULT_PORT,
    databaseUrl: v.DATABASE_URL === undefined ? null : new Secret(v.DATABASE_URL),
    masterKey: v.CERTKEEPER_MASTER_KEY === undefined ? null : new Secret(v.CERTKEEPER_MASTER_KEY),
    logLevel: v.CERTKEEPER_LOG_LEVEL ?? DEFAULT_LOG_LEVEL,
    // -00:00 means the same as +00:00; print it one way.
    apiTimezone: apiTimezoneOffsetMinutes === 0 ? '+00:00' : apiTimezone,
    apiTimezoneOffsetMinutes,
    tokenTtlSeconds: v.CERTKEEPER_TOKEN_TTL_SECONDS ?? DEFAULT_TOKEN_TTL_SECONDS,
    bodyLimitBytes: v.CERTKEEPER_BODY_LIMIT_BYTES ?? DEFAULT_BODY_LIMIT_BYTES,
    allowedHosts: Object.freeze(v.CERTKEEPER_ALLOWED_HOSTS ?? { any: false, names: [] }),
    tls:
      v.CERTKEEPER_TLS_CERT_FILE !== undefined && v.CERTKEEPER_TLS_KEY_FILE !== undefined
        ? Object.freeze({
            certFile: path.resolve(options.cwd ?? process.cwd(), v.CERTKEEPER_TLS_CERT_FILE),
            keyFile: path.resolve(options.cwd ?? process.cwd(), v.CERTKEEPER_TLS_KEY_FILE),
            port: v.CERTKEEPER_TLS_PORT ?? DEFAULT_TLS_PORT,
          })
        : null,
    rateLimit:
      v.CERTKEEPER_RATE_LIMIT === undefined
        ? null
        : Object.freeze({
            perSecond: v.CERTKEEPER_RATE_LIMIT,
            burst: v.CERTKEEPER_RATE_LIMIT_BURST ?? Math.max(1, Math.ceil(v.CERTKEEPER_RATE_LIMIT)),
          }),
    consoleTargetEdit: v.CERTKEEPER_CONSOLE_TARGET_EDIT ?? false,
  } satisfies Config);
}

// ---------------------------------------------------------------------------------------------
// Issuance (issue 16): ACME CA and domain control validation. Read by `loadIssuanceConfig`, kept
// apart from `Config` (whose shape its tests pin); same rules: empty means unset, secrets wrapped.

export const DEFAULT_ACME_DIRECTORY_URL = 'https://acme-v02.api.letsencrypt.org/directory';

export interface IssuanceConfig {
  /** `CERTKEEPER_ACME_DIRECTORY_URL`. */
  readonly directoryUrl: string;
  /** `CERTKEEPER_ACME_CA_FILE`: PEM to trust for the directory's HTTPS (besides Node's roots). */
  readonly caFile: string | null;
  /** `CERTKEEPER_ACME_EAB_KID` and `CERTKEEPER_ACME_EAB_HMAC_KEY` (both or neither). */
  readonly eab: { readonly kid: string; readonly hmacKey: Secret<string> } | null;
  /** `CERTKEEPER_ACME_CONTACT`: comma-separated e-mail addresses or mailto: URLs. */
  readonly contact: readonly string[];
  /** DNS-01 by CNAME delegation; null when not configured. */
  readonly dcv: {
    /** `CERTKEEPER_DCV_ZONE`. */
    readonly zone: string;
    /** `CERTKEEPER_DCV_DNS_SERVER` (host:port) taking RFC 2136 updates. */
    readonly dnsServer: string;
    /** `CERTKEEPER_DCV_TSIG_KEY`: `algorithm:name:base64secret`. */
    readonly tsigKey: Secret<string>;
    /** `CERTKEEPER_DCV_RESOLVER` (host:port); null means the system resolver. */
    readonly resolver: string | null;
    /**
     * `CERTKEEPER_DCV_WINDOW_SECONDS` (seconds, default 259200 = 72 h): how long a user has to
     * create the `_acme-challenge` CNAME before the order ends VALIDATION_EXPIRE (NCP -4). The
     * one reader of the window; `CERTKEEPER_DCV_VALIDATION_WINDOW` is its deprecated alias.
     */
    readonly validationWindowMs: number;
  } | null;
  /** `CERTKEEPER_HTTP01_PORT`: where certkeeper answers HTTP-01; null when off. */
  readonly http01Port: number | null;
  /**
   * `CERTKEEPER_ACME_MAX_REQUESTS_PER_SECOND` (default 20; 0: no cap): the issuance worker's
   * requests to the CA, spaced evenly, so a backlog of orders cannot take the API's event loop.
   */
  readonly maxRequestsPerSecond: number;
}

/**
 * Issuance is on (`config`) or off, with why (the variables missing), for the start-up log;
 * `warnings`: what the start-up log also says (a deprecated variable name in use).
 */
export type IssuanceSetting = ({ on: true; config: IssuanceConfig } | { on: false; reason: string }) & {
  warnings?: readonly string[];
};

const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;
const hostPort: Check<string> = (text) => {
  const m = HOST_PORT.exec(text);
  return m && Number(m[1]) > 0 && Number(m[1]) < 65_536
    ? valid(text)
    : invalid(`must be host:port (e.g. 127.0.0.1:53 or ns1.example.com:53); ${got(text)}`);
};

const issuanceVariables = {
  CERTKEEPER_ACME_DIRECTORY_URL: textWhere(
    (v) => {
      try {
        const url = new URL(v);
        return url.protocol === 'https:' || url.protocol === 'http:';
      } catch {
        return false;
      }
    },
    (v) => `must be the http(s) URL of an ACME directory (RFC 8555 7.1.1); ${got(v)}`,
  ),
  CERTKEEPER_ACME_CA_FILE: textWhere(
    (v) => !v.includes('\0'),
    () => 'must be the path of a PEM file',
  ),
  CERTKEEPER_ACME_EAB_KID: textWhere(
    (v) => /^[\x21-\x7e]{1,256}$/.test(v),
    (v) => `must be the key id the CA gave (printable ASCII, no spaces); ${got(v)}`,
  ),
  /** Secret: never echoed. */
  CERTKEEPER_ACME_EAB_HMAC_KEY: textWhere(
    (v) => /^[A-Za-z0-9_\-+/]{16,}={0,2}$/.test(v),
    () => 'must be the base64url HMAC key the CA gave (value not shown)',
  ),
  CERTKEEPER_ACME_CONTACT: textWhere(
    (v) => v.split(',').every((c) => /^(mailto:)?[^\s@,]+@[^\s@,]+$/.test(c.trim())),
    (v) => `must be comma-separated e-mail addresses (mailto: optional); ${got(v)}`,
  ),
  CERTKEEPER_DCV_ZONE: textWhere(
    (v) => HOST_NAME.test(v.replace(/\.$/, '')),
    (v) => `must be a DNS zone name (e.g. dcv.example.com); ${got(v)}`,
  ),
  CERTKEEPER_DCV_DNS_SERVER: hostPort,
  /** Secret: never echoed. */
  CERTKEEPER_DCV_TSIG_KEY: textWhere(
    (v) =>
      /^hmac-(?:md5|sha1|sha224|sha256|sha384|sha512)(?:\.sig-alg\.reg\.int)?:[A-Za-z0-9._-]+\.?:[A-Za-z0-9+/]+={0,2}$/i.test(
        v,
      ),
    () => 'must be algorithm:name:base64secret, e.g. hmac-sha256:certkeeper-dcv:c2VjcmV0… (value not shown)',
  ),
  CERTKEEPER_DCV_RESOLVER: hostPort,
  CERTKEEPER_DCV_WINDOW_SECONDS: integerIn(1, 2_592_000, 'must be a number of seconds from 1 to 2592000 (30 days)'),
  /** Deprecated name of CERTKEEPER_DCV_WINDOW_SECONDS: read with a start-up warning. */
  CERTKEEPER_DCV_VALIDATION_WINDOW: integerIn(1, 2_592_000, 'must be a number of seconds from 1 to 2592000 (30 days)'),
  CERTKEEPER_HTTP01_PORT: integerIn(1, 65_535, 'must be an integer from 1 to 65535'),
  CERTKEEPER_ACME_MAX_REQUESTS_PER_SECOND: integerIn(0, 1000, 'must be an integer from 0 (no cap) to 1000'),
};

/** CA requests per second when `CERTKEEPER_ACME_MAX_REQUESTS_PER_SECOND` is unset: Let's Encrypt's per-endpoint limit. */
export const DEFAULT_ACME_MAX_REQUESTS_PER_SECOND = 20;

/** The issuance variables, in the order they are reported. */
export const ISSUANCE_VARIABLES = Object.keys(issuanceVariables) as ReadonlyArray<keyof typeof issuanceVariables>;

/**
 * Reads the issuance variables. Throws `ConfigError` for a bad value, and when the validation
 * window is given under both its names with different values; answers `{ on: false }` with the
 * missing variables named when neither DNS-01 (zone, DNS server and TSIG key) nor HTTP-01 (port)
 * is configured, or when only half of EAB or of the DCV settings is given. The window's
 * deprecated name alone is read, with a warning.
 */
export function loadIssuanceConfig(env: NodeJS.ProcessEnv): IssuanceSetting {
  const values: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  for (const variable of ISSUANCE_VARIABLES) {
    const text = env[variable];
    if (text === undefined || text === '') continue;
    const checked = (issuanceVariables[variable] as Check<unknown>)(text);
    if (checked.ok) values[variable] = checked.value;
    else problems.push({ variable, message: checked.message });
  }
  const window = values.CERTKEEPER_DCV_WINDOW_SECONDS as number | undefined;
  const windowAlias = values.CERTKEEPER_DCV_VALIDATION_WINDOW as number | undefined;
  if (window !== undefined && windowAlias !== undefined && window !== windowAlias)
    problems.push({
      variable: 'CERTKEEPER_DCV_VALIDATION_WINDOW',
      message: `is the deprecated name of CERTKEEPER_DCV_WINDOW_SECONDS, and the two differ (${windowAlias} and ${window}); set CERTKEEPER_DCV_WINDOW_SECONDS only`,
    });
  if (problems.length > 0) throw new ConfigError(problems);
  const warnings =
    windowAlias === undefined
      ? []
      : [
          'CERTKEEPER_DCV_VALIDATION_WINDOW is deprecated: set CERTKEEPER_DCV_WINDOW_SECONDS (the same number of seconds) instead',
        ];
  const setting = issuanceSetting(values, window ?? windowAlias);
  return warnings.length > 0 ? { ...setting, warnings } : setting;
}

function issuanceSetting(values: Record<string, unknown>, windowSeconds: number | undefined): IssuanceSetting {
  const v = values as Record<keyof typeof issuanceVariables, string | number | undefined>;
  const str = (name: keyof typeof issuanceVariables): string | undefined => v[name] as string | undefined;
  const dcvParts = ['CERTKEEPER_DCV_ZONE', 'CERTKEEPER_DCV_DNS_SERVER', 'CERTKEEPER_DCV_TSIG_KEY'] as const;
  const dcvMissing = dcvParts.filter((name) => v[name] === undefined);
  if (dcvMissing.length > 0 && dcvMissing.length < dcvParts.length)
    return { on: false, reason: `DNS-01 validation needs ${dcvMissing.join(' and ')} as well` };
  if ((v.CERTKEEPER_ACME_EAB_KID === undefined) !== (v.CERTKEEPER_ACME_EAB_HMAC_KEY === undefined))
    return {
      on: false,
      reason: 'External Account Binding needs both CERTKEEPER_ACME_EAB_KID and CERTKEEPER_ACME_EAB_HMAC_KEY',
    };
  const http01Port = (v.CERTKEEPER_HTTP01_PORT as number | undefined) ?? null;
  if (dcvMissing.length > 0 && http01Port === null)
    return {
      on: false,
      reason: `no validation method is configured: set ${dcvParts.join(', ')} (DNS-01) or CERTKEEPER_HTTP01_PORT (HTTP-01)`,
    };
  return {
    on: true,
    config: Object.freeze({
      directoryUrl: str('CERTKEEPER_ACME_DIRECTORY_URL') ?? DEFAULT_ACME_DIRECTORY_URL,
      caFile: str('CERTKEEPER_ACME_CA_FILE') ?? null,
      eab:
        str('CERTKEEPER_ACME_EAB_KID') === undefined
          ? null
          : { kid: str('CERTKEEPER_ACME_EAB_KID')!, hmacKey: new Secret(str('CERTKEEPER_ACME_EAB_HMAC_KEY')!) },
      contact: (str('CERTKEEPER_ACME_CONTACT') ?? '')
        .split(',')
        .map((c) => c.trim())
        .filter((c) => c !== ''),
      dcv:
        dcvMissing.length > 0
          ? null
          : {
              zone: str('CERTKEEPER_DCV_ZONE')!.replace(/\.$/, '').toLowerCase(),
              dnsServer: str('CERTKEEPER_DCV_DNS_SERVER')!,
              tsigKey: new Secret(str('CERTKEEPER_DCV_TSIG_KEY')!),
              resolver: str('CERTKEEPER_DCV_RESOLVER') ?? null,
              validationWindowMs: (windowSeconds ?? 259_200) * 1000,
            },
      http01Port,
      maxRequestsPerSecond:
        (v.CERTKEEPER_ACME_MAX_REQUESTS_PER_SECOND as number | undefined) ?? DEFAULT_ACME_MAX_REQUESTS_PER_SECOND,
    }),
  };
}
