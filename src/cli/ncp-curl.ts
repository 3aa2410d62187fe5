/**
 * `certkeeper ncp curl METHOD URI [--data FILE] [--base URL] [--run]`: a request to an NCP face
 * (Certificate Manager or Global Edge) signed with NCP API Gateway signature v2
 * (docs/compat/ncp.md, "Signing a request"), printed as a curl command, or sent with `--run`.
 *
 * The keys come from `NCP_ACCESS_KEY` and `NCP_SECRET_KEY` in the environment, never from flags
 * (a flag would land in shell history and `ps`). The base URL defaults to this machine's server,
 * `http://127.0.0.1:<CERTKEEPER_PORT>`. `URI` is the path and query exactly as sent: it is what
 * gets signed. Needs no store: the server does the checking.
 *
 * Printed form: one line, every argument single-quoted for a POSIX shell; the timestamp is now,
 * so the command is good for 5 minutes. `--run` prints the HTTP status on stderr and the body on
 * stdout, and exits 1 unless the status is 2xx.
 */
import { readFile } from 'node:fs/promises';
import { ncpSignature } from '../auth/ncp-signature.ts';

export interface NcpCurlArgs {
  method: string | undefined;
  uri: string | undefined;
  data: string | undefined;
  base: string;
  run: boolean;
}

export interface NcpCurlIo {
  env: NodeJS.ProcessEnv;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  now?: () => number;
  fetch?: typeof fetch;
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']);

/** `'…'` with every `'` written as `'\''`: safe for any POSIX shell. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

export async function ncpCurl(args: NcpCurlArgs, io: NcpCurlIo, usage: (message: string) => Error): Promise<number> {
  const method = (args.method ?? '').toUpperCase();
  if (!METHODS.has(method)) throw usage('ncp curl takes a method: GET, POST, PUT, DELETE or PATCH');
  const uri = args.uri ?? '';
  if (!uri.startsWith('/')) throw usage('ncp curl takes the URI to sign: a path and query starting with /');
  const accessKey = io.env.NCP_ACCESS_KEY;
  const secretKey = io.env.NCP_SECRET_KEY;
  if (!accessKey || !secretKey)
    throw usage('ncp curl reads the keys from NCP_ACCESS_KEY and NCP_SECRET_KEY; set both in the environment');
  const timestamp = String((io.now ?? Date.now)());
  const signature = ncpSignature({ method, uri, timestamp, accessKey, secretKey });
  const headers: Record<string, string> = {
    'x-ncp-apigw-timestamp': timestamp,
    'x-ncp-iam-access-key': accessKey,
    'x-ncp-apigw-signature-v2': signature,
    ...(args.data === undefined ? {} : { 'content-type': 'application/json' }),
  };
  const url = `${args.base.replace(/\/+$/, '')}${uri}`;
  if (!args.run) {
    const parts = ['curl', '-sS', '-X', method, shellQuote(url)];
    for (const [name, value] of Object.entries(headers)) parts.push('-H', shellQuote(`${name}: ${value}`));
    if (args.data !== undefined) parts.push('--data-binary', shellQuote(`@${args.data}`));
    io.stdout.write(`${parts.join(' ')}\n`);
    return 0;
  }
  const body = args.data === undefined ? undefined : await readFile(args.data === '-' ? '/dev/stdin' : args.data);
  const response = await (io.fetch ?? fetch)(url, { method, headers, ...(body ? { body } : {}) });
  const text = await response.text();
  io.stderr.write(`HTTP ${response.status}\n`);
  io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  return response.ok ? 0 : 1;
}
