/**
 * The fuzzer: hostile requests over every route of every face, reproducible from a seed.
 *
 * A real certkeeper (real store, SQLite or PostgreSQL; every face; logs collected at info) is
 * seeded with one tenant, an ADMIN credential and one imported certificate with its key. The routes
 * are the server's own OpenAPI document (`/docs/openapi.json`: every face contributes its paths)
 * plus the ACM face (`POST /` by X-Amz-Target, which the document does not list). Each request
 * picks, from a PRNG seeded by `seed`: a route and method (sometimes a wrong one), path parameters
 * (real ids, or hostile text: NUL, `%00`, `..`, overlong, non-UTF-8 escapes, numbers out of range),
 * a query string, an authentication (none, garbage, or valid for that face: NCP signature, NHN
 * keys, console session with CSRF, so hostile input reaches the handlers), headers, and a body
 * (JSON built from hostile values, invalid JSON, raw bytes, wrong content type, a lying
 * Content-Length is left to short-body.test.ts).
 *
 * Findings (the caller asserts them empty): answers 500–599, bodies that look like a stack trace,
 * and the key-material search (test/helpers/key-material.ts) over every log line and every file
 * of the data directory for the private key and the credential secret.
 */
import { request as httpRequest, Agent } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openApp } from '../../src/app/app.ts';
import { buildFaces } from '../../src/app/faces.ts';
import { loadConfig } from '../../src/config/config.ts';
import { systemClock } from '../../src/core/ports.ts';
import { startServer } from '../../src/server/index.ts';
import { freshPostgres, freshSqlite, testMasterKey } from '../helpers/db.ts';
import { findNeedles, needles, privateKeyNeedles } from '../helpers/key-material.ts';
import { signedHeaders } from '../helpers/ncp-client.ts';
import { mintBundle } from '../helpers/pki.ts';
import { LogCollector } from '../server/helpers.ts';

export interface FuzzOptions {
  seed: number;
  count: number;
  store: 'sqlite' | 'postgres';
  /** Requests in flight at once. Default 4. */
  concurrency?: number;
}

export interface FuzzReport {
  seed: number;
  count: number;
  store: 'sqlite' | 'postgres';
  routes: number;
  byStatus: Record<string, number>;
  /** `METHOD path → status` of every 5xx answer. */
  serverErrors: string[];
  /** `METHOD path` of every answer whose body looks like a stack trace. */
  stackTraces: string[];
  /** The first few requests that got no HTTP answer (the connection closed), for a look. */
  noAnswer: string[];
  /** Key-material search findings in logs and data files. */
  keyMaterial: string[];
  /** Log records at level 50 (error) or above. */
  errorLogLines: number;
  logLines: number;
  durationMs: number;
}

/** mulberry32: small, fast, good enough to pick test inputs reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ACM_TARGETS = [
  'ListCertificates',
  'DescribeCertificate',
  'GetCertificate',
  'ImportCertificate',
  'ExportCertificate',
  'DeleteCertificate',
  'AddTagsToCertificate',
  'RequestCertificate',
  'Nope',
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];
const STACK = /\n\s+at [^\n]+:\d+:\d+|node_modules\/|\.ts:\d+:\d+/;

/** Hostile strings, as they are (for bodies) — path use percent-encodes them. */
const HOSTILE_TEXT = [
  '',
  ' ',
  'a\u0000b',
  '\u0000',
  '%00',
  '../../etc/passwd',
  '..',
  '%2e%2e%2f',
  'x'.repeat(5000),
  '\ud800',
  '\uffff',
  '한국어',
  '<script>alert(1)</script>',
  "' or 1=1 --",
  '${jndi:ldap://x}',
  '-1',
  '0',
  '1e309',
  '9007199254740993',
  '18446744073709551616',
  'NaN',
  'null',
  'true',
  '\r\nX-Injected: 1',
  '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
];
const HOSTILE_PATH = [
  '%00',
  'a%00b',
  '%ff%fe',
  '%c0%af',
  '..%2f..%2f',
  '-1',
  '0',
  '99999999999999999999',
  'x'.repeat(3000),
  '%E2%80%AE',
  '%20',
  '1.5',
  '1e3',
];
const JSON_KEYS = [
  'certificateName',
  'certificateNo',
  'privateKey',
  'publicKeyCertificate',
  'certificateBody',
  'certificateChain',
  'name',
  'certificate',
  'chain',
  'accessKey',
  'secretKey',
  'role',
  'description',
  'serviceRegion',
  'cmCertificateIds',
  'tlsVersion',
  'cipherProfile',
  'Certificate',
  'PrivateKey',
  'CertificateChain',
  'CertificateArn',
  'Tags',
  'fileName',
  'file',
  'passphrase',
  'grant_type',
  'page',
  'pageSize',
];

