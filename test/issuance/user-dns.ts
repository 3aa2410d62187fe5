/**
 * What a user does in their own DNS: create the `_acme-challenge` CNAME certkeeper asked for, in
 * the test BIND's users' zone, with an RFC 2136 update signed with the users' key (certkeeper's
 * DcvZone writes TXT records in the dcv zone only, by design).
 */
import assert from 'node:assert/strict';
import { exchange } from '../../src/dns/transport.ts';
import { parseTsigKey, signMessage, verifyResponse } from '../../src/dns/tsig.ts';
import { CLASS, OPCODE, TYPE, decodeMessage, encodeMessage, encodeName } from '../../src/dns/wire.ts';
import { USER_ZONE, type BindServer } from '../helpers/bind.ts';

export async function addUserCname(bind: BindServer, name: string, target: string): Promise<void> {
  const key = parseTsigKey(bind.userKey);
  const unsigned = encodeMessage({
    header: { id: 4243, qr: false, opcode: OPCODE.UPDATE, aa: false, tc: false, rd: false, ra: false, rcode: 0 },
    questions: [{ name: USER_ZONE, type: TYPE.SOA, class: CLASS.IN }],
    authority: [{ name, type: TYPE.CNAME, class: CLASS.IN, ttl: 60, rdata: encodeName(target), data: { kind: 'raw' } }],
  });
  const now = Math.floor(Date.now() / 1000);
  const { signed, mac } = signMessage(unsigned, key, now);
  const { bytes } = await exchange({ host: bind.host, port: bind.port }, signed, 2000);
  const response = decodeMessage(bytes);
  verifyResponse(bytes, response, key, mac, now, 'bind');
  assert.equal(response.header.rcode, 0, 'the users zone took the CNAME');
}
