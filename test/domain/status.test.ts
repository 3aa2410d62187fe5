import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { certificateStatus, daysToExpiry, validityStatus } from '../../src/domain/status.ts';

const facts = { notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2026-12-31T23:59:59Z') };
const live = { deletedAt: null, revokedAt: null, facts };

describe('certificateStatus', () => {
  const cases: Array<[string, Parameters<typeof certificateStatus>[0], string, string]> = [
    ['inside the window', live, '2026-06-01T00:00:00Z', 'VALID'],
    ['exactly at notAfter is still valid', live, '2026-12-31T23:59:59Z', 'VALID'],
    ['one second after notAfter', live, '2027-01-01T00:00:00Z', 'EXPIRED'],
    ['before notBefore', live, '2025-12-31T23:59:59Z', 'NOT_YET_VALID'],
    [
      'revoked inside the window',
      { ...live, revokedAt: new Date('2026-03-01T00:00:00Z') },
      '2026-06-01T00:00:00Z',
      'REVOKED',
    ],
    [
      'revoked and expired reads revoked',
      { ...live, revokedAt: new Date('2026-03-01T00:00:00Z') },
      '2027-06-01T00:00:00Z',
      'REVOKED',
    ],
    [
      'deleted outranks revoked',
      { deletedAt: new Date('2026-04-01T00:00:00Z'), revokedAt: new Date('2026-03-01T00:00:00Z'), facts },
      '2026-06-01T00:00:00Z',
      'DELETED',
    ],
  ];
  for (const [name, certificate, now, expected] of cases) {
    it(name, () => assert.equal(certificateStatus(certificate, new Date(now)), expected));
  }
});

describe('daysToExpiry', () => {
  it('counts whole days down', () => {
    assert.equal(daysToExpiry(new Date('2026-01-10T12:00:00Z'), new Date('2026-01-01T00:00:00Z')), 9);
    assert.equal(daysToExpiry(new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:01Z')), -1);
  });
});

describe('validityStatus', () => {
  it('both ends of the window are inside it', () => {
    assert.equal(validityStatus(facts, facts.notBefore), 'VALID');
    assert.equal(validityStatus(facts, facts.notAfter), 'VALID');
    assert.equal(validityStatus(facts, new Date(facts.notBefore.getTime() - 1)), 'NOT_YET_VALID');
    assert.equal(validityStatus(facts, new Date(facts.notAfter.getTime() + 1)), 'EXPIRED');
  });
});
