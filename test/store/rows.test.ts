/**
 * Contract: facts read from rows (src/store/rows.ts `factsFromJson`) equal the stored facts,
 * are shared per JSON text and frozen, and the cache of parsed facts stays within its bound,
 * dropping the least recently used first.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cachedFactsCount, factsFromJson, factsToJson, FACTS_CACHE_SIZE } from '../../src/store/rows.ts';
import { testFacts } from '../helpers/db.ts';

describe('facts from rows', () => {
  it('equal the stored facts, Dates included', () => {
    const facts = testFacts({ notAfter: new Date('2027-03-04T05:06:07.890Z') });
    const read = factsFromJson(factsToJson(facts));
    assert.deepEqual(read, facts);
    assert.ok(read.notAfter instanceof Date && read.notBefore instanceof Date);
  });

  it('are shared per JSON text and frozen, so no reader can change what another reads', () => {
    const text = factsToJson(testFacts());
    const first = factsFromJson(text);
    assert.equal(factsFromJson(text), first);
    assert.throws(() => {
      (first as { commonName: string | null }).commonName = 'changed';
    }, TypeError);
    assert.throws(() => first.domains.push('evil.example.com'), TypeError);
    assert.throws(() => {
      (first.key as { bits: number }).bits = 1;
    }, TypeError);
    assert.notEqual(factsFromJson(factsToJson(testFacts())), first, 'other text, other facts');
  });

  it('keep at most FACTS_CACHE_SIZE parsed facts, the least recently used going first', () => {
    const kept = factsToJson(testFacts());
    const keptFacts = factsFromJson(kept);
    for (let i = 0; i < FACTS_CACHE_SIZE + 50; i++) {
      factsFromJson(factsToJson(testFacts()));
      if (i % 100 === 0) factsFromJson(kept); // used again: stays recent
    }
    assert.ok(cachedFactsCount() <= FACTS_CACHE_SIZE);
    assert.equal(factsFromJson(kept), keptFacts, 'the recently used entry stayed');
    const dropped = factsToJson(testFacts());
    const droppedFacts = factsFromJson(dropped);
    for (let i = 0; i < FACTS_CACHE_SIZE; i++) factsFromJson(factsToJson(testFacts()));
    assert.notEqual(factsFromJson(dropped), droppedFacts, 'an entry not used since was dropped and parsed again');
    assert.deepEqual(factsFromJson(dropped), droppedFacts);
  });
});
