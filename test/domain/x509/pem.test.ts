import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { AppError } from '../../../src/domain/errors.ts';
import { type ErrorCode, type InputField } from '../../../src/domain/errors.ts';
import { armour, splitPem } from '../../../src/domain/x509/pem.ts';
import {
  derOf,
  keyPemAs,
  mintBundle,
  mintLeaf,
  mintSelfSignedLeaf,
  P256,
  RSA2048,
  type Bundle,
  type Issued,
} from '../../helpers/pki.ts';
import { expectError } from '../../helpers/errors.ts';

const OPTS = { field: 'certificate' as InputField, maxBytes: 2 * 1024 * 1024, maxBlocks: 64 };

/** Base64 lines of a PEM (no armour), for building broken blocks. */
function bodyOf(pem: string): string[] {
  return pem.split('\n').filter((l) => l !== '' && !l.startsWith('-----'));
}

let bundle: Bundle;
let rsaLeaf: Issued;

before(async () => {
  bundle = await mintBundle();
  rsaLeaf = await mintLeaf(bundle.intermediate, { key: RSA2048, cn: 'rsa.example.com' });
});

describe('splitPem: well-formed input', () => {
  it('finds one certificate and re-armours it canonically', () => {
    const { certificates, privateKeys } = splitPem(bundle.leaf.pem, OPTS);
    assert.equal(privateKeys.length, 0);
    assert.equal(certificates.length, 1);
    const [cert] = certificates;
    assert.ok(cert);
    assert.equal(cert.label, 'CERTIFICATE');
    assert.equal(cert.index, 1);
    assert.deepEqual(cert.headers, {});
    assert.ok(cert.der.equals(derOf(bundle.leaf)));
    assert.equal(cert.pem, bundle.leaf.pem);
    const lines = cert.pem.split('\n');
    assert.equal(lines.at(-1), '', 'trailing newline');
    assert.ok(
      lines.every((l) => l.length <= 64),
      'at most 64 columns',
    );
    assert.ok(!cert.pem.includes('\r'));
  });

  it('armour() wraps at 64 columns with LF and a trailing newline', () => {
    const pem = armour('CERTIFICATE', Buffer.alloc(100, 7));
    const lines = pem.split('\n');
    // 100 bytes are 136 base64 characters: 64 + 64 + 8.
    assert.deepEqual(
      lines.map((l) => l.length),
      [27, 64, 64, 8, 25, 0],
    );
    assert.ok(pem.startsWith('-----BEGIN CERTIFICATE-----\n'));
    assert.ok(pem.endsWith('-----END CERTIFICATE-----\n'));
  });

  it('tolerates CRLF, CR, blank lines, indentation, trailing spaces and a BOM', () => {
    const lines = bundle.leaf.pem.trimEnd().split('\n');
    const variants = [
      lines.join('\r\n'),
      lines.join('\r'),
      lines.join('\n\n'),
      lines.map((l) => `   ${l}\t `).join('\n'),
      `\uFEFF${bundle.leaf.pem}`,
      `\n\n  \n${bundle.leaf.pem}\n\n`,
    ];
    for (const text of variants) {
      const { certificates } = splitPem(text, OPTS);
      assert.equal(certificates.length, 1, JSON.stringify(text.slice(0, 40)));
      assert.ok(certificates[0]?.der.equals(derOf(bundle.leaf)));
      assert.equal(certificates[0]?.pem, bundle.leaf.pem);
    }
  });

  it('re-wraps base64 that was not in 64 columns (one long line, 76 columns, spaces inside)', () => {
    const b64 = bodyOf(bundle.leaf.pem).join('');
    const oneLine = `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----`;
    const wrapped76 = `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,76}/g)?.join('\n')}\n-----END CERTIFICATE-----\n`;
    const spaced = `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,16}/g)?.join(' ')}\n-----END CERTIFICATE-----\n`;
    for (const text of [oneLine, wrapped76, spaced]) {
      const [cert] = splitPem(text, OPTS).certificates;
      assert.equal(cert?.pem, bundle.leaf.pem);
    }
  });

  it('ignores text around blocks: openssl Bag Attributes, subject/issuer lines, comments, non-ASCII', () => {
    const keyPem = bundle.leaf.keyPem;
    const text = [
      'Bag Attributes',
      '    localKeyID: 01 00 00 00',
      '    friendlyName: 서버 인증서',
      'subject=CN = www.example.com',
      'issuer=CN = certkeeper Test Intermediate',
      bundle.leaf.pem,
      '# the intermediate:',
      bundle.intermediate.pem,
      'Key Attributes: <No Attributes>',
      keyPem,
      'trailing words',
    ].join('\n');
    const { certificates, privateKeys } = splitPem(text, { ...OPTS, field: 'file' });
    assert.deepEqual(
      certificates.map((c) => c.index),
      [1, 2],
    );
    assert.ok(certificates[0]?.der.equals(derOf(bundle.leaf)));
    assert.ok(certificates[1]?.der.equals(derOf(bundle.intermediate)));
    assert.equal(privateKeys.length, 1);
    assert.equal(privateKeys[0]?.label, 'PRIVATE KEY');
    assert.equal(privateKeys[0]?.index, 3);
    assert.equal(privateKeys[0]?.pem, keyPem);
  });

  it('accepts "X509 CERTIFICATE" and "X.509 CERTIFICATE" (RFC 7468 §5.1), keeping the label and re-armouring as CERTIFICATE', () => {
    for (const label of ['X509 CERTIFICATE', 'X.509 CERTIFICATE']) {
      const text = bundle.leaf.pem.replaceAll('CERTIFICATE', label);
      const [cert] = splitPem(text, OPTS).certificates;
      assert.equal(cert?.label, label);
      assert.equal(cert?.pem, bundle.leaf.pem);
    }
  });

  it('sorts PKCS#1, PKCS#8 and SEC1 keys into privateKeys with their labels', () => {
    const text = keyPemAs(rsaLeaf, 'pkcs1') + keyPemAs(bundle.leaf, 'sec1') + keyPemAs(bundle.leaf, 'pkcs8');
    const { certificates, privateKeys } = splitPem(text, { ...OPTS, field: 'privateKey' });
    assert.equal(certificates.length, 0);
    assert.deepEqual(
      privateKeys.map((k) => [k.label, k.index]),
      [
        ['RSA PRIVATE KEY', 1],
        ['EC PRIVATE KEY', 2],
        ['PRIVATE KEY', 3],
      ],
    );
    assert.equal(privateKeys[0]?.pem, keyPemAs(rsaLeaf, 'pkcs1'));
  });

  it('skips EC PARAMETERS blocks (openssl ecparam -genkey output) but counts them in block numbers', () => {
    const params = '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n';
    const { certificates, privateKeys } = splitPem(params + keyPemAs(bundle.leaf, 'sec1'), {
      ...OPTS,
      field: 'privateKey',
    });
    assert.equal(certificates.length, 0);
    assert.equal(privateKeys.length, 1);
    assert.equal(privateKeys[0]?.index, 2);
  });

  it('keeps RFC 1421 headers of a block, with continuation lines', () => {
    const body = bodyOf(bundle.leaf.pem).join('\n');
    const text = `-----BEGIN CERTIFICATE-----\nComment: first part\n  second part\nX-Origin: test\n\n${body}\n-----END CERTIFICATE-----\n`;
    const [cert] = splitPem(text, OPTS).certificates;
    assert.deepEqual(cert?.headers, { Comment: 'first part second part', 'X-Origin': 'test' });
    assert.equal(cert?.pem, bundle.leaf.pem, 'headers are not part of the canonical PEM');
  });

  it('returns nothing for empty or whitespace-only input (emptiness is the ladder’s decision)', () => {
    for (const text of ['', '   ', '\r\n\r\n', '\t\n']) {
      assert.deepEqual(splitPem(text, { ...OPTS, field: 'chain' }), { certificates: [], privateKeys: [] });
    }
  });
});

