/**
 * The soak: a real `certkeeper serve` process (SQLite or PostgreSQL) under mixed load for a while,
 * sampled from /proc once a second for its resident memory and open file descriptors.
 *
 * Load, from `workers` concurrent clients through the NCP and Global Edge faces: lists, downloads
 * (export with the key), imports (a fresh key and certificate each), deletes (of certificates the
 * soak imported), and slot changes (the TLS settings of an edge slot holding a certificate).
 * Every answer that is not a success counts as an error, with a sample kept.
 *
 * The mix is balanced so that a slope means something: a delete is as likely as an import, a
 * delete with nothing to delete imports instead, and the server purges at deletion
 * (CERTKEEPER_DELETE_RETENTION_DAYS=0), so the live store stays at a few certificates however long
 * the soak runs (only the audit log grows, on disk). Memory that still grows is the process's own.
 *
 * Reported: operations by kind, errors, and for RSS, V8 heap used after a full GC and the open fd
 * count: start, end, max and slope (least squares over the samples after the first fifth, the
 * warm-up) per minute. RSS and fds are read from /proc once a second; the heap through the
 * server's inspector (started on a loopback port of its own choosing) every HEAP_EVERY_MS:
 * `HeapProfiler.collectGarbage`, then `Runtime.getHeapUsage`, so the figure is what survives a GC,
 * which a leak grows and a cache at its bound does not. With `snapshotDir`, the inspector takes a V8
 * heap snapshot of the server after the warm-up and at the end, written there to compare.
 * The suite asserts 0 errors, not the slopes: a slope over seconds says little; RELIABILITY.md
 * reports long runs.
 */
import { readdir, readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshPostgres, testMasterKey, type TestLocation } from '../helpers/db.ts';
import { ncpFetch, type NcpResponse } from '../helpers/ncp-client.ts';
import { mintBundle, mintLeaf } from '../helpers/pki.ts';
import { cliJson, createDefaultAdmin, EDGE, serve, sleep } from '../e2e/helpers.ts';

export interface SoakOptions {
  seconds: number;
  store: 'sqlite' | 'postgres';
  workers?: number;
  /** Where the server writes two heap snapshots (after the warm-up and at the end); none when unset. */
  snapshotDir?: string;
}

export interface SeriesSummary {
  start: number;
  end: number;
  max: number;
  slopePerMinute: number;
  /** The first sample of each minute: whether a rise levels off. */
  byMinute: number[];
}

export interface SoakReport {
  store: 'sqlite' | 'postgres';
  seconds: number;
  operations: Record<string, number>;
  errors: number;
  errorSamples: string[];
  /** The server's log lines at warn or above (it logs at warn), the first 20: what was behind an error. */
  serverWarnings: string[];
  samples: number;
  rssMiB: SeriesSummary;
  /** RSS's anonymous part (heaps, malloc) and its file-backed and shared part (mapped files, SQLite's -shm). */
  rssAnonMiB: SeriesSummary;
  rssFileMiB: SeriesSummary;
  heapUsedAfterGcMiB: SeriesSummary;
  fds: SeriesSummary;
  /** Live certificates at the end (the pinned one included): the store did not grow. */
  liveCertificatesAtEnd: number;
}

const EMPTY_SERIES: SeriesSummary = { start: 0, end: 0, max: 0, slopePerMinute: 0, byMinute: [] };

/** How often the heap is measured after a forced full GC. */
const HEAP_EVERY_MS = 10_000;

/**
 * A minimal Chrome DevTools Protocol client over the inspector's WebSocket (Node's global
 * WebSocket): one method call at a time is all the soak needs.
 */
class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, (result: unknown) => void>();
  /** Called with each event's params (e.g. `HeapProfiler.addHeapSnapshotChunk`). */
  readonly listeners = new Map<string, (params: Record<string, unknown>) => void>();
  private readonly socket: WebSocket;
  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as {
        id?: number;
        method?: string;
        params?: Record<string, unknown>;
        result?: unknown;
        error?: unknown;
      };
      if (message.method !== undefined) this.listeners.get(message.method)?.(message.params ?? {});
      if (message.id === undefined) return;
      this.pending.get(message.id)?.(message.error === undefined ? message.result : { error: message.error });
      this.pending.delete(message.id);
    });
  }

  static async connect(url: string): Promise<Inspector> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener('error', () => reject(new Error(`inspector ${url}: cannot connect`)), { once: true });
    });
    return new Inspector(socket);
  }

  call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve) => {
      this.pending.set(id, resolve as (result: unknown) => void);
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.socket.close();
  }
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

