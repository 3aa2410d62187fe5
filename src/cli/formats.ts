/**
 * `certkeeper cert export` and the file reading of `cert import`: the formats.
 *
 *   cert export [--tenant T] NUMBER [--format pem|der|p12] [--out DIR] [--key] [--legacy] [--passphrase-file F]
 *   cert import [--tenant T] --name N (--cert FILE [--key FILE] [--chain FILE] | --p12 FILE [--passphrase-file F])
 *
 * Export formats (`--key` adds the private key to any of them; the read is core's audited
 * `certificate.key.read`, ADMIN only, exactly as before):
 *   pem (default)  with --out: cert.pem, chain.pem, fullchain.pem, privkey.pem (0600); without:
 *                  everything on stdout. Unchanged from before --format existed.
 *   der            needs --out: cert.der, chain-1.der, chain-2.der… (leaf's issuer first), privkey.der
 *                  (the key as PKCS#8 DER, 0600).
 *   p12            needs --out: cert.p12 (0600): leaf, chain and, with --key, the key, under a
 *                  passphrase. Modern by default (AES-256-CBC, PBKDF2-HMAC-SHA256, SHA-256 MAC: what
 *                  OpenSSL 3 writes); --legacy writes 3DES with a SHA-1 MAC for Java before 8u301 and
 *                  Windows Server 2016 and older, which cannot open the modern file.
 *
 * Import: --cert, --key and --chain files may each be PEM or DER, told apart by their bytes
 * (domain/x509/der.ts); --p12 reads a PKCS#12 file with its passphrase (domain/x509/pkcs12.ts).
 * Either way the result goes through the same import ladder as pasted PEM.
 *
 * The passphrase never comes from the command line, where shell history and the process list
 * would keep it: it is the first line of --passphrase-file, else CERTKEEPER_P12_PASSPHRASE, else
 * typed at a prompt when stdin is a terminal (twice for an export).
 */
import { fullChainPems } from '../domain/x509/chain.ts';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Actor } from '../core/actor.ts';
import type { CertificateBundle } from '../core/certificates.ts';
import type { Core } from '../core/core.ts';
import { AppError } from '../domain/errors.ts';
import { certificateDers, pkcs12Parts, privateKeyPkcs8Der, uploadToPem, type UploadField } from '../domain/x509/der.ts';
import type { ImportInput } from '../domain/x509/ladder.ts';
import { encodePkcs12, pkcs12ToImportFields, PKCS12_MAX_BYTES } from '../domain/x509/pkcs12.ts';

export const PASSPHRASE_ENV = 'CERTKEEPER_P12_PASSPHRASE';

export interface FormatFlags {
  format?: string | undefined;
  out?: string | undefined;
  key?: string | boolean | undefined;
  legacy?: boolean | undefined;
  'passphrase-file'?: string | undefined;
  cert?: string | undefined;
  chain?: string | undefined;
  p12?: string | undefined;
}

/** Asks for a passphrase without echo; null when there is no terminal to ask on. */
export type Prompt = (question: string) => Promise<string | null>;

type Out = (value: unknown, human: string) => void;
type Usage = (message: string) => Error;

