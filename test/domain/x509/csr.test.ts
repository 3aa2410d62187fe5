/**
 * domain/x509/csr.ts: CSRs made by the openssl command line, as users make them, and the ways one
 * is refused (field `csr` every time): not PEM, not one request, a signature that does not verify
 * with the request's own key, a key the ladder refuses, too large.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSR_MAX_BYTES, parseCsr } from '../../../src/domain/x509/csr.ts';
import { REVOCATION_REASONS, revocationReason } from '../../../src/core/issuance/revocation.ts';
import { CSR_KEYS, opensslCsr } from '../../helpers/csr.ts';

describe('parseCsr', () => {
  let dir: string;
  const made: Record<string, { csr: string; key: string }> = {};

  async function make(name: string, key: readonly string[], subject: string, sans: readonly string[]) {
    made[name] = await opensslCsr(dir, name, { key, subject, sans });
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'certkeeper-csr-'));
    await make('ec', CSR_KEYS.p384, '/O=Example/CN=a.example.com', ['a.example.com', '*.a.example.com']);
    await make('rsa', CSR_KEYS.rsa2048, '/CN=b.example.com', []);
    await make('weak', CSR_KEYS.rsa1024, '/CN=c.example.com', []);
    await make('ed', CSR_KEYS.ed25519, '/CN=d.example.com', []);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("reads the CN, the SAN dNSNames and the request's own key", () => {
    const ec = parseCsr(made.ec!.csr);
    assert.equal(ec.commonName, 'a.example.com');
    assert.deepEqual(ec.dnsNames, ['a.example.com', '*.a.example.com']);
    assert.ok(ec.publicKey.equals(createPublicKey(createPrivateKey(made.ec!.key))));
    const rsa = parseCsr(`text before\n${made.rsa!.csr}text after\n`);
    assert.equal(rsa.commonName, 'b.example.com');
    assert.deepEqual(rsa.dnsNames, []);
    assert.equal(rsa.der.subarray(0, 1)[0], 0x30);
  });

  it('refuses a signature that does not verify with its own key', () => {
    const der = parseCsr(made.rsa!.csr).der;
    const tampered = Buffer.from(der);
    tampered[tampered.length - 5] = tampered[tampered.length - 5]! ^ 0xff; // inside the signature BIT STRING
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${tampered.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.throws(() => parseCsr(pem), {
      code: 'invalid_argument',
      field: 'csr',
      message: /not signed by its own key/,
    });
  });

  it('refuses keys the import ladder refuses', () => {
    assert.throws(() => parseCsr(made.weak!.csr), { code: 'key_type_unsupported', field: 'csr' });
    assert.throws(() => parseCsr(made.ed!.csr), { code: 'key_type_unsupported', field: 'csr' });
  });

  it('refuses what is not one PKCS#10 request, and oversized text, as field csr', () => {
    for (const text of [
      '',
      'hello',
      '\u0000',
      made.ec!.key,
      `${made.ec!.csr}${made.rsa!.csr}`,
      '-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n',
      '-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQA=\n-----END CERTIFICATE REQUEST-----\n',
    ])
      assert.throws(() => parseCsr(text), { code: 'pem_malformed', field: 'csr' }, JSON.stringify(text.slice(0, 40)));
    assert.throws(() => parseCsr('x'.repeat(CSR_MAX_BYTES + 1)), { code: 'input_too_large', field: 'csr' });
  });
});

describe('revocation reasons', () => {
  it('are the RFC 5280 CRLReason codes; anything else is invalid_argument', () => {
    assert.deepEqual(
      ['unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation'].map(
        revocationReason,
      ),
      [0, 1, 3, 4, 5],
    );
    assert.equal(Object.keys(REVOCATION_REASONS).length, 5);
    for (const name of ['', 'Superseded', 'toString', '__proto__', 'certificateHold'])
      assert.throws(() => revocationReason(name), { code: 'invalid_argument', field: 'reason' });
  });
});
