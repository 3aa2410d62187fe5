/**
 * Every operation of the ACM API model (2015-12-08): parse the members (input.ts), call core once,
 * present (present.ts). The caller is authenticated (auth.ts); authorisation is core's.
 */
import { createPrivateKey } from 'node:crypto';
import { ACM_STATUSES, checkTags, type AcmStatus } from '../../core/acm.ts';
import type { Core } from '../../core/core.ts';
import type { CertificateKeyKind } from '../../core/issuance/issuer.ts';
import type { CertificateSummary } from '../../domain/model.ts';
import type { AcmCaller } from './auth.ts';
import { AcmWireError, validation } from './errors.ts';
import {
  blob,
  certificateArn,
  DOMAIN_NAME,
  enumList,
  integer,
  list,
  object,
  string,
  tags,
  type Json,
  type ParsedArn,
} from './input.ts';
import {
  arnOf,
  detailOf,
  extendedKeyUsagesOf,
  KEY_ALGORITHM_OF_KIND,
  KEY_TYPES,
  KEY_USAGES,
  keyUsagesOf,
  requestedDetailOf,
  requestedSummaryOf,
  slotArn,
  summaryOf,
} from './present.ts';

export type Operation = (core: Core, caller: AcmCaller, body: Json) => Promise<Json | null>;

/** ACM's limits of ImportCertificate's blobs (bytes). */
export const IMPORT_BLOB_LIMITS = { certificate: 32_768, privateKey: 5_120, chain: 2_097_152 } as const;
/** ListCertificates without MaxItems. */
export const DEFAULT_MAX_ITEMS = 1000;
/** What ACM lists when Includes.keyTypes is absent (its documented default). */
export const DEFAULT_KEY_TYPES = ['RSA_1024', 'RSA_2048'] as const;

const EKU_NAMES = [
  'TLS_WEB_SERVER_AUTHENTICATION',
  'TLS_WEB_CLIENT_AUTHENTICATION',
  'CODE_SIGNING',
  'EMAIL_PROTECTION',
  'TIME_STAMPING',
  'OCSP_SIGNING',
  'IPSEC_END_SYSTEM',
  'IPSEC_TUNNEL',
  'IPSEC_USER',
  'ANY',
  'NONE',
  'CUSTOM',
];
const KU_NAMES = [...new Set(Object.values(KEY_USAGES)), 'ANY', 'CUSTOM'];

/** The ARN's certificate in the caller's tenant: another account or region is not found, never another tenant's. */
function arnIdIn(caller: AcmCaller, arn: ParsedArn): string {
  if (arn.account !== caller.account || arn.region !== caller.region) {
    throw new AcmWireError(
      'not_found',
      'ResourceNotFoundException',
      `Could not find certificate arn:aws:acm:${arn.region}:${arn.account}:certificate/${arn.arnId}.`,
    );
  }
  return arn.arnId;
}

const arnOfId = (caller: AcmCaller, arnId: string): string =>
  arnOf({ region: caller.region, account: caller.account, arnId });

const text = (bytes: Buffer): string => bytes.toString('latin1');

const importCertificate: Operation = async (core, caller, body) => {
  const arn = certificateArn(body, 'CertificateArn', false);
  const certificate = blob(body, 'Certificate', { required: true, min: 1, max: IMPORT_BLOB_LIMITS.certificate });
  const privateKey = blob(body, 'PrivateKey', { required: true, min: 1, max: IMPORT_BLOB_LIMITS.privateKey });
  const chain = blob(body, 'CertificateChain', { min: 1, max: IMPORT_BLOB_LIMITS.chain });
  const tagList = tags(body, 'Tags', false);
  const arnId = await core.acm.import(
    caller.actor,
    {
      certificate: text(certificate as Buffer),
      privateKey: text(privateKey as Buffer),
      ...(chain ? { chain: text(chain) } : {}),
    },
    { arnId: arn ? arnIdIn(caller, arn) : null, tags: tagList ?? null, origin: 'acm' },
  );
  return { CertificateArn: arnOfId(caller, arnId) };
};

