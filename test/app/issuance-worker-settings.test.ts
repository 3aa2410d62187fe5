/**
 * `CERTKEEPER_ISSUANCE_LEASE_SECONDS`, `CERTKEEPER_ISSUANCE_POLL_MS`,
 * `CERTKEEPER_ISSUANCE_BUSY_STEP_MS`. (The validation window is the
 * issuance configuration's: test/config/config.test.ts.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { issuanceWorkerSettings } from '../../src/app/issuance-worker-settings.ts';

describe('issuance worker settings', () => {
  it('defaults when unset or empty', () => {
    const expected = { leaseMs: 60_000, pollMs: 1000, busyStepGapMs: 250 };
    assert.deepEqual(issuanceWorkerSettings({}), expected);
    assert.deepEqual(
      issuanceWorkerSettings({
        CERTKEEPER_ISSUANCE_LEASE_SECONDS: '',
        CERTKEEPER_ISSUANCE_POLL_MS: '',
        CERTKEEPER_ISSUANCE_BUSY_STEP_MS: '',
      }),
      expected,
    );
  });

  it('reads each variable in its unit', () => {
    assert.deepEqual(
      issuanceWorkerSettings({
        CERTKEEPER_ISSUANCE_LEASE_SECONDS: '2',
        CERTKEEPER_ISSUANCE_POLL_MS: '50',
        CERTKEEPER_ISSUANCE_BUSY_STEP_MS: '0',
      }),
      { leaseMs: 2000, pollMs: 50, busyStepGapMs: 0 },
    );
  });

  for (const [name, value] of [
    ['CERTKEEPER_ISSUANCE_LEASE_SECONDS', '1'],
    ['CERTKEEPER_ISSUANCE_LEASE_SECONDS', '3601'],
    ['CERTKEEPER_ISSUANCE_POLL_MS', '10'],
    ['CERTKEEPER_ISSUANCE_BUSY_STEP_MS', '-1'],
    ['CERTKEEPER_ISSUANCE_BUSY_STEP_MS', '60001'],
  ] as const) {
    it(`stops the start on ${name}=${value}, naming the variable`, () => {
      assert.throws(() => issuanceWorkerSettings({ [name]: value }), {
        name: 'ConfigError',
        message: new RegExp(`^${name} must be an integer from \\d+ to \\d+`),
      });
    });
  }
});
