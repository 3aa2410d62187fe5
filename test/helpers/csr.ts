/**
 * Certificate signing requests made with the openssl command line, as users make them (the
 * reissue tests): `openssl req -new` with a fresh key of `keySpec`, the subject given, and the
 * SAN dNSNames given (none: no subjectAltName). Files go to `dir`, which the caller removes.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `openssl req -newkey` arguments of common key types. */
export const CSR_KEYS = {
  p256: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  p384: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  rsa2048: ['-newkey', 'rsa:2048'],
  rsa1024: ['-newkey', 'rsa:1024'],
  ed25519: ['-newkey', 'ed25519'],
} as const;

export async function opensslCsr(
  dir: string,
  file: string,
  options: { key: readonly string[]; subject: string; sans?: readonly string[] },
): Promise<{ csr: string; key: string }> {
  const sans = options.sans ?? [];
  await run('openssl', [
    'req',
    '-new',
    ...options.key,
    '-nodes',
    '-keyout',
    join(dir, `${file}.key`),
    '-subj',
    options.subject,
    ...(sans.length > 0 ? ['-addext', `subjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}`] : []),
    '-out',
    join(dir, `${file}.csr`),
  ]);
  return {
    csr: await readFile(join(dir, `${file}.csr`), 'utf8'),
    key: await readFile(join(dir, `${file}.key`), 'utf8'),
  };
}
