import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { asciiLower, capitalise } from '../../src/domain/text.ts';

describe('text helpers', () => {
  it('asciiLower folds A-Z only', () => {
    assert.equal(asciiLower('Www.EXAMPLE-1.com'), 'www.example-1.com');
    assert.equal(asciiLower('\u0130\u00c9\u0410'), '\u0130\u00c9\u0410');
  });

  it('capitalise upper-cases the first character only', () => {
    assert.equal(capitalise('block 2 of the chain'), 'Block 2 of the chain');
    assert.equal(capitalise(''), '');
    assert.equal(capitalise('ABC'), 'ABC');
  });
});
