/**
 * An IP address as a person or script writes it → the one form certkeeper prints and stores for
 * IP SANs (inspect.ts `formatIpAddress`: dotted quad; RFC 5952 for IPv6, IPv4-mapped as
 * `::ffff:192.0.2.1`), so `2001:DB8:0:0::1`, `[2001:db8::1]` and `2001:0db8::0:1` are one address.
 */
import { formatIpAddress } from './inspect.ts';

const IPV4 = /^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/;
const GROUP = /^[0-9a-fA-F]{1,4}$/;

/** The four bytes of a dotted quad (no leading zeros, each part at most 255), or null. */
function ipv4Bytes(text: string): number[] | null {
  const match = IPV4.exec(text);
  if (!match) return null;
  const bytes = match.slice(1, 5).map(Number);
  return bytes.every((b) => b <= 255) ? bytes : null;
}

/** 16-bit groups of one side of `::` (possibly ending in a dotted quad), or null. */
function groupsOf(side: string, last: boolean): number[] | null {
  if (side === '') return [];
  const parts = side.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (last && i === parts.length - 1 && part.includes('.')) {
      const quad = ipv4Bytes(part);
      if (!quad) return null;
      groups.push((quad[0]! << 8) | quad[1]!, (quad[2]! << 8) | quad[3]!);
    } else if (GROUP.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return null;
    }
  }
  return groups;
}

/** The canonical text of an IPv4 or IPv6 address (brackets allowed around IPv6), or null when it is not one. */
export function canonicalIpAddress(text: string): string | null {
  const quad = ipv4Bytes(text);
  if (quad) return formatIpAddress(String.fromCharCode(...quad));
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (!bare.includes(':') || bare.length > 45) return null;
  const halves = bare.split('::');
  if (halves.length > 2) return null;
  let groups: number[];
  if (halves.length === 2) {
    const head = groupsOf(halves[0]!, false);
    const tail = groupsOf(halves[1]!, true);
    if (!head || !tail || head.length + tail.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = groupsOf(bare, true);
    if (!all || all.length !== 8) return null;
    groups = all;
  }
  return formatIpAddress(groups.map((g) => String.fromCharCode(g >> 8, g & 0xff)).join(''));
}
