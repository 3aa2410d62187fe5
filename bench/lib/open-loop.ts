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
 * The schedule: request i is due at t0 + i / rate. A timer set for the next due request sends every
 * request due when it runs: never early, and late by the timer's millisecond granularity at most
 * when the loop is free (a lateness that counts in the latency and in the send lag).
 *
 * The requests are made before the schedule: `next()` is called for every one of them (signing
 * NCP and ACM requests) and each is written out as the bytes of its HTTP/1.1 request, so sending
 * one during the schedule is a single socket write. The signatures stay valid for the whole run:
 * NCP accepts a timestamp 5 minutes either way, SigV4 15 minutes, and a schedule is refused
 * beyond MAX_SECONDS. The generator shares two CPUs with the server, so its own cost per request
 * is the server's loss: node:http's client (a ClientRequest, header objects, an IncomingMessage
 * stream per request) and signing in the schedule cost 107–178 µs a request at 500–1,800/s in
 * session 12, as much as the server's smallest requests (docs/performance.md, s13-openloop).
 *
 * The connections: a fixed pool of `connections` keep-alive TCP connections (node:net, 256 unless
 * told), opened (each by one `GET warmPath`) before the schedule starts; no connection is opened
 * while it runs. One request at a time on a connection (no pipelining, as a browser or an SDK
 * sends). A request due while every connection is busy waits in this process, first come first
 * served, and that wait counts in its latency (it is measured from the schedule); `queued` and
 * `maxOutstanding` say how often and how deep. The pool is large so that such waits are rare: a
 * request queued here goes out only when an answer frees a connection, where the server would
 * have read it from its socket at once (docs/performance.md, "Open-loop tails at 1,000,000").
 *
 * The answers are read by a minimal HTTP/1.1 response parser: the status line, then a body framed
 * by Content-Length or chunked transfer coding (a body framed by the connection's close, or a
 * connection the server closes, counts as an error for the request it was carrying). The body is
 * not looked at: the bench checks each case's answer once, before its runs (bench/lib/cases.ts).
 *
 * Bounded in count (rate × seconds) and time (the run, then at most `drainSeconds` for answers in
 * flight; unanswered requests count as errors). CPU per request is read for this process and,
 * when asked, for the server and PostgreSQL, over the schedule only, so the utilisation a tail
 * came at is known rather than assumed from the closed loop's maximum. This process's own loop
 * delay, send lag and GC pauses over the schedule are reported too: a generator that is late
 * itself would put its lateness in the latencies.
 */
import { connect, type Socket } from 'node:net';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { cpuSeconds, postgresCpuByPid, postgresCpuSince } from './processes.ts';

/** A full garbage collection of this process, now (`--expose-gc`'s `gc`, reached without the flag). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

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
  /** The schedule's length, at most MAX_SECONDS. */
  seconds: number;
  /** Makes one request; called rate × seconds times, all before the schedule starts. */
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
  /** The generator's own GC pauses over the schedule: how many, and the longest (ms). */
  generatorGcCount?: number;
  generatorGcMaxMs?: number;
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

/**
 * The longest schedule: its requests are signed before it starts, and NCP refuses a signature's
 * timestamp 5 minutes old (src/auth/ncp-signature.ts), so the last request of a 4-minute
 * schedule still has a minute, drain included.
 */
export const MAX_SECONDS = 240;

/** The bytes of one HTTP/1.1 request to `host`: request line, headers (a Host unless given), body. */
export function requestBytes(r: OpenLoopRequest, host: string): Buffer {
  let head = `${r.method} ${r.path} HTTP/1.1\r\n`;
  let hasHost = false;
  for (const [name, value] of Object.entries(r.headers)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new Error(`header ${name}: CR or LF in it`);
    if (name.toLowerCase() === 'host') hasHost = true;
    if (name.toLowerCase() === 'content-length') continue;
    head += `${name}: ${value}\r\n`;
  }
  if (!hasHost) head += `host: ${host}\r\n`;
  const body = r.body === undefined ? null : Buffer.from(r.body, 'utf8');
  if (body) head += `content-length: ${body.length}\r\n`;
  head += '\r\n';
  return body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
}

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * Reads HTTP/1.1 responses from one connection's bytes, one after another, and calls `done` with
 * each one's status once its last byte has arrived; `fail` when the framing is one it does not
 * read (no Content-Length and not chunked, on a status that has a body) or is malformed.
 */
export class ResponseReader {
  private buffer: Buffer | null = null;
  /** 'head': waiting for the header block; 'body': `remaining` bytes of body left; 'size': a chunk's size line; 'data': `remaining` bytes of chunk and its CRLF; 'trailer': after the last chunk. */
  private phase: 'head' | 'body' | 'size' | 'data' | 'trailer' = 'head';
  private remaining = 0;
  private status = 0;

