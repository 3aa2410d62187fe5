/**
 * External Account Binding end to end, with Debian's example Pebble configuration
 * (/usr/share/doc/pebble/examples/pebble-config-external-account-bindings.json:
 * `externalAccountBindingRequired` and its `externalAccountMACKeys`): a real `certkeeper serve`
 * with CERTKEEPER_ACME_EAB_KID / CERTKEEPER_ACME_EAB_HMAC_KEY, certificates requested through the
 * NCP face. A wrong HMAC key leaves the order failed with the CA's problem, shown by the face
 * with a 200 (never a 5xx), and the key is in no answer and no log line; with the right key the
 * same account key is bound and the certificate issued.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { USER_ZONE } from '../helpers/bind.ts';
import { createDefaultAdmin, edgeCall, serve, waitFor, type Served } from '../e2e/helpers.ts';
import { addUserCname } from './user-dns.ts';
import { SERVED_SKIP, startIssuanceRig, type IssuanceRig, showOrder } from './served.ts';

const EXAMPLE = '/usr/share/doc/pebble/examples/pebble-config-external-account-bindings.json';
const V2 = '/api/v2/certificate';

interface Verification {
  returnCode: string;
  requestSn: number;
  certificateStatus: string;
  dnsVerificationList: Array<{ dnsRecordName: string; dnsRecordValue: string }>;
}

describe('External Account Binding (Debian example config)', { skip: SERVED_SKIP }, () => {
  let rig: IssuanceRig;
  let running: Served | null = null;
  const example = (
    JSON.parse(readFileSync(EXAMPLE, 'utf8')) as {
      pebble: { externalAccountBindingRequired: boolean; externalAccountMACKeys: Record<string, string> };
    }
  ).pebble;

  before(async () => {
    assert.equal(example.externalAccountBindingRequired, true);
    rig = await startIssuanceRig({ pebble: { externalAccountMACKeys: example.externalAccountMACKeys } });
  });
  after(async () => {
    running?.signal('SIGKILL');
    await running?.exited;
    await rig?.stop();
  });

  it('a wrong HMAC key fails the order with the CA problem; the right one issues', async () => {
    const kid = 'kid-1';
    const rightKey = example.externalAccountMACKeys[kid]!;
    const wrongKey = example.externalAccountMACKeys['kid-2']!;
    const base = rig.env();
    const credentials = await createDefaultAdmin(base);

    const request = async (via: Served, name: string): Promise<{ certificateNo: number; domain: string }> => {
      const domain = `${name}.${USER_ZONE}`;
      const res = await edgeCall(via.baseUrl, credentials, 'POST', `${V2}/requestCertificateIssuance`, {
        certificateName: name,
        commonName: domain,
        dnsName: [domain],
        validationMethod: 'D',
      });
      assert.equal(res.status, 200, res.body.toString());
      const certificateNo = (res.json as { certificateNo: number }).certificateNo;
      const info = await verification(via, certificateNo, domain);
      const record = info.dnsVerificationList[0]!;
      await addUserCname(rig.bind, record.dnsRecordName, record.dnsRecordValue);
      return { certificateNo, domain };
    };
    const verification = async (via: Served, certificateNo: number, domain: string): Promise<Verification> => {
      const res = await edgeCall(
        via.baseUrl,
        credentials,
        'GET',
        `${V2}/getVerificationInfo/${certificateNo}`,
        undefined,
        {
          domainAddress: domain,
        },
      );
      assert.equal(res.status, 200, res.body.toString());
      return res.json as Verification;
    };
    const settled = (via: Served, certificateNo: number, domain: string) =>
      waitFor(
        `certificate ${certificateNo} to leave ONGOING`,
        async () => {
          const info = await verification(via, certificateNo, domain);
          return info.certificateStatus === 'ONGOING' ? undefined : info;
        },
        60_000,
        500,
      );

    // The wrong key (kid-2's HMAC for kid-1).
    const wrong = rig.env({ CERTKEEPER_ACME_EAB_KID: kid, CERTKEEPER_ACME_EAB_HMAC_KEY: wrongKey });
    running = await serve(wrong);
    const first = await request(running, 'eab-wrong');
    const failed = await settled(running, first.certificateNo, first.domain);
    assert.equal(failed.certificateStatus, 'FAILED');
    const order = await showOrder(wrong, failed.requestSn);
    assert.equal(order.step, 'failed');
    assert.match(order.problem?.type ?? '', /^urn:ietf:params:acme:error:/, JSON.stringify(order));
    assert.match(order.lastError ?? '', /external account|EAB|binding|HMAC|signature/i);
    assert.equal(rig.proxy.count('newOrder'), 0, 'no order at the CA without an account');
    assert.equal(rig.pebbleAccounts(), 0);
    const log = running.output();
    assert.ok(!log.includes(wrongKey) && !log.includes(rightKey), 'no HMAC key in the log');
    assert.ok(!JSON.stringify(order).includes(wrongKey));
    running.signal('SIGTERM');
    await running.exited;
    running = null;

    // The operator fixes the key: the stored account key is bound and a new request issues.
    running = await serve(rig.env({ CERTKEEPER_ACME_EAB_KID: kid, CERTKEEPER_ACME_EAB_HMAC_KEY: rightKey }));
    const second = await request(running, 'eab-right');
    const issued = await settled(running, second.certificateNo, second.domain);
    assert.equal(issued.certificateStatus, 'NORMAL', JSON.stringify(await showOrder(base, issued.requestSn)));
    assert.equal(rig.pebbleAccounts(), 1);
    assert.equal(rig.proxy.count('newOrder'), 1);
    const account = rig.proxy.requests.find((r) => r.kind === 'newAccount' && r.payload?.externalAccountBinding);
    assert.ok(account, 'the account request carried externalAccountBinding');
    assert.ok(!running.output().includes(rightKey), 'no HMAC key in the log');
  });
});
