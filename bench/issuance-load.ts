/**
 * Does issuance slow the API? The list endpoints' throughput with no order in flight and with
 * `--orders` (200) orders in flight, measured in the same run on the same server.
 *
 *   npm run bench:issuance -- [--orders 200] [--scale 10000] [--seconds 5] [--connections 32] [--no-write]
 *
 * One SQLite store seeded by bench/lib/seed.ts (`--scale` certificates, 1,000 edge slots); a real
 * BIND9 and a real Pebble (the test helpers; Pebble's VA sleeps its random 0–15 s before each
 * validation, as a real CA takes its time, so orders stay in flight while the lists are measured);
 * one `certkeeper serve` (what `npm start` runs) with issuance configured against them, its
 * worker at the defaults. Three phases, each running every list case for `--seconds`:
 * 1. `none-before`: no order exists;
 * 2. `in-flight`: right after `--orders` orders were requested through NCP
 *    (requestCertificateIssuance) and their `_acme-challenge` CNAMEs created in BIND, while the
 *    worker carries them through Pebble; the orders still active are counted (read-only, from the
 *    SQLite file) before and after each case;
 * 3. `none-after`: once every order is final (so drift of the shared machine shows).
 * The figure to compare is in-flight req/s over the mean of the two `none` phases (target: ≥ 90 %).
 * Results: bench/results/<date>-issuance-load.json (unless --no-write); the numbers go in
 * BENCHMARKS.md by hand.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { AutocannonRequest } from 'autocannon';
import { cases, nhnToken, type Case } from './lib/cases.ts';
import { runLoad } from './lib/load.ts';
import { seedPool } from './lib/pools.ts';
import { startCertkeeper } from './lib/processes.ts';
import { RESULTS_DIR } from './lib/results.ts';
import { freshLocation, seedStore } from './lib/seed.ts';
import { DCV_ZONE, USER_ZONE, startBind } from '../test/helpers/bind.ts';
import { ncpFetch } from '../test/helpers/ncp-client.ts';
import { startPebble } from '../test/helpers/pebble.ts';
import { addUserCname } from '../test/issuance/user-dns.ts';

const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '200' },
    scale: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '32' },
    'no-write': { type: 'boolean', default: false },
  },
});
const ORDERS = Number(values.orders);
const SCALE = Number(values.scale);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const CONNECTIONS = Number(values.connections);
const LIST_CASES = new Set(['ncp-v1-name', 'ncp-v2-page1', 'nhn-list', 'edge-list']);
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

interface PhaseCase {
  id: string;
  rps: number;
  /** Server CPU per answered request, µs (the worker's share included). */
  serverCpuUsPerRequest: number;
  /** CPU seconds of Pebble, challtestsrv and BIND during the run (they share the machine). */
  caCpuSeconds: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  activeBefore: number;
  activeAfter: number;
}

