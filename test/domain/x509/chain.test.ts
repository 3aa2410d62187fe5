import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { buildChain, formatName, fullChainPems, type ChainCandidate } from '../../../src/domain/x509/chain.ts';
import { x509Version } from '../../../src/domain/x509/inspect.ts';
import {
  days,
  derOf,
  mintIntermediate,
  mintLeaf,
  mintRoot,
  mintSelfSignedLeaf,
  mintV1,
  P256,
  P384,
  P521,
  RSA2048,
  type Issued,
} from '../../helpers/pki.ts';
import { expectError } from '../../helpers/errors.ts';

// RFC 5280 key usage bits as @peculiar/x509 numbers them.
const DIGITAL_SIGNATURE = 1;
const CRL_SIGN = 2;
const KEY_CERT_SIGN = 32;

const x = (issued: Issued): X509Certificate => new X509Certificate(issued.pem);
/** Candidates numbered 1.. in the order given, as the chain field would number them. */
const field = (...certs: Array<Issued | X509Certificate>): ChainCandidate[] =>
  certs.map((c, i) => ({ x509: c instanceof X509Certificate ? c : x(c), index: i + 1 }));
const indexes = (path: readonly ChainCandidate[]): number[] => path.map((c) => c.index);

/** The certificate with the last byte of its signature flipped: names and key ids intact, signature broken. */
function corrupt(issued: Issued): X509Certificate {
  const der = Buffer.from(derOf(issued));
  der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
  return new X509Certificate(der);
}

const now = new Date();
// Every CA gets its own key (freshKey): with pooled keys a root and its intermediate would share a
// key and "who signed what" would stop being a real question.
let root: Issued;
let int: Issued;
let leaf: Issued;
let intB: Issued; // root → int → intB → leafB
let leafB: Issued;

before(async () => {
  root = await mintRoot({ cn: 'Chain Root', o: 'Chain Test', freshKey: true });
  int = await mintIntermediate(root, { cn: 'Chain Intermediate', o: 'Chain Test', freshKey: true });
  leaf = await mintLeaf(int, { cn: 'www.example.com', freshKey: true });
  intB = await mintIntermediate(int, { cn: 'Chain Intermediate B', o: 'Chain Test', freshKey: true });
  leafB = await mintLeaf(intB, { cn: 'b.example.com', freshKey: true });
});

describe('buildChain: accepted chains', () => {
  it('returns an empty path for an empty chain', () => {
    assert.deepEqual(buildChain(x(leaf), [], now), {
      path: [],
      reordered: false,
      duplicatesRemoved: 0,
      endsAtRoot: false,
    });
  });

  it('accepts the intermediate alone (the root is optional)', () => {
    const result = buildChain(x(leaf), field(int), now);
    assert.deepEqual(indexes(result.path), [1]);
    assert.equal(result.endsAtRoot, false);
    assert.equal(result.reordered, false);
    assert.equal(result.duplicatesRemoved, 0);
  });

  it('accepts intermediate + root and says the path ends at a root', () => {
    const result = buildChain(x(leaf), field(int, root), now);
    assert.deepEqual(indexes(result.path), [1, 2]);
    assert.equal(result.endsAtRoot, true);
    assert.equal(result.reordered, false);
  });

  it('repairs the order silently', () => {
    const result = buildChain(x(leaf), field(root, int), now);
    assert.deepEqual(indexes(result.path), [2, 1]);
    assert.equal(result.reordered, true);
    assert.equal(result.endsAtRoot, true);
    const deep = buildChain(x(leafB), field(root, int, intB), now);
    assert.deepEqual(indexes(deep.path), [3, 2, 1]);
    assert.equal(deep.reordered, true);
    const shuffled = buildChain(x(leafB), field(int, root, intB), now);
    assert.deepEqual(indexes(shuffled.path), [3, 1, 2]);
    assert.equal(shuffled.reordered, true);
  });

  it('drops byte-identical duplicates silently, keeping the first occurrence', () => {
    const result = buildChain(x(leaf), field(int, int, root, int, root), now);
    assert.deepEqual(indexes(result.path), [1, 3]);
    assert.equal(result.duplicatesRemoved, 3);
    assert.equal(result.reordered, false);
  });

  it('accepts a long chain without its root', () => {
    const result = buildChain(x(leafB), field(intB, int), now);
    assert.deepEqual(indexes(result.path), [1, 2]);
    assert.equal(result.endsAtRoot, false);
  });

  it('returns the caller’s own candidate objects (extra properties survive)', () => {
    const candidates = field(root, int).map((c) => ({ ...c, pem: `pem-${c.index}` }));
    const result = buildChain(x(leaf), candidates, now);
    assert.deepEqual(
      result.path.map((c) => c.pem),
      ['pem-2', 'pem-1'],
    );
    assert.equal(result.path[0], candidates[1]);
  });

  it('works with RSA CAs and a leaf directly under the root', async () => {
    const rsaRoot = await mintRoot({ cn: 'RSA Root', key: RSA2048, freshKey: true });
    const rsaInt = await mintIntermediate(rsaRoot, { cn: 'RSA Intermediate', key: RSA2048, freshKey: true });
    const rsaLeaf = await mintLeaf(rsaInt, { key: P256, freshKey: true });
    assert.deepEqual(indexes(buildChain(x(rsaLeaf), field(rsaRoot, rsaInt), now).path), [2, 1]);
    const direct = await mintLeaf(rsaRoot, { key: P256, freshKey: true });
    const result = buildChain(x(direct), field(rsaRoot), now);
    assert.deepEqual(indexes(result.path), [1]);
    assert.equal(result.endsAtRoot, true);
  });

  it('accepts an empty chain for a self-signed leaf', async () => {
    const self = await mintSelfSignedLeaf({ freshKey: true });
    assert.deepEqual(buildChain(x(self), [], now).path, []);
  });
});

