/**
 * Shared by the NCP face suites: a real app with a fixed clock, a signing client whose timestamps
 * follow that clock, the fixed X.509 fixtures (100-year certificates, so golden output never
 * rots), and a snapshot of the store for "a refused request changed nothing" checks.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTestApp, TestClock, type TestApp, type TestCredential } from '../../helpers/app.ts';
import { countRows } from '../../helpers/db.ts';
import { ncpFetch, type NcpFetchOptions, type NcpResponse } from '../../helpers/ncp-client.ts';
import type { IssuanceSetting } from '../../../src/config/config.ts';

/** 2027-01-15 10:02:03 in Korea: after every fixture's notBefore (2026-11-22). */
export const GOLDEN_NOW = new Date('2027-01-15T01:02:03.000Z');

export function fixture(name: string): string {
  return readFileSync(new URL(`../../fixtures/x509/${name}`, import.meta.url), 'utf8');
}

/** Fixture certificates with their keys and chains, as a user would paste them. */
export const FIXTURES = {
  /** EC P-384 leaf under the fixture root: the chain is the root itself. */
  ec: {
    certificate: fixture('ec-p384-leaf.pem'),
    privateKey: fixture('ec-p384-leaf.key'),
    chain: fixture('rsa-ca.pem'),
  },
  /** RSA-2048 leaf with a Korean subject under the same root. */
  korean: {
    certificate: fixture('korean-utf8.pem'),
    privateKey: fixture('korean-utf8.key'),
    chain: fixture('rsa-ca.pem'),
  },
  /** RSA-2048 self-signed leaf: no chain. */
  rsaSelf: {
    certificate: fixture('rsa2048-self-signed.pem'),
    privateKey: fixture('rsa2048-self-signed.key'),
    chain: '',
  },
  /** SAN-only EC leaf (empty subject) under the root. */
  sanOnly: { certificate: fixture('san-only.pem'), privateKey: fixture('san-only.key'), chain: fixture('rsa-ca.pem') },
  /** Ed25519 self-signed CA: a key type the NCP face refuses. */
  ed25519: {
    certificate: fixture('ed25519-self-signed.pem'),
    privateKey: fixture('ed25519-self-signed.key'),
    chain: '',
  },
  root: { certificate: fixture('rsa-ca.pem'), privateKey: fixture('rsa-ca.key') },
} as const;

export interface NcpTestApp extends TestApp {
  /** Signed request as `credentials` (default: the main tenant's ADMIN), timestamped by the app's clock. */
  call(
    options: Omit<NcpFetchOptions, 'credentials'> & {
      credentials?: TestCredential | { accessKey: string; secretKey: string };
    },
  ): Promise<NcpResponse>;
}

export async function startNcpApp(
  options: { store?: 'sqlite' | 'postgres'; now?: Date; env?: Record<string, string>; issuance?: IssuanceSetting } = {},
): Promise<NcpTestApp> {
  const clock = new TestClock(options.now ?? GOLDEN_NOW);
  const app = await startTestApp({
    clock,
    ...(options.store ? { store: options.store } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(options.issuance ? { issuance: options.issuance } : {}),
  });
  return Object.assign(app, {
    call(request: Parameters<NcpTestApp['call']>[0]) {
      // The server checks the timestamp against its injected clock, so sign with that clock's time.
      const skew = clock.now().getTime() - Date.now();
      return ncpFetch(app.baseUrl, {
        ...request,
        credentials: request.credentials ?? app.main.admin,
        timestampOffsetMs: skew + (request.timestampOffsetMs ?? 0),
      });
    },
  });
}

export function v1Body(name: string, material: { certificate: string; privateKey: string; chain: string }) {
  return {
    certificateName: name,
    privateKey: material.privateKey,
    publicKeyCertificate: material.certificate,
    certificateChain: material.chain,
  };
}

export function v2Body(
  name: string,
  material: { certificate: string; privateKey: string; chain: string },
  certificateNo?: number,
) {
  return {
    certificateName: name,
    ...(certificateNo === undefined ? {} : { certificateNo }),
    privateKey: material.privateKey,
    certificateBody: material.certificate,
    certificateChain: material.chain,
  };
}

/** The body as text with the tenant's random memberNo replaced, for byte-exact comparison. */
export function stableText(response: NcpResponse, memberNo: string): string {
  return response.body.toString('utf8').replaceAll(`"memberNo":"${memberNo}"`, '"memberNo":"<memberNo>"');
}

/** Asserts the exact bytes of a JSON response (memberNo replaced), and its status. */
export function assertWire(response: NcpResponse, status: number, expected: unknown, memberNo = ''): void {
  assert.equal(response.status, status, response.body.toString('utf8'));
  assert.match(response.headers['content-type'] ?? '', /^application\/json/);
  assert.equal(memberNo ? stableText(response, memberNo) : response.body.toString('utf8'), JSON.stringify(expected));
}

/** Everything a refused request must leave alone: rows, keys, files, and every certificate's state. */
export async function storeSnapshot(app: TestApp): Promise<unknown> {
  const tables = ['certificates', 'certificate_keys', 'certificate_files', 'certificate_domains'];
  const counts = await Promise.all(tables.map((table) => countRows(app.location, table)));
  const page = await app.app.core.certificates.list(app.main.actor, {
    changedBetween: { from: new Date(0), to: new Date(8.64e15) },
    offset: 0,
    limit: 1000,
  });
  const rows = page.items.map((c) => [
    c.certificateNo,
    c.name,
    c.facts.fingerprintSha256,
    c.updatedAt.toISOString(),
    c.deletedAt?.toISOString() ?? null,
  ]);
  return { counts: Object.fromEntries(tables.map((t, i) => [t, counts[i]])), rows };
}
