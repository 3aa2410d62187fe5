/**
 * Which stores the contract suites run on, and fresh empty locations for them.
 *
 * - SQLite: always; a temp directory per location.
 * - PostgreSQL: `CERTKEEPER_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) is
 *   an admin connection; each location is a new database `certkeeper_test_<pid>_<random>`, dropped
 *   by `cleanup()`. When PostgreSQL does not answer, its suites are skipped with a message saying
 *   so, except under `CI=true`, where they run and fail loudly instead.
 * - `CERTKEEPER_TEST_STORES=sqlite|postgres` runs one of them only.
 * - `CERTKEEPER_SQLITE_FAST_PATHS=off` runs every SQLite store the tests open (here, through
 *   openStore or connect, and in the servers and processes they start) without its fast paths
 *   (src/store/sqlite-fast-paths.ts reads it: no option to thread through): `npm run
 *   test:fast-paths-off` runs the store and API suites so. Tests that set the option themselves
 *   keep their setting.
 *
 * Also: factories for tenants and certificates with hand-built CertificateFacts (the store never
 * parses PEM, so list tests need no real certificates), and real facts for minted ones.
 */
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { NewCertificate } from '../../src/core/ports.ts';
import type { Certificate, CertificateSummary } from '../../src/domain/model.ts';
import type { CertificateFacts } from '../../src/domain/x509/types.ts';
import { inspect } from '../../src/domain/x509/inspect.ts';
import type { OpenStoreOptions, StoreHandle } from '../../src/store/open.ts';
import type { Issued } from './pki.ts';

export const PG_ADMIN_URL = process.env.CERTKEEPER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestLocation {
  dataDir: string;
  /** Set for PostgreSQL locations. */
  databaseUrl?: string;
  /** Test database name (PostgreSQL only). */
  databaseName?: string;
  /** Options for openStore at this location, with overrides. */
  options(extra?: Partial<OpenStoreOptions>): OpenStoreOptions;
  cleanup(): Promise<void>;
}

export interface StoreTarget {
  name: 'sqlite' | 'postgres';
  /** False, or why this target's tests are skipped (`describe(…, { skip })`). */
  skip: string | false;
  fresh(): Promise<TestLocation>;
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'certkeeper-store-'));
}

