/**
 * What the open-loop generator (bench/lib/open-loop.ts) costs itself, a request: its CPU time
 * over the schedule, its send lag and its own loop delay and GC, against a server that does
 * nothing (a bare node:http server in its own process answering every request with the same
 * bytes, the NHN list's size by default), so that what is measured is the generator.
 *
 *   node bench/open-loop-cost.ts [--generator PATH] [--rates 500,2000,4000] [--seconds 4] [--bytes 2860] [--sign]
 *
 * --generator runs another copy of open-loop.ts (e.g. main's, from another worktree) for an A/B
 * pair; --sign makes every request an NCP-signed GET, as the bench's NCP cases are.
 */
import { spawn } from 'node:child_process';
import { createHmac, createSecretKey } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { OpenLoopRequest, OpenLoopResult, OpenLoopSpec } from './lib/open-loop.ts';

const { values } = parseArgs({
  options: {
    generator: { type: 'string', default: resolve(import.meta.dirname, 'lib', 'open-loop.ts') },
    rates: { type: 'string', default: '500,2000,4000' },
    seconds: { type: 'string', default: '4' },
    bytes: { type: 'string', default: '2860' },
    sign: { type: 'boolean', default: false },
  },
});
const { runOpenLoop } = (await import(resolve(values.generator))) as {
  runOpenLoop(spec: OpenLoopSpec): Promise<OpenLoopResult>;
};

const serverSource = `
const body = Buffer.alloc(${Number(values.bytes)}, 120);
const server = require('node:http').createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body));
});
server.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + server.address().port));
`;
const server = spawn(process.execPath, ['-e', serverSource], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise<string>((done) =>
  server.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const m = /listening on (\S+)/.exec(chunk);
    if (m) done(m[1]!);
  }),
);

const key = createSecretKey(Buffer.from('bench-secret', 'utf8'));
const next = (): OpenLoopRequest => {
  const path = '/api/v1/certificates?certificateName=bench-000123';
  if (!values.sign) return { method: 'GET', path, headers: { accept: 'application/json' } };
  const timestamp = String(Date.now());
  return {
    method: 'GET',
    path,
    headers: {
      accept: 'application/json',
      'x-ncp-apigw-timestamp': timestamp,
      'x-ncp-iam-access-key': 'bench-access',
      'x-ncp-apigw-signature-v2': createHmac('sha256', key)
        .update(`GET ${path}\n${timestamp}\nbench-access`)
        .digest('base64'),
    },
  };
};

try {
  for (const rate of values.rates.split(',').map(Number)) {
    const r = await runOpenLoop({
      url,
      rate,
      seconds: Number(values.seconds),
      next,
      warmPath: '/',
      cpuPid: server.pid!,
    });
    console.log(
      `${rate}/s: generator ${r.generatorCpuUsPerRequest!.toFixed(1)} µs a request (server ${r.serverCpuUsPerRequest!.toFixed(1)}), ` +
        `send lag p99 ${r.sendLagP99Ms.toFixed(2)} max ${r.sendLagMaxMs.toFixed(2)} ms, its loop p99 ${r.generatorLoopP99Ms.toFixed(2)} max ${r.generatorLoopMaxMs.toFixed(2)} ms, ` +
        `GC ${r.generatorGcCount ?? '-'} max ${r.generatorGcMaxMs?.toFixed(1) ?? '-'} ms; latency p50 ${r.p50Ms.toFixed(2)} p99 ${r.p99Ms.toFixed(2)} p99.9 ${r.p999Ms.toFixed(2)} max ${r.maxMs.toFixed(2)} ms; ${r.ok} ok ${r.errors} errors`,
    );
  }
} finally {
  server.kill();
}
