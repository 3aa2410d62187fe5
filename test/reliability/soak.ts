/**
 * The soak: a real `certkeeper serve` process (SQLite or PostgreSQL) under mixed load for a while,
 * sampled from /proc once a second for its resident memory and open file descriptors.
 *
 * Load, from `workers` concurrent clients through the NCP and Global Edge faces: lists, downloads
 * (export with the key), imports (a fresh key and certificate each), deletes (of certificates the
 * soak imported), and slot changes (the TLS settings of an edge slot holding a certificate).
 * Every answer that is not a success counts as an error, with a sample kept.
 *
 * Reported: operations by kind, errors, RSS and fd count at start and end, and their slopes (least
 * squares over the samples after the first fifth, the warm-up) per minute. The suite asserts 0
 * errors, not the slopes: a slope over seconds says little; RELIABILITY.md reports long runs.
 */
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshPostgres, testMasterKey, type TestLocation } from '../helpers/db.ts';
import { ncpFetch, type NcpResponse } from '../helpers/ncp-client.ts';
import { mintBundle, mintLeaf } from '../helpers/pki.ts';
import { cliJson, EDGE, serve, sleep, type Credentials } from '../e2e/helpers.ts';

export interface SoakOptions {
  seconds: number;
  store: 'sqlite' | 'postgres';
  workers?: number;
}

export interface SoakReport {
  store: 'sqlite' | 'postgres';
  seconds: number;
  operations: Record<string, number>;
  errors: number;
  errorSamples: string[];
  samples: number;
  rssMiB: { start: number; end: number; max: number; slopePerMinute: number };
  fds: { start: number; end: number; max: number; slopePerMinute: number };
}

