/**
 * `certkeeper cert reissue|register-key|revoke|renewal`: what happens to a certificate issued here
 * after it was issued (core's issuance service; register-key is the certificate service's).
 *
 *   cert reissue [--tenant NAME] NUMBER --csr FILE [--domain D ...]
 *       orders it again for the CSR's key (the names it was issued for unless --domain is given;
 *       the CSR must name exactly those); it lands without a key until register-key
 *   cert register-key [--tenant NAME] NUMBER --key FILE    the key of a certificate that has none
 *   cert revoke [--tenant NAME] NUMBER --reason R          revoking until the CA confirms
 *   cert renewal [--tenant NAME] NUMBER on|off             automatic renewal
 */
import { cliActor } from '../core/actor.ts';
import { REVOCATION_REASON_NAMES, revocationReason } from '../core/issuance/revocation.ts';
import type { App } from '../app/app.ts';
import type { Tenant } from '../domain/model.ts';
import { keyValues } from './output.ts';

export const CERT_LIFECYCLE_VERBS = ['reissue', 'register-key', 'revoke', 'renewal'] as const;
export type CertLifecycleVerb = (typeof CERT_LIFECYCLE_VERBS)[number];

export interface CertLifecycleFlags {
  csr?: string | undefined;
  key?: string | boolean | undefined;
  reason?: string | undefined;
  domain?: string | string[] | undefined;
}

type Out = (value: unknown, human: string) => void;

/** What the command needs from run.ts: its usage error, file reading and number parsing. */
export interface CliTools {
  usage(message: string): Error;
  readText(path: string, field: string): Promise<string>;
  certificateNumber(text: string | undefined): number;
}

export async function runCertLifecycleCommand(
  app: App,
  tenant: Tenant,
  verb: CertLifecycleVerb,
  args: readonly string[],
  flags: CertLifecycleFlags,
  out: Out,
  tools: CliTools,
): Promise<void> {
  const actor = cliActor(tenant.id);
  const certificateNo = tools.certificateNumber(args[0]);
  switch (verb) {
    case 'reissue': {
      if (flags.csr === undefined) throw tools.usage('cert reissue NUMBER --csr FILE');
      const domains = flags.domain === undefined ? undefined : [flags.domain].flat();
      const order = await app.issuance.reissue(actor, certificateNo, {
        csr: await tools.readText(flags.csr, 'csr'),
        ...(domains ? { domains } : {}),
      });
      const shown = { order: order.orderId, kind: order.kind, certificateNo, domains: order.names, step: order.step };
      out(
        shown,
        `${keyValues({ ...shown, domains: order.names.join(', ') })}The certificate lands without a key: give it with 'certkeeper cert register-key ${certificateNo} --key FILE'.\n`,
      );
      return;
    }
    case 'register-key': {
      if (typeof flags.key !== 'string') throw tools.usage('cert register-key NUMBER --key FILE');
      const certificate = await app.core.certificates.registerKey(
        actor,
        certificateNo,
        await tools.readText(flags.key, 'privateKey'),
      );
      const shown = { certificateNo, name: certificate.name, hasPrivateKey: certificate.hasPrivateKey };
      out(shown, `Registered the private key of certificate ${certificateNo} (${certificate.name}).\n`);
      return;
    }
    case 'revoke': {
      if (flags.reason === undefined)
        throw tools.usage(`cert revoke NUMBER --reason ${REVOCATION_REASON_NAMES.join('|')}`);
      const order = await app.issuance.revoke(actor, { certificateNo, reason: revocationReason(flags.reason) });
      const shown = { order: order.orderId, certificateNo, reason: flags.reason, step: order.step };
      out(
        shown,
        `${keyValues(shown)}Revoking: the server's issuance worker asks the CA ('cert order show ${order.orderId}').\n`,
      );
      return;
    }
    case 'renewal': {
      const state = args[1];
      if (state !== 'on' && state !== 'off') throw tools.usage('cert renewal NUMBER on|off');
      await app.issuance.setRenewal(actor, certificateNo, state === 'on');
      out(
        { certificateNo, renewal: state === 'on' },
        `Automatic renewal of certificate ${certificateNo} is ${state}.\n`,
      );
      return;
    }
  }
}
