/**
 * DownloadCertificate (the ZIP) and GetCertificateChain: the bytes that come out are the bytes
 * that went in, every key read is audited (refusals too), and the key is absent when there is none.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { unzipSync } from 'fflate';
import { storeTargets } from '../../helpers/db.ts';
import { days, mintIntermediate, mintLeaf, mintRoot } from '../../helpers/pki.ts';
import { FIXTURES, GOLDEN_NOW, startNcpApp, v1Body, v2Body, type NcpTestApp } from './helpers.ts';

const text = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');

for (const target of storeTargets) {
  describe(`NCP export on ${target.name}`, { skip: target.skip }, () => {
    let app: NcpTestApp;

    before(async () => {
      app = await startNcpApp({ store: target.name });
      const res = await app.call({
        method: 'POST',
        path: '/api/v1/certificate/withExternal',
        body: v1Body('ec-cert', FIXTURES.ec),
      });
      assert.equal((res.json as { returnCode: string }).returnCode, '0');
    });
    after(() => app.close());

    const keyReads = () =>
      app.app.core.audit.list(app.main.actor, { action: 'certificate.key.read', target: 'certificate:1', limit: 100 });

    it('the ZIP holds the certificate, the chain and the key, byte for byte, and the read is audited', async () => {
      const before = (await keyReads()).length;
      const res = await app.call({
        method: 'POST',
        path: '/api/v2/certificate/exportCertificate/1',
        body: {},
        headers: { accept: 'application/zip' },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'application/zip');
      assert.equal(res.headers['content-disposition'], 'attachment; filename="ec-cert.zip"');
      assert.equal(res.headers['cache-control'], 'no-store');
      const files = unzipSync(new Uint8Array(res.body));
      assert.deepEqual(Object.keys(files), ['certificate.pem', 'chain.pem', 'private_key.pem']);
      assert.equal(text(files['certificate.pem']), FIXTURES.ec.certificate);
      assert.equal(text(files['chain.pem']), FIXTURES.ec.chain);
      assert.equal(text(files['private_key.pem']), FIXTURES.ec.privateKey);

      const events = await keyReads();
      assert.equal(events.length, before + 1);
      const [latest] = events;
      assert.equal(latest?.actor, app.main.admin.accessKey);
      assert.equal(latest?.result, 'success');
      assert.equal(latest?.tenantId, app.main.tenant.id);
      assert.ok(latest?.remoteAddress, 'the caller address is recorded');
    });

    it('an omitted body is read as {}, and the optional fields are accepted', async () => {
      const reference = await app.call({ method: 'POST', path: '/api/v2/certificate/exportCertificate/1', body: {} });
      for (const body of [
        undefined,
        '',
        { certificateNo: 1 },
        { certificateNo: '1', type: 'PEM' },
        { type: 'pem', passwd: '' },
      ]) {
        const res = await app.call({
          method: 'POST',
          path: '/api/v2/certificate/exportCertificate/1',
          ...(body === undefined ? {} : { body }),
        });
        assert.equal(res.status, 200, `${JSON.stringify(body)}: ${res.body.toString('utf8', 0, 200)}`);
        assert.deepEqual(res.body, reference.body, 'same bytes every time');
      }
    });

    it('a VIEWER is refused the key, and the refusal is audited', async () => {
      const before = (await keyReads()).length;
      const res = await app.call({
        method: 'POST',
        path: '/api/v2/certificate/exportCertificate/1',
        body: {},
        credentials: app.main.viewer,
      });
      assert.equal(res.status, 401);
      assert.equal((res.json as { error: { errorCode: string } }).error.errorCode, '210');
      const events = await keyReads();
      assert.equal(events.length, before + 1);
      assert.equal(events[0]?.actor, app.main.viewer.accessKey);
      assert.equal(events[0]?.result, 'failure');
      assert.equal(events[0]?.detail.code, 'permission_denied');
    });

    it('a certificate stored without a key (CLI) downloads without private_key.pem and lists as status 2', async () => {
      const created = await app.app.core.certificates.import(
        app.main.actor,
        { name: 'no-key', certificate: FIXTURES.korean.certificate, chain: FIXTURES.korean.chain },
        { origin: 'cli', policy: { requireKey: false, allowEd25519: false, nameRule: null } },
      );
      const res = await app.call({
        method: 'POST',
        path: `/api/v2/certificate/exportCertificate/${created.certificateNo}`,
        body: {},
      });
      assert.deepEqual(Object.keys(unzipSync(new Uint8Array(res.body))), ['certificate.pem', 'chain.pem']);
      const list = await app.call({
        method: 'GET',
        path: '/api/v1/certificates',
        query: { certificateName: 'no-key' },
      });
      const [item] = (list.json as { sslCertificateList: Array<{ statusCode: string; statusName: string }> })
        .sslCertificateList;
      assert.deepEqual([item?.statusCode, item?.statusName], ['2', 'Normal (private key not registered)']);
    });

    it('the chain splits intermediates from the root, and a path without its root has rootCaCertificate ""', async () => {
      const start = new Date(GOLDEN_NOW.getTime() - days(10));
      const root = await mintRoot({ cn: 'Chain Root', notBefore: start, freshKey: true });
      const intermediate = await mintIntermediate(root, { cn: 'Chain Intermediate', notBefore: start, freshKey: true });
      const issuing = await mintIntermediate(intermediate, {
        cn: 'Chain Issuing CA',
        notBefore: start,
        freshKey: true,
      });
      const full = await mintLeaf(issuing, { cn: 'full.example.com', notBefore: start, freshKey: true });
      const partial = await mintLeaf(issuing, { cn: 'partial.example.com', notBefore: start, freshKey: true });
      // The chain is given out of order: it comes back in path order.
      for (const [name, leaf, chain] of [
        ['full-chain', full, root.pem + issuing.pem + intermediate.pem],
        ['no-root', partial, intermediate.pem + issuing.pem],
      ] as const) {
        const res = await app.call({
          method: 'POST',
          path: '/api/v2/certificate/withExternal',
          body: v2Body(name, { certificate: leaf.pem, privateKey: leaf.keyPem, chain }),
        });
        assert.equal((res.json as { returnCode: string }).returnCode, '0', res.body.toString());
      }
      const list = await app.call({ method: 'GET', path: '/api/v2/certificate/certificates', query: { pageSize: 2 } });
      const [noRoot, fullChain] = (list.json as { sslCertificateList: Array<{ certificateNo: number }> })
        .sslCertificateList;
      const chainOf = async (no: number | undefined) =>
        (await app.call({ method: 'GET', path: `/api/v2/certificate/exportCertificate/${no}/chain` })).json as Record<
          string,
          unknown
        >;
      assert.deepEqual(await chainOf(fullChain?.certificateNo), {
        returnCode: '0',
        returnMessage: 'Success',
        totalRows: 1,
        subjectCommonName: 'full.example.com',
        certificate: full.pem,
        subCaCertificate: issuing.pem + intermediate.pem,
        rootCaCertificate: root.pem,
      });
      const partialChain = await chainOf(noRoot?.certificateNo);
      assert.equal(partialChain.subCaCertificate, issuing.pem + intermediate.pem);
      assert.equal(partialChain.rootCaCertificate, '');
    });
  });
}
