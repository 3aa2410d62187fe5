/**
 * The ACME client (RFC 8555, with RFC 9773 renewal information): the `Issuer` port over HTTP.
 *
 * Contract:
 * - Stateless between calls apart from two caches that change no result: the directory (fetched
 *   on first use; a failed fetch is not cached) and a pool of unused nonces from `Replay-Nonce`.
 *   Every call takes the account URL and key, and the resource URL, from its arguments. With
 *   `maxRequestsPerSecond`, each request waits for its slot (evenly spaced) before it is sent.
 * - Requests to account resources are JWS-signed POSTs (POST-as-GET with an empty payload for
 *   reads, RFC 8555 6.3). A `badNonce` answer is retried with the nonce it carried, up to
 *   `badNonceRetries` times (RFC 8555 6.5); each retry is reported as a `bad_nonce_retry` event.
 * - Answers map to `IssuerError` in one place (`failure()`): a problem document becomes `problem`
 *   (retryable for 5xx, 429, `rateLimited`, `serverInternal`, exhausted `badNonce`); a non-problem
 *   error answer or a 2xx that is not what RFC 8555 describes becomes `bad_response` (retryable
 *   except for 4xx other than 408/429, which say the URL or request is wrong, not that the CA is
 *   unwell). `retryAfter` comes from `Retry-After` whenever the CA sent one.
 * - Messages name the step, the URL, the HTTP status and the CA's problem type and detail; never
 *   a key, a MAC key, a JWS or a nonce.
 * - Agreeing to the CA's terms of service (`termsOfServiceAgreed: true`) is implied by an operator
 *   configuring the CA; `directory().termsOfService` says where they are.
 */
import { createHash } from 'node:crypto';
import { X509Certificate } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  IssuerError,
  type AccountKeyAlgorithm,
  type AccountRef,
  type AccountRequest,
  type AcmeAccount,
  type AcmeAuthorization,
  type AcmeChallenge,
  type AcmeIdentifier,
  type AcmeOrder,
  type CertificateKeyKind,
  type ChallengeResponse,
  type DirectoryInfo,
  type DownloadedCertificate,
  type Issuer,
  type IssuerEvent,
  type NewOrderRequest,
  type ProblemDocument,
  type RenewalInfo,
  type RevocationReason,
} from '../core/issuance/issuer.ts';
import { ariCertId } from './ari.ts';
import { createCsr } from './csr.ts';
import {
  accountKey,
  b64u,
  eabMacKey,
  externalAccountBinding,
  generateAccountKey,
  generateCertificateKey,
  signJws,
  type AccountKey,
} from './keys.ts';
import { Transport, links, retryAfterSeconds, type HttpAnswer, type TransportOptions } from './transport.ts';

export interface AcmeIssuerOptions extends TransportOptions {
  readonly directoryUrl: string;
  /** How many times one request is re-sent after `badNonce`. Default 5. */
  readonly badNonceRetries?: number;
  /** Observer for logs and metrics (URLs and statuses only). */
  readonly onEvent?: (event: IssuerEvent) => void;
  /**
   * At most this many requests per second to the CA, spaced evenly (no bursts); 0 or absent: no
   * cap. Keeps a large backlog of orders from taking the event loop the API answers on, and
   * within what public CAs allow (Let's Encrypt: 20 per second per endpoint).
   */
  readonly maxRequestsPerSecond?: number;
}

interface Directory {
  readonly newNonce: string;
  readonly newAccount: string;
  readonly newOrder: string;
  readonly revokeCert: string;
  readonly renewalInfo?: string;
  readonly info: DirectoryInfo;
}

