/**
 * Splits a server's V8 CPU profile (`npm run bench:issuance -- --server-cpu-prof DIR`) by the
 * benchmark's slices: for each list case and slice kind (idle, working), the profile's CPU time
 * per answered request by function (self time), so the two kinds of one case can be compared
 * function by function. The slices' windows are their `monotonicUs` in the results file (V8
 * stamps samples with the same monotonic clock).
 *
 *   node bench/cpu-prof-slices.ts RESULTS.json PROFILE.cpuprofile [--top 25] [--case ncp-v1-name]
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, case: { type: 'string' } },
});
const [resultsFile, profileFile] = positionals;
if (!resultsFile || !profileFile) throw new Error('usage: cpu-prof-slices.ts RESULTS.json PROFILE.cpuprofile');

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}
interface SliceRecord {
  id: string;
  rps: number;
  monotonicUs: [number, number];
}
const results = JSON.parse(await readFile(resultsFile, 'utf8')) as {
  seconds: number;
  rounds: Array<{ idle: SliceRecord[]; working: SliceRecord[] }>;
};
const profile = JSON.parse(await readFile(profileFile, 'utf8')) as Profile;

const nameOf = new Map<number, string>();
for (const node of profile.nodes) {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^.*\/(node_modules\/|src\/|node:)/, '$1');
  nameOf.set(node.id, `${functionName || '(anonymous)'} ${file}${url ? `:${lineNumber + 1}` : ''}`);
}

/**
 * Nodes under a frame of the issuance worker's code (src/acme, src/dns, src/core/issuance, the
 * background loop and its yield) or of what only it uses in a server whose API is plain HTTP
 * (TLS, https, DNS, UDP): its inclusive time. GC is not attributed (it shows as its own line).
 */
const WORKER_CODE =
  /\/src\/(acme|dns|core\/issuance)\/|\/src\/core\/background-(pace|loop)\.ts|^node:(_tls|tls|https|dns|dgram|internal\/(tls|dns))/;
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const workerNode = new Map<number, boolean>();
const isWorker = (id: number): boolean => {
  const known = workerNode.get(id);
  if (known !== undefined) return known;
  const parent = parentOf.get(id);
  const result = WORKER_CODE.test(byId.get(id)!.callFrame.url) || (parent !== undefined && isWorker(parent));
  workerNode.set(id, result);
  return result;
};

// Sample i covers the time up to the next sample (its delta is from the previous one).
const times: number[] = [];
let t = profile.startTime;
for (const delta of profile.timeDeltas) times.push((t += delta));

type Kind = 'idle' | 'working';
const cases = new Set(results.rounds.flatMap((r) => r.idle.map((s) => s.id)));
for (const id of cases) {
  if (values.case && values.case !== id) continue;
  const perKind = new Map<Kind, { us: Map<string, number>; requests: number; total: number; worker: number }>();
  for (const kind of ['idle', 'working'] as const) {
    const us = new Map<string, number>();
    let requests = 0;
    let total = 0;
    let worker = 0;
    for (const round of results.rounds) {
      const slice = round[kind].find((s) => s.id === id)!;
      const [from, to] = slice.monotonicUs;
      requests += slice.rps * results.seconds;
      for (let i = 0; i + 1 < times.length; i++) {
        if (times[i]! < from || times[i]! >= to) continue;
        const name = nameOf.get(profile.samples[i]!)!;
        if (name.startsWith('(idle)')) continue;
        const d = times[i + 1]! - times[i]!;
        us.set(name, (us.get(name) ?? 0) + d);
        total += d;
        if (isWorker(profile.samples[i]!)) worker += d;
      }
    }
    perKind.set(kind, { us, requests, total, worker });
  }
  const idle = perKind.get('idle')!;
  const working = perKind.get('working')!;
  console.log(
    `\n${id}: profiled CPU per request idle ${(idle.total / idle.requests).toFixed(1)} µs, working ${(working.total / working.requests).toFixed(1)} µs (${idle.requests.toFixed(0)} and ${working.requests.toFixed(0)} requests)`,
  );
  console.log(
    `  of which under the issuance worker's code (inclusive): idle ${(idle.worker / idle.requests).toFixed(2)} µs, working ${(working.worker / working.requests).toFixed(2)} µs per request`,
  );
  const names = new Set([...idle.us.keys(), ...working.us.keys()]);
  const rows = [...names].map((name) => {
    const a = (idle.us.get(name) ?? 0) / idle.requests;
    const b = (working.us.get(name) ?? 0) / working.requests;
    return { name, a, b, d: b - a };
  });
  rows.sort((x, y) => Math.abs(y.d) - Math.abs(x.d));
  console.log('  µs/req idle → working (difference), self time, largest differences first');
  for (const r of rows.slice(0, Number(values.top)))
    console.log(
      `  ${r.a.toFixed(2).padStart(8)} → ${r.b.toFixed(2).padStart(8)} (${r.d >= 0 ? '+' : ''}${r.d.toFixed(2)})  ${r.name}`,
    );
}
