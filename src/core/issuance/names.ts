/**
 * The one rule for the DNS names of a certificate request, for every face (NCP, CLI).
 *
 * `normalizeRequestNames(input)` returns the names as they go to the CA (A-labels, lower case,
 * no trailing dot, request order kept) or throws `AppError('invalid_argument', …, { field:
 * 'dnsName', details: { dnsName } })` naming the first bad one. Refused:
 * - more than MAX_NAMES names, none, or the same name twice (after normalisation);
 * - IP addresses (certkeeper orders `dns` identifiers only);
 * - a `*` anywhere but as the whole first label (`*.example.com`; not `a.*.example.com`,
 *   `*a.example.com` or `*.com`);
 * - a name of one label, a label that is empty, longer than 63 octets, or holds anything but
 *   letters, digits and inner hyphens; a name over 253 octets; an all-numeric last label;
 * - internal names no public CA validates (`localhost`, `.local`, `.internal`, `.home.arpa`, …);
 * - Unicode (IDN) names are converted to A-labels (`bücher.example` → `xn--bcher-kva.example`)
 *   with WHATWG/UTS #46 processing (`url.domainToASCII`); one that does not convert is refused.
 *   With `asciiOnly` (the NCP face, whose names are A-labels on the wire) any non-ASCII name is
 *   refused instead.
 * - `commonName` (NCP's request: a CN and a SAN list) comes first; the SAN list may repeat it
 *   (a certificate lists its CN among its SANs) and that repeat is dropped; any other repeat is
 *   refused like a duplicate. The limit counts the names after that.
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { AppError } from '../../domain/errors.ts';

/** NCP's documented limit of names per certificate, and Let's Encrypt's. */
export const MAX_NAMES = 100;

/** Suffixes of names that exist only inside private networks (RFC 6761, RFC 6762, RFC 8375, ICANN). */
const INTERNAL_SUFFIXES = [
  'localhost',
  'local',
  'internal',
  'intranet',
  'lan',
  'corp',
  'home',
  'home.arpa',
  'localdomain',
  'invalid',
  'onion',
  'arpa',
];

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function refuse(name: string, why: string): never {
  throw new AppError('invalid_argument', `The domain name ${JSON.stringify(name.slice(0, 300))} ${why}.`, {
    field: 'dnsName',
    details: { dnsName: name.slice(0, 300) },
  });
}

export interface NameOptions {
  /** Refuse non-ASCII names instead of converting them (see the top of this file). */
  readonly asciiOnly?: boolean;
  /** The certificate's CN, ordered first (see the top of this file). */
  readonly commonName?: string;
}

/** One name, normalised, or an AppError. */
export function normalizeRequestName(raw: string, options: Pick<NameOptions, 'asciiOnly'> = {}): string {
  const trimmed = raw.trim();
  if (trimmed === '') refuse(raw, 'is empty');
  // eslint-disable-next-line no-control-regex -- refusing non-ASCII is the point
  if (options.asciiOnly && !/^[\x00-\x7f]*$/.test(trimmed))
    refuse(raw, 'is not ASCII; write an internationalised name as its A-labels (xn--…)');
  if (isIP(trimmed) !== 0 || isIP(trimmed.replace(/^\[|\]$/g, '')) !== 0)
    refuse(raw, 'is an IP address; only DNS names can be validated');
  const withoutDot = trimmed.endsWith('.') ? trimmed.slice(0, -1) : trimmed;
  const wildcard = withoutDot.startsWith('*.');
  const rest = wildcard ? withoutDot.slice(2) : withoutDot;
  if (rest.includes('*'))
    refuse(raw, 'has a wildcard that is not the whole first label (only *.example.com is allowed)');
  // eslint-disable-next-line no-control-regex -- refusing non-ASCII is the point
  const ascii = /^[\x00-\x7f]*$/.test(rest) ? rest.toLowerCase() : domainToASCII(rest);
  if (ascii === '') refuse(raw, 'is not a valid internationalised domain name');
  const labels = ascii.split('.');
  if (labels.length < 2) refuse(raw, 'has a single label; a public domain name is needed');
  for (const label of labels) {
    if (!LABEL.test(label) && !(label.startsWith('xn--') && LABEL.test(label)))
      refuse(
        raw,
        `has an invalid label ${JSON.stringify(label.slice(0, 70))} (letters, digits, inner hyphens, 1-63 characters)`,
      );
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) refuse(raw, 'ends in a numeric label');
  const name = wildcard ? `*.${ascii}` : ascii;
  if (name.length > 253) refuse(raw, 'is longer than 253 characters');
  for (const suffix of INTERNAL_SUFFIXES) {
    if (ascii === suffix || ascii.endsWith(`.${suffix}`))
      refuse(raw, `is an internal name (.${suffix}) that no public CA can validate`);
  }
  return name;
}

/** Every name of a request, normalised, in order; see the top of this file. */
export function normalizeRequestNames(input: readonly string[], options: NameOptions = {}): string[] {
  const tooMany = (count: number): AppError =>
    new AppError('invalid_argument', `At most ${MAX_NAMES} domain names per certificate; got ${count}.`, {
      field: 'dnsName',
      details: { limit: MAX_NAMES, actual: count },
    });
  // Before any work: a list far over the limit is refused without normalising a name of it.
  if (input.length > MAX_NAMES + 1 || (options.commonName === undefined && input.length > MAX_NAMES))
    throw tooMany(input.length + (options.commonName === undefined ? 0 : 1));
  const names: string[] = [];
  const commonName = options.commonName === undefined ? null : normalizeRequestName(options.commonName, options);
  if (commonName !== null) names.push(commonName);
  const seen = new Set<string>(names);
  let cnRepeated = false;
  for (const raw of input) {
    const name = normalizeRequestName(raw, options);
    if (name === commonName && !cnRepeated) {
      cnRepeated = true;
      continue;
    }
    if (seen.has(name)) refuse(raw, 'is given twice');
    seen.add(name);
    names.push(name);
  }
  if (names.length === 0)
    throw new AppError('invalid_argument', 'At least one domain name is needed.', { field: 'dnsName' });
  if (names.length > MAX_NAMES) throw tooMany(names.length);
  return names;
}