  private readonly done: (status: number) => void;
  private readonly fail: (reason: string) => void;

  constructor(done: (status: number) => void, fail: (reason: string) => void) {
    this.done = done;
    this.fail = fail;
  }

  push(chunk: Buffer): void {
    let b = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      if (this.phase === 'head') {
        const end = b.indexOf(HEAD_END);
        if (end < 0) break;
        const head = b.toString('latin1', 0, end);
        b = b.subarray(end + 4);
        const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
        if (!status) return this.fail(`not an HTTP/1.x status line: ${head.slice(0, 40)}`);
        this.status = Number(status[1]);
        const lower = head.toLowerCase();
        if (/\r\ntransfer-encoding:[^\r]*chunked/.test(lower)) this.phase = 'size';
        else {
          const length = /\r\ncontent-length: *(\d+)/.exec(lower);
          if (length) this.remaining = Number(length[1]);
          else if (this.status === 204 || this.status === 304 || this.status < 200) this.remaining = 0;
          else return this.fail(`HTTP ${this.status} with neither Content-Length nor chunked coding`);
          this.phase = 'body';
        }
      } else if (this.phase === 'body') {
        if (b.length < this.remaining) {
          this.remaining -= b.length;
          b = b.subarray(b.length);
          break;
        }
        b = b.subarray(this.remaining);
        this.phase = 'head';
        this.done(this.status);
      } else if (this.phase === 'size') {
        const end = b.indexOf(CRLF);
        if (end < 0) break;
        const size = parseInt(b.toString('latin1', 0, end), 16);
        if (!Number.isFinite(size)) return this.fail('malformed chunk size');
        b = b.subarray(end + 2);
        if (size === 0) this.phase = 'trailer';
        else {
          this.remaining = size + 2;
          this.phase = 'data';
        }
      } else if (this.phase === 'data') {
        if (b.length < this.remaining) {
          this.remaining -= b.length;
          b = b.subarray(b.length);
          break;
        }
        b = b.subarray(this.remaining);
        this.phase = 'size';
      } else {
        // After the last chunk: trailer lines, each ended by CRLF, then an empty line.
        const end = b.indexOf(CRLF);
        if (end < 0) break;
        b = b.subarray(end + 2);
        if (end === 0) {
          this.phase = 'head';
          this.done(this.status);
        }
      }
    }
    // A copy: `chunk` may be a view of a buffer the next read overwrites (READ_BUFFER).
    this.buffer = b.length > 0 ? Buffer.from(b) : null;
  }
}

interface Connection {
  socket: Socket;
  /** Reads what arrives on the socket; replaced once the connection has been opened. */
  reader: ResponseReader;
  /** The request on it: its index in the schedule, or -1 when the connection is free. */
  carrying: number;
}

/**
 * Every connection reads into this one buffer (net.Socket's `onread`): no Buffer is allocated per
 * read, so answers make no garbage in this process. A read is handed to its connection's reader
 * at once, which copies the little it keeps (an incomplete header block or chunk-size line).
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** Opens one keep-alive connection and answers its `GET path`; rejects unless the answer is 200. */
function openConnection(target: URL, path: string): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: target.hostname,
      port: Number(target.port),
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (bytes) => {
          conn.reader.push(READ_BUFFER.subarray(0, bytes));
          return true;
        },
      },
    });
    const conn: Connection = {
      socket,
      carrying: -1,
      reader: new ResponseReader(
        (status) => {
          // Only this function's own listeners: net.Socket's internal ones (its 'end' handling) stay.
          socket
            .off('error', failed)
            .off('close', closed)
            .on('error', () => {});
          if (status === 200) resolve(conn);
          else {
            socket.destroy();
            reject(new Error(`GET ${path}: HTTP ${status}`));
          }
        },
        (reason) => {
          socket.destroy();
          reject(new Error(`GET ${path}: ${reason}`));
        },
      ),
    };
    const failed = (error: Error): void => reject(error);
    const closed = (): void => reject(new Error(`GET ${path}: connection closed`));
    socket.on('error', failed).on('close', closed);
    socket.write(requestBytes({ method: 'GET', path, headers: {} }, target.host));
  });
}

