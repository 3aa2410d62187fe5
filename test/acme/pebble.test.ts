/**
 * The ACME client against Pebble 2.4.0 and pebble-challtestsrv on loopback (test/helpers/pebble.ts):
 * accounts (with and without EAB), DNS-01 (wildcard + apex: two TXT values at one name) and HTTP-01
 * orders to the end, the chain checked by `openssl verify` against Pebble's root, revocation seen
 * on Pebble's management API, a failed validation, and badNonce retries.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AcmeIssuer } from '../../src/acme/client.ts';
import { IssuerError, type AccountRef, type IssuerEvent } from '../../src/core/issuance/issuer.ts';
import { PEBBLE_EXAMPLE_EAB, PEBBLE_SKIP, startPebble, type Pebble } from '../helpers/pebble.ts';
import { finalizeOrder, pollOrder } from './flow.ts';

async function rejection(promise: Promise<unknown>): Promise<IssuerError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof IssuerError, `expected an IssuerError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

/**
 * `openssl verify` of the leaf with the rest of `chainPem` as untrusted and `rootPem` as the only
 * anchor: its exit status and output.
 */
async function opensslVerify(chainPem: string, rootPem: string): Promise<{ ok: boolean; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-acme-verify-'));
  try {
    const blocks = chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    assert.ok(blocks.length >= 2, `chain has leaf and issuer (${blocks.length} blocks)`);
    await writeFile(join(dir, 'leaf.pem'), `${blocks[0]}\n`);
    await writeFile(join(dir, 'untrusted.pem'), `${blocks.slice(1).join('\n')}\n`);
    await writeFile(join(dir, 'root.pem'), rootPem);
    const run = spawnSync(
      'openssl',
      ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'untrusted.pem'), join(dir, 'leaf.pem')],
      { encoding: 'utf8' },
    );
    return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function assertVerifies(chainPem: string, rootPem: string): Promise<void> {
  const result = await opensslVerify(chainPem, rootPem);
  assert.ok(result.ok, result.output);
  assert.match(result.output, /leaf\.pem: OK/);
}

