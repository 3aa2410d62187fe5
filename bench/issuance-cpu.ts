/**
 * What the issuance worker costs the process it runs in: CPU µs per CA request and per order,
 * measured in-process (process.cpuUsage: this process only, so Pebble and BIND on the same
 * machine do not count), with the requests by kind and the TCP/TLS connections opened.
 *
 *   npm run bench:issuance-cpu -- [--orders 40] [--names 1] [--va-sleep] [--cpu-prof passes.cpuprofile]
 *
 * A real Pebble (validating at once unless --va-sleep, no authorization reuse) resolving through
 * a real BIND9, a SQLite store, the worker of test/issuance/in-process.ts (serve's parts, with no
 * CA request cap and no API to yield to), driven pass by pass until every order is final. No API load: this is the worker's own cost, the number that
 * BENCHMARKS.md's issuance-load figures divide among the list requests. Prints one JSON line.
 */
import { subscribe } from 'node:diagnostics_channel';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { cliActor } from '../src/core/actor.ts';
import { isFinalStep } from '../src/core/issuance/ports.ts';
import type { IssuerEvent } from '../src/core/issuance/issuer.ts';
import { USER_ZONE, startBind } from '../test/helpers/bind.ts';
import { startPebble } from '../test/helpers/pebble.ts';
import { rig } from '../test/issuance/in-process.ts';
import { addUserCname } from '../test/issuance/user-dns.ts';

const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '40' },
    names: { type: 'string', default: '1' },
    /** Pebble's VA sleeps its random 0–15 s per validation (as in bench/issuance-load.ts): polls show. */
    'va-sleep': { type: 'boolean', default: false },
    /** Writes a V8 CPU profile of the measured passes (only) to this file. */
    'cpu-prof': { type: 'string' },
  },
});
const ORDERS = Number(values.orders);
const NAMES = Number(values.names);

let sockets = 0;
subscribe('net.client.socket', () => {
  sockets += 1;
});
const requests = new Map<string, number>();
const onEvent = (event: IssuerEvent): void => {
  if (event.type !== 'request') return;
  const kind = event.method === 'POST' ? `POST ${new URL(event.url).pathname.split('/')[1] ?? ''}` : event.method;
  requests.set(kind, (requests.get(kind) ?? 0) + 1);
};

const bind = await startBind();
const pebble = await startPebble({
  dnsServer: `${bind.host}:${bind.port}`,
  authzReusePercent: 0,
  vaSleep: values['va-sleep'],
});
const r = await rig(bind, pebble, { onEvent });
try {
  const actor = cliActor(r.tenantId);
  const ids: number[] = [];
  const run = Math.random().toString(36).slice(2, 7);
  for (let i = 0; i < ORDERS; i += 1) {
    const domains = Array.from({ length: NAMES }, (_, n) => `n${n}-o${i}-${run}.${USER_ZONE}`);
    const order = await r.service.request(actor, { name: `cpu-${run}-${i}`, domains });
    for (const record of await r.service.verification(actor, order))
      await addUserCname(bind, record.recordName, record.recordValue);
    ids.push(order.orderId);
  }
  const worker = r.worker();
  // Warm-up: account creation, directory, first connections, JIT.
  await worker.runOnce();
  requests.clear();
  sockets = 0;
  const session = values['cpu-prof'] ? new Session() : null;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  // CPU of the worker's passes only (the bench's own reads of the orders are outside).
  let cpuUs = 0;
  const wall0 = performance.now();
  let passes = 0;
  for (;;) {
    passes += 1;
    const cpu0 = process.cpuUsage();
    await worker.runOnce();
    const used = process.cpuUsage(cpu0);
    cpuUs += used.user + used.system;
    const orders = await Promise.all(ids.map((id) => r.service.getOrder(actor, id)));
    if (orders.every((o) => isFinalStep(o.step))) {
      const steps = new Map<string, number>();
      for (const o of orders) steps.set(o.step, (steps.get(o.step) ?? 0) + 1);
      const caRequests = [...requests.values()].reduce((a, b) => a + b, 0);
      console.log(
        JSON.stringify({
          orders: ORDERS,
          namesPerOrder: NAMES,
          outcome: Object.fromEntries(steps),
          cpuMs: Math.round(cpuUs / 1000),
          wallMs: Math.round(performance.now() - wall0),
          caRequests,
          cpuUsPerCaRequest: Math.round(cpuUs / caRequests),
          cpuUsPerOrder: Math.round(cpuUs / ORDERS),
          requests: Object.fromEntries(requests),
          newConnections: sockets,
          passes,
        }),
      );
      if (session) {
        const { profile } = await session.post('Profiler.stop');
        await writeFile(values['cpu-prof']!, JSON.stringify(profile));
      }
      break;
    }
    if (passes > 10_000) throw new Error('orders did not finish');
    await sleep(20);
  }
  await worker.stop();
} finally {
  r.issuer.close();
  await r.store.close();
  await r.location.cleanup();
  await pebble.stop();
  await bind.stop();
}
