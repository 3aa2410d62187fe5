/**
 * Do the issuance worker's writes make the lists dearer? The NCP v1 name-filter list (the list
 * whose rows are least often in SQLite's page cache: one random certificate of 10,000) answered by
 * the real server in this process, its CPU per request on the event loop's thread
 * (process.threadCpuUsage: the load generator runs on a thread of its own, and other processes do
 * not count), in slices with no writes and slices with the worker's write pattern on the same
 * store connection, interleaved round by round (ABBA).
 *
 *   node bench/issuance-list-writes.ts [--rounds 10] [--seconds 3] [--steps-per-second 4]
 *                                      [--connections 32] [--checkpointer on|off]
 *
 * The write pattern is one worker step per 1/`--steps-per-second` s, what a step of
 * core/issuance/worker.ts writes: `due` (read), `claim` (UPDATE … RETURNING) and `advance` (UPDATE
 * with an authorization's JSON), on 200 orders; 4 a second is the worker's pace while the API is
 * busy (docs/operations.md), 20 its cap. The server is what `serve` builds (store, core, faces,
 * the WAL checkpointer unless `--checkpointer off`), without the workers. Each slice also reports
 * the WAL frames not yet copied into the database (read from the wal-index in `-shm`). Prints a
 * line per slice and the medians.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { openApp } from '../src/app/app.ts';
import { buildFaces } from '../src/app/faces.ts';
import { loadConfig } from '../src/config/config.ts';
import { startServer } from '../src/server/index.ts';
import { seedPool } from './lib/pools.ts';
import { freshLocation, seedStore } from './lib/seed.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '3' },
    'steps-per-second': { type: 'string', default: '4' },
    checkpointer: { type: 'string', default: 'on' },
    connections: { type: 'string', default: '32' },
  },
});
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const STEP_GAP_MS = 1000 / Number(values['steps-per-second']);
const log = (line: string): void => void process.stdout.write(`${line}\n`);

const where = await freshLocation('sqlite');
try {
  const seeded = await seedStore(where, await seedPool(200), 10_000, () => undefined);
  const config = loadConfig({
    CERTKEEPER_DATA_DIR: where.dataDir,
    CERTKEEPER_MASTER_KEY: where.masterKey,
    CERTKEEPER_LOG_LEVEL: 'warn',
    CERTKEEPER_PORT: '0',
  });
  const app = await openApp(config);
  const running = await startServer({
    config,
    store: app.store,
    clock: app.core.clock,
    faces: buildFaces(app.core, config, app.issuance),
    homePath: '/',
    version: 'x',
    expiryHistogram: (asOf, bounds) => app.store.certificates.expiryHistogram(null, asOf, bounds),
    notificationCounts: () => app.store.notifications.countDeliveries(),
    rateLimitStats: () => app.core.rateLimit.stats(),
  });
  if (values.checkpointer !== 'off') app.store.startBackgroundCheckpoints((m) => log(m));
  const url = `http://127.0.0.1:${(running.app.server.address() as { port: number }).port}`;
  let served = 0;
  running.app.server.on('request', () => void (served += 1));
  const tenantId = (await app.core.tenants.list()).find((t) => t.name === 'bench')!.id;
  // 200 orders in flight, as the benchmark has.
  const now = new Date();
  for (let i = 0; i < 200; i++)
    await app.store.issuance.createOrder(
      {
        tenantId,
        kind: 'issue',
        certificateName: `load-${i}`,
        certificateNo: null,
        names: [`load${i}.example.test`],
        keyKind: 'ec-p256',
        method: 'dns-01',
        renewal: true,
        replaces: null,
      },
      now,
    );
  const shmFile = join(where.dataDir, 'certkeeper.db-shm');
  /** Frames in the WAL not yet copied into the database (wal-index header: mxFrame at 16, nBackfill at 96). */
  const walFramesLeft = async (): Promise<number> => {
    const shm = await readFile(shmFile).catch(() => null);
    if (!shm || shm.length < 100) return 0;
    return shm.readUInt32LE(16) - shm.readUInt32LE(96);
  };

  let steps = 0;
  /** One worker step's writes: due, claim, advance (as worker.ts pass + work). */
  const step = async (): Promise<void> => {
    const at = new Date();
    const [orderId] = await app.store.issuance.due(at, 20);
    if (orderId === undefined) return;
    const claimed = await app.store.issuance.claim(orderId, 'sim', at, new Date(at.getTime() + 60_000));
    if (!claimed) return;
    await app.store.issuance.advance(
      orderId,
      'sim',
      {
        step: 'new',
        lastError: null,
        authorizations: [
          {
            url: `https://ca.example.test/authz/${orderId}/${steps}`,
            domain: claimed.names[0]!,
            wildcard: false,
            status: 'pending',
            challengeUrl: `https://ca.example.test/chall/${orderId}/${steps}`,
            token: 'x'.repeat(43),
            txtValue: 'y'.repeat(43),
            delegationTarget: `abcdefgh.dcv.example.test`,
          },
        ],
        nextAttemptAt: new Date(at.getTime() + 2_000),
      },
      new Date(),
    );
    steps += 1;
  };

  const client = new Worker(new URL('./lib/ncp-v1-list-thread.ts', import.meta.url), {
    workerData: {
      url,
      accessKey: seeded.accessKey,
      secretKey: seeded.secretKey,
      names: Array.from({ length: 5000 }, () => seeded.liveName(Math.random())),
      connections: Number(values.connections),
    },
  });
  client.on('error', (e) => log(`client: ${e.message}`));

  /**
   * One slice: the event loop thread's CPU per request answered, the writes' own CPU included
   * (they run on that thread, as the worker's do), and the most WAL frames left uncopied.
   */
  const slice = async (writes: boolean): Promise<{ us: number; n: number; steps: number; framesLeft: number }> => {
    const t0 = process.threadCpuUsage();
    const steps0 = steps;
    const n0 = served;
    let framesLeft = 0;
    const end = performance.now() + SECONDS * 1000;
    while (performance.now() < end) {
      await sleep(writes ? STEP_GAP_MS : 50);
      if (writes) await step();
      framesLeft = Math.max(framesLeft, await walFramesLeft());
    }
    const t = process.threadCpuUsage(t0);
    const n = served - n0;
    return { us: (t.user + t.system) / n, n, steps: steps - steps0, framesLeft };
  };

  log(`load average ${(await readFile('/proc/loadavg', 'utf8')).trim()}; warming up`);
  await slice(false);
  await slice(true);
  const ratios: number[] = [];
  const byKind = { quiet: [] as number[], writes: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    const pair: Record<string, number> = {};
    for (const writes of r % 2 === 0 ? [false, true] : [true, false]) {
      const res = await slice(writes);
      const kind = writes ? 'writes' : 'quiet';
      pair[kind] = res.us;
      byKind[kind].push(res.us);
      log(
        `round ${r + 1} ${kind.padEnd(6)}  event loop ${res.us.toFixed(1)} µs/req  requests ${res.n}  worker steps ${res.steps}  WAL frames not yet checkpointed, most ${res.framesLeft}`,
      );
    }
    ratios.push(pair.writes! / pair.quiet!);
  }
  const median = (xs: number[]): number => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  log(`load average ${(await readFile('/proc/loadavg', 'utf8')).trim()}`);
  log(
    `event loop µs/req, median: quiet ${median(byKind.quiet).toFixed(1)}, writes ${median(byKind.writes).toFixed(1)}; writes/quiet per round: median ${(median(ratios) * 100).toFixed(1)} % (${(Math.min(...ratios) * 100).toFixed(1)}–${(Math.max(...ratios) * 100).toFixed(1)} %)`,
  );
  await client.terminate();
  await running.close();
  await app.close();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await where.cleanup();
  // The load thread's keep-alive sockets and the server's timers would keep the process up.
  process.exit();
}
