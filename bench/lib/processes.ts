/**
 * Child processes of the benchmark: the certkeeper server (`node bin/certkeeper.js serve`, exactly
 * what `npm start` runs) and the ceiling server, each on its own event loop, started with the
 * same Node as the benchmark. Plus the resident set size of a process, read from
 * /proc/<pid>/status (VmRSS), sampled while it serves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface Child {
  pid: number;
  url: string;
  /** Milliseconds from spawn to the "listening" line. */
  listeningMs: number;
  /** Milliseconds from spawn to the first 200 of GET /readyz (0 when not asked for). */
  readyMs: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

interface StartOptions {
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Waits for GET /readyz to answer 200 as well. */
  readyz: boolean;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeFlags?: string[];
  label: string;
}

const LISTENING = /listening on (http:\/\/\S+)/;

/** Children still running: killed if the benchmark exits without stopping them. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

async function start(options: StartOptions): Promise<Child> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), ...options.args], {
    cwd: ROOT,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const m = LISTENING.exec(stdout);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) =>
      reject(new Error(`${options.label} exited (${code}) before listening:\n${stdout}\n${stderr}`)),
    );
  });
  const listeningMs = performance.now() - t0;
  let readyMs = 0;
  if (options.readyz) {
    for (;;) {
      const ok = await fetch(`${url}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      if (performance.now() - t0 > 60_000) throw new Error(`${options.label}: /readyz not ready after 60 s`);
      await new Promise((r) => setTimeout(r, 2));
    }
    readyMs = performance.now() - t0;
  }
  // Keep draining stdout (warn-level logs) so the child never blocks on a full pipe.
  child.stdout.resume();
  return {
    pid: child.pid!,
    url,
    listeningMs,
    readyMs,
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Environment for a child: the parent's, minus certkeeper's own settings, plus `set`. */
function childEnv(set: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('CERTKEEPER_') && k !== 'DATABASE_URL') env[k] = v;
  return { ...env, ...set };
}

export interface ServerSettings {
  dataDir: string;
  databaseUrl?: string;
  masterKey: string;
  logLevel: string;
  nodeFlags?: string[];
  /** More environment for the server (e.g. CERTKEEPER_SQLITE_FAST_PATHS=off). */
  env?: Record<string, string>;
}

/**
 * The environment and node flags of `npm start` (package.json `scripts.start`: `[NAME=value …]
 * node <flags> bin/certkeeper.js serve`), so the benchmark measures the server as users start it.
 * The ceiling runs with them too: same runtime settings on both sides of the ratio.
 */
const { START_ENV, START_NODE_FLAGS } = await (async () => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const m = /^((?:[A-Z_]+=\S+\s+)*)node((?:\s+--\S+)*)\s+bin\/certkeeper\.js serve$/.exec(pkg.scripts.start);
  if (!m)
    throw new Error(
      `package.json scripts.start is not "[NAME=value …] node [--flags] bin/certkeeper.js serve": ${pkg.scripts.start}`,
    );
  const words = (text: string) => text.trim().split(/\s+/).filter(Boolean);
  const env = Object.fromEntries(
    words(m[1]!).map((word) => [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)]),
  );
  return { START_ENV: env as Readonly<Record<string, string>>, START_NODE_FLAGS: words(m[2]!) as readonly string[] };
})();
export { START_ENV, START_NODE_FLAGS };

/** `npm start`'s command (`<START_ENV> node <START_NODE_FLAGS> bin/certkeeper.js serve`) on a free port; resolves when /readyz answers 200. */
export function startCertkeeper(settings: ServerSettings): Promise<Child> {
  return start({
    label: 'certkeeper',
    args: ['bin/certkeeper.js', 'serve'],
    readyz: true,
    nodeFlags: [...START_NODE_FLAGS, ...(settings.nodeFlags ?? [])],
    env: childEnv({
      ...START_ENV,
      CERTKEEPER_DATA_DIR: settings.dataDir,
      CERTKEEPER_HOST: '127.0.0.1',
      CERTKEEPER_PORT: '0',
      CERTKEEPER_MASTER_KEY: settings.masterKey,
      CERTKEEPER_LOG_LEVEL: settings.logLevel,
      ...(settings.databaseUrl ? { DATABASE_URL: settings.databaseUrl } : {}),
      ...settings.env,
    }),
  });
}

export function startCeiling(logLevel: string): Promise<Child> {
  return start({
    label: 'ceiling',
    args: ['bench/lib/ceiling-server.ts'],
    readyz: false,
    nodeFlags: [...START_NODE_FLAGS],
    env: childEnv({ ...START_ENV, CERTKEEPER_LOG_LEVEL: logLevel }),
  });
}

/** VmRSS of a process in bytes, or null when it is gone. */
export async function rssBytes(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Samples VmRSS every `everyMs` until stopped; returns the largest sample (bytes). */
export function sampleRss(pid: number, everyMs = 200): { stop(): Promise<number> } {
  let max = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const rss = await rssBytes(pid);
      if (rss !== null && rss > max) max = rss;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const last = await rssBytes(pid);
      return Math.max(max, last ?? 0);
    },
  };
}

/** CPU time (user + system) a process has used, in seconds (clock ticks of 10 ms), or null when it is gone. */
export async function cpuSeconds(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 on: utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/**
 * CPU seconds used so far by each thread of `pid`, user and system apart, summed by thread name
 * (`main` for the process's own thread; Node names the others: `V8 DefaultWorke` GC and compiler
 * helpers, `libuv-worker` the thread pool, `node` worker threads such as the SQLite checkpointer).
 */
export async function threadCpuSeconds(pid: number): Promise<Map<string, { user: number; system: number }>> {
  const byName = new Map<string, { user: number; system: number }>();
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    try {
      const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = Number(tid) === pid ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const sum = byName.get(name) ?? { user: 0, system: 0 };
      sum.user += Number(fields[11]) / 100;
      sum.system += Number(fields[12]) / 100;
      byName.set(name, sum);
    } catch {
      // the thread ended meanwhile
    }
  }
  return byName;
}

/**
 * CPU seconds used so far by each process named `postgres`, by pid: the backends serving
 * `database` when given (their command line names it: `postgres: … user database host(port)`),
 * else every one (the server's own processes and other users' count too). A load run takes the
 * difference per pid (`postgresCpuSince`): summed totals went negative on a shared machine,
 * where other users' backends ended during the run and took their CPU out of the sum.
 */
export async function postgresCpuByPid(database?: string): Promise<Map<number, number>> {
  const byPid = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      if (database !== undefined) {
        const command = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replace(/\0/g, ' ');
        if (!command.includes(` ${database} `)) continue;
      }
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byPid.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // gone meanwhile
    }
  }
  return byPid;
}

/** CPU seconds the processes of `after` used since `before` (a process that started since: all of its own). */
export function postgresCpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += Math.max(0, seconds - (before.get(pid) ?? 0));
  return total;
}
