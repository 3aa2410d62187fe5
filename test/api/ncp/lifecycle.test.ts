/**
 * ReissueCertificate, RegisterPrivateKey, RevokeCertificate and GlobalEdgeCertificateRequest
 * (src/api/ncp/routes-lifecycle.ts, routes-issuance.ts) through the real server on every store,
 * with issuance configured but no worker running, so orders stay where the request left them:
 * - what each request writes (a reissue order, a revoke order with the certificate at -7, a
 *   Global Edge order), and each bad input's documented answer with nothing written;
 * - registPrivateKey on a certificate without a key (status 2): a key that does not match is
 *   26040, the right one makes it status 1;
 * - the key of a Global Edge dedicated certificate is never exported (26093), its chain is.
 * "Issued here" is what the worker leaves when a certificate lands (the certificate, origin acme,
 * and its renewal entry); test/issuance/reissue-revoke.test.ts runs the same operations against a
 * real CA (Pebble) and DNS (BIND9).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadIssuanceConfig } from '../../../src/config/config.ts';
import { CSR_KEYS, opensslCsr } from '../../helpers/csr.ts';
import { countRows, storeTargets } from '../../helpers/db.ts';
import { FIXTURES, startNcpApp, storeSnapshot, v2Body, type NcpTestApp } from './helpers.ts';

const issuanceSetting = () =>
  loadIssuanceConfig({
    CERTKEEPER_ACME_DIRECTORY_URL: 'https://127.0.0.1:9/directory',
    CERTKEEPER_DCV_ZONE: 'dcv.example.test',
    CERTKEEPER_DCV_DNS_SERVER: '127.0.0.1:53',
    CERTKEEPER_DCV_TSIG_KEY: `hmac-sha256:certkeeper-dcv:${randomBytes(32).toString('base64')}`,
  });

const REISSUE = (no: number | string) => `/api/v2/certificate/${no}/reissue`;
const REGISTER = '/api/v2/certificate/registPrivateKey';
const REVOKE = '/api/v2/certificate/revoke';
const GED = '/api/v2/certificate/requestGedCertificateIssuance';
const LIST = '/api/v2/certificate/getCertificates';

/** The names of FIXTURES.ec: CN ec.example.com, SANs ec, *.ec and an IDN A-label. */
const EC_NAMES = ['ec.example.com', '*.ec.example.com', 'xn--9n2bp8q.example.com'];

