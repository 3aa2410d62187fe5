/**
 * ListCertificates at size and under writes, through clients nobody here wrote:
 *
 * - Debian's aws CLI paginates 2,500 certificates automatically (no --max-items: the server's
 *   default page of 1,000, so three pages chained by NextToken) and prints each exactly once; the
 *   SDK's paginator does the same in pages of 100.
 * - Pages read while a writer imports and deletes never skip or repeat: every certificate that
 *   existed throughout is seen exactly once, no ARN twice, ascending and descending, on both stores.
 *   Requested certificates not issued yet are listed too (issuance configured, no worker running):
 *   the writer also lands some (their certificate inserted with the reserved number, as the worker
 *   does) and requests more; each request that existed throughout is seen exactly once, pending or
 *   issued, in its place.
 * - RequestCertificate with Tags: the tags are listed while pending; CertificateStatuses filters
 *   pending requests and certificates.
 *
 * Certificates are seeded through the store's own insert (test/helpers/db.ts `newCertificate`:
 * hand-built facts, RSA 2048 so ACM's default key types list them), not 2,500 CLI calls.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
  paginateListCertificates,
  RequestCertificateCommand,
} from '@aws-sdk/client-acm';
import { loadIssuanceConfig } from '../../../src/config/config.ts';
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

/** Issuance configured (so requests are served and listed) with a CA nobody contacts: no worker runs here. */
const issuanceSetting = () =>
  loadIssuanceConfig({
    CERTKEEPER_ACME_DIRECTORY_URL: 'https://127.0.0.1:9/directory',
    CERTKEEPER_DCV_ZONE: 'dcv.example.test',
    CERTKEEPER_DCV_DNS_SERVER: '127.0.0.1:53',
    CERTKEEPER_DCV_TSIG_KEY: `hmac-sha256:certkeeper-dcv:${randomBytes(32).toString('base64')}`,
  });

