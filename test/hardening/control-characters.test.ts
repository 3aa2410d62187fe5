/**
 * Control characters in every text input of every face, on both stores (issue 22: PostgreSQL
 * answered 500 to a NUL, SQLite a 4xx). Each case must answer the face's 4xx, never 5xx, write
 * nothing (certificates, keys, files, credentials, tokens, sessions, audit events), and answer the
 * same status and body on SQLite and PostgreSQL.
 *
 * The rule is server/control-characters.ts (path, query, body) and core/credentials.ts (access
 * keys decoded from headers); the characters are domain/text.ts's.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { countRows, storeTargets } from '../helpers/db.ts';
import { startNcpApp, v2Body, type NcpTestApp } from '../api/ncp/helpers.ts';
import { ConsoleClient, loggedIn, mintPems, NOW, type Pems } from '../api/console/helpers.ts';
import { basic, issueToken, multipart, MULTIPART_TYPE } from '../api/nhn/helpers.ts';
import { hasControlCharacter } from '../../src/domain/text.ts';

/** NUL (PostgreSQL cannot store it), other C0 controls, DEL. */
const CHARACTERS = ['\u0000', '\u0001', '\u0008', '\u000b', '\u001b', '\u001f', '\u007f'];

interface Answer {
  status: number;
  body: string;
}

interface Context {
  app: NcpTestApp;
  console: ConsoleClient;
  token: string;
  pems: Pems;
}

type Case = (ctx: Context, c: string) => Promise<Answer>;

const enc = encodeURIComponent;

async function answer(response: Response): Promise<Answer> {
  return { status: response.status, body: await response.text() };
}

function nhn(ctx: Context, path: string, init: RequestInit = {}): Promise<Answer> {
  return fetch(`${ctx.app.baseUrl}${path}`, init).then(answer);
}

function v13(ctx: Context): Record<string, string> {
  return { 'x-nhn-authorization': `Bearer ${ctx.token}` };
}

function v11(ctx: Context): Record<string, string> {
  return {
    'x-tc-authentication-id': ctx.app.main.admin.accessKey,
    'x-tc-authentication-secret': ctx.app.main.admin.secretKey,
  };
}

async function ncp(ctx: Context, options: Parameters<NcpTestApp['call']>[0]): Promise<Answer> {
  const response = await ctx.app.call(options);
  return { status: response.status, body: response.body.toString('utf8') };
}

async function consoleCall(ctx: Context, method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await ctx.console.request(method, path, body);
  return { status: response.status, body: response.text };
}

const appKey = (ctx: Context): string => ctx.app.main.tenant.appKey;
const certificates = (ctx: Context, version: string): string =>
  `/certmanager/${version}/appkeys/${appKey(ctx)}/certificates`;

