/**
 * The bad-input matrix: every endpoint of the NCP face, fed every kind of wrong input, on every
 * store. Each case expects its documented code (docs/compat/ncp.md) and HTTP status, a message
 * that names the field where there is one, and a store exactly as it was (rows, keys, files,
 * domains and every certificate's state compared before and after).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { storeTargets } from '../../helpers/db.ts';
import type { NcpResponse } from '../../helpers/ncp-client.ts';
import {
  days,
  derOf,
  mintIntermediate,
  mintLeaf,
  mintRoot,
  P256,
  P384,
  RSA2048,
  type Issued,
} from '../../helpers/pki.ts';
import { FIXTURES, GOLDEN_NOW, startNcpApp, storeSnapshot, v1Body, v2Body, type NcpTestApp } from './helpers.ts';

// ---------------------------------------------------------------------------------------------
// Material, minted once around the app's fixed clock.

const NB = new Date(GOLDEN_NOW.getTime() - days(1));
const CA_START = new Date(GOLDEN_NOW.getTime() - days(30));
const root = await mintRoot({ notBefore: CA_START, freshKey: true });
const intermediate = await mintIntermediate(root, { notBefore: CA_START, freshKey: true });
const chain = intermediate.pem + root.pem;
const leaf = (options: Parameters<typeof mintLeaf>[1] = {}): Promise<Issued> =>
  mintLeaf(intermediate, { notBefore: NB, freshKey: true, key: P256, ...options });

const good = await leaf({ cn: 'good.example.com' });
const goodMaterial = { certificate: good.pem, privateKey: good.keyPem, chain };
const other = await leaf({ cn: 'other.example.com' });
// Another CA altogether: other names, other keys.
const foreignRoot = await mintRoot({ cn: 'Foreign Root', o: 'Foreign CA', notBefore: CA_START, freshKey: true });
const foreign = {
  root: foreignRoot,
  chainPem:
    (
      await mintIntermediate(foreignRoot, {
        cn: 'Foreign Intermediate',
        o: 'Foreign CA',
        notBefore: CA_START,
        freshKey: true,
      })
    ).pem + foreignRoot.pem,
};
const expired = await leaf({
  cn: 'expired.example.com',
  notBefore: new Date(GOLDEN_NOW.getTime() - days(100)),
  notAfter: new Date(GOLDEN_NOW.getTime() - days(1)),
});
const notYet = await leaf({ cn: 'later.example.com', notBefore: new Date(GOLDEN_NOW.getTime() + days(1)) });
const rsa1024 = await leaf({ cn: 'weak.example.com', key: { kind: 'rsa', bits: 1024 } });
// Two certificates on one (pooled, not fresh) key: the first is stored, the second is a duplicate key.
const sharedKeyA = await mintLeaf(intermediate, { cn: 'a.example.com', notBefore: NB, key: P384 });
const sharedKeyB = await mintLeaf(intermediate, { cn: 'b.example.com', notBefore: NB, key: P384 });
const rsa = await leaf({ cn: 'rsa.example.com', key: RSA2048 });
const encryptedKey = good.key.keyObject
  .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
  .toString();
const csr =
  '-----BEGIN CERTIFICATE REQUEST-----\nMIIBAjCBqQIBADAWMRQwEgYDVQQDDAtleGFtcGxlLmNvbTBZMBMGByqGSM49AgEG\n-----END CERTIFICATE REQUEST-----\n';
const bigPem = (label: string, bytes: number): string =>
  `-----BEGIN ${label}-----\n${'A'.repeat(bytes)}\n-----END ${label}-----\n`;

const INJECTIONS = [
  "x' OR '1'='1",
  "a'; DROP TABLE certificates;--",
  '../../etc/passwd',
  '%',
  'ec-cert%',
  '\u0000ec-cert',
];
const BAD_NAMES = [
  'ab',
  'a'.repeat(21),
  '1abc',
  '-abc',
  'a_b',
  'a b',
  'abc.def',
  '인증서이름',
  'ec-cert ',
  ...INJECTIONS,
  'x'.repeat(10_000),
  '',
];
const WRONG_TYPES: Array<[string, unknown]> = [
  ['a number', 42],
  ['an array', ['x']],
  ['null', null],
  ['an object', { a: 1 }],
  ['a boolean', true],
];

// ---------------------------------------------------------------------------------------------
// Cases

interface Case {
  name: string;
  send(app: NcpTestApp): Promise<NcpResponse>;
  status: number;
  /** returnCode, or `gw<errorCode>` for a gateway error. */
  code: string;
  /** Text the message must contain (the field it is about). */
  mentions?: string;
}