/** Every UTF-8 byte as %XX (encodeURIComponent throws on a lone surrogate). */
const percentEncoded = (text: string): string =>
  [...Buffer.from(text)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

interface Route {
  method: string;
  path: string;
  face: string;
}

interface Seeded {
  certificateNo: number;
  certificateName: string;
  appKey: string;
  accessKey: string;
  secretKey: string;
  cookie: string;
  csrfToken: string;
}

export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const random = prng(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const chance = (p: number): boolean => random() < p;

  const location = options.store === 'postgres' ? await freshPostgres() : await freshSqlite();
  const logs = new LogCollector();
  const config = loadConfig({
    CERTKEEPER_DATA_DIR: location.dataDir,
    CERTKEEPER_PORT: '0',
    CERTKEEPER_LOG_LEVEL: 'info',
    CERTKEEPER_MASTER_KEY: testMasterKey(),
    ...(location.databaseUrl ? { DATABASE_URL: location.databaseUrl } : {}),
  });
  const opened = await openApp(config);
  const server = await startServer({
    config,
    store: opened.store,
    clock: systemClock,
    faces: buildFaces(opened.core, config),
    logStream: logs,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency ?? 4 });
  const base = new URL(server.address);

  function send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: Buffer | null,
    fresh = false,
  ): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
    return new Promise((resolve, reject) => {
      // Framed by Content-Length always: Node's client sends a GET, HEAD or DELETE body unframed
      // otherwise, which the server reads as the next request on the connection.
      if (body) headers = { ...headers, 'content-length': String(body.length) };
      const req = httpRequest(
        { host: base.hostname, port: base.port, method, path, headers, agent: fresh ? false : agent, timeout: 60_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within 60 s: ${method} ${path}`)));
      req.on('error', reject);
      req.end(body ?? undefined);
    });
  }

  try {
    // Seed through the faces, as a client would.
    const tenant = await opened.core.tenants.create('default');
    const admin = await opened.core.credentials.createForTenant(tenant.id, 'ADMIN', 'fuzz admin');
    const accessKey = admin.credential.accessKey;
    const secretKey = admin.secretKey;
    const bundle = await mintBundle();
    const importPath = '/api/v2/certificate/withExternal';
    const importBody = Buffer.from(
      JSON.stringify({
        certificateName: 'fuzz-seed',
        privateKey: bundle.leaf.keyPem,
        certificateBody: bundle.leaf.pem,
        certificateChain: bundle.chainPem,
      }),
    );
    const imported = await send(
      'POST',
      importPath,
      {
        'content-type': 'application/json',
        ...signedHeaders({ method: 'POST', url: importPath, accessKey, secretKey, variant: 'java-raw' }),
      },
      importBody,
    );
    const certificateNo = (JSON.parse(imported.body) as { sslCertificateList: Array<{ certificateNo: number }> })
      .sslCertificateList[0]!.certificateNo;
    const login = await send(
      'POST',
      '/console/api/session',
      { 'content-type': 'application/json', origin: server.address },
      Buffer.from(JSON.stringify({ accessKey, secretKey })),
    );
    const setCookie = login.headers['set-cookie'];
    const seeded: Seeded = {
      certificateNo,
      certificateName: 'fuzz-seed',
      appKey: tenant.appKey,
      accessKey,
      secretKey,
      cookie: (Array.isArray(setCookie) ? setCookie[0]! : (setCookie ?? '')).split(';', 1)[0]!,
      csrfToken: String((JSON.parse(login.body) as { csrfToken?: string }).csrfToken),
    };

    const doc = JSON.parse((await send('GET', '/docs/openapi.json', {}, null)).body) as {
      paths: Record<string, Record<string, { tags?: string[] }>>;
    };
    const routes: Route[] = [];
    for (const [path, item] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(item))
        routes.push({ method: method.toUpperCase(), path, face: op.tags?.[0] ?? '' });
    routes.push({ method: 'POST', path: '/', face: 'acm' });

    const pathValue = (name: string): string => {
      if (chance(0.4)) return pick(HOSTILE_PATH);
      if (chance(0.2)) return percentEncoded(pick(HOSTILE_TEXT));
      switch (name) {
        case 'certificateNo':
        case 'certificateId':
          return String(seeded.certificateNo);
        case 'appKey':
          return seeded.appKey;
        case 'certificateName':
          return seeded.certificateName;
        case 'accessKey':
          return seeded.accessKey;
        case 'part':
          return pick(['certificate', 'chain', 'fullchain', 'key', 'pfx']);
        default:
          return String(1 + Math.floor(random() * 3));
      }
    };
    const hostileValue = (depth = 0): unknown => {
      const r = random();
      if (r < 0.45) return pick(HOSTILE_TEXT);
      if (r < 0.6) return pick([0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER]);
      if (r < 0.65) return pick([true, false, null]);
      if (r < 0.75) return bundle.leaf.pem.replace('A', chance(0.5) ? '\u0000' : 'B');
      if (depth > 3) return 'deep';
      if (r < 0.87) return Array.from({ length: Math.floor(random() * 4) }, () => hostileValue(depth + 1));
      return hostileObject(depth + 1);
    };
    const hostileObject = (depth = 0): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      for (let i = Math.floor(random() * 6); i > 0; i--)
        out[chance(0.9) ? pick(JSON_KEYS) : pick(HOSTILE_TEXT)] = hostileValue(depth);
      if (chance(0.1)) out.__proto__ = { polluted: true };
      return out;
    };
    const hostileBody = (): { body: Buffer | null; type: string | null } => {
      const r = random();
      if (r < 0.15) return { body: null, type: null };
      if (r < 0.55) return { body: Buffer.from(JSON.stringify(hostileObject())), type: 'application/json' };
      if (r < 0.62) return { body: Buffer.from('{"certificateName": "a\\u0000b", '), type: 'application/json' };
      if (r < 0.68) return { body: Buffer.from(''), type: 'application/json' };
      if (r < 0.75) return { body: Buffer.from(JSON.stringify(hostileObject())), type: 'application/x-amz-json-1.1' };
      if (r < 0.82)
        return {
          body: Buffer.from(Array.from({ length: 1 + Math.floor(random() * 512) }, () => Math.floor(random() * 256))),
          type: pick(['application/json', 'application/octet-stream', 'text/plain', 'multipart/form-data; boundary=x']),
        };
      if (r < 0.88) return { body: Buffer.from('x'.repeat(2 * 1024 * 1024)), type: 'application/json' };
      if (r < 0.94)
        return {
          body: Buffer.from(
            '--x\r\nContent-Disposition: form-data; name="file"; filename="a\u0000.pem"\r\n\r\nAAAA\r\n--x--\r\n',
          ),
          type: 'multipart/form-data; boundary=x',
        };
      return { body: Buffer.from('['.repeat(5000)), type: 'application/json' };
    };
    const queryString = (): string => {
      if (chance(0.5)) return '';
      const parts: string[] = [];
      for (let i = 1 + Math.floor(random() * 3); i > 0; i--) {
        const key = chance(0.8)
          ? pick([
              'certificateName',
              'certificateNo',
              'pageNo',
              'pageSize',
              'page',
              'size',
              'sort',
              'order',
              'status',
              'q',
              'minutes',
              'certificateId',
              'search',
            ])
          : pick(HOSTILE_PATH);
        parts.push(`${key}=${chance(0.5) ? pick(HOSTILE_PATH) : percentEncoded(pick(HOSTILE_TEXT))}`);
      }
      return `?${parts.join('&')}`;
    };

    const report: FuzzReport = {
      seed: options.seed,
      count: options.count,
      store: options.store,
      routes: routes.length,
      byStatus: {},
      serverErrors: [],
      stackTraces: [],
      keyMaterial: [],
      noAnswer: [],
      errorLogLines: 0,
      logLines: 0,
      durationMs: 0,
    };

    // Requests are generated in order from the PRNG (so a seed is one sequence), sent a few at a time.
    const plan = Array.from({ length: options.count }, () => {
      const route = pick(routes);
      const method = chance(0.1) ? pick(METHODS) : route.method;
      const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => pathValue(name)) + queryString();
      const { body, type } = hostileBody();
      const headers: Record<string, string> = {};
      if (type) headers['content-type'] = type;
      const auth = random();
      if (auth < 0.75) {
        if (route.face === 'ncp' || route.face === 'edge')
          Object.assign(headers, signedHeaders({ method, url: path, accessKey, secretKey, variant: 'java-raw' }));
        else if (route.face === 'nhn') {
          headers['x-tc-authentication-id'] = accessKey;
          headers['x-tc-authentication-secret'] = secretKey;
        } else if (route.face === 'console') {
          headers.cookie = seeded.cookie;
          headers['x-csrf-token'] = seeded.csrfToken;
          headers.origin = server.address;
        } else if (route.face === 'acm') headers['x-amz-target'] = `CertificateManager.${pick(ACM_TARGETS)}`;
      } else if (auth < 0.9) {
        headers.authorization = pick([
          'Bearer \u00ff',
          'Basic %%%',
          'AWS4-HMAC-SHA256 Credential=x',
          'Bearer ' + 'a'.repeat(5000),
        ]);
        headers['x-ncp-iam-access-key'] = pick(['', 'x', accessKey]);
        headers['x-ncp-apigw-timestamp'] = pick(['0', '-1', 'abc', '99999999999999999999']);
        headers['x-ncp-apigw-signature-v2'] = 'AAAA';
        headers.cookie = pick(['ck_session=x', '__Host-ck_session=%00', 'a=b; '.repeat(200)]);
      }
      return { method, path, headers, body };
    });

    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < plan.length) {
        const { method, path, headers, body } = plan[next++]!;
        let res;
        try {
          // A kept-alive connection the server closed (after a 413 or 431) while this request was
          // being assigned to it resets; such a request is sent once more on a new connection.
          res = await send(method, path, headers, body).catch((error: unknown) => {
            if ((error as { code?: string }).code !== 'ECONNRESET') throw error;
            return send(method, path, headers, body, true);
          });
        } catch (error) {
          // Node's client refuses some hostile requests itself (it validates paths and headers):
          // those never reach the server, and are counted apart.
          const code = (error as { code?: string }).code ?? String(error);
          report.byStatus[`no answer (${code})`] = (report.byStatus[`no answer (${code})`] ?? 0) + 1;
          if (report.noAnswer.length < 20)
            report.noAnswer.push(
              `${method} ${path.slice(0, 120)} ${JSON.stringify(headers).slice(0, 200)} body ${body?.length ?? 0}: ${code}`,
            );
          continue;
        }
        report.byStatus[res.status] = (report.byStatus[res.status] ?? 0) + 1;
        const line = `${method} ${path.slice(0, 200)}`;
        if (res.status >= 500)
          report.serverErrors.push(
            `${line} → ${res.status} ${res.body.slice(0, 300)} (headers ${JSON.stringify(headers).slice(0, 300)}, body ${JSON.stringify(body?.subarray(0, 4000).toString() ?? null)})`,
          );
        if (STACK.test(res.body)) report.stackTraces.push(line);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));

    // The key-material search: logs and every file of the data directory.
    const forbidden = [
      ...privateKeyNeedles('private key', bundle.leaf.keyPem, 16),
      ...needles('credential secret', Buffer.from(secretKey), null, 16),
    ];
    const haystacks = [{ name: 'log', bytes: Buffer.from(logs.text) }];
    for (const entry of await readdir(location.dataDir, { recursive: true, withFileTypes: true }))
      if (entry.isFile()) {
        const file = join(entry.parentPath, entry.name);
        haystacks.push({ name: file, bytes: await readFile(file) });
      }
    // Positive control: the search finds the key where it is.
    if (findNeedles([{ name: 'control', bytes: Buffer.from(bundle.leaf.keyPem) }], forbidden).length === 0)
      throw new Error('the key-material search does not find the key in its own PEM');
    report.keyMaterial = findNeedles(haystacks, forbidden);
    const records = logs.records();
    report.logLines = records.length;
    report.errorLogLines = records.filter((r) => Number(r.level) >= 50).length;
    report.durationMs = Date.now() - started;
    return report;
  } finally {
    agent.destroy();
    await server.close();
    await opened.close();
    await location.cleanup();
  }
}