const describeCertificate: Operation = async (core, caller, body) => {
  const arnId = arnIdIn(caller, certificateArn(body) as ParsedArn);
  const described = await core.acm.describe(caller.actor, arnId);
  const arn = arnOfId(caller, arnId);
  if (described.kind === 'requested')
    return { Certificate: requestedDetailOf(described.issuance, arn, described.request.createdAt) };
  return {
    Certificate: detailOf(described.certificate, arn, {
      inUseBy: described.usedBy.map((slotId) => slotArn(caller.region, caller.account, slotId)),
      now: core.clock.now(),
      records: described.issuance?.records ?? null,
      order: described.issuance?.order ?? null,
      revocationReason: described.revocationReason,
    }),
  };
};

const getCertificate: Operation = async (core, caller, body) => {
  const arnId = arnIdIn(caller, certificateArn(body) as ParsedArn);
  const bundle = await core.acm.export(caller.actor, arnId, false);
  return {
    Certificate: bundle.certificatePem,
    ...(bundle.chainPems.length > 0 ? { CertificateChain: bundle.chainPems.join('') } : {}),
  };
};

const exportCertificate: Operation = async (core, caller, body) => {
  const arnId = arnIdIn(caller, certificateArn(body) as ParsedArn);
  const passphrase = blob(body, 'Passphrase', { required: true, min: 4, max: 128 }) as Buffer;
  const bundle = await core.acm.export(caller.actor, arnId, true);
  if (bundle.privateKeyPem === null)
    throw validation(
      `Certificate ${arnOfId(caller, arnId)} was imported without a private key: there is none to export.`,
    );
  // PKCS#8 encrypted with PBES2 (AES-256-CBC), what ACM exports; `openssl pkey -passin` opens it.
  const encrypted = createPrivateKey(bundle.privateKeyPem).export({
    type: 'pkcs8',
    format: 'pem',
    cipher: 'aes-256-cbc',
    passphrase,
  });
  return {
    Certificate: bundle.certificatePem,
    ...(bundle.chainPems.length > 0 ? { CertificateChain: bundle.chainPems.join('') } : {}),
    PrivateKey: encrypted.toString(),
  };
};

const deleteCertificate: Operation = async (core, caller, body) => {
  await core.acm.delete(caller.actor, arnIdIn(caller, certificateArn(body) as ParsedArn));
  return null;
};

/** Includes' usage filters; a requested certificate not issued yet (null) has no usages. */
function factsFilter(
  ku: string[] | undefined,
  eku: string[] | undefined,
): ((s: CertificateSummary | null) => boolean) | null {
  if ((ku === undefined || ku.length === 0) && (eku === undefined || eku.length === 0)) return null;
  return (summary) => {
    if (ku !== undefined && ku.length > 0) {
      const have = summary === null ? [] : keyUsagesOf(summary.facts);
      if (!ku.includes('ANY') && !ku.some((k) => have.includes(k))) return false;
    }
    if (eku !== undefined && eku.length > 0) {
      const have = summary === null ? [] : extendedKeyUsagesOf(summary.facts).map((e) => e.name);
      const none = have.length === 0 && eku.includes('NONE');
      if (!none && !eku.some((e) => have.includes(e))) return false;
    }
    return true;
  };
}

