/**
 * Replacing a certificate republishes the edge slots that use it (an NCP v2 `withExternal`
 * with `certificateNo`, an NHN upload over an existing name, …): every face replaces through
 * `core.certificates.replace` or `upsertByName`, which this wraps. The worker then writes the new bytes over the
 * old ones atomically, so the target never holds no certificate. Should the process stop between
 * the replacement and the republish request, the worker's stale-certificate sweep finds the slot
 * (its published fingerprint differs from the stored certificate's) and republishes it anyway.
 */
import type { CertificateService } from '../certificates.ts';
import type { ProvisioningService } from '../provisioning.ts';

export function republishOnReplace(
  certificates: CertificateService,
  provisioning: Pick<ProvisioningService, 'certificateReplaced'>,
): CertificateService {
  return {
    ...certificates,
    async replace(actor, certificateNo, input, options) {
      const replaced = await certificates.replace(actor, certificateNo, input, options);
      // The replacement is committed: a failure to record the republish (store hiccup) must not
      // turn it into an error for the caller. The worker's sweep republishes those slots anyway.
      await provisioning.certificateReplaced(actor, certificateNo).catch(() => undefined);
      return replaced;
    },
    async upsertByName(actor, input, options) {
      const result = await certificates.upsertByName(actor, input, options);
      if (result.replaced) {
        await provisioning.certificateReplaced(actor, result.certificate.certificateNo).catch(() => undefined);
      }
      return result;
    },
  };
}