/** Every route's text inputs: path parameters, query values, body fields, decoded credentials. */
const CASES: Record<string, Case> = {
  // Paths no face owns: the server's plain 400, not a 500 with an error log (found by the fuzzer).
  'no face: JSON body': (ctx, c) =>
    nhn(ctx, '/nowhere', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: `a${c}b` }),
    }),
  'no face: query': (ctx, c) => nhn(ctx, `/docs?x=${enc(c)}`),
  // NHN Cloud Certificate Manager: the appKey in the path, with no credentials at all.
  'nhn v1.0 appKey (no credentials)': (ctx, c) => nhn(ctx, `/certmanager/v1.0/appkeys/${enc(c)}/certificates`),
  'nhn v1.2 appKey (no credentials)': (ctx, c) => nhn(ctx, `/certmanager/v1.2/appkeys/a${enc(c)}b/certificates`),
  'nhn v1.3 appKey': (ctx, c) => nhn(ctx, `/certmanager/v1.3/appkeys/${enc(c)}/certificates`, { headers: v13(ctx) }),
  'nhn v1.3 list query': (ctx, c) => nhn(ctx, `${certificates(ctx, 'v1.3')}?status=${enc(c)}`, { headers: v13(ctx) }),
  'nhn v1.3 query name': (ctx, c) =>
    nhn(ctx, `${certificates(ctx, 'v1.3')}?page=1&${enc(`x${c}`)}=1`, { headers: v13(ctx) }),
  'nhn v1.3 certificate name (download)': (ctx, c) =>
    nhn(ctx, `${certificates(ctx, 'v1.3')}/www${enc(c)}.example.com/files`, { headers: v13(ctx) }),
  'nhn v1.3 certificate id': (ctx, c) =>
    nhn(ctx, `${certificates(ctx, 'v1.3')}/${enc(c)}/certificate-files`, { headers: v13(ctx) }),
  'nhn v1.1 certificate name (download)': (ctx, c) =>
    nhn(ctx, `${certificates(ctx, 'v1.1')}/${enc(c)}/files`, { headers: v11(ctx) }),
  'nhn v1.1 certificate name (upload)': (ctx, c) =>
    nhn(ctx, `${certificates(ctx, 'v1.1')}/www.example.com${enc(c)}/files`, {
      method: 'POST',
      headers: { ...v11(ctx), 'content-type': MULTIPART_TYPE },
      body: multipart([
        { name: 'file', filename: 'www.pem', content: ctx.pems.certificate + ctx.pems.chain + ctx.pems.privateKey },
      ]),
    }),
  'nhn token: access key in Basic credentials': (ctx, c) =>
    nhn(ctx, '/oauth2/token/create', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic({ accessKey: `${ctx.app.main.admin.accessKey}${c}`, secretKey: 'x' }),
      },
      body: 'grant_type=client_credentials',
    }),
  'nhn token: NUL-only access key': (ctx, c) =>
    nhn(ctx, '/oauth2/token/create', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic({ accessKey: c, secretKey: c }),
      },
      body: 'grant_type=client_credentials',
    }),
  'nhn token: form body': (ctx, c) =>
    nhn(ctx, '/oauth2/token/create', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(ctx.app.main.admin) },
      body: `grant_type=client_credentials&scope=${enc(c)}`,
    }),

  // NCP Certificate Manager 1.0 and 2.0.
  'ncp v2 list query': (ctx, c) =>
    ncp(ctx, { method: 'GET', path: '/api/v2/certificate/getCertificates', query: { certificateName: `a${c}` } }),
  'ncp v1 list query': (ctx, c) => ncp(ctx, { method: 'GET', path: '/api/v1/certificates', query: { name: c } }),
  'ncp v2 import name': (ctx, c) =>
    ncp(ctx, { method: 'POST', path: '/api/v2/certificate/withExternal', body: v2Body(`www${c}`, ctx.pems) }),
  'ncp v2 import body key': (ctx, c) =>
    ncp(ctx, {
      method: 'POST',
      path: '/api/v2/certificate/withExternal',
      body: { ...v2Body('www', ctx.pems), [`k${c}`]: 1 },
    }),
  'ncp v1 delete path': (ctx, c) => ncp(ctx, { method: 'DELETE', path: `/api/v1/certificate/${enc(c)}` }),
  'ncp v2 export path': (ctx, c) =>
    ncp(ctx, { method: 'GET', path: `/api/v2/certificate/exportCertificate/1${enc(c)}/chain` }),
  'ncp v2 recentChanges query': (ctx, c) =>
    ncp(ctx, { method: 'GET', path: '/api/v2/certificate/recentChanges', query: { startTime: c } }),

  // NCP Global Edge.
  'edge slot path': (ctx, c) => ncp(ctx, { method: 'GET', path: `/api/v1/certificate/provisioning/${enc(c)}` }),
  'edge list query': (ctx, c) =>
    ncp(ctx, { method: 'GET', path: '/api/v1/certificate/provisioning', query: { pageNo: c } }),
  'edge create body': (ctx, c) =>
    ncp(ctx, { method: 'POST', path: '/api/v1/certificate/provisioning', body: { certificateNo: `1${c}` } }),

  // The console.
  'console login access key': async (ctx, c) => {
    const response = await new ConsoleClient(ctx.app).login({ accessKey: `AK${c}`, secretKey: 'x' });
    return { status: response.status, body: response.text };
  },
  'console login secret key': async (ctx, c) => {
    const response = await new ConsoleClient(ctx.app).login({ accessKey: ctx.app.main.admin.accessKey, secretKey: c });
    return { status: response.status, body: response.text };
  },
  'console list query': (ctx, c) => consoleCall(ctx, 'GET', `/console/api/certificates?name=${enc(c)}`),
  'console certificate path': (ctx, c) => consoleCall(ctx, 'GET', `/console/api/certificates/${enc(c)}`),
  'console history path': (ctx, c) => consoleCall(ctx, 'GET', `/console/api/certificates/1${enc(c)}/history`),
  'console import name': (ctx, c) =>
    consoleCall(ctx, 'POST', '/console/api/certificates', {
      name: `www${c}`,
      certificate: ctx.pems.certificate,
      privateKey: ctx.pems.privateKey,
      chain: ctx.pems.chain,
    }),
  'console import file name': (ctx, c) =>
    consoleCall(ctx, 'POST', '/console/api/certificates', {
      name: 'www',
      file: {
        name: `www${c}.pem`,
        contentBase64: Buffer.from(ctx.pems.certificate + ctx.pems.chain + ctx.pems.privateKey).toString('base64'),
      },
    }),
  'console validate': (ctx, c) =>
    consoleCall(ctx, 'POST', '/console/api/certificates/validate', { name: 'www', certificate: `x${c}` }),
  'console delete name': (ctx, c) => consoleCall(ctx, 'DELETE', `/console/api/certificates/1?name=${enc(c)}`),
  'console credential description': (ctx, c) =>
    consoleCall(ctx, 'POST', '/console/api/credentials', { role: 'VIEWER', description: `d${c}` }),
  'console credential revoke path': (ctx, c) => consoleCall(ctx, 'DELETE', `/console/api/credentials/AK${enc(c)}`),
  'console edge slot path': (ctx, c) => consoleCall(ctx, 'GET', `/console/api/edge/slots/${enc(c)}`),
  'console edge slot create': (ctx, c) =>
    consoleCall(ctx, 'POST', '/console/api/edge/slots', { certificateNo: 1, name: `s${c}` }),
};

