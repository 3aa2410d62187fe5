/**
 * A credential verified from the process's cache and confirmed by the request's own read
 * (core/actor.ts, store/credential-check.ts): on the hot read routes of every face (NCP v1 and
 * v2 lists, the Edge list, ACM ListCertificates, the NHN v1.3 list and downloads).
 *
 * - A credential revoked by another process (a second app on the same store, whose core keeps
 *   nothing of this one's) is refused on its very next request, exactly as the auth hook refuses
 *   a revoked credential (the same status and body as an unknown one), and a refused download
 *   writes no audit event.
 * - An NHN token pruned since (its credential issued 100 more) is refused as unknown.
 * - On PostgreSQL each of those requests, once the credential is kept, is one statement.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { openApp, type App } from '../../src/app/app.ts';
import { formatAmzDate, sha256Hex, signingKey } from '../../src/auth/sigv4.ts';
import { MAX_LIVE_TOKENS_PER_CREDENTIAL } from '../../src/core/tokens.ts';
import type { TestCredential } from '../helpers/app.ts';
import { storeTargets } from '../helpers/db.ts';
import { statementsDuring } from '../helpers/pg-statements.ts';
import { mintLeaf, mintRoot } from '../helpers/pki.ts';
import { startNcpApp, type NcpTestApp } from './ncp/helpers.ts';

const NAME = 'confirm.example.com';

/** An ACM request signed now (SigV4, service acm, us-east-1), as the SDKs send it. */
async function acm(app: NcpTestApp, credential: Pick<TestCredential, 'accessKey' | 'secretKey'>, operation: string) {
  const host = new URL(app.baseUrl).host;
  const body = '{}';
  const amzDate = formatAmzDate(new Date());
  const date = amzDate.slice(0, 8);
  const target = `CertificateManager.${operation}`;
  const canonical = [
    'POST',
    '/',
    '',
    `host:${host}\nx-amz-date:${amzDate}\nx-amz-target:${target}\n`,
    'host;x-amz-date;x-amz-target',
    sha256Hex(body),
  ].join('\n');
  const scope = `${date}/us-east-1/acm/aws4_request`;
  const signature = createHmac('sha256', signingKey(credential.secretKey, date, 'us-east-1', 'acm'))
    .update(`AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`)
    .digest('hex');
  const response = await fetch(`${app.baseUrl}/`, {
    method: 'POST',
    headers: {
      'x-amz-date': amzDate,
      'x-amz-target': target,
      'content-type': 'application/x-amz-json-1.1',
      authorization: `AWS4-HMAC-SHA256 Credential=${credential.accessKey}/${scope}, SignedHeaders=host;x-amz-date;x-amz-target, Signature=${signature}`,
    },
    body,
  });
  return { status: response.status, body: await response.text() };
}

