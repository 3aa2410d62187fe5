/**
 * ListCertificates at size and under writes, through clients nobody here wrote:
 *
 * - Debian's aws CLI paginates 2,500 certificates automatically (no --max-items: the server's
 *   default page of 1,000, so three pages chained by NextToken) and prints each exactly once; the
 *   SDK's paginator does the same in pages of 100.
 * - Pages read while a writer imports and deletes never skip or repeat: every certificate that
 *   existed throughout is seen exactly once, no ARN twice, ascending and descending, on both stores.
 *
 * Certificates are seeded through the store's own insert (test/helpers/db.ts `newCertificate`:
 * hand-built facts, RSA 2048 so ACM's default key types list them), not 2,500 CLI calls.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { paginateListCertificates } from '@aws-sdk/client-acm';
import type { KeyDescription } from '../../../src/domain/x509/types.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { newCertificate, storeTargets } from '../../helpers/db.ts';
import { awsCli, awsMissing, sdkClient } from './clients.ts';

const RSA: KeyDescription = { algorithm: 'RSA', bits: 2048, curve: null };
const REGION = 'eu-west-1';

/** Inserts `count` certificates created at `at(i)`; answers their ARNs in insertion order. */
async function seed(app: TestApp, count: number, at: (i: number) => Date): Promise<string[]> {
  const { store } = app.app;
  const tenantId = app.main.tenant.id;
  const numbers: number[] = [];
  for (let i = 0; i < count; i++) {
    const created = await store.certificates.insert(newCertificate(tenantId, { facts: { key: RSA } }), at(i));
    numbers.push(created.certificateNo);
  }
  const ids = await store.acm.arnIds(tenantId, numbers);
  const account = app.main.tenant.memberNo.padStart(12, '0');
  return numbers.map((n) => `arn:aws:acm:${REGION}:${account}:certificate/${ids.get(n)!}`);
}

const counts = (arns: readonly string[]): Map<string, number> => {
  const seen = new Map<string, number>();
  for (const arn of arns) seen.set(arn, (seen.get(arn) ?? 0) + 1);
  return seen;
};

