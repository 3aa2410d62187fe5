/**
 * Certificate issuance in the console (issue 16), through core's issuance service:
 *
 *   GET  /console/api/issuance                                  whether issuance is on, the methods and key types
 *   POST /console/api/issuance/orders                           request a certificate (ADMIN)
 *   GET  /console/api/issuance/orders?page=                     the tenant's orders, newest first
 *   GET  /console/api/issuance/orders/:orderId                  one order with the records to create
 *   GET  /console/api/certificates/:certificateNo/issuance      a certificate's order history and renewal
 *   PUT  /console/api/certificates/:certificateNo/renewal       renewal on/off (ADMIN)
 *
 * - A request answers every field's error at once (`error.fields`, one `{field, message}` each),
 *   so the form can mark them all: the shape of each field is checked here and each domain name by
 *   names.ts (the one rule for names), then core checks everything again before it writes.
 * - When issuance is not configured, the operations answer 409 `issuance_not_configured` with the
 *   configuration's own reason (which variables are missing; never a value).
 * - Writes go through the same session, CSRF and same-origin hook as every console write.
 */
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/core.ts';
import type { CertificateKeyKind } from '../../core/issuance/issuer.ts';
import { normalizeRequestName, normalizeRequestNames } from '../../core/issuance/names.ts';
import { isFinalStep, type IssuanceOrder, type ValidationMethod } from '../../core/issuance/ports.ts';
import { issuanceOffMessage, type IssuanceService, type VerificationRecord } from '../../core/issuance/service.ts';
import { AppError } from '../../domain/errors.ts';
import { callerOf, consoleAuth } from './auth.ts';
import { certificateNoParam, objectBody, positiveInt, type Json } from './body.ts';
import { ConsoleWireError, errorBody } from './errors.ts';

const PAGE_SIZE = 50;
export const KEY_TYPES: readonly CertificateKeyKind[] = ['ec-p256', 'ec-p384', 'rsa-2048'];
const METHODS: readonly ValidationMethod[] = ['dns-01', 'http-01'];
/** Far above the 100 names a certificate may carry: past this the list is not read at all. */
const MAX_LISTED_NAMES = 1000;
const MAX_NAME_LENGTH = 1000;

/** Core's input names (shared with the NCP face) → the console form's control names. */
const FORM_FIELD: Record<string, string> = {
  certificateName: 'name',
  dnsName: 'domains',
  validationMethod: 'method',
  keyType: 'keyType',
};

interface FieldError {
  field: string;
  message: string;
  index?: number;
}

interface ParsedRequest {
  name: string;
  domains: string[];
  keyKind: CertificateKeyKind;
  method: ValidationMethod;
  renewal: boolean;
}

function orderIdParam(params: unknown): number {
  const raw = (params as { orderId?: string }).orderId ?? '';
  if (!/^[1-9][0-9]{0,14}$/.test(raw))
    throw new AppError('not_found', 'No such certificate order.', { field: 'orderId' });
  return Number(raw);
}

/** Checks every field of a request body; answers the parsed request or all the fields' errors. */
function parseRequest(body: Json, methods: readonly ValidationMethod[]): ParsedRequest | FieldError[] {
  const errors: FieldError[] = [];
  const { name, domains, keyType, method, renewal } = body;

  if (typeof name !== 'string' || name.trim() === '')
    errors.push({
      field: 'name',
      message: name === undefined || name === '' ? 'Enter a name.' : 'The name must be text.',
    });
  else if (name.length > 255 || name.includes('\0'))
    errors.push({ field: 'name', message: 'The name must be 1-255 characters, without control characters.' });

  const names: string[] = [];
  if (!Array.isArray(domains) || domains.length === 0)
    errors.push({
      field: 'domains',
      message:
        Array.isArray(domains) || domains === undefined
          ? 'Enter at least one domain name.'
          : 'The domains must be a list of names.',
    });
  else if (domains.length > MAX_LISTED_NAMES)
    errors.push({ field: 'domains', message: `At most 100 domain names per certificate; got ${domains.length}.` });
  else {
    domains.forEach((domain: unknown, index) => {
      if (typeof domain !== 'string' || domain.length > MAX_NAME_LENGTH) {
        errors.push({
          field: 'domains',
          index,
          message: `Domain ${index + 1} must be a name of at most 253 characters.`,
        });
        return;
      }
      try {
        names.push(normalizeRequestName(domain));
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        errors.push({ field: 'domains', index, message: error.message });
      }
    });
    if (errors.every((e) => e.field !== 'domains'))
      try {
        normalizeRequestNames(names);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        errors.push({ field: 'domains', message: error.message });
      }
  }

  if (keyType !== undefined && !(typeof keyType === 'string' && (KEY_TYPES as string[]).includes(keyType)))
    errors.push({ field: 'keyType', message: `The key type must be one of ${KEY_TYPES.join(', ')}.` });
  if (method !== undefined && !(typeof method === 'string' && (METHODS as string[]).includes(method)))
    errors.push({ field: 'method', message: `The validation method must be one of ${METHODS.join(', ')}.` });
  else if (method !== undefined && !methods.includes(method as ValidationMethod))
    errors.push({ field: 'method', message: `This server is configured for ${methods.join(' and ')} only.` });
  if (renewal !== undefined && typeof renewal !== 'boolean')
    errors.push({ field: 'renewal', message: 'Renewal must be true or false.' });

  if (errors.length > 0) return errors;
  return {
    name: name as string,
    domains: (domains as string[]).slice(),
    keyKind: (keyType as CertificateKeyKind | undefined) ?? 'ec-p256',
    method: (method as ValidationMethod | undefined) ?? methods[0] ?? 'dns-01',
    renewal: (renewal as boolean | undefined) ?? true,
  };
}