const c = (name: string, status: number, code: string, send: Case['send'], mentions?: string): Case => ({
  name,
  status,
  code,
  send,
  ...(mentions ? { mentions } : {}),
});

type Material = { certificate: string; privateKey: string; chain: string };
const CREATE = [
  {
    api: 'v1',
    path: '/api/v1/certificate/withExternal',
    certField: 'publicKeyCertificate',
    body: (name: string, m: Material) => v1Body(name, m),
  },
  {
    api: 'v2',
    path: '/api/v2/certificate/withExternal',
    certField: 'certificateBody',
    body: (name: string, m: Material) => v2Body(name, m),
  },
] as const;

function createCases(): Case[] {
  const cases: Case[] = [];
  for (const { api, path, certField, body } of CREATE) {
    const post = (payload: unknown) => (app: NcpTestApp) => app.call({ method: 'POST', path, body: payload });
    const withField = (field: string, value: unknown) => post({ ...body('fresh-name', goodMaterial), [field]: value });
    const without = (field: string) => {
      const payload: Record<string, unknown> = { ...body('fresh-name', goodMaterial) };
      delete payload[field];
      return post(payload);
    };
    const fields = ['certificateName', 'privateKey', certField, 'certificateChain'];
    for (const field of fields) {
      cases.push(c(`${api} create: ${field} missing`, 400, '2100', without(field), field));
      for (const [what, value] of WRONG_TYPES)
        cases.push(c(`${api} create: ${field} is ${what}`, 400, '2100', withField(field, value), field));
    }
    cases.push(
      c(`${api} create: privateKey empty`, 400, '2100', withField('privateKey', ''), 'privateKey'),
      c(`${api} create: ${certField} empty`, 400, '2100', withField(certField, ''), certField),
      c(`${api} create: ${certField} blank`, 400, '2100', withField(certField, ' \n '), certField),
      c(
        `${api} create: certificateChain empty for a CA-issued certificate`,
        200,
        '26071',
        withField('certificateChain', ''),
      ),
      c(`${api} create: certificateName huge`, 400, '2000', withField('certificateName', 'a'.repeat(100_000))),
      c(`${api} create: privateKey huge`, 200, '26010', withField('privateKey', bigPem('PRIVATE KEY', 20_000))),
      c(`${api} create: ${certField} huge`, 200, '26010', withField(certField, bigPem('CERTIFICATE', 40_000))),
      c(
        `${api} create: certificateChain huge`,
        200,
        '26010',
        withField('certificateChain', bigPem('CERTIFICATE', 2 * 1024 * 1024 + 1)),
      ),
      c(
        `${api} create: body over the size limit`,
        413,
        'gw430',
        withField('certificateChain', 'A'.repeat(4 * 1024 * 1024 + 1)),
      ),
      c(`${api} create: key in the certificate field`, 200, '1002', withField(certField, good.keyPem)),
      c(`${api} create: certificate in the key field`, 200, '1002', withField('privateKey', good.pem)),
      c(`${api} create: key in the chain field`, 200, '1002', withField('certificateChain', good.keyPem)),
      c(`${api} create: CSR in the certificate field`, 200, '1002', withField(certField, csr)),
      c(
        `${api} create: junk text as certificate`,
        200,
        '1002',
        withField(certField, 'hello, this is not a certificate'),
      ),
      c(
        `${api} create: bare base64 DER as certificate`,
        200,
        '1002',
        withField(certField, derOf(good).toString('base64')),
      ),
      c(`${api} create: junk text as key`, 200, '1002', withField('privateKey', 'not a key')),
      c(
        `${api} create: broken base64 inside the armour`,
        200,
        '1002',
        withField(certField, '-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n'),
      ),
      c(
        `${api} create: full chain pasted as certificate`,
        200,
        '26032',
        withField(certField, good.pem + intermediate.pem),
      ),
      c(
        `${api} create: armour right, DER not a certificate`,
        200,
        '26034',
        withField(
          certField,
          `-----BEGIN CERTIFICATE-----\n${Buffer.from('not a certificate at all').toString('base64')}\n-----END CERTIFICATE-----\n`,
        ),
      ),
      c(`${api} create: two keys`, 200, '26042', withField('privateKey', good.keyPem + other.keyPem)),
      c(`${api} create: encrypted key`, 200, '26044', withField('privateKey', encryptedKey)),
      c(`${api} create: key of another certificate`, 200, '26040', withField('privateKey', other.keyPem)),
      c(
        `${api} create: expired certificate`,
        200,
        '26061',
        post(body('fresh-name', { certificate: expired.pem, privateKey: expired.keyPem, chain })),
      ),
      c(
        `${api} create: not yet valid certificate`,
        200,
        '26062',
        post(body('fresh-name', { certificate: notYet.pem, privateKey: notYet.keyPem, chain })),
      ),
      c(`${api} create: chain of another issuer`, 200, '26071', withField('certificateChain', foreign.chainPem)),
      c(
        `${api} create: chain with an unrelated certificate`,
        200,
        '26075',
        withField('certificateChain', chain + foreign.root.pem),
      ),
      c(`${api} create: the leaf repeated in the chain`, 200, '26075', withField('certificateChain', good.pem + chain)),
      c(
        `${api} create: RSA-1024 key`,
        200,
        '26080',
        post(body('fresh-name', { certificate: rsa1024.pem, privateKey: rsa1024.keyPem, chain })),
      ),
      c(`${api} create: Ed25519 key`, 200, '26080', post(body('fresh-name', FIXTURES.ed25519))),
      c(`${api} create: duplicate certificate`, 200, '26090', post(body('fresh-name', FIXTURES.ec))),
      c(
        `${api} create: duplicate key`,
        200,
        '26090',
        post(body('fresh-name', { certificate: sharedKeyB.pem, privateKey: sharedKeyB.keyPem, chain })),
      ),
      c(`${api} create: duplicate name`, 200, '26090', post(body('ec-cert', goodMaterial))),
      c(`${api} create: body is an array`, 400, '2100', post([goodMaterial]), 'body'),
      c(`${api} create: body is a string`, 400, '2100', post('"text"'), 'body'),
      c(`${api} create: body is malformed JSON`, 400, 'gw100', post('{"certificateName": ')),
      c(`${api} create: no body`, 400, '2100', (app) => app.call({ method: 'POST', path }), 'certificateName'),
      c(`${api} create: body not JSON`, 400, 'gw100', (app) =>
        app.call({
          method: 'POST',
          path,
          body: 'certificateName=x',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
      ),
      c(
        `${api} create: __proto__ in the body`,
        400,
        'gw100',
        post(`{"__proto__": {"certificateName": "x"}, "certificateName": "abc"}`),
      ),
    );
    for (const name of BAD_NAMES.filter((name) => !name.includes('\u0000')))
      cases.push(
        c(`${api} create: name ${JSON.stringify(name.slice(0, 30))}`, 400, '2000', post(body(name, goodMaterial))),
      );
    // Control characters are refused for every field of every face before any rule of its own
    // (server/control-characters.ts), as an invalid parameter naming the field.
    cases.push(
      c(`${api} create: name with a NUL`, 400, '2100', post(body('\u0000ec-cert', goodMaterial)), 'certificateName'),
    );
  }
  return cases;
}

function replaceCases(): Case[] {
  const path = '/api/v2/certificate/withExternal';
  const post = (payload: unknown) => (app: NcpTestApp) => app.call({ method: 'POST', path, body: payload });
  const replacing = (certificateNo: unknown, name = 'ec-cert', material: Material = goodMaterial) =>
    post({ ...v2Body(name, material), certificateNo });
  return [
    ...[
      ['a word', 'abc'],
      ['zero', 0],
      ['negative', -1],
      ['a fraction', 1.5],
      ['a boolean', true],
      ['an array', [1]],
      ['an object', {}],
      ['SQL', '1 OR 1=1'],
      ['too big', '99999999999999999999'],
    ].map(([what, value]) => c(`v2 replace: certificateNo is ${what}`, 400, '2100', replacing(value), 'certificateNo')),
    c('v2 replace: unknown certificateNo', 200, '2200', replacing(999_999)),
    c('v2 replace: certificateNo of another name', 200, '2200', replacing(1, 'korean-cert')),
    c('v2 replace: name is not a string', 400, '2100', replacing(1, 42 as unknown as string), 'certificateName'),
    c(
      'v2 replace: expired replacement',
      200,
      '26061',
      replacing(1, 'ec-cert', { certificate: expired.pem, privateKey: expired.keyPem, chain }),
    ),
    c(
      'v2 replace: key of another certificate',
      200,
      '26040',
      replacing(1, 'ec-cert', { ...goodMaterial, privateKey: other.keyPem }),
    ),
    c('v2 replace: with another stored certificate', 200, '26090', replacing(1, 'ec-cert', FIXTURES.korean)),
  ];
}

const NUMBER_PATHS: Array<[string, string]> = [
  ['a word', 'abc'],
  ['SQL', '1%20OR%201=1'],
  ['SQL with quote', "1'%20OR%20'1'='1"],
  ['zero', '0'],
  ['negative', '-1'],
  ['fraction', '1.5'],
  ['hex', '0x1'],
  ['too big', '99999999999999999999'],
  ['encoded traversal', '..%2F..%2Fx'],
  ['spaces', '%201%20'],
];

function deleteCases(): Case[] {
  const cases: Case[] = [];
  for (const [api, base] of [
    ['v1', '/api/v1/certificate'],
    ['v2', '/api/v2/certificate/deleteCertificate'],
  ] as const) {
    const del = (no: string, query?: Record<string, string> | Array<[string, string]>) => (app: NcpTestApp) =>
      app.call({ method: 'DELETE', path: `${base}/${no}`, ...(query ? { query } : {}) });
    cases.push(
      c(`${api} delete: certificateName missing`, 400, '2100', del('1'), 'certificateName'),
      c(`${api} delete: certificateName empty`, 400, '2100', del('1', { certificateName: '' }), 'certificateName'),
      c(
        `${api} delete: certificateName twice`,
        400,
        '2100',
        del('1', [
          ['certificateName', 'ec-cert'],
          ['certificateName', 'ec-cert'],
        ]),
        'certificateName',
      ),
      c(
        `${api} delete: certificateName huge`,
        400,
        '2100',
        del('1', { certificateName: 'x'.repeat(300) }),
        'certificateName',
      ),
      c(`${api} delete: unknown number`, 200, '1004', del('999999', { certificateName: 'ec-cert' })),
      c(`${api} delete: another certificate's name`, 200, '1004', del('1', { certificateName: 'korean-cert' })),
      c(`${api} delete: name in another case`, 200, '1004', del('1', { certificateName: 'EC-CERT' })),
      ...INJECTIONS.filter((name) => !name.includes('\u0000')).map((name) =>
        c(`${api} delete: name ${JSON.stringify(name)}`, 200, '1004', del('1', { certificateName: name })),
      ),
      c(
        `${api} delete: name with a NUL`,
        400,
        '2100',
        del('1', { certificateName: '\u0000ec-cert' }),
        'certificateName',
      ),
      ...NUMBER_PATHS.map(([what, no]) =>
        c(
          `${api} delete: certificateNo ${what}`,
          400,
          '2100',
          del(no, { certificateName: 'ec-cert' }),
          'certificateNo',
        ),
      ),
      // Fastify refuses a path parameter over 100 characters before routing: a malformed URL.
      c(
        `${api} delete: certificateNo over 100 characters`,
        400,
        'gw100',
        del('1'.repeat(101), { certificateName: 'ec-cert' }),
      ),
      c(`${api} delete: raw ../ traversal`, 404, 'gw300', rawPath('DELETE', `${base}/../../x?certificateName=ec-cert`)),
    );
  }
  return cases;
}

function exportCases(): Case[] {
  const chainOf = (no: string) => (app: NcpTestApp) =>
    app.call({ method: 'GET', path: `/api/v2/certificate/exportCertificate/${no}/chain` });
  const download = (no: string, body?: unknown) => (app: NcpTestApp) =>
    app.call({
      method: 'POST',
      path: `/api/v2/certificate/exportCertificate/${no}`,
      ...(body === undefined ? {} : { body }),
    });
  return [
    c('chain: unknown number', 200, '2200', chainOf('999999')),
    ...NUMBER_PATHS.map(([what, no]) => c(`chain: certificateNo ${what}`, 400, '2100', chainOf(no), 'certificateNo')),
    c('chain: raw ../ traversal', 404, 'gw300', rawPath('GET', '/api/v2/certificate/exportCertificate/../../x/chain')),
    c('download: unknown number', 200, '2200', download('999999', {})),
    ...NUMBER_PATHS.map(([what, no]) =>
      c(`download: certificateNo ${what}`, 400, '2100', download(no, {}), 'certificateNo'),
    ),
    c('download: raw ../ traversal', 404, 'gw300', rawPath('POST', '/api/v2/certificate/exportCertificate/../../x')),
    c('download: certificateNo in the body differs', 400, '2100', download('1', { certificateNo: 2 }), 'certificateNo'),
    c(
      'download: certificateNo in the body is a word',
      400,
      '2100',
      download('1', { certificateNo: 'one' }),
      'certificateNo',
    ),
    c('download: type DER', 400, '2100', download('1', { type: 'DER' }), 'type'),
    c('download: type is a number', 400, '2100', download('1', { type: 1 }), 'type'),
    c('download: passwd', 400, '2100', download('1', { passwd: 'secret' }), 'passwd'),
    c('download: body is an array', 400, '2100', download('1', []), 'body'),
    c('download: body is malformed JSON', 400, 'gw100', download('1', '{')),
  ];
}

function listCases(): Case[] {
  const get = (path: string, query: Record<string, string> | Array<[string, string]>) => (app: NcpTestApp) =>
    app.call({ method: 'GET', path, query });
  const cases: Case[] = [];
  for (const [what, path] of [
    ['v1 list', '/api/v1/certificates'],
    ['v2 certificates', '/api/v2/certificate/certificates'],
    ['v2 getCertificates', '/api/v2/certificate/getCertificates'],
  ] as const) {
    cases.push(
      c(
        `${what}: certificateName twice`,
        400,
        '2100',
        get(path, [
          ['certificateName', 'a'],
          ['certificateName', 'b'],
        ]),
        'certificateName',
      ),
      c(
        `${what}: certificateName huge`,
        400,
        '2100',
        get(path, { certificateName: 'x'.repeat(300) }),
        'certificateName',
      ),
      ...INJECTIONS.filter((name) => !name.includes('\u0000')).map((name) =>
        c(
          `${what}: certificateName ${JSON.stringify(name)} finds nothing`,
          200,
          '0',
          get(path, { certificateName: name }),
        ),
      ),
      c(
        `${what}: certificateName with a NUL`,
        400,
        '2100',
        get(path, { certificateName: '\u0000ec-cert' }),
        'certificateName',
      ),
    );
  }
  for (const [name, value] of [
    ['certificateNo', 'abc'],
    ['certificateNo', '1 OR 1=1'],
    ['certificateNo', '0'],
    ['certificateNo', '-1'],
    ['instanceNo', 'x'],
    ['instanceNo', '1;DROP TABLE certificates'],
  ] as const) {
    cases.push(
      c(`v1 list: ${name} ${JSON.stringify(value)}`, 400, '2100', get('/api/v1/certificates', { [name]: value }), name),
    );
  }
  for (const [name, value] of [
    ['page', '0'],
    ['page', 'abc'],
    ['page', '-1'],
    ['pageSize', '0'],
    ['pageSize', '1001'],
    ['pageSize', '1e3'],
    ['page', '1000001'],
  ] as const) {
    cases.push(
      c(
        `v2 certificates: ${name} ${value}`,
        400,
        '2100',
        get('/api/v2/certificate/certificates', { [name]: value }),
        name,
      ),
    );
  }
  return cases;
}

function recentCases(): Case[] {
  const recent = (query: Record<string, string>) => (app: NcpTestApp) =>
    app.call({ method: 'GET', path: '/api/v2/certificate/recentChanges', query });
  return [
    c('recentChanges: no window', 200, '2101', recent({})),
    c('recentChanges: minutes and seconds', 200, '2101', recent({ minutes: '5', seconds: '5' })),
    c(
      'recentChanges: minutes and a date range',
      200,
      '2101',
      recent({ minutes: '5', startDateTime: '2027-01-15 09:00:00', endDateTime: '2027-01-15 10:00:00' }),
    ),
    c('recentChanges: minutes 0', 200, '2101', recent({ minutes: '0' })),
    c('recentChanges: minutes -5', 200, '2101', recent({ minutes: '-5' })),
    c('recentChanges: minutes 10081', 200, '2101', recent({ minutes: '10081' })),
    c('recentChanges: seconds 0', 200, '2101', recent({ seconds: '0' })),
    c('recentChanges: seconds 604801', 200, '2101', recent({ seconds: '604801' })),
    c('recentChanges: startDateTime alone', 200, '2101', recent({ startDateTime: '2027-01-15 09:00:00' })),
    c('recentChanges: endDateTime alone', 200, '2101', recent({ endDateTime: '2027-01-15 09:00:00' })),
    c(
      'recentChanges: start after end',
      200,
      '2101',
      recent({ startDateTime: '2027-01-15 10:00:00', endDateTime: '2027-01-15 09:00:00' }),
    ),
    c(
      'recentChanges: more than 7 days',
      200,
      '2101',
      recent({ startDateTime: '2027-01-01 00:00:00', endDateTime: '2027-01-08 00:00:01' }),
    ),
    c('recentChanges: minutes not a number', 400, '2100', recent({ minutes: 'abc' }), 'minutes'),
    c('recentChanges: seconds a fraction', 400, '2100', recent({ seconds: '1.5' }), 'seconds'),
    c('recentChanges: minutes SQL', 400, '2100', recent({ minutes: '5 OR 1=1' }), 'minutes'),
    c(
      'recentChanges: startDateTime garbage',
      400,
      '2100',
      recent({ startDateTime: 'yesterday', endDateTime: '2027-01-15 09:00:00' }),
      'startDateTime',
    ),
    c(
      'recentChanges: endDateTime not a real day',
      400,
      '2100',
      recent({ startDateTime: '2027-02-27 00:00:00', endDateTime: '2027-02-30 00:00:00' }),
      'endDateTime',
    ),
    c('recentChanges: minutes 10080 is fine', 200, '0', recent({ minutes: '10080' })),
    c('recentChanges: seconds 604800 is fine', 200, '0', recent({ seconds: '604800' })),
    c(
      'recentChanges: exactly 7 days is fine',
      200,
      '0',
      recent({ startDateTime: '2027-01-08 10:02:03(UTC+09:00)', endDateTime: '2027-01-15T01:02:03Z' }),
    ),
  ];
}

/** A request sent byte for byte (fetch would normalise `..`), signed as sent. Unknown routes need no signature. */
function rawPath(method: string, path: string) {
  return (app: NcpTestApp): Promise<NcpResponse> =>
    new Promise((resolve, reject) => {
      const url = new URL(app.baseUrl);
      const bodyless = method === 'GET' || method === 'DELETE';
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          method,
          path,
          headers: bodyless ? {} : { 'content-type': 'application/json' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            resolve({ status: res.statusCode ?? 0, headers: {}, body, json: JSON.parse(body.toString()) });
          });
        },
      );
      req.on('error', reject);
      req.end(bodyless ? undefined : '{}');
    });
}

