/** The RFC 6125 "name covered by the certificate" rule (domain/x509/hostname.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nameCoveredByCertificate } from '../../../src/domain/x509/hostname.ts';

const facts = (commonName: string | null, dns: string[] = []) => ({
  commonName,
  sans: { dns, ip: [], email: [], uri: [] },
});

describe('nameCoveredByCertificate', () => {
  it('matches CN or SAN case-insensitively, wildcards over exactly one label', () => {
    assert.ok(nameCoveredByCertificate('Example.COM', facts('example.com')));
    assert.ok(nameCoveredByCertificate('b.example', facts(null, ['a.example', 'B.EXAMPLE'])));
    assert.ok(nameCoveredByCertificate('www.example.com', facts(null, ['*.example.com'])));
    assert.ok(nameCoveredByCertificate('*.example.com', facts(null, ['*.Example.com'])));
    assert.ok(!nameCoveredByCertificate('example.com', facts(null, ['*.example.com'])));
    assert.ok(!nameCoveredByCertificate('a.b.example.com', facts(null, ['*.example.com'])));
    assert.ok(!nameCoveredByCertificate('*.example.com', facts(null, ['www.example.com'])));
    assert.ok(!nameCoveredByCertificate('*.b.example.com', facts(null, ['*.example.com'])));
    assert.ok(!nameCoveredByCertificate('example.org', facts('example.com', ['example.com'])));
  });

  it('folds ASCII only: a non-ASCII letter is compared as it is', () => {
    // 'İ'.toLowerCase() is 'i̇' (two code units): a locale-style fold would change the name.
    assert.ok(!nameCoveredByCertificate('\u0130.example', facts(null, ['i.example'])));
    assert.ok(nameCoveredByCertificate('\u0130.EXAMPLE', facts(null, ['\u0130.example'])));
  });

  it('a wildcard covers no name with an empty first label', () => {
    assert.ok(!nameCoveredByCertificate('.example.com', facts(null, ['*.example.com'])));
  });
});