for (const target of storeTargets) {
  describe(`credential confirmed in the request's read (${target.name})`, { skip: target.skip }, () => {
    let app: NcpTestApp;
    /** Another process on the same store: its core keeps nothing of `app`'s. */
    let other: App;
    let certificateNo: number;

    before(async () => {
      app = await startNcpApp({ store: target.name as 'sqlite' | 'postgres', now: new Date() });
      other = await openApp(app.config, { clock: app.clock });
      const root = await mintRoot();
      const leaf = await mintLeaf(root, { cn: NAME });
      ({ certificateNo } = await app.app.core.certificates.import(
        app.main.actor,
        { name: NAME, certificate: leaf.pem, privateKey: leaf.keyPem, chain: root.pem },
        { origin: 'cli', policy: { requireKey: true, allowEd25519: false, nameRule: null } },
      ));
    });
    after(async () => {
      await other?.close();
      await app?.close();
    });

    const fresh = async (): Promise<TestCredential> => {
      const created = await app.app.core.credentials.createForTenant(app.main.tenant.id, 'ADMIN', 'to revoke');
      return { accessKey: created.credential.accessKey, secretKey: created.secretKey, role: 'ADMIN' };
    };
    const unknownKey = { accessKey: 'NOSUCHKEY00000000000', secretKey: 'x' };
    const revokeElsewhere = (credential: TestCredential) => other.core.credentials.revoke(null, credential.accessKey);
    /**
     * The request's statements (PostgreSQL only: SQLite sends none through pg): one, and the
     * audit event of a download (the chain head's compare-and-set and the insert, one statement).
     */
    const statementsOf = async <T>(work: () => Promise<T>, audited = 0): Promise<T> => {
      const { result, statements } = await statementsDuring(work);
      if (target.name === 'postgres') assert.equal(statements, 1 + audited, 'one statement per request');
      return result;
    };

    const ncpCases = [
      ['NCP v1 list, name filter', `/api/v1/certificates?certificateName=${NAME}`],
      ['NCP v2 getCertificates page 1', '/api/v2/certificate/getCertificates'],
      ['Edge list (empty)', '/api/v1/certificate/provisioning'],
    ] as const;
    for (const [label, path] of ncpCases) {
      it(`${label}: revoked by another process, refused on the next request as an unknown key`, async () => {
        const credential = await fresh();
        const call = () => app.call({ method: 'GET', path, credentials: credential });
        assert.equal((await call()).status, 200);
        assert.equal((await statementsOf(call)).status, 200);
        await revokeElsewhere(credential);
        const refused = await statementsOf(call);
        const unknown = await app.call({ method: 'GET', path, credentials: unknownKey });
        assert.equal(unknown.status, 401);
        assert.equal(refused.status, 401);
        assert.deepEqual(refused.json, unknown.json);
        assert.equal((await call()).status, 401);
      });
    }

    it('ACM ListCertificates: revoked by another process, refused on the next request as an unknown key', async () => {
      const credential = await fresh();
      const first = await acm(app, credential, 'ListCertificates');
      assert.equal(first.status, 200, first.body);
      assert.equal((await statementsOf(() => acm(app, credential, 'ListCertificates'))).status, 200);
      await revokeElsewhere(credential);
      const refused = await statementsOf(() => acm(app, credential, 'ListCertificates'));
      const unknown = await acm(app, unknownKey, 'ListCertificates');
      assert.equal(unknown.status, 400);
      assert.deepEqual(refused, unknown);
      assert.match(refused.body, /UnrecognizedClientException/);
    });

    const nhnBase = () => `${app.baseUrl}/certmanager/v1.3/appkeys/${app.main.tenant.appKey}/certificates`;
    const nhnCases = [
      ['NHN v1.3 list', () => nhnBase(), 0],
      ['NHN v1.3 download by name', () => `${nhnBase()}/${NAME}/files`, 1],
      ['NHN v1.3 download by id', () => `${nhnBase()}/${certificateNo}/certificate-files`, 1],
    ] as const;
    const fileReads = async (): Promise<number> =>
      (await app.app.core.audit.list(app.main.actor, { limit: 1000 })).filter(
        (event) => event.action === 'certificate.file.read',
      ).length;
    for (const [label, url, audited] of nhnCases) {
      it(`${label}: the token's credential revoked by another process, refused on the next request`, async () => {
        const credential = await fresh();
        const issued = await app.app.core.tokens.issue(credential.accessKey, credential.secretKey, {
          ttlSeconds: 3600,
          remoteAddress: null,
        });
        const headers = { 'x-nhn-authorization': `Bearer ${issued!.accessToken}` };
        const call = () => fetch(url(), { headers });
        assert.equal((await call()).status, 200);
        const second = await statementsOf(async () => {
          const response = await call();
          return { status: response.status, body: await response.arrayBuffer() };
        }, audited);
        assert.equal(second.status, 200);
        await revokeElsewhere(credential);
        const before = await fileReads();
        const refused = await statementsOf(call);
        assert.equal(refused.status, 401);
        const body = (await refused.json()) as { header: { resultCode: number } };
        assert.equal(body.header.resultCode, 40104, 'token revoked');
        assert.equal(await fileReads(), before, 'no audit event for a refused request');
      });
    }

    it('NHN v1.3: a token pruned since (100 newer ones) is refused as unknown', async () => {
      const credential = await fresh();
      const issue = async (ttlSeconds: number) =>
        (await app.app.core.tokens.issue(credential.accessKey, credential.secretKey, {
          ttlSeconds,
          remoteAddress: null,
        }))!.accessToken;
      const token = await issue(600);
      const call = () => fetch(nhnBase(), { headers: { 'x-nhn-authorization': `Bearer ${token}` } });
      assert.equal((await call()).status, 200);
      for (let i = 0; i < MAX_LIVE_TOKENS_PER_CREDENTIAL; i++) await issue(3600);
      const refused = await call();
      assert.equal(refused.status, 401);
      assert.equal(((await refused.json()) as { header: { resultCode: number } }).header.resultCode, 40102);
    });
  });
}