const bind = await startBind();
const pebble = await startPebble({ dnsServer: `${bind.host}:${bind.port}`, vaSleep: true });
const where = await freshLocation('sqlite');
try {
  log(`seeding ${SCALE} certificates…`);
  const seeded = await seedStore(where, await seedPool(200), SCALE, log);
  const server = await startCertkeeper({
    dataDir: where.dataDir,
    masterKey: where.masterKey,
    logLevel: 'warn',
    env: {
      CERTKEEPER_ACME_DIRECTORY_URL: pebble.directoryUrl,
      CERTKEEPER_ACME_CA_FILE: pebble.caFile,
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

  const phase = async (name: string): Promise<PhaseCase[]> => {
    const results: PhaseCase[] = [];
    for (const c of list) {
      await runLoad({ url: server.url, connections: CONNECTIONS, seconds: WARMUP, requests: requestsOf(c) });
      const activeBefore = activeOrders();
      const ca0 = await caCpuSeconds();
      const run = await runLoad({
        url: server.url,
        connections: CONNECTIONS,
        seconds: SECONDS,
        requests: requestsOf(c),
        cpuPid: server.pid,
      });
      const caCpu = (await caCpuSeconds()) - ca0;
      const activeAfter = activeOrders();
      const serverCpuUsPerRequest = ((run.cpuSeconds ?? Number.NaN) / run.ok) * 1e6;
      results.push({
        id: c.id,
        rps: run.rps,
        serverCpuUsPerRequest,
        caCpuSeconds: caCpu,
        p50Ms: run.p50Ms,
        p99Ms: run.p99Ms,
        non2xx: run.non2xx,
        activeBefore,
        activeAfter,
      });
      log(
        `${name.padEnd(12)} ${c.id.padEnd(14)} ${run.rps.toFixed(0).padStart(6)} req/s  p99 ${run.p99Ms.toFixed(1)} ms  server ${serverCpuUsPerRequest.toFixed(0)} µs/req  CA+DNS ${caCpu.toFixed(1)} s  orders active ${activeBefore} → ${activeAfter}${run.non2xx ? `  non-2xx ${run.non2xx}` : ''}`,
      );
    }
    return results;
  };

  const noneBefore = await phase('none-before');

  log(`requesting ${ORDERS} orders through NCP and creating their CNAMEs…`);
  const credentials = { accessKey: seeded.accessKey, secretKey: seeded.secretKey };
  const tRequest = performance.now();
  for (let i = 0; i < ORDERS; i++) {
    const domain = `load${i}.${USER_ZONE}`;
    const made = await ncpFetch(server.url, {
      method: 'POST',
      path: '/api/v2/certificate/requestCertificateIssuance',
      credentials,
      body: { certificateName: `load-${i}`, commonName: domain, dnsName: [domain], validationMethod: 'D' },
    });
    const certificateNo = (made.json as { certificateNo?: number }).certificateNo;
    if (made.status !== 200 || certificateNo === undefined)
      throw new Error(`request ${i}: ${made.status} ${made.body.toString()}`);
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
  const requestSeconds = (performance.now() - tRequest) / 1000;
  log(`requested in ${requestSeconds.toFixed(1)} s; ${activeOrders()} active`);
  const inFlight = await phase('in-flight');

  const tDrain = performance.now();
  while (activeOrders() > 0) {
    if (performance.now() - tDrain > 600_000) throw new Error(`${activeOrders()} orders still active after 10 min`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const drainSeconds = (performance.now() - tDrain) / 1000;
  const outcomes = db.prepare('select step, count(*) as n from issuance_orders group by step').all() as Array<{
    step: string;
    n: number;
  }>;
  log(`every order final ${drainSeconds.toFixed(0)} s after the in-flight phase: ${JSON.stringify(outcomes)}`);
  const noneAfter = await phase('none-after');

  const summary = list.map((c) => {
    const before = noneBefore.find((r) => r.id === c.id)!;
    const during = inFlight.find((r) => r.id === c.id)!;
    const after = noneAfter.find((r) => r.id === c.id)!;
    const none = (before.rps + after.rps) / 2;
    return {
      id: c.id,
      label: c.label,
      noneRps: none,
      inFlightRps: during.rps,
      ratio: during.rps / none,
      serverCpuUsPerRequest: {
        none: (before.serverCpuUsPerRequest + after.serverCpuUsPerRequest) / 2,
        inFlight: during.serverCpuUsPerRequest,
      },
      activeDuring: [during.activeBefore, during.activeAfter],
    };
  });
  for (const s of summary)
    log(
      `${s.label.padEnd(40)} none ${s.noneRps.toFixed(0).padStart(6)}  in flight ${s.inFlightRps.toFixed(0).padStart(6)}  ${(s.ratio * 100).toFixed(0)} %  server µs/req ${s.serverCpuUsPerRequest.none.toFixed(0)} → ${s.serverCpuUsPerRequest.inFlight.toFixed(0)}  (orders active ${s.activeDuring.join(' → ')})`,
    );
  db.close();
  await server.stop();
  if (!values['no-write']) {
    await mkdir(RESULTS_DIR, { recursive: true });
    const file = join(RESULTS_DIR, `${new Date().toISOString().slice(0, 10)}-issuance-load.json`);
    await writeFile(
      file,
      `${JSON.stringify(
        {
          command: `npm run bench:issuance -- ${process.argv.slice(2).join(' ')}`.trim(),
          at: new Date().toISOString(),
          orders: ORDERS,
          scale: SCALE,
          seconds: SECONDS,
          connections: CONNECTIONS,
          requestSeconds,
          drainSeconds,
          outcomes,
          phases: { noneBefore, inFlight, noneAfter },
          summary,
        },
        null,
        2,
      )}\n`,
    );
    log(`results: ${file}`);
  }
} finally {
  await where.cleanup();
  await pebble.stop();
  await bind.stop();
}
