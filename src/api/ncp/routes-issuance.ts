/**
 * Certificate Manager API 2.0: issuance (reference §1.2 "Request and issuance", "Management"),
 * carried out by core's issuance service (an order the worker takes to the ACME CA):
 *
 *   POST /api/v2/certificate/requestCertificateIssuance            CloudBasicCertificateRequest
 *   POST /api/v2/certificate/requestGedCertificateIssuance         GlobalEdgeCertificateRequest
 *   GET  /api/v2/certificate/getVerificationInfo/{certificateNo}   ListDcvStatuses
 *   POST /api/v2/certificate/setCertificateRenewal                 SetRenewalStatus
 *
 * (reissue, registPrivateKey and revoke: routes-lifecycle.ts.)
 *
 * When issuance is not configured on this server they answer 29001 like the operations it does
 * not offer (routes-unavailable.ts). A name the service refuses (names.ts: invalid, internal, an
 * IP address, Unicode, a wildcard below the first label, repeated, over 100) is NCP's documented
 * 2201 "Invalid DNS SANs input format."; docs/compat/ncp.md records every field choice.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IssuanceOrder, IssuedCertificateType, OrderStep } from '../../core/issuance/ports.ts';
import { issuanceOffMessage, type IssuanceService, type VerificationRecord } from '../../core/issuance/service.ts';
import type { Action } from '../../core/policy.ts';
import { AppError } from '../../domain/errors.ts';
import { actorOf } from '../ncp-gateway/auth.ts';
import { own } from '../ncp-gateway/fields.ts';
import type { NcpContext } from './context.ts';
import { NCP_TEXT, NcpServiceError, UNAVAILABLE_OPERATION, type ServiceWire } from './errors.ts';
import { SUCCESS } from './present.ts';
import {
  bodyFields,
  newCertificateName,
  optionalStringArray,
  pathCertificateNo,
  queryFields,
  queryString,
  requiredChoice,
  requiredInteger,
  requiredString,
} from './schemas.ts';

type Method = 'GET' | 'POST';

/** [method, path, NCP operation name] of the operations this file serves. */
export const ISSUANCE_OPERATIONS: ReadonlyArray<readonly [Method, string, string]> = [
  ['POST', '/api/v2/certificate/requestCertificateIssuance', 'CloudBasicCertificateRequest'],
  ['GET', '/api/v2/certificate/getVerificationInfo/:certificateNo', 'ListDcvStatuses'],
  ['POST', '/api/v2/certificate/setCertificateRenewal', 'SetRenewalStatus'],
  ['POST', '/api/v2/certificate/requestGedCertificateIssuance', 'GlobalEdgeCertificateRequest'],
];

/** 2201, reference §2.2: the NCP text, then which name and why. */
const SANS_INVALID: ServiceWire = {
  kind: 'service',
  status: 200,
  returnCode: '2201',
  text: NCP_TEXT.sansInvalid,
  mode: 'documented',
};

/** `validState` of a record (the enum of ListDomainValidations). */
const VALID_STATE: Record<VerificationRecord['state'], string> = {
  pending: 'PENDING',
  valid: 'VALID',
  invalid: 'INVALID',
  expired: 'EXPIRED',
};

/** The service, or 29001 when issuance is not configured here. */
export function issuanceOf(ctx: NcpContext, operation: string): IssuanceService {
  if (ctx.issuance?.enabled) return ctx.issuance;
  throw new NcpServiceError(
    {
      code: 'not_found',
      message: `${operation}: ${ctx.issuance?.offMessage ?? issuanceOffMessage(null)}`,
    },
    UNAVAILABLE_OPERATION,
  );
}

/** The face's name errors (field dnsName) become 2201; everything else keeps the table's code. */
export async function sansChecked<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError && !(error instanceof NcpServiceError) && error.code === 'invalid_argument')
      if (error.field === 'dnsName') throw new NcpServiceError(error, SANS_INVALID);
    throw error;
  }
}

/** The order's stage as NCP's certificate status words (what a pending certificate is doing). */
export function orderStatus(step: OrderStep): string {
  switch (step) {
    case 'done':
      return 'NORMAL';
    case 'failed':
      return 'FAILED';
    case 'validation_failed':
      return 'VALIDATION_FAILED';
    case 'validation_expired':
      return 'VALIDATION_EXPIRE';
    case 'revoked':
      return 'REVOKE';
    // Withdrawn through another face (ACM DeleteCertificate; core/issuance/cancel.ts).
    case 'cancelled':
      return 'DELETED';
    default:
      return 'ONGOING';
  }
}

/**
 * Why an order ended without a certificate: the CA's problem document as it sent it (its detail
 * is meant for users, RFC 8555 §6.7), else the worker's message (`validation_expired`: no CNAME
 * within the window). Nothing while the order is pending or done.
 */