function location(
  dataDir: string,
  cleanup: () => Promise<void>,
  databaseUrl?: string,
  databaseName?: string,
): TestLocation {
  return {
    dataDir,
    ...(databaseUrl ? { databaseUrl, databaseName } : {}),
    options: (extra = {}) => ({ dataDir, ...(databaseUrl ? { databaseUrl } : {}), ...extra }),
    cleanup,
  };
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Null when PostgreSQL answers, else why not. */
async function probePostgres(): Promise<string | null> {
  try {
    await withAdmin((client) => client.query('select 1'));
    return null;
  } catch (error) {
    return `PostgreSQL not reachable at ${redacted(PG_ADMIN_URL)} (${(error as { code?: string }).code ?? String(error)}); set CERTKEEPER_TEST_PG_URL to run these tests`;
  }
}

function redacted(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export const PG_UNREACHABLE = await probePostgres();
if (PG_UNREACHABLE && process.env.CI === 'true') {
  console.error(`CI=true: PostgreSQL store tests will fail, not skip: ${PG_UNREACHABLE}`);
}

/** A new empty PostgreSQL database (and temp data dir), dropped by cleanup. */
export async function freshPostgres(): Promise<TestLocation> {
  const name = `certkeeper_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin((client) => client.query(`create database "${name}"`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const dataDir = await tempDir();
  return location(
    dataDir,
    async () => {
      await withAdmin((client) => client.query(`drop database if exists "${name}" with (force)`));
      await rm(dataDir, { recursive: true, force: true });
    },
    url.toString(),
    name,
  );
}

export async function freshSqlite(): Promise<TestLocation> {
  const dataDir = await tempDir();
  return location(dataDir, () => rm(dataDir, { recursive: true, force: true }));
}

/** `CERTKEEPER_TEST_STORES=sqlite` (or `postgres`) narrows the run; default: both. */
const selected = process.env.CERTKEEPER_TEST_STORES?.split(',').map((s) => s.trim()) ?? ['sqlite', 'postgres'];
const notSelected = (name: string): string | false =>
  selected.includes(name) ? false : `${name} not in CERTKEEPER_TEST_STORES`;

export const storeTargets: readonly StoreTarget[] = [
  { name: 'sqlite', skip: notSelected('sqlite'), fresh: freshSqlite },
  {
    name: 'postgres',
    skip: notSelected('postgres') || (PG_UNREACHABLE && process.env.CI !== 'true' ? PG_UNREACHABLE : false),
    fresh: freshPostgres,
  },
];

/** Skip reason for PostgreSQL-only suites (false: run them). */
export const postgresSkip: string | false = storeTargets[1]!.skip;

/** A base64 master key for tests. */
export const testMasterKey = (): string => randomBytes(32).toString('base64');

// ---------------------------------------------------------------------------------------------
// Factories

let sequence = 0;
const unique = (): string => `${process.pid}-${++sequence}-${randomBytes(3).toString('hex')}`;
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const DAY = 86_400_000;

export async function makeTenant(store: StoreHandle, name = `tenant-${unique()}`) {
  return store.tenants.create({ name, memberNo: `${Date.now()}${sequence}`, appKey: `app-${unique()}` }, new Date());
}

/**
 * A VIEWER credential of `tenantId`, its secret `secret` sealed as the store seals every
 * credential secret (the vault's purpose names the access key). Returns the credential's id.
 */
export async function makeCredential(
  store: StoreHandle,
  tenantId: number,
  accessKey: string,
  at: Date,
): Promise<number> {
  const sealedSecret = await store.vault.seal(Buffer.from('secret'), `credential-secret:${accessKey}`);
  return (await store.credentials.create({ tenantId, accessKey, sealedSecret, role: 'VIEWER', description: '' }, at))
    .id;
}

/** Hand-built facts: unique fingerprints unless given. */
export function testFacts(overrides: Partial<CertificateFacts> = {}): CertificateFacts {
  const id = unique();
  const cn = overrides.commonName === undefined ? `host-${id}.example.com` : overrides.commonName;
  const notBefore = new Date(Date.UTC(2026, 0, 1));
  return {
    subjectDn: cn ? `CN=${cn}` : '',
    commonName: cn,
    sans: { dns: cn ? [cn] : [], ip: [], email: [], uri: [] },
    domains: cn ? [cn] : [],
    issuerDn: 'CN=Test CA, O=certkeeper',
    issuerCommonName: 'Test CA',
    caName: 'certkeeper',
    serialNumber: randomBytes(8).toString('hex'),
    notBefore,
    notAfter: new Date(notBefore.getTime() + 90 * DAY),
    key: { algorithm: 'EC', bits: 256, curve: 'P-256' },
    signatureAlgorithm: 'SHA256withECDSA',
    signatureAlgorithmOid: '1.2.840.10045.4.3.2',
    publicKeyInfo: 'Sun EC public key, 256 bits',
    fingerprintSha256: sha256(`cert-${id}`),
    publicKeyFingerprintSha256: sha256(`key-${id}`),
    keyUsage: ['digitalSignature'],
    extendedKeyUsage: ['serverAuth'],
    isCa: false,
    selfSigned: false,
    ...overrides,
  };
}

export function newCertificate(
  tenantId: number,
  overrides: Omit<Partial<NewCertificate>, 'facts'> & { facts?: Partial<CertificateFacts> } = {},
): NewCertificate {
  const { facts, ...rest } = overrides;
  return {
    tenantId,
    name: `cert-${unique()}`,
    type: 'EXT',
    origin: 'cli',
    certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    chainPems: [],
    facts: testFacts(facts),
    privateKeyPem: null,
    file: null,
    ...rest,
  };
}

/** What a list page or getMany holds of a certificate: all of it but the PEM text. */
export function summaryOf(certificate: Certificate): CertificateSummary {
  const { certificatePem: _pem, chainPems: _chain, ...summary } = certificate;
  return summary;
}

/** Real facts of a minted certificate (domain/x509/inspect.ts). */
export function factsOf(issued: Issued): CertificateFacts {
  return inspect(new X509Certificate(issued.pem));
}

// ---------------------------------------------------------------------------------------------
// Looking behind the store's back (for "nothing was left behind" checks)

/** Runs one read-only SQL query on the location through a separate raw connection. */
export async function rawQuery(location: TestLocation, text: string): Promise<Array<Record<string, unknown>>> {
  if (location.databaseUrl) {
    const client = new pg.Client({ connectionString: location.databaseUrl });
    await client.connect();
    try {
      return (await client.query(text)).rows as Array<Record<string, unknown>>;
    } finally {
      await client.end();
    }
  }
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(join(location.dataDir, 'certkeeper.db'), { readonly: true });
  try {
    return db.prepare(text).all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
}

export async function countRows(location: TestLocation, table: string): Promise<number> {
  const [row] = await rawQuery(location, `select count(*) as n from ${table}`);
  return Number(row?.n);
}

/** Runs a statement that writes, behind the store's back (tampering tests). */
export async function rawExec(location: TestLocation, text: string): Promise<void> {
  if (location.databaseUrl) {
    const client = new pg.Client({ connectionString: location.databaseUrl });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
    return;
  }
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(join(location.dataDir, 'certkeeper.db'), { timeout: 5000 });
  try {
    db.exec(text);
  } finally {
    db.close();
  }
}
