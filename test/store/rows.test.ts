/**
 * Contract: facts read from rows (src/store/rows.ts `factsFromJson`) equal the stored facts; with
 * the row's fingerprint they are shared and frozen, never stale (a different text under the same
 * fingerprint is parsed afresh), and the cache stays within its bound, first in first out.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cachedFactsCount, factsFromJson, factsToJson, FACTS_CACHE_SIZE } from '../../src/store/rows.ts';
import { testFacts } from '../helpers/db.ts';

describe('facts from rows', () => {
  it('equal the stored facts, Dates included, with or without the fingerprint', () => {
    const facts = testFacts({ notAfter: new Date('2027-03-04T05:06:07.890Z') });
    for (const read of [
      factsFromJson(factsToJson(facts)),
      factsFromJson(factsToJson(facts), facts.fingerprintSha256),
    ]) {
      assert.deepEqual(read, facts);
      assert.ok(read.notAfter instanceof Date && read.notBefore instanceof Date);
    }
  });

  it('are shared per fingerprint and text, and frozen, so no reader can change what another reads', () => {
    const facts = testFacts();
    const text = factsToJson(facts);
    const first = factsFromJson(text, facts.fingerprintSha256);
    assert.equal(factsFromJson(text, facts.fingerprintSha256), first);
    assert.throws(() => {
      (first as { commonName: string | null }).commonName = 'changed';
    }, TypeError);
    assert.throws(() => first.domains.push('evil.example.com'), TypeError);
    assert.throws(() => {
      (first.key as { bits: number }).bits = 1;
    }, TypeError);
    assert.notEqual(factsFromJson(text), first, 'without a fingerprint: parsed afresh');
  });

  it('are never stale: another text under the same fingerprint is parsed', () => {
    const facts = testFacts();
    const before = factsFromJson(factsToJson(facts), facts.fingerprintSha256);
    const changed = { ...facts, commonName: 'other.example.com' };
    const after = factsFromJson(factsToJson(changed), facts.fingerprintSha256);
    assert.equal(after.commonName, 'other.example.com');
    assert.equal(before.commonName, facts.commonName);
  });

  it('keep at most FACTS_CACHE_SIZE parsed facts, the oldest going first', () => {
    const oldest = testFacts();
    const oldestFacts = factsFromJson(factsToJson(oldest), oldest.fingerprintSha256);
    for (let i = 0; i < FACTS_CACHE_SIZE + 50; i++) {
      const other = testFacts();
      factsFromJson(factsToJson(other), other.fingerprintSha256);
    }
    assert.ok(cachedFactsCount() <= FACTS_CACHE_SIZE);
    const again = factsFromJson(factsToJson(oldest), oldest.fingerprintSha256);
    assert.notEqual(again, oldestFacts, 'dropped, then parsed again');
    assert.deepEqual(again, oldestFacts);
  });
});
