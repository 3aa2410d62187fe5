/**
 * Does issuance slow the API? The list endpoints' throughput while the issuance worker carries
 * `--orders` (200) orders, against the same server, same store, same orders, with the worker
 * standing still, in slices interleaved round by round (as bench/run.ts does with its ceiling),
 * so the load of a shared machine weighs on both sides of each ratio alike.
 *
 *   npm run bench:issuance -- [--orders 200] [--scale 10000] [--rounds 5] [--seconds 3] [--warmup 1]
 *                             [--connections 32] [--only ncp-v1-name,…] [--control]
 *                             [--server-cpu-prof DIR] [--server-node-flags="…"] [--out FILE] [--no-write]
 *
 * One SQLite store seeded by bench/lib/seed.ts (`--scale` certificates, 1,000 edge slots); a real
 * BIND9 and a real Pebble (the test helpers; Pebble's VA sleeps its random 0–15 s before each
 * validation, as a real CA takes its time) behind the tests' CA proxy (test/helpers/ca-proxy.ts);
 * one `certkeeper serve` (what `npm start` runs) with issuance configured against them, its
 * worker at the defaults (at most 20 CA requests a second, and while list
 * requests are in flight at most one step per 250 ms, docs/operations.md; so the `working` slices
 * measure the worker giving way, and the quiet `working` slice the capped rate).
 * 1. `reference`: every list case with no order at all (absolute figures, for the record).
 * 2. `--orders` orders are requested through NCP (requestCertificateIssuance) and their
 *    `_acme-challenge` CNAMEs created in BIND.
 * 3. `--rounds` rounds; in each, for every list case, two slices of `--seconds` (after `--warmup`):
 *    - `idle`: the CA proxy parks every request, so the worker (one CA request at a time) stands
 *      still mid-order: the orders are in the store, nothing works on them;
 *    - `working`: the proxy lets requests through and the worker carries the orders.
 *    The two slices' order alternates from round to round (ABBA). Before each `working` slice the
 *    orders that ended are replaced with new ones (outside the measured time), so `--orders` are
 *    in flight each time; the active count is read (read-only, from the SQLite file) before and
 *    after each slice.
 * Each round also starts with two quiet slices (no API load, working then idle): the server's CPU
 * in each, so the worker's own cost is read as a share of a core, in CPU seconds rather than wall
 * time (the machine's load weighs less on it): on a server whose lists saturate its one thread,
 * that share is about what the lists lose.
 * The figure: per case, working req/s over idle req/s of the same round; the median over the
 * rounds and its range (target: median ≥ 90 %), and the server CPU per request in each (the
 * worker's share shows in `working`), also by thread. With `--control`, a second idle slice per
 * case and round gives idle against idle: the run's own noise, which a ratio must clear to mean
 * anything. Each slice's window is kept on the monotonic clock, so bench/cpu-prof-slices.ts can
 * split a `--server-cpu-prof` profile by slice. Results: `--out`, else
 * bench/results/<date>-issuance-load.json (unless --no-write); the numbers go in BENCHMARKS.md by
 * hand.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { AutocannonRequest } from 'autocannon';
import { cases, nhnToken, type Case } from './lib/cases.ts';
import { runLoad } from './lib/load.ts';
import { seedPool } from './lib/pools.ts';
import { cpuSeconds, startCertkeeper, threadCpuSeconds } from './lib/processes.ts';
import { RESULTS_DIR } from './lib/results.ts';
import { freshLocation, seedStore } from './lib/seed.ts';
import { DCV_ZONE, USER_ZONE, startBind } from '../test/helpers/bind.ts';
import { startCaProxy } from '../test/helpers/ca-proxy.ts';
import { ncpFetch } from '../test/helpers/ncp-client.ts';
import { startPebble } from '../test/helpers/pebble.ts';
import { addUserCname } from '../test/issuance/user-dns.ts';

const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '200' },
    scale: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '32' },
    /** Writes the server's V8 CPU profile (node --cpu-prof) into this folder when it stops. */
    'server-cpu-prof': { type: 'string' },
    /** Comma-separated list case ids (default: all four). */
    only: { type: 'string' },
    /**
     * A/A control: each case runs a second idle slice after the pair, so the run measures its own
     * noise (idle against idle, same case and round) beside the working/idle ratio.
     */
    control: { type: 'boolean', default: false },
    /** More node flags for the server, space-separated (e.g. "--log-deopt --logfile=v8.log"). */
    'server-node-flags': { type: 'string' },
    /** Where the results go (default bench/results/<date>-issuance-load.json). */
    out: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const ORDERS = Number(values.orders);
