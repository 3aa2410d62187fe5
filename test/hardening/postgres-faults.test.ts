/**
 * Issue 22: PostgreSQL stopped and started again under load. A real `certkeeper serve` on a private
 * cluster (test/helpers/private-postgres.ts, never the shared server) takes imports and lists from
 * a few concurrent clients while the test stops the cluster (`pg_ctl stop -m fast`) and starts it
 * again. Expected:
 *
 * - while it is down, every request is answered (a generous client timeout tells "answered" from
 *   "hung"; the bound the server aims for is a refused connection's round trip, and at most the
 *   pool's connection timeout) with the face's 503 (NCP gateway `endpointError`), never a 500 or
 *   any other 5xx, never a stack trace; `/readyz` answers 503;
 * - the process survives the connections dying under it (no unhandled 'error' event);
 * - when the cluster is back, service resumes by itself (no restart): `/readyz` 200 and imports
 *   acknowledged again;
 * - nothing half-written: every acknowledged import is in the database with its key, every stored
 *   certificate has its key, and the per-tenant live count equals the live rows;
 * - the outage is one event in the log (store/availability.ts): one error line when the store
 *   becomes unavailable, one info line when it recovers, and no other error line nor any stack
 *   (each failed request and readiness probe is an info line).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { testMasterKey } from '../helpers/db.ts';
import { mintBundle, mintLeaf, type Bundle } from '../helpers/pki.ts';
import { ncpFetch, type NcpResponse } from '../helpers/ncp-client.ts';
import { privatePostgresSkip, startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.ts';
import { cliJson, serve, waitFor, type Credentials, type Served } from '../e2e/helpers.ts';

/** Far above any answer the server should give; reaching it means a request hung. */
const CLIENT_TIMEOUT_MS = 30_000;
const WORKERS = 4;

interface Outcome {
  op: 'import' | 'list';
  phase: 'before' | 'down' | 'after';
  status: number | 'no answer';
  body: string;
  certificateNo?: number;
  /** For 'no answer': the client timeout, or the error the request failed with. */
  failure?: string;
  /** Milliseconds from this test's start to the request's send and to its end, and its phase then. */
  sentAt?: number;
  endedAt?: number;
  sentIn?: Outcome['phase'];
}

