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
 * The schedule: request i is due at t0 + i / rate. A 1 ms timer sends every due request; each
 * goes on a keep-alive socket from a pool large enough (`maxSockets`) that a request waits for a
 * socket only when that many are already outstanding, and that wait counts too. Bounded in
 * count (rate × seconds) and time (the run, then at most `drainSeconds` for answers in flight;
 * unanswered requests count as errors).
 */
import { Agent, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';

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
  /** Sockets at most (outstanding requests beyond this wait for one, and their wait counts). */
  maxSockets?: number;
  drainSeconds?: number;
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
  /** Connections the generator opened (a request finding every socket busy opens one). */
  connections: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

export async function runOpenLoop(spec: OpenLoopSpec): Promise<OpenLoopResult> {
  const target = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.maxSockets ?? 256 });
  const total = Math.max(1, Math.round(spec.rate * spec.seconds));
  const latencies: number[] = [];
  const sendLags: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let done = 0;
  let sent = 0;
  let connections = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const fire = (intended: number): void => {
    const r = spec.next();
    const req = request(
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
          if (++done === total) finish();
        });
      },
    );
    req.on('socket', () => {
      if (!req.reusedSocket) connections++;
    });
    req.on('error', () => {
      errors++;
      if (++done === total) finish();
    });
    req.end(r.body);
  };

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
  agent.destroy();
  generatorLoop.disable();
  errors += total - done;

  const sorted = latencies.sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
  const lags = sendLags.sort((a, b) => a - b);
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
    connections,
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    p99Ms: at(0.99),
    p999Ms: at(0.999),
    maxMs: sorted.at(-1) ?? NaN,
    meanMs: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
  };
}
