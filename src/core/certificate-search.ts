/**
 * The search's rules, for every face (console, its JSON API, the CLI): what a host, a zone, an IP
 * address and a substring must look like, how each is normalised before the store sees it, what
 * the one search box means, and the keyset cursors. Pure: no I/O.
 *
 * - Hosts and zones: ASCII lower-cased A-labels (a Unicode name is converted with UTS #46, as
 *   issuance does), one trailing dot dropped, at most 253 characters, labels of 1-63 letters,
 *   digits, hyphens or underscores, no empty label. `*` only as the whole first label: for
 *   `coversHost` it names a wildcard (covered only by the same wildcard); for `zone`, `*.example.com`
 *   is the zone `example.com`. A host that is an IP address searches the IP SANs.
 * - IP addresses: IPv4 dotted quads or IPv6 in any textual form (brackets allowed), normalised by
 *   domain/x509/ip-address.ts to the form IP SANs are stored in.
 * - Substrings (`nameContains`, `domainContains`): 3 to 255 characters. Shorter ones are refused
 *   (field, and a message saying so) rather than answered by reading every name: a substring
 *   index needs three characters. LIKE metacharacters (`%`, `_`, `\`) and regex characters are
 *   literal text.
 * - The search box (`searchBoxFilter`): `ip`, `host:` / `zone:` / `name:` / `domain:` prefixes say
 *   what is meant; otherwise an IP address is an IP SAN search, `*.example.com` a zone, a dotted
 *   DNS name a "covers host" search, and anything else a name substring.
 */
import { domainToASCII } from 'node:url';
import { AppError } from '../domain/errors.ts';
import type { CertificateSummary } from '../domain/model.ts';
import { asciiLower } from '../domain/text.ts';
import { canonicalIpAddress } from '../domain/x509/ip-address.ts';
import type { KeyAlgorithm } from '../domain/x509/types.ts';
import type { CertificateCursor, CertificateQuery, CertificateSort } from './ports.ts';

export const SUBSTRING_MIN = 3;
export const SUBSTRING_MAX = 255;
const NAME_MAX = 253;
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['RSA', 'RSA-PSS', 'EC', 'Ed25519', 'Ed448', 'DSA'];

const invalid = (field: string, message: string): AppError => new AppError('invalid_argument', message, { field });
const shown = (text: string): string => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);

/** A DNS name as the search compares it, or an `invalid_argument` naming `field`. */
function dnsName(raw: string, field: string, wildcard: 'allowed' | 'zone'): string {
  let text = raw.trim();
  if (text.endsWith('.')) text = text.slice(0, -1);
  if (text === '') throw invalid(field, `The ${field} filter is empty.`);
  if (text.length > 4 * NAME_MAX) throw invalid(field, `The ${field} filter is longer than ${NAME_MAX} characters.`);
  const star = text.startsWith('*.');
  const rest = star ? text.slice(2) : text;
  if (rest.includes('*'))
    throw invalid(
      field,
      `${shown(raw)} has a wildcard that is not the whole first label (only *.example.com is allowed).`,
    );
  // eslint-disable-next-line no-control-regex -- ASCII or not is the question
  const ascii = /^[\x00-\x7f]*$/.test(rest) ? asciiLower(rest) : domainToASCII(rest);
  if (ascii === '') throw invalid(field, `${shown(raw)} is not a valid internationalised domain name.`);
  for (const label of ascii.split('.')) {
    if (label === '') throw invalid(field, `${shown(raw)} has an empty label.`);
    if (!LABEL.test(label))
      throw invalid(
        field,
        `${shown(raw)} has an invalid label ${shown(label)} (letters, digits, inner hyphens or underscores, 1-63 characters).`,
      );
  }
  const name = star && wildcard === 'allowed' ? `*.${ascii}` : ascii;
  if (name.length > NAME_MAX) throw invalid(field, `${shown(raw)} is longer than ${NAME_MAX} characters.`);
  return name;
}

function substring(raw: string, field: string): string {
  if ([...raw].length < SUBSTRING_MIN)
    throw invalid(
      field,
      `Search for at least ${SUBSTRING_MIN} characters (${shown(raw)} is shorter; a substring index needs three).`,
    );
  if (raw.length > SUBSTRING_MAX)
    throw invalid(field, `The ${field} filter is longer than ${SUBSTRING_MAX} characters.`);
  return raw;
}

export function ipAddressFilter(raw: string, field = 'ipAddress'): string {
  const ip = canonicalIpAddress(raw.trim());
  if (ip === null) throw invalid(field, `${shown(raw)} is not an IPv4 or IPv6 address.`);
  return ip;
}

/** `RSA`, `rsa-2048`, `EC 256`, `ed25519`: an algorithm and maybe a size. */
export function parseKeyType(raw: string, field = 'keyType'): { algorithm: KeyAlgorithm; bits?: number } {
  const text = raw.trim();
  const match = /^(.*?)(?:[-\s:/]?(\d{3,5}))?$/.exec(text);
  const name = match?.[1] ?? '';
  const algorithm = KEY_ALGORITHMS.find((a) => a.toLowerCase() === name.toLowerCase());
  // Ed25519 and Ed448 end in digits of their own: the whole text names them.
  const whole = KEY_ALGORITHMS.find((a) => a.toLowerCase() === text.toLowerCase());
  if (whole) return { algorithm: whole };
  if (!algorithm)
    throw invalid(
      field,
      `${shown(raw)} is not a key type (${KEY_ALGORITHMS.join(', ')}, optionally with a size: RSA-2048).`,
    );
  return match?.[2] === undefined ? { algorithm } : { algorithm, bits: Number(match[2]) };
}

