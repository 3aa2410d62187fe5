/**
 * The dcv zone going wrong, seen through a real `certkeeper serve` and the NCP face:
 * - a wrong CERTKEEPER_DCV_TSIG_KEY: the order stays ONGOING, retrying, with a clear message
 *   (BADSIG) on the order; neither the wrong nor the right secret is in any log line, CLI output
 *   or API answer; restarted with the right key, the order finishes by itself;
 * - a CNAME never created: with CERTKEEPER_DCV_WINDOW_SECONDS=3 the order ends
 *   VALIDATION_EXPIRE (NCP -4) a few seconds later, the record still shown as EXPIRED.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { USER_ZONE } from '../helpers/bind.ts';
import { cli, createDefaultAdmin, edgeCall, serve, waitFor, type Served } from '../e2e/helpers.ts';
import { addUserCname } from './user-dns.ts';
import { SERVED_SKIP, showOrder, startIssuanceRig, type IssuanceRig } from './served.ts';

const V2 = '/api/v2/certificate';

interface Verification {
  requestSn: number;
  certificateStatus: string;
  dnsVerificationList: Array<{ dnsRecordName: string; dnsRecordValue: string; validState: string; cnameCheck: string }>;
}

describe('dcv failures through serve and the NCP face', { skip: SERVED_SKIP }, () => {
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

  it('a wrong TSIG key retries without showing a secret; a missing CNAME expires in the window', async () => {
    const rightSecret = rig.bind.dcvKey.split(':')[2]!;
    const wrongSecret = Buffer.alloc(32, 11).toString('base64');
    const wrongEnv = rig.env({
      CERTKEEPER_DCV_TSIG_KEY: `hmac-sha256:dcv-key:${wrongSecret}`,
      CERTKEEPER_DCV_WINDOW_SECONDS: '3',
    });
    const credentials = await createDefaultAdmin(wrongEnv);
    const answers: string[] = [];
    const call = async (via: Served, method: string, path: string, body?: unknown, query?: Record<string, string>) => {
      const res = await edgeCall(via.baseUrl, credentials, method, path, body, query);
      answers.push(res.body.toString());
      assert.equal(res.status, 200, res.body.toString());
      return res.json as Record<string, unknown>;
    };
    const request = async (via: Served, name: string) => {
      const domain = `${name}.${USER_ZONE}`;
      const made = await call(via, 'POST', `${V2}/requestCertificateIssuance`, {
        certificateName: name,
        commonName: domain,
        dnsName: [domain],
        validationMethod: 'D',
      });
      return { certificateNo: made.certificateNo as number, domain };
    };
    const verification = async (via: Served, certificateNo: number, domain: string) =>
      (await call(via, 'GET', `${V2}/getVerificationInfo/${certificateNo}`, undefined, {
        domainAddress: domain,
      })) as unknown as Verification;

    running = await serve(wrongEnv);
    const served = running;
    const keyed = await request(served, 'tsig');
    const record = (await verification(served, keyed.certificateNo, keyed.domain)).dnsVerificationList[0]!;
    await addUserCname(rig.bind, record.dnsRecordName, record.dnsRecordValue);
    const requestSn = (await verification(served, keyed.certificateNo, keyed.domain)).requestSn;
    const waiting = await waitFor(
      'the publish step to fail once',
      async () => {
        const order = await showOrder(wrongEnv, requestSn);
        return order.lastError ? order : undefined;
      },
      30_000,
      300,
    );
    assert.equal(waiting.step, 'publishing');
    assert.match(waiting.lastError!, /BADSIG/);
    assert.equal((await verification(served, keyed.certificateNo, keyed.domain)).certificateStatus, 'ONGOING');
    await waitFor('the retry warning in the log', async () => (/will retry/.test(served.output()) ? true : undefined));
    const shown = await cli(wrongEnv, ['cert', 'order', 'show', String(requestSn)]);
    for (const text of [served.output(), shown.stdout, shown.stderr, JSON.stringify(waiting), ...answers]) {
      assert.ok(!text.includes(wrongSecret), 'the wrong secret is nowhere');
      assert.ok(!text.includes(rightSecret), 'the right secret is nowhere');
    }
    served.signal('SIGTERM');
    await served.exited;

    // The operator fixes the key and restarts: the waiting order finishes; a new one with no CNAME
    // ends VALIDATION_EXPIRE after the 3 s window.
    running = await serve(rig.env({ CERTKEEPER_DCV_WINDOW_SECONDS: '3' }));
    const fixed = running;
    const orphan = await request(fixed, 'nocname');
    const settled = async (certificateNo: number, domain: string) =>
      waitFor(
        `certificate ${certificateNo} to leave ONGOING`,
        async () => {
          const info = await verification(fixed, certificateNo, domain);
          return info.certificateStatus === 'ONGOING' ? undefined : info;
        },
        60_000,
        500,
      );
    assert.equal((await settled(keyed.certificateNo, keyed.domain)).certificateStatus, 'NORMAL');
    const expired = await settled(orphan.certificateNo, orphan.domain);
    assert.equal(expired.certificateStatus, 'VALIDATION_EXPIRE');
    assert.equal(expired.dnsVerificationList[0]!.validState, 'EXPIRED');
    assert.equal(expired.dnsVerificationList[0]!.cnameCheck, 'MISSING');
    const order = await showOrder(wrongEnv, expired.requestSn);
    assert.equal(order.step, 'validation_expired');
    assert.equal(rig.pebbleOrders(), 2, 'the expired order was ordered at the CA, and not retried');
    for (const text of [fixed.output(), ...answers]) assert.ok(!text.includes(rightSecret));
  });
});
