/**
 * Clients of the ACM face that nobody here wrote, for the ACM tests:
 *
 * - `awsCli`: Debian's awscli at /usr/bin/aws (not the pyenv shim first on PATH), with a clean
 *   environment (no config files, no instance metadata, no pager).
 * - `sdkClient`: @aws-sdk/client-acm.
 * - `rawAcm`: the SDK's own SigV4 signing and transport with a body and X-Amz-Target of the
 *   test's choosing (a build-step middleware swaps them in before the signature is computed), for
 *   bad input the SDK's serializers would never send. Answers the status and the exception name.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ACMClient, ListCertificatesCommand } from '@aws-sdk/client-acm';
import type { TestCredential } from '../../helpers/app.ts';

const run = promisify(execFile);

export const AWS = '/usr/bin/aws';
export const PYTHON = '/usr/bin/python3';
/** Skip reason when Debian's awscli is missing; under CI=true a missing CLI is a failure. */
export const awsMissing: string | false = existsSync(AWS) ? false : `${AWS} (Debian awscli) is not installed`;
if (awsMissing && process.env.CI === 'true') throw new Error(`${awsMissing}; CI requires it`);

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export function awsEnv(credential: TestCredential, home: string, region = 'eu-west-1'): Record<string, string> {
  return {
    PATH: '/usr/bin:/bin',
    HOME: home,
    AWS_ACCESS_KEY_ID: credential.accessKey,
    AWS_SECRET_ACCESS_KEY: credential.secretKey,
    AWS_DEFAULT_REGION: region,
    AWS_CONFIG_FILE: join(home, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
}

export async function awsCli(
  baseUrl: string,
  credential: TestCredential,
  home: string,
  args: readonly string[],
): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(AWS, ['--endpoint-url', baseUrl, '--output', 'json', 'acm', ...args], {
      env: awsEnv(credential, home),
      maxBuffer: 256 * 1024 * 1024,
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}

export const sdkClient = (baseUrl: string, credential: TestCredential, region = 'eu-west-1'): ACMClient =>
  new ACMClient({
    endpoint: baseUrl,
    region,
    credentials: { accessKeyId: credential.accessKey, secretAccessKey: credential.secretKey },
    maxAttempts: 1,
  });

export interface RawAnswer {
  /** HTTP status. */
  status: number;
  /** The `__type` of an error (the SDK's exception name), null on success. */
  type: string | null;
  message: string;
}

/** Sends `body` (bytes as given) as `CertificateManager.<operation>`, signed by the SDK. */
export async function rawAcm(client: ACMClient, operation: string, body: string): Promise<RawAnswer> {
  const command = new ListCertificatesCommand({});
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { body: unknown; headers: Record<string, string> };
      request.body = body;
      request.headers['x-amz-target'] = `CertificateManager.${operation}`;
      request.headers['content-length'] = String(Buffer.byteLength(body));
      return next(args);
    },
    { step: 'build', name: 'certkeeperRawBody', priority: 'low' },
  );
  try {
    const out = await client.send(command);
    return { status: out.$metadata.httpStatusCode ?? 0, type: null, message: '' };
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { status: e.$metadata?.httpStatusCode ?? 0, type: e.name, message: e.message };
  }
}
