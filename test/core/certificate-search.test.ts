/**
 * Contract of core/certificate-search.ts, the search's rules: what each filter accepts and how it
 * is normalised, the refusals (invalid_argument naming the field, never anything else), what the
 * one search box means, and the cursors. Through core's list too, on a real store, so a refused
 * query never reaches the database.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCore, type Core } from '../../src/core/core.ts';
import type { CertificateListQuery } from '../../src/core/certificates.ts';
import {
  decodeCursor,
  encodeCursor,
  normaliseSearchQuery,
  parseKeyType,
  searchBoxFilter,
} from '../../src/core/certificate-search.ts';
import { isAppErrorWithCode } from '../../src/domain/errors.ts';
import { canonicalIpAddress } from '../../src/domain/x509/ip-address.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { cliActor } from '../../src/core/actor.ts';
import { freshSqlite, makeTenant, newCertificate, testMasterKey, type TestLocation } from '../helpers/db.ts';

const base = (extra: Partial<CertificateListQuery>): CertificateListQuery => ({ offset: 0, limit: 10, ...extra });

function refused(extra: Partial<CertificateListQuery>, field: string): void {
  assert.throws(
    () => normaliseSearchQuery(base(extra)),
    (error: unknown) => isAppErrorWithCode(error, 'invalid_argument') && error.field === field,
    JSON.stringify(extra),
  );
}

describe('search filters: normalisation', () => {
  it('hosts and zones: lower-case A-labels, one trailing dot dropped, wildcards', () => {
    assert.equal(normaliseSearchQuery(base({ coversHost: ' WWW.Example.COM. ' })).coversHost, 'www.example.com');
    assert.equal(normaliseSearchQuery(base({ coversHost: '*.Example.com' })).coversHost, '*.example.com');
    assert.equal(normaliseSearchQuery(base({ coversHost: 'bücher.example' })).coversHost, 'xn--bcher-kva.example');
    assert.equal(
      normaliseSearchQuery(base({ coversHost: '_acme-challenge.example.com' })).coversHost,
      '_acme-challenge.example.com',
    );
    assert.equal(normaliseSearchQuery(base({ zone: '*.Example.com' })).zone, 'example.com');
    assert.equal(normaliseSearchQuery(base({ zone: 'com' })).zone, 'com');
  });

  it('IP addresses: any textual form, one canonical form; a host that is an IP searches IP SANs', () => {
    for (const [written, canonical] of [
      ['192.0.2.1', '192.0.2.1'],
      ['2001:DB8::1', '2001:db8::1'],
      ['[2001:db8:0:0:0:0:0:1]', '2001:db8::1'],
      ['2001:0db8:0000::0001', '2001:db8::1'],
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
      ['0:0:0:0:0:ffff:c000:0201', '::ffff:192.0.2.1'],
      ['::', '::'],
      ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ] as const) {
      assert.equal(canonicalIpAddress(written), canonical, written);
      assert.equal(normaliseSearchQuery(base({ ipAddress: written })).ipAddress, canonical, written);
    }
    const covers = normaliseSearchQuery(base({ coversHost: '2001:db8::0:1' }));
    assert.equal(covers.ipAddress, '2001:db8::1');
    assert.equal(covers.coversHost, undefined);
  });

  it('refuses bad hosts, zones, IPs, substrings, windows and cursors with the field named', () => {
    for (const host of [
      '',
      '   ',
      'a..example.com',
      '.example.com',
      'www.*.example.com',
      'w*w.example.com',
      `${'a'.repeat(64)}.example.com`,
      `${'abcdefghi.'.repeat(26)}com`, // 263 characters
      'bad label.example.com',
      '-lead.example.com',
      'exa%mple.com',
      'example.com/path',
      'ex\u0000ample.com',
    ])
      refused({ coversHost: host }, 'coversHost');
    for (const zone of ['', 'a..b', 'a.*.b', 'x'.repeat(300)]) refused({ zone }, 'zone');
    for (const ip of [
      '256.1.1.1',
      '1.2.3',
      '01.2.3.4',
      '1.2.3.4.5',
      '1::2::3',
      '12345::1',
      ':1',
      '1:2:3:4:5:6:7:8:9',
      'g::1',
      'example.com',
      '',
    ])
      refused({ ipAddress: ip }, 'ipAddress');
    for (const text of ['a', 'ab', '%', '\\_', 'é1']) refused({ nameContains: text }, 'nameContains');
    refused({ domainContains: 'ab' }, 'domainContains');
    refused({ nameContains: 'x'.repeat(256) }, 'nameContains');
    refused({ notAfterBetween: { from: new Date(2), to: new Date(1) } }, 'notAfterBetween');
    refused({ notAfterBetween: { from: new Date(Number.NaN), to: new Date(1) } }, 'notAfterBetween');
    refused({ after: { key: 1, certificateNo: 1 }, offset: 10 }, 'after');
    refused({ zone: 'example.com', changedBetween: { from: new Date(0), to: new Date(1) } }, 'changedBetween');
    assert.throws(
      () => parseKeyType('rot13'),
      (e: unknown) => isAppErrorWithCode(e, 'invalid_argument'),
    );
  });

  it('keeps LIKE and regex metacharacters as literal text (the store escapes them)', () => {
    for (const text of ['%_\\', '.*+', '(a|b)', '[^x]', "'; drop"])
      assert.equal(normaliseSearchQuery(base({ nameContains: text })).nameContains, text);
  });

  it('key types', () => {
    assert.deepEqual(parseKeyType('rsa-2048'), { algorithm: 'RSA', bits: 2048 });
    assert.deepEqual(parseKeyType('EC 256'), { algorithm: 'EC', bits: 256 });
    assert.deepEqual(parseKeyType('ec'), { algorithm: 'EC' });
    assert.deepEqual(parseKeyType('Ed25519'), { algorithm: 'Ed25519' });
    assert.deepEqual(parseKeyType('RSA-PSS'), { algorithm: 'RSA-PSS' });
  });
});

describe('the search box', () => {
  it('reads a host, a zone, an IP, prefixed terms and free text', () => {
    assert.deepEqual(searchBoxFilter('foo.api.example.com'), { coversHost: 'foo.api.example.com' });
    assert.deepEqual(searchBoxFilter('*.example.com'), { zone: '*.example.com' });
    assert.deepEqual(searchBoxFilter('zone:example.com'), { zone: 'example.com' });
    assert.deepEqual(searchBoxFilter('192.0.2.1'), { ipAddress: '192.0.2.1' });
    assert.deepEqual(searchBoxFilter('2001:db8::1'), { ipAddress: '2001:db8::1' });
    assert.deepEqual(searchBoxFilter('pay'), { nameContains: 'pay' });
    assert.deepEqual(searchBoxFilter('pay roll'), { nameContains: 'pay roll' });
    assert.deepEqual(searchBoxFilter('name:a.b'), { nameContains: 'a.b' });
    assert.deepEqual(searchBoxFilter('domain:xn--'), { domainContains: 'xn--' });
    assert.deepEqual(searchBoxFilter('host:www.example.com'), { coversHost: 'www.example.com' });
    assert.deepEqual(searchBoxFilter('  '), {});
  });
});

describe('cursors', () => {
  const item = {
    certificateNo: 42,
    name: 'pay',
    createdAt: new Date(5),
    updatedAt: new Date(6),
    facts: { notAfter: new Date(7) },
  } as unknown as Parameters<typeof encodeCursor>[0];

  it('round-trip for the same order, and are refused for another or when forged', () => {
    assert.deepEqual(decodeCursor(encodeCursor(item, 'name', 'asc'), 'name', 'asc'), { key: 'pay', certificateNo: 42 });
    assert.deepEqual(decodeCursor(encodeCursor(item, 'notAfter', 'desc'), 'notAfter', 'desc'), {
      key: 7,
      certificateNo: 42,
    });
    const bad = (text: string, sort: 'name' | 'notAfter' = 'name') =>
      assert.throws(
        () => decodeCursor(text, sort, 'asc'),
        (e: unknown) => isAppErrorWithCode(e, 'invalid_argument') && e.field === 'cursor',
        text,
      );
    bad(encodeCursor(item, 'name', 'desc'));
    bad(encodeCursor(item, 'name', 'asc'), 'notAfter');
    bad('not base64 !');
    bad(Buffer.from('[1,2').toString('base64url'));
    bad(Buffer.from('["name","asc",5,1]').toString('base64url'));
    bad(Buffer.from('["name","asc","a",-1]').toString('base64url'));
    bad('A'.repeat(3000));
  });
});

describe('core list with search filters', () => {
  let location: TestLocation;
  let store: StoreHandle;
  let core: Core;
  let tenantId: number;

  before(async () => {
    location = await freshSqlite();
    store = await openStore(location.options({ masterKey: testMasterKey() }));
    core = createCore(store, { now: () => new Date(Date.UTC(2026, 0, 15)) });
    tenantId = (await makeTenant(store)).id;
    await store.certificates.insert(
      newCertificate(tenantId, {
        name: 'pay-api',
        facts: {
          domains: ['*.api.example.com'],
          sans: { dns: ['*.api.example.com'], ip: ['192.0.2.1'], email: [], uri: [] },
        },
      }),
      new Date(Date.UTC(2026, 0, 1)),
    );
  });
  after(async () => {
    await store?.close();
    await location?.cleanup();
  });

  it('answers a host one label under a wildcard, and refuses bad input before the store', async () => {
    const actor = cliActor(tenantId);
    const page = await core.certificates.list(actor, base({ coversHost: 'Foo.API.example.com' }));
    assert.deepEqual(
      page.items.map((i) => i.name),
      ['pay-api'],
    );
    assert.equal(page.totalExact, true);
    await assert.rejects(core.certificates.list(actor, base({ coversHost: 'a.*.b' })), (e: unknown) =>
      isAppErrorWithCode(e, 'invalid_argument'),
    );
    await assert.rejects(core.certificates.list(actor, base({ zone: 'ex\u0000ample.com' })), (e: unknown) =>
      isAppErrorWithCode(e, 'invalid_argument'),
    );
  });
});