export async function exportCertificate(
  core: Core,
  actor: Actor,
  certificateNo: number,
  flags: FormatFlags,
  env: NodeJS.ProcessEnv,
  out: Out,
  usage: Usage,
  prompt: Prompt = terminalPrompt,
): Promise<void> {
  const format = flags.format ?? 'pem';
  if (format !== 'pem' && format !== 'der' && format !== 'p12') throw usage('--format takes pem, der or p12');
  if (flags.legacy && format !== 'p12') throw usage('--legacy applies to --format p12 only');
  if (flags['passphrase-file'] !== undefined && format !== 'p12')
    throw usage('--passphrase-file applies to --format p12 only');
  if (format !== 'pem' && !flags.out) throw usage(`--format ${format} writes binary files: give --out DIR`);
  // Asked before the key is read, so a refused passphrase reads (and audits) nothing.
  const passphrase = format === 'p12' ? await exportPassphrase(flags, env, usage, prompt) : null;
  const includeKey = flags.key === true;
  const bundle = await core.certificates.export(actor, certificateNo, { includeKey });
  if (format === 'pem' && !flags.out) {
    // The text is what a server loads (full chain, root left out, then key); the JSON keeps the chain as stored.
    const text = fullChainPems(bundle.certificatePem, bundle.chainPems).join('') + (bundle.privateKeyPem ?? '');
    out({ certificate: bundle.certificatePem, chain: bundle.chainPems, privateKey: bundle.privateKeyPem }, text);
    return;
  }
  const dir = resolve(flags.out as string);
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const write = async (name: string, content: string | Buffer, mode = 0o644) => {
    await writeFile(join(dir, name), content, { mode });
    // `mode` applies to a new file only: a file written over keeps its old mode unless set.
    await chmod(join(dir, name), mode);
    files.push(join(dir, name));
  };
  if (format === 'pem') {
    await write('cert.pem', bundle.certificatePem);
    await write('chain.pem', bundle.chainPems.join(''));
    await write('fullchain.pem', fullChainPems(bundle.certificatePem, bundle.chainPems).join(''));
    if (bundle.privateKeyPem) await write('privkey.pem', bundle.privateKeyPem, 0o600);
  } else if (format === 'der') {
    await write('cert.der', certificateDers(bundle.certificatePem)[0] as Buffer);
    const chain = bundle.chainPems.flatMap((pem) => certificateDers(pem));
    for (const [i, der] of chain.entries()) await write(`chain-${i + 1}.der`, der);
    if (bundle.privateKeyPem) await write('privkey.der', privateKeyPkcs8Der(bundle.privateKeyPem), 0o600);
  } else {
    const p12 = encodePkcs12(pkcs12PartsOf(bundle), {
      passphrase: passphrase as string,
      legacy: flags.legacy === true,
    });
    await write('cert.p12', p12, 0o600);
  }
  const note = includeKey || format === 'pem' ? '' : `(no private key: add --key to include it)\n`;
  out(
    { files, format, ...(format === 'p12' ? { legacy: flags.legacy === true } : {}) },
    `${files.join('\n')}\n${note}`,
  );
}

const pkcs12PartsOf = (bundle: CertificateBundle) =>
  pkcs12Parts({
    name: bundle.certificate.name,
    certificatePem: bundle.certificatePem,
    chainPems: bundle.chainPems,
    privateKeyPem: bundle.privateKeyPem,
  });

/**
 * The files `cert import` names, read (usage errors, unreadable or oversized files and the
 * passphrase prompt come here), and the conversion of their bytes to the ladder's PEM input, left
 * to the caller to run: `cert import` hands it to core as an `ImportUpload`, so a damaged DER file
 * or a wrong PKCS#12 passphrase is refused inside the audited import, like any ladder refusal.
 */
export async function importUpload(
  flags: FormatFlags,
  env: NodeJS.ProcessEnv,
  usage: Usage,
  prompt: Prompt = terminalPrompt,
): Promise<() => Omit<ImportInput, 'name'>> {
  if (flags.p12 !== undefined) {
    if (flags.cert !== undefined || typeof flags.key === 'string' || flags.chain !== undefined)
      throw usage('cert import takes --p12 FILE, or --cert FILE with --key and --chain; not both');
    const bytes = await readBytes(flags.p12, 'pkcs12', 'PKCS#12', PKCS12_MAX_BYTES);
    const passphrase = await importPassphrase(flags, env, usage, prompt);
    return () => pkcs12ToImportFields(bytes, passphrase);
  }
  if (flags['passphrase-file'] !== undefined) throw usage('--passphrase-file goes with --p12');
  if (flags.cert === undefined) throw usage('missing argument: cert import --cert FILE (or --p12 FILE)');
  const read = async (path: string | undefined, name: UploadField) =>
    path === undefined ? undefined : await readBytes(path, name, LABELS[name]);
  const certificate = await read(flags.cert, 'certificate');
  const privateKey = await read(typeof flags.key === 'string' ? flags.key : undefined, 'privateKey');
  const chain = await read(flags.chain, 'chain');
  const pem = (bytes: Buffer | undefined, name: UploadField) =>
    bytes === undefined ? undefined : uploadToPem(bytes, name);
  return () => ({
    certificate: pem(certificate, 'certificate'),
    privateKey: pem(privateKey, 'privateKey'),
    chain: pem(chain, 'chain'),
  });
}

/** The ladder's input (without the name) from the files `cert import` names, converted at once. */
export async function importFields(
  flags: FormatFlags,
  env: NodeJS.ProcessEnv,
  usage: Usage,
  prompt: Prompt = terminalPrompt,
): Promise<Omit<ImportInput, 'name'>> {
  return (await importUpload(flags, env, usage, prompt))();
}

