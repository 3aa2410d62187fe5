/**
 * What a user does in their own DNS: create the `_acme-challenge` CNAME certkeeper asked for (or,
 * for HTTP-01, an A record pointing the name at the server), in the test BIND's users' zone, with
 * an RFC 2136 update signed with the users' key (certkeeper's DcvZone writes TXT records in the
 * dcv zone only, by design).
 */
import assert from 'node:assert/strict';
import { exchange } from '../../src/dns/transport.ts';
import { parseTsigKey, signMessage, verifyResponse } from '../../src/dns/tsig.ts';
import { CLASS, OPCODE, TYPE, decodeMessage, encodeMessage, encodeName } from '../../src/dns/wire.ts';
import { USER_ZONE, type BindServer } from '../helpers/bind.ts';

async function addUserRecord(bind: BindServer, name: string, type: number, rdata: Buffer): Promise<void> {
  const key = parseTsigKey(bind.userKey);
  const unsigned = encodeMessage({
    header: { id: 4243, qr: false, opcode: OPCODE.UPDATE, aa: false, tc: false, rd: false, ra: false, rcode: 0 },
    questions: [{ name: USER_ZONE, type: TYPE.SOA, class: CLASS.IN }],
    authority: [{ name, type, class: CLASS.IN, ttl: 60, rdata, data: { kind: 'raw' } }],
  });
  const now = Math.floor(Date.now() / 1000);
  const { signed, mac } = signMessage(unsigned, key, now);
  const { bytes } = await exchange({ host: bind.host, port: bind.port }, signed, 2000);
  const response = decodeMessage(bytes);
  verifyResponse(bytes, response, key, mac, now, 'bind');
  assert.equal(response.header.rcode, 0, `the users zone took the record at ${name}`);
}

export function addUserCname(bind: BindServer, name: string, target: string): Promise<void> {
  return addUserRecord(bind, name, TYPE.CNAME, encodeName(target));
}

/** `name` A `address` (IPv4 dotted quad). */
export function addUserA(bind: BindServer, name: string, address: string): Promise<void> {
  return addUserRecord(bind, name, TYPE.A, Buffer.from(address.split('.').map(Number)));
}
