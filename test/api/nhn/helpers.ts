/**
 * Helpers for the NHN face tests: a started app with a fixed clock, tokens, per-version
 * authentication headers, a deterministic test PKI (fixed validity windows, so golden JSON can
 * be pinned), hand-built multipart bodies (for the malformed ones no client would send), and
 * "nothing was written" snapshots.
 */
import { createHash } from 'node:crypto';
import { startTestApp, TestClock, type TestApp, type TestCredential } from '../../helpers/app.ts';
import { countRows } from '../../helpers/db.ts';
import { mintIntermediate, mintLeaf, mintRoot, P256, type Issued, type MintOptions } from '../../helpers/pki.ts';

/** 2026-03-01 20:00 UTC is 2026-03-02 05:00 in Korea: dates in the API time zone differ from UTC dates. */
export const NOW = new Date('2026-03-01T20:00:00Z');
export const KST_TODAY = '2026-03-02';

export type Version = 'v1.0' | 'v1.1' | 'v1.2' | 'v1.3';
export const VERSIONS: readonly Version[] = ['v1.0', 'v1.1', 'v1.2', 'v1.3'];

export async function startNhnApp(store: 'sqlite' | 'postgres', env: Record<string, string> = {}): Promise<TestApp> {
  return startTestApp({ store, clock: new TestClock(NOW), env });
}

export function basic(credential: Pick<TestCredential, 'accessKey' | 'secretKey'>): string {
  return `Basic ${Buffer.from(`${credential.accessKey}:${credential.secretKey}`).toString('base64')}`;
}

export async function tokenRequest(
  app: TestApp,
  headers: Record<string, string>,
  body: string | null = 'grant_type=client_credentials',
): Promise<Response> {
  return fetch(`${app.baseUrl}/oauth2/token/create`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    ...(body === null ? {} : { body }),
  });
}

export async function issueToken(app: TestApp, credential: TestCredential): Promise<string> {
  const response = await tokenRequest(app, { authorization: basic(credential) });
  if (response.status !== 200) throw new Error(`token: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** Authentication headers as each version expects them; v1.0/v1.2 send none (appKey in the path). */
export async function authFor(
  app: TestApp,
  version: Version,
  credential: TestCredential,
): Promise<Record<string, string>> {
  if (version === 'v1.3') return { 'x-nhn-authorization': `Bearer ${await issueToken(app, credential)}` };
  if (version === 'v1.1')
    return { 'x-tc-authentication-id': credential.accessKey, 'x-tc-authentication-secret': credential.secretKey };
  return {};
}

export const certificatesUrl = (app: TestApp, version: Version, appKey = app.main.tenant.appKey): string =>
  `${app.baseUrl}/certmanager/${version}/appkeys/${appKey}/certificates`;

export const fileUrl = (app: TestApp, version: Version, name: string, appKey = app.main.tenant.appKey): string =>
  `${certificatesUrl(app, version, appKey)}/${encodeURIComponent(name)}/files`;

export async function json(response: Response): Promise<unknown> {
  return JSON.parse(await response.text()) as unknown;
}

export const nhnError = (resultCode: number, resultMessage: string) => ({
  header: { resultCode, resultMessage, isSuccessful: false },
  body: {},
});
export const nhnSuccess = (body: unknown) => ({
  header: { resultCode: 0, resultMessage: 'SUCCESS', isSuccessful: true },
  body,
});

// ---------------------------------------------------------------------------------------------
// PKI with fixed windows

const LONG = { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2040-01-01T00:00:00Z') };

export interface TestCa {
  root: Issued;
  intermediate: Issued;
  /** intermediate + root. */
  chainPem: string;
}

export async function makeCa(options: MintOptions = {}): Promise<TestCa> {
  const root = await mintRoot({ ...LONG, key: P256, cn: 'NHN Test Root', o: 'NHN', ...options });
  const intermediate = await mintIntermediate(root, {
    ...LONG,
    key: P256,
    cn: 'NHN Test Intermediate',
    o: 'NHN',
    ...options,
  });
  return { root, intermediate, chainPem: intermediate.pem + root.pem };
}

/** A leaf with its own fresh key, valid 2026-01-01 → `notAfter` (default 2027-03-25 14:59:59 UTC, the end of 03-25 in Korea). */
export async function makeLeaf(ca: TestCa, options: MintOptions & { domains?: string[] } = {}): Promise<Issued> {
  const { domains, ...rest } = options;
  return mintLeaf(ca.intermediate, {
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2027-03-25T14:59:59Z'),
    freshKey: true,
    ...(domains ? { sans: { dns: domains } } : {}),
    ...rest,
  });
}

/** The NHN file: leaf, chain, key, as the NHN docs show it. */
export const nhnFile = (leaf: Issued, ca: TestCa): string => leaf.pem + ca.chainPem + leaf.keyPem;

// ---------------------------------------------------------------------------------------------
// Uploads

export interface Part {
  name: string;
  filename?: string;
  content: string | Buffer;
  contentType?: string;
}

export const BOUNDARY = '----certkeeper-test-boundary';

/** A multipart/form-data body, byte for byte. */
export function multipart(parts: readonly Part[], options: { close?: boolean } = {}): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    // Quotes and backslashes escaped as curl does.
    const filename = part.filename?.replace(/[\\"]/g, (c) => `\\${c}`);
    const disposition = `form-data; name="${part.name}"${filename === undefined ? '' : `; filename="${filename}"`}`;
    chunks.push(
      Buffer.from(
        `--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\nContent-Type: ${part.contentType ?? 'application/octet-stream'}\r\n\r\n`,
      ),
    );
    chunks.push(Buffer.isBuffer(part.content) ? part.content : Buffer.from(part.content));
    chunks.push(Buffer.from('\r\n'));
  }
  if (options.close !== false) chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

export const MULTIPART_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

export async function uploadRaw(
  app: TestApp,
  version: Version,
  headers: Record<string, string>,
  name: string,
  body: Buffer,
  contentType = MULTIPART_TYPE,
): Promise<Response> {
  return fetch(fileUrl(app, version, name), {
    method: 'POST',
    headers: { ...headers, 'content-type': contentType },
    body,
  });
}

export async function upload(
  app: TestApp,
  version: Version,
  headers: Record<string, string>,
  name: string,
  content: string | Buffer,
  filename = `${name}.pem`,
): Promise<Response> {
  return uploadRaw(app, version, headers, name, multipart([{ name: 'file', filename, content }]));
}

// ---------------------------------------------------------------------------------------------
// "Nothing was written"

export interface Snapshot {
  certificates: number;
  files: number;
  keys: number;
  /** SHA-256 of every downloadable file, by certificate name. */
  files256: Record<string, string>;
}

export async function snapshot(app: TestApp): Promise<Snapshot> {
  const page = await app.app.core.certificates.list(app.main.actor, { offset: 0, limit: 1000, validity: 'all' });
  const files256: Record<string, string> = {};
  for (const certificate of page.items) {
    const file = await app.app.core.certificates.readFile(app.main.actor, certificate.certificateNo);
    files256[certificate.name] = createHash('sha256').update(file.bytes).digest('hex');
  }
  return {
    certificates: await countRows(app.location, 'certificates'),
    files: await countRows(app.location, 'certificate_files'),
    keys: await countRows(app.location, 'certificate_keys'),
    files256,
  };
}
