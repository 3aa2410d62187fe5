/**
 * The import ladder, step by step: every error code it can return has a case here that asserts
 * the code, the field it blames and a fragment of the message a user reads. Then the happy paths,
 * and a property test: whatever bytes come in, the ladder answers with a candidate or an AppError,
 * never anything else.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { AppError, type ErrorCode } from '../../../src/domain/errors.ts';
import {
  IMPORT_LIMITS,
  runImportLadder,
  type ImportInput,
  type ImportPolicy,
} from '../../../src/domain/x509/ladder.ts';
import {
  ED25519,
  P256,
  P384,
  RSA2048,
  days,
  derOf,
  keyPemAs,
  mintBundle,
  mintIntermediate,
  mintLeaf,
  mintRoot,
  mintSelfSignedLeaf,
  type Bundle,
} from '../../helpers/pki.ts';

const NCP_NAME = {
  test: (n: string) => /^[A-Za-z][A-Za-z0-9-]{2,19}$/.test(n),
  description: '3–20 letters, digits or "-", starting with a letter.',
};
const policy = (overrides: Partial<ImportPolicy> = {}): ImportPolicy => ({
  now: new Date(),
  requireKey: true,
  allowEd25519: true,
  nameRule: NCP_NAME,
  ...overrides,
});

function refused(
  input: ImportInput,
  expected: { code: ErrorCode; field: string; message?: RegExp },
  p: ImportPolicy = policy(),
): AppError {
  let caught: unknown;
  try {
    runImportLadder(input, p);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof AppError, `expected an AppError, got ${String(caught)}`);
  assert.equal(caught.code, expected.code, `code (message: ${caught.message})`);
  assert.equal(caught.field, expected.field, 'field');
  if (expected.message) assert.match(caught.message, expected.message);
  return caught;
}

const armour = (label: string, der: Buffer): string =>
  `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;

let bundle: Bundle;
let input: ImportInput;

before(async () => {
  bundle = await mintBundle({ leaf: { key: RSA2048, cn: 'shop.example.com' } });
  input = { name: 'shop-cert', certificate: bundle.leaf.pem, privateKey: bundle.leaf.keyPem, chain: bundle.chainPem };
});

describe('import ladder: the happy path', () => {
  it('returns a candidate with facts derived from the bytes', () => {
    const candidate = runImportLadder(input, policy());
    assert.equal(candidate.name, 'shop-cert');
    assert.equal(candidate.facts.commonName, 'shop.example.com');
    assert.deepEqual(candidate.facts.key, { algorithm: 'RSA', bits: 2048, curve: null });
    assert.deepEqual(candidate.chainPems, [bundle.intermediate.pem, bundle.root.pem]);
    assert.equal(candidate.chainRepaired, false);
    assert.ok(candidate.privateKey);
    assert.match(candidate.privateKey.pkcs8Pem, /^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('repairs a chain given root first, with a duplicate, and says so', () => {
    const candidate = runImportLadder(
      { ...input, chain: bundle.root.pem + bundle.intermediate.pem + bundle.root.pem },
      policy(),
    );
    assert.deepEqual(candidate.chainPems, [bundle.intermediate.pem, bundle.root.pem]);
    assert.equal(candidate.chainRepaired, true);
  });

  it('accepts a chain without the root', () => {
    const candidate = runImportLadder({ ...input, chain: bundle.intermediate.pem }, policy());
    assert.deepEqual(candidate.chainPems, [bundle.intermediate.pem]);
  });

  it('tolerates CRLF, blank lines and openssl bag attributes around the blocks', () => {
    const crlf = (s: string) => s.replace(/\n/g, '\r\n');
    const bagged = `Bag Attributes\r\n    localKeyID: 01 02 03\r\nsubject=/CN=shop.example.com\r\n\r\n${crlf(bundle.leaf.pem)}\r\n\r\n`;
    const candidate = runImportLadder(
      {
        ...input,
        certificate: bagged,
        privateKey: `Key for shop\n${crlf(bundle.leaf.keyPem)}`,
        chain: crlf(bundle.chainPem),
      },
      policy(),
    );
    assert.equal(candidate.leaf.pem, bundle.leaf.pem);
  });

  it('accepts PKCS#1 RSA and SEC1 EC keys and stores them as PKCS#8', async () => {
    const pkcs1 = runImportLadder({ ...input, privateKey: keyPemAs(bundle.leaf, 'pkcs1') }, policy());
    assert.equal(pkcs1.privateKey?.format, 'pkcs1');
    assert.match(pkcs1.privateKey?.pkcs8Pem ?? '', /BEGIN PRIVATE KEY/);
    const ec = await mintLeaf(bundle.intermediate, { key: P384, freshKey: true });
    const sec1 = runImportLadder({ ...input, certificate: ec.pem, privateKey: keyPemAs(ec, 'sec1') }, policy());
    assert.equal(sec1.privateKey?.format, 'sec1');
    assert.deepEqual(sec1.facts.key, { algorithm: 'EC', bits: 384, curve: 'P-384' });
  });

  it('accepts a self-signed leaf without a chain', async () => {
    const self = await mintSelfSignedLeaf({ key: P256 });
    const candidate = runImportLadder(
      { name: 'self-signed', certificate: self.pem, privateKey: self.keyPem },
      policy(),
    );
    assert.equal(candidate.facts.selfSigned, true);
    assert.deepEqual(candidate.chainPems, []);
  });

  it('takes no key when the face does not require one', () => {
    const candidate = runImportLadder({ ...input, privateKey: undefined }, policy({ requireKey: false }));
    assert.equal(candidate.privateKey, null);
  });

  it('reads an NHN file: certificates and key in one text, leaf found by its key', () => {
    const text = bundle.root.pem + bundle.leaf.keyPem + bundle.intermediate.pem + bundle.leaf.pem;
    const candidate = runImportLadder(
      { name: 'shop-cert', file: { name: 'shop.pem', bytes: Buffer.from(text) } },
      policy(),
    );
    assert.equal(candidate.leaf.pem, bundle.leaf.pem);
    assert.deepEqual(candidate.chainPems, [bundle.intermediate.pem, bundle.root.pem]);
    assert.equal(candidate.file?.name, 'shop.pem');
  });
});

describe('import ladder, step 1: sizes', () => {
  const cases: Array<[string, keyof ImportInput, number]> = [
    ['certificate', 'certificate', IMPORT_LIMITS.certificateBytes],
    ['privateKey', 'privateKey', IMPORT_LIMITS.privateKeyBytes],
    ['chain', 'chain', IMPORT_LIMITS.chainBytes],
    ['name', 'name', IMPORT_LIMITS.nameBytes],
  ];
  for (const [field, key, limit] of cases) {
    it(`refuses a ${field} of limit + 1 bytes, naming both sizes`, () => {
      const error = refused(
        { ...input, [key]: 'a'.repeat(limit + 1) },
        { code: 'input_too_large', field, message: new RegExp(`${limit + 1} bytes; the limit is ${limit} bytes`) },
      );
      assert.deepEqual(error.details, { limit, actual: limit + 1 });
    });
  }
  it('refuses a file of 512 KiB + 1', () => {
    refused(
      { name: 'shop-cert', file: { name: 'x.pem', bytes: Buffer.alloc(IMPORT_LIMITS.fileBytes + 1, 0x41) } },
      { code: 'input_too_large', field: 'file' },
    );
  });
  it('refuses a file together with the separate fields', () => {
    refused(
      { ...input, file: { name: 'x.pem', bytes: Buffer.from(bundle.leaf.pem) } },
      { code: 'invalid_argument', field: 'file' },
    );
  });
});

describe('import ladder, step 2: PEM decodes', () => {
  it('refuses DER bytes in the certificate field', () => {
    refused(
      { ...input, certificate: derOf(bundle.leaf).toString('latin1') },
      { code: 'pem_malformed', field: 'certificate' },
    );
  });
  it('refuses base64 without armour', () => {
    refused(
      { ...input, certificate: derOf(bundle.leaf).toString('base64') },
      { code: 'pem_malformed', field: 'certificate' },
    );
  });
  it('refuses junk text', () => {
    refused({ ...input, chain: 'hello, this is not a certificate' }, { code: 'pem_malformed', field: 'chain' });
  });
  it('refuses a private key pasted into the certificate field, without echoing it', () => {
    const error = refused(
      { ...input, certificate: bundle.leaf.pem + bundle.leaf.keyPem },
      { code: 'pem_malformed', field: 'certificate', message: /private key field/ },
    );
    assert.doesNotMatch(error.message, /MII|[A-Za-z0-9+/]{40,}/);
  });
  it('refuses a certificate pasted into the key field', () => {
    refused({ ...input, privateKey: bundle.leaf.pem }, { code: 'pem_malformed', field: 'privateKey' });
  });
  it('refuses a key in the chain field', () => {
    refused({ ...input, chain: bundle.chainPem + bundle.leaf.keyPem }, { code: 'pem_malformed', field: 'chain' });
  });
  it('caps the number of blocks in the chain', () => {
    refused(
      { ...input, chain: bundle.intermediate.pem.repeat(IMPORT_LIMITS.chainBlocks + 1) },
      { code: 'pem_too_many_blocks', field: 'chain' },
    );
  });
});

describe('import ladder, step 3: exactly one certificate', () => {
  it('refuses an empty certificate field', () => {
    refused({ ...input, certificate: '' }, { code: 'certificate_missing', field: 'certificate' });
  });
  it('says so when a full chain is pasted into the certificate field', () => {
    refused(
      { ...input, certificate: bundle.leaf.pem + bundle.chainPem },
      { code: 'certificate_multiple', field: 'certificate', message: /full chain/ },
    );
  });
  it('refuses armour around bytes that are not a certificate', () => {
    refused(
      {
        ...input,
        certificate: armour('CERTIFICATE', Buffer.from('30820122300d06092a864886f70d01010105000382010f00', 'hex')),
      },
      { code: 'certificate_invalid', field: 'certificate' },
    );
  });
  it('refuses a file without any certificate', () => {
    refused(
      { name: 'shop-cert', file: { name: 'k.pem', bytes: Buffer.from(bundle.leaf.keyPem) } },
      { code: 'certificate_missing', field: 'file' },
    );
  });
});

describe('import ladder, step 4: private key parses', () => {
  it('requires a key when the face does', () => {
    refused({ ...input, privateKey: undefined }, { code: 'key_missing', field: 'privateKey' });
  });
  it('refuses two keys', () => {
    refused(
      { ...input, privateKey: bundle.leaf.keyPem + bundle.leaf.keyPem },
      { code: 'key_multiple', field: 'privateKey' },
    );
  });
  it('refuses armour around bytes that are not a key', () => {
    refused(
      { ...input, privateKey: armour('PRIVATE KEY', Buffer.from('3003020100', 'hex')) },
      { code: 'key_invalid', field: 'privateKey' },
    );
  });
  it('refuses an encrypted PKCS#8 key and says to decrypt it', () => {
    const encrypted = bundle.leaf.key.keyObject
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
      .toString();
    refused({ ...input, privateKey: encrypted }, { code: 'key_encrypted', field: 'privateKey', message: /decrypt/i });
  });
  it('refuses a legacy Proc-Type encrypted key', () => {
    const encrypted = bundle.leaf.key.keyObject
      .export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
      .toString();
    assert.match(encrypted, /Proc-Type: 4,ENCRYPTED/);
    refused({ ...input, privateKey: encrypted }, { code: 'key_encrypted', field: 'privateKey' });
  });
});

describe('import ladder, step 4: a key the caller parsed already', () => {
  it("takes it only when its PEM is the field's block, and parses the field otherwise", async () => {
    const parse = (pem: string) => runImportLadder({ ...input, privateKey: pem }, policy()).privateKey!;
    const own = { pem: bundle.leaf.keyPem, key: parse(bundle.leaf.keyPem) };
    assert.equal(runImportLadder({ ...input, parsedKey: own }, policy()).privateKey, own.key);
    // Another key handed over with the right one in the field: the field's key is parsed and used.
    const other = await mintLeaf(bundle.intermediate, { key: RSA2048, freshKey: true });
    const stranger = { pem: other.keyPem, key: own.key };
    const candidate = runImportLadder({ ...input, parsedKey: stranger }, policy());
    assert.notEqual(candidate.privateKey, own.key);
    assert.equal(candidate.privateKey!.pkcs8Pem, own.key.pkcs8Pem);
    // The other key in the field, this certificate's key handed over under that key's PEM: the
    // field's key is parsed, and it does not match.
    refused(
      { ...input, privateKey: other.keyPem, parsedKey: { pem: bundle.leaf.keyPem, key: own.key } },
      { code: 'key_mismatch', field: 'privateKey' },
    );
  });
});

describe('import ladder, step 3: a certificate the caller parsed already', () => {
  it('takes it only when its DER is the block, and parses the field otherwise', async () => {
    const own = new X509Certificate(bundle.leaf.pem);
    assert.equal(runImportLadder({ ...input, parsedCertificate: own }, policy()).leaf.x509, own);
    const other = await mintLeaf(bundle.intermediate, { key: RSA2048, freshKey: true, cn: 'other.example.com' });
    const stranger = new X509Certificate(other.pem);
    const candidate = runImportLadder({ ...input, parsedCertificate: stranger }, policy());
    assert.notEqual(candidate.leaf.x509, stranger);
    assert.equal(candidate.facts.commonName, 'shop.example.com');
  });
});

describe('import ladder, step 5: key matches certificate', () => {
  it('refuses the key of another certificate', async () => {
    const other = await mintLeaf(bundle.intermediate, { key: RSA2048, freshKey: true });
    refused(
      { ...input, privateKey: other.keyPem },
      { code: 'key_mismatch', field: 'privateKey', message: /does not belong/ },
    );
  });
  it('refuses a key of another algorithm', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    refused(
      { ...input, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
      { code: 'key_mismatch', field: 'privateKey' },
    );
  });
});

describe('import ladder, step 6: validity window', () => {
  it('refuses an expired certificate', async () => {
    const leaf = await mintLeaf(bundle.intermediate, {
      notBefore: new Date(Date.now() - days(100)),
      notAfter: new Date(Date.now() - days(1)),
    });
    refused(
      { ...input, certificate: leaf.pem, privateKey: leaf.keyPem },
      { code: 'certificate_expired', field: 'certificate', message: /expired on/ },
    );
  });
  it('refuses a certificate that is not valid yet', async () => {
    const leaf = await mintLeaf(bundle.intermediate, {
      notBefore: new Date(Date.now() + days(2)),
      notAfter: new Date(Date.now() + days(90)),
    });
    refused(
      { ...input, certificate: leaf.pem, privateKey: leaf.keyPem },
      { code: 'certificate_not_yet_valid', field: 'certificate' },
    );
  });
  it('follows the injected clock, not the wall clock', () => {
    refused(
      input,
      { code: 'certificate_expired', field: 'certificate' },
      policy({ now: new Date(Date.now() + days(400)) }),
    );
  });
});

describe('import ladder, step 7: chain', () => {
  it('refuses an empty chain for a certificate that is not self-signed', () => {
    refused(
      { ...input, chain: undefined },
      { code: 'chain_issuer_missing', field: 'chain', message: /missing the certificate of the issuer/ },
    );
  });
  it('refuses a chain without the intermediate', () => {
    refused({ ...input, chain: bundle.root.pem }, { code: 'chain_issuer_missing', field: 'chain' });
  });
  it('refuses a block that is not a certificate', () => {
    refused(
      { ...input, chain: bundle.chainPem + armour('CERTIFICATE', Buffer.from('300100', 'hex')) },
      { code: 'chain_invalid', field: 'chain', message: /Block 3/ },
    );
  });
  it('refuses an intermediate of the same name with another key', async () => {
    const impostor = await mintIntermediate(bundle.root, { key: P256, freshKey: true });
    refused({ ...input, chain: impostor.pem + bundle.root.pem }, { code: 'chain_signature_invalid', field: 'chain' });
  });
  it('refuses a chain of another issuer', async () => {
    const otherRoot = await mintRoot({ cn: 'Other Root', key: P256, freshKey: true });
    const otherIntermediate = await mintIntermediate(otherRoot, { cn: 'Other Intermediate' });
    refused(
      { ...input, chain: otherIntermediate.pem + otherRoot.pem },
      { code: 'chain_issuer_missing', field: 'chain' },
    );
  });
  it('refuses an unrelated certificate in the chain', async () => {
    const stranger = await mintRoot({ cn: 'Stranger Root', freshKey: true });
    refused(
      { ...input, chain: bundle.chainPem + stranger.pem },
      { code: 'chain_unrelated', field: 'chain', message: /Stranger Root/ },
    );
  });
  it('refuses an expired intermediate', async () => {
    const root = await mintRoot({ cn: 'Root E' });
    const old = await mintIntermediate(root, {
      cn: 'Old Intermediate',
      notBefore: new Date(Date.now() - days(400)),
      notAfter: new Date(Date.now() - days(1)),
    });
    const leaf = await mintLeaf(old, {
      notBefore: new Date(Date.now() - days(10)),
      notAfter: new Date(Date.now() + days(10)),
    });
    refused(
      { ...input, certificate: leaf.pem, privateKey: leaf.keyPem, chain: old.pem + root.pem },
      { code: 'chain_expired', field: 'chain' },
    );
  });
  it('refuses an issuer that is not a CA', async () => {
    const root = await mintRoot({ cn: 'Root N' });
    const notCa = await mintIntermediate(root, { cn: 'Not A CA', isCa: false, keyUsages: 0x80 | 0x04 });
    const leaf = await mintLeaf(notCa);
    const error = refused(
      { ...input, certificate: leaf.pem, privateKey: leaf.keyPem, chain: notCa.pem + root.pem },
      { code: 'chain_not_ca', field: 'chain' },
    );
    assert.match(error.message, /Not A CA/);
  });
});

describe('import ladder, step 7: a chain text seen before', () => {
  it('answers every later import with that chain as it answered the first: each leaf checked, each time', async () => {
    const root = await mintRoot({ cn: 'Root R', freshKey: true });
    const intermediate = await mintIntermediate(root, {
      cn: 'Remembered Intermediate',
      freshKey: true,
      notAfter: new Date(Date.now() + days(10)),
    });
    const chain = intermediate.pem + root.pem;
    const issued = await mintLeaf(intermediate, { notAfter: new Date(Date.now() + days(20)) });
    const first = runImportLadder({ ...input, certificate: issued.pem, privateKey: issued.keyPem, chain }, policy());
    const again = runImportLadder({ ...input, certificate: issued.pem, privateKey: issued.keyPem, chain }, policy());
    assert.deepEqual(again.chainPems, first.chainPems);
    assert.equal(again.chainRepaired, first.chainRepaired);
    // The same text for a leaf it did not issue: refused as with a text never seen.
    refused({ ...input, chain }, { code: 'chain_issuer_missing', field: 'chain' });
    // Later, with the intermediate expired: its validity is checked at each import's `now`.
    refused(
      { ...input, certificate: issued.pem, privateKey: issued.keyPem, chain },
      { code: 'chain_expired', field: 'chain' },
      policy({ now: new Date(Date.now() + days(15)) }),
    );
  });
  it('never remembers a chain text that holds a key or a block that is not a certificate', () => {
    const withKey = bundle.chainPem + bundle.leaf.keyPem;
    for (let i = 0; i < 2; i++) refused({ ...input, chain: withKey }, { code: 'pem_malformed', field: 'chain' });
    const broken = bundle.chainPem + armour('CERTIFICATE', Buffer.from('300100', 'hex'));
    for (let i = 0; i < 2; i++) refused({ ...input, chain: broken }, { code: 'chain_invalid', field: 'chain' });
  });
});

describe('import ladder, step 8: key type allowed', () => {
  it('refuses RSA-1024', async () => {
    const weak = await mintLeaf(bundle.intermediate, { key: { kind: 'rsa', bits: 1024 } });
    refused(
      { ...input, certificate: weak.pem, privateKey: weak.keyPem },
      { code: 'key_type_unsupported', field: 'certificate', message: /1024/ },
    );
  });
  it('refuses Ed25519 where the face does not allow it, accepts it where it does', async () => {
    const ed = await mintLeaf(bundle.intermediate, { key: ED25519 });
    const edInput = { ...input, certificate: ed.pem, privateKey: ed.keyPem };
    refused(edInput, { code: 'key_type_unsupported', field: 'certificate' }, policy({ allowEd25519: false }));
    assert.equal(runImportLadder(edInput, policy()).facts.key.algorithm, 'Ed25519');
  });
});

describe('import ladder, step 10: the name rule', () => {
  for (const name of [
    'ab',
    'a'.repeat(21),
    '1abc',
    'has space',
    'dots.not.ok',
    '한글이름',
    "x'; DROP TABLE certificates;--",
    '../../etc/passwd',
  ]) {
    it(`refuses ${JSON.stringify(name)}`, () => {
      refused({ ...input, name }, { code: 'name_invalid', field: 'name', message: /letters, digits/ });
    });
  }
  it('accepts any name when the face has no rule', () => {
    assert.equal(
      runImportLadder({ ...input, name: 'shop.example.com' }, policy({ nameRule: null })).name,
      'shop.example.com',
    );
  });
});

describe("import ladder, step 11: the face's own checks", () => {
  it('sees the name and the facts, and runs after every other step', () => {
    const seen: Array<{ name: string; commonName: string | null }> = [];
    const check = (candidate: { name: string; facts: { commonName: string | null } }) => {
      seen.push({ name: candidate.name, commonName: candidate.facts.commonName });
      if (candidate.name !== 'shop-cert') throw new AppError('certificate_invalid', 'face says no', { field: 'file' });
    };
    assert.equal(runImportLadder(input, policy({ check })).name, 'shop-cert');
    assert.deepEqual(seen, [{ name: 'shop-cert', commonName: 'shop.example.com' }]);
    refused({ ...input, name: 'other-cert' }, { code: 'certificate_invalid', field: 'file' }, policy({ check }));
    // A step before it refuses first: the check is not reached.
    refused({ ...input, name: 'x' }, { code: 'name_invalid', field: 'name' }, policy({ check }));
    refused({ ...input, privateKey: '' }, { code: 'key_missing', field: 'privateKey' }, policy({ check }));
    assert.equal(seen.length, 2);
  });
});

describe('import ladder: hostile and random input never escapes as anything but AppError', () => {
  it('10,000 random and mutated inputs', () => {
    const der = derOf(bundle.leaf);
    const keyDer = bundle.leaf.key.keyObject.export({ type: 'pkcs8', format: 'der' });
    const p = policy({ requireKey: false });
    const mutate = (bytes: Buffer, flips: Array<[number, number]>, cut: number): Buffer => {
      const out = Buffer.from(bytes.subarray(0, Math.max(1, bytes.length - cut)));
      for (const [pos, bit] of flips) out[pos % out.length] = (out[pos % out.length] as number) ^ (1 << bit);
      return out;
    };
    const hugeInputs: ImportInput[] = [
      { ...input, chain: '-'.repeat(IMPORT_LIMITS.chainBytes + 1) },
      { ...input, certificate: `${bundle.leaf.pem}\n`.repeat(1000) },
      { ...input, privateKey: 'A'.repeat(IMPORT_LIMITS.privateKeyBytes * 4) },
      { name: 'huge-file', file: { name: 'h.pem', bytes: Buffer.alloc(IMPORT_LIMITS.fileBytes * 3, 0x2d) } },
    ];
    const flipsArb = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 0, maxLength: 4 });
    const inputArb = fc.oneof(
      // Bit flips and truncations of a real certificate, inside valid armour.
      fc.record({ flips: flipsArb, cut: fc.nat({ max: 40 }) }).map(({ flips, cut }) => ({
        ...input,
        privateKey: undefined,
        certificate: armour('CERTIFICATE', mutate(der, flips, cut)),
      })),
      // The same for the key.
      fc
        .record({ flips: flipsArb, cut: fc.nat({ max: 40 }) })
        .map(({ flips, cut }) => ({ ...input, privateKey: armour('PRIVATE KEY', mutate(keyDer, flips, cut)) })),
      // Random text and random bytes in any field.
      fc
        .record({
          text: fc.string({ maxLength: 300 }),
          field: fc.constantFrom('certificate', 'privateKey', 'chain', 'name'),
        })
        .map(({ text, field }) => ({ ...input, [field]: text })),
      fc
        .uint8Array({ maxLength: 600 })
        .map((bytes) => ({ name: 'rand-file', file: { name: 'r.pem', bytes: Buffer.from(bytes) } })),
      // Armour with random base64 inside.
      fc
        .uint8Array({ minLength: 1, maxLength: 400 })
        .map((bytes) => ({ ...input, chain: armour('CERTIFICATE', Buffer.from(bytes)) })),
      // Huge inputs, just over and far over the caps (built once: building them is the slow part).
      fc.constantFrom(...hugeInputs),
    );
    let accepted = 0;
    fc.assert(
      fc.property(inputArb, (candidateInput) => {
        try {
          runImportLadder(candidateInput as ImportInput, p);
          accepted += 1;
        } catch (error) {
          if (!(error instanceof AppError)) throw new Error(`escaped: ${String(error)}`, { cause: error });
          // Messages describe; they never echo encoded material back.
          assert.doesNotMatch(error.message, /[A-Za-z0-9+/]{40,}/);
        }
      }),
      { numRuns: 10_000, seed: 20261122 },
    );
    // Some mutations land in fields that do not matter (e.g. a flipped bit in a SAN). The run must
    // have exercised both outcomes, or it tested nothing.
    assert.ok(accepted > 0, 'no mutated input was accepted: the generator is broken');
  });

  it('an X509Certificate parse of the fixtures still works after the run (no global state)', () => {
    assert.ok(new X509Certificate(bundle.leaf.pem).verify(new X509Certificate(bundle.intermediate.pem).publicKey));
  });
});

describe('import ladder: SAN-only certificates (empty subject)', () => {
  it('accepts a SAN-only leaf with its chain, and names it in chain errors without crashing', async () => {
    const sanOnly = await mintLeaf(bundle.intermediate, { cn: null, sans: { dns: ['san-only.example.com'] } });
    const candidate = runImportLadder({ ...input, certificate: sanOnly.pem, privateKey: sanOnly.keyPem }, policy());
    assert.equal(candidate.facts.commonName, null);
    assert.deepEqual(candidate.facts.domains, ['san-only.example.com']);
    const stranger = await mintRoot({ cn: 'Stranger Root 2', freshKey: true });
    refused(
      { ...input, certificate: sanOnly.pem, privateKey: sanOnly.keyPem, chain: bundle.chainPem + stranger.pem },
      { code: 'chain_unrelated', field: 'chain' },
    );
    refused(
      { ...input, certificate: sanOnly.pem, privateKey: sanOnly.keyPem, chain: stranger.pem },
      { code: 'chain_issuer_missing', field: 'chain' },
    );
  });
});