/** What a refused request must leave alone. */
const TABLES = [
  'certificates',
  'certificate_keys',
  'certificate_files',
  'credentials',
  'nhn_tokens',
  'console_sessions',
  'edge_slots',
  'audit_events',
];

async function counts(app: NcpTestApp): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of TABLES) out[table] = await countRows(app.location, table);
  return out;
}

/** Per store: `case|character` → answer, compared across stores at the end. */
const answers = new Map<string, Map<string, Answer>>();

/** Request ids and random per-tenant values differ between runs; nothing else may. */
function comparable(ctx: Context, body: string): string {
  return body
    .replaceAll(ctx.app.main.tenant.appKey, '<appKey>')
    .replaceAll(ctx.app.main.admin.accessKey, '<accessKey>')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>');
}

const pems = await mintPems();

for (const target of storeTargets) {
  describe(`control characters in request text (${target.name})`, { skip: target.skip }, () => {
    let ctx: Context;
    const seen = new Map<string, Answer>();
    answers.set(target.name, seen);

    before(async () => {
      const app = await startNcpApp({ store: target.name, now: NOW });
      const console = await loggedIn(app, app.main.admin);
      ctx = { app, console, token: await issueToken(app, app.main.admin), pems };
    });
    after(() => ctx?.app.close());

    for (const [name, send] of Object.entries(CASES)) {
      it(`${name}: the face's 4xx, nothing written`, async () => {
        const before = await counts(ctx.app);
        for (const c of CHARACTERS) {
          const got = await send(ctx, c);
          const label = `${name} with U+${c.codePointAt(0)!.toString(16).padStart(4, '0')}`;
          assert.ok(got.status >= 400 && got.status < 500, `${label}: ${got.status} ${got.body}`);
          assert.ok(!hasControlCharacter(got.body), `${label}: the answer echoes the character`);
          seen.set(`${name}|${c}`, { status: got.status, body: comparable(ctx, got.body) });
        }
        assert.deepEqual(await counts(ctx.app), before, `${name}: something was written`);
      });
    }
  });
}

describe('control characters: the same answer on both stores', { skip: storeTargets[1]!.skip }, () => {
  it('every case answers SQLite and PostgreSQL alike', () => {
    const sqlite = answers.get('sqlite')!;
    const postgres = answers.get('postgres')!;
    assert.equal(sqlite.size, Object.keys(CASES).length * CHARACTERS.length);
    assert.deepEqual([...postgres.entries()], [...sqlite.entries()]);
  });
});
