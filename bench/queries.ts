/**
 * What each benchmarked request costs the database: the statements one request runs, and (on
 * SQLite) how long preparing and running them takes, request by request. A diagnostic that goes
 * with `npm run bench`: it explains the ratios to the ceiling that the HTTP benchmark measures.
 *
 *   node bench/queries.ts [--store sqlite|postgres] [--scale 10000] [--repeat 200]
 *
 * Seeds a fresh store like bench/run.ts (bench/lib/seed.ts), runs `certkeeper serve` IN THIS
 * PROCESS (src/app/serve.ts, so the drivers can be observed: better-sqlite3's
 * `Database.prototype.prepare` is wrapped, the store's PostgreSQL statement channel heard), sends each case
 * once to warm up, then once more while recording every statement, then `--repeat` more times
 * for the average database time per request.
 */
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { STATEMENT_CHANNEL } from '../src/store/postgres-statements.ts';
import { serve } from '../src/app/serve.ts';
import { loadConfig } from '../src/config/config.ts';
import { cases, nhnToken, send, type Context } from './lib/cases.ts';
import { importPool, seedPool } from './lib/pools.ts';
import { freshLocation, seedStore } from './lib/seed.ts';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'sqlite' },
    scale: { type: 'string', default: '10000' },
    repeat: { type: 'string', default: '200' },
    'page-size': { type: 'string', default: '100' },
    /** Replays each case's read statements outside the server, per-call prepare vs cached statements. */
    replay: { type: 'boolean', default: false },
  },
});
const store = values.store === 'postgres' ? 'postgres' : 'sqlite';
const REPEAT = Number(values.repeat);

interface Recorded {
  sql: string;
  params: unknown[];
  prepareUs: number;
  runUs: number;
}
let recording: Recorded[] | null = null;
const totals = { statements: 0, prepareUs: 0, runUs: 0 };

// better-sqlite3: Kysely prepares every statement it runs; time the preparation and each run.
type Prepare = (this: Database.Database, source: string) => Database.Statement;
const proto = Database.prototype as unknown as { prepare: Prepare };
const prepare = proto.prepare;
proto.prepare = function (this: Database.Database, source: string) {
  const t = performance.now();
  const statement = prepare.call(this, source);
  const entry: Recorded = { sql: source, params: [], prepareUs: (performance.now() - t) * 1000, runUs: 0 };
  totals.statements++;
  totals.prepareUs += entry.prepareUs;
  recording?.push(entry);
  for (const method of ['all', 'get', 'run', 'iterate'] as const) {
    const original = (statement[method] as (...args: unknown[]) => unknown).bind(statement);
    (statement as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      entry.params = args;
      const t0 = performance.now();
      try {
        return original(...args);
      } finally {
        const us = (performance.now() - t0) * 1000;
        entry.runUs += us;
        totals.runUs += us;
      }
    };
  }
  return statement;
};

// PostgreSQL: every statement the store sends (its statement channel, on a pg client or on the
// pipeline); each timed to its answer (round trip included).
const sentAt = new WeakMap<object, { entry: Recorded; t: number }>();
const answered = (context: object): void => {
  const sent = sentAt.get(context);
  if (!sent) return;
  const us = (performance.now() - sent.t) * 1000;
  sent.entry.runUs = us;
  totals.runUs += us;
};
STATEMENT_CHANNEL.subscribe({
  start(context) {
    const entry: Recorded = { sql: context.text, params: context.values, prepareUs: 0, runUs: 0 };
    totals.statements++;
    recording?.push(entry);
    sentAt.set(context, { entry, t: performance.now() });
  },
  asyncEnd: answered,
  error: answered,
  end() {},
  asyncStart() {},
});

const log = (line: string): void => console.log(line);

/**
 * The read statements of one request, replayed `REPEAT` times on a connection of our own, three
 * ways: as Kysely runs them today (SQLite: prepare, then run; PostgreSQL: unnamed statements,
 * parsed and planned every time), with statements prepared once and reused (SQLite: a cached
 * Statement; PostgreSQL: named prepared statements), and (SQLite) reused with a 64 MiB page cache.
 */
