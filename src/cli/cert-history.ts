/**
 * `certkeeper cert replace|versions|restore|purge` and `cert list --deleted`: replacing a
 * certificate in place, its versions, and recovering deleted ones (docs/operations.md,
 * "Replace, versions and recovery").
 *
 *   cert replace [--tenant NAME] NUMBER --cert FILE [--key FILE] [--chain FILE]
 *       Same number and name; edge slots and the deployment target republish. Without --key the
 *       current key is kept when the new certificate has the same public key.
 *   cert versions [--tenant NAME] NUMBER                      the current and the replaced versions
 *   cert versions [--tenant NAME] NUMBER --download V [--out DIR] [--key]
 *       One version, as `cert export` writes the current one (cert.pem, chain.pem, fullchain.pem,
 *       privkey.pem with --key, 0600); the key read is audited like `cert export --key`.
 *   cert list --deleted [--tenant NAME] [--page N] [--page-size N]   recoverable certificates
 *   cert restore [--tenant NAME] NUMBER
 *   cert purge [--tenant NAME] NUMBER                         drop a deleted one for good, now
 */
import { fullChainPems } from '../domain/x509/chain.ts';
import type { ImportInput } from '../domain/x509/ladder.ts';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { cliActor } from '../core/actor.ts';
import type { CertificateBundle } from '../core/certificates.ts';
import type { Core } from '../core/core.ts';
import { CERTIFICATE_PAGE_MAX } from '../core/ports.ts';
import type { Certificate, Tenant } from '../domain/model.ts';
import { keyValues, table } from './output.ts';

export interface CertHistoryFlags {
  cert?: string | undefined;
  key?: string | boolean | undefined;
  chain?: string | undefined;
  download?: string | undefined;
  out?: string | undefined;
  page?: string | undefined;
  'page-size'?: string | undefined;
}

export interface CertHistoryIo {
  out: (value: unknown, human: string) => void;
  usage: (message: string) => Error;
  /** The certificate, key and chain files as `cert import` reads them (PEM, DER or `--p12`). */
  readFields: () => Promise<Omit<ImportInput, 'name'>>;
  /** The certificate as `cert show` and `cert import` print it. */
  present: (certificate: Certificate) => Record<string, string | number | boolean | null>;
}

/** A positive decimal number of at most 9 digits, else a usage error naming the argument. */
function positive(text: string | undefined, what: string, io: CertHistoryIo): number {
  if (text === undefined || text === '') throw io.usage(`missing argument: ${what}`);
  if (!/^[0-9]{1,9}$/.test(text) || Number(text) < 1) throw io.usage(`${what} takes a positive integer`);
  return Number(text);
}

async function writeBundle(dir: string, bundle: CertificateBundle): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: Array<[string, string, number]> = [
    ['cert.pem', bundle.certificatePem, 0o644],
    ['chain.pem', bundle.chainPems.join(''), 0o644],
    ['fullchain.pem', fullChainPems(bundle.certificatePem, bundle.chainPems).join(''), 0o644],
    ...(bundle.privateKeyPem ? [['privkey.pem', bundle.privateKeyPem, 0o600] as [string, string, number]] : []),
  ];
  for (const [name, text, mode] of files) await writeFile(join(dir, name), text, { mode });
  return files.map(([name]) => join(dir, name));
}

