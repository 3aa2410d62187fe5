/**
 * The CA name is one rule for every face: issuer CN, else issuer O, else the issuer DN. Checked on
 * real certificates through inspect(), and on facts stored before the rule (caName O-first).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { caNameOf } from '../../../src/domain/x509/ca-name.ts';
import { X509Certificate } from 'node:crypto';
import { inspect } from '../../../src/domain/x509/inspect.ts';
import { mintIntermediate, mintLeaf, mintRoot } from '../../helpers/pki.ts';

describe('caNameOf', () => {
  it('is the issuer CN when there is one, whatever the O', async () => {
    const root = await mintRoot({ cn: 'Example Root', o: 'Example Inc' });
    const intermediate = await mintIntermediate(root, { cn: 'Example TLS CA 2', o: 'Example Inc' });
    const leaf = await mintLeaf(intermediate);
    const facts = inspect(new X509Certificate(leaf.pem));
    assert.equal(facts.caName, 'Example Inc', 'the stored O-first field is unchanged');
    assert.equal(caNameOf(facts), 'Example TLS CA 2');
  });

  it('falls back to the O, then the DN', () => {
    assert.equal(caNameOf({ issuerCommonName: null, caName: 'Example Inc' }), 'Example Inc');
    assert.equal(caNameOf({ issuerCommonName: null, caName: 'L=Seoul, C=KR' }), 'L=Seoul, C=KR');
  });
});