async function replay(statements: Recorded[]): Promise<void> {
  const reads = statements.filter((r) => /^\s*select/i.test(r.sql));
  const time = async (run: () => unknown): Promise<number> => {
    for (let i = 0; i < 20; i++) await run();
    const t = performance.now();
    for (let i = 0; i < REPEAT; i++) await run();
    return ((performance.now() - t) * 1000) / REPEAT;
  };
  if (store === 'sqlite') {
    const db = new Database(`${where.dataDir}/certkeeper.db`, { readonly: true });
    try {
      const perCall = await time(() => {
        for (const r of reads) prepare.call(db, r.sql).all(...(r.params as never[]));
      });
      const cachedStatements = reads.map((r) => prepare.call(db, r.sql));
      const cached = await time(() => reads.forEach((r, i) => cachedStatements[i]!.all(...(r.params as never[]))));
      db.pragma('cache_size = -65536');
      const bigCache = await time(() => reads.forEach((r, i) => cachedStatements[i]!.all(...(r.params as never[]))));
      log(
        `  replay of the ${reads.length} reads: prepare every time ${perCall.toFixed(0)} µs, cached statements ${cached.toFixed(0)} µs, cached + 64 MiB page cache ${bigCache.toFixed(0)} µs per request`,
      );
    } finally {
      db.close();
    }
  } else {
    const client = new pg.Client({ connectionString: where.databaseUrl });
    await client.connect();
    try {
      const unnamed = await time(async () => {
        for (const r of reads) await client.query(r.sql, r.params);
      });
      const named = await time(async () => {
        for (const [i, r] of reads.entries())
          await client.query({ name: `s${i}_${r.sql.length}`, text: r.sql, values: r.params });
      });
      log(
        `  replay of the ${reads.length} reads: unnamed statements ${unnamed.toFixed(0)} µs, named prepared statements ${named.toFixed(0)} µs per request (round trips included)`,
      );
    } finally {
      await client.end();
    }
  }
}

const where = await freshLocation(store);
try {
  const scale = Number(values.scale);
  log(`${store}, ${scale} certificates: seeding…`);
  const seeded = await seedStore(where, await seedPool(Math.min(1000, scale)), scale, log);
  const env: NodeJS.ProcessEnv = {
    CERTKEEPER_DATA_DIR: where.dataDir,
    CERTKEEPER_MASTER_KEY: where.masterKey,
    CERTKEEPER_LOG_LEVEL: 'warn',
    CERTKEEPER_HOST: '127.0.0.1',
    CERTKEEPER_PORT: '0',
    ...(where.databaseUrl ? { DATABASE_URL: where.databaseUrl } : {}),
  };
  let url = '';
  await serve(loadConfig(env), {
    stdout: { write: (text: string) => (url ||= /listening on (http:\/\/\S+)/.exec(text)?.[1] ?? '') },
  });
  const ctx: Context = {
    url,
    seeded,
    token: await nhnToken(url, seeded),
    importPool: await importPool(REPEAT + 10, log),
    importNext: { i: 0 },
  };
  for (const c of cases(ctx, Number(values['page-size']), null)) {
    await send(url, c.method, c.next());
    recording = [];
    const answer = await send(url, c.method, c.next());
    const one = recording;
    recording = null;
    const before = { ...totals };
    const t = performance.now();
    for (let i = 0; i < REPEAT; i++) await send(url, c.method, c.next());
    const wallUs = ((performance.now() - t) * 1000) / REPEAT;
    const n = (totals.statements - before.statements) / REPEAT;
    const prepUs = (totals.prepareUs - before.prepareUs) / REPEAT;
    const runUs = (totals.runUs - before.runUs) / REPEAT;
    log(
      `\n${c.label} (HTTP ${answer.status}, ${answer.body.length} bytes): ${one.length} statements; over ${REPEAT} sequential requests: ${n.toFixed(1)} statements, ` +
        `${store === 'sqlite' ? `prepare ${prepUs.toFixed(0)} µs + run ${runUs.toFixed(0)} µs` : `${runUs.toFixed(0)} µs waiting for PostgreSQL`} of ${wallUs.toFixed(0)} µs per request (wall, client included)`,
    );
    if (values.replay) await replay(one);
    for (const r of one)
      log(
        `  ${store === 'sqlite' ? `${r.prepareUs.toFixed(0).padStart(5)} + ${r.runUs.toFixed(0).padStart(5)} µs` : `${r.runUs.toFixed(0).padStart(6)} µs`}  ${r.sql.replace(/\s+/g, ' ').slice(0, 230)}`,
      );
  }
} finally {
  await where.cleanup().catch((error: unknown) => console.error(error));
  process.exit(0);
}