const SCALE = Number(values.scale);
const ROUNDS = Math.max(1, Number(values.rounds));
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const CONNECTIONS = Number(values.connections);
const LIST_CASES = new Set(values.only?.split(',') ?? ['ncp-v1-name', 'ncp-v2-page1', 'nhn-list', 'edge-list']);
const ACTIVE_STEPS = [
  'new',
  'account',
  'ordered',
  'publishing',
  'awaiting_cname',
  'responding',
  'polling',
  'finalizing',
  'downloading',
  'storing',
  'cleanup',
];

const log = (line: string): void => void process.stdout.write(`${line}\n`);
const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** CPU seconds used so far by this benchmark's child processes named pebble… or named. */
async function caCpuSeconds(): Promise<number> {
  let total = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== process.pid || !/^(pebble|named)/.test(name)) continue;
      total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

function requestsOf(c: Case): AutocannonRequest[] {
  return [
    {
      method: c.method,
      path: '/',
      setupRequest: (request) => {
        const wire = c.next();
        request.path = wire.path;
        request.headers = wire.headers;
        return request;
      },
    },
  ];
}

interface Slice {
  id: string;
  rps: number;
  /** Server CPU per answered request, µs (the worker's share included). */
  serverCpuUsPerRequest: number;
  /**
   * The same by thread (`main`: the event loop, user and system apart; the others by name: GC
   * helpers, the thread pool, the checkpointer), µs per answered request: where a change lands.
   */
  serverThreadsUsPerRequest: Record<string, number>;
  /** CPU seconds of Pebble, challtestsrv and BIND during the slice (they share the machine). */
  caCpuSeconds: number;
  /** CA requests the proxy saw during the slice (none get through while idle). */
  caRequests: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  activeBefore: number;
  activeAfter: number;
  /**
   * The measured window on the monotonic clock, µs (what V8 stamps a CPU profile with), so a
   * `--server-cpu-prof` profile can be split by slice (bench/cpu-prof-slices.ts).
   */
  monotonicUs: [number, number];
}

const loadAverage = async (): Promise<string> => (await readFile('/proc/loadavg', 'utf8')).trim();