describe('buildChain: chain_issuer_missing', () => {
  it('refuses a non-empty chain with no issuer for the leaf, naming the issuer to add', () => {
    const error = expectError(
      () => buildChain(x(leafB), field(int, root), now),
      'chain_issuer_missing',
      'chain',
      "no issuer for the certificate ('CN=b.example.com')",
      "Add the certificate of 'O=Chain Test, CN=Chain Intermediate B'",
    );
    assert.equal(error.details?.issuer, 'O=Chain Test, CN=Chain Intermediate B');
  });

  it('refuses a chain missing an intermediate in the middle, naming the gap', () => {
    const error = expectError(
      () => buildChain(x(leafB), field(intB, root), now),
      'chain_issuer_missing',
      'chain',
      "no issuer for block 1 of the chain ('O=Chain Test, CN=Chain Intermediate B')",
      "issued by 'O=Chain Test, CN=Chain Intermediate'",
      "block 2 ('O=Chain Test, CN=Chain Root') of the chain cannot be connected",
    );
    assert.equal(error.details?.block, 2);
  });

  it('names the field it was given (the NHN file)', () => {
    expectError(
      () => buildChain(x(leafB), field(root), now, { field: 'file' }),
      'chain_issuer_missing',
      'file',
      'The file has no issuer',
    );
  });
});

describe('buildChain: chain_signature_invalid', () => {
  it('refuses an intermediate with the right name but another key', async () => {
    const impostor = await mintIntermediate(root, { cn: 'Chain Intermediate', o: 'Chain Test', freshKey: true });
    assert.equal(x(impostor).subject, x(int).subject);
    const error = expectError(
      () => buildChain(x(leaf), field(impostor, root), now),
      'chain_signature_invalid',
      'chain',
      "Block 1 of the chain ('O=Chain Test, CN=Chain Intermediate') has the name of the issuer of the certificate",
      'did not sign it',
    );
    assert.equal(error.details?.block, 1);
  });

  it('refuses a block whose names and key ids match but whose signature fails ("block 2 claims to have issued block 1")', () => {
    const error = expectError(
      () => buildChain(x(leaf), field(corrupt(int), root), now),
      'chain_signature_invalid',
      'chain',
      "Block 2 of the chain ('O=Chain Test, CN=Chain Root') claims to have issued block 1 of the chain",
      'signature does not verify',
    );
    assert.equal(error.details?.block, 2);
  });

  it('refuses a leaf whose own signature is broken', () => {
    expectError(
      () => buildChain(corrupt(leaf), field(int), now),
      'chain_signature_invalid',
      'chain',
      "claims to have issued the certificate ('CN=www.example.com')",
    );
  });
});

