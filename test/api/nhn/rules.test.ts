/** The NHN face's pure rules: names, CA names, file names, dates, the error table. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, ERROR_CODES } from '../../../src/domain/errors.ts';
import { ERROR_TABLE, wireOf } from '../../../src/api/nhn/errors.ts';
import { contentDisposition, formatDate, sanitizeFileName } from '../../../src/api/nhn/present.ts';
import { caNameValid, NHN_NAME_RULE } from '../../../src/api/nhn/upload.ts';

describe('NHN name rule and matching', () => {
  it('accepts DNS names and a leading wildcard, nothing else', () => {
    for (const name of [
      'example.com',
      'www.example.com',
      '*.example.com',
      'localhost',
      'xn--9n2bp8q.kr',
      'A-1.Example.COM',
      `${'a'.repeat(63)}.com`,
    ])
      assert.ok(NHN_NAME_RULE.test(name), name);
    for (const name of [
      '',
      'bad name',
      'a_b.com',
      '-a.com',
      'a-.com',
      'a..com',
      'a.com.',
      '*.*.a.com',
      'www.*.com',
      '*',
      `${'a'.repeat(64)}.com`,
      `${'a.'.repeat(127)}com`,
      '../x',
      'a/b',
    ]) {
      assert.ok(!NHN_NAME_RULE.test(name), name);
    }
  });

  it('a valid CA name: from the issuer O or CN, printable, not blank', () => {
    assert.ok(caNameValid({ caName: 'NHN', issuerDn: 'CN=NHN CA, O=NHN' }));
    assert.ok(caNameValid({ caName: '한국전자인증', issuerDn: 'O=한국전자인증, C=KR' }));
    assert.ok(caNameValid({ caName: "Let's Encrypt", issuerDn: "CN=R3, O=Let's Encrypt, C=US" }));
    assert.ok(!caNameValid({ caName: 'L=Seoul, C=KR', issuerDn: 'L=Seoul, C=KR' }), 'no O, no CN');
    assert.ok(!caNameValid({ caName: '', issuerDn: '' }));
    assert.ok(!caNameValid({ caName: '   ', issuerDn: 'O=\\   ' }));
    assert.ok(!caNameValid({ caName: 'Bad\u0007CA', issuerDn: 'O=Bad\\07CA' }));
    assert.ok(!caNameValid({ caName: 'Bad\uFFFDCA', issuerDn: 'O=Bad\uFFFDCA' }));
    assert.ok(!caNameValid({ caName: 'x'.repeat(257), issuerDn: `O=${'x'.repeat(257)}` }));
  });
});

describe('NHN presentation', () => {
  it('dates are yyyy-MM-dd in the API time zone', () => {
    const instant = new Date('2027-03-25T15:00:00Z');
    assert.equal(formatDate(instant, 540), '2027-03-26');
    assert.equal(formatDate(instant, 0), '2027-03-25');
    assert.equal(formatDate(new Date('2027-01-01T02:00:00Z'), -210), '2026-12-31');
  });

  it('file names: last segment, no quotes or control characters, no leading dots, 200 characters', () => {
    assert.equal(sanitizeFileName('C:\\certs\\site.pem', 'f.pem'), 'site.pem');
    assert.equal(sanitizeFileName('a"b\\c', 'f.pem'), 'c');
    assert.equal(sanitizeFileName('a"b\r\n\u0085.pem', 'f.pem'), 'a_b___.pem');
    assert.equal(sanitizeFileName('...', 'f.pem'), 'f.pem');
    assert.equal(sanitizeFileName('', 'f.pem'), 'f.pem');
    assert.equal(sanitizeFileName('x'.repeat(300), 'f.pem').length, 200);
  });

  it('Content-Disposition: quoted ASCII, plus filename* for anything else', () => {
    assert.equal(contentDisposition('site.pem'), 'attachment; filename="site.pem"');
    assert.equal(contentDisposition("it's (1).pem"), `attachment; filename="it's (1).pem"`);
    assert.equal(
      contentDisposition('인증서.pem'),
      `attachment; filename="___.pem"; filename*=UTF-8''%EC%9D%B8%EC%A6%9D%EC%84%9C.pem`,
    );
    assert.equal(
      contentDisposition("é'(x).pem"),
      `attachment; filename="_'(x).pem"; filename*=UTF-8''%C3%A9%27%28x%29.pem`,
    );
  });
});

describe('NHN error table', () => {
  it('every ErrorCode renders with a 4xx/5xx status and a non-zero resultCode', () => {
    for (const code of ERROR_CODES) {
      const wire = wireOf(new AppError(code, `message for ${code}`, { details: { limit: 524_288, actual: 524_289 } }));
      assert.ok(wire.status >= 400 && wire.status < 600, code);
      assert.ok(wire.resultCode > 0, code);
      assert.ok(wire.resultMessage.length > 0, code);
    }
    assert.equal(Object.keys(ERROR_TABLE).length, ERROR_CODES.length);
    assert.equal(
      wireOf(new AppError('input_too_large', 'x', { details: { limit: 524_288, actual: 600_000 } })).resultMessage,
      'Maximum permitted size is 524288 bytes. But, requested 600000 bytes.',
    );
    assert.equal(wireOf(new AppError('internal', 'secret detail')).resultMessage, 'Internal server error.');
  });
});
