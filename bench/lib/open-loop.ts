/**
 * An open-loop load generator: requests sent on a fixed schedule (a constant arrival rate), each
 * request's latency measured from the time the schedule meant to send it, not from when it was
 * sent. So a stall of the server (or of this generator) shows as the latency of every request
 * that should have gone out during it: no coordinated omission.
 *
 * Why not autocannon's `overallRate`: it throttles its closed loop of connections and times each
 * response from its actual send, so when the server stalls it simply sends later and the stall
 * vanishes from the histogram (requests never sent are never counted). Its
 * `correctCoordinatedOmission` option (autocannon PR #274) back-fills the histogram afterwards
 * from an assumed interval, wrk-style: an estimate, where a schedule gives the real send times.
 *
 * The schedule: request i is due at t0 + i / rate. A 1 ms timer sends every due request.
 *
 * The connections: a fixed pool of `connections` keep-alive connections (256 unless told),
 * opened (each by one `GET warmPath`) before the schedule starts; no connection is opened while
 * it runs. A request due while every connection is busy waits for one in this process, first come
 * first served, and that wait counts in its latency (it is measured from the schedule); `queued`
 * and `maxOutstanding` say how often and how deep. The pool is large so that such waits are rare:
 * a request queued here goes out only when an answer frees a connection, one round trip of this
 * process's loop later, where the server would have read it from its socket at once. With the
 * closed loop's 32 connections a stall's backlog drained through that queue, and the tails were
 * longer than the old generator's (docs/performance.md, "Open-loop tails at 1,000,000").
 *
 * The old generator opened a connection whenever every open one was busy: after any stall of the
 * server or of this process it opened dozens at once (90 in the 1,000,000 NCP v1 run of session
 * 11), hundreds once the machine was overloaded (then each late answer opened more, and the run
 * never caught up), each about 70–150 µs of CPU on each side on this machine, spent by both
 * processes exactly when they were behind, and its latency mixed connection set-up into the
 * server's.
 *
 * Bounded in count (rate × seconds) and time (the run, then at most `drainSeconds` for answers in
 * flight; unanswered requests count as errors). CPU per request is read for this process and,
 * when asked, for the server and PostgreSQL, over the schedule only, so the utilisation a tail
 * came at is known rather than assumed from the closed loop's maximum.
 */
import { Agent, request, type ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { cpuSeconds, postgresCpuByPid, postgresCpuSince } from './processes.ts';

export interface OpenLoopRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface OpenLoopSpec {
  url: string;
  /** Requests per second, the schedule's rate. */
  rate: number;
  seconds: number;
  next(): OpenLoopRequest;
  /** Keep-alive connections, all opened before the schedule starts (default 256). */
  connections?: number;
  /** What opens each connection (default `/healthz`): a GET that must answer 200. */
  warmPath?: string;
  /** Called once the connections are open, just before the schedule starts (e.g. to reset a probe). */
  onReady?: () => Promise<unknown>;
  drainSeconds?: number;
  /** Measures this process's CPU time (the server) over the schedule. */
  cpuPid?: number;
  /** Measures PostgreSQL's backends' CPU over the schedule: every one (true), or one database's (its name). */
  postgresCpu?: boolean | string;
}

export interface OpenLoopResult {
  rate: number;
  sent: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** How late the generator sent requests against the schedule (its own lag), ms. */
  sendLagP99Ms: number;
  sendLagMaxMs: number;
  /** The generator's own event-loop delay over the run (p99, max), ms: a late loop reads answers late too. */
  generatorLoopP99Ms: number;
  generatorLoopMaxMs: number;
  /** Connections the generator used: the pool opened before the schedule (none are opened during it). */
  connections: number;
  /** Requests that found every connection busy and waited for one (their wait is in their latency). */
  queued?: number;
  /** The most requests outstanding at once (sent and not yet answered, waiting for a connection included). */
  maxOutstanding?: number;
  /** CPU time a request over the schedule, µs: the generator's own, the server's (cpuPid), PostgreSQL's; null when not measured. */
  generatorCpuUsPerRequest?: number | null;
  serverCpuUsPerRequest?: number | null;
  postgresCpuUsPerRequest?: number | null;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

/** Opens `count` keep-alive connections on `agent`, one concurrent GET each, all answered before it resolves. */
async function openConnections(agent: Agent, target: URL, count: number, path: string): Promise<Set<Socket>> {
  const sockets = new Set<Socket>();
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve, reject) => {
          const req = request({ host: target.hostname, port: target.port, path, agent }, (res) => {
            res.resume();
            res.on('end', () =>
              res.statusCode === 200 ? resolve() : reject(new Error(`GET ${path}: HTTP ${res.statusCode}`)),
            );
          });
          req.on('socket', (socket) => sockets.add(socket));
          req.on('error', reject);
          req.end();
        }),
    ),
  );
  return sockets;
}

