/**
 * Which network addresses a tenant's channel may reach. A tenant sets the URL or SMTP host; the
 * server makes the call. Without a rule a tenant could make the server call its own admin
 * endpoints on loopback or a cloud metadata service on a link-local address (169.254.169.254),
 * so those are refused unless the operator allows them (`CERTKEEPER_NOTIFY_ALLOW_PRIVATE=1`,
 * also what the tests use to reach their receivers on 127.0.0.1).
 *
 * The rule is applied twice: to the host as typed (a literal address or `localhost`) when the
 * channel is saved, and by the senders (src/notifiers/) to every address the host name resolves
 * to, at each connection, so a DNS name pointing at 127.0.0.1 is refused as well.
 */
import { isIP } from 'node:net';

/** Loopback, link-local, unspecified, or an IPv4-mapped IPv6 form of those. */
export function isForbiddenAddress(address: string): boolean {
  const host = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = isIP(host);
  if (family === 4) {
    const [a, b] = host.split('.').map(Number) as [number, number];
    return a === 127 || a === 0 || (a === 169 && b === 254);
  }
  if (family === 6) {
    const lower = host.toLowerCase();
    const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped) return isForbiddenAddress(mapped[1]!);
    const groups = expandIpv6(lower);
    if (groups.every((g) => g === 0)) return true; // ::
    if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return true; // ::1
    if ((groups[0]! & 0xffc0) === 0xfe80) return true; // fe80::/10
    if (groups.slice(0, 6).every((g, i) => g === (i === 5 ? 0xffff : 0))) return true; // mapped, hex form
    return false;
  }
  return false;
}

function expandIpv6(address: string): number[] {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, null];
  const parse = (part: string | undefined) => (part ? part.split(':').filter((g) => g !== '') : []);
  const front = parse(head);
  const back = tail === null ? [] : parse(tail);
  const fill = tail === null ? [] : new Array<string>(Math.max(8 - front.length - back.length, 0)).fill('0');
  return [...front, ...fill, ...back].map((g) => parseInt(g, 16) || 0);
}

/** The host as typed, before resolution: `localhost` (and its subdomains) or a forbidden literal. */
export function isForbiddenHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return host === 'localhost' || host.endsWith('.localhost') || isForbiddenAddress(host);
}
