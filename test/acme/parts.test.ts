/**
 * The ACME client's pure parts, each checked against an outside authority: RFC 7638's thumbprint
 * example, node:crypto verifying our JWS, `openssl req -verify` reading our CSRs, RFC 9773's
 * example ARI id, RFC 9110 Retry-After and RFC 8288 Link parsing.
 */
import 'reflect-metadata';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { webcrypto } from 'node:crypto';
import { createPublicKey, generateKeyPairSync, verify, type JsonWebKey } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { keyPair, P256 } from '../helpers/pki.ts';
import { AcmeIssuer } from '../../src/acme/client.ts';
import { accountKey, signJws, thumbprint } from '../../src/acme/keys.ts';
import { links, retryAfterSeconds } from '../../src/acme/transport.ts';
import { ariCertId } from '../../src/acme/ari.ts';
import { IssuerError } from '../../src/core/issuance/issuer.ts';

const issuer = new AcmeIssuer({ directoryUrl: 'http://127.0.0.1:1/never-fetched' });

describe('account keys and JWS', () => {
  it('computes the RFC 7638 section 3.1 example thumbprint', () => {
    const n =
      '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw';
    assert.equal(thumbprint({ kty: 'RSA', n, e: 'AQAB' }), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  for (const alg of ['ES256', 'ES384', 'RS256'] as const) {
    it(`signs ${alg} JWS that node:crypto verifies with the JWK from the header`, async () => {
      const key = accountKey(await issuer.generateAccountKey(alg));
      assert.equal(key.alg, alg);
      const jws = signJws(key, { url: 'https://ca.test/new-acct', nonce: 'abc', kid: null }, { hello: 1 });
      const header = JSON.parse(Buffer.from(jws.protected, 'base64url').toString('utf8')) as Record<string, unknown>;
      assert.deepEqual(Object.keys(header).sort(), ['alg', 'jwk', 'nonce', 'url']);
      const publicKey = createPublicKey({ key: header.jwk as JsonWebKey, format: 'jwk' });
      const data = Buffer.from(`${jws.protected}.${jws.payload}`);
      const signature = Buffer.from(jws.signature, 'base64url');
      const hash = alg === 'ES384' ? 'sha384' : 'sha256';
      const options = alg === 'RS256' ? publicKey : { key: publicKey, dsaEncoding: 'ieee-p1363' as const };
      assert.ok(verify(hash, data, options, signature));
      assert.equal(signature.length, alg === 'ES256' ? 64 : alg === 'ES384' ? 96 : 256);
      const asGet = signJws(
        key,
        { url: 'https://ca.test/order/1', nonce: 'n', kid: 'https://ca.test/acct/1' },
        undefined,
      );
      assert.equal(asGet.payload, '', 'POST-as-GET has an empty payload');
    });
  }

  it('refuses keys ACME cannot use, without quoting them', () => {
    const ed = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    for (const pem of [ed, rsa1024, 'not a key', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n']) {
      assert.throws(
        () => accountKey(pem),
        (error: unknown) =>
          error instanceof IssuerError &&
          error.kind === 'invalid_input' &&
          !error.retryable &&
          !error.message.includes(pem.split('\n')[1] ?? pem),
      );
    }
  });

  it('derives the key authorization, the DNS-01 TXT value and the HTTP-01 path (RFC 8555 8.1, 8.3, 8.4)', async () => {
    const keyPem = await issuer.generateAccountKey();
    const token = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA';
    const response = issuer.challengeResponse(
      keyPem,
      { identifier: { type: 'dns', value: '*.example.org' } },
      { token },
    );
    const expected = `${token}.${accountKey(keyPem).thumbprint}`;
    assert.equal(response.keyAuthorization, expected);
    assert.equal(response.http01Body, expected);
    assert.equal(response.http01Path, `/.well-known/acme-challenge/${token}`);
    assert.equal(response.dns01Name, '_acme-challenge.example.org');
    const openssl = spawnSync('openssl', ['dgst', '-sha256', '-binary'], { input: expected });
    assert.equal(response.dns01TxtValue, openssl.stdout.toString('base64url'));
    assert.throws(() =>
      issuer.challengeResponse(keyPem, { identifier: { type: 'dns', value: 'a.b' } }, { token: 'a/b' }),
    );
  });
});

describe('CSRs', () => {
  const cases = [
    ['ec-p256', 'ecdsa-with-SHA256', 'prime256v1'],
    ['ec-p384', 'ecdsa-with-SHA384', 'secp384r1'],
    ['rsa-2048', 'sha256WithRSAEncryption', '2048 bit'],
  ] as const;
  for (const [kind, signatureAlgorithm, keyText] of cases) {
    it(`makes a ${kind} CSR that openssl verifies, with every name in the SAN`, async () => {
      const keyPem = await issuer.generateCertificateKey(kind);
      const names = ['example.org', '*.example.org', 'a-b.c.example.org', '192.0.2.1', '2001:db8::1'];
      const der = issuer.createCsr(keyPem, names);
      const run = spawnSync('openssl', ['req', '-inform', 'DER', '-verify', '-noout', '-text'], { input: der });
      const text = `${run.stdout.toString()}${run.stderr.toString()}`;
      assert.equal(run.status, 0, text);
      assert.match(text, /verify OK/i);
      assert.match(text, /Subject: CN\s?=\s?example\.org/);
      assert.ok(text.includes(`Signature Algorithm: ${signatureAlgorithm}`), text);
      assert.ok(text.includes(keyText), text);
      assert.match(
        text,
        /DNS:example\.org, DNS:\*\.example\.org, DNS:a-b\.c\.example\.org, IP Address:192\.0\.2\.1, IP Address:2001:DB8:0:0:0:0:0:1/,
      );
      const modulus = spawnSync('openssl', ['req', '-inform', 'DER', '-noout', '-pubkey'], {
        input: der,
      }).stdout.toString();
      assert.equal(modulus, createPublicKey(keyPem).export({ format: 'pem', type: 'spki' }).toString());
    });
  }

  it('leaves the subject empty when the first name is longer than 64 characters', async () => {
    const long = `${'a'.repeat(60)}.example.org`;
    const der = issuer.createCsr(await issuer.generateCertificateKey(), [long]);
    const text = spawnSync('openssl', ['req', '-inform', 'DER', '-verify', '-noout', '-text'], {
      input: der,
    }).stdout.toString();
    assert.match(text, /Subject:\s*\n/);
    assert.ok(text.includes(`DNS:${long}`));
  });

  it('refuses names that are not DNS names or IP addresses, and no names', async () => {
    const keyPem = await issuer.generateCertificateKey();
    for (const names of [[], ['exa mple.org'], ['a..b'], ['*.*.example.org'], ['-a.example.org']]) {
      assert.throws(
        () => issuer.createCsr(keyPem, names),
        (e: unknown) => e instanceof IssuerError && e.kind === 'invalid_input',
      );
    }
  });
});

describe('ARI certificate ids (RFC 9773)', () => {
  it('reproduces the example of RFC 9773 section 4.1', async () => {
    // keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4, serial 00:87:65:43:21.
    const key = await keyPair(P256);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: '0087654321',
      subject: 'CN=ari.example',
      issuer: 'CN=ari issuer',
      notBefore: new Date('2025-01-01T00:00:00Z'),
      notAfter: new Date('2025-04-01T00:00:00Z'),
      publicKey: key.publicKey,
      signingKey: key.privateKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams,
      extensions: [new x509.AuthorityKeyIdentifierExtension('69885b6b87464041e1b37b847ba0ae2cde01c8d4')],
    });
    const pem = cert.toString('pem');
    const serialLine = spawnSync('openssl', ['x509', '-noout', '-serial'], { input: pem }).stdout.toString();
    assert.equal(serialLine.trim(), 'serial=87654321', 'the DER serial carries its sign octet 00');
    assert.equal(ariCertId(pem), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
    assert.equal(issuer.renewalCertId(pem), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it('refuses a certificate without an authority key identifier', async () => {
    const key = await keyPair(P256);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=no aki',
      keys: { privateKey: key.privateKey, publicKey: key.publicKey },
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams,
    });
    assert.throws(
      () => ariCertId(cert.toString('pem')),
      (e: unknown) =>
        e instanceof IssuerError && e.kind === 'invalid_input' && /authority key identifier/.test(e.message),
    );
  });
});

describe('Retry-After and Link', () => {
  it('reads delay-seconds and HTTP-dates, and ignores what is neither', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryAfterSeconds('120', now), 120);
    assert.equal(retryAfterSeconds('Thu, 01 Jan 2026 00:01:00 GMT', now), 60);
    assert.equal(retryAfterSeconds('Wed, 31 Dec 2025 00:00:00 GMT', now), 0);
    assert.equal(retryAfterSeconds('soon', now), undefined);
    assert.equal(retryAfterSeconds('-5', now), undefined);
    assert.equal(retryAfterSeconds(undefined, now), undefined);
  });

  it('finds links by rel, resolved against the request URL', () => {
    const header = [
      '<https://ca.test/cert/1/1>;rel="alternate", </cert/1/2>; rel=alternate',
      '<https://ca.test/dir>;rel="index", <https://ca.test/authz/9>;rel="up"',
    ];
    assert.deepEqual(links(header, 'alternate', 'https://ca.test/cert/1'), [
      'https://ca.test/cert/1/1',
      'https://ca.test/cert/1/2',
    ]);
    assert.deepEqual(links(header, 'up', 'https://ca.test/chall/1'), ['https://ca.test/authz/9']);
    assert.deepEqual(links(undefined, 'up', 'https://ca.test/'), []);
  });
});
