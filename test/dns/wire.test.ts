/**
 * The DNS message format and TSIG against known bytes: hand-written RFC 1035 encodings, and a
 * signed UPDATE captured from BIND's own `nsupdate` (9.18.49), whose MAC our code must verify.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { DcvError } from '../../src/core/issuance/dcv.ts';
import {
  CLASS,
  OPCODE,
  TYPE,
  WireError,
  decodeMessage,
  encodeMessage,
  encodeName,
  readName,
  txtRdata,
} from '../../src/dns/wire.ts';
import { computeMac, parseTsigKey, receivedMacInput, signMessage, verifyResponse } from '../../src/dns/tsig.ts';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('DNS wire format', () => {
  it('encodes a query as RFC 1035 bytes', () => {
    const bytes = encodeMessage({
      header: { id: 0x1234, qr: false, opcode: OPCODE.QUERY, aa: false, tc: false, rd: true, ra: false, rcode: 0 },
      questions: [{ name: 'www.example.com.', type: TYPE.A, class: CLASS.IN }],
    });
    assert.equal(
      bytes.toString('hex'),
      '123401000001000000000000' + '03777777076578616d706c6503636f6d00' + '0001' + '0001',
    );
  });

  it('decodes compressed names in answers and in RDATA', () => {
    // www.example.com A → CNAME cdn.example.com (rdata: "cdn" + pointer to example.com at 16),
    // then cdn.example.com A 192.0.2.7 (owner: pointer into the CNAME's RDATA).
    const bytes = hex(`
      1234 8180 0001 0002 0000 0000
      03777777 076578616d706c65 03636f6d 00  0001 0001
      c00c 0005 0001 0000003c 0006 0363646e c010
      c02d 0001 0001 0000003c 0004 c0000207`);
    const message = decodeMessage(bytes);
    assert.equal(message.header.id, 0x1234);
    assert.equal(message.header.qr, true);
    assert.equal(message.header.ra, true);
    assert.deepEqual(message.questions, [{ name: 'www.example.com', type: TYPE.A, class: CLASS.IN }]);
    assert.equal(message.answers[0]!.name, 'www.example.com');
    assert.deepEqual(message.answers[0]!.data, { kind: 'name', name: 'cdn.example.com' });
    assert.equal(message.answers[1]!.name, 'cdn.example.com');
    assert.deepEqual(message.answers[1]!.data, { kind: 'a', address: '192.0.2.7' });
  });

  it('refuses pointer loops, forward pointers and names that run past the end', () => {
    const header = '1234 8180 0001 0000 0000 0000';
    // A pointer to itself (offset 12).
    assert.throws(() => decodeMessage(hex(`${header} c00c 0001 0001`)), WireError);
    // A pointer forward.
    assert.throws(() => decodeMessage(hex(`${header} c010 0001 0001 0000`)), WireError);
    // Two names pointing at each other: the second may point at the first, never back.
    assert.throws(() => readName(hex('01 61 c0 04 01 62 c0 00'), 4), /backwards/);
    // A label longer than the message.
    assert.throws(() => decodeMessage(hex(`${header} 05 6162`)), WireError);
    // An unknown label type (0x40).
    assert.throws(() => decodeMessage(hex(`${header} 41 00 0001 0001`)), WireError);
    // A record whose RDLENGTH runs past the end.
    assert.throws(
      () => decodeMessage(hex('1234 8180 0000 0001 0000 0000 00 0010 0001 0000003c 0010 0161')),
      /ends inside a record/,
    );
    // Bytes after the last record.
    assert.throws(() => decodeMessage(hex(`${header} 00 0001 0001 00`)), /after its last record/);
    // A header only, short.
    assert.throws(() => decodeMessage(hex('1234 81')), /shorter than a header/);
  });

  it('limits names to 63-octet labels and 255 octets, and refuses empty labels and escapes', () => {
    assert.throws(() => encodeName(`${'a'.repeat(64)}.test`), /63/);
    assert.throws(() => encodeName(Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.')), /255/);
    assert.throws(() => encodeName('a..test'), /empty label/);
    assert.throws(() => encodeName('a\\.b.test'), /escapes/);
    assert.deepEqual(encodeName('.'), Buffer.from([0]));
    assert.equal(encodeName('A.Test.').toString('hex'), '0141045465737400');
  });

  it('splits TXT values into character-strings of at most 255 octets', () => {
    assert.equal(txtRdata('ab').toString('hex'), '026162');
    assert.equal(txtRdata('').toString('hex'), '00');
    const rdata = txtRdata('x'.repeat(300));
    assert.equal(rdata.length, 302);
    assert.equal(rdata[0], 255);
    assert.equal(rdata[256], 45);
  });
});

// Captured from `nsupdate -y hmac-sha256:certkeeper-dcv:<SECRET>` sending
//   update add abc.dcv.certkeeper.test 60 TXT "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
// to a UDP socket (bind9-dnsutils 9.18.49). nsupdate compresses the owner name (c00c).
const SECRET = 'q4PGa9NX/0uS8VTtSmIUL6t2kaG2p1Y9nk61Hmh7HDM=';
const NSUPDATE = hex(
  '519828000001000000010001036463760a636572746b65657065720474657374000006000103616263c00c001000010000003c002c2b4c6f71' +
    '586359563871354f4e624a5178626d52375343544e6f337469415844666f77796a78416a457558300e636572746b65657065722d64637600' +
    '00fa00ff00000000003d0b686d61632d7368613235360000006b144cf5012c0020c1b8d09375ae996355fcb09edcc9198d4ce0ec5be862' +
    '2ade34d911b51f6e542b519800000000',
);

describe('TSIG', () => {
  const key = parseTsigKey(`hmac-sha256:certkeeper-dcv:${SECRET}`);

  it("verifies the MAC of a request signed by BIND's nsupdate", () => {
    const message = decodeMessage(NSUPDATE);
    assert.equal(message.header.opcode, OPCODE.UPDATE);
    assert.deepEqual(message.questions, [{ name: 'dcv.certkeeper.test', type: TYPE.SOA, class: CLASS.IN }]);
    const update = message.authority[0]!;
    assert.equal(update.name, 'abc.dcv.certkeeper.test');
    assert.deepEqual(update.data.kind === 'txt' && update.data.strings.map(String), [
      'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0',
    ]);
    const tsig = message.additional[0]!;
    assert.equal(tsig.name, 'certkeeper-dcv');
    assert.ok(tsig.data.kind === 'tsig');
    assert.equal(tsig.data.tsig.algorithm, 'hmac-sha256');
    assert.equal(tsig.data.tsig.timeSigned, 0x6b144cf5);
    assert.equal(tsig.data.tsig.fudge, 300);
    assert.equal(tsig.data.tsig.originalId, 0x5198);
    const mac = computeMac(key, receivedMacInput(NSUPDATE, message, null));
    assert.equal(mac.toString('hex'), tsig.data.tsig.mac.toString('hex'));
    // One bit changed in the TXT value: the MAC no longer matches.
    const tampered = Buffer.from(NSUPDATE);
    tampered[60]! ^= 1;
    assert.notEqual(
      computeMac(key, receivedMacInput(tampered, decodeMessage(tampered), null)).toString('hex'),
      tsig.data.tsig.mac.toString('hex'),
    );
  });

  it('signs an UPDATE with the MAC of RFC 8945 4.3.3 over the exact bytes', () => {
    const unsigned = encodeMessage({
      header: { id: 0x5198, qr: false, opcode: OPCODE.UPDATE, aa: false, tc: false, rd: false, ra: false, rcode: 0 },
      questions: [{ name: 'dcv.certkeeper.test', type: TYPE.SOA, class: CLASS.IN }],
      authority: [
        {
          name: 'abc.dcv.certkeeper.test',
          type: TYPE.TXT,
          class: CLASS.IN,
          ttl: 60,
          rdata: txtRdata('LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0'),
          data: { kind: 'raw' },
        },
      ],
    });
    const { signed, mac } = signMessage(unsigned, key, 0x6b144cf5, 300);
    // The message written out by hand (uncompressed names), then the TSIG variables.
    const body =
      '5198 2800 0001 0000 0001 0000' +
      '03646376 0a636572746b6565706572 0474657374 00 0006 0001' +
      '03616263 03646376 0a636572746b6565706572 0474657374 00 0010 0001 0000003c 002c' +
      '2b 4c6f71586359563871354f4e624a5178626d52375343544e6f337469415844666f77796a78416a457558300';
    const variables =
      '0e636572746b65657065722d64637600 00ff 00000000 0b686d61632d73686132353600 00006b144cf5 012c 0000 0000';
    const expectedMac = createHmac('sha256', Buffer.from(SECRET, 'base64'))
      .update(hex(body))
      .update(hex(variables))
      .digest();
    assert.equal(mac.toString('hex'), expectedMac.toString('hex'));
    assert.equal(
      signed.toString('hex'),
      hex(body)
        .toString('hex')
        .replace(/^(.{20})0000/, '$10001') +
        '0e636572746b65657065722d64637600 00fa 00ff 00000000 003d'.replace(/\s/g, '') +
        '0b686d61632d73686132353600 00006b144cf5 012c 0020'.replace(/\s/g, '') +
        expectedMac.toString('hex') +
        '5198 0000 0000'.replace(/\s/g, ''),
    );
    // And the MAC verifies as a received message would.
    assert.deepEqual(computeMac(key, receivedMacInput(signed, decodeMessage(signed), null)), mac);
  });

  it('verifies a signed response and refuses a tampered, unsigned, stale or foreign one', () => {
    const requestMac = Buffer.alloc(32, 7);
    const now = 1_800_000_000;
    const unsigned = hex('abcd a800 0001 0000 0000 0000 03646376 0a636572746b6565706572 0474657374 00 0006 0001');
    // Sign as a server would (RFC 8945 5.3.2): signMessage lays out the TSIG RR, then its MAC is
    // replaced by the one over the length-prefixed request MAC and the response.
    const respond = (bytes: Buffer, time: number) => {
      const out = Buffer.from(signMessage(bytes, key, time).signed);
      computeMac(key, receivedMacInput(out, decodeMessage(out), requestMac)).copy(out, out.length - 6 - 32);
      return out;
    };
    const good = respond(unsigned, now);
    verifyResponse(good, decodeMessage(good), key, requestMac, now, 'test');

    const tampered = Buffer.from(good);
    tampered[3]! ^= 0x01; // the RCODE
    const tsigFailure = (bytes: Buffer, at = now, k = key) => {
      try {
        verifyResponse(bytes, decodeMessage(bytes), k, requestMac, at, 'test');
      } catch (error) {
        assert.ok(error instanceof DcvError);
        assert.equal(error.kind, 'tsig');
        assert.equal(error.retryable, true);
        return error;
      }
      assert.fail('verifyResponse accepted the response');
    };
    assert.equal(tsigFailure(tampered).tsigError, 'BADSIG');
    assert.match(tsigFailure(unsigned).message, /without a TSIG signature/);
    assert.equal(tsigFailure(good, now + 301).tsigError, 'BADTIME');
    const other = parseTsigKey(`hmac-sha256:other-key:${SECRET}`);
    assert.match(tsigFailure(good, now, other).message, /another key/);
    // A server-reported error: TSIG error BADKEY with an empty MAC.
    const badKey = hex(
      'abcd a809 0001 0000 0000 0001 03646376 0a636572746b6565706572 0474657374 00 0006 0001' +
        '0e636572746b65657065722d64637600 00fa 00ff 00000000 001d 0b686d61632d73686132353600 00006b144cf5 012c 0000 abcd 0011 0000',
    );
    const error = tsigFailure(badKey);
    assert.equal(error.tsigError, 'BADKEY');
    assert.equal(error.rcode, 'NOTAUTH');
  });

  it('parses algorithm:name:base64secret, and no error repeats the secret', () => {
    assert.equal(key.algorithm, 'hmac-sha256');
    assert.equal(key.name, 'certkeeper-dcv');
    assert.equal(parseTsigKey(`HMAC-SHA512.:Key.Example.:${SECRET}`).name, 'key.example');
    assert.equal(parseTsigKey(`hmac-sha1:k:${SECRET}`).algorithm, 'hmac-sha1');
    assert.ok(!inspect(key).includes(SECRET) && !JSON.stringify(key).includes(SECRET));
    assert.ok(!inspect(key).includes(Buffer.from(SECRET, 'base64').toString('hex')));
    const cases: Array<[string, RegExp]> = [
      [SECRET, /three parts/],
      [`hmac-sha256:${SECRET}`, /three parts/],
      [`hmac-md5.sig-alg.reg.int:k:${SECRET}`, /HMAC-MD5 is not supported/],
      [`sha256:k:${SECRET}`, /algorithm "sha256" is not one of/],
      [`hmac-sha256::${SECRET}`, /key name is empty/],
      [`hmac-sha256:a..b:${SECRET}`, /not a domain name/],
      ['hmac-sha256:k:', /not non-empty base64/],
      [`hmac-sha256:k:${SECRET.slice(0, 10)}!!${SECRET.slice(10)}`, /not non-empty base64/],
    ];
    for (const [text, message] of cases) {
      assert.throws(
        () => parseTsigKey(text),
        (error: unknown) =>
          error instanceof DcvError &&
          error.kind === 'config' &&
          message.test(error.message) &&
          !error.message.includes(SECRET.slice(0, 10)),
        text.replace(SECRET, '<secret>'),
      );
    }
  });
});
