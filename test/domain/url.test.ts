/** domain/url.ts: the host and URL checks that deploy webhooks, channels and the listener share. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopbackHost, parseHttpUrl } from '../../src/domain/url.ts';
import { expectError } from '../helpers/errors.ts';

describe('isLoopbackHost', () => {
  it('is true for localhost in any case, 127.0.0.0/8 and ::1 with or without brackets', () => {
    for (const host of ['localhost', 'LocalHost', '127.0.0.1', '127.8.9.10', '::1', '[::1]', '0:0:0:0:0:0:0:1'])
      assert.equal(isLoopbackHost(host), true, host);
  });
  it('is false for every other address and name', () => {
    for (const host of ['0.0.0.0', '::', '128.0.0.1', '10.0.0.1', '169.254.169.254', 'example.com', 'localhost.evil'])
      assert.equal(isLoopbackHost(host), false, host);
  });
});

describe('parseHttpUrl', () => {
  it('returns the URL of an absolute http(s) address', () => {
    assert.equal(
      parseHttpUrl('https://hooks.example.com/a?b=1', 'url', 2048, 'missing').href,
      'https://hooks.example.com/a?b=1',
    );
  });
  const refusals: Array<[unknown, string]> = [
    [undefined, 'missing'],
    ['', 'missing'],
    [42, 'missing'],
    [`https://example.com/${'x'.repeat(100)}`, 'at most 64'],
    ['not a url', 'absolute URL'],
    ['ftp://example.com/', 'https:// or http://'],
    ['https://user:pw@example.com/', 'user name or password'],
    ['https://example.com/#frag', 'fragment'],
    ['https://exa\u0000mple.com/', 'absolute URL'],
  ];
  for (const [input, fragment] of refusals)
    it(`refuses ${JSON.stringify(input)?.slice(0, 40)} on the given field`, () => {
      expectError(() => parseHttpUrl(input, 'url', 64, 'missing'), 'invalid_argument', 'url', fragment);
    });
});