export async function runOpenLoop(spec: OpenLoopSpec): Promise<OpenLoopResult> {
  const target = new URL(spec.url);
  const pool = spec.connections ?? 256;
  // maxSockets = the pool: the agent queues a request that finds every connection busy (FIFO)
  // instead of opening another. A socket the server closes (Fastify's keep-alive timeout, 72 s,
  // outlasts a run) would be replaced by the agent, and counted in `connections`.
  // maxFreeSockets too: the agent closes idle sockets beyond it (default 256).
  const agent = new Agent({ keepAlive: true, maxSockets: pool, maxFreeSockets: pool });
  const total = Math.max(1, Math.round(spec.rate * spec.seconds));
  const latencies: number[] = [];
  const sendLags: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let done = 0;
  let sent = 0;
  let queued = 0;
  let maxOutstanding = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const sockets = await openConnections(agent, target, pool, spec.warmPath ?? '/healthz').catch((error: unknown) => {
    agent.destroy();
    throw error;
  });

  const answered = (): void => {
    if (++done === total) finish();
  };
  const fire = (intended: number): void => {
    const r = spec.next();
    const outstanding = sent - done;
    if (outstanding > pool) queued++;
    maxOutstanding = Math.max(maxOutstanding, outstanding);
    const req: ClientRequest = request(
      {
        host: target.hostname,
        port: target.port,
        method: r.method,
        path: r.path,
        headers: r.body === undefined ? r.headers : { ...r.headers, 'content-length': Buffer.byteLength(r.body) },
        agent,
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - intended);
          if (res.statusCode === 200) ok++;
          else non2xx++;
          answered();
        });
      },
    );
    req.on('socket', (socket) => sockets.add(socket));
    req.on('error', () => {
      errors++;
      answered();
    });
    req.end(r.body);
  };

  await spec.onReady?.();
  const pgDatabase = typeof spec.postgresCpu === 'string' ? spec.postgresCpu : undefined;
  const pg0 = spec.postgresCpu ? await postgresCpuByPid(pgDatabase) : null;
  const server0 = spec.cpuPid === undefined ? null : await cpuSeconds(spec.cpuPid);
  const generator0 = process.cpuUsage();
  const generatorLoop = monitorEventLoopDelay({ resolution: 1 });
  generatorLoop.enable();
  const t0 = performance.now() + 5;
  const interval = 1000 / spec.rate;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      while (sent < total) {
        const intended = t0 + sent * interval;
        if (intended > now) break;
        sendLags.push(now - intended);
        sent++;
        fire(intended);
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    setTimeout(tick, 5);
  });
  const drain = setTimeout(finish, (spec.drainSeconds ?? 10) * 1000);
  await finished;
  clearTimeout(drain);
  const generatorCpu = process.cpuUsage(generator0);
  const server1 = spec.cpuPid === undefined ? null : await cpuSeconds(spec.cpuPid);
  const pg1 = spec.postgresCpu ? await postgresCpuByPid(pgDatabase) : null;
  agent.destroy();
  generatorLoop.disable();
  errors += total - done;

  const sorted = latencies.sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
  const lags = sendLags.sort((a, b) => a - b);
  const perRequest = (seconds: number | null): number | null => (seconds === null ? null : (seconds * 1e6) / sent);
  return {
    rate: spec.rate,
    sent,
    ok,
    non2xx,
    errors,
    sendLagP99Ms: lags[Math.floor(lags.length * 0.99)] ?? 0,
    sendLagMaxMs: lags.at(-1) ?? 0,
    generatorLoopP99Ms: generatorLoop.percentile(99) / 1e6,
    generatorLoopMaxMs: generatorLoop.max / 1e6,
    connections: sockets.size,
    queued,
    maxOutstanding,
    generatorCpuUsPerRequest: perRequest((generatorCpu.user + generatorCpu.system) / 1e6),
    serverCpuUsPerRequest: perRequest(server0 !== null && server1 !== null ? server1 - server0 : null),
    postgresCpuUsPerRequest: perRequest(pg0 !== null && pg1 !== null ? postgresCpuSince(pg0, pg1) : null),
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    p99Ms: at(0.99),
    p999Ms: at(0.999),
    maxMs: sorted.at(-1) ?? NaN,
    meanMs: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
  };
}
