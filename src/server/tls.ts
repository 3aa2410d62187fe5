/**
 * The HTTPS listener (`CERTKEEPER_TLS_CERT_FILE`, `CERTKEEPER_TLS_KEY_FILE`, `CERTKEEPER_TLS_PORT`):
 * the same Fastify routes as the HTTP listener, over TLS 1.2 or 1.3 only, with forward-secret AEAD
 * ciphers only (the TLS 1.2 list below; TLS 1.3's suites are all AEAD and stay Node's defaults).
 *
 * Reload without a restart: both files are polled (`fs.watchFile`, once a second: a stat, and it
 * sees a file replaced by rename, which `fs.watch` can miss). When either changes, the pair is read
 * again and checked (`tls.createSecureContext` fails on a key that does not match, or on bad PEM);
 * a good pair becomes the context of new connections, a bad one is logged and the previous pair
 * stays. Connections already open keep the certificate they were made with.
 */
import { X509Certificate } from 'node:crypto';
import { unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Server as HttpsServer } from 'node:https';

/** ECDHE key exchange, AEAD ciphers: Mozilla's "intermediate" TLS 1.2 list. */
const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const TLS_SERVER_OPTIONS = {
  minVersion: 'TLSv1.2',
  ciphers: TLS12_CIPHERS,
  honorCipherOrder: true,
} as const satisfies SecureContextOptions;

export interface TlsPair {
  cert: Buffer;
  key: Buffer;
}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** Reads and checks the pair; the error says which file and why, never the key's bytes. */
export async function readTlsPair(files: TlsFiles): Promise<TlsPair> {
  const [cert, key] = await Promise.all([
    readFile(files.certFile).catch((error: NodeJS.ErrnoException) => {
      throw new Error(`CERTKEEPER_TLS_CERT_FILE ${files.certFile}: cannot read it (${error.code ?? error.message})`, {
        cause: error,
      });
    }),
    readFile(files.keyFile).catch((error: NodeJS.ErrnoException) => {
      throw new Error(`CERTKEEPER_TLS_KEY_FILE ${files.keyFile}: cannot read it (${error.code ?? error.message})`, {
        cause: error,
      });
    }),
  ]);
  try {
    createSecureContext({ ...TLS_SERVER_OPTIONS, cert, key });
  } catch (error) {
    // OpenSSL's reason ("key values mismatch", "no start line"), which quotes no key material.
    throw new Error(
      `CERTKEEPER_TLS_CERT_FILE / CERTKEEPER_TLS_KEY_FILE: not a usable certificate and key pair (${(error as Error).message})`,
      { cause: error },
    );
  }
  return { cert, key };
}

/** SHA-256 fingerprint of the pair's leaf, for logs. */
export function fingerprintOf(pair: TlsPair): string {
  try {
    return new X509Certificate(pair.cert).fingerprint256;
  } catch {
    return 'unknown';
  }
}

export interface TlsReloadLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** Starts polling the files; returns the function that stops it. */
export function reloadOnChange(server: HttpsServer, files: TlsFiles, log: TlsReloadLog, intervalMs = 1000): () => void {
  let pending: NodeJS.Timeout | null = null;
  const reload = (): void => {
    pending = null;
    readTlsPair(files).then(
      (pair) => {
        server.setSecureContext({ ...TLS_SERVER_OPTIONS, ...pair });
        log.info({ fingerprint: fingerprintOf(pair) }, 'TLS certificate reloaded');
      },
      (error: unknown) =>
        log.warn({ reason: (error as Error).message }, 'TLS files changed but are not usable; kept the previous pair'),
    );
  };
  // Both files usually change together: wait a moment so one reload sees both.
  const changed = (): void => {
    if (pending) clearTimeout(pending);
    pending = setTimeout(reload, 200);
  };
  watchFile(files.certFile, { interval: intervalMs, persistent: false }, changed);
  watchFile(files.keyFile, { interval: intervalMs, persistent: false }, changed);
  return () => {
    if (pending) clearTimeout(pending);
    unwatchFile(files.certFile, changed);
    unwatchFile(files.keyFile, changed);
  };
}