function codeOf(res: NcpResponse): string {
  const body = res.json as { returnCode?: string; error?: { errorCode: string } } | undefined;
  if (body?.returnCode !== undefined) return body.returnCode;
  if (body?.error) return `gw${body.error.errorCode}`;
  return `(no JSON: ${res.body.toString('utf8', 0, 200)})`;
}

function messageOf(res: NcpResponse): string {
  const body = res.json as { returnMessage?: string; error?: { details: string } };
  return body.returnMessage ?? body.error?.details ?? '';
}

const CASES = [
  ...createCases(),
  ...replaceCases(),
  ...deleteCases(),
  ...exportCases(),
  ...listCases(),
  ...recentCases(),
];

for (const target of storeTargets) {
  describe(`NCP bad-input matrix on ${target.name}`, { skip: target.skip }, () => {
    let app: NcpTestApp;

    before(async () => {
      app = await startNcpApp({ store: target.name });
      for (const [name, material, api] of [
        ['ec-cert', FIXTURES.ec, 'v1'],
        ['korean-cert', FIXTURES.korean, 'v2'],
        ['shared-key-a', { certificate: sharedKeyA.pem, privateKey: sharedKeyA.keyPem, chain }, 'v2'],
        ['rsa-cert', { certificate: rsa.pem, privateKey: rsa.keyPem, chain }, 'v1'],
      ] as const) {
        const res = await app.call({
          method: 'POST',
          path: `/api/${api}/certificate/withExternal`,
          body: api === 'v1' ? v1Body(name, material) : v2Body(name, material),
        });
        assert.equal(res.status, 200, res.body.toString());
        assert.equal((res.json as { returnCode: string }).returnCode, '0', res.body.toString());
      }
    });
    after(() => app.close());

    for (const testCase of CASES) {
      it(testCase.name, async () => {
        const before = await storeSnapshot(app);
        const res = await testCase.send(app);
        assert.equal(codeOf(res), testCase.code, res.body.toString('utf8', 0, 500));
        assert.equal(res.status, testCase.status);
        if (testCase.mentions)
          assert.ok(
            messageOf(res).includes(testCase.mentions),
            `message should name ${testCase.mentions}: ${messageOf(res)}`,
          );
        if (testCase.code !== '0') assert.ok(messageOf(res).length > 0, 'has a message');
        assert.ok(res.body.length < 4096, 'the answer does not echo huge input');
        assert.deepEqual(await storeSnapshot(app), before, 'the store is unchanged');
      });
    }

    it('the good material itself is accepted (the cases above fail for their own reason)', async () => {
      const res = await app.call({
        method: 'POST',
        path: '/api/v1/certificate/withExternal',
        body: v1Body('fresh-name', goodMaterial),
      });
      assert.equal(codeOf(res), '0', res.body.toString());
    });
  });
}