/** The CA's word about one domain: its subproblem when the CA named the domain, else the order's. */
function problemFor(order: IssuanceOrder, domain: string): string | null {
  const problem = order.problem;
  if (!problem) return null;
  const sub = problem.subproblems?.find((p) => {
    const value = p.identifier?.value;
    return value === domain || value === `*.${domain}`;
  });
  return (sub ?? problem).detail ?? sub?.type ?? problem.type;
}

function recordOf(record: VerificationRecord, order: IssuanceOrder) {
  return {
    domain: record.domain,
    recordName: record.recordName,
    recordType: record.recordType,
    recordValue: record.recordValue,
    state: record.state,
    cname:
      record.cname === null
        ? 'not_checked'
        : record.cname === 'ok'
          ? 'ok'
          : record.cname === 'missing'
            ? 'missing'
            : 'wrong_target',
    cnameTarget: typeof record.cname === 'object' && record.cname !== null ? record.cname.wrongTarget : null,
    problem: record.state === 'invalid' ? problemFor(order, record.domain) : null,
  };
}

/** An order as the console shows it; the key and the certificate PEM stay out. */
function orderOf(order: IssuanceOrder) {
  return {
    orderId: order.orderId,
    kind: order.kind,
    certificateName: order.certificateName,
    certificateNo: order.certificateNo,
    domains: order.names,
    keyType: order.keyKind,
    method: order.method,
    renewal: order.renewal,
    step: order.step,
    done: isFinalStep(order.step),
    outcome: order.outcome,
    problem: order.problem ? (order.problem.detail ?? order.problem.type) : null,
    problemType: order.problem?.type ?? null,
    attempts: order.attempts,
    nextAttemptAt: order.nextAttemptAt?.toISOString() ?? null,
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}

export function registerIssuanceRoutes(app: FastifyInstance, core: Core, issuance: IssuanceService | null): void {
  const read = consoleAuth(core);
  const write = consoleAuth(core, 'certificate.write');

  /**
   * The service, or the 409 that says which configuration is missing: issuance switched off is a
   * state of this server the request conflicts with, not a failure (5xx means the server failed).
   */
  function service(): IssuanceService {
    if (issuance?.enabled) return issuance;
    throw new ConsoleWireError(
      'conflict',
      409,
      'issuance_not_configured',
      issuance?.offMessage ?? issuanceOffMessage(null),
    );
  }

  /** Core's field names become the form's, so the browser marks the right control. */
  async function formFields<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof AppError && error.field !== undefined && FORM_FIELD[error.field] !== undefined)
        throw new AppError(error.code, error.message, {
          field: FORM_FIELD[error.field]!,
          ...(error.details ? { details: error.details } : {}),
        });
      throw error;
    }
  }

  app.get('/console/api/issuance', { onRequest: read }, async () => ({
    enabled: issuance?.enabled ?? false,
    reason: issuance?.enabled ? null : (issuance?.offReason ?? issuanceOffMessage(null)),
    methods: issuance?.methods ?? [],
    keyTypes: KEY_TYPES,
  }));

  app.post('/console/api/issuance/orders', { onRequest: write }, async (request, reply) => {
    const { actor } = callerOf(request);
    const issuing = service();
    const parsed = parseRequest(objectBody(request.body), issuing.methods);
    if (Array.isArray(parsed)) {
      const first = parsed[0]!;
      return reply
        .code(400)
        .header('cache-control', 'no-store')
        .send({ error: { ...errorBody('invalid_argument', first.message, first.field).error, fields: parsed } });
    }
    const order = await formFields(() =>
      issuing.request(actor, {
        name: parsed.name,
        domains: parsed.domains,
        keyKind: parsed.keyKind,
        method: parsed.method,
        renewal: parsed.renewal,
      }),
    );
    return reply.code(201).send({
      ...orderOf(order),
      records: await issuing.verification(actor, order).then((r) => r.map((x) => recordOf(x, order))),
    });
  });

  app.get('/console/api/issuance/orders', { onRequest: read }, async (request) => {
    const { actor } = callerOf(request);
    const page = positiveInt((request.query ?? {}) as Json, 'page', 1, 100_000);
    const orders = await service().listOrders(actor, { offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE });
    return { items: orders.map(orderOf), page, pageSize: PAGE_SIZE };
  });

  app.get('/console/api/issuance/orders/:orderId', { onRequest: read }, async (request) => {
    const { actor } = callerOf(request);
    const issuing = service();
    const order = await issuing.getOrder(actor, orderIdParam(request.params));
    const records = await issuing.verification(actor, order);
    return { ...orderOf(order), records: records.map((r) => recordOf(r, order)) };
  });

  app.get('/console/api/certificates/:certificateNo/issuance', { onRequest: read }, async (request) => {
    const { actor } = callerOf(request);
    const certificateNo = certificateNoParam(request.params);
    if (!issuance?.enabled) return { enabled: false, renewal: null, orders: [] };
    const history = await issuance.history(actor, certificateNo);
    return { enabled: true, renewal: history.renewal, orders: history.orders.map(orderOf) };
  });

  app.put('/console/api/certificates/:certificateNo/renewal', { onRequest: write }, async (request) => {
    const { actor } = callerOf(request);
    const certificateNo = certificateNoParam(request.params);
    const body = objectBody(request.body);
    if (typeof body.renewal !== 'boolean')
      throw new AppError('invalid_argument', 'Renewal must be true or false.', { field: 'renewal' });
    const issuing = service();
    await issuing.setRenewal(actor, certificateNo, body.renewal);
    return { certificateNo, renewal: body.renewal };
  });
}