describe('buildChain: chain_not_ca', () => {
  it('refuses an issuer that is not a CA and may not sign certificates (isCa false)', async () => {
    const notCa = await mintIntermediate(root, { cn: 'Not A CA', isCa: false, freshKey: true });
    const child = await mintLeaf(notCa, { freshKey: true });
    const error = expectError(
      () => buildChain(x(child), field(notCa, root), now),
      'chain_not_ca',
      'chain',
      "Block 1 of the chain ('O=certkeeper Test CA, CN=Not A CA') signed the certificate",
      'not a CA certificate',
    );
    assert.equal(error.details?.block, 1);
  });

  it('refuses an issuer with keyCertSign but basicConstraints CA:FALSE or absent', async () => {
    for (const options of [{ isCa: false }, { noBasicConstraints: true }]) {
      const notCa = await mintIntermediate(root, {
        cn: 'Signs But Not CA',
        keyUsages: KEY_CERT_SIGN | DIGITAL_SIGNATURE,
        freshKey: true,
        ...options,
      });
      const child = await mintLeaf(notCa, { freshKey: true });
      expectError(
        () => buildChain(x(child), field(root, notCa), now),
        'chain_not_ca',
        'chain',
        'Block 2 of the chain',
        'issued the certificate',
        'basicConstraints CA:TRUE is missing',
      );
    }
  });

  it('refuses a CA whose key usage lacks keyCertSign', async () => {
    const noSign = await mintIntermediate(root, {
      cn: 'No CertSign',
      keyUsages: DIGITAL_SIGNATURE | CRL_SIGN,
      freshKey: true,
    });
    const child = await mintLeaf(noSign, { freshKey: true });
    expectError(() => buildChain(x(child), field(noSign), now), 'chain_not_ca', 'chain', 'keyCertSign');
  });
});

describe('buildChain: X.509 version 1 certificates', () => {
  it('accepts a self-signed v1 root at the end of the path (no basicConstraints, as old public roots are)', async () => {
    const oldRoot = await mintV1(null, { cn: 'Old V1 Root' });
    assert.equal(x509Version(derOf(oldRoot)), 1);
    assert.equal(x(oldRoot).ca, false, "Node's ca is false for it: the reason for the rule");
    const intermediate = await mintIntermediate(oldRoot, { cn: 'Under V1 Root', key: RSA2048, freshKey: true });
    assert.equal(x509Version(derOf(intermediate)), 3);
    const leaf = await mintLeaf(intermediate, { freshKey: true });
    const result = buildChain(x(leaf), field(oldRoot, intermediate), now);
    assert.deepEqual(indexes(result.path), [2, 1]);
    assert.equal(result.endsAtRoot, true);
    assert.equal(result.reordered, true);
  });

  it('still refuses a v1 certificate that is not self-signed as an issuer: nothing says it is a CA', async () => {
    const rsaRoot = await mintRoot({ cn: 'RSA Root For V1', key: RSA2048, freshKey: true });
    const oldIntermediate = await mintV1(rsaRoot, { cn: 'Old V1 Intermediate' });
    assert.equal(x509Version(derOf(oldIntermediate)), 1);
    const leaf = await mintLeaf(oldIntermediate, { freshKey: true });
    const error = expectError(
      () => buildChain(x(leaf), field(oldIntermediate, rsaRoot), now),
      'chain_not_ca',
      'chain',
      'Old V1 Intermediate',
      'not a CA certificate',
    );
    assert.equal(error.details?.block, 1);
  });
});

