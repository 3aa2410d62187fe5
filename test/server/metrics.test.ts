import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildServer, expiryHistogramOf, type FacePlugin, type ServerDeps } from '../../src/server/index.ts';
import { startTestApp, TestClock } from '../helpers/app.ts';
import { newCertificate, storeTargets } from '../helpers/db.ts';
import { fakeStore, FIXED_NOW, fixedClock, LogCollector, testConfig } from './helpers.ts';

const plain = (status: number) => ({ status, body: { status } });
const itemsFace: FacePlugin = {
  name: 'items',
  prefixes: ['/m'],
  async register(app) {
    app.get('/m/items/:id', async () => ({ ok: true }));
  },
  renderError: () => plain(400),
  renderInternalError: () => plain(500),
  renderNotFound: () => plain(404),
  renderBodyTooLarge: () => plain(413),
  renderBadRequest: (_r, p) => plain(p.status),
};

async function withServer(
  deps: Partial<ServerDeps>,
  run: (app: FastifyInstance, scrape: () => Promise<string>) => Promise<void>,
): Promise<void> {
  const app = await buildServer({
    config: testConfig({ logLevel: 'silent' }),
    store: fakeStore(),
    clock: fixedClock,
    faces: [itemsFace],
    ...deps,
  });
  const scrape = async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return res.body;
  };
  try {
    await run(app, scrape);
  } finally {
    await app.close();
  }
}

/** The sample lines of one metric family, e.g. `http_requests_total{...} 2`. */
const samples = (text: string, name: string) =>
  text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));

describe('/metrics: HTTP', () => {
  it('counts by route template, not raw URL; unknown routes are "unmatched"', async () => {
    await withServer({}, async (app, scrape) => {
      await app.inject({ method: 'GET', url: '/m/items/1' });
      await app.inject({ method: 'GET', url: '/m/items/2' });
      await app.inject({ method: 'GET', url: '/m/nope' });
      await app.inject({ method: 'GET', url: '/random/path/123' });
      const text = await scrape();
      assert.deepEqual(samples(text, 'http_requests_total'), [
        'http_requests_total{method="GET",route="/m/items/:id",status="200"} 2',
        'http_requests_total{method="GET",route="unmatched",status="404"} 2',
      ]);
      assert.ok(
        samples(text, 'http_request_duration_seconds_count').includes(
          'http_request_duration_seconds_count{method="GET",route="/m/items/:id",status="200"} 2',
        ),
      );
      assert.equal(text.includes('/m/items/1'), false);
      assert.equal(text.includes('/random/path'), false);
    });
  });

  it('each server has its own registry', async () => {
    await withServer({}, async (a) => {
      await withServer({}, async (b, scrapeB) => {
        await a.inject({ method: 'GET', url: '/m/items/1' });
        await a.inject({ method: 'GET', url: '/m/items/1' });
        await b.inject({ method: 'GET', url: '/m/items/1' });
        assert.deepEqual(samples(await scrapeB(), 'http_requests_total'), [
          'http_requests_total{method="GET",route="/m/items/:id",status="200"} 1',
        ]);
      });
    });
  });

  it('exports process metrics too', async () => {
    await withServer({}, async (_app, scrape) => {
      assert.match(await scrape(), /^process_cpu_user_seconds_total \d/m);
    });
  });
});