describe('ListCertificates over 2,500 certificates with the aws CLI and the SDK paginator', () => {
  let app: TestApp;
  let home: string;
  let arns: string[];

  before(async () => {
    app = await startTestApp();
    home = await mkdtemp(join(tmpdir(), 'certkeeper-acm-paging-'));
    const start = Date.now() - 86_400_000;
    arns = await seed(app, 2500, (i) => new Date(start + i * 1000));
  });
  after(async () => {
    await app?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it(
    'aws acm list-certificates without --max-items prints all 2,500 exactly once, in order',
    { skip: awsMissing },
    async () => {
      const listed = await awsCli(app.baseUrl, app.main.viewer, home, ['list-certificates']);
      assert.equal(listed.code, 0, listed.err);
      const out = JSON.parse(listed.out) as {
        CertificateSummaryList: Array<{ CertificateArn: string }>;
        NextToken?: string;
      };
      assert.equal(out.NextToken, undefined);
      assert.deepEqual(
        out.CertificateSummaryList.map((s) => s.CertificateArn),
        arns,
      );
    },
  );

  it(
    'aws acm list-certificates --sort-order DESCENDING --page-size 300 prints them reversed',
    { skip: awsMissing },
    async () => {
      const listed = await awsCli(app.baseUrl, app.main.viewer, home, [
        'list-certificates',
        '--sort-by',
        'CREATED_AT',
        '--sort-order',
        'DESCENDING',
        '--page-size',
        '300',
      ]);
      assert.equal(listed.code, 0, listed.err);
      const out = JSON.parse(listed.out) as { CertificateSummaryList: Array<{ CertificateArn: string }> };
      assert.deepEqual(
        out.CertificateSummaryList.map((s) => s.CertificateArn),
        [...arns].reverse(),
      );
    },
  );

  it('the SDK paginator in pages of 100 reads 25 full pages, each certificate once', async () => {
    const pages: number[] = [];
    const seen: string[] = [];
    for await (const page of paginateListCertificates(
      { client: sdkClient(app.baseUrl, app.main.viewer), pageSize: 100 },
      {},
    )) {
      pages.push(page.CertificateSummaryList?.length ?? 0);
      for (const s of page.CertificateSummaryList ?? []) seen.push(s.CertificateArn as string);
    }
    assert.deepEqual(
      pages,
      Array.from({ length: 25 }, () => 100),
    );
    assert.deepEqual(seen, arns);
  });
});

for (const target of storeTargets) {
  describe(
    `ListCertificates pages while certificates are imported and deleted (${target.name})`,
    { skip: target.skip },
    () => {
      let app: TestApp;
      before(async () => {
        app = await startTestApp({ store: target.name as 'sqlite' | 'postgres' });
      });
      after(async () => app?.close());

      for (const order of ['ASCENDING', 'DESCENDING'] as const) {
        it(`${order}: every certificate that existed throughout is seen exactly once`, async () => {
          const tenantId = app.main.tenant.id;
          const { store } = app.app;
          const base = Date.now() - 10 * 86_400_000;
          const span = 400 * 1000;
          // Stable and doomed certificates interleaved in creation order, so deletions land on
          // both sides of every page boundary.
          const all = await seed(app, 400, (i) => new Date(base + i * 1000));
          const stable = all.filter((_, i) => i % 4 !== 1);
          const doomed = all.filter((_, i) => i % 4 === 1);
          const doomedNos = await Promise.all(
            doomed.map((arn) => store.acm.certificateNoOf(tenantId, arn.slice(arn.lastIndexOf('/') + 1))),
          );
          let writes = 0;
          let nth = 0;
          /** One write: delete a doomed certificate, or insert one at a random creation time in the range. */
          const write = async (): Promise<void> => {
            nth += 1;
            const victim = nth % 2 === 0 ? doomedNos.pop() : undefined;
            if (victim !== undefined && victim !== null) await app.app.core.certificates.delete(app.main.actor, victim);
            else
              await store.certificates.insert(
                newCertificate(tenantId, { facts: { key: RSA } }),
                new Date(base + Math.floor(Math.random() * span)),
              );
            writes += 1;
          };

          let reading = true;
          const background = (async () => {
            // A macrotask between writes: SQLite answers synchronously, and a loop of resolved
            // awaits would keep the server's sockets from ever being served.
            while (reading) {
              await write();
              await new Promise((resolve) => setImmediate(resolve));
            }
          })();
          const seen: string[] = [];
          let pages = 0;
          try {
            for await (const page of paginateListCertificates(
              { client: sdkClient(app.baseUrl, app.main.viewer, REGION), pageSize: 9 },
              { SortBy: 'CREATED_AT', SortOrder: order },
            )) {
              pages += 1;
              for (const s of page.CertificateSummaryList ?? []) seen.push(s.CertificateArn as string);
              // Between every two pages at least three writes happen, whatever the scheduling.
              for (let i = 0; i < 3; i++) await write();
            }
          } finally {
            reading = false;
            await background;
          }
          assert.ok(pages >= 300 / 9, `only ${pages} pages`);
          assert.ok(writes >= 3 * (pages - 1));
          const times = counts(seen);
          const repeated = [...times].filter(([, n]) => n > 1);
          assert.deepEqual(repeated, [], 'no certificate is listed twice');
          const missed = stable.filter((arn) => times.get(arn) !== 1);
          assert.deepEqual(missed, [], 'every certificate that existed throughout is listed once');
          // The listed ones keep the order asked for: the stable ones appear in creation order.
          const stableSeen = seen.filter((arn) => stable.includes(arn));
          assert.deepEqual(stableSeen, order === 'ASCENDING' ? stable : [...stable].reverse());
        });
      }
    },
  );
}