describe('ACME client against Pebble', { skip: PEBBLE_SKIP }, () => {
  let pebble: Pebble;
  let issuer: AcmeIssuer;
  const events: IssuerEvent[] = [];
  let account: AccountRef;

  before(async () => {
    // PEBBLE_WFE_NONCEREJECT at Pebble's default here: some requests meet a badNonce for real.
    pebble = await startPebble({ alternateRoots: 1, certificateValidityPeriod: 86_400 });
    issuer = new AcmeIssuer({ directoryUrl: pebble.directoryUrl, caPem: pebble.caPem, onEvent: (e) => events.push(e) });
    const keyPem = await issuer.generateAccountKey();
    const created = await issuer.account({ keyPem, contact: ['admin@example.test'] });
    account = { url: created.url, keyPem };
  });
  after(async () => {
    issuer?.close();
    await pebble?.stop();
  });

  it('reads the directory: no ARI in Pebble 2.4.0, no EAB required', async () => {
    const info = await issuer.directory();
    assert.equal(info.ari, false);
    assert.equal(info.externalAccountRequired, false);
    assert.ok(info.termsOfService);
  });

  it("refuses Pebble's HTTPS without its CA, as a non-retryable error", async () => {
    const untrusting = new AcmeIssuer({ directoryUrl: pebble.directoryUrl });
    const error = await rejection(untrusting.directory());
    untrusting.close();
    assert.equal(error.kind, 'unreachable');
    assert.equal(error.retryable, false);
    assert.match(error.message, /TLS certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
  });

  it('creates an account, finds it again by key, and refuses onlyReturnExisting for an unknown key', async () => {
    const keyPem = await issuer.generateAccountKey('ES384');
    const created = await issuer.account({ keyPem, contact: ['ops@example.test'] });
    assert.equal(created.created, true);
    assert.equal(created.status, 'valid');
    assert.deepEqual(created.contact, ['mailto:ops@example.test']);
    const found = await issuer.account({ keyPem, onlyReturnExisting: true });
    assert.equal(found.created, false);
    assert.equal(found.url, created.url);

    const unknown = await issuer.generateAccountKey();
    const error = await rejection(issuer.account({ keyPem: unknown, onlyReturnExisting: true }));
    assert.equal(error.kind, 'problem');
    assert.equal(error.problem?.type, 'urn:ietf:params:acme:error:accountDoesNotExist');
    assert.equal(error.retryable, false);
    assert.equal(error.httpStatus, 400);
    assert.ok(!error.message.includes('PRIVATE KEY') && !error.message.includes(unknown.split('\n')[1]!));
  });

  it('issues wildcard + apex by DNS-01 (two TXT values at one name), verifies, and revokes with a reason', async () => {
    const names = ['dns01.example.test', '*.dns01.example.test'];
    const order = await issuer.newOrder(account, { identifiers: names.map((value) => ({ type: 'dns', value })) });
    assert.equal(order.status, 'pending');
    assert.equal(order.authorizations.length, 2);

    const challenges: string[] = [];
    const txt = new Map<string, string[]>();
    for (const url of order.authorizations) {
      const authz = await issuer.getAuthorization(account, url);
      const challenge = authz.challenges.find((c) => c.type === 'dns-01');
      assert.ok(challenge, 'Pebble offers dns-01');
      const response = issuer.challengeResponse(account.keyPem, authz, challenge);
      assert.equal(response.dns01Name, '_acme-challenge.dns01.example.test');
      txt.set(response.dns01Name, [...(txt.get(response.dns01Name) ?? []), response.dns01TxtValue]);
      await pebble.setTxt(response.dns01Name, response.dns01TxtValue);
      challenges.push(challenge.url);
    }
    assert.equal(txt.get('_acme-challenge.dns01.example.test')?.length, 2, 'two TXT values at one name');
    assert.notEqual(
      txt.get('_acme-challenge.dns01.example.test')?.[0],
      txt.get('_acme-challenge.dns01.example.test')?.[1],
    );

    for (const url of challenges) {
      const challenge = await issuer.respondToChallenge(account, url);
      assert.ok(['pending', 'processing', 'valid'].includes(challenge.status));
      assert.ok(challenge.authorization && order.authorizations.includes(challenge.authorization), 'Link rel="up"');
    }
    const ready = await pollOrder(issuer, account, order.url, ['pending']);
    assert.equal(ready.status, 'ready', JSON.stringify(ready.error));
    await pebble.clearTxt('_acme-challenge.dns01.example.test');

    const certificateKey = await issuer.generateCertificateKey();
    const valid = await finalizeOrder(issuer, account, ready, certificateKey, names);
    assert.equal(valid.status, 'valid');
    assert.ok(valid.certificate);

    const downloaded = await issuer.downloadCertificate(account, valid.certificate);
    const leaf = new X509Certificate(downloaded.pem);
    assert.deepEqual(leaf.subjectAltName?.split(', ').sort(), ['DNS:*.dns01.example.test', 'DNS:dns01.example.test']);
    assert.ok(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(certificateKey)));
    const lifetime = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 1000;
    assert.ok(Math.abs(lifetime - 86_400) <= 1, `certificateValidityPeriod honoured (${lifetime} s)`);

    const root0 = await pebble.management('/roots/0');
    assert.equal(root0.status, 200);
    await assertVerifies(downloaded.pem, root0.body);
    assert.equal(downloaded.alternates.length, 1, 'PEBBLE_ALTERNATE_ROOTS=1: one alternate chain linked');
    const root1 = await pebble.management('/roots/1');
    await assertVerifies(downloaded.alternates[0]!.pem, root1.body);
    const crossed = await opensslVerify(downloaded.pem, root1.body);
    assert.equal(crossed.ok, false, 'the default chain does not verify against the alternate root');

    const serial = leaf.serialNumber;
    const before_ = JSON.parse((await pebble.management(`/cert-status-by-serial/${serial}`)).body) as {
      Status: string;
    };
    assert.equal(before_.Status, 'Valid');
    await issuer.revoke(account, downloaded.pem, 4);
    const status = JSON.parse((await pebble.management(`/cert-status-by-serial/${serial}`)).body) as {
      Status: string;
      Reason: number;
    };
    assert.equal(status.Status, 'Revoked');
    assert.equal(status.Reason, 4);

    const again = await rejection(issuer.revoke(account, downloaded.pem, 1));
    assert.equal(again.problem?.type, 'urn:ietf:params:acme:error:alreadyRevoked');
    assert.equal(again.retryable, false);
  });

  it('issues by HTTP-01 with an RSA account key and a P-384 certificate key', async () => {
    const keyPem = await issuer.generateAccountKey('RS256');
    const rsaAccount = await issuer.account({ keyPem });
    const ref = { url: rsaAccount.url, keyPem };
    const served = new Map<string, string>();
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      const body = served.get(req.url ?? '');
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/plain' }).end(body ?? 'no');
    });
    await new Promise<void>((resolve) => server.listen(pebble.httpPort, '127.0.0.1', resolve));
    try {
      const order = await issuer.newOrder(ref, { identifiers: [{ type: 'dns', value: 'http01.example.test' }] });
      const authz = await issuer.getAuthorization(ref, order.authorizations[0]!);
      const challenge = authz.challenges.find((c) => c.type === 'http-01');
      assert.ok(challenge);
      const response = issuer.challengeResponse(keyPem, authz, challenge);
      served.set(response.http01Path, response.http01Body);
      // Everything after this point runs in a new client, from persisted URLs and the key only,
      // as a worker restarted between two steps would.
      const persisted = JSON.parse(
        JSON.stringify({
          account: ref,
          orderUrl: order.url,
          challengeUrl: challenge.url,
          directory: pebble.directoryUrl,
        }),
      ) as { account: AccountRef; orderUrl: string; challengeUrl: string; directory: string };
      const resumed = new AcmeIssuer({ directoryUrl: persisted.directory, caPem: pebble.caPem });
      try {
        await resumed.respondToChallenge(persisted.account, persisted.challengeUrl);
        const ready = await pollOrder(resumed, persisted.account, persisted.orderUrl, ['pending']);
        assert.equal(ready.status, 'ready', JSON.stringify(ready.error));
      } finally {
        resumed.close();
      }
      const ready = await pollOrder(issuer, ref, order.url, ['pending']);
      assert.equal(ready.status, 'ready', JSON.stringify(ready.error));
      assert.ok(requests.includes(response.http01Path), 'Pebble fetched the token from the test server');

      const valid = await finalizeOrder(issuer, ref, ready, await issuer.generateCertificateKey('ec-p384'), [
        'http01.example.test',
      ]);
      const downloaded = await issuer.downloadCertificate(ref, valid.certificate!);
      const leaf = new X509Certificate(downloaded.pem);
      assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
      await assertVerifies(downloaded.pem, (await pebble.management('/roots/0')).body);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("surfaces the CA's problem when validation fails (wrong TXT value)", async () => {
    const order = await issuer.newOrder(account, { identifiers: [{ type: 'dns', value: 'fail.example.test' }] });
    const authz = await issuer.getAuthorization(account, order.authorizations[0]!);
    const challenge = authz.challenges.find((c) => c.type === 'dns-01')!;
    await pebble.setTxt('_acme-challenge.fail.example.test', 'not-the-key-authorization-digest');
    await issuer.respondToChallenge(account, challenge.url);
    const failed = await pollOrder(issuer, account, order.url, ['pending']);
    assert.equal(failed.status, 'invalid');
    const invalid = await issuer.getAuthorization(account, authz.url);
    assert.equal(invalid.status, 'invalid');
    const problem = invalid.challenges.find((c) => c.type === 'dns-01')?.error;
    assert.equal(problem?.type, 'urn:ietf:params:acme:error:unauthorized');
    assert.equal(problem?.detail, 'Correct value not found for DNS challenge');

    // Finalizing an invalid order is refused with the CA's problem, not retryable.
    const error = await rejection(
      issuer.finalize(account, failed, issuer.createCsr(await issuer.generateCertificateKey(), ['fail.example.test'])),
    );
    assert.equal(error.kind, 'problem');
    assert.equal(error.retryable, false);
    assert.ok(error.problem?.detail);
    assert.ok(error.message.includes(error.problem.detail));
  });

  it('never puts a key in an event', () => {
    const text = JSON.stringify(events);
    assert.ok(events.length > 10);
    assert.ok(!text.includes('PRIVATE KEY'));
    assert.ok(!text.includes(account.keyPem.split('\n')[1]!));
  });
});

describe('ACME client against Pebble with External Account Binding', { skip: PEBBLE_SKIP }, () => {
  let pebble: Pebble;
  let issuer: AcmeIssuer;

  before(async () => {
    pebble = await startPebble({ externalAccountMACKeys: PEBBLE_EXAMPLE_EAB });
    issuer = new AcmeIssuer({ directoryUrl: pebble.directoryUrl, caPem: pebble.caPem });
  });
  after(async () => {
    issuer?.close();
    await pebble?.stop();
  });

  it('creates an account bound to kid-1', async () => {
    assert.equal((await issuer.directory()).externalAccountRequired, true);
    const keyPem = await issuer.generateAccountKey();
    const created = await issuer.account({ keyPem, eab: { kid: 'kid-1', hmacKey: PEBBLE_EXAMPLE_EAB['kid-1']! } });
    assert.equal(created.created, true);
    assert.equal(created.status, 'valid');
  });

  it('is refused without EAB', async () => {
    const error = await rejection(issuer.account({ keyPem: await issuer.generateAccountKey() }));
    assert.equal(error.problem?.type, 'urn:ietf:params:acme:error:externalAccountRequired');
    assert.equal(error.retryable, false);
  });

  it('is refused with a wrong HMAC key, with a clear message that does not carry the key', async () => {
    const wrong = PEBBLE_EXAMPLE_EAB['kid-2']!;
    const error = await rejection(
      issuer.account({ keyPem: await issuer.generateAccountKey(), eab: { kid: 'kid-1', hmacKey: wrong } }),
    );
    assert.equal(error.kind, 'problem');
    assert.equal(error.retryable, false);
    assert.equal(error.problem?.type, 'urn:ietf:params:acme:error:unauthorized');
    assert.match(
      error.message,
      /^new account: unauthorized \(HTTP 403\): external account binding JWS verification error/,
    );
    assert.ok(!error.message.includes(wrong) && !JSON.stringify(error.problem).includes(wrong));
  });

  it('refuses an HMAC key that is not base64url before sending anything', async () => {
    const error = await rejection(
      issuer.account({ keyPem: await issuer.generateAccountKey(), eab: { kid: 'kid-1', hmacKey: 'not base64!' } }),
    );
    assert.equal(error.kind, 'invalid_input');
    assert.ok(!error.message.includes('not base64!'));
  });
});

describe('ACME client against Pebble refusing nonces', { skip: PEBBLE_SKIP }, () => {
  let pebble: Pebble;
  after(async () => pebble?.stop());

  it('re-sends on badNonce, then gives a retryable problem when every nonce is refused', async () => {
    pebble = await startPebble({ nonceRejectPercent: 100 });
    const events: IssuerEvent[] = [];
    const issuer = new AcmeIssuer({
      directoryUrl: pebble.directoryUrl,
      caPem: pebble.caPem,
      badNonceRetries: 3,
      onEvent: (e) => events.push(e),
    });
    try {
      const error = await rejection(issuer.account({ keyPem: await issuer.generateAccountKey() }));
      assert.equal(error.problem?.type, 'urn:ietf:params:acme:error:badNonce');
      assert.equal(error.retryable, true);
      const retries = events.filter((e) => e.type === 'bad_nonce_retry');
      assert.deepEqual(
        retries.map((e) => e.type === 'bad_nonce_retry' && e.attempt),
        [1, 2, 3],
      );
      assert.equal(events.filter((e) => e.type === 'request' && e.method === 'POST').length, 4);
    } finally {
      issuer.close();
    }
  });
});