export async function runOpenLoop(spec: OpenLoopSpec): Promise<OpenLoopResult> {
  if (!(spec.seconds > 0 && spec.seconds <= MAX_SECONDS))
    throw new Error(`open loop of ${spec.seconds} s: at most ${MAX_SECONDS} s (its requests are signed beforehand)`);
  const target = new URL(spec.url);
  const pool = spec.connections ?? 256;
  const total = Math.max(1, Math.round(spec.rate * spec.seconds));
  const prepared = Array.from({ length: total }, () => requestBytes(spec.next(), target.host));
  const latencies = new Float64Array(total);
  const sendLags = new Float64Array(total);
  const intended = new Float64Array(total);
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let done = 0;
  /** Answers read (latencies[0 .. measured)); `done` counts failed requests too. */
  let measured = 0;
  let sent = 0;
  let queued = 0;
  let maxOutstanding = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const settled = await Promise.allSettled(
    Array.from({ length: pool }, () => openConnection(target, spec.warmPath ?? '/healthz')),
  );
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) {
    for (const s of settled) if (s.status === 'fulfilled') s.value.socket.destroy();
    throw failed.reason;
  }
  const connections = settled.map((s) => (s as PromiseFulfilledResult<Connection>).value);

  // Free connections (a stack: the most recently freed is the warmest) and requests waiting for one (FIFO).
  const free: Connection[] = [];
  const waiting = new Int32Array(total);
  let waitHead = 0;
  let waitTail = 0;
  const answered = (): void => {
    if (++done === total) finish();
  };
  const send = (conn: Connection, i: number): void => {
    conn.carrying = i;
    conn.socket.write(prepared[i]!);
  };
  const release = (conn: Connection): void => {
    conn.carrying = -1;
    if (waitHead < waitTail) send(conn, waiting[waitHead++]!);
    else free.push(conn);
  };
  for (const conn of connections) {
    conn.reader = new ResponseReader(
      (status) => {
        const i = conn.carrying;
        if (i < 0) return;
        latencies[measured++] = performance.now() - intended[i]!;
        if (status === 200) ok++;
        else non2xx++;
        release(conn);
        answered();
      },
      () => conn.socket.destroy(),
    );
    // A connection lost (closed by the server, or a framing this reader refuses) fails the request
    // it carried; it is not replaced, so the pool shrinks and later requests wait for the others.
    conn.socket.on('close', () => {
      if (conn.carrying >= 0) {
        conn.carrying = -1;
        errors++;
        answered();
      }
      const at = free.indexOf(conn);
      if (at >= 0) free.splice(at, 1);
    });
    free.push(conn);
  }
  const fire = (i: number): void => {
    const outstanding = sent - done;
    maxOutstanding = Math.max(maxOutstanding, outstanding);
    const conn = free.pop();
    if (conn) send(conn, i);
    else {
      queued++;
      waiting[waitTail++] = i;
    }
  };

  // The requests are made and the connections open: collect this process's garbage now, so no
  // major GC of it (the requests' making, the closed-loop runs before) falls in the schedule. In
  // this session's first 80 runs without it, four met one of 15–37 ms in their schedule, which
  // every request due then carried in its latency. Only the generator: the server is left as a
  // user's would be.
  collectGarbage();
  await spec.onReady?.();
  const pgDatabase = typeof spec.postgresCpu === 'string' ? spec.postgresCpu : undefined;
  const pg0 = spec.postgresCpu ? await postgresCpuByPid(pgDatabase) : null;
  const server0 = spec.cpuPid === undefined ? null : await cpuSeconds(spec.cpuPid);
  const generator0 = process.cpuUsage();
  // At 10 ms, not 1: a 1 ms monitor wakes this process a thousand times a second whatever the rate.
  // Its delay is how late a timer ran beyond its resolution, so a stall still shows in full.
  const generatorLoop = monitorEventLoopDelay({ resolution: 10 });
  generatorLoop.enable();
  let gcCount = 0;
  let gcMaxMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcCount++;
      gcMaxMs = Math.max(gcMaxMs, entry.duration);
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  const t0 = performance.now() + 5;
  const interval = 1000 / spec.rate;
  await new Promise<void>((resolve) => {
    // The timer wakes for the next due request, not every millisecond: below 1,000 requests a
    // second a wake-up a millisecond was most of this process's CPU (bench/open-loop-cost.ts).
    const tick = (): void => {
      const now = performance.now();
      while (sent < total) {
        const due = t0 + sent * interval;
        if (due > now) break;
        intended[sent] = due;
        sendLags[sent] = now - due;
        fire(sent++);
      }
      if (sent < total) setTimeout(tick, Math.max(1, Math.ceil(t0 + sent * interval - performance.now())));
      else resolve();
    };
    setTimeout(tick, 5);
  });
  const drain = setTimeout(finish, (spec.drainSeconds ?? 10) * 1000);
  await finished;
  clearTimeout(drain);
  const generatorCpu = process.cpuUsage(generator0);
  gc.disconnect();
  const server1 = spec.cpuPid === undefined ? null : await cpuSeconds(spec.cpuPid);
  const pg1 = spec.postgresCpu ? await postgresCpuByPid(pgDatabase) : null;
  for (const conn of connections) conn.socket.destroy();
  generatorLoop.disable();
  errors += total - done;

  const sorted = latencies.subarray(0, measured).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
  const lags = sendLags.subarray(0, sent).sort();
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
    generatorGcCount: gcCount,
    generatorGcMaxMs: gcMaxMs,
    connections: connections.length,
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
