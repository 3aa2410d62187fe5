/**
 * `DcvResolver`: reads DNS as the CA will, to check a user's `_acme-challenge` CNAME before an
 * order asks the CA to validate (CERTKEEPER_DCV_RESOLVER, host:port), or through the system's
 * resolver (node:dns, /etc/resolv.conf) when none is configured.
 *
 * With a configured resolver, each lookup is one recursive query (RD set, no EDNS) through
 * transport.ts (UDP, TCP on truncation). The response must answer our question (same ID, QR set,
 * opcode QUERY, the question echoed) or it is `malformed`. NXDOMAIN and an empty answer are "no
 * record"; SERVFAIL is a retryable `refused`; any other error RCODE a non-retryable one.
 */
import { randomInt } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { DcvError, type DcvResolver } from '../core/issuance/dcv.ts';
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
  type DecodedMessage,
} from './wire.ts';

export interface QueryResult {
  message: DecodedMessage;
  via: 'udp' | 'tcp';
}

/** One recursive query; returns the decoded response whatever its RCODE. */
export async function query(server: DnsServer, name: string, type: number, timeoutMs: number): Promise<QueryResult> {
  const qname = canonicalName(name);
  const id = randomInt(0, 0x10000);
  let request: Buffer;
  try {
    request = encodeMessage({
      header: { id, qr: false, opcode: OPCODE.QUERY, aa: false, tc: false, rd: true, ra: false, rcode: 0 },
      questions: [{ name: qname, type, class: CLASS.IN }],
    });
  } catch (error) {
    throw new DcvError('config', `Cannot look up ${name}: ${(error as WireError).message}.`);
  }
  const { bytes, via } = await exchange(server, request, timeoutMs);
  const where = describeServer(server);
  let message: DecodedMessage;
  try {
    message = decodeMessage(bytes);
  } catch (error) {
    throw new DcvError(
      'malformed',
      `The resolver ${where} sent an answer that does not decode (${(error as WireError).message}).`,
      {
        cause: error,
      },
    );
  }
  const question = message.questions[0];
  if (
    message.header.opcode !== OPCODE.QUERY ||
    message.questions.length !== 1 ||
    !question ||
    canonicalName(question.name) !== qname ||
    question.type !== type ||
    question.class !== CLASS.IN
  )
    throw new DcvError('malformed', `The resolver ${where} answered another question than ${qname}.`);
  return { message, via };
}

/**
 * Follows the CNAME chain from `name` through the answer section (bounded), returning the final
 * owner name and the records of `type` there.
 */
export function answerChain(
  message: DecodedMessage,
  name: string,
  type: number,
): { owner: string; records: DecodedMessage['answers'] } {
  let owner = canonicalName(name);
  for (let hops = 0; hops <= 16; hops++) {
    const records = message.answers.filter(
      (r) => r.class === CLASS.IN && r.type === type && canonicalName(r.name) === owner,
    );
    if (records.length > 0 || type === TYPE.CNAME) return { owner, records };
    const cname = message.answers.find((r) => r.type === TYPE.CNAME && canonicalName(r.name) === owner);
    if (!cname || cname.data.kind !== 'name') return { owner, records: [] };
    owner = canonicalName(cname.data.name);
  }
  return { owner, records: [] };
}

function checkRcode(message: DecodedMessage, where: string, name: string): 'empty' | 'ok' {
  const rcode = rcodeName(message.header.rcode);
  if (rcode === 'NOERROR') return 'ok';
  if (rcode === 'NXDOMAIN') return 'empty';
  throw new DcvError('refused', `The resolver ${where} answered ${rcode} for ${canonicalName(name)}.`, { rcode });
}

export interface ResolverOptions {
  /** The resolver to ask; the system's when absent. */
  server?: DnsServer;
  timeoutMs?: number;
}

export function createDcvResolver(options: ResolverOptions = {}): DcvResolver {
  const timeoutMs = options.timeoutMs ?? 5000;
  const server = options.server;
  if (!server) return systemResolver(new Resolver({ timeout: timeoutMs, tries: 2 }));
  const where = describeServer(server);
  return {
    async lookupCname(name) {
      const { message } = await query(server, name, TYPE.CNAME, timeoutMs);
      if (checkRcode(message, where, name) === 'empty') return null;
      const record = answerChain(message, name, TYPE.CNAME).records[0];
      return record && record.data.kind === 'name' ? canonicalName(record.data.name) : null;
    },
    async lookupTxt(name) {
      const { message } = await query(server, name, TYPE.TXT, timeoutMs);
      if (checkRcode(message, where, name) === 'empty') return [];
      return answerChain(message, name, TYPE.TXT).records.flatMap((r) =>
        r.data.kind === 'txt' ? [Buffer.concat(r.data.strings).toString('utf8')] : [],
      );
    },
  };
}

/**
 * The same contract over node:dns (c-ares). `resolver` is exposed for tests, which point it at a
 * local server with `setServers`; in production it reads /etc/resolv.conf.
 */
export function systemResolver(resolver: Resolver): DcvResolver {
  const where = 'of the system';
  const map = (error: unknown, name: string): DcvError | 'empty' => {
    const code = (error as { code?: string }).code ?? '';
    if (code === 'ENODATA' || code === 'ENOTFOUND') return 'empty';
    const qname = canonicalName(name);
    if (code === 'ETIMEOUT')
      return new DcvError('timeout', `The resolver ${where} did not answer for ${qname} in time.`);
    if (code === 'ESERVFAIL')
      return new DcvError('refused', `The resolver ${where} answered SERVFAIL for ${qname}.`, {
        rcode: 'SERVFAIL',
        cause: error,
      });
    if (code === 'EREFUSED')
      return new DcvError('refused', `The resolver ${where} answered REFUSED for ${qname}.`, {
        rcode: 'REFUSED',
        cause: error,
      });
    if (code === 'EBADRESP' || code === 'EFORMERR')
      return new DcvError('malformed', `The resolver ${where} sent a bad answer for ${qname} (${code}).`, {
        cause: error,
      });
    if (code === 'EBADNAME')
      return new DcvError('config', `Cannot look up ${qname}: not a domain name.`, { cause: error });
    return new DcvError('network', `The resolver ${where} could not be asked about ${qname} (${code || 'error'}).`, {
      cause: error,
    });
  };
  return {
    async lookupCname(name) {
      try {
        const [target] = await resolver.resolveCname(canonicalName(name));
        return target === undefined ? null : canonicalName(target);
      } catch (error) {
        const mapped = map(error, name);
        if (mapped === 'empty') return null;
        throw mapped;
      }
    },
    async lookupTxt(name) {
      try {
        return (await resolver.resolveTxt(canonicalName(name))).map((strings) => strings.join(''));
      } catch (error) {
        const mapped = map(error, name);
        if (mapped === 'empty') return [];
        throw mapped;
      }
    },
  };
}
