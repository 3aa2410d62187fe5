/**
 * SigV4 against AWS's published test suite (aws-sig-v4-test-suite: get-vanilla, post-vanilla,
 * get-vanilla-query-order-key-case; credentials AKIDEXAMPLE, 20150830T123600Z, us-east-1,
 * service `service`), and the header checks' refusals.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSigV4Headers, sigV4Signature, verifySigV4Body } from '../../src/auth/sigv4.ts';

const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const claim = {
  amzDate: '20150830T123600Z',
  date: '20150830',
  region: 'us-east-1',
  service: 'service',
  signedHeaders: ['host', 'x-amz-date'],
};
const headers = ['Host', 'example.amazonaws.com', 'X-Amz-Date', '20150830T123600Z'];

describe('SigV4 test suite vectors', () => {
  it('get-vanilla', () => {
    assert.equal(
      sigV4Signature({ method: 'GET', rawUrl: '/', rawHeaders: headers }, claim, Buffer.alloc(0), SECRET),
      '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });
  it('post-vanilla', () => {
    assert.equal(
      sigV4Signature({ method: 'POST', rawUrl: '/', rawHeaders: headers }, claim, Buffer.alloc(0), SECRET),
      '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
    );
  });
});

describe('SigV4 header checks', () => {
  const now = new Date('2015-08-30T12:36:00Z');
  const auth = (extra: string[] = [], authorization?: string) => [
    ...headers,
    'Authorization',
    authorization ??
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/acm/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    ...extra,
  ];
  const check = (rawHeaders: string[], at = now) =>
    checkSigV4Headers({ request: { method: 'POST', rawUrl: '/', rawHeaders }, now: at, service: 'acm' });

  it('accepts a well-formed request', () => assert.equal(check(auth()).ok, true));
  it('refuses no Authorization', () => {
    const r = check(headers);
    assert.equal(r.ok === false && r.type, 'MissingAuthenticationTokenException');
  });
  it('refuses a session token', () => {
    const r = check(auth(['X-Amz-Security-Token', 'abc']));
    assert.equal(r.ok === false && r.type, 'UnrecognizedClientException');
  });
  it('refuses a date 15 minutes and one second away, accepts exactly 15 minutes', () => {
    assert.equal(check(auth(), new Date(now.getTime() + 15 * 60_000)).ok, true);
    const r = check(auth(), new Date(now.getTime() + 15 * 60_000 + 1000));
    assert.equal(r.ok === false && r.type, 'InvalidSignatureException');
    assert.match(r.ok === false ? r.message : '', /^Signature expired: 20150830T123600Z is now earlier than/);
  });
  it('refuses another service and a scope date that is not X-Amz-Date’s', () => {
    const other = check(
      auth(
        [],
        'AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=' +
          'a'.repeat(64),
      ),
    );
    assert.equal(other.ok === false && other.type, 'InvalidSignatureException');
    const day = check(
      auth(
        [],
        'AWS4-HMAC-SHA256 Credential=AK/20150831/us-east-1/acm/aws4_request, SignedHeaders=host;x-amz-date, Signature=' +
          'a'.repeat(64),
      ),
    );
    assert.equal(day.ok === false && day.type, 'InvalidSignatureException');
  });
  it('refuses malformed headers as IncompleteSignatureException', () => {
    for (const bad of [
      'AWS4-HMAC-SHA1 Credential=AK/20150830/us-east-1/acm/aws4_request, SignedHeaders=host, Signature=' +
        'a'.repeat(64),
      'AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/acm/aws4_request, SignedHeaders=host;x-amz-date',
      'AWS4-HMAC-SHA256 Credential=AK/20150830/acm/aws4_request, SignedHeaders=host;x-amz-date, Signature=' +
        'a'.repeat(64),
      'AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/acm/aws4_request, SignedHeaders=x-amz-date;host, Signature=' +
        'a'.repeat(64),
      'AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/acm/aws4_request, SignedHeaders=host;x-amz-date, Signature=' +
        'A'.repeat(64),
    ]) {
      const r = check(auth([], bad));
      assert.equal(r.ok === false && r.type, 'IncompleteSignatureException', bad);
    }
  });
  it('refuses UNSIGNED-PAYLOAD and a body that is not the signed one', () => {
    const request = { method: 'POST', rawUrl: '/', rawHeaders: headers };
    const body = Buffer.from('{}');
    const signature = sigV4Signature(request, { ...claim, service: 'acm' }, body, SECRET) as string;
    const full = { ...claim, service: 'acm', accessKey: 'AKIDEXAMPLE', signature };
    assert.equal(verifySigV4Body(request, full, body, SECRET).ok, true);
    assert.equal(verifySigV4Body(request, full, Buffer.from('{ }'), SECRET).ok, false);
    assert.equal(verifySigV4Body(request, full, body, `${SECRET}x`).ok, false);
    const unsigned = { ...request, rawHeaders: [...headers, 'X-Amz-Content-Sha256', 'UNSIGNED-PAYLOAD'] };
    assert.equal(verifySigV4Body(unsigned, full, body, SECRET).ok, false);
  });
});
