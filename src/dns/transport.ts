/**
 * One DNS exchange: a request out, its response back, over UDP with TCP fallback.
 *
 * - UDP first, on a socket connected to the server (the kernel drops datagrams from anyone
 *   else). A datagram that is not a response to this request (too short, another ID, QR clear)
 *   is ignored and the wait goes on, so a stray or spoofed packet cannot end the exchange. The
 *   request is sent again after a third of the timeout without an answer (both kinds of message
 *   certkeeper sends are idempotent).
 * - A response with TC set, or a request too big for a plain UDP datagram (512 octets, RFC 1035
 *   4.2.1; no EDNS is sent), goes over TCP (RFC 7766): two-octet length prefix, one message.
 * - `timeoutMs` bounds each transport's wait. Every failure is a `DcvError` (`timeout`,
 *   `network`, `malformed`); nothing else escapes, and sockets are closed on every path.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP, Socket as TcpSocket } from 'node:net';
import { DcvError } from '../core/issuance/dcv.ts';

export interface DnsServer {
  host: string;
  port: number;
}

export const UDP_LIMIT = 512;

/** `host:port`, `[v6]:port`; the port defaults to 53. */
export function parseServer(text: string, setting: string): DnsServer {
  const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(text.trim()) ?? /^([^:[\]]+)(?::(\d+))?$/.exec(text.trim());
  const port = match?.[2] === undefined ? 53 : Number(match[2]);
  if (!match || !match[1] || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new DcvError('config', `${setting} must be host:port (e.g. 127.0.0.1:53 or [::1]:53), not "${text}".`);
  return { host: match[1], port };
}

export function describeServer(server: DnsServer): string {
  return isIP(server.host) === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

export interface ExchangeResult {
  bytes: Buffer;
  via: 'udp' | 'tcp';
}

/** Sends `request` (its first two octets are its ID) and returns the matching response's bytes. */
export async function exchange(server: DnsServer, request: Buffer, timeoutMs: number): Promise<ExchangeResult> {
  const address = await resolveHost(server);
  if (request.length <= UDP_LIMIT) {
    const bytes = await exchangeUdp(server, address, request, timeoutMs);
    if ((bytes.readUInt16BE(2) & 0x0200) === 0) return { bytes, via: 'udp' };
  }
  return { bytes: await exchangeTcp(server, address, request, timeoutMs), via: 'tcp' };
}

async function resolveHost(server: DnsServer): Promise<string> {
  if (isIP(server.host)) return server.host;
  try {
    return (await lookup(server.host)).address;
  } catch (error) {
    throw new DcvError('network', `The DNS server's host name ${server.host} does not resolve.`, { cause: error });
  }
}

function isResponseTo(request: Buffer, bytes: Buffer): boolean {
  return bytes.length >= 12 && bytes.readUInt16BE(0) === request.readUInt16BE(0) && (bytes[2]! & 0x80) !== 0;
}

function networkError(server: DnsServer, via: string, error: unknown): DcvError {
  const code = (error as { code?: string }).code ?? 'error';
  return new DcvError(
    'network',
    `The DNS server ${describeServer(server)} could not be reached over ${via} (${code}).`,
    {
      cause: error,
    },
  );
}

function timeoutError(server: DnsServer, via: string, timeoutMs: number): DcvError {
  return new DcvError(
    'timeout',
    `The DNS server ${describeServer(server)} did not answer over ${via} within ${timeoutMs} ms.`,
  );
}

function exchangeUdp(server: DnsServer, address: string, request: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket: UdpSocket = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (error: DcvError | null, bytes?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      clearInterval(resend);
      socket.close();
      if (error) reject(error);
      else resolve(bytes!);
    };
    const send = () => socket.send(request, (error) => error && finish(networkError(server, 'UDP', error)));
    const deadline = setTimeout(() => finish(timeoutError(server, 'UDP', timeoutMs)), timeoutMs);
    const resend = setInterval(send, Math.max(1, Math.floor(timeoutMs / 3)));
    socket.on('error', (error) => finish(networkError(server, 'UDP', error)));
    // ICMP port unreachable shows up as an error on a connected socket: ECONNREFUSED.
    socket.on('message', (bytes) => {
      if (isResponseTo(request, bytes)) finish(null, bytes);
    });
    socket.connect(server.port, address, send);
  });
}

function exchangeTcp(server: DnsServer, address: string, request: Buffer, timeoutMs: number): Promise<Buffer> {
  if (request.length > 0xffff)
    return Promise.reject(new DcvError('config', 'The DNS request is longer than 65535 octets.'));
  return new Promise((resolve, reject) => {
    const socket = new TcpSocket();
    let done = false;
    let received = Buffer.alloc(0);
    const finish = (error: DcvError | null, bytes?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      socket.destroy();
      if (error) reject(error);
      else resolve(bytes!);
    };
    const deadline = setTimeout(() => finish(timeoutError(server, 'TCP', timeoutMs)), timeoutMs);
    socket.on('error', (error) => finish(networkError(server, 'TCP', error)));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      // Responses may come one after another on the stream; take the first complete one that
      // answers this request.
      while (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        const message = received.subarray(2, 2 + received.readUInt16BE(0));
        received = received.subarray(2 + message.length);
        if (isResponseTo(request, message)) return finish(null, Buffer.from(message));
      }
    });
    socket.on('end', () =>
      finish(
        new DcvError(
          'malformed',
          `The DNS server ${describeServer(server)} closed the TCP connection without an answer.`,
        ),
      ),
    );
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(request.length, 0);
    socket.connect(server.port, address, () => socket.write(Buffer.concat([prefix, request])));
  });
}
