/**
 * The DNS adapter against a real BIND9 on loopback (test/helpers/bind.ts), and against tiny
 * servers of the test's own that never answer or answer garbage. No mock of DNS anywhere.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createSecretKey } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import {
  checkDelegation,
  challengeName,
  DcvError,
  delegationLabel,
  delegationTarget,
} from '../../src/core/issuance/dcv.ts';
import { parseTsigKey, signMessage, verifyResponse } from '../../src/dns/tsig.ts';
import { createDcvResolver, query, systemResolver } from '../../src/dns/resolver.ts';
import { createDnsUpdateZone } from '../../src/dns/update.ts';
import { exchange, parseServer, type DnsServer } from '../../src/dns/transport.ts';
import { CLASS, OPCODE, TYPE, canonicalName, decodeMessage, encodeMessage, encodeName } from '../../src/dns/wire.ts';
import { BIND_SKIP, DCV_ZONE, USER_ZONE, startBind, type BindServer } from '../helpers/bind.ts';

const clock = { now: () => new Date() };

/** Runs `fn`, which must reject with a DcvError of this kind; returns it. */
async function dcvFailure(fn: () => Promise<unknown>, kind: DcvError['kind']): Promise<DcvError> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof DcvError, `expected DcvError ${kind}, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    return error;
  }
  assert.fail(`expected DcvError ${kind}, got success`);
}

describe('dynamic updates and lookups on a real BIND9', { skip: BIND_SKIP }, () => {
  let bind: BindServer;
  let server: DnsServer;
  before(async () => {
    bind = await startBind();
    server = { host: bind.host, port: bind.port };
  });
  after(async () => {
    await bind?.stop();
  });

  const dcv = () => createDnsUpdateZone({ server, zone: DCV_ZONE, key: parseTsigKey(bind.dcvKey), clock });
  const resolver = () => createDcvResolver({ server, timeoutMs: 2000 });

  it('adds TXT values at one name without removing the others, removes one, then all', async () => {
    const zone = dcv();
    const name = `a1.${DCV_ZONE}`;
    await zone.addTxt(name, 'value-one');
    assert.deepEqual(await resolver().lookupTxt(name), ['value-one']);
    await zone.addTxt(name, 'value-two');
    await zone.addTxt(name, 'value-two'); // repeated: idempotent
    assert.deepEqual((await resolver().lookupTxt(name)).sort(), ['value-one', 'value-two']);
    await zone.removeTxt(name, 'value-one');
    await zone.removeTxt(name, 'value-one'); // repeated: idempotent
    assert.deepEqual(await resolver().lookupTxt(name), ['value-two']);
    await zone.addTxt(name, 'value-three');
    await zone.removeAllTxt(name);
    assert.deepEqual(await resolver().lookupTxt(name), []);
  });

  it('answers a user CNAME together with its target TXT values in one answer (what Pebble reads)', async () => {
    const labelKey = createSecretKey(Buffer.alloc(32, 1));
    const domain = `www.${USER_ZONE}`;
    const target = delegationTarget(labelKey, 42, domain, DCV_ZONE);
    // The user's CNAME, written with the users' key (DcvZone writes TXT only, by design).
    await addCname(server, bind.userKey, USER_ZONE, challengeName(domain), target);
    const zone = dcv();
    await zone.addTxt(target, 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0');
    await zone.addTxt(target, 'wildcard-value');

    const { message } = await query(server, challengeName(domain), TYPE.TXT, 2000);
    assert.equal(message.header.rcode, 0);
    assert.equal(message.answers.length, 3, JSON.stringify(message.answers));
    assert.deepEqual(
      message.answers.map((r) => [canonicalName(r.name), r.type]),
      [
        [challengeName(domain), TYPE.CNAME],
        [target, TYPE.TXT],
        [target, TYPE.TXT],
      ],
    );
    assert.deepEqual((await resolver().lookupTxt(challengeName(domain))).sort(), [
      'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0',
      'wildcard-value',
    ]);

    // The CNAME check, through the configured resolver and through node:dns pointed at BIND.
    const system = new Resolver({ timeout: 2000, tries: 1 });
    system.setServers([`${bind.host}:${bind.port}`]);
    for (const r of [resolver(), systemResolver(system)]) {
      assert.equal(await r.lookupCname(challengeName(domain)), target);
      assert.deepEqual(checkDelegation(await r.lookupCname(challengeName(domain)), target), { ok: true });
      assert.equal(await r.lookupCname(`_acme-challenge.nothing.${USER_ZONE}`), null); // NXDOMAIN
      assert.equal(await r.lookupCname(`www.${USER_ZONE}`), null); // an A record, no CNAME
      assert.deepEqual(await r.lookupTxt(`_acme-challenge.nothing.${USER_ZONE}`), []);
      assert.deepEqual(checkDelegation(await r.lookupCname(`_acme-challenge.nothing.${USER_ZONE}`), target), {
        ok: false,
        reason: 'missing',
      });
    }
    const other = delegationTarget(labelKey, 43, domain, DCV_ZONE);
    assert.deepEqual(checkDelegation(target, other), { ok: false, reason: 'wrong_target', found: target });
    await zone.removeAllTxt(target);
  });

  it('falls back to TCP when a TXT set does not fit in a UDP answer', async () => {
    const zone = dcv();
    const name = `big.${DCV_ZONE}`;
    const values = Array.from({ length: 30 }, (_, i) => `${String(i).padStart(2, '0')}-${'x'.repeat(41)}`);
    for (const value of values) await zone.addTxt(name, value);
    const { message, via } = await query(server, name, TYPE.TXT, 2000);
    assert.equal(via, 'tcp');
    assert.equal(message.answers.length, 30);
    assert.deepEqual((await resolver().lookupTxt(name)).sort(), values);
    // An update too big for 512 octets goes over TCP from the start.
    const long = 'y'.repeat(600);
    await zone.addTxt(name, long);
    assert.ok((await resolver().lookupTxt(name)).includes(long));
    await zone.removeAllTxt(name);
  });

  it('surfaces a wrong secret as BADSIG and an unknown key as BADKEY: retryable, secret not shown', async () => {
    const wrongSecret = Buffer.alloc(32, 9).toString('base64');
    const error = await dcvFailure(
      () =>
        createDnsUpdateZone({
          server,
          zone: DCV_ZONE,
          key: parseTsigKey(`hmac-sha256:dcv-key:${wrongSecret}`),
          clock,
        }).addTxt(`a2.${DCV_ZONE}`, 'v'),
      'tsig',
    );
    assert.equal(error.tsigError, 'BADSIG');
    assert.equal(error.rcode, 'NOTAUTH');
    // The operator's key to fix: the order waits for it (dcv.ts), it does not fail.
    assert.equal(error.retryable, true);
    assert.equal(error.code, 'unavailable');
    for (const text of [error.message, String(error.stack), JSON.stringify(error)]) {
      assert.ok(!text.includes(wrongSecret) && !text.includes(bind.dcvKey.split(':')[2]!), text);
    }
    const unknown = await dcvFailure(
      () =>
        createDnsUpdateZone({
          server,
          zone: DCV_ZONE,
          key: parseTsigKey(`hmac-sha256:nobody:${wrongSecret}`),
          clock,
        }).addTxt(`a2.${DCV_ZONE}`, 'v'),
      'tsig',
    );
    assert.equal(unknown.tsigError, 'BADKEY');
    // A clock an hour off: BIND answers BADTIME.
    const skewed = { now: () => new Date(Date.now() + 3600_000) };
    const badTime = await dcvFailure(
      () =>
        createDnsUpdateZone({ server, zone: DCV_ZONE, key: parseTsigKey(bind.dcvKey), clock: skewed }).addTxt(
          `a2.${DCV_ZONE}`,
          'v',
        ),
      'tsig',
    );
    assert.equal(badTime.tsigError, 'BADTIME');
    assert.deepEqual(await resolver().lookupTxt(`a2.${DCV_ZONE}`), []);
  });

  it('surfaces an update the policy does not allow as REFUSED, not retryable', async () => {
    // The dcv key may not write in the users' zone.
    const error = await dcvFailure(
      () =>
        createDnsUpdateZone({ server, zone: USER_ZONE, key: parseTsigKey(bind.dcvKey), clock }).addTxt(
          `_acme-challenge.evil.${USER_ZONE}`,
          'v',
        ),
      'refused',
    );
    assert.equal(error.rcode, 'REFUSED');
    assert.equal(error.retryable, false);
    assert.match(error.message, /update policy/);
    // A zone the server does not serve at all.
    const notAuth = await dcvFailure(
      () =>
        createDnsUpdateZone({ server, zone: 'elsewhere.test', key: parseTsigKey(bind.dcvKey), clock }).addTxt(
          'x.elsewhere.test',
          'v',
        ),
      'refused',
    );
    assert.equal(notAuth.rcode, 'NOTAUTH');
    // A name outside the configured zone never leaves the process.
    await dcvFailure(() => dcv().addTxt(`x.${USER_ZONE}`, 'v'), 'config');
  });
});

/** Adds a CNAME in the users' zone through an RFC 2136 update signed with the users' key. */
async function addCname(server: DnsServer, keyText: string, zone: string, name: string, target: string): Promise<void> {
  const key = parseTsigKey(keyText);
  const unsigned = encodeMessage({
    header: { id: 4242, qr: false, opcode: OPCODE.UPDATE, aa: false, tc: false, rd: false, ra: false, rcode: 0 },
    questions: [{ name: zone, type: TYPE.SOA, class: CLASS.IN }],
    authority: [{ name, type: TYPE.CNAME, class: CLASS.IN, ttl: 60, rdata: encodeName(target), data: { kind: 'raw' } }],
  });
  const now = Math.floor(Date.now() / 1000);
  const { signed, mac } = signMessage(unsigned, key, now);
  const { bytes } = await exchange(server, signed, 2000);
  const response = decodeMessage(bytes);
  verifyResponse(bytes, response, key, mac, now, 'bind');
  assert.equal(response.header.rcode, 0);
}

describe('servers that do not answer, or answer garbage', () => {
  const servers: Socket[] = [];
  after(() => servers.forEach((s) => s.close()));

  /** A UDP server on loopback that answers each request with `reply(request)` (or not at all). */
  async function udpServer(reply: (request: Buffer) => Buffer | null): Promise<DnsServer> {
    const socket = createSocket('udp4');
    servers.push(socket);
    socket.on('message', (request, peer) => {
      const bytes = reply(request);
      if (bytes) socket.send(bytes, peer.port, peer.address);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return { host: '127.0.0.1', port: socket.address().port };
  }

  /** The request's ID and question echoed with QR set, followed by `rest` of the caller's making. */
  const echo = (request: Buffer, flags = 0x8180, counts = [1, 0, 0, 0], rest = Buffer.alloc(0)) => {
    const out = Buffer.from(request);
    out.writeUInt16BE(flags, 2);
    counts.forEach((c, i) => out.writeUInt16BE(c, 4 + 2 * i));
    return Buffer.concat([out, rest]);
  };

  it('gives a retryable timeout error when nobody answers, within the timeout', async () => {
    const silent = await udpServer(() => null);
    // Nobody answers, so a 'timeout' failure is the resolver's own timer firing.
    const error = await dcvFailure(
      () => createDcvResolver({ server: silent, timeoutMs: 300 }).lookupTxt('a.test'),
      'timeout',
    );
    assert.equal(error.retryable, true);
    assert.equal(error.code, 'unavailable');
    const update = createDnsUpdateZone({
      server: silent,
      zone: 'a.test',
      key: parseTsigKey(`hmac-sha256:k:${'A'.repeat(44)}`),
      clock,
      timeoutMs: 300,
    });
    await dcvFailure(() => update.addTxt('x.a.test', 'v'), 'timeout');
  });

  it('gives a retryable network error when the port is closed', async () => {
    const gone = await udpServer(() => null);
    servers.pop()!.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const error = await dcvFailure(
      () => createDcvResolver({ server: gone, timeoutMs: 1000 }).lookupTxt('a.test'),
      'network',
    );
    assert.equal(error.retryable, true);
  });

  it('ignores packets that are not the response, and refuses answers that do not decode', async () => {
    const cases: Array<[string, (request: Buffer) => Buffer | null, DcvError['kind']]> = [
      ['three bytes', () => Buffer.from([1, 2, 3]), 'timeout'],
      [
        'another ID',
        (r) => {
          const out = echo(r);
          out.writeUInt16BE((r.readUInt16BE(0) + 1) & 0xffff, 0);
          return out;
        },
        'timeout',
      ],
      ['QR clear', (r) => echo(r, 0x0100), 'timeout'],
      ['a header only with a question count', (r) => echo(r).subarray(0, 12), 'malformed'],
      [
        'an answer cut short',
        (r) => echo(r, 0x8180, [1, 1, 0, 0], Buffer.from([0xc0, 0x0c, 0, 16, 0, 1])),
        'malformed',
      ],
      [
        'a compression loop',
        (r) => echo(r, 0x8180, [1, 1, 0, 0], Buffer.from([0xc0, r.length, 0, 16, 0, 1, 0, 0, 0, 60, 0, 0])),
        'malformed',
      ],
      [
        'an RDLENGTH past the end',
        (r) => echo(r, 0x8180, [1, 1, 0, 0], Buffer.from([0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 60, 0xff, 0xff, 1])),
        'malformed',
      ],
      [
        'a TXT string past its record',
        (r) => echo(r, 0x8180, [1, 1, 0, 0], Buffer.from([0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 60, 0, 2, 9, 0x61])),
        'malformed',
      ],
      [
        'another question',
        (r) => {
          const out = echo(r);
          out[13] = 0x7a;
          return out;
        },
        'malformed',
      ],
      [
        'random bytes with the right ID',
        (r) => {
          const out = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff));
          r.copy(out, 0, 0, 2);
          out[2] = 0x81;
          return out;
        },
        'malformed',
      ],
      ['SERVFAIL', (r) => echo(r, 0x8182), 'refused'],
      ['TC set, and no TCP listener', (r) => echo(r, 0x8380), 'network'],
    ];
    for (const [what, reply, kind] of cases) {
      const server = await udpServer(reply);
      const error = await dcvFailure(
        () => createDcvResolver({ server, timeoutMs: 300 }).lookupTxt('a.test'),
        kind,
      ).catch((e: unknown) => assert.fail(`${what}: ${String(e)}`));
      assert.equal(error.kind, kind, what);
    }
  });

  it('refuses an unsigned or wrongly signed answer to an update', async () => {
    const key = parseTsigKey(`hmac-sha256:k:${'A'.repeat(44)}`);
    const unsigned = await udpServer((r) => {
      const out = Buffer.from(r.subarray(0, r.length - 74)); // the TSIG RR cut off: k. (3) + 10 + RDATA (61)
      out.writeUInt16BE(0xa800, 2);
      out.writeUInt16BE(0, 10);
      return out;
    });
    const error = await dcvFailure(
      () =>
        createDnsUpdateZone({ server: unsigned, zone: 'a.test', key, clock, timeoutMs: 500 }).addTxt('x.a.test', 'v'),
      'tsig',
    );
    assert.match(error.message, /without a TSIG signature/);
    // Our own request echoed back as the answer: signed by the key, but over the request alone.
    const echoed = await udpServer((r) => {
      const out = Buffer.from(r);
      out.writeUInt16BE(0xa800, 2);
      return out;
    });
    const forged = await dcvFailure(
      () => createDnsUpdateZone({ server: echoed, zone: 'a.test', key, clock, timeoutMs: 500 }).addTxt('x.a.test', 'v'),
      'tsig',
    );
    assert.equal(forged.tsigError, 'BADSIG');
  });
});

describe('configuration text and the delegation label', () => {
  it('parses host:port', () => {
    assert.deepEqual(parseServer('127.0.0.1:5353', 'X'), { host: '127.0.0.1', port: 5353 });
    assert.deepEqual(parseServer('[::1]:53', 'X'), { host: '::1', port: 53 });
    assert.deepEqual(parseServer('ns1.example.test', 'X'), { host: 'ns1.example.test', port: 53 });
    for (const bad of ['', ':53', '1.2.3.4:0', '1.2.3.4:65536', '::1:53', 'h:x'])
      assert.throws(
        () => parseServer(bad, 'CERTKEEPER_DCV_DNS_SERVER'),
        (e: unknown) => e instanceof DcvError && e.kind === 'config' && /CERTKEEPER_DCV_DNS_SERVER/.test(e.message),
      );
  });

  it('derives a stable 32-character base32 label per tenant and domain (HMAC-SHA256, first 20 bytes)', () => {
    const key = createSecretKey(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
    const label = delegationLabel(key, 7, 'Example.COM.');
    // Independently: HMAC, then base32 by BigInt (160 bits = 32 digits of 5 bits).
    const mac = createHmac('sha256', key).update('7\0example.com').digest().subarray(0, 20);
    const bits = BigInt(`0x${mac.toString('hex')}`);
    const expected = Array.from(
      { length: 32 },
      (_, i) => 'abcdefghijklmnopqrstuvwxyz234567'[Number((bits >> BigInt(155 - 5 * i)) & 31n)],
    ).join('');
    assert.equal(label, expected);
    assert.match(label, /^[a-z2-7]{32}$/);
    assert.equal(delegationLabel(key, 7, '*.example.com'), label); // wildcard and apex share it
    assert.notEqual(delegationLabel(key, 8, 'example.com'), label); // per tenant
    assert.notEqual(delegationLabel(createSecretKey(Buffer.alloc(16)), 7, 'example.com'), label); // keyed
    assert.equal(challengeName('*.Example.com'), '_acme-challenge.example.com');
    assert.equal(delegationTarget(key, 7, 'example.com', 'DCV.Example.net.'), `${label}.dcv.example.net`);
  });
});
