/**
 * Certificate use-cases. Every write runs the import ladder (domain/x509/ladder.ts) first, then
 * the duplicate check (ladder step 9) and the store write in one transaction; a refused import
 * changes nothing. Reads are tenant-scoped by the actor; another tenant's certificate answers
 * exactly like a missing one. Every read of a private key is audited, success or refusal.
 */
import { AppError } from '../domain/errors.ts';
import type { Certificate, CertificateOrigin, CertificateType } from '../domain/model.ts';
import { runImportLadder, type ImportCandidate, type ImportInput, type ImportPolicy } from '../domain/x509/ladder.ts';
import type { Actor } from './actor.ts';
import type { AuditService } from './audit.ts';
import { authorize } from './policy.ts';
import { CERTIFICATE_PAGE_MAX, type CertificatePage, type CertificateQuery, type Clock, type Store } from './ports.ts';

export interface ImportOptions {
  origin: CertificateOrigin;
  /** The face's rules; `now` comes from the injected clock. */
  policy: Omit<ImportPolicy, 'now'>;
  /** Stored type of a new certificate; `EXT` (an import) unless an issuer says otherwise. */
  type?: CertificateType;
}

export interface CertificateBundle {
  certificate: Certificate;
  certificatePem: string;
  chainPems: string[];
  /** Present only when asked for and the certificate has one; the read is audited. */
  privateKeyPem: string | null;
}

export type CertificateListQuery = Omit<CertificateQuery, 'tenantId' | 'asOf'>;

export interface CertificateService {
  import(actor: Actor, input: ImportInput, options: ImportOptions): Promise<Certificate>;
  /** Replaces bytes, key and file in place: same certificateNo, same name. */
  replace(actor: Actor, certificateNo: number, input: ImportInput, options: ImportOptions): Promise<Certificate>;
  /** Runs the ladder only (step 9 included), for dry runs and the console's live validation. */
  validate(actor: Actor, input: ImportInput, options: ImportOptions): Promise<ImportCandidate>;
  list(actor: Actor, query: CertificateListQuery): Promise<CertificatePage>;
  get(actor: Actor, certificateNo: number): Promise<Certificate>;
  getByName(actor: Actor, name: string): Promise<Certificate>;
  export(actor: Actor, certificateNo: number, options: { includeKey: boolean }): Promise<CertificateBundle>;
  /** The NHN file: as uploaded, or composed from certificate, chain and key. Audited. */
  readFile(actor: Actor, certificateNo: number): Promise<{ name: string; bytes: Buffer; composed: boolean }>;
  /** Refused while in use. With `expectedName`, the name must match too (NCP's delete contract). */
  delete(actor: Actor, certificateNo: number, options?: { expectedName?: string }): Promise<Certificate>;
  usedBy(actor: Actor, certificateNo: number): Promise<number[]>;
}

const notFound = (certificateNo: number | string): AppError =>
  new AppError(
    'not_found',
    `No certificate ${typeof certificateNo === 'number' ? `number ${certificateNo}` : `named '${certificateNo}'`}.`,
    { field: 'certificateNo' },
  );

/**
 * What replacing a certificate asks of edge provisioning: the slots that use it republish
 * (ProvisioningService.certificateReplaced).
 */
export interface ReplacementRepublisher {
  certificateReplaced(actor: Actor, certificateNo: number): Promise<number[]>;
}

