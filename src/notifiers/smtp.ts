/**
 * E-mail over SMTP with nodemailer: STARTTLS required (`starttls`, port 587 by default) or TLS from
 * the first byte (`tls`, 465); the server's certificate is verified against the host name the
 * tenant gave; AUTH when a user name is set. The host is resolved once and checked by the
 * address rule (guard.ts), then connected to by address with the name kept for TLS verification.
 * One message per delivery: a plain-text and an HTML part, `Message-ID` from the delivery, so a
 * retry of a delivery the server did accept carries the same id.
 */
import { createRequire } from 'node:module';
import type Nodemailer from 'nodemailer';
import type { ChannelConfig, ChannelSecrets } from '../core/notifications/model.ts';
import { DeliveryError, type OutgoingNotification, type SendOutcome } from '../core/notifications/ports.ts';
import { resolveChecked } from './guard.ts';
import { htmlOf, subjectOf, textOf } from './render.ts';

/**
 * nodemailer, loaded on the first e-mail. Not an ESM import: a CommonJS package imported from ESM
 * gets its `require('http')` through the ESM loader, which builds node:http's ESM facade and so
 * loads Node's bundled undici (root-handlers.ts): 44 ms more of every start-up here, for a server
 * that may never send mail; and nodemailer itself is 120 ms of loading.
 */
let nodemailer: typeof Nodemailer | undefined;
const loadNodemailer = (): typeof Nodemailer =>
  (nodemailer ??= createRequire(import.meta.url)('nodemailer') as typeof Nodemailer);

type EmailConfig = Extract<ChannelConfig, { kind: 'email' }>;
type EmailSecrets = Extract<ChannelSecrets, { kind: 'email' }>;

export async function sendMail(
  config: EmailConfig,
  secrets: EmailSecrets,
  notification: OutgoingNotification,
  options: { signal: AbortSignal; timeoutMs: number; allowPrivate: boolean; ca?: string[] },
): Promise<SendOutcome> {
  const address = await resolveChecked(config.host, options.allowPrivate);
  const transport = loadNodemailer().createTransport({
    host: address,
    port: config.port,
    secure: config.security === 'tls',
    requireTLS: config.security === 'starttls',
    ...(config.username !== null && secrets.password !== null
      ? { auth: { user: config.username, pass: secrets.password } }
      : {}),
    tls: { servername: config.host, rejectUnauthorized: true, ...(options.ca ? { ca: options.ca } : {}) },
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
  });
  let timer: NodeJS.Timeout | undefined;
  let onAbort = (): void => undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new DeliveryError(
            `The SMTP server ${config.host}:${config.port} gave no answer within ${options.timeoutMs / 1000} s.`,
          ),
        ),
      options.timeoutMs,
    );
    onAbort = () => reject(new DeliveryError('certkeeper is stopping.'));
    options.signal.addEventListener('abort', onAbort, { once: true });
  });
  // Settled or not, nobody waits on it after the race.
  stop.catch(() => undefined);
  const domain = config.from.slice(config.from.lastIndexOf('@') + 1);
  try {
    const info = await Promise.race([
      transport.sendMail({
        from: config.from,
        to: config.to,
        subject: subjectOf(notification.payload),
        text: textOf(notification.payload),
        html: htmlOf(notification.payload),
        messageId: `<certkeeper.${notification.deliveryId}.${notification.payload.id.replace(/[^A-Za-z0-9.-]/g, '.')}@${domain}>`,
        headers: { 'X-Certkeeper-Event': notification.payload.type },
      }),
      stop,
    ]);
    const code = /^(\d{3})/.exec(String(info.response ?? ''));
    return { statusCode: code ? Number(code[1]) : null };
  } catch (error) {
    if (error instanceof DeliveryError) throw error;
    const e = error as { responseCode?: number; code?: string; response?: string; message?: string };
    const detail = e.response ? e.response.replace(/\s+/g, ' ').slice(0, 200) : (e.code ?? 'error');
    throw new DeliveryError(
      `The SMTP server ${config.host}:${config.port} refused the message (${detail}).`,
      typeof e.responseCode === 'number' ? e.responseCode : null,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', onAbort);
    transport.close();
  }
}
