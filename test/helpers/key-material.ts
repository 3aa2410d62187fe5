/**
 * The key-material search: a secret (a private key, a credential secret) looked for in every
 * encoding it could leak in: raw bytes (DER), base64 of them, hex in both cases, and each PEM body
 * line. Values are searched in chunks, not whole: a database may split a long value across pages,
 * a log may cut or escape it.
 */
import { createPrivateKey } from 'node:crypto';

export interface Needle {
  what: string;
  bytes: Buffer;
}

/** Every encoding of `raw` (and the body lines of `pemText`), as chunks of `chunk` bytes. */
export function needles(label: string, raw: Buffer, pemText: string | null, chunk: number): Needle[] {
  const out: Needle[] = [];
  const chunks = (what: string, value: Buffer) => {
    for (let i = 0; i + chunk <= value.length; i += chunk)
      out.push({ what: `${label}: ${what} @${i}`, bytes: value.subarray(i, i + chunk) });
    if (value.length < chunk) out.push({ what: `${label}: ${what}`, bytes: value });
  };
  chunks('raw', raw);
  chunks('base64', Buffer.from(raw.toString('base64')));
  chunks('hex', Buffer.from(raw.toString('hex')));
  chunks('HEX', Buffer.from(raw.toString('hex').toUpperCase()));
  if (pemText) {
    for (const line of pemText.split('\n').filter((l) => l && !l.startsWith('-----')))
      out.push({ what: `${label}: PEM line`, bytes: Buffer.from(line) });
  }
  return out;
}

/** What of `forbidden` occurs in which haystack, as `"<needle> found in <name>"` lines. */
export function findNeedles(
  haystacks: ReadonlyArray<{ name: string; bytes: Buffer }>,
  forbidden: readonly Needle[],
): string[] {
  const found: string[] = [];
  for (const { name, bytes } of haystacks)
    for (const needle of forbidden)
      if (bytes.indexOf(needle.bytes) !== -1) found.push(`${needle.what} found in ${name}`);
  return found;
}

/**
 * Needles for a private key that a certificate stored in clear cannot match by chance: its PEM
 * body lines, and its private components alone (EC/Ed25519 `d`; RSA `d`, `p`, `q`, `dp`, `dq`,
 * `qi`). Chunks of the whole DER would also hit the public key, which the certificate carries.
 */
export function privateKeyNeedles(label: string, keyPem: string, chunk: number): Needle[] {
  const jwk = createPrivateKey(keyPem).export({ format: 'jwk' }) as Record<string, unknown>;
  const out: Needle[] = needles(label, Buffer.alloc(0), keyPem, chunk).filter((n) => n.what.endsWith('PEM line'));
  for (const name of ['d', 'p', 'q', 'dp', 'dq', 'qi'])
    if (typeof jwk[name] === 'string') {
      const component = Buffer.from(jwk[name], 'base64url');
      out.push(...needles(`${label} ${name}`, component, null, chunk));
      out.push(...needles(`${label} ${name} (base64url)`, Buffer.from(jwk[name]), null, chunk));
    }
  return out;
}
