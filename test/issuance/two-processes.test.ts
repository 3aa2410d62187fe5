/**
 * Two `certkeeper serve` processes on one PostgreSQL carry out N orders against a real Pebble
 * (through BIND): every order ends `done`, each exactly once. Three witnesses: the CA proxy saw
 * one newOrder per order and ONE finalize per order URL; Pebble's log says N orders; and every
 * step transition of every order ("issuance order advanced", order + step → next) is in the two
 * processes' logs once, whichever process made it. Both processes did part of the work. The row
 * claims with a lease (core/issuance/ports.ts) are what make this hold; no lock lives in memory.
 * Then requests for one certificate name sent to both processes at once: one order each time,
 * the other request refused (26090; migration 0018's unique index, not a check in memory).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { USER_ZONE } from '../helpers/bind.ts';
import { freshPostgres, postgresSkip, rawQuery, type TestLocation } from '../helpers/db.ts';
import { createDefaultAdmin, edgeCall, serve, waitFor, type Credentials, type Served } from '../e2e/helpers.ts';
import { addUserCname } from './user-dns.ts';
import { SERVED_SKIP, startIssuanceRig, type IssuanceRig } from './served.ts';

const ORDERS = 8;
const V2 = '/api/v2/certificate';

interface Advanced {
  orderId: number;
  step: string;
  next: string;
  workerId: string;
}

function advancedLines(output: string): Advanced[] {
  const lines: Advanced[] = [];
  for (const line of output.split('\n')) {
    if (!line.includes('issuance order advanced')) continue;
    lines.push(JSON.parse(line) as Advanced);
  }
  return lines;
}

describe('two processes on one PostgreSQL, N orders', { skip: SERVED_SKIP || postgresSkip }, () => {
  let location: TestLocation;
  let rig: IssuanceRig;
  const processes: Served[] = [];
  /** The first test's credentials (an ADMIN of the tenant both processes serve). */
  let admin: Credentials | undefined;

  before(async () => {
    location = await freshPostgres();
    rig = await startIssuanceRig({ databaseUrl: location.databaseUrl });
  });
  after(async () => {
    for (const p of processes) p.signal('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    await rig?.stop();
    await location?.cleanup();
  });

  it('each order is done once, and both processes worked', async () => {
    const envFor = (name: string) =>
      rig.env({ CERTKEEPER_DATA_DIR: join(rig.dir, name), CERTKEEPER_ISSUANCE_POLL_MS: '50' });
    const cliEnv = envFor('cli');
    const credentials = await createDefaultAdmin(cliEnv);
    admin = credentials;
    processes.push(await serve(envFor('a')), await serve(envFor('b')));

    const requested: Array<{ certificateNo: number; domain: string; via: Served }> = [];
    for (let i = 0; i < ORDERS; i++) {
      const via = processes[i % 2]!;
      const domain = `pair${i}.${USER_ZONE}`;
      const res = await edgeCall(via.baseUrl, credentials, 'POST', `${V2}/requestCertificateIssuance`, {
        certificateName: `pair${i}`,
        commonName: domain,
        dnsName: [domain],
        validationMethod: 'D',
      });
      assert.equal(res.status, 200, res.body.toString());
      const certificateNo = (res.json as { certificateNo: number }).certificateNo;
      const info = await edgeCall(
        via.baseUrl,
        credentials,
        'GET',
        `${V2}/getVerificationInfo/${certificateNo}`,
        undefined,
        {
          domainAddress: domain,
        },
      );
      const record = (info.json as { dnsVerificationList: Array<{ dnsRecordName: string; dnsRecordValue: string }> })
        .dnsVerificationList[0]!;
      await addUserCname(rig.bind, record.dnsRecordName, record.dnsRecordValue);
      requested.push({ certificateNo, domain, via });
    }

    await waitFor(
      'every order to end',
      async () => {
        for (const { certificateNo, domain, via } of requested) {
          const info = await edgeCall(
            via.baseUrl,
            credentials,
            'GET',
            `${V2}/getVerificationInfo/${certificateNo}`,
            undefined,
            {
              domainAddress: domain,
            },
          );
          if ((info.json as { certificateStatus: string }).certificateStatus === 'ONGOING') return undefined;
        }
        return true;
      },
      120_000,
      500,
    );
    for (const { certificateNo, domain, via } of requested) {
      const info = await edgeCall(
        via.baseUrl,
        credentials,
        'GET',
        `${V2}/getVerificationInfo/${certificateNo}`,
        undefined,
        {
          domainAddress: domain,
        },
      );
      assert.equal((info.json as { certificateStatus: string }).certificateStatus, 'NORMAL', info.body.toString());
    }

    assert.equal(rig.proxy.count('newOrder'), ORDERS, 'one newOrder per order');
    assert.equal(rig.pebbleOrders(), ORDERS, 'Pebble created N orders');
    const finalizes = rig.proxy.requests
      .filter((r) => r.kind === 'finalize' && r.status !== undefined && r.status < 300)
      .map((r) => r.path);
    assert.equal(finalizes.length, ORDERS, 'one finalize the CA took per order');
    assert.equal(new Set(finalizes).size, ORDERS);
    assert.equal(rig.pebbleAccounts(), 1, 'one account, created once for both processes');

    const lines = processes.flatMap((p) => advancedLines(p.output()));
    const transitions = lines.map((l) => `${l.orderId}:${l.step}->${l.next}`);
    assert.equal(new Set(transitions).size, transitions.length, 'no step of any order made twice');
    assert.equal(new Set(lines.filter((l) => l.next === 'done').map((l) => l.orderId)).size, ORDERS);
    const workers = new Set(lines.map((l) => l.workerId));
    assert.equal(workers.size, 2, `both processes worked: ${[...workers].join(', ')}`);
  });

  it('two requests for one certificate name, one to each process at once: one order, the other refused', async () => {
    assert.ok(admin && processes.length === 2, 'runs after the processes started');
    for (let round = 0; round < 6; round++) {
      const answers = await Promise.all(
        processes.map((via, i) => {
          const domain = `race${round}-${i}.${USER_ZONE}`;
          return edgeCall(via.baseUrl, admin!, 'POST', `${V2}/requestCertificateIssuance`, {
            certificateName: `race-${round}`,
            commonName: domain,
            dnsName: [domain],
            validationMethod: 'D',
          });
        }),
      );
      const codes = answers.map((res) => (res.json as { returnCode: string }).returnCode).sort();
      assert.deepEqual(codes, ['0', '26090'], answers.map((res) => res.body.toString()).join('\n'));
    }
    const [row] = await rawQuery(
      location,
      "select count(*) as n from issuance_orders where certificate_name like 'race-%'",
    );
    assert.equal(Number(row!.n), 6, 'one order a round');
  });
});