/** CSRs made with the openssl command line, as a user makes them. */
async function makeCsrs(): Promise<Record<'good' | 'weak' | 'otherNames' | 'subset', string>> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-csr-'));
  try {
    const cn = `/CN=${EC_NAMES[0]!}`;
    const make = async (file: string, key: readonly string[], subject: string, sans: readonly string[]) =>
      (await opensslCsr(dir, file, { key, subject, sans })).csr;
    return {
      good: await make('good', CSR_KEYS.p256, cn, EC_NAMES),
      weak: await make('weak', CSR_KEYS.rsa1024, cn, EC_NAMES),
      otherNames: await make('other', CSR_KEYS.p256, '/CN=other.example.com', ['other.example.com']),
      subset: await make('subset', CSR_KEYS.p256, cn, [EC_NAMES[0]!]),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const code = (res: { json?: unknown }): string => (res.json as { returnCode?: string } | undefined)?.returnCode ?? '';

for (const target of storeTargets) {
  describe(
    `NCP reissue, registPrivateKey, revoke, Global Edge request on ${target.name}`,
    { skip: target.skip },
    () => {
      let app: NcpTestApp;
      let csrs: Awaited<ReturnType<typeof makeCsrs>>;
      /** A certificate issued here (FIXTURES.ec, as the worker leaves it). */
      let issuedNo: number;
      /** An imported certificate (not issued here). */
      let importedNo: number;

      async function snapshot() {
        return {
          store: await storeSnapshot(app),
          orders: await countRows(app.location, 'issuance_orders'),
          names: await countRows(app.location, 'issuance_order_names'),
          renewals: await countRows(app.location, 'issued_certificates'),
        };
      }

      /** Status code of a certificate in ListCloudCertificates. */
      async function statusOf(certificateNo: number): Promise<string> {
        const res = await app.call({ method: 'GET', path: LIST });
        const items = (res.json as { sslCertificateList: Array<{ certificateNo: number; statusCode: string }> })
          .sslCertificateList;
        return items.find((c) => c.certificateNo === certificateNo)?.statusCode ?? 'absent';
      }

      before(async () => {
        const setting = issuanceSetting();
        assert.ok(setting.on);
        [app, csrs] = await Promise.all([startNcpApp({ store: target.name, issuance: setting }), makeCsrs()]);
        const { core, store } = app.app;
        const actor = app.main.actor;
        const issued = await core.certificates.import(
          actor,
          { name: 'issued-cert', ...FIXTURES.ec },
          { origin: 'acme', type: 'NCP_FREE_DV_01', policy: { requireKey: true, allowEd25519: false, nameRule: null } },
        );
        issuedNo = issued.certificateNo;
        await store.issuance.upsertRenewal(
          {
            tenantId: actor.tenantId,
            certificateNo: issuedNo,
            certificateName: 'issued-cert',
            names: EC_NAMES,
            keyKind: 'ec-p256',
            method: 'dns-01',
            renewal: true,
            nextCheckAt: new Date(8.64e15),
          },
          app.clock.now(),
        );
        const imported = await app.call({
          method: 'POST',
          path: '/api/v2/certificate/withExternal',
          body: v2Body('imported-cert', FIXTURES.rsaSelf),
        });
        assert.equal(imported.status, 200, imported.body.toString());
        importedNo = (imported.json as { sslCertificateList: Array<{ certificateNo: number }> }).sslCertificateList[0]!
          .certificateNo;
      });
      after(() => app?.close());

      const reissueBody = (overrides: Record<string, unknown> = {}) => ({
        csr: csrs.good,
        certificateName: 'issued-cert',
        commonName: EC_NAMES[0],
        dnsName: EC_NAMES.slice(1),
        validationMethod: 'D',
        ...overrides,
      });

      it('refuses each bad reissue with its documented answer and writes nothing', async () => {
        const other = await app.addTenant(`other-${target.name}-${Date.now()}`);
        const cases: Array<[string, string | number, unknown, number, string, typeof other.admin?]> = [
          ['a CSR with an RSA-1024 key', issuedNo, reissueBody({ csr: csrs.weak }), 200, '26080'],
          ['a CSR for other names', issuedNo, reissueBody({ csr: csrs.otherNames }), 400, '2100'],
          ['a CSR for fewer names', issuedNo, reissueBody({ csr: csrs.subset }), 400, '2100'],
          ['a CSR that is not PEM', issuedNo, reissueBody({ csr: 'hello' }), 200, '1002'],
          ['a CSR that is a certificate', issuedNo, reissueBody({ csr: FIXTURES.ec.certificate }), 200, '1002'],
          ['a CSR with a NUL byte', issuedNo, reissueBody({ csr: `${csrs.good}\u0000` }), 400, '2100'],
          ['a CSR that is a number', issuedNo, reissueBody({ csr: 42 }), 400, '2100'],
          ['no CSR', issuedNo, reissueBody({ csr: undefined }), 400, '2100'],
          ['validationMethod H', issuedNo, reissueBody({ validationMethod: 'H' }), 400, '2100'],
          ['dnsName not an array', issuedNo, reissueBody({ dnsName: 'a.example.com' }), 400, '2100'],
          ['a name that is not the certificate', issuedNo, reissueBody({ certificateName: 'other-cert' }), 200, '2200'],
          ['an unknown certificateNo', 999999, reissueBody(), 200, '2200'],
          ['a certificateNo that is not a number', 'abc', reissueBody(), 400, '2100'],
          ['a certificate not issued here', importedNo, reissueBody({ certificateName: 'imported-cert' }), 200, '2200'],
          ["another tenant's certificate", issuedNo, reissueBody(), 200, '2200', other.admin],
        ];
        for (const [label, no, body, status, expected, credentials] of cases) {
          const before = await snapshot();
          const res = await app.call({
            method: 'POST',
            path: REISSUE(no),
            body: JSON.parse(JSON.stringify(body)) as unknown,
            ...(credentials ? { credentials } : {}),
          });
          assert.equal(res.status, status, `${label}: ${res.body.toString()}`);
          assert.equal(code(res), expected, `${label}: ${res.body.toString()}`);
          assert.deepEqual(await snapshot(), before, label);
        }
      });

      it('reissues with a CSR for the same names: an order with the CSR and no key of its own', async () => {
        const res = await app.call({ method: 'POST', path: REISSUE(issuedNo), body: reissueBody() });
        assert.equal(res.status, 200, res.body.toString());
        const answer = res.json as { returnCode: string; totalRows: number; certificateNo: number; requestSn: number };
        assert.deepEqual([answer.returnCode, answer.totalRows, answer.certificateNo], ['0', 1, issuedNo]);
        const order = await app.app.issuance.getOrder(app.main.actor, answer.requestSn);
        assert.equal(order.kind, 'reissue');
        assert.equal(order.certificateNo, issuedNo);
        assert.deepEqual(order.names, EC_NAMES);
        assert.match(order.csr ?? '', /^-----BEGIN CERTIFICATE REQUEST-----\n/);
        assert.equal(order.sealedKey, null);
        // Its names are held: a second reissue waits for the first.
        const before = await snapshot();
        const again = await app.call({ method: 'POST', path: REISSUE(issuedNo), body: reissueBody() });
        assert.equal(code(again), '26090');
        assert.deepEqual(await snapshot(), before);
      });

      it('refuses each bad revoke with its documented answer and writes nothing', async () => {
        const other = await app.addTenant(`rev-${target.name}-${Date.now()}`);
        const orderId = String((await app.app.issuance.orderForCertificate(app.main.actor, issuedNo)).orderId);
        const body = (overrides: Record<string, unknown> = {}) => ({
          orderId,
          certificateNo: issuedNo,
          revokeType: 'superseded',
          ...overrides,
        });
        const cases: Array<[string, unknown, number, string, typeof other.admin?]> = [
          ['revokeType keyCompromise (not NCP)', body({ revokeType: 'keyCompromise' }), 400, '2100'],
          ['revokeType missing', body({ revokeType: undefined }), 400, '2100'],
          ['orderId missing', body({ orderId: undefined }), 400, '2100'],
          ['orderId a number', body({ orderId: 7 }), 400, '2100'],
          ['orderId unknown', body({ orderId: '999999' }), 200, '2200'],
          ['orderId not digits', body({ orderId: 'abc' }), 200, '2200'],
          ['orderId with a NUL byte', body({ orderId: `${orderId}\u0000` }), 400, '2100'],
          ['certificateNo not the order’s', body({ certificateNo: importedNo }), 200, '2200'],
          ['certificateNo negative', body({ certificateNo: -1 }), 400, '2100'],
          ['certificateNo a word', body({ certificateNo: 'one' }), 400, '2100'],
          ["another tenant's order", body(), 200, '2200', other.admin],
          ['body an array', [body()], 400, '2100'],
        ];
        for (const [label, payload, status, expected, credentials] of cases) {
          const before = await snapshot();
          const res = await app.call({
            method: 'POST',
            path: REVOKE,
            body: JSON.parse(JSON.stringify(payload)) as unknown,
            ...(credentials ? { credentials } : {}),
          });
          assert.equal(res.status, status, `${label}: ${res.body.toString()}`);
          assert.equal(code(res), expected, `${label}: ${res.body.toString()}`);
          assert.deepEqual(await snapshot(), before, label);
        }
        // A certificate not issued here, named through one of our orders of it: none exists, so
        // the imported one is reachable only by number 0 of no order: 2200 as well.
        const before = await snapshot();
        const imported = await app.call({
          method: 'POST',
          path: REVOKE,
          body: { orderId: '1', certificateNo: importedNo, revokeType: 'unspecified' },
        });
        assert.equal(code(imported), '2200');
        assert.deepEqual(await snapshot(), before);
      });

      it('revokes: status -7 at once, a revoke order with the RFC 5280 code; a second revoke is 26091', async () => {
        const orderId = String((await app.app.issuance.orderForCertificate(app.main.actor, issuedNo)).orderId);
        assert.equal(await statusOf(issuedNo), '1');
        const res = await app.call({
          method: 'POST',
          path: REVOKE,
          body: { orderId, certificateNo: 0, revokeType: 'cessationOfOperation' },
        });
        assert.equal(res.status, 200, res.body.toString());
        assert.deepEqual(
          [
            code(res),
            (res.json as { totalRows: number }).totalRows,
            (res.json as { certificateNo: number }).certificateNo,
          ],
          ['0', 1, issuedNo],
        );
        assert.equal(await statusOf(issuedNo), '-7');
        const orders = await app.app.issuance.listOrders(app.main.actor, { offset: 0, limit: 10 });
        const revoke = orders.find((o) => o.kind === 'revoke');
        assert.ok(revoke);
        assert.equal(revoke.revocationReason, 5, 'cessationOfOperation is CRLReason 5');
        assert.equal(revoke.certificateNo, issuedNo);
        // getVerificationInfo still shows the issuing orders, not the revocation.
        assert.notEqual((await app.app.issuance.orderForCertificate(app.main.actor, issuedNo)).kind, 'revoke');
        const before = await snapshot();
        const again = await app.call({
          method: 'POST',
          path: REVOKE,
          body: { orderId, certificateNo: issuedNo, revokeType: 'superseded' },
        });
        assert.equal(code(again), '26091');
        assert.deepEqual(await snapshot(), before);
      });

      it('registPrivateKey: 26040 for a key that does not match, then status 2 → 1 with the right one', async () => {
        const actor = app.main.actor;
        const keyless = await app.app.core.certificates.import(
          actor,
          { name: 'keyless-cert', certificate: FIXTURES.korean.certificate, chain: FIXTURES.korean.chain },
          { origin: 'cli', policy: { requireKey: false, allowEd25519: false, nameRule: null } },
        );
        const no = keyless.certificateNo;
        assert.equal(await statusOf(no), '2');
        const other = await app.addTenant(`key-${target.name}-${Date.now()}`);
        const cases: Array<[string, unknown, number, string, typeof other.admin?]> = [
          ['a key that does not match', { certificateNo: no, privateKey: FIXTURES.ec.privateKey }, 200, '26040'],
          ['a key that is not PEM', { certificateNo: no, privateKey: 'hello' }, 200, '1002'],
          [
            'a key with a NUL byte',
            { certificateNo: no, privateKey: `${FIXTURES.korean.privateKey}\u0000` },
            400,
            '2100',
          ],
          ['a key that is a number', { certificateNo: no, privateKey: 7 }, 400, '2100'],
          ['no key', { certificateNo: no }, 400, '2100'],
          ['no certificateNo', { privateKey: FIXTURES.korean.privateKey }, 400, '2100'],
          ['certificateNo 0', { certificateNo: 0, privateKey: FIXTURES.korean.privateKey }, 400, '2100'],
          ['an unknown certificateNo', { certificateNo: 999999, privateKey: FIXTURES.korean.privateKey }, 200, '2200'],
          ["another tenant's", { certificateNo: no, privateKey: FIXTURES.korean.privateKey }, 200, '2200', other.admin],
          [
            'a certificate with a key',
            { certificateNo: importedNo, privateKey: FIXTURES.rsaSelf.privateKey },
            200,
            '26091',
          ],
        ];
        for (const [label, payload, status, expected, credentials] of cases) {
          const before = await snapshot();
          const res = await app.call({
            method: 'POST',
            path: REGISTER,
            body: payload,
            ...(credentials ? { credentials } : {}),
          });
          assert.equal(res.status, status, `${label}: ${res.body.toString()}`);
          assert.equal(code(res), expected, `${label}: ${res.body.toString()}`);
          assert.deepEqual(await snapshot(), before, label);
        }
        const viewer = await app.call({
          method: 'POST',
          path: REGISTER,
          body: { certificateNo: no, privateKey: FIXTURES.korean.privateKey },
          credentials: app.main.viewer,
        });
        assert.equal(viewer.status, 401);
        const res = await app.call({
          method: 'POST',
          path: REGISTER,
          body: { certificateNo: String(no), privateKey: FIXTURES.korean.privateKey },
        });
        assert.equal(res.status, 200, res.body.toString());
        assert.equal(code(res), '0');
        assert.equal(await statusOf(no), '1');
        const exported = await app.app.core.certificates.export(actor, no, { includeKey: true });
        assert.ok(exported.privateKeyPem, 'the key is stored');
      });

      it('requestGedCertificateIssuance: an order for a Global Edge certificate; bad input writes nothing', async () => {
        const res = await app.call({
          method: 'POST',
          path: GED,
          body: { certificateName: 'edge-cert', commonName: 'edge.example.com', dnsName: ['www.edge.example.com'] },
        });
        assert.equal(res.status, 200, res.body.toString());
        const { certificate } = res.json as {
          certificate: {
            certificateNo: number;
            certificateType: string;
            statusCode: string;
            requestSn: number;
            dnsName: string[];
          };
        };
        assert.equal(certificate.certificateType, 'NCP_GLOBAL_EDGE_DEDICATED');
        assert.equal(certificate.statusCode, '0');
        assert.deepEqual(certificate.dnsName, ['edge.example.com', 'www.edge.example.com']);
        const order = await app.app.issuance.getOrder(app.main.actor, certificate.requestSn);
        assert.equal(order.certificateType, 'NCP_GLOBAL_EDGE_DEDICATED');
        for (const [label, body, status, expected] of [
          ['no commonName', { certificateName: 'edge-two' }, 400, '2100'],
          ['commonName NUL', { certificateName: 'edge-two', commonName: 'a\u0000.example.com' }, 400, '2100'],
          ['an internal name', { certificateName: 'edge-two', commonName: 'printer.local' }, 200, '2201'],
          [
            'validationMethod H',
            { certificateName: 'edge-two', commonName: 'e2.example.com', validationMethod: 'H' },
            400,
            '2100',
          ],
          ['certificateName rule', { certificateName: '1x', commonName: 'e2.example.com' }, 400, '2000'],
          ['a name in a pending order', { certificateName: 'edge-two', commonName: 'edge.example.com' }, 200, '26090'],
        ] as const) {
          const before = await snapshot();
          const bad = await app.call({ method: 'POST', path: GED, body });
          assert.equal(bad.status, status, `${label}: ${bad.body.toString()}`);
          assert.equal(code(bad), expected, `${label}: ${bad.body.toString()}`);
          assert.deepEqual(await snapshot(), before, label);
        }
      });

      it('a Global Edge dedicated certificate is status 3; its key is never exported (26093), its chain is', async () => {
        const actor = app.main.actor;
        const ged = await app.app.core.certificates.import(
          actor,
          { name: 'ged-cert', ...FIXTURES.sanOnly },
          {
            origin: 'acme',
            type: 'NCP_GLOBAL_EDGE_DEDICATED',
            policy: { requireKey: true, allowEd25519: false, nameRule: null },
          },
        );
        assert.equal(await statusOf(ged.certificateNo), '3');
        const zip = await app.call({
          method: 'POST',
          path: `/api/v2/certificate/exportCertificate/${ged.certificateNo}`,
          body: {},
        });
        assert.equal(zip.status, 200);
        assert.equal(code(zip), '26093', zip.body.toString());
        const chain = await app.call({
          method: 'GET',
          path: `/api/v2/certificate/exportCertificate/${ged.certificateNo}/chain`,
        });
        assert.equal(code(chain), '0');
        await assert.rejects(app.app.core.certificates.readFile(actor, ged.certificateNo), {
          code: 'key_not_exportable',
        });
        const refused = await app.app.core.audit.list(actor, { target: `certificate:${ged.certificateNo}`, limit: 10 });
        assert.ok(
          refused.some((e) => e.action === 'certificate.key.read' && e.result === 'failure'),
          'the refused key read is audited',
        );
      });
    },
  );
}
