/**
 * The `webhook` target: one POST per publish or removal to the configured URL, JSON body,
 * signed so the receiver knows it comes from certkeeper and is fresh:
 *
 *   x-certkeeper-event:      slot.publish | slot.delete
 *   x-certkeeper-delivery:   <slotId>-<generation>   (the same for every retry of one change)
 *   x-certkeeper-timestamp:  milliseconds since the epoch (certkeeper's clock)
 *   x-certkeeper-signature:  v1=<hex HMAC-SHA256(key = secret (UTF-8), data = timestamp + "." + body)>
 *
 * Any 2xx is success. Redirects are not followed (a 3xx is a failure: the bundle holds a private
 * key and goes only where the operator said). Each request times out after `timeoutMs`; the
 * worker retries failures with exponential backoff (domain/edge-slot.ts `retryDelayMs`).
 * docs/compat/edge.md documents the body and shows how to verify the signature.
 */
import { deployTargetIdentity, type DeployTargetSpec } from '../domain/deploy-target.ts';
import { TLS_PROTOCOLS } from '../domain/edge-slot.ts';
import type { Clock } from '../core/ports.ts';
import { fullChainOf, type DeployBundle, type Deployer } from '../core/deploy/deployer.ts';

// The signing rule is the domain's, shared with the notification webhooks.
import {
  DELIVERY_HEADER,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  webhookSignature,
} from '../domain/webhook-signature.ts';

type WebhookSpec = Extract<DeployTargetSpec, { kind: 'webhook' }>;

export function publishPayload(bundle: DeployBundle) {
  return {
    event: 'slot.publish',
    slotId: bundle.slotId,
    generation: bundle.generation,
    serviceRegion: bundle.serviceRegion,
    tlsVersion: bundle.tlsVersion,
    tlsProtocols: TLS_PROTOCOLS[bundle.tlsVersion],
    cipherProfile: bundle.cipherProfile,
    certificateNo: bundle.certificateNo,
    certificateName: bundle.certificateName,
    commonName: bundle.commonName,
    domains: bundle.domains,
    notBefore: bundle.notBefore.toISOString(),
    notAfter: bundle.notAfter.toISOString(),
    fingerprintSha256: bundle.fingerprintSha256,
    certificate: bundle.certificatePem,
    chain: bundle.chainPems.join(''),
    fullchain: fullChainOf(bundle),
    privkey: bundle.privateKeyPem,
    // A KR_JP_GLOBAL slot's Global Edge Dedicated certificates (empty for KR_JP), each with its key.
    globalCertificates: bundle.globalCertificates.map((global) => ({
      itemId: global.itemId,
      certificateNo: global.certificateNo,
      certificateName: global.certificateName,
      commonName: global.commonName,
      domains: global.domains,
      notBefore: global.notBefore.toISOString(),
      notAfter: global.notAfter.toISOString(),
      fingerprintSha256: global.fingerprintSha256,
      certificate: global.certificatePem,
      chain: global.chainPems.join(''),
      fullchain: fullChainOf(global),
      privkey: global.privateKeyPem,
    })),
  };
}

export function webhookDeployer(
  spec: WebhookSpec,
  secret: string,
  deps: { clock: Clock; fetch: typeof fetch; timeoutMs: number },
): Deployer {
  // Errors name the webhook by its host only: they reach the slot's lastError, the log and the
  // deployment events, and the URL's path or query may carry a token.
  const shownAs = `The webhook at ${(deployTargetIdentity(spec) as { host: string }).host}`;
  async function send(event: string, delivery: string, payload: unknown, signal: AbortSignal): Promise<void> {
    const body = JSON.stringify(payload);
    const timestamp = String(deps.clock.now().getTime());
    let response: Response;
    try {
      response = await deps.fetch(spec.url, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'certkeeper-edge',
          [EVENT_HEADER]: event,
          [DELIVERY_HEADER]: delivery,
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: webhookSignature(secret, timestamp, body),
        },
        body,
        signal: AbortSignal.any([signal, AbortSignal.timeout(deps.timeoutMs)]),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new Error(
        `${shownAs} could not be reached (${cause === 'TimeoutError' ? `no answer within ${deps.timeoutMs / 1000} s` : cause}).`,
        { cause: error },
      );
    }
    // Drain the body so the connection can be reused; its text is not trusted further than a hint.
    const text = (await response.text().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 200);
    if (response.status < 200 || response.status > 299) {
      throw new Error(`${shownAs} answered HTTP ${response.status}${text ? `: ${text}` : ''}.`);
    }
  }

  return {
    publish: (bundle, signal) =>
      send('slot.publish', `${bundle.slotId}-${bundle.generation}`, publishPayload(bundle), signal),
    remove: (slot, signal) =>
      send(
        'slot.delete',
        `${slot.slotId}-${slot.generation}`,
        { event: 'slot.delete', slotId: slot.slotId, generation: slot.generation },
        signal,
      ),
  };
}