const listCertificates: Operation = async (core, caller, body) => {
  const statuses = enumList(body, 'CertificateStatuses', ACM_STATUSES);
  const includes = object(body, 'Includes') ?? {};
  const keyTypes = enumList(includes, 'keyTypes', Object.keys(KEY_TYPES));
  const keyUsage = enumList(includes, 'keyUsage', KU_NAMES);
  const extendedKeyUsage = enumList(includes, 'extendedKeyUsage', EKU_NAMES);
  const nextToken = string(body, 'NextToken', { min: 1, max: 10_000 });
  const maxItems = integer(body, 'MaxItems', { min: 1, max: 1000 }) ?? DEFAULT_MAX_ITEMS;
  string(body, 'SortBy', { enum: ['CREATED_AT'] });
  const sortOrder = string(body, 'SortOrder', { enum: ['ASCENDING', 'DESCENDING'] }) ?? 'ASCENDING';

  const wanted = statuses !== undefined && statuses.length > 0 ? ([...new Set(statuses)].sort() as AcmStatus[]) : null;
  const types = (keyTypes !== undefined && keyTypes.length > 0 ? keyTypes : [...DEFAULT_KEY_TYPES]).sort();
  const page = await core.acm.list(caller.actor, {
    statuses: wanted,
    keyTypes: types.map((t) => KEY_TYPES[t] as { algorithm: string; bits: number }),
    order: sortOrder === 'DESCENDING' ? 'desc' : 'asc',
    limit: maxItems,
    filter: factsFilter(keyUsage, extendedKeyUsage),
    queryKey: JSON.stringify([
      wanted,
      types,
      [...(keyUsage ?? [])].sort(),
      [...(extendedKeyUsage ?? [])].sort(),
      sortOrder,
    ]),
    nextToken: nextToken ?? null,
  });
  const now = core.clock.now();
  return {
    ...(page.nextToken !== null ? { NextToken: page.nextToken } : {}),
    CertificateSummaryList: page.items.map((item) =>
      item.kind === 'certificate'
        ? summaryOf(item.summary, arnOfId(caller, item.arnId), { inUse: item.inUse, now })
        : requestedSummaryOf(item, arnOfId(caller, item.arnId)),
    ),
  };
};

const addTagsToCertificate: Operation = async (core, caller, body) => {
  const arnId = arnIdIn(caller, certificateArn(body) as ParsedArn);
  await core.acm.addTags(caller.actor, arnId, tags(body, 'Tags', true) ?? []);
  return null;
};

const removeTagsFromCertificate: Operation = async (core, caller, body) => {
  const arnId = arnIdIn(caller, certificateArn(body) as ParsedArn);
  const raw = list(body, 'Tags', { required: true, min: 1 }) ?? [];
  const parsed = tags(body, 'Tags', true) ?? [];
  // A Value present (even empty) removes the tag only when it holds that value; absent removes the key.
  const wanted = parsed.map((tag, i) => {
    const given = (raw[i] as Json).Value;
    return given === undefined || given === null ? { key: tag.key } : { key: tag.key, value: tag.value };
  });
  await core.acm.removeTags(caller.actor, arnId, wanted);
  return null;
};

const listTagsForCertificate: Operation = async (core, caller, body) => {
  const arnId = arnIdIn(caller, certificateArn(body) as ParsedArn);
  const found = await core.acm.listTags(caller.actor, arnId);
  return { Tags: found.map((t) => (t.value === null ? { Key: t.key } : { Key: t.key, Value: t.value })) };
};

/** The key algorithms certkeeper's issuance makes, by ACM name (ACM's default: RSA_2048). */
const REQUEST_KEY_KINDS: Readonly<Record<string, CertificateKeyKind>> = Object.fromEntries(
  Object.entries(KEY_ALGORITHM_OF_KIND).map(([kind, name]) => [name, kind as CertificateKeyKind]),
);

const invalidParameter = (message: string): AcmWireError =>
  new AcmWireError('invalid_argument', 'InvalidParameterException', message);