async function sample(pid: number): Promise<{ rss: number; rssAnon: number; rssFile: number; fds: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const mib = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  const fds = (await readdir(`/proc/${pid}/fd`)).length;
  return { rss: mib('VmRSS'), rssAnon: mib('RssAnon'), rssFile: mib('RssFile') + mib('RssShmem'), fds };
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
    CERTKEEPER_DELETE_RETENTION_DAYS: '0',
  };
  delete env.DATABASE_URL;
  if (pgLocation?.databaseUrl) env.DATABASE_URL = pgLocation.databaseUrl;
  let running: Awaited<ReturnType<typeof serve>> | null = null;
  let inspector: Inspector | null = null;
  try {
    const credentials = await createDefaultAdmin(env);
    await cliJson(env, ['target', 'set', 'directory', '--path', join(dir, 'certs'), '--create']);
    // The server only: the CLI runs above had no inspector to open.
    running = await serve({ ...env, NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --inspect=127.0.0.1:0`.trim() });
    const baseUrl = running.baseUrl;
    const pid = running.child.pid!;
    const inspectorUrl = /Debugger listening on (ws:\/\/\S+)/.exec(running.output())?.[1];
    if (inspectorUrl === undefined) throw new Error(`the server opened no inspector:\n${running.output()}`);
    inspector = await Inspector.connect(inspectorUrl);
    const heapUsedAfterGcMiB = async (): Promise<number> => {
      await inspector!.call('HeapProfiler.collectGarbage');
      const usage = await inspector!.call<{ usedSize: number }>('Runtime.getHeapUsage');
      return usage.usedSize / 1024 / 1024;
    };
    const snapshot = async (name: string): Promise<void> => {
      if (options.snapshotDir === undefined) return;
      const chunks: string[] = [];
      inspector!.listeners.set('HeapProfiler.addHeapSnapshotChunk', (params) => chunks.push(String(params.chunk)));
      await inspector!.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
      await writeFile(join(options.snapshotDir, `${options.store}-${name}.heapsnapshot`), chunks.join(''));
    };
    const bundle = await mintBundle();

    const report: SoakReport = {
      store: options.store,
      seconds: options.seconds,
      operations: {},
      errors: 0,
      errorSamples: [],
      serverWarnings: [],
      samples: 0,
      rssMiB: EMPTY_SERIES,
      rssAnonMiB: EMPTY_SERIES,
      rssFileMiB: EMPTY_SERIES,
      heapUsedAfterGcMiB: EMPTY_SERIES,
      fds: EMPTY_SERIES,
      liveCertificatesAtEnd: 0,
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
    const points: Record<'rss' | 'rssAnon' | 'rssFile' | 'heap' | 'fds', Array<[number, number]>> = {
      rss: [],
      rssAnon: [],
      rssFile: [],
      heap: [],
      fds: [],
    };
    const started = Date.now();
    const minutes = (): number => (Date.now() - started) / 60_000;
    const sampler = (async () => {
      while (Date.now() < end) {
        const s = await sample(pid);
        points.rss.push([minutes(), s.rss]);
        points.rssAnon.push([minutes(), s.rssAnon]);
        points.rssFile.push([minutes(), s.rssFile]);
        points.fds.push([minutes(), s.fds]);
        await sleep(1000);
      }
    })();
    const heapSampler = (async () => {
      let snapshotTaken = false;
      while (Date.now() < end) {
        points.heap.push([minutes(), await heapUsedAfterGcMiB()]);
        if (!snapshotTaken && Date.now() - started >= (options.seconds * 1000) / 5) {
          snapshotTaken = true;
          await snapshot('warm');
        }
        await sleep(Math.min(HEAP_EVERY_MS, Math.max(0, end - Date.now())));
      }
      points.heap.push([minutes(), await heapUsedAfterGcMiB()]);
    })();
    let tls = 0;
    const worker = async (): Promise<void> => {
      while (Date.now() < end) {
        const r = Math.random();
        // Imports and deletes equally likely (a delete with nothing to delete imports): the store stays flat.
        const victim = r >= 0.7 && r < 0.9 ? pool.shift() : undefined;
        if (r < 0.35) ok('list', await call('GET', '/api/v2/certificate/getCertificates', undefined));
        else if (r < 0.5) ok('download', await call('POST', `/api/v2/certificate/exportCertificate/${pinned}`, {}));
        else if (r < 0.9 && victim === undefined) {
          const imported = await importOne();
          if (imported !== null) pool.push(imported);
        } else if (victim !== undefined) {
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
    await Promise.all([sampler, heapSampler, ...Array.from({ length: options.workers ?? 4 }, worker)]);
    await snapshot('end');
    const listed = await call('GET', '/api/v2/certificate/getCertificates', undefined);
    if (ok('list', listed)) report.liveCertificatesAtEnd = (listed.json as { totalCount?: number }).totalCount ?? -1;

    const summarize = (series: Array<[number, number]>): SeriesSummary => {
      const steady = series.slice(Math.floor(series.length / 5));
      const round = (x: number) => Math.round(x * 100) / 100;
      const byMinute: number[] = [];
      for (const [x, y] of series) if (x >= byMinute.length) byMinute.push(round(y));
      return {
        start: round(series[0]?.[1] ?? 0),
        end: round(series.at(-1)?.[1] ?? 0),
        max: round(Math.max(...series.map(([, y]) => y))),
        slopePerMinute: round(slope(steady)),
        byMinute,
      };
    };
    report.samples = points.rss.length;
    report.rssMiB = summarize(points.rss);
    report.rssAnonMiB = summarize(points.rssAnon);
    report.rssFileMiB = summarize(points.rssFile);
    report.heapUsedAfterGcMiB = summarize(points.heap);
    report.fds = summarize(points.fds);
    if (running.child.exitCode !== null) {
      report.errors++;
      report.errorSamples.push(`the server exited: ${running.output().slice(-1000)}`);
    }
    report.serverWarnings = running
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .slice(0, 20)
      .map((line) => line.slice(0, 500));
    return report;
  } finally {
    inspector?.close();
    running?.signal('SIGKILL');
    await running?.exited;
    await pgLocation?.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}