export function createCertificateService(
  store: Store,
  clock: Clock,
  audit: AuditService,
  slots: ReplacementRepublisher,
): CertificateService {
  function ladder(input: ImportInput, options: ImportOptions): ImportCandidate {
    return runImportLadder(input, { ...options.policy, now: clock.now() });
  }

  /** Step 9: a friendly message for the common case; the unique indexes close the race. */
  async function checkDuplicate(tenantId: number, candidate: ImportCandidate, except: number | null): Promise<void> {
    const duplicate = await store.certificates.findDuplicate(tenantId, candidate.facts);
    if (duplicate && duplicate.certificateNo !== except) {
      const sameCertificate = duplicate.facts.fingerprintSha256 === candidate.facts.fingerprintSha256;
      throw new AppError(
        'already_exists',
        sameCertificate
          ? `This certificate is already registered as '${duplicate.name}' (number ${duplicate.certificateNo}).`
          : `This key is already used by certificate '${duplicate.name}' (number ${duplicate.certificateNo}); each certificate needs its own key.`,
        { field: sameCertificate ? 'certificate' : 'privateKey', details: { certificateNo: duplicate.certificateNo } },
      );
    }
  }

  const audited = audit.around;

  /** The edge slots using the certificate (ports.ts CertificateUsageRepository: the one answer to "in use"). */
  const usersOf = async (tenantId: number, certificateNo: number): Promise<number[]> =>
    (await store.usage.usersOf(tenantId, [certificateNo])).get(certificateNo) ?? [];

  async function getLive(actor: Actor, certificateNo: number): Promise<Certificate> {
    const certificate = await store.certificates.get(actor.tenantId, certificateNo);
    if (!certificate || certificate.deletedAt) throw notFound(certificateNo);
    return certificate;
  }

  function newCertificateFields(candidate: ImportCandidate, options: ImportOptions) {
    return {
      origin: options.origin,
      certificatePem: candidate.leaf.pem,
      chainPems: candidate.chainPems,
      facts: candidate.facts,
      privateKeyPem: candidate.privateKey?.pkcs8Pem ?? null,
      file: candidate.file,
    };
  }

  const service: CertificateService = {
    async import(actor, input, options) {
      authorize(actor, 'certificate.write');
      return audited(
        actor,
        'certificate.import',
        `certificate-name:${input.name}`,
        async () => {
          const candidate = ladder(input, options);
          await checkDuplicate(actor.tenantId, candidate, null);
          return store.certificates.insert(
            {
              tenantId: actor.tenantId,
              name: candidate.name,
              type: options.type ?? 'EXT',
              ...newCertificateFields(candidate, options),
            },
            clock.now(),
          );
        },
        { origin: options.origin },
      );
    },

    async replace(actor, certificateNo, input, options) {
      authorize(actor, 'certificate.write');
      const replaced = await audited(
        actor,
        'certificate.replace',
        `certificate:${certificateNo}`,
        async () => {
          await getLive(actor, certificateNo);
          const candidate = ladder(input, options);
          await checkDuplicate(actor.tenantId, candidate, certificateNo);
          return store.certificates.replace(
            actor.tenantId,
            certificateNo,
            newCertificateFields(candidate, options),
            clock.now(),
          );
        },
        { origin: options.origin },
      );
      // The edge slots using the certificate republish it; the target gets the new bytes over the
      // old ones atomically, so it never holds no certificate. The replacement is committed: a
      // failure to record the republish (store hiccup, crash) must not make it an error for the
      // caller. The worker's stale-certificate sweep (deploy/worker.ts) finds those slots anyway:
      // their published fingerprint is no longer the stored certificate's.
      await slots.certificateReplaced(actor, certificateNo).catch(() => undefined);
      return replaced;
    },

    async validate(actor, input, options) {
      authorize(actor, 'certificate.write');
      const candidate = ladder(input, options);
      await checkDuplicate(actor.tenantId, candidate, null);
      return candidate;
    },

    async list(actor, query) {
      authorize(actor, 'certificate.read');
      for (const [field, value] of [
        ['name', query.name],
        ['nameContains', query.nameContains],
        ['domain', query.domain],
      ] as const) {
        // No stored name or domain holds a control character, and PostgreSQL refuses NUL in text:
        // answer as a bad argument instead of letting the driver fail.
        // eslint-disable-next-line no-control-regex -- matching control characters is the point
        if (value !== undefined && /[\u0000-\u001f\u007f]/.test(value)) {
          throw new AppError('invalid_argument', `The ${field} filter contains a control character.`, { field });
        }
      }
      const limit = Math.min(Math.max(Math.trunc(query.limit), 0), CERTIFICATE_PAGE_MAX);
      const offset = Math.max(Math.trunc(query.offset), 0);
      return store.certificates.list({ ...query, limit, offset, tenantId: actor.tenantId, asOf: clock.now() });
    },

    async get(actor, certificateNo) {
      authorize(actor, 'certificate.read');
      return getLive(actor, certificateNo);
    },

    async getByName(actor, name) {
      authorize(actor, 'certificate.read');
      const certificate = await store.certificates.getByName(actor.tenantId, name);
      if (!certificate || certificate.deletedAt) throw notFound(name);
      return certificate;
    },

    async export(actor, certificateNo, options) {
      authorize(actor, 'certificate.read');
      const certificate = await getLive(actor, certificateNo);
      let privateKeyPem: string | null = null;
      if (options.includeKey) {
        privateKeyPem = await audited(actor, 'certificate.key.read', `certificate:${certificateNo}`, async () => {
          authorize(actor, 'certificate.key.read');
          return store.certificates.readPrivateKey(actor.tenantId, certificateNo);
        });
      }
      return {
        certificate,
        certificatePem: certificate.certificatePem,
        chainPems: certificate.chainPems,
        privateKeyPem,
      };
    },

    async readFile(actor, certificateNo) {
      authorize(actor, 'certificate.read');
      const certificate = await getLive(actor, certificateNo);
      return audited(actor, 'certificate.file.read', `certificate:${certificateNo}`, async () => {
        authorize(actor, 'certificate.file.read');
        const uploaded = await store.certificates.readFile(actor.tenantId, certificateNo);
        if (uploaded) return { ...uploaded, composed: false };
        // Came in through another face: compose the file NHN clients expect, leaf, chain, key.
        const key = await store.certificates.readPrivateKey(actor.tenantId, certificateNo);
        const text = [certificate.certificatePem, ...certificate.chainPems, ...(key ? [key] : [])].join('');
        return { name: `${certificate.name}.pem`, bytes: Buffer.from(text, 'utf8'), composed: true };
      });
    },

    async delete(actor, certificateNo, options = {}) {
      authorize(actor, 'certificate.write');
      return audited(actor, 'certificate.delete', `certificate:${certificateNo}`, async () => {
        const certificate = await getLive(actor, certificateNo);
        if (options.expectedName !== undefined && options.expectedName !== certificate.name) {
          throw new AppError('not_found', `Certificate ${certificateNo} is not named '${options.expectedName}'.`, {
            field: 'certificateName',
          });
        }
        // The usual answer, with every slot named; markDeleted checks again under the certificate
        // row's lock, for a provision racing this delete (ports.ts CertificateUsageRepository).
        const users = await usersOf(actor.tenantId, certificateNo);
        if (users.length > 0) {
          throw new AppError(
            'in_use',
            `Certificate '${certificate.name}' is in use by ${users.length} instance(s) (${users.join(', ')}); remove it from them first.`,
            {
              details: { instances: users.join(',') },
            },
          );
        }
        const at = clock.now();
        if (!(await store.certificates.markDeleted(actor.tenantId, certificateNo, at))) throw notFound(certificateNo);
        return { ...certificate, deletedAt: at, updatedAt: at };
      });
    },

    async usedBy(actor, certificateNo) {
      authorize(actor, 'certificate.read');
      return usersOf(actor.tenantId, certificateNo);
    },
  };
  return service;
}