describe('buildChain: chain_expired', () => {
  it('refuses an expired intermediate', async () => {
    const old = await mintIntermediate(root, {
      cn: 'Expired Intermediate',
      freshKey: true,
      notBefore: new Date(Date.now() - days(400)),
      notAfter: new Date(Date.now() - days(10)),
    });
    const child = await mintLeaf(old, { freshKey: true, notBefore: new Date(Date.now() - days(20)) });
    const error = expectError(
      () => buildChain(x(child), field(old, root), now),
      'chain_expired',
      'chain',
      "Block 1 of the chain ('O=certkeeper Test CA, CN=Expired Intermediate') expired on",
    );
    assert.equal(error.details?.block, 1);
    assert.equal(error.details?.notAfter, x(old).validToDate.toISOString());
  });

  it('refuses a not-yet-valid intermediate', async () => {
    const future = await mintIntermediate(root, {
      cn: 'Future Intermediate',
      freshKey: true,
      notBefore: new Date(Date.now() + days(10)),
    });
    const child = await mintLeaf(future, { freshKey: true });
    expectError(() => buildChain(x(child), field(future), now), 'chain_expired', 'chain', 'is not valid until');
  });

  it('judges validity at the given time, including a root in the path', () => {
    const later = new Date(x(int).validToDate.getTime() + days(1));
    expectError(() => buildChain(x(leaf), field(int, root), later), 'chain_expired', 'chain', 'Block 1');
    const muchLater = new Date(x(root).validToDate.getTime() + days(1));
    expectError(() => buildChain(x(leaf), field(root), muchLater), 'chain_issuer_missing', 'chain');
    const beforeAll = new Date(x(root).validFromDate.getTime() - days(1));
    expectError(() => buildChain(x(leaf), field(int, root), beforeAll), 'chain_expired', 'chain', 'not valid until');
  });
});

describe('buildChain: chain_unrelated', () => {
  it('refuses the leaf repeated in the chain field (fullchain.pem)', () => {
    const error = expectError(
      () => buildChain(x(leaf), field(leaf, int), now),
      'chain_unrelated',
      'chain',
      "Block 1 of the chain ('CN=www.example.com') is the certificate itself",
      'fullchain.pem',
    );
    assert.deepEqual(error.details, { block: 1, reason: 'leaf_in_chain' });
  });

  it('refuses an unrelated certificate after a complete path, by name and block', async () => {
    const other = await mintRoot({ cn: 'Other Root', freshKey: true });
    const error = expectError(
      () => buildChain(x(leaf), field(int, root, other), now),
      'chain_unrelated',
      'chain',
      "Block 3 ('O=certkeeper Test CA, CN=Other Root') of the chain is not on the certificate's issuer path",
      'certificate → block 1 → block 2 (root)',
    );
    assert.deepEqual(error.details, { block: 3, count: 1 });
  });

  it('refuses an unrelated leaf when the root is absent', async () => {
    const stranger = await mintLeaf(root, { cn: 'stranger.example.com', freshKey: true });
    expectError(
      () => buildChain(x(leaf), field(int, stranger), now),
      'chain_unrelated',
      'chain',
      "Block 2 ('CN=stranger.example.com')",
    );
  });

  it('refuses a sibling intermediate (same root, other branch) when the root is absent', async () => {
    const sibling = await mintIntermediate(root, { cn: 'Sibling Intermediate', freshKey: true });
    expectError(
      () => buildChain(x(leaf), field(sibling, int), now),
      'chain_unrelated',
      'chain',
      'Block 1',
      'Sibling Intermediate',
    );
  });

  it('refuses a sibling intermediate when the root is present', async () => {
    const sibling = await mintIntermediate(root, { cn: 'Sibling Intermediate 2', freshKey: true });
    expectError(() => buildChain(x(leaf), field(int, root, sibling), now), 'chain_unrelated', 'chain', 'Block 3');
  });

  it('refuses any chain for a self-signed leaf', async () => {
    const self = await mintSelfSignedLeaf({ freshKey: true });
    expectError(
      () => buildChain(x(self), field(int, root), now),
      'chain_unrelated',
      'chain',
      'is self-signed',
      'blocks 1',
      'and 2',
    );
  });
});

