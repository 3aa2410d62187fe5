/** `CERTKEEPER_ISSUANCE_LEASE_SECONDS`, `CERTKEEPER_ISSUANCE_POLL_MS`, `CERTKEEPER_DCV_WINDOW_SECONDS`. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { issuanceWorkerSettings } from '../../src/app/issuance-worker-settings.ts';

describe('issuance worker settings', () => {
  it('defaults when unset or empty', () => {
    const expected = { leaseMs: 60_000, pollMs: 1000, cnameWindowMs: 72 * 3_600_000 };
    assert.deepEqual(issuanceWorkerSettings({}), expected);
    assert.deepEqual(
      issuanceWorkerSettings({
        CERTKEEPER_ISSUANCE_LEASE_SECONDS: '',
        CERTKEEPER_ISSUANCE_POLL_MS: '',
        CERTKEEPER_DCV_WINDOW_SECONDS: '',
      }),
      expected,
    );
  });

  it('reads each variable in its unit', () => {
    assert.deepEqual(
      issuanceWorkerSettings({
        CERTKEEPER_ISSUANCE_LEASE_SECONDS: '2',
        CERTKEEPER_ISSUANCE_POLL_MS: '50',
        CERTKEEPER_DCV_WINDOW_SECONDS: '3',
      }),
      { leaseMs: 2000, pollMs: 50, cnameWindowMs: 3000 },
    );
  });

  for (const [name, value] of [
    ['CERTKEEPER_ISSUANCE_LEASE_SECONDS', '1'],
    ['CERTKEEPER_ISSUANCE_LEASE_SECONDS', '3601'],
    ['CERTKEEPER_ISSUANCE_POLL_MS', '10'],
    ['CERTKEEPER_DCV_WINDOW_SECONDS', '0'],
    ['CERTKEEPER_DCV_WINDOW_SECONDS', '2h'],
    ['CERTKEEPER_DCV_WINDOW_SECONDS', '-5'],
  ] as const) {
    it(`stops the start on ${name}=${value}, naming the variable`, () => {
      assert.throws(() => issuanceWorkerSettings({ [name]: value }), {
        name: 'ConfigError',
        message: new RegExp(`^${name} must be an integer from \\d+ to \\d+`),
      });
    });
  }
});
