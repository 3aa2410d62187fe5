/**
 * The benchmark's cases: what each hot endpoint is sent (a fresh request each time, NCP requests
 * signed each time), and how a probe checks that it answered what it should.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { formatAmzDate, sha256Hex, signingKey } from '../../src/auth/sigv4.ts';
import { signedHeaders } from '../../test/helpers/ncp-client.ts';
import type { Pool } from './pools.ts';
import type { CaseKind } from './results.ts';
import type { Seeded } from './seed.ts';

export interface Wire {
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface Case {
  id: string;
  label: string;
  kind: CaseKind;
  method: 'GET' | 'POST';
  /** A typical request, for the report. */
  shown: string;
  /** The next request to send. */
  next(): Wire;
  /** Checks the probe's answer (status 200 already checked); returns a note for the log. */
  check(body: Buffer, contentType: string): string;
}

export interface Context {
  url: string;
  seeded: Seeded;
  token: string;
  importPool: Pool;
  /** Next import pool index (shared by warm-up and measured runs: each certificate is sent once). */
  importNext: { i: number };
}

/**
 * NCP signature v2 of `METHOD path` now, as test/helpers/ncp-client.ts `signedHeaders` (java-raw:
 * the wire target as sent) computes it, with the secret held as a KeyObject: 6 µs a signature
 * instead of 35 µs, which matters when the load generator shares two CPUs with the server.
 * Checked against `signedHeaders` on first use.
 */
const keys = new Map<string, KeyObject>();
function sign(seeded: Seeded, method: string, path: string): Record<string, string> {
  let key = keys.get(seeded.secretKey);
  if (!key) {
    key = createSecretKey(Buffer.from(seeded.secretKey, 'utf8'));
    keys.set(seeded.secretKey, key);
    const expected = signedHeaders({
      method: 'GET',
      url: '/check?a=b',
      accessKey: seeded.accessKey,
      secretKey: seeded.secretKey,
      timestamp: 1,
      variant: 'java-raw',
    });
    if (
      expected['x-ncp-apigw-signature-v2'] !==
      createHmac('sha256', key).update(`GET /check?a=b\n1\n${seeded.accessKey}`).digest('base64')
    )
      throw new Error('bench signer disagrees with signedHeaders');
  }
  const timestamp = String(Date.now());
  return {
    'x-ncp-apigw-timestamp': timestamp,
    'x-ncp-iam-access-key': seeded.accessKey,
    'x-ncp-apigw-signature-v2': createHmac('sha256', key)
      .update(`${method} ${path}\n${timestamp}\n${seeded.accessKey}`)
      .digest('base64'),
  };
}

