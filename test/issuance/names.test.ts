/**
 * names.ts, the one rule for the names of a certificate request: the CN first and its repeat in
 * the SAN list dropped, any other repeat refused, the limit counted after that, Unicode converted
 * or (asciiOnly, the NCP face) refused.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_NAMES, normalizeRequestNames } from '../../src/core/issuance/names.ts';

describe('request names', () => {
  it('puts the CN first and drops its one repeat among the SANs', () => {
    assert.deepEqual(
      normalizeRequestNames(['*.Shop.example.com', 'shop.example.com.'], { commonName: 'SHOP.example.com' }),
      ['shop.example.com', '*.shop.example.com'],
    );
    assert.throws(
      () => normalizeRequestNames(['shop.example.com', 'shop.example.com'], { commonName: 'shop.example.com' }),
      { code: 'invalid_argument', field: 'dnsName' },
    );
  });

  it('counts the limit after the CN repeat is dropped', () => {
    const sans = Array.from({ length: MAX_NAMES - 1 }, (_, i) => `n${i}.example.com`);
    assert.equal(
      normalizeRequestNames([...sans, 'cn.example.com'], { commonName: 'cn.example.com' }).length,
      MAX_NAMES,
    );
    assert.throws(() => normalizeRequestNames([...sans, 'x.example.com'], { commonName: 'cn.example.com' }), {
      code: 'invalid_argument',
      field: 'dnsName',
    });
    assert.throws(() => normalizeRequestNames([]), { code: 'invalid_argument', field: 'dnsName' });
  });

  it('converts Unicode to A-labels, or refuses it with asciiOnly', () => {
    assert.deepEqual(normalizeRequestNames(['bücher.example.com']), ['xn--bcher-kva.example.com']);
    assert.throws(() => normalizeRequestNames(['bücher.example.com'], { asciiOnly: true }), {
      code: 'invalid_argument',
      field: 'dnsName',
    });
    assert.throws(() => normalizeRequestNames([], { commonName: 'bücher.example.com', asciiOnly: true }), {
      code: 'invalid_argument',
    });
    assert.deepEqual(normalizeRequestNames(['xn--bcher-kva.example.com'], { asciiOnly: true }), [
      'xn--bcher-kva.example.com',
    ]);
  });
});
