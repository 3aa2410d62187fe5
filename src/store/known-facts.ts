/**
 * List pages that leave the `facts` column out when this process already holds every row's facts.
 *
 * Why: `facts` is about 1 KB of JSON a row, most of what a 100-row page carries. On PostgreSQL
 * the backend decompresses it from TOAST and the server decodes it as a string per row, then
 * compares it with the text its parsed facts came from; all to learn what it already knew. A
 * client that polls the same page (a deployment agent, a dashboard, the faces' list endpoints)
 * pays that on every request. Measured in docs/performance.md, "Pages without facts".
 *
 * Exactness: a row's facts are known by the row's identity: its certificate number, the SHA-256
 * fingerprint of its certificate and its `updated_at`. That identity names one facts text:
 * - the facts are derived from the certificate's DER alone (domain/x509/types.ts), so one
 *   fingerprint has one facts text for a given build of certkeeper;
 * - they are written only with the certificate itself, in the same statement that sets
 *   `updated_at` (certificates.ts `contentColumns`), so a row whose facts text changes has a new
 *   `updated_at` too, even when the certificate is the same one stored again.
 * A page read without facts that finds a row whose identity is not held is read again, with
 * facts, as one new statement: the answer is always one statement's rows, never rows of one read
 * with facts of another.
 *
 * Which pages try: a page is read without facts only after a read of the same page (`pageKey`:
 * the query without its clock, with its position and size) found every row's facts in hand, so a client
 * paging through a million certificates, whose pages are new each time, never pays a second
 * read; one that polls a page pays it only when the page changed. A page whose read without
 * facts missed is read with facts for its next RETRY_AFTER_MISS reads, so pages that the cache
 * cannot hold at once do not pay the miss on every second read.
 */
import type { CertificateFacts } from '../domain/x509/types.ts';

/**
 * Row facts kept (first in, first out): twice the largest page a face asks for (ACM MaxItems
 * 1000), the same bound as rows.ts FACTS_CACHE_SIZE. An entry holds the row's parsed facts, which
 * rows.ts shares between rows of the same certificate: about 100 bytes of its own.
 */
export const KNOWN_FACTS_SIZE = 2048;
/** Reads with facts a page makes after a read without them missed, before it tries again. */
export const RETRY_AFTER_MISS = 16;
/** Pages remembered; past the bound the memory starts over (a stale entry costs one read). */
const PAGES_KEPT = 10_000;
/**
 * Longer page keys (a search's long filter texts) are not remembered: such a page is read with
 * facts every time, and the memory stays within PAGES_KEPT × this many characters (5 MB).
 */
export const PAGE_KEY_MAX = 512;

interface Known {
  certificateNo: number;
  updatedAt: number;
  facts: CertificateFacts;
}

/**
 * By fingerprint, the row last read with it. Keyed by fingerprint rather than by number so that
 * rows of two stores in one process (the tests, a migration between stores) that share numbers
 * do not take turns in one entry; a certificate stored in two rows does, which costs a read with
 * facts, never a wrong answer.
 */
const byFingerprint = new Map<string, Known>();

/** Keeps `facts` as the facts of the row with this identity (rows.ts, on every row read with facts). */
export function rememberFacts(
  certificateNo: number,
  fingerprint: string,
  updatedAt: number,
  facts: CertificateFacts,
): void {
  const known = byFingerprint.get(fingerprint);
  if (known) {
    known.certificateNo = certificateNo;
    known.updatedAt = updatedAt;
    known.facts = facts;
    return;
  }
  if (byFingerprint.size >= KNOWN_FACTS_SIZE) byFingerprint.delete(byFingerprint.keys().next().value!);
  byFingerprint.set(fingerprint, { certificateNo, updatedAt, facts });
}

/** The facts of the row with this identity, when held; undefined otherwise. */
export function knownFacts(
  certificateNo: number,
  fingerprint: string,
  updatedAt: number,
): CertificateFacts | undefined {
  const known = byFingerprint.get(fingerprint);
  return known !== undefined && known.certificateNo === certificateNo && known.updatedAt === updatedAt
    ? known.facts
    : undefined;
}

/**
 * By page key: 0 when the page's last read found every row's facts in hand (its next read tries
 * without facts); n > 0 when a read without facts missed (the next n reads take facts).
 */
const pages = new Map<string, number>();

/**
 * Reads one page: `read(false)` (without the facts column) when the page's last read had every
 * row's facts in hand, else, or when `complete` says a row's facts are not held, `read(true)`.
 * `complete` is given the rows read without facts and must check every row with `knownFacts`.
 * The caller builds the rows' summaries after this returns (rows.ts `summaryFromValues`), which
 * keeps the facts of rows read with them: the page's next read finds them. Returns the read kept.
 */
export async function readPage<Page>(
  pageKey: string,
  read: (withFacts: boolean) => Promise<Page>,
  complete: (page: Page) => boolean,
): Promise<Page> {
  if (pageKey.length > PAGE_KEY_MAX) return read(true);
  const state = pages.get(pageKey);
  if (state === 0) {
    const page = await read(false);
    if (complete(page)) return page;
    remember(pageKey, RETRY_AFTER_MISS);
    return read(true);
  }
  const page = await read(true);
  remember(pageKey, state === undefined ? 0 : state - 1);
  return page;
}

/**
 * A page's key for `readPage`: its kind, what places the page (position, size), and the query
 * without its clock (a new `asOf` every request; which rows that selects is the statement's business).
 */
export const pageKeyOf = (kind: string, query: { asOf: Date }, ...position: unknown[]): string =>
  `${kind}:${position.join(':')}:${JSON.stringify({ ...query, asOf: undefined })}`;

function remember(pageKey: string, state: number): void {
  if (pages.size >= PAGES_KEPT && !pages.has(pageKey)) pages.clear();
  pages.set(pageKey, state);
}

/** Forgets every page and row (for tests). */
export function forgetKnownFacts(): void {
  pages.clear();
  byFingerprint.clear();
}