describe('buildChain: chain_ambiguous', () => {
  it('refuses two cross-signed variants of the same intermediate', async () => {
    // Same subject, same key (the pooled P-384 key, used only here), two different issuers.
    const rootX = await mintRoot({ cn: 'Cross Root X', freshKey: true });
    const rootY = await mintRoot({ cn: 'Cross Root Y', freshKey: true });
    const viaX = await mintIntermediate(rootX, { cn: 'Cross Intermediate', key: P384 });
    const viaY = await mintIntermediate(rootY, { cn: 'Cross Intermediate', key: P384 });
    const child = await mintLeaf(viaX, { freshKey: true, key: P256 });
    const error = expectError(
      () => buildChain(x(child), field(viaX, viaY, rootX), now),
      'chain_ambiguous',
      'chain',
      'blocks 1 (',
      'and 2 (',
      'can each issue the certificate',
    );
    assert.equal(error.details?.blocks, '1,2');
    // One variant alone is not ambiguous, whichever it is.
    assert.deepEqual(indexes(buildChain(x(child), field(viaY), now).path), [1]);
    assert.deepEqual(indexes(buildChain(x(child), field(rootX, viaX), now).path), [2, 1]);
  });

  it('refuses a loop of two CAs that certify each other', async () => {
    // B0 self-signed (pooled P-521 key); A issued by B; B' (same name and key as B0) issued by A.
    const b0 = await mintRoot({ cn: 'Loop B', key: P521 });
    const a = await mintIntermediate(b0, { cn: 'Loop A', freshKey: true, key: P256 });
    const bByA = await mintIntermediate(a, { cn: 'Loop B', o: 'certkeeper Test CA', key: P521 });
    const child = await mintLeaf(a, { freshKey: true, key: P256 });
    const error = expectError(
      () => buildChain(x(child), field(a, bByA), now),
      'chain_ambiguous',
      'chain',
      'loops',
      "block 1 of the chain ('O=certkeeper Test CA, CN=Loop A')",
    );
    assert.equal(error.details?.reason, 'loop');
  });
});

describe('fullChainPems', () => {
  it('is the leaf then the intermediates, a self-signed root at the end left out', () => {
    assert.deepEqual(fullChainPems(leafB.pem, [intB.pem, int.pem, root.pem]), [leafB.pem, intB.pem, int.pem]);
  });

  it('keeps a chain that stops below the root as it is', () => {
    assert.deepEqual(fullChainPems(leafB.pem, [intB.pem, int.pem]), [leafB.pem, intB.pem, int.pem]);
    assert.deepEqual(fullChainPems(leaf.pem, []), [leaf.pem]);
  });

  it('leaves out an old-style v1 root too, and keeps a self-signed certificate that has no chain', async () => {
    const v1Root = await mintV1(null, { cn: 'Full Chain V1 Root' });
    const v1Int = await mintIntermediate(v1Root, { cn: 'Full Chain V1 Intermediate', freshKey: true });
    const v1Leaf = await mintLeaf(v1Int, { freshKey: true });
    assert.deepEqual(fullChainPems(v1Leaf.pem, [v1Int.pem, v1Root.pem]), [v1Leaf.pem, v1Int.pem]);
    const self = await mintSelfSignedLeaf({ cn: 'self.example.com' });
    assert.deepEqual(fullChainPems(self.pem, []), [self.pem]);
  });

  it('answers the same when asked again, each top of a chain by its own text (the answers are kept)', () => {
    for (let round = 0; round < 3; round++) {
      assert.deepEqual(fullChainPems(leafB.pem, [intB.pem, int.pem]), [leafB.pem, intB.pem, int.pem]);
      assert.deepEqual(fullChainPems(leafB.pem, [intB.pem, int.pem, root.pem]), [leafB.pem, intB.pem, int.pem]);
      assert.deepEqual(fullChainPems(leafB.pem, [intB.pem]), [leafB.pem, intB.pem]);
      // The same root as another string (read from another row): the same answer.
      assert.deepEqual(fullChainPems(leafB.pem, [intB.pem, int.pem, `${root.pem}`.slice(0)]), [
        leafB.pem,
        intB.pem,
        int.pem,
      ]);
    }
  });
});

describe('formatName', () => {
  it('turns Node’s newline-separated DN into most-specific-first text', () => {
    assert.equal(formatName('C=KR\nO=Example\nCN=www.example.com'), 'CN=www.example.com, O=Example, C=KR');
    assert.equal(formatName(''), '');
    assert.equal(formatName(x(int).subject), 'O=Chain Test, CN=Chain Intermediate');
  });

  it('escapes control characters and caps the length', () => {
    assert.equal(formatName('CN=a\u0007b\u001bc'), 'CN=a\\x07b\\x1bc');
    const long = formatName(`CN=${'x'.repeat(500)}`);
    assert.equal(long.length, 201);
    assert.ok(long.endsWith('…'));
  });
});
