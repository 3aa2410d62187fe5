/**
 * `DcvZone` over RFC 2136 dynamic updates signed with TSIG (BIND, Knot and PowerDNS accept them).
 *
 * One UPDATE message per call: zone section `<zone> SOA IN`, no prerequisites, one update RR:
 *   add one value:        <name> <ttl> IN   TXT "<value>"    (RFC 2136 2.5.1)
 *   delete one value:     <name> 0     NONE TXT "<value>"    (2.5.4)
 *   delete every value:   <name> 0     ANY  TXT              (2.5.2)
 * The server ignores an add of a value already there and a delete of one that is not
 * (RFC 2136 3.4.2), which makes every call safe to repeat.
 *
 * The response must carry our request's ID, opcode UPDATE, and a TSIG that verifies
 * (tsig.ts); NOERROR is success, any other RCODE a `DcvError('refused')` naming it.
 */
import { randomInt } from 'node:crypto';
import { DcvError, type DcvZone } from '../core/issuance/dcv.ts';
import type { Clock } from '../core/ports.ts';
import { signMessage, verifyResponse, type TsigKey } from './tsig.ts';
import { describeServer, exchange, type DnsServer } from './transport.ts';
import type { WireError } from './wire.ts';
import {
  CLASS,
  OPCODE,
  TYPE,
  canonicalName,
  decodeMessage,
  encodeMessage,
  rcodeName,
  txtRdata,
  type DecodedMessage,
  type ResourceRecord,
} from './wire.ts';

export interface DnsUpdateOptions {
  server: DnsServer;
  zone: string;
  key: TsigKey;
  clock: Clock;
  /** TTL of the TXT records written (seconds). Short: values live minutes. */
  ttl?: number;
  timeoutMs?: number;
}

export const DEFAULT_TXT_TTL = 60;
export const DEFAULT_TIMEOUT_MS = 5000;

export function createDnsUpdateZone(options: DnsUpdateOptions): DcvZone {
  const zone = canonicalName(options.zone);
  const ttl = options.ttl ?? DEFAULT_TXT_TTL;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const server = describeServer(options.server);

  function checkName(name: string): string {
    const canonical = canonicalName(name);
    if (canonical !== zone && !canonical.endsWith(`.${zone}`))
      throw new DcvError('config', `The name ${canonical} is not in the dcv zone ${zone}.`);
    return canonical;
  }

  async function update(action: string, record: ResourceRecord): Promise<void> {
    const id = randomInt(0, 0x10000);
    let unsigned: Buffer;
    try {
      unsigned = encodeMessage({
        header: { id, qr: false, opcode: OPCODE.UPDATE, aa: false, tc: false, rd: false, ra: false, rcode: 0 },
        questions: [{ name: zone, type: TYPE.SOA, class: CLASS.IN }],
        authority: [record],
      });
    } catch (error) {
      throw new DcvError('config', `Cannot ${action}: ${(error as Error).message}.`);
    }
    const { signed, mac } = signMessage(unsigned, options.key, Math.floor(options.clock.now().getTime() / 1000));
    const { bytes } = await exchange(options.server, signed, timeoutMs);
    let response: DecodedMessage;
    try {
      response = decodeMessage(bytes);
    } catch (error) {
      throw new DcvError(
        'malformed',
        `The DNS server ${server} sent an answer that does not decode (${(error as WireError).message}).`,
        {
          cause: error,
        },
      );
    }
    if (response.header.opcode !== OPCODE.UPDATE)
      throw new DcvError(
        'malformed',
        `The DNS server ${server} answered the update with opcode ${response.header.opcode}.`,
      );
    verifyResponse(bytes, response, options.key, mac, Math.floor(options.clock.now().getTime() / 1000), server);
    if (response.header.rcode !== 0) {
      const rcode = rcodeName(response.header.rcode);
      throw new DcvError('refused', `The DNS server ${server} refused to ${action} with ${rcode}${hint(rcode)}.`, {
        rcode,
      });
    }
  }

  function hint(rcode: string): string {
    switch (rcode) {
      case 'REFUSED':
        return ` (its update policy does not let the key "${options.key.name}" write TXT records there)`;
      case 'NOTAUTH':
        return ` (it is not authoritative for ${zone}, or does not accept the key "${options.key.name}")`;
      case 'NOTZONE':
        return ` (the name is not in ${zone})`;
      default:
        return '';
    }
  }

  return {
    zone,
    async addTxt(name, value) {
      const owner = checkName(name);
      return update(`add a TXT value at ${owner}`, {
        name: owner,
        type: TYPE.TXT,
        class: CLASS.IN,
        ttl,
        rdata: txtRdata(value),
        data: { kind: 'raw' },
      });
    },
    async removeTxt(name, value) {
      const owner = checkName(name);
      return update(`remove a TXT value at ${owner}`, {
        name: owner,
        type: TYPE.TXT,
        class: CLASS.NONE,
        ttl: 0,
        rdata: txtRdata(value),
        data: { kind: 'raw' },
      });
    },
    async removeAllTxt(name) {
      const owner = checkName(name);
      return update(`remove the TXT values at ${owner}`, {
        name: owner,
        type: TYPE.TXT,
        class: CLASS.ANY,
        ttl: 0,
        rdata: Buffer.alloc(0),
        data: { kind: 'raw' },
      });
    },
  };
}