describe('/metrics: certificates', () => {
  it('certkeeper_certificates{status} comes from countByValidity(null, clock.now()) at scrape time', async () => {
    const calls: Array<[number | null, Date]> = [];
    let counts = { valid: 5, expired: 2, notYetValid: 1 };
    const store = fakeStore({
      countByValidity: async (tenantId, asOf) => {
        calls.push([tenantId, asOf]);
        return counts;
      },
    });
    await withServer({ store }, async (_app, scrape) => {
      assert.deepEqual(samples(await scrape(), 'certkeeper_certificates'), [
        'certkeeper_certificates{status="valid"} 5',
        'certkeeper_certificates{status="expired"} 2',
        'certkeeper_certificates{status="not_yet_valid"} 1',
      ]);
      counts = { valid: 4, expired: 3, notYetValid: 0 };
      assert.deepEqual(samples(await scrape(), 'certkeeper_certificates'), [
        'certkeeper_certificates{status="valid"} 4',
        'certkeeper_certificates{status="expired"} 3',
        'certkeeper_certificates{status="not_yet_valid"} 0',
      ]);
      assert.deepEqual(calls, [
        [null, FIXED_NOW],
        [null, FIXED_NOW],
      ]);
    });
  });

  it('a failing store leaves the inventory without samples, logs a warning, and the scrape still succeeds', async () => {
    const logs = new LogCollector();
    const store = fakeStore({ countByValidity: () => Promise.reject(new Error('database is locked')) });
    await withServer({ store, logStream: logs, config: testConfig() }, async (app, scrape) => {
      await app.inject({ method: 'GET', url: '/healthz' });
      const text = await scrape();
      assert.deepEqual(samples(text, 'certkeeper_certificates'), []);
      assert.equal(samples(text, 'http_requests_total').length, 1);
      assert.match(logs.text, /"level":40.*database is locked.*"msg":"metrics: counting certificates failed"/);
    });
  });

  it('certkeeper_certificate_days_to_expiry buckets 0..365 and +Inf from the expiry source', async () => {
    const day = 86_400_000;
    const at = (days: number) => new Date(FIXED_NOW.getTime() + days * day);
    // expired 3 days ago, 5, 10, 29.5, 100, 400 days left
    const notAfters = [at(-3), at(5), at(10), at(29.5), at(100), at(400)];
    const asked: Array<[Date, readonly number[]]> = [];
    const expiryHistogram = async (asOf: Date, bounds: readonly number[]) => {
      asked.push([asOf, bounds]);
      return expiryHistogramOf(notAfters, asOf, bounds);
    };
    await withServer({ expiryHistogram }, async (_app, scrape) => {
      const text = await scrape();
      assert.match(text, /# TYPE certkeeper_certificate_days_to_expiry histogram/);
      assert.deepEqual(samples(text, 'certkeeper_certificate_days_to_expiry_bucket'), [
        'certkeeper_certificate_days_to_expiry_bucket{le="0"} 1',
        'certkeeper_certificate_days_to_expiry_bucket{le="7"} 2',
        'certkeeper_certificate_days_to_expiry_bucket{le="14"} 3',
        'certkeeper_certificate_days_to_expiry_bucket{le="30"} 4',
        'certkeeper_certificate_days_to_expiry_bucket{le="60"} 4',
        'certkeeper_certificate_days_to_expiry_bucket{le="90"} 4',
        'certkeeper_certificate_days_to_expiry_bucket{le="180"} 5',
        'certkeeper_certificate_days_to_expiry_bucket{le="365"} 5',
        'certkeeper_certificate_days_to_expiry_bucket{le="+Inf"} 6',
      ]);
      assert.deepEqual(samples(text, 'certkeeper_certificate_days_to_expiry_sum'), [
        'certkeeper_certificate_days_to_expiry_sum 541.5',
      ]);
      assert.deepEqual(samples(text, 'certkeeper_certificate_days_to_expiry_count'), [
        'certkeeper_certificate_days_to_expiry_count 6',
      ]);
      assert.deepEqual(asked, [[FIXED_NOW, [0, 7, 14, 30, 60, 90, 180, 365]]]);
    });
  });

  it('without an expiry source the histogram is not exported', async () => {
    await withServer({}, async (_app, scrape) => {
      assert.equal((await scrape()).includes('certkeeper_certificate_days_to_expiry'), false);
    });
  });

  it('a failing expiry source leaves the histogram without samples', async () => {
    await withServer({ expiryHistogram: () => Promise.reject(new Error('boom')) }, async (_app, scrape) => {
      const text = await scrape();
      assert.match(text, /# TYPE certkeeper_certificate_days_to_expiry histogram/);
      assert.deepEqual(samples(text, 'certkeeper_certificate_days_to_expiry_bucket'), []);
    });
  });
});

for (const target of storeTargets) {
  describe(`/metrics on a real store (${target.name}): the expiry histogram`, { skip: target.skip }, () => {
    it('equals a count over the live certificates of every tenant, on bucket boundaries, as the clock moves', async () => {
      const day = 86_400_000;
      // Mid-afternoon UTC: the exact part of each boundary day is the tail half.
      const start = Date.UTC(2026, 10, 10, 15, 20, 7, 123);
      const clock = new TestClock(new Date(start));
      const app = await startTestApp({ store: target.name, clock });
      try {
        const other = await app.addTenant('other');
        // On each bound, 1 ms either side, and expired ones; one deleted, one replaced.
        const offsets = [-40 * day, -1, 0, 1, 7 * day, 7 * day + 1, 30 * day - 1, 90 * day, 365 * day, 365 * day + 1];
        const notAfters: number[] = [];
        const store = app.app.store.certificates;
        for (const [i, offset] of offsets.entries()) {
          const tenantId = i % 3 === 0 ? other.tenant.id : app.main.tenant.id;
          const notAfter = start + offset;
          await store.insert(
            newCertificate(tenantId, {
              facts: { notBefore: new Date(notAfter - 90 * day), notAfter: new Date(notAfter) },
            }),
            new Date(start),
          );
          notAfters.push(notAfter);
        }
        const gone = await store.insert(
          newCertificate(app.main.tenant.id, { facts: { notAfter: new Date(start + 3 * day) } }),
          new Date(start),
        );
        await store.markDeleted(app.main.tenant.id, gone.certificateNo, new Date(start));
        for (const move of [0, 1, day / 2, 6 * day + 1]) {
          clock.set(new Date(start + move));
          const at = clock.now().getTime();
          const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
          const expected = [0, 7, 14, 30, 60, 90, 180, 365].map(
            (b) =>
              `certkeeper_certificate_days_to_expiry_bucket{le="${b}"} ${notAfters.filter((n) => n - at <= b * day).length}`,
          );
          expected.push(`certkeeper_certificate_days_to_expiry_bucket{le="+Inf"} ${notAfters.length}`);
          assert.deepEqual(
            samples(text, 'certkeeper_certificate_days_to_expiry_bucket'),
            expected,
            `clock +${move} ms`,
          );
          const [sum] = samples(text, 'certkeeper_certificate_days_to_expiry_sum');
          const exact = notAfters.reduce((total, n) => total + (n - at), 0) / day;
          assert.ok(Math.abs(Number(sum!.split(' ')[1]) - exact) < 1e-9, `${sum} vs ${exact}`);
        }
      } finally {
        await app.close();
      }
    });
  });
}
