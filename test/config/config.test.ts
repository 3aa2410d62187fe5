import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { ConfigError, loadConfig, loadIssuanceConfig, Secret, type Config } from '../../src/config/config.ts';

/** A valid 32-byte key (bytes 0..31) and its base64. */
const KEY_BYTES = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const KEY_B64 = KEY_BYTES.toString('base64');

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected loadConfig(${JSON.stringify(env)}) to throw`);
}

describe('loadConfig: defaults', () => {
  it('an empty environment gives every named default', () => {
    const config = loadConfig({}, { cwd: '/srv/certkeeper' });
    assert.deepEqual(config, {
      dataDir: '/srv/certkeeper/data',
      host: '127.0.0.1',
      port: 8080,
      databaseUrl: null,
      masterKey: null,
      logLevel: 'info',
      apiTimezone: '+09:00',
      apiTimezoneOffsetMinutes: 540,
      tokenTtlSeconds: 86_400,
      bodyLimitBytes: 4 * 1024 * 1024,
      allowedHosts: { any: false, names: [] },
      tls: null,
      rateLimit: null,
      consoleTargetEdit: false,
    } satisfies Config);
  });

  it('CERTKEEPER_CONSOLE_TARGET_EDIT: on or off, any case; anything else is refused by name', () => {
    assert.equal(loadConfig({ CERTKEEPER_CONSOLE_TARGET_EDIT: 'on' }).consoleTargetEdit, true);
    assert.equal(loadConfig({ CERTKEEPER_CONSOLE_TARGET_EDIT: 'ON' }).consoleTargetEdit, true);
    assert.equal(loadConfig({ CERTKEEPER_CONSOLE_TARGET_EDIT: 'off' }).consoleTargetEdit, false);
    assert.throws(
      () => loadConfig({ CERTKEEPER_CONSOLE_TARGET_EDIT: 'yes' }),
      /CERTKEEPER_CONSOLE_TARGET_EDIT: must be on or off .*got "yes"/s,
    );
  });

  it('an empty string counts as unset', () => {
    const config = loadConfig(
      { CERTKEEPER_PORT: '', DATABASE_URL: '', CERTKEEPER_MASTER_KEY: '', CERTKEEPER_LOG_LEVEL: '' },
      { cwd: '/x' },
    );
    assert.equal(config.port, 8080);
    assert.equal(config.databaseUrl, null);
    assert.equal(config.masterKey, null);
    assert.equal(config.logLevel, 'info');
  });

  it('the data dir defaults relative to process.cwd()', () => {
    assert.equal(loadConfig({}).dataDir, `${process.cwd()}/data`);
  });

  it('returns a frozen object and ignores unrelated variables', () => {
    const config = loadConfig({ HOME: '/root', CERTKEEPER_UNKNOWN: 'x' });
    assert.ok(Object.isFrozen(config));
    assert.equal('CERTKEEPER_UNKNOWN' in config, false);
  });
});

describe('loadConfig: valid values', () => {
  const cases: Array<{ name: string; env: NodeJS.ProcessEnv; check: (c: Config) => void }> = [
    {
      name: 'relative data dir is resolved',
      env: { CERTKEEPER_DATA_DIR: 'var/ck' },
      check: (c) => assert.equal(c.dataDir, '/srv/var/ck'),
    },
    {
      name: 'absolute data dir is kept',
      env: { CERTKEEPER_DATA_DIR: '/var/lib/certkeeper' },
      check: (c) => assert.equal(c.dataDir, '/var/lib/certkeeper'),
    },
    { name: 'host IPv4 any', env: { CERTKEEPER_HOST: '0.0.0.0' }, check: (c) => assert.equal(c.host, '0.0.0.0') },
    { name: 'host IPv6', env: { CERTKEEPER_HOST: '::1' }, check: (c) => assert.equal(c.host, '::1') },
    { name: 'host name', env: { CERTKEEPER_HOST: 'localhost' }, check: (c) => assert.equal(c.host, 'localhost') },
    {
      name: 'host FQDN',
      env: { CERTKEEPER_HOST: 'certs.internal.example' },
      check: (c) => assert.equal(c.host, 'certs.internal.example'),
    },
    { name: 'port 0 (random)', env: { CERTKEEPER_PORT: '0' }, check: (c) => assert.equal(c.port, 0) },
    { name: 'port 65535', env: { CERTKEEPER_PORT: '65535' }, check: (c) => assert.equal(c.port, 65_535) },
    { name: 'port 443', env: { CERTKEEPER_PORT: '443' }, check: (c) => assert.equal(c.port, 443) },
    {
      name: 'postgres:// URL',
      env: { DATABASE_URL: 'postgres://ck:pw@db:5432/certkeeper' },
      check: (c) => assert.equal(c.databaseUrl?.reveal(), 'postgres://ck:pw@db:5432/certkeeper'),
    },
    {
      name: 'postgresql:// URL',
      env: { DATABASE_URL: 'postgresql://db/certkeeper' },
      check: (c) => assert.equal(c.databaseUrl?.reveal(), 'postgresql://db/certkeeper'),
    },
    {
      name: 'master key',
      env: { CERTKEEPER_MASTER_KEY: KEY_B64 },
      check: (c) => assert.deepEqual(c.masterKey?.reveal(), KEY_BYTES),
    },
    {
      name: 'log level debug',
      env: { CERTKEEPER_LOG_LEVEL: 'debug' },
      check: (c) => assert.equal(c.logLevel, 'debug'),
    },
    {
      name: 'log level silent',
      env: { CERTKEEPER_LOG_LEVEL: 'silent' },
      check: (c) => assert.equal(c.logLevel, 'silent'),
    },
    {
      name: 'log level is case-insensitive',
      env: { CERTKEEPER_LOG_LEVEL: 'WARN' },
      check: (c) => assert.equal(c.logLevel, 'warn'),
    },
    {
      name: 'timezone UTC',
      env: { CERTKEEPER_API_TIMEZONE: '+00:00' },
      check: (c) => assert.deepEqual([c.apiTimezone, c.apiTimezoneOffsetMinutes], ['+00:00', 0]),
    },
    {
      name: 'timezone -00:00 is printed +00:00',
      env: { CERTKEEPER_API_TIMEZONE: '-00:00' },
      check: (c) => assert.deepEqual([c.apiTimezone, c.apiTimezoneOffsetMinutes], ['+00:00', 0]),
    },
    {
      name: 'timezone negative with minutes',
      env: { CERTKEEPER_API_TIMEZONE: '-03:30' },
      check: (c) => assert.deepEqual([c.apiTimezone, c.apiTimezoneOffsetMinutes], ['-03:30', -210]),
    },
    {
      name: 'timezone +14:00 (upper bound)',
      env: { CERTKEEPER_API_TIMEZONE: '+14:00' },
      check: (c) => assert.equal(c.apiTimezoneOffsetMinutes, 840),
    },
    {
      name: 'timezone -12:00 (lower bound)',
      env: { CERTKEEPER_API_TIMEZONE: '-12:00' },
      check: (c) => assert.equal(c.apiTimezoneOffsetMinutes, -720),
    },
    {
      name: 'token TTL 60 (minimum)',
      env: { CERTKEEPER_TOKEN_TTL_SECONDS: '60' },
      check: (c) => assert.equal(c.tokenTtlSeconds, 60),
    },
    {
      name: 'token TTL 3600',
      env: { CERTKEEPER_TOKEN_TTL_SECONDS: '3600' },
      check: (c) => assert.equal(c.tokenTtlSeconds, 3600),
    },
    {
      name: 'body limit 3 MiB (minimum)',
      env: { CERTKEEPER_BODY_LIMIT_BYTES: '3145728' },
      check: (c) => assert.equal(c.bodyLimitBytes, 3_145_728),
    },
    {
      name: 'body limit 64 MiB (maximum)',
      env: { CERTKEEPER_BODY_LIMIT_BYTES: '67108864' },
      check: (c) => assert.equal(c.bodyLimitBytes, 67_108_864),
    },
    {
      name: 'rate limit 20/s: burst defaults to the rate',
      env: { CERTKEEPER_RATE_LIMIT: '20' },
      check: (c) => assert.deepEqual(c.rateLimit, { perSecond: 20, burst: 20 }),
    },
    {
      name: 'rate limit 0.5/s: burst defaults to 1 (the rate rounded up)',
      env: { CERTKEEPER_RATE_LIMIT: '0.5' },
      check: (c) => assert.deepEqual(c.rateLimit, { perSecond: 0.5, burst: 1 }),
    },
    {
      name: 'rate limit 2.25/s with burst 100',
      env: { CERTKEEPER_RATE_LIMIT: '2.25', CERTKEEPER_RATE_LIMIT_BURST: '100' },
      check: (c) => assert.deepEqual(c.rateLimit, { perSecond: 2.25, burst: 100 }),
    },
    {
      name: 'rate limit 1000000/s (maximum)',
      env: { CERTKEEPER_RATE_LIMIT: '1000000', CERTKEEPER_RATE_LIMIT_BURST: '1000000' },
      check: (c) => assert.deepEqual(c.rateLimit, { perSecond: 1_000_000, burst: 1_000_000 }),
    },
  ];
  for (const c of cases) {
    it(c.name, () => c.check(loadConfig(c.env, { cwd: '/srv' })));
  }
});

describe('loadConfig: invalid values name the variable and what is accepted', () => {
  const cases: Array<{ variable: string; value: string; says: RegExp }> = [
    { variable: 'CERTKEEPER_DATA_DIR', value: 'data\0dir', says: /directory path/ },
    { variable: 'CERTKEEPER_HOST', value: 'not a host', says: /IP address .* or a host name.*got "not a host"/ },
    { variable: 'CERTKEEPER_HOST', value: '[::1]', says: /without brackets/ },
    { variable: 'CERTKEEPER_HOST', value: '-bad.example', says: /host name/ },
    { variable: 'CERTKEEPER_PORT', value: 'http', says: /integer from 0 to 65535.*got "http"/ },
    { variable: 'CERTKEEPER_PORT', value: '65536', says: /integer from 0 to 65535.*got "65536"/ },
    { variable: 'CERTKEEPER_PORT', value: '-1', says: /integer from 0 to 65535/ },
    { variable: 'CERTKEEPER_PORT', value: '80.5', says: /integer from 0 to 65535/ },
    { variable: 'CERTKEEPER_PORT', value: '0x50', says: /integer from 0 to 65535/ },
    { variable: 'CERTKEEPER_PORT', value: ' 80', says: /integer from 0 to 65535/ },
    // 16 digits pass the digit rule but are past exact integers: still the variable's own message.
    { variable: 'CERTKEEPER_PORT', value: '9007199254740993', says: /integer from 0 to 65535.*got "9007199254740993"/ },
    { variable: 'DATABASE_URL', value: 'mysql://u@db/certkeeper', says: /postgres:\/\/ or postgresql:\/\// },
    { variable: 'DATABASE_URL', value: 'sqlite:./data/db.sqlite', says: /unset it to use SQLite/ },
    { variable: 'DATABASE_URL', value: 'not a url', says: /PostgreSQL URL/ },
    {
      variable: 'CERTKEEPER_MASTER_KEY',
      value: Buffer.alloc(16).toString('base64'),
      says: /decodes to 16 bytes.*exactly 32/,
    },
    { variable: 'CERTKEEPER_MASTER_KEY', value: 'not base64!', says: /not canonical base64/ },
    { variable: 'CERTKEEPER_MASTER_KEY', value: KEY_B64.slice(0, -1), says: /not canonical base64/ },
    { variable: 'CERTKEEPER_MASTER_KEY', value: KEY_BYTES.toString('base64url'), says: /not canonical base64/ },
    {
      variable: 'CERTKEEPER_LOG_LEVEL',
      value: 'verbose',
      says: /one of fatal, error, warn, info, debug, trace, silent; got "verbose"/,
    },
    { variable: 'CERTKEEPER_API_TIMEZONE', value: 'Asia/Seoul', says: /±HH:MM.*zone names .* not accepted/ },
    { variable: 'CERTKEEPER_API_TIMEZONE', value: 'Z', says: /±HH:MM/ },
    { variable: 'CERTKEEPER_API_TIMEZONE', value: '+0900', says: /±HH:MM/ },
    { variable: 'CERTKEEPER_API_TIMEZONE', value: '+15:00', says: /from -12:00 to \+14:00/ },
    { variable: 'CERTKEEPER_API_TIMEZONE', value: '+09:60', says: /±HH:MM/ },
    { variable: 'CERTKEEPER_TOKEN_TTL_SECONDS', value: '59', says: /from 60 to 86400; got "59"/ },
    { variable: 'CERTKEEPER_TOKEN_TTL_SECONDS', value: '86401', says: /from 60 to 86400/ },
    { variable: 'CERTKEEPER_TOKEN_TTL_SECONDS', value: '1h', says: /integer number of seconds/ },
    { variable: 'CERTKEEPER_BODY_LIMIT_BYTES', value: '1048576', says: /from 3145728 .* to 67108864/ },
    { variable: 'CERTKEEPER_BODY_LIMIT_BYTES', value: '67108865', says: /to 67108864/ },
    { variable: 'CERTKEEPER_BODY_LIMIT_BYTES', value: '4MiB', says: /integer number of bytes/ },
    { variable: 'CERTKEEPER_RATE_LIMIT', value: '0', says: /above 0 .*got "0"/ },
    { variable: 'CERTKEEPER_RATE_LIMIT', value: '0.000', says: /above 0/ },
    { variable: 'CERTKEEPER_RATE_LIMIT', value: '-5', says: /requests per second/ },
    { variable: 'CERTKEEPER_RATE_LIMIT', value: '1000000.001', says: /at most 1000000/ },
    { variable: 'CERTKEEPER_RATE_LIMIT', value: '0.0001', says: /three decimals/ },
    { variable: 'CERTKEEPER_RATE_LIMIT', value: '1e3', says: /got "1e3"/ },
    { variable: 'CERTKEEPER_RATE_LIMIT', value: '10/s', says: /requests per second/ },
    { variable: 'CERTKEEPER_RATE_LIMIT', value: ' 10', says: /requests per second/ },
    { variable: 'CERTKEEPER_RATE_LIMIT', value: '1\u00000', says: /requests per second/ },
  ];
  for (const c of cases) {
    it(`${c.variable}=${JSON.stringify(c.value)}`, () => {
      const error = configError({ [c.variable]: c.value });
      assert.deepEqual(
        error.problems.map((p) => p.variable),
        [c.variable],
      );
      assert.match(error.message, new RegExp(`- ${c.variable}: `));
      assert.match(error.problems[0]?.message ?? '', c.says);
    });
  }

  it('a burst without a rate is refused, naming the rate', () => {
    const error = configError({ CERTKEEPER_RATE_LIMIT_BURST: '10' });
    assert.deepEqual(
      error.problems.map((p) => p.variable),
      ['CERTKEEPER_RATE_LIMIT'],
    );
    assert.match(error.message, /CERTKEEPER_RATE_LIMIT: must be set too when CERTKEEPER_RATE_LIMIT_BURST is/);
  });

  for (const value of ['0', '1000001', '1.5', 'many']) {
    it(`CERTKEEPER_RATE_LIMIT_BURST=${JSON.stringify(value)}`, () => {
      const error = configError({ CERTKEEPER_RATE_LIMIT: '10', CERTKEEPER_RATE_LIMIT_BURST: value });
      assert.deepEqual(
        error.problems.map((p) => p.variable),
        ['CERTKEEPER_RATE_LIMIT_BURST'],
      );
      assert.match(
        error.message,
        /CERTKEEPER_RATE_LIMIT_BURST: must be an integer number of requests from 1 to 1000000/,
      );
    });
  }

  it('lists every bad variable in one error, in a stable order', () => {
    const error = configError({ CERTKEEPER_PORT: 'x', CERTKEEPER_LOG_LEVEL: 'y', CERTKEEPER_HOST: '!' });
    assert.deepEqual(
      error.problems.map((p) => p.variable),
      ['CERTKEEPER_HOST', 'CERTKEEPER_PORT', 'CERTKEEPER_LOG_LEVEL'],
    );
    assert.match(error.message, /^Invalid configuration: 3 environment variables are wrong:\n {2}- CERTKEEPER_HOST: /);
  });
});

describe('secrets are never echoed', () => {
  it('a bad DATABASE_URL does not appear in the error', () => {
    const url = 'mysql://admin:hunter2-secret@db/certkeeper';
    const error = configError({ DATABASE_URL: url });
    assert.equal(error.message.includes('hunter2'), false);
    assert.equal(JSON.stringify(error.problems).includes('hunter2'), false);
  });

  it('a bad master key does not appear in the error', () => {
    const shortKey = Buffer.from('sixteen-byte-key').toString('base64');
    const error = configError({ CERTKEEPER_MASTER_KEY: shortKey });
    assert.equal(error.message.includes(shortKey), false);
    assert.equal(error.message.includes('sixteen'), false);
  });

  it('a loaded config prints its secrets redacted', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://ck:hunter2@db/ck', CERTKEEPER_MASTER_KEY: KEY_B64 });
    for (const text of [JSON.stringify(config), inspect(config), `${String(config.databaseUrl)}`]) {
      assert.equal(text.includes('hunter2'), false, text);
      assert.equal(text.includes(KEY_B64), false, text);
    }
    assert.match(JSON.stringify(config), /"databaseUrl":"\[redacted\]","masterKey":"\[redacted\]"/);
    assert.ok(config.masterKey instanceof Secret);
  });
});

describe('loadIssuanceConfig: the validation window, one variable and its deprecated alias', () => {
  const dcv = {
    CERTKEEPER_DCV_ZONE: 'dcv.example.test',
    CERTKEEPER_DCV_DNS_SERVER: '127.0.0.1:53',
    CERTKEEPER_DCV_TSIG_KEY: 'hmac-sha256:certkeeper-dcv:c2VjcmV0c2VjcmV0c2VjcmV0',
  };
  const windowOf = (env: NodeJS.ProcessEnv) => {
    const setting = loadIssuanceConfig({ ...dcv, ...env });
    assert.ok(setting.on);
    return { ms: setting.config.dcv!.validationWindowMs, warnings: setting.warnings ?? [] };
  };

  it('CERTKEEPER_DCV_WINDOW_SECONDS, in seconds; 72 h when unset or empty; no warning', () => {
    assert.deepEqual(windowOf({}), { ms: 259_200_000, warnings: [] });
    assert.deepEqual(windowOf({ CERTKEEPER_DCV_WINDOW_SECONDS: '' }), { ms: 259_200_000, warnings: [] });
    assert.deepEqual(windowOf({ CERTKEEPER_DCV_WINDOW_SECONDS: '3' }), { ms: 3000, warnings: [] });
  });

  it('the deprecated CERTKEEPER_DCV_VALIDATION_WINDOW alone is read, with a warning naming the new name', () => {
    const { ms, warnings } = windowOf({ CERTKEEPER_DCV_VALIDATION_WINDOW: '600' });
    assert.equal(ms, 600_000);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /CERTKEEPER_DCV_VALIDATION_WINDOW is deprecated: set CERTKEEPER_DCV_WINDOW_SECONDS/);
    // Both, the same: read, still warned about.
    assert.deepEqual(
      windowOf({ CERTKEEPER_DCV_VALIDATION_WINDOW: '600', CERTKEEPER_DCV_WINDOW_SECONDS: '600' }).warnings,
      warnings,
    );
  });

  it('both names with different values stop the start, naming both', () => {
    assert.throws(
      () =>
        loadIssuanceConfig({ ...dcv, CERTKEEPER_DCV_VALIDATION_WINDOW: '600', CERTKEEPER_DCV_WINDOW_SECONDS: '60' }),
      {
        name: 'ConfigError',
        message:
          /CERTKEEPER_DCV_VALIDATION_WINDOW: is the deprecated name of CERTKEEPER_DCV_WINDOW_SECONDS, and the two differ \(600 and 60\)/,
      },
    );
  });

  for (const name of ['CERTKEEPER_DCV_WINDOW_SECONDS', 'CERTKEEPER_DCV_VALIDATION_WINDOW'])
    for (const value of ['0', '2h', '-5', '2592001'])
      it(`${name}=${value} stops the start, naming the variable`, () => {
        assert.throws(() => loadIssuanceConfig({ ...dcv, [name]: value }), {
          name: 'ConfigError',
          message: new RegExp(`${name}: must be a number of seconds from 1 to 2592000`),
        });
      });
});

describe('loadIssuanceConfig: CERTKEEPER_ACME_MAX_REQUESTS_PER_SECOND, the cap on CA requests', () => {
  const dcv = {
    CERTKEEPER_DCV_ZONE: 'dcv.example.test',
    CERTKEEPER_DCV_DNS_SERVER: '127.0.0.1:53',
    CERTKEEPER_DCV_TSIG_KEY: 'hmac-sha256:certkeeper-dcv:c2VjcmV0c2VjcmV0c2VjcmV0',
  };
  const capOf = (env: NodeJS.ProcessEnv): number => {
    const setting = loadIssuanceConfig({ ...dcv, ...env });
    assert.ok(setting.on);
    return setting.config.maxRequestsPerSecond;
  };

  it('20 when unset or empty; 0 (no cap) and any integer up to 1000 as given', () => {
    assert.equal(capOf({}), 20);
    assert.equal(capOf({ CERTKEEPER_ACME_MAX_REQUESTS_PER_SECOND: '' }), 20);
    assert.equal(capOf({ CERTKEEPER_ACME_MAX_REQUESTS_PER_SECOND: '0' }), 0);
    assert.equal(capOf({ CERTKEEPER_ACME_MAX_REQUESTS_PER_SECOND: '5' }), 5);
    assert.equal(capOf({ CERTKEEPER_ACME_MAX_REQUESTS_PER_SECOND: '1000' }), 1000);
  });

  for (const value of ['-1', '2.5', 'ten', '1001'])
    it(`CERTKEEPER_ACME_MAX_REQUESTS_PER_SECOND=${value} stops the start, naming the variable`, () => {
      assert.throws(() => loadIssuanceConfig({ ...dcv, CERTKEEPER_ACME_MAX_REQUESTS_PER_SECOND: value }), {
        name: 'ConfigError',
        message: /CERTKEEPER_ACME_MAX_REQUESTS_PER_SECOND: must be an integer from 0 \(no cap\) to 1000/,
      });
    });
});