const requestCertificate: Operation = async (core, caller, body) => {
  const domainName = string(body, 'DomainName', { required: true, min: 1, max: 253, pattern: DOMAIN_NAME }) as string;
  const method = string(body, 'ValidationMethod', { enum: ['EMAIL', 'DNS'] });
  const sans = list(body, 'SubjectAlternativeNames', { min: 1, max: 100 }) ?? [];
  const alternativeNames = sans.map(
    (_, i) =>
      string(sans as unknown as Json, String(i), { required: true, min: 1, max: 253, pattern: DOMAIN_NAME }) as string,
  );
  const token = string(body, 'IdempotencyToken', { min: 1, max: 32, pattern: /^\w+$/ });
  const keyAlgorithm = string(body, 'KeyAlgorithm', { enum: Object.keys(KEY_TYPES) }) ?? 'RSA_2048';
  const authority = string(body, 'CertificateAuthorityArn', { min: 20, max: 2048 });
  const options = object(body, 'Options');
  if (options) string(options, 'CertificateTransparencyLoggingPreference', { enum: ['ENABLED', 'DISABLED'] });
  const validationOptions = list(body, 'DomainValidationOptions', { min: 1, max: 100 });
  validationOptions?.forEach((item, i) => {
    const member = `DomainValidationOptions.${i + 1}.member`;
    if (item === null || typeof item !== 'object' || Array.isArray(item))
      throw new AcmWireError(
        'invalid_argument',
        'SerializationException',
        `Each member of ${member} must be an object.`,
      );
    string(item as Json, 'DomainName', { required: true, min: 1, max: 253, pattern: DOMAIN_NAME });
    string(item as Json, 'ValidationDomain', { required: true, min: 1, max: 253, pattern: DOMAIN_NAME });
  });
  const tagList = tags(body, 'Tags', false);
  if (tagList) checkTags(tagList, { removal: false });
  if (method === 'EMAIL' || validationOptions !== undefined)
    throw invalidParameter(
      'certkeeper validates domains by DNS only: ValidationMethod EMAIL and DomainValidationOptions (validation e-mail domains) are not supported. Use ValidationMethod DNS.',
    );
  if (authority !== undefined)
    throw invalidParameter('certkeeper has no private certificate authority: leave CertificateAuthorityArn out.');
  const keyKind = REQUEST_KEY_KINDS[keyAlgorithm];
  if (keyKind === undefined)
    throw invalidParameter(
      `KeyAlgorithm ${keyAlgorithm} cannot be requested; use one of ${Object.keys(REQUEST_KEY_KINDS).join(', ')}.`,
    );
  const arnId = await core.acm.request(caller.actor, {
    domainName,
    alternativeNames,
    keyKind,
    idempotencyToken: token ?? null,
    tags: tagList ?? [],
  });
  return { CertificateArn: arnOfId(caller, arnId) };
};

const renewCertificate: Operation = async (core, caller, body) => {
  await core.acm.renew(caller.actor, arnIdIn(caller, certificateArn(body) as ParsedArn));
  return null;
};

const resendValidationEmail: Operation = async (core, caller, body) => {
  const arn = certificateArn(body) as ParsedArn;
  string(body, 'Domain', { required: true, min: 1, max: 253, pattern: DOMAIN_NAME });
  string(body, 'ValidationDomain', { required: true, min: 1, max: 253, pattern: DOMAIN_NAME });
  return core.acm.refuseIssuance(caller.actor, 'resend', arnIdIn(caller, arn));
};

const updateCertificateOptions: Operation = async (core, caller, body) => {
  const arn = certificateArn(body) as ParsedArn;
  const options = object(body, 'Options', true) as Json;
  string(options, 'CertificateTransparencyLoggingPreference', { enum: ['ENABLED', 'DISABLED'] });
  return core.acm.refuseIssuance(caller.actor, 'options', arnIdIn(caller, arn));
};

const getAccountConfiguration: Operation = async (core, caller) => ({
  ExpiryEvents: { DaysBeforeExpiry: await core.acm.daysBeforeExpiry(caller.actor) },
});

const putAccountConfiguration: Operation = async (core, caller, body) => {
  string(body, 'IdempotencyToken', { required: true, min: 1, max: 32, pattern: /^\w+$/ });
  const events = object(body, 'ExpiryEvents');
  const days = events ? integer(events, 'DaysBeforeExpiry', { min: 1 }) : undefined;
  await core.acm.setDaysBeforeExpiry(caller.actor, days ?? null);
  return null;
};

/** `X-Amz-Target: CertificateManager.<name>` → handler. */
export const OPERATIONS: Readonly<Record<string, Operation>> = {
  AddTagsToCertificate: addTagsToCertificate,
  DeleteCertificate: deleteCertificate,
  DescribeCertificate: describeCertificate,
  ExportCertificate: exportCertificate,
  GetAccountConfiguration: getAccountConfiguration,
  GetCertificate: getCertificate,
  ImportCertificate: importCertificate,
  ListCertificates: listCertificates,
  ListTagsForCertificate: listTagsForCertificate,
  PutAccountConfiguration: putAccountConfiguration,
  RemoveTagsFromCertificate: removeTagsFromCertificate,
  RenewCertificate: renewCertificate,
  RequestCertificate: requestCertificate,
  ResendValidationEmail: resendValidationEmail,
  UpdateCertificateOptions: updateCertificateOptions,
};