describe('PostgreSQL stopped and started under load', { skip: privatePostgresSkip }, () => {
  let cluster: PrivatePostgres;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let running: Served | null = null;
  let credentials: Credentials;
  let bundle: Bundle;

  before(async () => {
    cluster = await startPrivatePostgres();
    dir = await mkdtemp(join(tmpdir(), 'certkeeper-pgfault-'));
    env = {
      ...process.env,
      DATABASE_URL: cluster.url,
      CERTKEEPER_DATA_DIR: dir,
      CERTKEEPER_PORT: '0',
      CERTKEEPER_LOG_LEVEL: 'info',
      CERTKEEPER_MASTER_KEY: testMasterKey(),
    };
    await cliJson(env, ['tenant', 'create', 'default']);
    credentials = await cliJson<Credentials>(env, ['credential', 'create', '--tenant', 'default', '--role', 'ADMIN']);
    bundle = await mintBundle();
    running = await serve(env);
  });

  after(async () => {
    running?.signal('SIGKILL');
    await running?.exited;
    await cluster?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The answer, or why there was none: the client timeout, or the error the request failed with. */
  async function call(method: string, path: string, body?: unknown): Promise<NcpResponse | { failure: string }> {
    // A timer cleared once answered: a pending one would hold the test's process open 30 s.
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        ncpFetch(running!.baseUrl, { method, path, credentials, ...(body === undefined ? {} : { body }) }),
        new Promise<{ failure: string }>((resolve) => {
          timer = setTimeout(() => resolve({ failure: `no answer within ${CLIENT_TIMEOUT_MS} ms` }), CLIENT_TIMEOUT_MS);
        }),
      ]);
    } catch (error) {
      return { failure: `${String(error)}${error instanceof Error && error.cause ? ` (${String(error.cause)})` : ''}` };
    } finally {
      clearTimeout(timer);
    }
  }

  async function readyz(): Promise<number> {
    const res = await fetch(new URL('/readyz', running!.baseUrl), { signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
    await res.arrayBuffer();
    return res.status;
  }

  it('answers 503 while down, resumes by itself, loses nothing acknowledged', async () => {
    const outcomes: Outcome[] = [];
    let phase: Outcome['phase'] = 'before';
    let stopping = false;
    let sequence = 0;

    // A request counts as 'before' or 'after' only when it started and ended in that phase; one
    // that overlapped the outage in any way counts as 'down'.
    const testStart = Date.now();
    /** When each step of the fault happened, in ms from the test's start (for failure messages). */
    const phaseTimes: Record<string, number> = {};
    const mark = (step: string): void => {
      phaseTimes[step] = Date.now() - testStart;
    };
    const phaseOf = async (
      request: () => Promise<NcpResponse | { failure: string }>,
    ): Promise<[NcpResponse | null, Pick<Outcome, 'phase' | 'failure' | 'sentAt' | 'endedAt' | 'sentIn'>]> => {
      const started = phase;
      const sentAt = Date.now() - testStart;
      const result = await request();
      const when = {
        phase: started === phase ? started : 'down',
        sentAt,
        endedAt: Date.now() - testStart,
        sentIn: started,
      } as const;
      return 'failure' in result ? [null, { ...when, failure: result.failure }] : [result, when];
    };
    const worker = async (): Promise<void> => {
      while (!stopping) {
        const n = ++sequence;
        if (n % 2 === 0) {
          const [res, when] = await phaseOf(() => call('GET', '/api/v1/certificates'));
          outcomes.push({
            op: 'list',
            ...when,
            status: res?.status ?? 'no answer',
            body: res?.body.toString() ?? '',
          });
          continue;
        }
        const leaf = await mintLeaf(bundle.intermediate, { cn: `fault-${n}.example.com`, freshKey: true });
        const [res, when] = await phaseOf(() =>
          call('POST', '/api/v1/certificate/withExternal', {
            certificateName: `fault-${n}`,
            privateKey: leaf.keyPem,
            publicKeyCertificate: leaf.pem,
            certificateChain: bundle.chainPem,
          }),
        );
        const json = res?.json as { sslCertificateList?: Array<{ certificateNo: number }> } | undefined;
        const certificateNo = json?.sslCertificateList?.[0]?.certificateNo;
        outcomes.push({
          op: 'import',
          ...when,
          status: res?.status ?? 'no answer',
          body: res?.body.toString() ?? '',
          ...(certificateNo === undefined ? {} : { certificateNo }),
        });
      }
    };
    const workers = Array.from({ length: WORKERS }, worker);
    const summary = () =>
      JSON.stringify(
        Object.groupBy(outcomes, (o) => `${o.op} ${o.phase} ${o.status}`),
        (key, value) => (Array.isArray(value) ? value.length : value),
      ) + `\n${running!.output().slice(-4000)}`;
    try {
      await underFault();
    } catch (error) {
      stopping = true;
      throw new Error(`${String(error)}\n${summary()}`, { cause: error });
    }
    stopping = true;
    await Promise.all(workers);
    await checkAfterwards();

    async function underFault(): Promise<void> {
      const acked = (p: Outcome['phase']) =>
        outcomes.filter((o) => o.phase === p && o.op === 'import' && o.status === 200);
      await waitFor('imports acknowledged before the fault', async () =>
        acked('before').length >= 5 ? true : undefined,
      );

      phase = 'down';
      mark('stopping');
      await cluster.stop();
      mark('stopped');
      await waitFor('503 answers while PostgreSQL is down', async () =>
        outcomes.filter((o) => o.phase === 'down' && o.status === 503).length >= 20 ? true : undefined,
      );
      assert.equal(await readyz(), 503, '/readyz says not ready while the database is down');

      await cluster.start();
      mark('started');
      await waitFor('/readyz ready again', async () => ((await readyz()) === 200 ? true : undefined));
      phase = 'after';
      mark('after');
      await waitFor('imports acknowledged again', async () => (acked('after').length >= 5 ? true : undefined));
    }

    async function checkAfterwards(): Promise<void> {
      assert.equal(running!.child.exitCode, null, `the server is still running:\n${running!.output().slice(-3000)}`);

      // Every request was answered, and no answer was a 5xx other than the face's 503.
      const unanswered = outcomes.filter((o) => o.status === 'no answer');
      assert.equal(
        unanswered.length,
        0,
        `${unanswered.length} requests got no answer: ${JSON.stringify(unanswered.map(({ body: _, ...o }) => o))}\n` +
          `phases (ms from the test's start): ${JSON.stringify(phaseTimes)}\n${running!.output().slice(-4000)}`,
      );
      const bad = outcomes.filter((o) => typeof o.status === 'number' && o.status >= 500 && o.status !== 503);
      assert.deepEqual(
        bad.map((o) => `${o.op} ${o.phase} ${o.status} ${o.body}`),
        [],
        'no 500s',
      );
      for (const o of outcomes.filter((x) => x.status === 503)) {
        assert.deepEqual(JSON.parse(o.body).error.errorCode, '500', 'the NCP gateway endpointError');
        assert.doesNotMatch(o.body, /\n\s+at |node_modules|ECONNREFUSED|57P01/, 'no stack or driver detail');
      }
      // Outside the outage nothing failed: once /readyz said ready again, no request failed either
      // (the pool dropped the connections that died and opened new ones by itself).
      const failedOutside = outcomes.filter((o) => o.phase !== 'down' && o.status !== 200);
      assert.deepEqual(
        failedOutside.map((o) => `${o.op} ${o.phase} ${o.status}`),
        [],
      );

      // Nothing half-written.
      const client = new pg.Client({ connectionString: cluster.url });
      await client.connect();
      try {
        const rows = (
          await client.query<{ certificate_no: number; has_key: boolean; deleted_at: string | null }>(
            `select c.certificate_no::int as certificate_no, k.certificate_no is not null as has_key, c.deleted_at
             from certificates c left join certificate_keys k on k.certificate_no = c.certificate_no`,
          )
        ).rows;
        const stored = new Map(rows.map((r) => [r.certificate_no, r]));
        const ackedImports = outcomes.filter((o) => o.op === 'import' && o.status === 200);
        for (const o of ackedImports) assert.equal(typeof o.certificateNo, 'number', o.body);
        const ackedNos = ackedImports.map((o) => o.certificateNo!);
        assert.ok(ackedNos.length >= 10);
        for (const no of ackedNos) {
          assert.ok(stored.get(no), `acknowledged import ${no} is stored`);
          assert.equal(stored.get(no)!.deleted_at, null);
        }
        assert.deepEqual(
          rows.filter((r) => !r.has_key).map((r) => r.certificate_no),
          [],
          'every stored certificate has its key',
        );
        const counts = (
          await client.query<{ tenant_id: number; live: string; rows: string }>(
            `select cc.tenant_id, cc.live,
                  (select count(*) from certificates c where c.tenant_id = cc.tenant_id and c.deleted_at is null) as rows
             from certificate_counts cc`,
          )
        ).rows;
        assert.ok(counts.length >= 1);
        for (const count of counts) assert.equal(Number(count.live), Number(count.rows), 'live count matches rows');
      } finally {
        await client.end();
      }
      // The outage is logged, but as the store's unavailability, not as a crash, and once.
      const output = running!.output();
      assert.doesNotMatch(output, /uncaughtException|unhandledRejection|Unhandled 'error' event/);
      const lines = output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: number; msg: string });
      assert.deepEqual(
        lines.filter((line) => line.level >= 50).map((line) => line.msg),
        ['store unavailable: requests get 503 until it recovers'],
        'one error line for the outage',
      );
      assert.equal(lines.filter((line) => line.msg === 'store available again').length, 1, 'one line for the recovery');
      assert.doesNotMatch(output, /\n\s+at /, 'no stack traces in the log');
    }
  });
});