describe('splitPem: caps come first', () => {
  it('refuses input over maxBytes with input_too_large and {limit, actual} in bytes', () => {
    const error = expectError(
      () => splitPem(bundle.leaf.pem, { ...OPTS, maxBytes: 100 }),
      'input_too_large',
      'certificate',
      'limit is 100 bytes',
    );
    assert.deepEqual(error.details, { limit: 100, actual: Buffer.byteLength(bundle.leaf.pem) });
  });

  it('counts UTF-8 bytes, not characters', () => {
    const text = 'é'.repeat(60); // 120 bytes
    const error = expectError(() => splitPem(text, { ...OPTS, maxBytes: 100 }), 'input_too_large', 'certificate');
    assert.deepEqual(error.details, { limit: 100, actual: 120 });
  });

  it('checks size before anything else (binary over the cap is input_too_large, not pem_malformed)', () => {
    const der = derOf(bundle.leaf).toString('latin1');
    expectError(() => splitPem(der, { ...OPTS, field: 'chain', maxBytes: 10 }), 'input_too_large', 'chain');
  });

  it('refuses more than maxBlocks blocks with pem_too_many_blocks before looking inside any block', () => {
    // The blocks are all empty (each would be pem_malformed): the count must win.
    const text = '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n'.repeat(65);
    const error = expectError(
      () => splitPem(text, { ...OPTS, field: 'chain' }),
      'pem_too_many_blocks',
      'chain',
      '65 PEM blocks',
      'at most 64',
    );
    assert.deepEqual(error.details, { limit: 64, actual: 65 });
  });

  it('accepts exactly maxBlocks blocks', () => {
    const text = bundle.leaf.pem.repeat(3);
    assert.equal(splitPem(text, { ...OPTS, maxBlocks: 3 }).certificates.length, 3);
    expectError(() => splitPem(text, { ...OPTS, maxBlocks: 2 }), 'pem_too_many_blocks', 'certificate');
  });
});

