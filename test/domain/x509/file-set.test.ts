/**
 * The pairing of keys with certificates in a file set (file-set.ts) in every key encoding: read
 * from the DER where public-key-match.ts can (RSA PKCS#1 and PKCS#8, EC SEC1 and PKCS#8 with
 * their public point), and through OpenSSL's export where it cannot (Ed25519, an EC key without
 * its public point): the same pairs either way, keys of nothing listed, certificates without a
 * key given none.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { sortFileSet, type SourceFile } from '../../../src/domain/x509/file-set.ts';
import { certificateKeyMatch, privateKeyMatch } from '../../../src/domain/x509/public-key-match.ts';
import { ED25519, keyPemAs, mintBundle, mintLeaf, P256, P384, RSA2048, type Issued } from '../../helpers/pki.ts';

const armour = (label: string, der: Buffer): string =>
  `-----BEGIN ${label}-----\n${der
    .toString('base64')
    .replace(/.{64}/g, '$&\n')
    .replace(/\n?$/, '\n')}-----END ${label}-----\n`;

/** The SEC1 DER of a P-256 key without its optional `[1] publicKey` (OpenSSL then derives it). */
function sec1WithoutPoint(issued: Issued): Buffer {
  const der = issued.key.keyObject.export({ type: 'sec1', format: 'der' });
  // 30 77 | 02 01 01 | 04 20 d(32) | a0 0a 06 08 oid | a1 44 03 42 00 04 X Y
  const kept = der.subarray(2, 2 + 3 + 34 + 12);
  assert.equal(der[2 + 3 + 34 + 12], 0xa1);
  return Buffer.concat([Buffer.from([0x30, kept.length]), kept]);
}

describe('file set pairing', () => {
  const leaves: Record<string, Issued> = {};
  let chainPem: string;
  before(async () => {
    const bundle = await mintBundle();
    chainPem = bundle.chainPem;
    const specs = {
      ec8: P256,
      ec1: P256,
      p384: P384,
      bare: P256,
      rsa1: RSA2048,
      rsa8: RSA2048,
      ed: ED25519,
      nokey: P256,
      stray: P256,
    };
    for (const [name, key] of Object.entries(specs))
      leaves[name] = await mintLeaf(bundle.intermediate, { cn: `${name}.example.test`, key, freshKey: true });
  });

  it('reads the match from the DER of the common encodings, equal on both sides', () => {
    for (const [name, type] of [
      ['ec8', 'pkcs8'],
      ['ec1', 'sec1'],
      ['p384', 'sec1'],
      ['rsa1', 'pkcs1'],
      ['rsa8', 'pkcs8'],
    ] as const) {
      const issued = leaves[name]!;
      const cert = certificateKeyMatch(new X509Certificate(issued.pem).raw);
      assert.ok(cert !== null, name);
      const der = issued.key.keyObject.export({ type, format: 'der' } as never) as Buffer;
      assert.equal(privateKeyMatch(der, type), cert, name);
    }
    // Not read: Ed25519 (PKCS#8 v1 carries no public key) and an EC key without its point.
    assert.equal(privateKeyMatch(leaves.ed!.key.keyObject.export({ type: 'pkcs8', format: 'der' }), 'pkcs8'), null);
    assert.equal(privateKeyMatch(sec1WithoutPoint(leaves.bare!), 'sec1'), null);
    assert.equal(certificateKeyMatch(new X509Certificate(leaves.ed!.pem).raw), null);
    // Another key's match differs.
    assert.notEqual(
      privateKeyMatch(leaves.ec1!.key.keyObject.export({ type: 'sec1', format: 'der' }), 'sec1'),
      certificateKeyMatch(new X509Certificate(leaves.ec8!.pem).raw),
    );
  });

  it('pairs every certificate with its key in any encoding and file, read or exported', () => {
    const pkcs8Der = (issued: Issued) => createPrivateKey(issued.keyPem).export({ type: 'pkcs8', format: 'der' });
    const files: SourceFile[] = [
      { path: 'ca/chain.pem', bytes: Buffer.from(chainPem) },
      ...Object.entries(leaves)
        .filter(([name]) => name !== 'stray')
        .map(([name, issued]) => ({ path: `certs/${name}.pem`, bytes: Buffer.from(issued.pem) })),
      // Key files named after nothing, in reverse order of the certificates.
      { path: 'keys/a', bytes: Buffer.from(keyPemAs(leaves.stray!, 'pkcs8')) },
      { path: 'keys/b', bytes: Buffer.from(armour('EC PRIVATE KEY', sec1WithoutPoint(leaves.bare!))) },
      { path: 'keys/c', bytes: pkcs8Der(leaves.ed!) },
      { path: 'keys/d', bytes: Buffer.from(keyPemAs(leaves.rsa8!, 'pkcs8')) },
      { path: 'keys/e', bytes: Buffer.from(keyPemAs(leaves.rsa1!, 'pkcs1')) },
      { path: 'keys/f', bytes: Buffer.from(keyPemAs(leaves.p384!, 'sec1')) },
      { path: 'keys/g', bytes: Buffer.from(keyPemAs(leaves.ec1!, 'sec1')) },
      { path: 'keys/h', bytes: pkcs8Der(leaves.ec8!) },
      // The same key again in a later file: the first file names it.
      { path: 'keys/i', bytes: Buffer.from(keyPemAs(leaves.ec8!, 'sec1')) },
    ];
    const set = sortFileSet(files, { passphrase: null, names: 'stem' });
    assert.deepEqual(set.refused, []);
    const pairs = Object.fromEntries(set.items.map((item) => [item.input.name, item.keyFile]));
    assert.deepEqual(pairs, {
      bare: 'keys/b',
      ec1: 'keys/g',
      ec8: 'keys/h',
      ed: 'keys/c',
      nokey: null,
      p384: 'keys/f',
      rsa1: 'keys/e',
      rsa8: 'keys/d',
    });
    assert.deepEqual(set.unusedKeyFiles, ['keys/a']);
    for (const item of set.items)
      if (item.keyFile !== null)
        assert.ok(item.input.parsedCertificate!.checkPrivateKey(item.input.parsedKey!.key.keyObject), item.input.name);
  });
});
