/**
 * Instructions the server executes per request, counted by valgrind's callgrind: a figure the
 * load on the shared machine does not change (its CPU time does, by tens of per cent), so two
 * trees, or the two stores, can be compared on a busy machine.
 *
 *   node bench/server-instructions.ts --store postgres --at postgres://…/kept_db [--tree DIR]
 *     [--only ncp-v2-page1,acm-list] [--requests 200] [--warmup 300] [--top 0]
 *   node bench/server-instructions.ts --store sqlite --at /path/to/kept/dir …
 *
 * Runs on a store kept by `bench/run.ts --keep` or `--seed-only` (its manifest gives the seeded
 * tenant; the rows of earlier runs are removed first, as `--reuse-*` does). `--tree` runs the
 * server and the cases of another checkout, as bench/pg-backend-cpu.ts does. The server is
 * `npm start`'s command under `valgrind --tool=callgrind --instr-atstart=no`: nothing is counted
 * while it starts and serves `--warmup` requests of a case (its code optimised, statements
 * prepared and past PostgreSQL's first custom plans); then instrumentation is switched on
 * (`callgrind_control`), `--requests` requests are sent, 4 in flight, and the counts dumped.
 *
 * Per case it prints the instructions (callgrind's Ir, every thread of the process: the event
 * loop, V8's compiler and GC threads, libuv's pool) per request, and the bytes V8 allocated per
 * request: the `allocated=` of the GCs that ran meanwhile (`--trace-gc-nvp`), so a coarse
 * figure, exact to one young generation over the run. `--top N` adds the N functions with the
 * most instructions per request (callgrind_annotate, self cost); JIT-compiled JavaScript has no
 * symbols there and shows as its code address. User-space only: the kernel's share of a
 * system call (a socket's `writev`) is not counted. Under valgrind the server runs about 50
 * times slower: keep `--requests` in the hundreds.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type * as cases_ from './lib/cases.ts';
import type * as processes_ from './lib/processes.ts';
import type * as seed_ from './lib/seed.ts';

const { values } = parseArgs({
  options: {
    store: { type: 'string' },
    at: { type: 'string' },
    tree: { type: 'string', default: resolve(import.meta.dirname, '..') },
    only: { type: 'string', default: 'ncp-v2-page1,acm-list' },
    requests: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '300' },
    top: { type: 'string', default: '0' },
  },
});
const store = values.store;
if ((store !== 'sqlite' && store !== 'postgres') || !values.at)
  throw new Error('--store sqlite|postgres and --at DIR|URL (a store kept by bench/run.ts) are required');
const tree = resolve(values.tree);
const REQUESTS = Number(values.requests);
const WARMUP = Number(values.warmup);
const TOP = Number(values.top);
const IN_FLIGHT = 4;

// The tree's own bench modules (its cases, its server's flags, its manifest reader), typed as this tree's.
const { cases, nhnToken, send } = (await import(`${tree}/bench/lib/cases.ts`)) as typeof cases_;
const { START_NODE_FLAGS } = (await import(`${tree}/bench/lib/processes.ts`)) as typeof processes_;
const { reuseStore } = (await import(`${tree}/bench/lib/seed.ts`)) as typeof seed_;

const { where, seeded } = await reuseStore(store, values.at, () => {});
const dumps = await mkdtemp(join(tmpdir(), 'certkeeper-callgrind-'));

// The environment bench/lib/processes.ts gives the server: the parent's minus certkeeper's own.
const env: NodeJS.ProcessEnv = {};
for (const [key, value] of Object.entries(process.env))
  if (!key.startsWith('CERTKEEPER_') && key !== 'DATABASE_URL') env[key] = value;
Object.assign(env, {
  CERTKEEPER_DATA_DIR: where.dataDir,
  CERTKEEPER_HOST: '127.0.0.1',
  CERTKEEPER_PORT: '0',
  CERTKEEPER_MASTER_KEY: where.masterKey,
  CERTKEEPER_LOG_LEVEL: 'warn',
  ...(where.databaseUrl ? { DATABASE_URL: where.databaseUrl } : {}),
});
const server = spawn(
  'valgrind',
  [
    '--tool=callgrind',
    '--instr-atstart=no',
    `--callgrind-out-file=${dumps}/callgrind.%p`,
    process.execPath,
    ...START_NODE_FLAGS,
    '--trace-gc-nvp',
    'bin/certkeeper.js',
    'serve',
  ],
  { cwd: tree, env, stdio: ['ignore', 'pipe', 'pipe'] },
);
const exited = new Promise((done) => server.once('exit', done));
let allocated = 0;
let stdout = '';
server.stderr.resume();
const url = await new Promise<string>((done, fail) => {
  server.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    for (const m of chunk.matchAll(/allocated=(\d+)/g)) allocated += Number(m[1]);
    stdout = (stdout + chunk).slice(-20_000);
    const listening = /listening on (http:\/\/\S+)/.exec(stdout);
    if (listening) done(listening[1]!);
  });
  void exited.then(() => fail(new Error(`the server exited before listening:\n${stdout}`)));
});
while (
  !(await fetch(`${url}/readyz`).then(
    (r) => r.status === 200,
    () => false,
  ))
)
  await new Promise((r) => setTimeout(r, 100));

const control = (...args: string[]): void => {
  execFileSync('callgrind_control', [...args, String(server.pid)], { stdio: 'ignore' });
};
const instructionsIn = async (file: string): Promise<number> =>
  Number(/^(?:summary|totals): (\d+)/m.exec(await readFile(file, 'utf8'))?.[1] ?? NaN);

try {
  const ctx = {
    url,
    seeded,
    token: await nhnToken(url, seeded),
    importPool: { chainPem: '', leaves: [] },
    importNext: { i: 0 },
  };
  console.log(`${tree}, ${store}: ${REQUESTS} requests per case after ${WARMUP} uncounted, ${IN_FLIGHT} in flight`);
  for (const c of cases(ctx, 100, new Set(values.only.split(',')))) {
    if (c.kind === 'import') throw new Error(`${c.id}: imports are not measured here (each request adds a row)`);
    const run = async (count: number): Promise<void> => {
      let next = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next++ < count) {
            const r = await send(ctx.url, c.method, c.next());
            if (r.status !== 200) throw new Error(`${c.id}: HTTP ${r.status}`);
          }
        }),
      );
    };
    await run(WARMUP);
    const before = new Set(await readdir(dumps));
    control('--instr=on');
    control('--zero');
    const allocatedBefore = allocated;
    await run(REQUESTS);
    control('--dump', c.id);
    control('--instr=off');
    const files = (await readdir(dumps)).filter((f) => !before.has(f)).map((f) => join(dumps, f));
    let instructions = 0;
    for (const file of files) instructions += await instructionsIn(file);
    console.log(
      `${c.id}\t${(instructions / REQUESTS / 1e6).toFixed(2)} M instructions/request\t${Math.round((allocated - allocatedBefore) / REQUESTS / 1024)} KiB allocated/request`,
    );
    if (TOP > 0)
      for (const file of files) {
        const annotated = execFileSync('callgrind_annotate', ['--inclusive=no', `--threshold=100`, file], {
          encoding: 'utf8',
          maxBuffer: 64 << 20,
        });
        const lines = annotated
          .split('\n')
          .filter((line) => /^\s*[\d,]+ \(/.test(line) && !/PROGRAM TOTALS/.test(line));
        for (const line of lines.slice(0, TOP)) {
          const [, count, what] = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$/.exec(line)!;
          console.log(
            `  ${Math.round(Number(count!.replaceAll(',', '')) / REQUESTS)
              .toLocaleString('en-US')
              .padStart(9)}  ${what!.slice(0, 160)}`,
          );
        }
      }
  }
} finally {
  server.kill('SIGTERM');
  await exited;
  await rm(dumps, { recursive: true, force: true });
  await where.cleanup();
}