/** Least-squares slope of y over x. */
export function slope(points: ReadonlyArray<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

async function sample(pid: number): Promise<{ rssMiB: number; fds: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const fds = (await readdir(`/proc/${pid}/fd`)).length;
  return { rssMiB: rssKiB / 1024, fds };
}

export async function soak(options: SoakOptions): Promise<SoakReport> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-soak-'));
  const pgLocation: TestLocation | null = options.store === 'postgres' ? await freshPostgres() : null;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CERTKEEPER_DATA_DIR: join(dir, 'data'),
    CERTKEEPER_PORT: '0',
    CERTKEEPER_LOG_LEVEL: 'warn',
    CERTKEEPER_MASTER_KEY: testMasterKey(),
    CERTKEEPER_EDGE_POLL_MS: '200',
  };
  delete env.DATABASE_URL;
  if (pgLocation?.databaseUrl) env.DATABASE_URL = pgLocation.databaseUrl;
  let running: Awaited<ReturnType<typeof serve>> | null = null;
  try {
    await cliJson(env, ['tenant', 'create', 'default']);
    const credentials = await cliJson<Credentials>(env, [
      'credential',
      'create',
      '--tenant',
      'default',
      '--role',
      'ADMIN',
    ]);
    await cliJson(env, ['target', 'set', 'directory', '--path', join(dir, 'certs'), '--create']);
    running = await serve(env);
    const baseUrl = running.baseUrl;
    const pid = running.child.pid!;
    const bundle = await mintBundle();

    const report: SoakReport = {
      store: options.store,
      seconds: options.seconds,
      operations: {},
      errors: 0,
      errorSamples: [],
      samples: 0,
      rssMiB: { start: 0, end: 0, max: 0, slopePerMinute: 0 },
      fds: { start: 0, end: 0, max: 0, slopePerMinute: 0 },
    };
    const call = (method: string, path: string, body?: unknown, query?: Record<string, string>): Promise<NcpResponse> =>
      ncpFetch(baseUrl, {
        method,
        path,
        credentials,
        ...(body === undefined ? {} : { body }),
        ...(query ? { query } : {}),
      });
    const ok = (what: string, res: NcpResponse): boolean => {
      report.operations[what] = (report.operations[what] ?? 0) + 1;
      const code = (res.json as { returnCode?: string; code?: number } | undefined)?.returnCode;
      const good = res.status >= 200 && res.status < 300 && (code === undefined || code === '0');
      if (!good) {
        report.errors++;
        if (report.errorSamples.length < 10)
          report.errorSamples.push(`${what} → ${res.status} ${res.body.toString().slice(0, 300)}`);
      }
      return good;
    };

    let sequence = 0;
    const importOne = async (): Promise<{ no: number; name: string } | null> => {
      const n = ++sequence;
      const leaf = await mintLeaf(bundle.intermediate, { cn: `soak-${n}.example.com`, freshKey: true });
      const res = await call('POST', '/api/v2/certificate/withExternal', {
        certificateName: `soak-${n}`,
        privateKey: leaf.keyPem,
        certificateBody: leaf.pem,
        certificateChain: bundle.chainPem,
      });
      if (!ok('import', res)) return null;
      const no = (res.json as { sslCertificateList: Array<{ certificateNo: number }> }).sslCertificateList[0]!
        .certificateNo;
      return { no, name: `soak-${n}` };
    };

    // A slot holding one certificate that never gets deleted.
    const pinned = (await importOne())!.no;
    const created = await call('POST', EDGE, {
      serviceRegion: 'KR_JP',
      cmCertificateIds: [pinned],
      tlsVersion: 'TLS_MIN_VERSION_1_2',
      cipherProfile: 'DEFAULT',
    });
    ok('slot create', created);
    const slotId = Number(created.headers.location?.split('/').at(-1));

    const pool: Array<{ no: number; name: string }> = [];
    const end = Date.now() + options.seconds * 1000;
    const points: { rss: Array<[number, number]>; fds: Array<[number, number]> } = { rss: [], fds: [] };
    const started = Date.now();
    const sampler = (async () => {
      while (Date.now() < end) {
        const s = await sample(pid);
        const minutes = (Date.now() - started) / 60_000;
        points.rss.push([minutes, s.rssMiB]);
        points.fds.push([minutes, s.fds]);
        await sleep(1000);
      }
    })();
    let tls = 0;
    const worker = async (): Promise<void> => {
      while (Date.now() < end) {
        const r = Math.random();
        if (r < 0.35) ok('list', await call('GET', '/api/v2/certificate/getCertificates', undefined));
        else if (r < 0.55) ok('download', await call('POST', `/api/v2/certificate/exportCertificate/${pinned}`, {}));
        else if (r < 0.75) {
          const imported = await importOne();
          if (imported !== null) pool.push(imported);
        } else if (r < 0.9) {
          const victim = pool.shift();
          if (victim !== undefined)
            ok(
              'delete',
              await call('DELETE', `/api/v2/certificate/deleteCertificate/${victim.no}`, undefined, {
                certificateName: victim.name,
              }),
            );
        } else {
          const version = ++tls % 2 === 0 ? 'TLS_MIN_VERSION_1_2' : 'TLS_ALL_VERSIONS';
          ok(
            'slot change',
            await call('PUT', `${EDGE}/${slotId}/tls`, { tlsVersion: version, cipherProfile: 'DEFAULT' }),
          );
        }
      }
    };
    await Promise.all([sampler, ...Array.from({ length: options.workers ?? 4 }, worker)]);

    const summarize = (series: Array<[number, number]>) => {
      const steady = series.slice(Math.floor(series.length / 5));
      const round = (x: number) => Math.round(x * 100) / 100;
      return {
        start: round(series[0]?.[1] ?? 0),
        end: round(series.at(-1)?.[1] ?? 0),
        max: round(Math.max(...series.map(([, y]) => y))),
        slopePerMinute: round(slope(steady)),
      };
    };
    report.samples = points.rss.length;
    report.rssMiB = summarize(points.rss);
    report.fds = summarize(points.fds);
    if (running.child.exitCode !== null) {
      report.errors++;
      report.errorSamples.push(`the server exited: ${running.output().slice(-1000)}`);
    }
    return report;
  } finally {
    running?.signal('SIGKILL');
    await running?.exited;
    await pgLocation?.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}