function failureOf(order: IssuanceOrder): { failureReason?: string; failureType?: string } {
  if (order.step !== 'failed' && order.step !== 'validation_failed' && order.step !== 'validation_expired') return {};
  const reason = order.problem?.detail ?? order.lastError ?? orderStatus(order.step);
  return { failureReason: reason, ...(order.problem ? { failureType: order.problem.type } : {}) };
}

function presentRecord(record: VerificationRecord, index: number, order: IssuanceOrder) {
  return {
    validSn: index + 1,
    certificateNo: order.certificateNo,
    domainAddress: record.domain,
    dnsRecordType: record.recordType,
    dnsRecordName: record.recordName,
    dnsRecordValue: record.recordValue,
    validState: VALID_STATE[record.state],
    cnameCheck:
      record.cname === null
        ? 'NOT_CHECKED'
        : record.cname === 'ok'
          ? 'OK'
          : record.cname === 'missing'
            ? 'MISSING'
            : 'WRONG_TARGET',
  };
}

export function registerIssuanceRoutes(app: FastifyInstance, ctx: NcpContext): void {
  const issuance = (operation: string): IssuanceService => issuanceOf(ctx, operation);
  const hooks = (action: Action) => ({ onRequest: ctx.auth(action) });
  const [request, verification, renewal, ged] = ISSUANCE_OPERATIONS;

  /** Both requests: a certificate of `type` for `commonName` and `dnsName`, validated by DNS CNAME. */
  async function requestOrder(req: FastifyRequest, operation: string, type: IssuedCertificateType) {
    const service = issuance(operation);
    const body = bodyFields(req.body);
    const certificateName = newCertificateName(body);
    const commonName = requiredString(body, 'commonName');
    const dnsName = optionalStringArray(body, 'dnsName') ?? [];
    // The Global Edge request documents no validationMethod: DNS CNAME is the one method.
    if (type === 'NCP_FREE_DV_01' || own(body, 'validationMethod') !== undefined)
      requiredChoice(body, 'validationMethod', ['D'] as const);
    return sansChecked(() =>
      service.request(actorOf(req), {
        name: certificateName,
        commonName,
        domains: dnsName,
        asciiOnly: true,
        method: 'dns-01',
        certificateType: type,
      }),
    );
  }

  app.post(ged![1], hooks('certificate.write'), async (req: FastifyRequest) => {
    const order = await requestOrder(req, ged![2], 'NCP_GLOBAL_EDGE_DEDICATED');
    return {
      ...SUCCESS,
      totalRows: 1,
      certificate: {
        certificateNo: order.certificateNo,
        certificateName: order.certificateName,
        commonName: order.names[0],
        dnsName: order.names,
        certificateType: order.certificateType,
        statusCode: '0',
        statusName: 'In progress',
        validationMethod: 'D',
        requestSn: order.orderId,
      },
    };
  });

  app.post(request![1], hooks('certificate.write'), async (req: FastifyRequest) => {
    const order = await requestOrder(req, request![2], 'NCP_FREE_DV_01');
    return {
      ...SUCCESS,
      totalRows: 1,
      certificateName: order.certificateName,
      commonName: order.names[0],
      dnsName: order.names,
      validationMethod: 'D',
      requestSn: order.orderId,
      certificateNo: order.certificateNo,
    };
  });

  app.get(verification![1], hooks('certificate.read'), async (req: FastifyRequest) => {
    const service = issuance(verification![2]);
    const certificateNo = pathCertificateNo(req.params);
    const domainAddress = queryString(queryFields(req.query), 'domainAddress', 253);
    if (domainAddress === undefined)
      throw new AppError('invalid_argument', 'The query parameter domainAddress is required.', {
        field: 'domainAddress',
      });
    const { order, records } = await sansChecked(() =>
      service.verificationFor(actorOf(req), certificateNo, domainAddress),
    );
    const list = records.map((record, index) => presentRecord(record, index, order));
    return {
      ...SUCCESS,
      totalRows: list.length,
      dnsVerificationCount: list.length,
      requestSn: order.orderId,
      certificateStatus: orderStatus(order.step),
      ...failureOf(order),
      dnsVerificationList: list,
    };
  });

  app.post(renewal![1], hooks('certificate.write'), async (req: FastifyRequest) => {
    const service = issuance(renewal![2]);
    const body = bodyFields(req.body);
    const certificateNo = requiredInteger(body, 'certificateNo');
    const renewalYn = requiredChoice(body, 'renewalYn', ['Y', 'N'] as const);
    await service.setRenewal(actorOf(req), certificateNo, renewalYn === 'Y');
    return { ...SUCCESS, totalRows: 1 };
  });
}