/** Checks and normalises the query's search filters; everything else is returned as given. */
export function normaliseSearchQuery<Q extends Omit<CertificateQuery, 'tenantId' | 'asOf'>>(query: Q): Q {
  const result: Q = { ...query };
  if (query.ipAddress !== undefined) result.ipAddress = ipAddressFilter(query.ipAddress);
  if (query.coversHost !== undefined) {
    const ip = canonicalIpAddress(query.coversHost.trim());
    if (ip === null) {
      result.coversHost = dnsName(query.coversHost, 'coversHost', 'allowed');
    } else {
      // An IP address is covered by an IP SAN of that address (RFC 6125 §6.2.1 compares IPs exactly).
      if (result.ipAddress !== undefined && result.ipAddress !== ip)
        throw invalid('coversHost', 'coversHost is an IP address other than the ipAddress filter; give one of them.');
      delete result.coversHost;
      result.ipAddress = ip;
    }
  }
  if (query.zone !== undefined) result.zone = dnsName(query.zone, 'zone', 'zone');
  if (query.nameContains !== undefined && query.nameContains !== '')
    result.nameContains = substring(query.nameContains, 'nameContains');
  if (query.domainContains !== undefined) result.domainContains = substring(query.domainContains, 'domainContains');
  if (query.issuer !== undefined && (query.issuer === '' || query.issuer.length > 1024))
    throw invalid('issuer', 'The issuer filter must be 1 to 1024 characters.');
  if (query.notAfterBetween !== undefined) {
    const { from, to } = query.notAfterBetween;
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()))
      throw invalid('notAfterBetween', 'The expiry window has an invalid date.');
    if (from.getTime() > to.getTime()) throw invalid('notAfterBetween', 'The expiry window ends before it starts.');
  }
  if (query.after !== undefined && query.offset !== 0)
    throw invalid('after', 'A cursor and an offset (page) cannot be combined.');
  const search =
    result.coversHost !== undefined ||
    result.ipAddress !== undefined ||
    result.zone !== undefined ||
    (result.nameContains ?? '') !== '' ||
    result.domainContains !== undefined ||
    result.notAfterBetween !== undefined ||
    result.keyType !== undefined ||
    result.issuer !== undefined ||
    result.after !== undefined;
  if (search && (query.changedBetween !== undefined || query.usedByInstanceNo !== undefined))
    throw invalid('changedBetween', 'The search filters cannot be combined with changedBetween or usedByInstanceNo.');
  return result;
}

/** What the one search box's text asks for (see the top of this file). Empty text: nothing. */
export function searchBoxFilter(
  raw: string,
): Pick<CertificateQuery, 'coversHost' | 'zone' | 'ipAddress' | 'nameContains' | 'domainContains'> {
  const text = raw.trim();
  if (text === '') return {};
  const prefixed = /^(host|zone|ip|name|domain):\s*(.*)$/i.exec(text);
  if (prefixed) {
    const value = prefixed[2]!;
    switch (prefixed[1]!.toLowerCase()) {
      case 'host':
        return { coversHost: value };
      case 'zone':
        return { zone: value };
      case 'ip':
        return { ipAddress: value };
      case 'name':
        return { nameContains: value };
      default:
        return { domainContains: value };
    }
  }
  if (canonicalIpAddress(text) !== null) return { ipAddress: text };
  if (text.startsWith('*.')) return { zone: text };
  // A dotted name without spaces: a host the certificate must cover.
  if (/^[^\s/]+\.[^\s/]+$/.test(text)) return { coversHost: text };
  return { nameContains: text };
}

// ---------------------------------------------------------------------------------------------
// Keyset cursors: opaque to clients, base64url of JSON [sort, order, key, certificateNo].

export function sortKeyOf(item: CertificateSummary, sort: CertificateSort): string | number {
  switch (sort) {
    case 'name':
      return item.name;
    case 'notAfter':
      return item.facts.notAfter.getTime();
    case 'createdAt':
      return item.createdAt.getTime();
    case 'updatedAt':
      return item.updatedAt.getTime();
    default:
      return item.certificateNo;
  }
}

export function encodeCursor(item: CertificateSummary, sort: CertificateSort, order: 'asc' | 'desc'): string {
  return Buffer.from(JSON.stringify([sort, order, sortKeyOf(item, sort), item.certificateNo])).toString('base64url');
}

/** The position a cursor names, for the same sort and order only; `invalid_argument` (field `cursor`) otherwise. */
export function decodeCursor(text: string, sort: CertificateSort, order: 'asc' | 'desc'): CertificateCursor {
  const bad = () => invalid('cursor', 'The cursor is not one this list gave, or was made for another sort order.');
  if (text.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(text)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 4 || parsed[0] !== sort || parsed[1] !== order) throw bad();
  const [, , key, certificateNo] = parsed as unknown[];
  if (!Number.isSafeInteger(certificateNo) || (certificateNo as number) < 0) throw bad();
  const textual = sort === 'name';
  // eslint-disable-next-line no-control-regex -- no stored name holds a control character
  if (textual ? typeof key !== 'string' || /[\u0000-\u001f\u007f]/.test(key) : !Number.isSafeInteger(key)) throw bad();
  return { key: key as string | number, certificateNo: certificateNo as number };
}