const bind = await startBind();
const pebble = await startPebble({ dnsServer: `${bind.host}:${bind.port}`, vaSleep: true });
const proxy = await startCaProxy(pebble);
const where = await freshLocation('sqlite');
try {
  log(`load average at start: ${await loadAverage()}`);
  log(`seeding ${SCALE} certificates…`);
  const seeded = await seedStore(where, await seedPool(200), SCALE, log);
  /** When the server was started, on the monotonic clock (µs): V8's log stamps its events from about then. */
  const serverStartedUs = Number(process.hrtime.bigint() / 1000n);
  const server = await startCertkeeper({
    dataDir: where.dataDir,
    masterKey: where.masterKey,
    logLevel: 'warn',
    nodeFlags: [
      ...(values['server-cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['server-cpu-prof']}`] : []),
      ...(values['server-node-flags']?.split(' ').filter(Boolean) ?? []),
    ],
    env: {
      CERTKEEPER_ACME_DIRECTORY_URL: proxy.directoryUrl,
      CERTKEEPER_ACME_CA_FILE: proxy.caFile,
      CERTKEEPER_DCV_ZONE: DCV_ZONE,
      CERTKEEPER_DCV_DNS_SERVER: `${bind.host}:${bind.port}`,
      CERTKEEPER_DCV_TSIG_KEY: bind.dcvKey,
      CERTKEEPER_DCV_RESOLVER: `${bind.host}:${bind.port}`,
    },
  });
  const db = new Database(join(where.dataDir, 'certkeeper.db'), { readonly: true });
  const activeOrders = (): number =>
    (
      db
        .prepare(`select count(*) as n from issuance_orders where step in (${ACTIVE_STEPS.map(() => '?').join(',')})`)
        .get(...ACTIVE_STEPS) as { n: number }
    ).n;
  const token = await nhnToken(server.url, seeded);
  const list = cases(
    { url: server.url, seeded, token, importPool: { leaves: [], chainPem: '' }, importNext: { i: 0 } },
    100,
    LIST_CASES,
  );

  const slice = async (c: Case, label: string): Promise<Slice> => {
    await runLoad({ url: server.url, connections: CONNECTIONS, seconds: WARMUP, requests: requestsOf(c) });
    const activeBefore = activeOrders();
    const ca0 = await caCpuSeconds();
    const requests0 = proxy.requests.length;
    const threads0 = await threadCpuSeconds(server.pid);
    const t0 = Number(process.hrtime.bigint() / 1000n);
    const run = await runLoad({
      url: server.url,
      connections: CONNECTIONS,
      seconds: SECONDS,
      requests: requestsOf(c),
      cpuPid: server.pid,
    });
    const t1 = Number(process.hrtime.bigint() / 1000n);
    const threads1 = await threadCpuSeconds(server.pid);
    const serverThreadsUsPerRequest: Record<string, number> = {};
    for (const [name, used] of threads1) {
      const before = threads0.get(name) ?? { user: 0, system: 0 };
      const us = (seconds: number): number => (seconds * 1e6) / run.ok;
      if (name === 'main') {
        serverThreadsUsPerRequest['main user'] = us(used.user - before.user);
        serverThreadsUsPerRequest['main system'] = us(used.system - before.system);
      } else serverThreadsUsPerRequest[name] = us(used.user + used.system - before.user - before.system);
    }
    const caCpu = (await caCpuSeconds()) - ca0;
    const result: Slice = {
      id: c.id,
      rps: run.rps,
      serverCpuUsPerRequest: ((run.cpuSeconds ?? Number.NaN) / run.ok) * 1e6,
      serverThreadsUsPerRequest,
      caCpuSeconds: caCpu,
      caRequests: proxy.requests.length - requests0,
      p50Ms: run.p50Ms,
      p99Ms: run.p99Ms,
      non2xx: run.non2xx,
      activeBefore,
      activeAfter: activeOrders(),
      monotonicUs: [t0, t1],
    };
    log(
      `${label.padEnd(16)} ${c.id.padEnd(14)} ${run.rps.toFixed(0).padStart(6)} req/s  p99 ${run.p99Ms.toFixed(1)} ms  server ${result.serverCpuUsPerRequest.toFixed(0)} µs/req  (${Object.entries(
        serverThreadsUsPerRequest,
      )
        .filter(([, us]) => us >= 1)
        .map(([name, us]) => `${name} ${us.toFixed(0)}`)
        .join(
          ', ',
        )})  CA requests ${result.caRequests}  CA+DNS CPU ${caCpu.toFixed(1)} s  orders active ${activeBefore} → ${result.activeAfter}${run.non2xx ? `  non-2xx ${run.non2xx}` : ''}`,
    );
    return result;
  };

  const reference: Slice[] = [];
  for (const c of list) reference.push(await slice(c, 'reference'));

  // Requests orders (and creates their CNAMEs) until `ORDERS` are active.
  const credentials = { accessKey: seeded.accessKey, secretKey: seeded.secretKey };
  let requested = 0;
  const topUp = async (): Promise<number> => {
    const missing = ORDERS - activeOrders();
    for (let i = 0; i < missing; i++) {
      const n = requested++;
      const domain = `load${n}.${USER_ZONE}`;
      const made = await ncpFetch(server.url, {
        method: 'POST',
        path: '/api/v2/certificate/requestCertificateIssuance',
        credentials,
        body: { certificateName: `load-${n}`, commonName: domain, dnsName: [domain], validationMethod: 'D' },
      });
      const certificateNo = (made.json as { certificateNo?: number }).certificateNo;
      if (made.status !== 200 || certificateNo === undefined)
        throw new Error(`request ${n}: ${made.status} ${made.body.toString()}`);
      const info = await ncpFetch(server.url, {
        method: 'GET',
        path: `/api/v2/certificate/getVerificationInfo/${certificateNo}`,
        credentials,
        query: { domainAddress: domain },
      });
      const record = (info.json as { dnsVerificationList: Array<{ dnsRecordName: string; dnsRecordValue: string }> })
        .dnsVerificationList[0]!;
      await addUserCname(bind, record.dnsRecordName, record.dnsRecordValue);
    }
    return Math.max(missing, 0);
  };

  log(`requesting ${ORDERS} orders through NCP and creating their CNAMEs…`);
  const tRequest = performance.now();
  await topUp();
  const requestSeconds = (performance.now() - tRequest) / 1000;
  log(`requested in ${requestSeconds.toFixed(1)} s; ${activeOrders()} active; load average ${await loadAverage()}`);

  /**
   * The server's CPU over `SECONDS` with no API load: what the worker alone costs (working) against
   * the process at rest (idle). CPU seconds, not wall time, so the machine's load weighs less.
   */
  const quiet = async (label: string): Promise<{ cpuSeconds: number; caRequests: number }> => {
    const cpu0 = await cpuSeconds(server.pid);
    const requests0 = proxy.requests.length;
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    const result = {
      cpuSeconds: ((await cpuSeconds(server.pid)) ?? Number.NaN) - (cpu0 ?? Number.NaN),
      caRequests: proxy.requests.length - requests0,
    };
    log(
      `${label.padEnd(16)} no API load      server CPU ${((result.cpuSeconds / SECONDS) * 100).toFixed(1)} % of a core  CA requests ${result.caRequests}`,
    );
    return result;
  };

  const rounds: Array<{
    loadAverage: string;
    idle: Slice[];
    working: Slice[];
    /** With --control: the second idle slice of each case. */
    idleAgain?: Slice[];
    toppedUp: number[];
    quiet: { idle: { cpuSeconds: number; caRequests: number }; working: { cpuSeconds: number; caRequests: number } };
  }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    const idle: Slice[] = [];
    const working: Slice[] = [];
    const idleAgain: Slice[] = [];
    const toppedUp: number[] = [];
    toppedUp.push(await topUp());
    const quietWorking = await quiet(`round ${round + 1} working`);
    proxy.pause();
    const quietIdle = await quiet(`round ${round + 1} idle`);
    proxy.resume();
    for (const c of list) {
      const order: Array<'idle' | 'working'> = round % 2 === 0 ? ['idle', 'working'] : ['working', 'idle'];
      for (const kind of order) {
        if (kind === 'idle') {
          proxy.pause();
          idle.push(await slice(c, `round ${round + 1} idle`));
          proxy.resume();
        } else {
          toppedUp.push(await topUp());
          working.push(await slice(c, `round ${round + 1} working`));
        }
      }
      if (values.control) {
        proxy.pause();
        idleAgain.push(await slice(c, `round ${round + 1} idle again`));
        proxy.resume();
      }
    }
    rounds.push({
      loadAverage: await loadAverage(),
      idle,
      working,
      ...(values.control ? { idleAgain } : {}),
      toppedUp,
      quiet: { idle: quietIdle, working: quietWorking },
    });
    log(`round ${round + 1}: load average ${rounds.at(-1)!.loadAverage}; topped up ${toppedUp.join(', ')}`);
  }
  const outcomes = db.prepare('select step, count(*) as n from issuance_orders group by step').all() as Array<{
    step: string;
    n: number;
  }>;
  log(`orders by step at the end: ${JSON.stringify(outcomes)}; ${requested} requested in all`);

  const summary = list.map((c) => {
    const ratios = rounds.map(
      (r) => r.working.find((s) => s.id === c.id)!.rps / r.idle.find((s) => s.id === c.id)!.rps,
    );
    /** With --control: the second idle slice over the first, per round (the run's own noise). */
    const controlRatios = values.control
      ? rounds.map((r) => r.idleAgain!.find((s) => s.id === c.id)!.rps / r.idle.find((s) => s.id === c.id)!.rps)
      : null;
    const of = (kind: 'idle' | 'working', pick: (s: Slice) => number) =>
      median(rounds.map((r) => pick(r[kind].find((s) => s.id === c.id)!)));
    return {
      id: c.id,
      label: c.label,
      referenceRps: reference.find((s) => s.id === c.id)!.rps,
      idleRps: of('idle', (s) => s.rps),
      workingRps: of('working', (s) => s.rps),
      ratios,
      ratioMedian: median(ratios),
      ratioMin: Math.min(...ratios),
      ratioMax: Math.max(...ratios),
      ...(controlRatios
        ? {
            controlRatios,
            controlMedian: median(controlRatios),
            controlMin: Math.min(...controlRatios),
            controlMax: Math.max(...controlRatios),
          }
        : {}),
      serverCpuUsPerRequest: {
        idle: of('idle', (s) => s.serverCpuUsPerRequest),
        working: of('working', (s) => s.serverCpuUsPerRequest),
      },
      serverThreadsUsPerRequest: Object.fromEntries(
        (['idle', 'working'] as const).map((kind) => {
          const names = new Set(
            rounds.flatMap((r) => Object.keys(r[kind].find((s) => s.id === c.id)!.serverThreadsUsPerRequest)),
          );
          return [
            kind,
            Object.fromEntries(
              [...names].map((name) => [name, of(kind, (s) => s.serverThreadsUsPerRequest[name] ?? 0)]),
            ),
          ];
        }),
      ) as Record<'idle' | 'working', Record<string, number>>,
      caRequestsWorking: of('working', (s) => s.caRequests),
      activeWorking: [of('working', (s) => s.activeBefore), of('working', (s) => s.activeAfter)],
    };
  });
  const workerShare = rounds.map((r) => (r.quiet.working.cpuSeconds - r.quiet.idle.cpuSeconds) / SECONDS);
  const workerCost = {
    shareOfCoreMedian: median(workerShare),
    shareOfCoreMin: Math.min(...workerShare),
    shareOfCoreMax: Math.max(...workerShare),
    caRequestsPerSecond: median(rounds.map((r) => r.quiet.working.caRequests / SECONDS)),
  };
  log('');
  log(`load average at the end: ${await loadAverage()}`);
  log(
    `the worker alone (no API load): ${(workerCost.shareOfCoreMedian * 100).toFixed(1)} % of a core (${(workerCost.shareOfCoreMin * 100).toFixed(1)}–${(workerCost.shareOfCoreMax * 100).toFixed(1)} %), ${workerCost.caRequestsPerSecond.toFixed(1)} CA requests/s`,
  );
  for (const s of summary) {
    log(
      `${s.label.padEnd(40)} idle ${s.idleRps.toFixed(0).padStart(6)}  working ${s.workingRps.toFixed(0).padStart(6)}  ratio median ${(s.ratioMedian * 100).toFixed(0)} % (${(s.ratioMin * 100).toFixed(0)}–${(s.ratioMax * 100).toFixed(0)} %)  server µs/req ${s.serverCpuUsPerRequest.idle.toFixed(0)} → ${s.serverCpuUsPerRequest.working.toFixed(0)}  CA requests/slice ${s.caRequestsWorking.toFixed(0)}  active ${s.activeWorking.map((n) => n.toFixed(0)).join(' → ')}`,
    );
    if (s.controlRatios)
      log(
        `${''.padEnd(40)} control, idle again/idle: median ${(s.controlMedian! * 100).toFixed(0)} % (${(s.controlMin! * 100).toFixed(0)}–${(s.controlMax! * 100).toFixed(0)} %)`,
      );
    const threads = s.serverThreadsUsPerRequest;
    log(
      `${''.padEnd(40)} by thread, µs/req idle → working: ${Object.keys(threads.working)
        .filter((name) => (threads.working[name] ?? 0) >= 1 || (threads.idle[name] ?? 0) >= 1)
        .map((name) => `${name} ${(threads.idle[name] ?? 0).toFixed(0)} → ${(threads.working[name] ?? 0).toFixed(0)}`)
        .join(', ')}`,
    );
  }
  db.close();
  await server.stop();
  if (!values['no-write']) {
    await mkdir(RESULTS_DIR, { recursive: true });
    const file = values.out ?? join(RESULTS_DIR, `${new Date().toISOString().slice(0, 10)}-issuance-load.json`);
    await writeFile(
      file,
      `${JSON.stringify(
        {
          command: `npm run bench:issuance -- ${process.argv.slice(2).join(' ')}`.trim(),
          at: new Date().toISOString(),
          orders: ORDERS,
          scale: SCALE,
          roundCount: ROUNDS,
          seconds: SECONDS,
          warmup: WARMUP,
          connections: CONNECTIONS,
          requestSeconds,
          serverStartedUs,
          requested,
          outcomes,
          reference,
          rounds,
          summary,
          workerCost,
        },
        null,
        2,
      )}\n`,
    );
    log(`results: ${file}`);
  }
} finally {
  await where.cleanup();
  await proxy.close();
  await pebble.stop();
  await bind.stop();
}