export async function runCertHistoryCommand(
  core: Core,
  tenant: Tenant,
  verb: 'replace' | 'versions' | 'restore' | 'purge' | 'list-deleted',
  args: readonly string[],
  flags: CertHistoryFlags,
  io: CertHistoryIo,
): Promise<void> {
  const actor = cliActor(tenant.id);
  const now = core.clock.now();
  switch (verb) {
    case 'replace': {
      const certificateNo = positive(args[0], 'cert replace NUMBER', io);
      const fields = await io.readFields();
      const current = await core.certificates.get(actor, certificateNo);
      const replaced = await core.certificates.replace(
        actor,
        certificateNo,
        { name: current.name, ...fields },
        {
          origin: 'cli',
          policy: { requireKey: false, allowEd25519: true, nameRule: null },
          keepCurrentKey: true,
        },
      );
      const row = io.present(replaced);
      io.out(
        row,
        `${keyValues(row)}Replaced in place; the previous version is kept (cert versions ${certificateNo}).\n`,
      );
      return;
    }
    case 'versions': {
      const certificateNo = positive(args[0], 'cert versions NUMBER', io);
      if (flags.download !== undefined) {
        const version = positive(flags.download, '--download', io);
        const bundle = await core.certificates.exportVersion(actor, certificateNo, version, {
          includeKey: flags.key === true,
        });
        if (flags.out) {
          const files = await writeBundle(resolve(flags.out), bundle);
          io.out({ version, files }, `${files.join('\n')}\n`);
        } else {
          // The text is what a server loads (full chain, root left out, then key); the JSON keeps the chain as stored.
          const text = fullChainPems(bundle.certificatePem, bundle.chainPems).join('') + (bundle.privateKeyPem ?? '');
          io.out(
            {
              version,
              certificate: bundle.certificatePem,
              chain: bundle.chainPems,
              privateKey: bundle.privateKeyPem,
            },
            text,
          );
        }
        return;
      }
      const { certificate, currentVersion, previous } = await core.certificates.versions(actor, certificateNo);
      const rows = [
        {
          version: currentVersion,
          current: true,
          notBefore: certificate.facts.notBefore.toISOString(),
          notAfter: certificate.facts.notAfter.toISOString(),
          fingerprintSha256: certificate.facts.fingerprintSha256,
          hasPrivateKey: certificate.hasPrivateKey,
          replacedAt: null,
          replacedBy: null,
        },
        ...previous.map((v) => ({
          version: v.version,
          current: false,
          notBefore: v.facts.notBefore.toISOString(),
          notAfter: v.facts.notAfter.toISOString(),
          fingerprintSha256: v.facts.fingerprintSha256,
          hasPrivateKey: v.hasPrivateKey,
          replacedAt: v.replacedAt.toISOString(),
          replacedBy: v.replacedBy,
        })),
      ];
      io.out(
        { certificateNo, name: certificate.name, currentVersion, versions: rows },
        `Certificate ${certificateNo} (${certificate.name}):\n${table(rows, [
          'version',
          'current',
          'notAfter',
          'fingerprintSha256',
          'hasPrivateKey',
          'replacedAt',
          'replacedBy',
        ])}`,
      );
      return;
    }
    case 'list-deleted': {
      const pageSize = positive(flags['page-size'] ?? '20', '--page-size', io);
      if (pageSize > CERTIFICATE_PAGE_MAX) throw io.usage(`--page-size is at most ${CERTIFICATE_PAGE_MAX}`);
      const page = positive(flags.page ?? '1', '--page', io);
      const found = await core.certificates.listDeleted(actor, { offset: (page - 1) * pageSize, limit: pageSize });
      const rows = found.items.map(({ certificate, purgeAfter }) => ({
        certificateNo: certificate.certificateNo,
        name: certificate.name,
        commonName: certificate.facts.commonName,
        notAfter: certificate.facts.notAfter.toISOString(),
        deletedAt: certificate.deletedAt?.toISOString() ?? null,
        purgeAfter: purgeAfter.toISOString(),
      }));
      io.out(
        { total: found.total, page, pageSize, items: rows },
        `${table(rows, ['certificateNo', 'name', 'commonName', 'deletedAt', 'purgeAfter'])}${found.total} recoverable certificate(s). Restore with: certkeeper cert restore NUMBER\n`,
      );
      return;
    }
    case 'restore': {
      const certificateNo = positive(args[0], 'cert restore NUMBER', io);
      const restored = await core.certificates.restore(actor, certificateNo);
      const row = io.present(restored);
      io.out(row, `${keyValues(row)}Restored certificate ${certificateNo} (${restored.name}).\n`);
      return;
    }
    case 'purge': {
      const certificateNo = positive(args[0], 'cert purge NUMBER', io);
      await core.certificates.purge(actor, certificateNo);
      io.out(
        { certificateNo, purged: true, at: now.toISOString() },
        `Purged certificate ${certificateNo}: its key, file and versions are gone for good.\n`,
      );
      return;
    }
  }
}
