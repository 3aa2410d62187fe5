/**
 * A private PostgreSQL cluster for tests that stop, start or break the database: Debian's
 * `initdb`/`pg_ctl` (/usr/lib/postgresql/<version>/bin) on a temp directory and a free loopback
 * port, never the machine's shared server. `initdb` refuses to run as root, so as root the cluster
 * belongs to the `postgres` system user (run through `runuser`); as anyone else, to that user.
 *
 * `privatePostgresSkip` is false when the binaries are there (and, as root, the `postgres` user),
 * else why the suites that need one are skipped.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../e2e/helpers.ts';

const run = promisify(execFile);
const PG_ROOT = '/usr/lib/postgresql';

function binDir(): string | null {
  if (!existsSync(PG_ROOT)) return null;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(PG_ROOT, versions[0], 'bin') : null;
}

const BIN = binDir();
const AS_ROOT = process.getuid?.() === 0;

async function postgresIds(): Promise<{ uid: number; gid: number } | null> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return null;
  }
}

const OWNER = AS_ROOT ? await postgresIds() : null;

export const privatePostgresSkip: string | false = !BIN
  ? `no PostgreSQL server binaries under ${PG_ROOT} (Debian's postgresql package)`
  : AS_ROOT && !OWNER
    ? 'running as root and there is no postgres user to own a private cluster'
    : false;

export interface PrivatePostgres {
  /** Connection URL of the cluster's `postgres` database (trust authentication, user postgres). */
  url: string;
  port: number;
  /** `pg_ctl stop -m fast`: open connections are ended, new ones refused. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the cluster (if running) and removes its directory. */
  destroy(): Promise<void>;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  if (privatePostgresSkip || !BIN) throw new Error(String(privatePostgresSkip));
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-pg-'));
  if (OWNER) await chown(dir, OWNER.uid, OWNER.gid);
  const data = join(dir, 'data');
  const port = await freePort();
  const exec = (tool: string, args: string[]) =>
    AS_ROOT ? run('runuser', ['-u', 'postgres', '--', join(BIN, tool), ...args]) : run(join(BIN, tool), args);
  await exec('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`;
  const start = async () => {
    await exec('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', 'start']);
  };
  const stop = async () => {
    await exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop,
    async destroy() {
      try {
        await exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // not running
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