const ERROR_NS = 'urn:ietf:params:acme:error:';
const RETRYABLE_PROBLEMS = new Set([`${ERROR_NS}rateLimited`, `${ERROR_NS}serverInternal`, `${ERROR_NS}badNonce`]);
const NONCE_POOL_MAX = 32;
const ORDER_STATUSES = new Set(['pending', 'ready', 'processing', 'valid', 'invalid']);
const AUTHZ_STATUSES = new Set(['pending', 'valid', 'invalid', 'deactivated', 'expired', 'revoked']);
const CHALLENGE_STATUSES = new Set(['pending', 'processing', 'valid', 'invalid']);
const ACCOUNT_STATUSES = new Set(['valid', 'deactivated', 'revoked']);
const REASONS = new Set([0, 1, 2, 3, 4, 5, 6, 8, 9, 10]);

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((v) => typeof v === 'string');
const header = (answer: HttpAnswer, name: string): string | undefined => {
  const value = answer.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** A problem document from parsed JSON, or undefined when it is not one. Text is kept as sent, bounded. */
function problemOf(value: unknown): ProblemDocument | undefined {
  if (!isObject(value)) return undefined;
  if (value.type !== undefined && typeof value.type !== 'string') return undefined;
  if (value.type === undefined && typeof value.detail !== 'string') return undefined;
  const identifier = identifierOf(value.identifier);
  const subproblems = Array.isArray(value.subproblems)
    ? value.subproblems.map(problemOf).filter((p): p is ProblemDocument => p !== undefined)
    : undefined;
  return {
    type: typeof value.type === 'string' ? value.type : 'about:blank',
    ...(typeof value.detail === 'string' ? { detail: value.detail.slice(0, 2000) } : {}),
    ...(typeof value.status === 'number' ? { status: value.status } : {}),
    ...(identifier ? { identifier } : {}),
    ...(subproblems && subproblems.length > 0 ? { subproblems } : {}),
  };
}

function identifierOf(value: unknown): AcmeIdentifier | undefined {
  if (!isObject(value) || typeof value.value !== 'string') return undefined;
  if (value.type !== 'dns' && value.type !== 'ip') return undefined;
  return { type: value.type, value: value.value };
}

export class AcmeIssuer implements Issuer {
  private readonly transport: Transport;
  private readonly directoryUrl: string;
  private readonly badNonceRetries: number;
  private readonly onEvent: (event: IssuerEvent) => void;
  private directoryPromise: Promise<Directory> | undefined;
  private readonly nonces: string[] = [];
  private readonly requestGapMs: number;
  /** When the next request may go (performance.now() time), with maxRequestsPerSecond. */
  private nextRequestAt = 0;

  constructor(options: AcmeIssuerOptions) {
    this.transport = new Transport(options);
    this.directoryUrl = options.directoryUrl;
    this.badNonceRetries = options.badNonceRetries ?? 5;
    this.onEvent = options.onEvent ?? (() => {});
    const rate = options.maxRequestsPerSecond ?? 0;
    this.requestGapMs = rate > 0 ? 1000 / rate : 0;
  }

  /** Closes idle connections. */
  close(): void {
    this.transport.close();
  }

  // ---- pure helpers of the port -------------------------------------------------------------

  generateAccountKey(alg?: AccountKeyAlgorithm): Promise<string> {
    return generateAccountKey(alg);
  }

  generateCertificateKey(kind?: CertificateKeyKind): Promise<string> {
    return generateCertificateKey(kind);
  }

  createCsr(keyPem: string, names: readonly string[]): Buffer {
    return createCsr(keyPem, names);
  }

  renewalCertId(certificatePem: string): string {
    return ariCertId(certificatePem);
  }

  challengeResponse(
    accountKeyPem: string,
    authorization: Pick<AcmeAuthorization, 'identifier'>,
    challenge: Pick<AcmeChallenge, 'token'>,
  ): ChallengeResponse {
    if (!/^[A-Za-z0-9_-]+$/.test(challenge.token)) {
      throw new IssuerError('invalid_input', 'challenge token is not base64url text', { retryable: false });
    }
    const keyAuthorization = `${challenge.token}.${accountKey(accountKeyPem).thumbprint}`;
    return {
      keyAuthorization,
      dns01TxtValue: createHash('sha256').update(keyAuthorization, 'ascii').digest('base64url'),
      dns01Name: `_acme-challenge.${authorization.identifier.value.replace(/^\*\./, '')}`,
      http01Path: `/.well-known/acme-challenge/${challenge.token}`,
      http01Body: keyAuthorization,
    };
  }

  // ---- directory and nonces -----------------------------------------------------------------

  async directory(): Promise<DirectoryInfo> {
    return (await this.loadDirectory()).info;
  }

  private loadDirectory(): Promise<Directory> {
    if (!this.directoryPromise) {
      const pending = this.fetchDirectory();
      this.directoryPromise = pending;
      pending.catch(() => {
        if (this.directoryPromise === pending) this.directoryPromise = undefined;
      });
    }
    return this.directoryPromise;
  }

  private async fetchDirectory(): Promise<Directory> {
    const answer = await this.send('GET', this.directoryUrl);
    const body = this.json('directory', answer);
    const url = (name: string): string => {
      const value = body[name];
      if (typeof value !== 'string') throw this.garbage('directory', answer, `no "${name}" URL`);
      return value;
    };
    const meta = isObject(body.meta) ? body.meta : {};
    const renewalInfo = typeof body.renewalInfo === 'string' ? body.renewalInfo : undefined;
    return {
      newNonce: url('newNonce'),
      newAccount: url('newAccount'),
      newOrder: url('newOrder'),
      revokeCert: url('revokeCert'),
      ...(renewalInfo ? { renewalInfo } : {}),
      info: {
        ari: renewalInfo !== undefined,
        ...(typeof meta.termsOfService === 'string' ? { termsOfService: meta.termsOfService } : {}),
        ...(typeof meta.website === 'string' ? { website: meta.website } : {}),
        caaIdentities: isStringArray(meta.caaIdentities) ? meta.caaIdentities : [],
        externalAccountRequired: meta.externalAccountRequired === true,
      },
    };
  }

  private keepNonce(answer: HttpAnswer): void {
    const nonce = header(answer, 'replay-nonce');
    if (nonce && /^[A-Za-z0-9_-]+$/.test(nonce)) {
      this.nonces.push(nonce);
      if (this.nonces.length > NONCE_POOL_MAX) this.nonces.shift();
    }
  }

  private async nonce(directory: Directory): Promise<string> {
    const pooled = this.nonces.pop();
    if (pooled) return pooled;
    const answer = await this.send('HEAD', directory.newNonce);
    if (answer.status >= 400) throw this.failure('new nonce', answer);
    const nonce = this.nonces.pop();
    if (!nonce) throw this.garbage('new nonce', answer, 'no Replay-Nonce header');
    return nonce;
  }

  // ---- requests -----------------------------------------------------------------------------

  private async send(
    method: 'GET' | 'HEAD' | 'POST',
    url: string,
    options?: { body?: string; accept?: string },
  ): Promise<HttpAnswer> {
    if (this.requestGapMs > 0) {
      const now = performance.now();
      const at = Math.max(now, this.nextRequestAt);
      this.nextRequestAt = at + this.requestGapMs;
      if (at > now) await sleep(at - now);
    }
    const answer = await this.transport.request(method, url, options);
    this.keepNonce(answer);
    this.onEvent({ type: 'request', method, url, status: answer.status });
    return answer;
  }

  /**
   * A signed POST (`payload` undefined: POST-as-GET), re-sent on `badNonce`. `kid` null sends the
   * JWK instead (newAccount). Resolves with a 2xx answer; every other answer is thrown as failure().
   */
  private async post(
    step: string,
    key: AccountKey,
    kid: string | null,
    url: string,
    payload: unknown,
    accept?: string,
  ): Promise<HttpAnswer> {
    const directory = await this.loadDirectory();
    for (let attempt = 0; ; attempt += 1) {
      const jws = signJws(key, { url, nonce: await this.nonce(directory), kid }, payload);
      const answer = await this.send('POST', url, { body: JSON.stringify(jws), ...(accept ? { accept } : {}) });
      if (answer.status < 300) return answer;
      if (attempt < this.badNonceRetries && this.problemType(answer) === `${ERROR_NS}badNonce`) {
        this.onEvent({ type: 'bad_nonce_retry', url, attempt: attempt + 1 });
        continue;
      }
      throw this.failure(step, answer);
    }
  }

  private problemType(answer: HttpAnswer): string | undefined {
    try {
      return problemOf(JSON.parse(answer.body.toString('utf8')))?.type;
    } catch {
      return undefined;
    }
  }

  /** The IssuerError of an error answer (status >= 300). The one place that decides retryability. */
  private failure(step: string, answer: HttpAnswer): IssuerError {
    const retryAfter = retryAfterSeconds(answer.headers['retry-after']);
    const common = { httpStatus: answer.status, url: answer.url, ...(retryAfter === undefined ? {} : { retryAfter }) };
    let problem: ProblemDocument | undefined;
    try {
      problem = problemOf(JSON.parse(answer.body.toString('utf8')));
    } catch {
      problem = undefined;
    }
    if (problem) {
      const retryable = answer.status >= 500 || answer.status === 429 || RETRYABLE_PROBLEMS.has(problem.type);
      const type = problem.type.startsWith(ERROR_NS) ? problem.type.slice(ERROR_NS.length) : problem.type;
      const detail = problem.detail ? `: ${problem.detail}` : '';
      return new IssuerError('problem', `${step}: ${type} (HTTP ${answer.status})${detail}`, {
        ...common,
        problem,
        retryable,
      });
    }
    const retryable = answer.status >= 500 || answer.status === 429 || answer.status === 408 || answer.status < 400;
    return new IssuerError(
      'bad_response',
      `${step}: HTTP ${answer.status} from ${answer.url} without a problem document`,
      {
        ...common,
        retryable,
      },
    );
  }

  /** A 2xx answer that is not what RFC 8555 describes: the CA is unwell, so retryable. */
  private garbage(step: string, answer: HttpAnswer, what: string): IssuerError {
    const retryAfter = retryAfterSeconds(answer.headers['retry-after']);
    return new IssuerError('bad_response', `${step}: unexpected answer from ${answer.url}: ${what}`, {
      httpStatus: answer.status,
      url: answer.url,
      retryable: true,
      ...(retryAfter === undefined ? {} : { retryAfter }),
    });
  }

  private json(step: string, answer: HttpAnswer): Json {
    if (answer.status >= 300) throw this.failure(step, answer);
    let value: unknown;
    try {
      value = JSON.parse(answer.body.toString('utf8'));
    } catch {
      throw this.garbage(step, answer, 'not JSON');
    }
    if (!isObject(value)) throw this.garbage(step, answer, 'not a JSON object');
    return value;
  }

  private location(step: string, answer: HttpAnswer): string {
    const value = header(answer, 'location');
    if (!value) throw this.garbage(step, answer, 'no Location header');
    try {
      return new URL(value, answer.url).toString();
    } catch {
      throw this.garbage(step, answer, 'Location is not a URL');
    }
  }

  // ---- account ------------------------------------------------------------------------------

  async account(request: AccountRequest): Promise<AcmeAccount> {
    const key = accountKey(request.keyPem);
    const directory = await this.loadDirectory();
    const payload: Json = { termsOfServiceAgreed: true };
    if (request.contact && request.contact.length > 0) {
      payload.contact = request.contact.map((c) => (/^[a-z][a-z0-9+.-]*:/i.test(c) ? c : `mailto:${c}`));
    }
    if (request.onlyReturnExisting) payload.onlyReturnExisting = true;
    if (request.eab) {
      if (request.eab.kid.length === 0) {
        throw new IssuerError('invalid_input', 'external account binding: the key id is empty', { retryable: false });
      }
      payload.externalAccountBinding = externalAccountBinding(
        key,
        request.eab.kid,
        eabMacKey(request.eab.hmacKey),
        directory.newAccount,
      );
    }
    const answer = await this.post('new account', key, null, directory.newAccount, payload);
    const url = this.location('new account', answer);
    let body: Json = {};
    if (answer.body.length > 0) body = this.json('new account', answer);
    const status = typeof body.status === 'string' ? body.status : 'valid';
    if (!ACCOUNT_STATUSES.has(status))
      throw this.garbage('new account', answer, `account status ${JSON.stringify(status)}`);
    return {
      url,
      status: status as AcmeAccount['status'],
      contact: isStringArray(body.contact) ? body.contact : [],
      created: answer.status === 201,
    };
  }

  // ---- orders, authorizations, challenges ---------------------------------------------------

  async newOrder(account: AccountRef, request: NewOrderRequest): Promise<AcmeOrder> {
    if (request.identifiers.length === 0) {
      throw new IssuerError('invalid_input', 'new order: no identifiers', { retryable: false });
    }
    const directory = await this.loadDirectory();
    const payload: Json = { identifiers: request.identifiers.map((i) => ({ type: i.type, value: i.value })) };
    if (request.replaces !== undefined) {
      if (!directory.renewalInfo) {
        throw new IssuerError(
          'invalid_input',
          'new order: "replaces" needs a directory that offers renewalInfo (RFC 9773)',
          {
            retryable: false,
          },
        );
      }
      payload.replaces = request.replaces;
    }
    if (request.notBefore) payload.notBefore = request.notBefore;
    if (request.notAfter) payload.notAfter = request.notAfter;
    const answer = await this.post('new order', accountKey(account.keyPem), account.url, directory.newOrder, payload);
    return this.order('new order', answer, this.location('new order', answer));
  }

  async getOrder(account: AccountRef, orderUrl: string): Promise<AcmeOrder> {
    const answer = await this.post('get order', accountKey(account.keyPem), account.url, orderUrl, undefined);
    return this.order('get order', answer, orderUrl);
  }

  async finalize(account: AccountRef, order: Pick<AcmeOrder, 'url' | 'finalize'>, csrDer: Buffer): Promise<AcmeOrder> {
    const answer = await this.post('finalize', accountKey(account.keyPem), account.url, order.finalize, {
      csr: b64u(csrDer),
    });
    return this.order('finalize', answer, header(answer, 'location') ? this.location('finalize', answer) : order.url);
  }

  private order(step: string, answer: HttpAnswer, url: string): AcmeOrder {
    const body = this.json(step, answer);
    const status = body.status;
    if (typeof status !== 'string' || !ORDER_STATUSES.has(status)) throw this.garbage(step, answer, 'order status');
    if (!isStringArray(body.authorizations)) throw this.garbage(step, answer, 'order authorizations');
    if (typeof body.finalize !== 'string') throw this.garbage(step, answer, 'order finalize URL');
    const identifiers = Array.isArray(body.identifiers) ? body.identifiers.map(identifierOf) : [];
    if (identifiers.some((i) => i === undefined)) throw this.garbage(step, answer, 'order identifiers');
    const error = problemOf(body.error);
    const retryAfter = retryAfterSeconds(answer.headers['retry-after']);
    return {
      url,
      status: status as AcmeOrder['status'],
      identifiers: identifiers as AcmeIdentifier[],
      authorizations: body.authorizations,
      finalize: body.finalize,
      ...(typeof body.expires === 'string' ? { expires: body.expires } : {}),
      ...(typeof body.certificate === 'string' ? { certificate: body.certificate } : {}),
      ...(typeof body.replaces === 'string' ? { replaces: body.replaces } : {}),
      ...(error ? { error } : {}),
      ...(retryAfter === undefined ? {} : { retryAfter }),
    };
  }

  async getAuthorization(account: AccountRef, authorizationUrl: string): Promise<AcmeAuthorization> {
    const step = 'get authorization';
    const answer = await this.post(step, accountKey(account.keyPem), account.url, authorizationUrl, undefined);
    const body = this.json(step, answer);
    const status = body.status;
    if (typeof status !== 'string' || !AUTHZ_STATUSES.has(status))
      throw this.garbage(step, answer, 'authorization status');
    const identifier = identifierOf(body.identifier);
    if (!identifier) throw this.garbage(step, answer, 'authorization identifier');
    if (!Array.isArray(body.challenges)) throw this.garbage(step, answer, 'authorization challenges');
    const challenges = body.challenges.map((c) => this.challengeOf(step, answer, c, undefined));
    const retryAfter = retryAfterSeconds(answer.headers['retry-after']);
    return {
      url: authorizationUrl,
      status: status as AcmeAuthorization['status'],
      identifier,
      wildcard: body.wildcard === true,
      challenges,
      ...(typeof body.expires === 'string' ? { expires: body.expires } : {}),
      ...(retryAfter === undefined ? {} : { retryAfter }),
    };
  }

  async respondToChallenge(account: AccountRef, challengeUrl: string): Promise<AcmeChallenge> {
    const step = 'respond to challenge';
    const answer = await this.post(step, accountKey(account.keyPem), account.url, challengeUrl, {});
    const up = links(answer.headers.link, 'up', answer.url)[0];
    return this.challengeOf(step, answer, this.json(step, answer), up);
  }

  private challengeOf(step: string, answer: HttpAnswer, value: unknown, up: string | undefined): AcmeChallenge {
    if (!isObject(value)) throw this.garbage(step, answer, 'challenge');
    const { url, type, status, token } = value;
    if (typeof url !== 'string' || typeof type !== 'string' || typeof token !== 'string') {
      throw this.garbage(step, answer, 'challenge url, type or token');
    }
    if (typeof status !== 'string' || !CHALLENGE_STATUSES.has(status))
      throw this.garbage(step, answer, 'challenge status');
    const error = problemOf(value.error);
    return {
      url,
      type,
      status: status as AcmeChallenge['status'],
      token,
      ...(typeof value.validated === 'string' ? { validated: value.validated } : {}),
      ...(error ? { error } : {}),
      ...(up ? { authorization: up } : {}),
    };
  }

  // ---- certificates -------------------------------------------------------------------------

  async downloadCertificate(account: AccountRef, certificateUrl: string): Promise<DownloadedCertificate> {
    const key = accountKey(account.keyPem);
    const main = await this.downloadChain(key, account.url, certificateUrl);
    const alternates = [];
    for (const url of links(main.answer.headers.link, 'alternate', main.answer.url)) {
      const { pem } = await this.downloadChain(key, account.url, url);
      alternates.push({ url, pem });
    }
    return { url: certificateUrl, pem: main.pem, alternates };
  }

  private async downloadChain(key: AccountKey, kid: string, url: string): Promise<{ pem: string; answer: HttpAnswer }> {
    const step = 'download certificate';
    const answer = await this.post(step, key, kid, url, undefined, 'application/pem-certificate-chain');
    const pem = answer.body.toString('utf8');
    try {
      new X509Certificate(pem);
    } catch {
      throw this.garbage(step, answer, 'not a PEM certificate chain');
    }
    return { pem, answer };
  }

  async revoke(account: AccountRef, certificatePem: string, reason?: RevocationReason): Promise<void> {
    if (reason !== undefined && !REASONS.has(reason)) {
      throw new IssuerError('invalid_input', `revoke: ${String(reason)} is not an RFC 5280 reason code ACME accepts`, {
        retryable: false,
      });
    }
    let der: Buffer;
    try {
      der = new X509Certificate(certificatePem).raw;
    } catch {
      throw new IssuerError('invalid_input', 'revoke: the certificate PEM does not parse', { retryable: false });
    }
    const directory = await this.loadDirectory();
    const payload: Json = { certificate: b64u(der) };
    if (reason !== undefined) payload.reason = reason;
    await this.post('revoke', accountKey(account.keyPem), account.url, directory.revokeCert, payload);
  }

  // ---- renewal information (RFC 9773) ------------------------------------------------------

  async renewalInfo(certificatePem: string): Promise<RenewalInfo> {
    const step = 'renewal info';
    const certId = ariCertId(certificatePem);
    const directory = await this.loadDirectory();
    if (!directory.renewalInfo) {
      throw new IssuerError('invalid_input', `${step}: the directory offers no renewalInfo (RFC 9773)`, {
        retryable: false,
      });
    }
    const base = directory.renewalInfo.endsWith('/') ? directory.renewalInfo : `${directory.renewalInfo}/`;
    const answer = await this.send('GET', `${base}${certId}`);
    const body = this.json(step, answer);
    const window = body.suggestedWindow;
    if (!isObject(window) || typeof window.start !== 'string' || typeof window.end !== 'string') {
      throw this.garbage(step, answer, 'suggestedWindow');
    }
    const start = Date.parse(window.start);
    const end = Date.parse(window.end);
    if (Number.isNaN(start) || Number.isNaN(end) || end < start)
      throw this.garbage(step, answer, 'suggestedWindow times');
    const retryAfter = retryAfterSeconds(answer.headers['retry-after']);
    return {
      certId,
      suggestedWindow: { start: window.start, end: window.end },
      ...(typeof body.explanationURL === 'string' ? { explanationUrl: body.explanationURL } : {}),
      ...(retryAfter === undefined ? {} : { retryAfter }),
    };
  }
}