/** A PEM text file (a CSR, a key) as the commands read them: capped, Latin-1 so no byte is lost before the parser. */
export async function readText(path: string, field: string): Promise<string> {
  return (await readBytes(path, field, field)).toString('latin1');
}

const LABELS: Readonly<Record<UploadField, string>> = {
  certificate: 'certificate',
  privateKey: 'private key',
  chain: 'chain',
};

/**
 * A file's bytes, refusing one far over what the field can hold before reading it all into
 * memory (the converters and the ladder apply the exact caps).
 */
async function readBytes(path: string, field: string, label: string, cap = 4 * 1024 * 1024): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new AppError(
      'invalid_argument',
      `Cannot read the ${label} file '${path}': ${(cause as NodeJS.ErrnoException).code ?? 'error'}.`,
      { field },
    );
  }
  if (bytes.length > cap)
    throw new AppError('input_too_large', `The ${label} file is ${bytes.length} bytes; the limit is ${cap} bytes.`, {
      field,
      details: { limit: cap, actual: bytes.length },
    });
  return bytes;
}

async function givenPassphrase(flags: FormatFlags, env: NodeJS.ProcessEnv): Promise<string | null> {
  const path = flags['passphrase-file'];
  if (path !== undefined) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (cause) {
      throw new AppError(
        'invalid_argument',
        `Cannot read the passphrase file '${path}': ${(cause as NodeJS.ErrnoException).code ?? 'error'}.`,
        { field: 'passphrase' },
      );
    }
    return checked(text.split(/\r?\n/, 1)[0] ?? '');
  }
  const fromEnv = env[PASSPHRASE_ENV];
  return fromEnv === undefined ? null : checked(fromEnv);
}

function checked(passphrase: string): string {
  // OpenSSL and every other PKCS#12 tool take the passphrase as a C string.
  if (passphrase.includes('\u0000'))
    throw new AppError('invalid_argument', 'The passphrase contains a NUL character.', { field: 'passphrase' });
  return passphrase;
}

async function importPassphrase(flags: FormatFlags, env: NodeJS.ProcessEnv, usage: Usage, prompt: Prompt) {
  const given = await givenPassphrase(flags, env);
  if (given !== null) return given;
  const typed = await prompt('PKCS#12 passphrase: ');
  if (typed === null)
    throw usage(`--p12 needs its passphrase: --passphrase-file FILE or ${PASSPHRASE_ENV} (or run it in a terminal)`);
  return checked(typed);
}

async function exportPassphrase(flags: FormatFlags, env: NodeJS.ProcessEnv, usage: Usage, prompt: Prompt) {
  let passphrase = await givenPassphrase(flags, env);
  if (passphrase === null) {
    const typed = await prompt('Passphrase for the PKCS#12 file: ');
    if (typed === null)
      throw usage(
        `--format p12 needs a passphrase: --passphrase-file FILE or ${PASSPHRASE_ENV} (or run it in a terminal)`,
      );
    if ((await prompt('The same passphrase again: ')) !== typed)
      throw new AppError('invalid_argument', 'The two passphrases differ; nothing was written.', {
        field: 'passphrase',
      });
    passphrase = checked(typed);
  }
  if (passphrase === '')
    throw new AppError('invalid_argument', 'The passphrase is empty; a PKCS#12 file needs one.', {
      field: 'passphrase',
    });
  return passphrase;
}

/** Reads a line from the terminal without echo; null when stdin is not a terminal. */
export const terminalPrompt: Prompt = async (question) => {
  const stdin = process.stdin;
  if (!stdin.isTTY) return null;
  // Echo off before the question shows, so nothing typed in answer is ever echoed.
  stdin.setRawMode(true);
  process.stderr.write(question);
  stdin.resume();
  stdin.setEncoding('utf8');
  try {
    return await new Promise<string>((done, fail) => {
      let typed = '';
      const onData = (chunk: string) => {
        for (const [index, char] of [...chunk].entries()) {
          if (char === '\r' || char === '\n') {
            stdin.off('data', onData);
            // What was typed ahead belongs to the next prompt: kept in the paused stream (a flowing
            // one would hand it to no listener).
            stdin.pause();
            const rest = [...chunk].slice(index + 1).join('');
            if (rest !== '') stdin.unshift(rest, 'utf8');
            done(typed);
            return;
          }
          if (char === '\u0003') {
            stdin.off('data', onData);
            fail(new AppError('invalid_argument', 'Interrupted; nothing was written.', { field: 'passphrase' }));
            return;
          }
          if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
          else typed += char;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
};