describe('splitPem: encrypted keys', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

  it('refuses ENCRYPTED PRIVATE KEY (PKCS#8) with key_encrypted and the openssl command', () => {
    const pem = rsa.privateKey
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' })
      .toString();
    assert.ok(pem.startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----'));
    const error = expectError(
      () => splitPem(pem, { ...OPTS, field: 'privateKey' }),
      'key_encrypted',
      'privateKey',
      'encrypted',
      'openssl pkey -in key.pem -out key-decrypted.pem',
      'Block 1 of the private key',
    );
    assert.equal(error.details?.block, 1);
  });

  it('refuses a legacy Proc-Type: 4,ENCRYPTED key (PKCS#1 and SEC1)', () => {
    const pkcs1 = rsa.privateKey
      .export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' })
      .toString();
    assert.ok(pkcs1.includes('Proc-Type: 4,ENCRYPTED'));
    expectError(
      () => splitPem(pkcs1, { ...OPTS, field: 'privateKey' }),
      'key_encrypted',
      'privateKey',
      'Proc-Type',
      'decrypt it first',
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const sec1 = ec.privateKey
      .export({ type: 'sec1', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'x' })
      .toString();
    assert.ok(sec1.startsWith('-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED'));
    expectError(
      () => splitPem(`${bundle.leaf.pem}${sec1}`, { ...OPTS, field: 'file' }),
      'key_encrypted',
      'file',
      'Block 2 of the file',
    );
  });

  it('refuses an encrypted key even with CRLF line endings', () => {
    const pkcs1 = rsa.privateKey
      .export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' })
      .toString();
    expectError(
      () => splitPem(pkcs1.replaceAll('\n', '\r\n'), { ...OPTS, field: 'privateKey' }),
      'key_encrypted',
      'privateKey',
    );
  });
});

describe('splitPem: other labels are refused with pem_malformed', () => {
  const cases: Array<[label: string, fragment: string]> = [
    ['CERTIFICATE REQUEST', 'certificate signing request (CSR)'],
    ['NEW CERTIFICATE REQUEST', 'CSR'],
    ['PUBLIC KEY', 'public key'],
    ['PKCS7', 'openssl pkcs7 -print_certs'],
    ['X509 CRL', 'revocation list'],
    ['TRUSTED CERTIFICATE', 'openssl x509 -in cert.pem'],
    ['DSA PRIVATE KEY', 'DSA keys are not supported'],
    ['SOMETHING ELSE', 'does not accept'],
  ];
  for (const [label, fragment] of cases) {
    it(`refuses "${label}"`, () => {
      const text = `-----BEGIN ${label}-----\nMIIBAAAA\n-----END ${label}-----\n`;
      const error = expectError(
        () => splitPem(text, OPTS),
        'pem_malformed',
        'certificate',
        `"${label}" block`,
        fragment,
        'Expected -----BEGIN CERTIFICATE----- blocks',
      );
      assert.equal(error.details?.label, label);
    });
  }

  it('says what a private key field expects', () => {
    const text = '-----BEGIN PUBLIC KEY-----\nMIIBAAAA\n-----END PUBLIC KEY-----\n';
    expectError(
      () => splitPem(text, { ...OPTS, field: 'privateKey' }),
      'pem_malformed',
      'privateKey',
      'Expected a -----BEGIN PRIVATE KEY-----',
    );
  });

  it('names the block of the refused label after valid ones', () => {
    const csr = '-----BEGIN CERTIFICATE REQUEST-----\nMIIBAAAA\n-----END CERTIFICATE REQUEST-----\n';
    const error = expectError(
      () => splitPem(bundle.leaf.pem + csr, OPTS),
      'pem_malformed',
      'certificate',
      'Block 2 of the certificate',
    );
    assert.equal(error.details?.block, 2);
  });
});

describe('splitPem: not PEM at all', () => {
  it('refuses DER decoded as latin1 (leading 0x30 then a length byte)', () => {
    const text = derOf(bundle.leaf).toString('latin1');
    expectError(() => splitPem(text, OPTS), 'pem_malformed', 'certificate', 'binary DER', 'openssl x509 -inform DER');
  });

  it('refuses DER decoded as UTF-8 (U+FFFD replacement characters)', () => {
    const text = derOf(bundle.leaf).toString('utf8');
    expectError(
      () => splitPem(text, { ...OPTS, field: 'privateKey' }),
      'pem_malformed',
      'privateKey',
      'binary DER',
      'openssl pkey -inform DER',
    );
  });

  it('refuses a small DER key (Ed25519 PKCS#8) as DER', () => {
    const ed = generateKeyPairSync('ed25519');
    const text = ed.privateKey.export({ type: 'pkcs8', format: 'der' }).toString('latin1');
    expectError(() => splitPem(text, { ...OPTS, field: 'privateKey' }), 'pem_malformed', 'privateKey', 'binary DER');
  });

  it('refuses binary bytes anywhere, naming the position', () => {
    const text = `${bundle.leaf.pem}\u0000\u0001junk`;
    const error = expectError(
      () => splitPem(text, OPTS),
      'pem_malformed',
      'certificate',
      'binary data',
      `character ${bundle.leaf.pem.length + 1} is 0x00`,
    );
    assert.equal(error.details?.offset, bundle.leaf.pem.length);
  });

  it('refuses bare base64 without armour', () => {
    const text = bodyOf(bundle.leaf.pem).join('\n');
    expectError(
      () => splitPem(text, OPTS),
      'pem_malformed',
      'certificate',
      'bare base64',
      'looks like DER',
      '-----BEGIN',
    );
  });

  it('refuses junk with no block', () => {
    expectError(
      () => splitPem('hello world, this is my certificate', OPTS),
      'pem_malformed',
      'certificate',
      'contains no PEM block',
      'Expected -----BEGIN CERTIFICATE-----',
    );
  });

  it('explains literal "\\n" sequences', () => {
    const text = bundle.leaf.pem.replaceAll('\n', '\\n');
    expectError(() => splitPem(text, OPTS), 'pem_malformed', 'certificate', 'instead of line breaks');
  });

  it('explains a PEM whose line breaks were turned into spaces', () => {
    const text = bundle.leaf.pem.replaceAll('\n', ' ');
    expectError(() => splitPem(text, OPTS), 'pem_malformed', 'certificate', 'not on a line of its own');
  });
});

describe('splitPem: broken armour and base64', () => {
  const lines = (): string[] => bundle.leaf.pem.trimEnd().split('\n');

  it('refuses BEGIN without END at the end of the text', () => {
    const text = lines().slice(0, -1).join('\n');
    const error = expectError(
      () => splitPem(text, OPTS),
      'pem_malformed',
      'certificate',
      'Block 1 of the certificate',
      'no -----END CERTIFICATE----- line',
      'cut off',
    );
    assert.equal(error.details?.block, 1);
  });

  it('refuses BEGIN without END before the next BEGIN, naming both lines', () => {
    const first = lines().slice(0, -1);
    const text = [...first, ...lines(), bundle.intermediate.pem].join('\n');
    const error = expectError(
      () => splitPem(text, { ...OPTS, field: 'chain' }),
      'pem_malformed',
      'chain',
      'Block 1 of the chain',
      'has no END line',
      `line ${first.length + 1} begins another block`,
    );
    assert.equal(error.details?.line, first.length + 1);
  });

  it('refuses a mismatched END label', () => {
    const text = bundle.leaf.pem.replace('-----END CERTIFICATE-----', '-----END PRIVATE KEY-----');
    expectError(
      () => splitPem(text, OPTS),
      'pem_malformed',
      'certificate',
      'begins with "-----BEGIN CERTIFICATE-----" but ends with "-----END PRIVATE KEY-----"',
    );
  });

  it('refuses an END without BEGIN (the start of a block was lost)', () => {
    const text = bundle.leaf.pem + lines().slice(1).join('\n');
    const error = expectError(
      () => splitPem(text, OPTS),
      'pem_malformed',
      'certificate',
      'never begun',
      'start of the block is missing',
    );
    assert.equal(error.details?.line, lines().length * 2 - 1);
  });

  it('refuses malformed armour lines', () => {
    const badBegin = bundle.leaf.pem.replace('-----BEGIN CERTIFICATE-----', '-----BEGIN CERTIFICATE----');
    expectError(
      () => splitPem(badBegin, OPTS),
      'pem_malformed',
      'certificate',
      'Line 1 of the certificate is not a valid BEGIN line',
    );
    const badEnd = bundle.leaf.pem.replace('-----END CERTIFICATE-----', '-----END CERTIFICATE');
    expectError(() => splitPem(badEnd, OPTS), 'pem_malformed', 'certificate', 'not a valid END line');
  });

  it('refuses an invalid base64 character, naming the block, line and character', () => {
    const l = lines();
    l[3] = `${l[3]?.slice(0, 10)}*${l[3]?.slice(11)}`;
    const error = expectError(
      () => splitPem(l.join('\n'), OPTS),
      'pem_malformed',
      'certificate',
      'not base64 on line 4',
      '"*" (U+002A)',
      'Block 1',
    );
    assert.deepEqual(error.details, { line: 4, block: 1 });
  });

  it('refuses base64url characters inside a block', () => {
    const l = lines();
    l[2] = `_${l[2]?.slice(1)}`;
    expectError(() => splitPem(l.join('\n'), OPTS), 'pem_malformed', 'certificate', '"_"');
  });

  it('refuses "=" padding in the middle', () => {
    const l = lines();
    l[2] = `${l[2]?.slice(0, 62)}==`;
    expectError(() => splitPem(l.join('\n'), OPTS), 'pem_malformed', 'certificate', 'padding in the middle');
  });

  it('refuses base64 whose length is not a multiple of 4 (truncated)', () => {
    const l = lines();
    l[2] = l[2]?.slice(0, 63) ?? '';
    expectError(() => splitPem(l.join('\n'), OPTS), 'pem_malformed', 'certificate', 'not a multiple of 4');
  });

  it('refuses an empty block', () => {
    const text = `${bundle.leaf.pem}-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n`;
    const error = expectError(
      () => splitPem(text, { ...OPTS, field: 'chain' }),
      'pem_malformed',
      'chain',
      'Block 2 of the chain',
      'is empty',
    );
    assert.equal(error.details?.block, 2);
  });

  it('refuses a block of only padding', () => {
    expectError(
      () => splitPem('-----BEGIN CERTIFICATE-----\n====\n-----END CERTIFICATE-----\n', OPTS),
      'pem_malformed',
      'certificate',
    );
  });
});

describe('splitPem: hostile input is handled in linear time', () => {
  // Linear, not fast: each input is split at 2 MB and at a quarter of that, and the larger may
  // cost at most 3x its share (a quadratic scan costs 16x), unless it took under 250 ms anyway
  // (cache effects make small inputs cheaper per byte). A ratio of this thread's CPU time, best
  // of three runs each: on a loaded machine wall-clock time also counts the waits for a CPU,
  // which fell on one side more than the other (2 MB of CR "took" 2.08 s at load 15, against
  // about 45 ms of CPU), while the CPU a split spends is the same however busy the machine.
  const big = { ...OPTS, maxBytes: 3 * 1024 * 1024 };
  const MB2 = 2 * 1024 * 1024;
  const SMALLER = 4;
  const hostile: Array<[string, (bytes: number) => string, ErrorCode | null]> = [
    ['2 MB of "-"', (n) => '-'.repeat(n), 'pem_malformed'],
    ['2 MB of "-----" lines', (n) => '-----\n'.repeat(n / 6), 'pem_malformed'],
    ['2 MB of "-----BEGIN " on one line', (n) => '-----BEGIN '.repeat(n / 11), 'pem_malformed'],
    ['2 MB of "-----BEGIN X" lines', (n) => '-----BEGIN X\n'.repeat(n / 13), 'pem_too_many_blocks'],
    [
      'one block of 2 MB of "A"',
      (n) => `-----BEGIN CERTIFICATE-----\n${'A'.repeat(n)}\n-----END CERTIFICATE-----\n`,
      null,
    ],
    [
      'one block of 2 MB of "="',
      (n) => `-----BEGIN CERTIFICATE-----\n${'='.repeat(n)}\n-----END CERTIFICATE-----\n`,
      'pem_malformed',
    ],
    [
      '2 MB of header-like text in a block',
      (n) => `-----BEGIN CERTIFICATE-----\n${'a'.repeat(n)}:\n-----END CERTIFICATE-----\n`,
      'pem_malformed',
    ],
    ['2 MB of CR', (n) => '\r'.repeat(n), null],
    ['2 MB of base64 without armour', (n) => 'QUFB'.repeat(n / 4), 'pem_malformed'],
  ];
  const split = (text: string): unknown => {
    try {
      splitPem(text, big);
      return null;
    } catch (error) {
      return error;
    }
  };
  const bestOfThree = (text: string): number => {
    let best = Infinity;
    for (let run = 0; run < 3; run++) {
      const start = process.threadCpuUsage();
      split(text);
      const spent = process.threadCpuUsage(start);
      best = Math.min(best, (spent.user + spent.system) / 1000);
    }
    return best;
  };
  for (const [name, make, code] of hostile) {
    it(`${name} (${code ?? 'accepted'}) in time linear in its size`, () => {
      const full = make(MB2);
      const caught = split(full);
      if (code === null) assert.equal(caught, null);
      else assert.equal((caught as AppError).code, code);
      // The floor keeps a sub-millisecond small run from turning timer noise into a ratio.
      const small = Math.max(bestOfThree(make(MB2 / SMALLER)), 1);
      const large = bestOfThree(full);
      assert.ok(
        large < 250 || large / small < SMALLER * 3,
        `2 MB took ${large.toFixed(1)} ms, ${(large / small).toFixed(1)}x the quarter (${small.toFixed(1)} ms)`,
      );
    });
  }
});

describe('splitPem: round trip on real material', () => {
  it('splits every key type and a self-signed certificate', async () => {
    const self = await mintSelfSignedLeaf({ key: P256, freshKey: true });
    const { certificates, privateKeys } = splitPem(self.pem + self.keyPem, { ...OPTS, field: 'file' });
    assert.equal(certificates[0]?.pem, self.pem);
    assert.equal(privateKeys[0]?.pem, self.keyPem);
  });
});
