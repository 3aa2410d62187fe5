/**
 * Helpers for the console face tests: a tiny browser-like client (cookie jar, CSRF header, Origin
 * of the server itself) over real HTTP against startTestApp, and PEM fixtures from the test PKI.
 */
import { startTestApp, TestClock, type TestApp, type TestCredential } from '../../helpers/app.ts';
import { mintIntermediate, mintLeaf, mintRoot, type Issued, type MintOptions } from '../../helpers/pki.ts';

export const NOW = new Date('2026-03-01T09:00:00Z');

export async function startConsoleApp(store: 'sqlite' | 'postgres' = 'sqlite'): Promise<TestApp> {
  return startTestApp({ store, clock: new TestClock(NOW) });
}

export interface Session {
  cookie: string;
  csrfToken: string;
  body: Record<string, unknown>;
}

export interface ConsoleResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of many shapes, asserted field by field in the tests
  body: any;
  text: string;
}

/** A console client: sends the session cookie, the CSRF token on writes and a same-origin Origin. */
export class ConsoleClient {
  readonly app: TestApp;
  session: Session | null = null;

  constructor(app: TestApp) {
    this.app = app;
  }

  get origin(): string {
    return this.app.baseUrl;
  }

  async login(
    credential: Pick<TestCredential, 'accessKey' | 'secretKey'>,
    headers: Record<string, string> = {},
  ): Promise<ConsoleResponse> {
    const response = await this.raw(
      'POST',
      '/console/api/session',
      { accessKey: credential.accessKey, secretKey: credential.secretKey },
      { origin: this.origin, ...headers },
      false,
    );
    if (response.status === 200) {
      const setCookie = response.headers.get('set-cookie') ?? '';
      this.session = {
        cookie: setCookie.split(';', 1)[0] ?? '',
        csrfToken: String(response.body.csrfToken),
        body: response.body,
      };
    }
    return response;
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ConsoleResponse> {
    const extra: Record<string, string> = {};
    if (method !== 'GET' && method !== 'HEAD') {
      extra.origin = this.origin;
      if (this.session) extra['x-csrf-token'] = this.session.csrfToken;
    }
    return this.raw(method, path, body, { ...extra, ...headers }, true);
  }

  async raw(
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string>,
    withCookie: boolean,
  ): Promise<ConsoleResponse> {
    const allHeaders: Record<string, string> = { ...headers };
    if (withCookie && this.session && allHeaders.cookie === undefined) allHeaders.cookie = this.session.cookie;
    for (const [key, value] of Object.entries(allHeaders)) if (value === '') delete allHeaders[key];
    if (body !== undefined && allHeaders['content-type'] === undefined) allHeaders['content-type'] = 'application/json';
    const response = await fetch(`${this.app.baseUrl}${path}`, {
      method,
      headers: allHeaders,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown = null;
    if ((response.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, body: parsed, text };
  }
}

export async function loggedIn(app: TestApp, credential: TestCredential): Promise<ConsoleClient> {
  const client = new ConsoleClient(app);
  const response = await client.login(credential);
  if (response.status !== 200) throw new Error(`login: ${response.status} ${response.text}`);
  return client;
}

export interface Pems {
  certificate: string;
  privateKey: string;
  chain: string;
  leaf: Issued;
  intermediate: Issued;
  root: Issued;
}

/** A root → intermediate → leaf PKI valid around `now` (default NOW); the leaf for 60 days. */
export async function mintPems(leaf: MintOptions = {}, now: Date = NOW): Promise<Pems> {
  const window = {
    notBefore: new Date(now.getTime() - 30 * 86_400_000),
    notAfter: new Date(now.getTime() + 3 * 365 * 86_400_000),
  };
  const root = await mintRoot({ cn: 'Console Test Root', ...window });
  const intermediate = await mintIntermediate(root, { cn: 'Console Test CA', ...window });
  const issued = await mintLeaf(intermediate, {
    cn: 'www.example.com',
    sans: { dns: ['www.example.com', 'example.com'] },
    freshKey: true,
    notBefore: window.notBefore,
    notAfter: new Date(now.getTime() + 60 * 86_400_000),
    ...leaf,
  });
  return {
    certificate: issued.pem,
    privateKey: issued.keyPem,
    chain: intermediate.pem + root.pem,
    leaf: issued,
    intermediate,
    root,
  };
}