function ncp(seeded: Seeded, method: 'GET' | 'POST', path: string, body?: string): Wire {
  const headers: Record<string, string> = { accept: 'application/json', ...sign(seeded, method, path) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return body === undefined ? { path, headers } : { path, headers, body };
}

/**
 * An ACM request (AWS JSON 1.1 at `POST /`) signed now with SigV4 (service `acm`, us-east-1),
 * host, x-amz-date and x-amz-target signed, over the body's SHA-256: what the AWS SDKs send. The
 * signing key (per day) comes from src/auth/sigv4.ts, the verifier's own derivation.
 */
const acmKeys = new Map<string, Buffer>();
function acm(seeded: Seeded, host: string, operation: string, body: string): Wire {
  const amzDate = formatAmzDate(new Date());
  const date = amzDate.slice(0, 8);
  const cacheKey = `${seeded.secretKey}/${date}`;
  let key = acmKeys.get(cacheKey);
  if (!key) {
    key = signingKey(seeded.secretKey, date, 'us-east-1', 'acm');
    acmKeys.set(cacheKey, key);
  }
  const target = `CertificateManager.${operation}`;
  const payloadHash = sha256Hex(body);
  const canonical = [
    'POST',
    '/',
    '',
    `host:${host}\nx-amz-date:${amzDate}\nx-amz-target:${target}\n`,
    'host;x-amz-date;x-amz-target',
    payloadHash,
  ].join('\n');
  const scope = `${date}/us-east-1/acm/aws4_request`;
  const signature = createHmac('sha256', key)
    .update(`AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`)
    .digest('hex');
  return {
    path: '/',
    headers: {
      host,
      'x-amz-date': amzDate,
      'x-amz-target': target,
      'content-type': 'application/x-amz-json-1.1',
      authorization: `AWS4-HMAC-SHA256 Credential=${seeded.accessKey}/${scope}, SignedHeaders=host;x-amz-date;x-amz-target, Signature=${signature}`,
    },
    body,
  };
}

function json(body: Buffer): Record<string, unknown> {
  return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
}

function ncpOk(body: Buffer): Record<string, unknown> {
  const parsed = json(body);
  if (parsed.returnCode !== '0') throw new Error(`NCP answered ${body.toString('utf8').slice(0, 300)}`);
  return parsed;
}

export function cases(ctx: Context, pageSize: number, only: ReadonlySet<string> | null): Case[] {
  const { seeded } = ctx;
  const deepPage = Math.max(1, Math.floor(seeded.live / pageSize / 2));
  const nhnBase = `/certmanager/v1.3/appkeys/${seeded.appKey}/certificates`;
  const nhnHeaders = { accept: 'application/json', 'x-nhn-authorization': `Bearer ${ctx.token}` };
  const v2 = (page: number) => `/api/v2/certificate/getCertificates?page=${page}&pageSize=${pageSize}`;
  // Past the end of the pool (the ceiling's runs, which ignore the body) it wraps around; an
  // import run that got there would see its repeats refused, counted as failures.
  const importBody = (i: number): string => {
    const leaf = ctx.importPool.leaves[i % ctx.importPool.leaves.length]!;
    return JSON.stringify({
      certificateName: `imp-${i}`,
      privateKey: leaf.keyPem,
      certificateBody: leaf.certPem,
      certificateChain: ctx.importPool.chainPem,
    });
  };
  const all: Case[] = [
    {
      id: 'ncp-v1-name',
      label: 'NCP v1 list, name filter',
      kind: 'list',
      method: 'GET',
      shown: 'GET /api/v1/certificates?certificateName=<random live name>',
      next: () => ncp(seeded, 'GET', `/api/v1/certificates?certificateName=${seeded.liveName(Math.random())}`),
      check: (body) => {
        const r = ncpOk(body);
        if (r.totalRows !== 1) throw new Error(`expected one certificate, got ${String(r.totalRows)}`);
        return '1 certificate';
      },
    },
    {
      id: 'ncp-v2-page1',
      label: `NCP v2 getCertificates page 1 (${pageSize})`,
      kind: 'list',
      method: 'GET',
      shown: `GET ${v2(1)}`,
      next: () => ncp(seeded, 'GET', v2(1)),
      check: (body) => {
        const r = ncpOk(body);
        if (r.totalCount !== seeded.live)
          throw new Error(`totalCount ${String(r.totalCount)}, expected ${seeded.live}`);
        return `totalCount ${String(r.totalCount)}, ${(r.sslCertificateList as unknown[]).length} items`;
      },
    },
    {
      id: 'ncp-v2-deep',
      label: `NCP v2 getCertificates deep page (${pageSize})`,
      kind: 'list',
      method: 'GET',
      shown: `GET ${v2(deepPage)}`,
      next: () => ncp(seeded, 'GET', v2(deepPage)),
      check: (body) => {
        const r = ncpOk(body);
        const items = r.sslCertificateList as Array<{ certificateNo: number }>;
        if (items.length !== pageSize) throw new Error(`deep page holds ${items.length} items`);
        return `page ${deepPage}, certificateNo ${items[0]!.certificateNo}…`;
      },
    },
    ...(['ASCENDING', 'DESCENDING'] as const).map((order): Case => ({
      id: order === 'ASCENDING' ? 'acm-list' : 'acm-list-desc',
      label: `ACM ListCertificates MaxItems ${pageSize}${order === 'DESCENDING' ? ', newest first' : ''}`,
      kind: 'list',
      method: 'POST',
      shown: `POST / ListCertificates {"MaxItems":${pageSize},"SortOrder":"${order}"} (P-256 key types)`,
      next: () =>
        acm(
          seeded,
          new URL(ctx.url).host,
          'ListCertificates',
          JSON.stringify({ MaxItems: pageSize, SortOrder: order, Includes: { keyTypes: ['EC_prime256v1'] } }),
        ),
      check: (body) => {
        const r = json(body) as { CertificateSummaryList?: unknown[]; NextToken?: string };
        if (r.CertificateSummaryList?.length !== pageSize || typeof r.NextToken !== 'string')
          throw new Error(`ACM answered ${body.toString('utf8').slice(0, 300)}`);
        return `${r.CertificateSummaryList.length} summaries and a NextToken`;
      },
    })),
    {
      id: 'nhn-list',
      label: 'NHN v1.3 list UNEXPIRED (10)',
      kind: 'list',
      method: 'GET',
      shown: `GET /certmanager/v1.3/appkeys/<appKey>/certificates?status=UNEXPIRED`,
      next: () => ({ path: `${nhnBase}?status=UNEXPIRED`, headers: nhnHeaders }),
      check: (body) => {
        const r = json(body) as { header: { isSuccessful: boolean }; body: { totalCount: number; data: unknown[] } };
        if (!r.header.isSuccessful || r.body.data.length === 0)
          throw new Error(`NHN answered ${body.toString('utf8').slice(0, 300)}`);
        return `totalCount ${r.body.totalCount}`;
      },
    },
    {
      id: 'nhn-download',
      label: 'NHN v1.3 file download',
      kind: 'download',
      method: 'GET',
      shown: `GET /certmanager/v1.3/appkeys/<appKey>/certificates/<random pool name>/files`,
      next: () => ({
        path: `${nhnBase}/${seeded.poolNames[Math.floor(Math.random() * seeded.poolNames.length)]}/files`,
        headers: nhnHeaders,
      }),
      check: (body, type) => {
        const text = body.toString('utf8');
        if (!type.startsWith('application/octet-stream') || !text.includes('PRIVATE KEY'))
          throw new Error(`download answered ${type}: ${text.slice(0, 200)}`);
        return `${body.length} bytes (certificate, chain, key)`;
      },
    },
    {
      id: 'edge-list',
      label: 'Edge list (15 of 1,000 slots)',
      kind: 'list',
      method: 'GET',
      shown: 'GET /api/v1/certificate/provisioning',
      next: () => ncp(seeded, 'GET', '/api/v1/certificate/provisioning'),
      check: (body) => {
        const r = json(body) as { code: string; result: { content: unknown[]; pageable: { totalCount: number } } };
        if (r.code !== '0000' || r.result.content.length === 0)
          throw new Error(`Edge answered ${body.toString('utf8').slice(0, 300)}`);
        return `totalCount ${r.result.pageable.totalCount}`;
      },
    },
    {
      id: 'ncp-import',
      label: 'NCP v2 import (RSA-2048 + chain)',
      kind: 'import',
      method: 'POST',
      shown: 'POST /api/v2/certificate/withExternal',
      next: () => ncp(seeded, 'POST', '/api/v2/certificate/withExternal', importBody(ctx.importNext.i++)),
      check: (body) => {
        ncpOk(body);
        return 'imported';
      },
    },
  ];
  return all.filter((c) => only === null || only.has(c.id));
}

export async function send(
  base: string,
  method: string,
  wire: Wire,
): Promise<{ status: number; type: string; body: Buffer }> {
  const response = await fetch(base + wire.path, { method, headers: wire.headers, body: wire.body ?? null });
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    body: Buffer.from(await response.arrayBuffer()),
  };
}

export async function nhnToken(url: string, seeded: Seeded): Promise<string> {
  const response = await fetch(`${url}/oauth2/token/create`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${seeded.accessKey}:${seeded.secretKey}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`token endpoint answered ${response.status} ${JSON.stringify(body)}`);
  return body.access_token;
}