/** A RequestCertificate made at `at` (its order and request rows, as core writes them); answers its ARN and number. */
async function requestAt(app: TestApp, at: Date): Promise<{ arn: string; certificateNo: number }> {
  const { store } = app.app;
  const tenantId = app.main.tenant.id;
  const order = await store.issuance.createOrder(
    {
      tenantId,
      kind: 'issue',
      certificateName: `acm-${randomUUID().slice(0, 12)}`,
      certificateNo: null,
      names: [`r-${randomUUID().slice(0, 12)}.example.test`],
      keyKind: 'rsa-2048',
      method: 'dns-01',
      renewal: true,
      replaces: null,
    },
    at,
  );
  const arnId = randomUUID();
  await store.acm.createRequest(
    {
      arnId,
      tenantId,
      certificateNo: order.certificateNo!,
      orderId: order.orderId,
      idempotencyToken: null,
      createdAt: at,
      landedAt: null,
    },
    [],
  );
  const account = app.main.tenant.memberNo.padStart(12, '0');
  return { arn: `arn:aws:acm:${REGION}:${account}:certificate/${arnId}`, certificateNo: order.certificateNo! };
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
        app = await startTestApp({ store: target.name as 'sqlite' | 'postgres', issuance: issuanceSetting() });
      });
      after(async () => app?.close());

      it('RequestCertificate keeps Tags while pending; CertificateStatuses filters requests', async () => {
        const acm = sdkClient(app.baseUrl, app.main.admin, REGION);
        const tags = [{ Key: 'env', Value: 'prod' }, { Key: 'bare' }];
        const { CertificateArn: arn } = await acm.send(
          new RequestCertificateCommand({
            DomainName: `tagged-${randomUUID().slice(0, 8)}.example.test`,
            ValidationMethod: 'DNS',
            Tags: tags,
          }),
        );
        const listed = await acm.send(new ListTagsForCertificateCommand({ CertificateArn: arn }));
        assert.deepEqual(listed.Tags, [{ Key: 'bare' }, { Key: 'env', Value: 'prod' }]);
        const arnsOf = async (statuses?: string[]) => {
          const out: string[] = [];
          for await (const page of paginateListCertificates(
            { client: acm, pageSize: 1000 },
            statuses ? { CertificateStatuses: statuses as never } : {},
          ))
            for (const s of page.CertificateSummaryList ?? []) out.push(s.CertificateArn as string);
          return out;
        };
        assert.ok((await arnsOf()).includes(arn!));
        assert.ok((await arnsOf(['PENDING_VALIDATION'])).includes(arn!));
        assert.ok(!(await arnsOf(['ISSUED', 'EXPIRED'])).includes(arn!));
        assert.ok(!(await arnsOf(['FAILED', 'VALIDATION_TIMED_OUT'])).includes(arn!));
        const summary = (
          await acm.send(new ListCertificatesCommand({ CertificateStatuses: ['PENDING_VALIDATION'] }))
        ).CertificateSummaryList!.find((s) => s.CertificateArn === arn)!;
        assert.equal(summary.Status, 'PENDING_VALIDATION');
        assert.equal(summary.Type, 'AMAZON_ISSUED');
        assert.equal(summary.KeyAlgorithm, 'RSA_2048');
        assert.equal(summary.InUse, false);
      });

      for (const order of ['ASCENDING', 'DESCENDING'] as const) {
        it(`${order}: every certificate that existed throughout is seen exactly once`, async () => {
          const tenantId = app.main.tenant.id;
          const { store } = app.app;
          const base = Date.now() - 10 * 86_400_000;
          const span = 400 * 1000;
          // Stable and doomed certificates interleaved in creation order, so deletions land on
          // both sides of every page boundary.
          const all = await seed(app, 400, (i) => new Date(base + i * 1000));
          // Requests between the certificates, each there throughout: pending, or issued meanwhile.
          const requests: Array<{ arn: string; certificateNo: number }> = [];
          for (let i = 0; i < 400; i += 4) requests.push(await requestAt(app, new Date(base + i * 1000 + 500)));
          const landing = [...requests].sort(() => Math.random() - 0.5);
          const stableRequests = new Set(requests.map((r) => r.arn));
          const stable = all.filter((_, i) => i % 4 !== 1);
          const doomed = all.filter((_, i) => i % 4 === 1);
          const doomedNos = await Promise.all(
            doomed.map((arn) => store.acm.certificateNoOf(tenantId, arn.slice(arn.lastIndexOf('/') + 1))),
          );
          let writes = 0;
          let nth = 0;
          /**
           * One write: delete a doomed certificate, land a request (its certificate inserted with
           * the reserved number, as the issuance worker does), request one more, or insert a
           * certificate, each at a random creation time in the range.
           */
          const write = async (): Promise<void> => {
            nth += 1;
            const at = new Date(base + Math.floor(Math.random() * span));
            const victim = nth % 2 === 0 ? doomedNos.pop() : undefined;
            const lands = nth % 3 === 0 ? landing.pop() : undefined;
            if (victim !== undefined && victim !== null) await app.app.core.certificates.delete(app.main.actor, victim);
            else if (lands !== undefined)
              await store.certificates.insert(
                newCertificate(tenantId, { certificateNo: lands.certificateNo, origin: 'acme', facts: { key: RSA } }),
                new Date(),
              );
            else if (nth % 5 === 0) await requestAt(app, at);
            else await store.certificates.insert(newCertificate(tenantId, { facts: { key: RSA } }), at);
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
          const missedRequests = requests.filter((r) => times.get(r.arn) !== 1);
          assert.deepEqual(missedRequests, [], 'every request that existed throughout is listed once');
          assert.ok(landing.length < requests.length / 2, `only ${requests.length - landing.length} requests landed`);
          // The listed ones keep the order asked for: the stable ones appear in creation order.
          const stableAll = [
            ...all.map((arn, i) => ({ arn, at: i * 1000 })),
            ...requests.map((r, j) => ({ arn: r.arn, at: j * 4000 + 500 })),
          ]
            .sort((a, b) => a.at - b.at)
            .map((x) => x.arn)
            .filter((arn) => stableRequests.has(arn) || stable.includes(arn));
          const stableSeen = seen.filter((arn) => stableRequests.has(arn) || stable.includes(arn));
          assert.deepEqual(stableSeen, order === 'ASCENDING' ? stableAll : [...stableAll].reverse());
        });
      }
    },
  );
}
