/**
 * kill -9 in the middle of an order, then resume: real `certkeeper serve` processes on one SQLite
 * store issue one certificate against a real Pebble (through BIND) while the test kills them, one
 * after another, at four known steps: the order created at the CA (authorizations not read yet),
 * the TXT records published and the CNAMEs checked (challenge not answered yet), in the middle of
 * polling, and right after the CA took the CSR (its answer never arrived). The CA proxy
 * (test/helpers/ca-proxy.ts) parks the request of each step so the process is killed exactly
 * there. The last process finishes the order; Pebble's own log says it created ONE order and ONE
 * account, and the certificate is stored once under the number reserved at request time.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { USER_ZONE } from '../helpers/bind.ts';
import { cliJson, serve, waitFor, type Served } from '../e2e/helpers.ts';
import { addUserCname } from './user-dns.ts';
import { requestCertificate, SERVED_SKIP, showOrder, startIssuanceRig, type IssuanceRig } from './served.ts';
import type { CaRequestKind } from '../helpers/ca-proxy.ts';

describe('kill -9 mid-order, then resume', { skip: SERVED_SKIP }, () => {
  let rig: IssuanceRig;
  let running: Served | null = null;

  before(async () => {
    rig = await startIssuanceRig();
  });
  after(async () => {
    running?.signal('SIGKILL');
    await running?.exited;
    await rig?.stop();
  });

  it('finishes after four kills, with one order and one account at the CA', async () => {
    const env = rig.env();
    await cliJson(env, ['tenant', 'create', 'default']);
    const domain = `crash.${USER_ZONE}`;
    const order = await requestCertificate(env, 'crash', [domain, `www.crash.${USER_ZONE}`]);
    assert.equal(order.step, 'new');
    assert.ok(order.certificateNo !== null);
    for (const record of order.records) await addUserCname(rig.bind, record.name, record.value);

    /** Starts a process, waits until the CA proxy parked a `kind` request of it, kills it -9. */
    const killAt = async (kind: CaRequestKind, afterCa = false): Promise<() => void> => {
      const hold = rig.proxy.hold(kind, { afterCa });
      running = await serve(env);
      await hold.reached;
      running.signal('SIGKILL');
      await running.exited;
      running = null;
      return hold.release;
    };

    // 1. The CA created the order (its URL is on the row); killed while reading the authorizations.
    const releaseAuthz = await killAt('authorization');
    assert.equal(rig.proxy.count('newOrder'), 1);
    assert.equal((await showOrder(env, order.order)).step, 'ordered');
    // 2. Records published and CNAMEs found; killed while telling the CA the challenge is ready.
    releaseAuthz();
    const releaseChallenge = await killAt('challenge');
    assert.equal((await showOrder(env, order.order)).step, 'responding');
    // 3. Killed while polling the order.
    releaseChallenge();
    const releasePoll = await killAt('order');
    assert.equal((await showOrder(env, order.order)).step, 'polling');
    // 4. The CA took the CSR and issued; killed before its answer arrived.
    releasePoll();
    const releaseFinalize = await killAt('finalize', true);
    assert.equal((await showOrder(env, order.order)).step, 'finalizing');
    releaseFinalize();

    running = await serve(env);
    const done = await waitFor(
      'the order done after the last restart',
      async () => {
        const current = await showOrder(env, order.order);
        return current.step === 'done' || current.step === 'failed' ? current : undefined;
      },
      60_000,
      500,
    );
    assert.equal(done.step, 'done', `${done.lastError ?? ''} ${JSON.stringify(done.problem)}`);
    assert.equal(done.certificateNo, order.certificateNo);

    assert.equal(rig.pebbleOrders(), 1, 'Pebble created one order');
    assert.equal(rig.proxy.count('newOrder'), 1, 'certkeeper asked for one order');
    assert.equal(rig.pebbleAccounts(), 1, 'one ACME account: the key survived every kill');
    assert.equal(rig.proxy.count('finalize'), 1, 'the CA took the CSR once');
    assert.ok(
      rig.proxy.requests.some((r) => r.kind === 'finalize' && r.status === 403),
      `sent again after the lost answer, and refused as orderNotReady: ${JSON.stringify(
        rig.proxy.requests.filter((r) => r.kind === 'finalize' || r.kind === 'order').map((r) => [r.kind, r.status]),
      )}`,
    );
    const certificate = await cliJson<{
      certificateNo: number;
      chainLength: number;
      facts: { sans: { dns: string[] } };
    }>(env, ['cert', 'show', String(order.certificateNo)]);
    assert.deepEqual([...certificate.facts.sans.dns].sort(), [domain, `www.crash.${USER_ZONE}`].sort());
    assert.ok(certificate.chainLength >= 1);
    const list = await cliJson<{ items: Array<{ certificateNo: number }> }>(env, ['cert', 'list', '--all']);
    assert.equal(list.items.filter((c) => c.certificateNo === order.certificateNo).length, 1, 'stored once');
  });
});
