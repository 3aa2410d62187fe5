/**
 * The CLI's commands. Each calls core through the composition root (src/app/), never the store
 * directly, so the CLI gets the same validation, authorisation and audit as every face.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { openApp, type App } from '../app/app.ts';
import { edgeWorkerSettings } from '../app/edge-worker-settings.ts';
import { issuanceWorkerSettings } from '../app/issuance-worker-settings.ts';
import { notifySettings } from '../app/notify-settings.ts';
import { serve } from '../app/serve.ts';
import { loadConfig, loadIssuanceConfig } from '../config/config.ts';
import type { IssuanceOrder } from '../core/issuance/ports.ts';
import { cliActor } from '../core/actor.ts';
import { isAppError } from '../domain/errors.ts';
import type { Credential, Role, Tenant } from '../domain/model.ts';
import { presentCertificate, runCertList } from './cert-list.ts';
import { json, keyValues, table } from './output.ts';
import { runAuditVerify } from './audit.ts';
import { runBackup, runRestore } from './maintenance.ts';
import { runNotifyCommand } from './notify.ts';
import { ncpCurl } from './ncp-curl.ts';
import { runTargetCommand } from './target.ts';
import { runCertHistoryCommand } from './cert-history.ts';
import { retentionSettings } from '../app/retention-settings.ts';
import { exportCertificate, importFields, importUpload, readText } from './formats.ts';
import { runImportDir, type ProgressStream } from './import-dir.ts';
import { runCertLifecycleCommand, type CertLifecycleVerb } from './cert-lifecycle.ts';
import { runSlotCommand } from './slot.ts';

export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const USAGE = `Usage: certkeeper <command> [options]

  serve                                   start the server (same as npm start)
  migrate                                 apply database migrations
  tenant create NAME                      create a tenant
  tenant list
  tenant appkey-auth NAME on|off          allow NHN v1.0/v1.2 appKey-only access (off by default)
  credential create --tenant NAME --role ADMIN|VIEWER [--description TEXT]
  credential list [--tenant NAME]
  credential revoke ACCESS_KEY
  cert import --tenant NAME --name N --cert FILE [--key FILE] [--chain FILE]   (PEM or DER files)
  cert import --tenant NAME --name N --p12 FILE [--passphrase-file FILE]       (PKCS#12 .p12/.pfx)
  cert import-dir [--tenant NAME] DIR [--name-from stem|cn] [--dry-run] [--passphrase-file FILE] [--workers N]
                                          every PEM/DER/PKCS#12 file under DIR: keys paired by public key,
                                          chains from the directory; a summary of what was refused and why;
                                          N worker threads parse and validate (default: cores - 1; 0: none)
  cert list [--tenant NAME] [--covers HOST|IP] [--zone ZONE] [--ip IP] [--contains TEXT]
            [--domain-contains TEXT] [--name N] [--domain D] [--status all|expired|unexpired]
            [--expires-within 14d | --expires-after DATE --expires-before DATE] [--key-type RSA-2048|EC|...]
            [--issuer CA] [--sort certificateNo|name|notAfter|createdAt] [--desc]
            [--page N | --all | --after CURSOR] [--page-size N]
            (20 a page by default, at most 1000; substrings of 3 characters or more; docs/search.md)
  cert show [--tenant NAME] NUMBER
  cert export [--tenant NAME] NUMBER [--out DIR] [--key] [--format pem|der|p12] [--legacy] [--passphrase-file FILE]
              (der and p12 need --out; --legacy: a PKCS#12 old Java and Windows open; the passphrase
              comes from the file, CERTKEEPER_P12_PASSPHRASE or a prompt, never the command line)
  cert delete [--tenant NAME] NUMBER     (recoverable for CERTKEEPER_DELETE_RETENTION_DAYS, 30 by default)
  cert replace [--tenant NAME] NUMBER --cert FILE [--key FILE] [--chain FILE]
                                          in place: same number and name, slots republished; without --key
                                          the current key is kept when the new certificate has the same one
  cert versions [--tenant NAME] NUMBER [--download V [--out DIR] [--key]]
                                          the current and replaced versions; --download V writes one of them
  cert list --deleted [--tenant NAME] [--page N] [--page-size N]   recently deleted, recoverable
  cert restore [--tenant NAME] NUMBER     bring a deleted certificate back
  cert purge [--tenant NAME] NUMBER       drop a deleted certificate for good, now
  cert request [--tenant NAME] --name N --domain D [--domain D2 ...] [--key-type ec-p256|ec-p384|rsa-2048]
               [--method dns-01|http-01] [--no-renewal]   (the server's issuance worker carries it out)
  cert order list [--tenant NAME] [--page N] [--page-size N]
  cert order show [--tenant NAME] ORDER   (the records to create, each domain's state, the CA's problem)
  cert reissue [--tenant NAME] NUMBER --csr FILE [--domain D ...]   (you keep the key; then register-key)
  cert register-key [--tenant NAME] NUMBER --key FILE
  cert revoke [--tenant NAME] NUMBER --reason unspecified|keyCompromise|affiliationChanged|superseded|cessationOfOperation
  cert renewal [--tenant NAME] NUMBER on|off
  master-key rotate [--new-key BASE64]
  backup --out FILE                       a consistent copy of the live SQLite store (while the server serves)
  restore FILE [--force]                  put a backup in place of the SQLite store (refused while it is in use;
                                          --force to replace an existing store)
  audit verify [--tenant NAME]            check the audit log's hash chains (every tenant's without --tenant);
                                          exit status 1 and the first altered, removed or reordered event if broken
  ncp curl METHOD URI [--data FILE|-] [--base URL] [--run]
                                          a request signed for the NCP faces (keys from NCP_ACCESS_KEY and
                                          NCP_SECRET_KEY): prints the curl command, or sends it with --run
  target set [--tenant NAME] directory [--path DIR] [--create] [--reload-command CMD] [--reload-timeout 10s]
                                                    (changes only what is given; --create makes DIR)
  target set [--tenant NAME] webhook --url URL      (prints the signing secret once)
  target show [--tenant NAME]
  target clear [--tenant NAME]                      (refused while the tenant has edge slots)
  slot list [--tenant NAME] [--page N]             edge slots (docs/compat/edge.md), 50 a page
  slot create [--tenant NAME] --cert NUMBER|NAME [--global-cert NUMBER|NAME]
              [--tls-version TLS_MIN_VERSION_1_2|TLS_ALL_VERSIONS] [--cipher DEFAULT|GENERAL|STRICT]
              (the server's worker publishes it to the target; --global-cert: a KR_JP_GLOBAL slot whose
              global item is that Global Edge Dedicated certificate)
  slot show [--tenant NAME] SLOT                   status, certificate, where its files are
  slot delete [--tenant NAME] SLOT
  notify channel add [--tenant NAME] webhook|slack CHANNEL --url URL   (webhook: prints the signing secret once)
  notify channel add [--tenant NAME] email CHANNEL --smtp-host H [--smtp-port P] [--smtp-security starttls|tls]
                     [--smtp-user U --smtp-password-file FILE] --from ADDR --to ADDR[,ADDR]
  notify channel list|remove CHANNEL
  notify rule add [--tenant NAME] RULE --events E[,E] --channels C[,C] [--match PATTERN]
  notify rule list|remove RULE
  notify thresholds [--tenant NAME] [--set 30,14,7,3,1 | --reset]
  notify test [--tenant NAME] CHANNEL               send a sample notification now
  notify log [--tenant NAME] [--channel C] [--limit N]

Options: --json prints machine-readable output. --tenant defaults to "default".
Configuration comes from the environment: CERTKEEPER_DATA_DIR, DATABASE_URL, CERTKEEPER_MASTER_KEY, ...
`;

class UsageError extends Error {}

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  tenant: { type: 'string' },
  role: { type: 'string' },
  description: { type: 'string' },
  name: { type: 'string' },
  search: { type: 'string' },
  contains: { type: 'string' },
  'domain-contains': { type: 'string' },
  covers: { type: 'string' },
  zone: { type: 'string' },
  ip: { type: 'string' },
  'expires-within': { type: 'string' },
  'expires-after': { type: 'string' },
  'expires-before': { type: 'string' },
  issuer: { type: 'string' },
  after: { type: 'string' },
  domain: { type: 'string' },
  status: { type: 'string' },
  sort: { type: 'string' },
  desc: { type: 'boolean' },
  page: { type: 'string' },
  'page-size': { type: 'string' },
  all: { type: 'boolean' },
  create: { type: 'boolean' },
  data: { type: 'string' },
  base: { type: 'string' },
  run: { type: 'boolean' },
  cert: { type: 'string' },
  key: { type: 'string' },
  chain: { type: 'string' },
  out: { type: 'string' },
  format: { type: 'string' },
  legacy: { type: 'boolean' },
  'passphrase-file': { type: 'string' },
  p12: { type: 'string' },
  'name-from': { type: 'string' },
  'dry-run': { type: 'boolean' },
  workers: { type: 'string' },
  'new-key': { type: 'string' },
  path: { type: 'string' },
  'reload-command': { type: 'string' },
  'reload-timeout': { type: 'string' },
  url: { type: 'string' },
  'key-type': { type: 'string' },
  method: { type: 'string' },
  'no-renewal': { type: 'boolean' },
  events: { type: 'string' },
  channels: { type: 'string' },
  match: { type: 'string' },
  'smtp-host': { type: 'string' },
  'smtp-port': { type: 'string' },
  'smtp-security': { type: 'string' },
  'smtp-user': { type: 'string' },
  'smtp-password-file': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  channel: { type: 'string' },
  limit: { type: 'string' },
  set: { type: 'string' },
  reset: { type: 'boolean' },
  force: { type: 'boolean' },
  download: { type: 'string' },
  deleted: { type: 'boolean' },
  csr: { type: 'string' },
  reason: { type: 'string' },
  'tls-version': { type: 'string' },
  'global-cert': { type: 'string' },
  cipher: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

type Flags = ReturnType<typeof parseFlags>['values'];

function parseFlags(argv: string[]) {
  // `--key` is a file for `cert import` and a switch for `cert export`: parse it per command.
  const exportKey = argv[0] === 'cert' && (argv[1] === 'export' || argv[1] === 'versions');
  // `--domain` is a filter for `cert list` and repeatable for `cert request`.
  const request = argv[0] === 'cert' && (argv[1] === 'request' || argv[1] === 'reissue');
  const options = exportKey
    ? { ...OPTIONS, key: { type: 'boolean' } }
    : request
      ? { ...OPTIONS, domain: { type: 'string', multiple: true } }
      : OPTIONS;
  try {
    return parseArgs({ args: argv, options: options as typeof OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  let app: App | null = null;
  try {
    const { values: flags, positionals } = parseFlags(argv);
    const [group, verb, ...rest] = positionals;
    if (flags.help || !group) {
      io.stdout.write(USAGE);
      return group || flags.help ? 0 : 2;
    }
    const config = loadConfig(io.env);
    if (group === 'ncp') {
      if (verb !== 'curl') throw new UsageError('ncp takes curl');
      return await ncpCurl(
        {
          method: rest[0],
          uri: rest[1],
          data: flags.data,
          base: flags.base ?? `http://127.0.0.1:${config.port}`,
          run: flags.run === true,
        },
        io,
        (message) => new UsageError(message),
      );
    }
    if (group === 'serve') {
      await serve(
        config,
        { stdout: io.stdout },
        {
          edgeWorker: edgeWorkerSettings(io.env),
          issuance: loadIssuanceConfig(io.env),
          issuanceWorker: issuanceWorkerSettings(io.env),
          notify: notifySettings(io.env, config),
          retention: retentionSettings(io.env),
        },
      );
      return 0;
    }
    if (group === 'backup' || group === 'restore') {
      const out = (value: unknown, human: string) => io.stdout.write(flags.json ? json(value) : human);
      const usage = (message: string) => new UsageError(message);
      if (group === 'backup') await runBackup(config, verb === undefined ? flags.out : undefined, out, usage);
      else await runRestore(config, rest.length === 0 ? verb : undefined, flags.force === true, out, usage);
      return 0;
    }
    const issuance = loadIssuanceConfig(io.env);
    // `serve` logs these at start; every other command says them once on stderr (stdout stays
    // the command's own output, --json included).
    for (const warning of issuance.warnings ?? []) io.stderr.write(`certkeeper: warning: ${warning}\n`);
    app = await openApp(config, {
      issuance,
      notify: notifySettings(io.env, config),
      retention: retentionSettings(io.env),
    });
    const out = (value: unknown, human: string) => io.stdout.write(flags.json ? json(value) : human);
    return (await dispatch(app, group, verb, rest, flags, out, io.env, io.stderr)) ?? 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`certkeeper: ${error.message}\nRun 'certkeeper --help' for usage.\n`);
      return 2;
    }
    io.stderr.write(`certkeeper: ${describeError(error)}\n`);
    return 1;
  } finally {
    await app?.close();
  }
}

function describeError(error: unknown): string {
  if (isAppError(error)) return `${error.message} (${error.code}${error.field ? `, ${error.field}` : ''})`;
  if (error instanceof Error && error.name === 'ConfigError') return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

type Out = (value: unknown, human: string) => void;

async function dispatch(
  app: App,
  group: string,
  verb: string | undefined,
  args: string[],
  flags: Flags,
  out: Out,
  env: NodeJS.ProcessEnv = {},
  stderr: ProgressStream = { write: () => undefined },
): Promise<number | void> {
  const { core } = app;
  const command = `${group} ${verb ?? ''}`.trim();
  switch (command) {
    case 'migrate': {
      await app.migrate();
      out({ migrated: true }, 'Migrations applied.\n');
      return;
    }
    case 'tenant create': {
      const tenant = await core.tenants.create(required(args[0], 'tenant create NAME'));
      out(presentTenant(tenant), keyValues(presentTenant(tenant)));
      return;
    }
    case 'tenant list': {
      const tenants = (await core.tenants.list()).map(presentTenant);
      out(tenants, table(tenants, ['name', 'memberNo', 'appKey']));
      return;
    }
    case 'tenant appkey-auth': {
      const name = required(args[0], 'tenant appkey-auth NAME on|off');
      const state = required(args[1], 'tenant appkey-auth NAME on|off');
      if (state !== 'on' && state !== 'off') throw new UsageError('tenant appkey-auth takes "on" or "off"');
      const tenant = await core.tenants.setAppKeyAuth(name, state === 'on');
      out(
        { ...presentTenant(tenant), appKeyAuth: tenant.appKeyAuthEnabled },
        `appKey-only access for '${tenant.name}' is ${state}.\n`,
      );
      return;
    }
    case 'credential create': {
      const tenant = await core.tenants.get(flags.tenant ?? 'default');
      const role = parseRole(flags.role);
      const { credential, secretKey } = await core.credentials.createForTenant(
        tenant.id,
        role,
        flags.description ?? '',
      );
      const result = { accessKey: credential.accessKey, secretKey, role: credential.role, tenant: tenant.name };
      out(result, `${keyValues(result)}The secret key is shown only now. Store it safely.\n`);
      return;
    }
    case 'credential list': {
      const tenants = new Map((await core.tenants.list()).map((t) => [t.id, t.name]));
      const tenantId = flags.tenant ? (await core.tenants.get(flags.tenant)).id : undefined;
      const rows = (await core.credentials.list(null, tenantId)).map((c) =>
        presentCredential(c, tenants.get(c.tenantId) ?? '?'),
      );
      out(rows, table(rows, ['accessKey', 'role', 'tenant', 'createdAt', 'revokedAt', 'description']));
      return;
    }
    case 'credential revoke': {
      const accessKey = required(args[0], 'credential revoke ACCESS_KEY');
      await core.credentials.revoke(null, accessKey);
      out({ accessKey, revoked: true }, `Revoked ${accessKey}.\n`);
      return;
    }
    case 'cert import': {
      const actor = cliActor((await core.tenants.get(flags.tenant ?? 'default')).id);
      const name = required(flags.name, 'cert import --name N');
      const fields = await importUpload(flags, env, (message) => new UsageError(message));
      const certificate = await core.certificates.import(
        actor,
        { name, fields },
        { origin: 'cli', policy: { requireKey: false, allowEd25519: true, nameRule: null } },
      );
      const row = presentCertificate(certificate, core.clock.now());
      out(row, keyValues(row));
      return;
    }
    case 'cert import-dir': {
      const actor = cliActor((await core.tenants.get(flags.tenant ?? 'default')).id);
      if (args.length !== 1) throw new UsageError('cert import-dir takes one directory: cert import-dir DIR');
      return runImportDir(core, actor, args[0]!, flags, out, env, stderr, (message) => new UsageError(message));
    }
    case 'cert list': {
      if (flags.deleted) return certHistory(app, 'list-deleted', args, flags, out, env);
      await runCertList(core, await core.tenants.get(flags.tenant ?? 'default'), flags, out, (m) => new UsageError(m));
      return;
    }
    case 'cert show': {
      const actor = cliActor((await core.tenants.get(flags.tenant ?? 'default')).id);
      const certificate = await core.certificates.get(actor, certificateNumber(args[0]));
      const usedBy = await core.certificates.usedBy(actor, certificate.certificateNo);
      const row = { ...presentCertificate(certificate, core.clock.now()), usedBy: usedBy.join(',') };
      out(
        { ...row, facts: certificate.facts, chainLength: certificate.chainPems.length },
        keyValues({
          ...row,
          subjectDn: certificate.facts.subjectDn,
          sans: certificate.facts.sans.dns.join(','),
          ipSans: certificate.facts.sans.ip.join(','),
          serialNumber: certificate.facts.serialNumber,
          fingerprintSha256: certificate.facts.fingerprintSha256,
        }),
      );
      return;
    }
    case 'cert export': {
      const actor = cliActor((await core.tenants.get(flags.tenant ?? 'default')).id);
      const usage = (message: string) => new UsageError(message);
      await exportCertificate(core, actor, certificateNumber(args[0]), flags, env, out, usage);
      return;
    }
    case 'cert delete': {
      const actor = cliActor((await core.tenants.get(flags.tenant ?? 'default')).id);
      const certificate = await core.certificates.delete(actor, certificateNumber(args[0]));
      out(
        { certificateNo: certificate.certificateNo, deleted: true },
        `Deleted certificate ${certificate.certificateNo} (${certificate.name}).\n${
          app.retention.deleteRetentionDays === 0
            ? ''
            : `Recoverable for ${app.retention.deleteRetentionDays} day(s): certkeeper cert restore ${certificate.certificateNo}\n`
        }`,
      );
      return;
    }
    case 'cert replace':
    case 'cert versions':
    case 'cert restore':
    case 'cert purge':
      return certHistory(app, verb as 'replace' | 'versions' | 'restore' | 'purge', args, flags, out, env);
    case 'cert request': {
      const actor = cliActor((await core.tenants.get(flags.tenant ?? 'default')).id);
      const domains = (flags.domain ?? []) as unknown as string[];
      const keyType = flags['key-type'] ?? 'ec-p256';
      if (keyType !== 'ec-p256' && keyType !== 'ec-p384' && keyType !== 'rsa-2048')
        throw new UsageError('--key-type takes ec-p256, ec-p384 or rsa-2048');
      const method = flags.method ?? 'dns-01';
      if (method !== 'dns-01' && method !== 'http-01') throw new UsageError('--method takes dns-01 or http-01');
      const order = await app.issuance.request(actor, {
        name: required(flags.name, 'cert request --name N --domain D'),
        domains,
        keyKind: keyType,
        method,
        renewal: !flags['no-renewal'],
      });
      await presentOrder(app, actor, order, out);
      return;
    }
    case 'cert order': {
      const actor = cliActor((await core.tenants.get(flags.tenant ?? 'default')).id);
      const sub = args[0];
      if (sub === 'list') {
        const size = Number(flags['page-size'] ?? 50);
        const page = Number(flags.page ?? 1);
        const orders = await app.issuance.listOrders(actor, { offset: (page - 1) * size, limit: size });
        const rows = orders.map((o) => ({
          order: o.orderId,
          kind: o.kind,
          name: o.certificateName,
          step: o.step,
          certificateNo: o.certificateNo ?? '',
          domains: o.names.join(','),
          updatedAt: o.updatedAt.toISOString(),
        }));
        out(rows, table(rows, ['order', 'kind', 'name', 'step', 'certificateNo', 'domains', 'updatedAt']));
        return;
      }
      if (sub === 'show') {
        const orderId = Number(required(args[1], 'cert order show ORDER'));
        if (!Number.isSafeInteger(orderId)) throw new UsageError('cert order show takes an order number');
        await presentOrder(app, actor, await app.issuance.getOrder(actor, orderId), out);
        return;
      }
      throw new UsageError('cert order takes list or show');
    }
    case 'cert reissue':
    case 'cert register-key':
    case 'cert revoke':
    case 'cert renewal': {
      const tenant = await core.tenants.get(flags.tenant ?? 'default');
      await runCertLifecycleCommand(app, tenant, verb as CertLifecycleVerb, args, flags, out, {
        usage: (message) => new UsageError(message),
        readText,
        certificateNumber,
      });
      return;
    }
    case 'target set':
    case 'target show':
    case 'target clear': {
      const tenant = await core.tenants.get(flags.tenant ?? 'default');
      await runTargetCommand(
        core,
        tenant,
        verb as 'set' | 'show' | 'clear',
        args,
        flags,
        out,
        (message) => new UsageError(message),
      );
      return;
    }
    case 'slot list':
    case 'slot create':
    case 'slot show':
    case 'slot delete': {
      const tenant = await core.tenants.get(flags.tenant ?? 'default');
      await runSlotCommand(core, tenant, verb as 'list', args, flags, out, (message) => new UsageError(message));
      return;
    }
    case 'notify channel':
    case 'notify rule':
    case 'notify thresholds':
    case 'notify test':
    case 'notify log': {
      const tenant = await core.tenants.get(flags.tenant ?? 'default');
      await runNotifyCommand(core, tenant, verb, args, flags, env, out, (message) => new UsageError(message));
      return;
    }
    case 'audit verify': {
      const scope = flags.tenant === undefined ? null : await core.tenants.get(flags.tenant);
      return runAuditVerify(core, await core.tenants.list(), scope, out);
    }
    case 'master-key rotate': {
      const result = await app.rotateMasterKey(flags['new-key']);
      const instructions = result.instructions ? `${result.instructions.trimEnd()}\n` : '';
      out(result, `Re-wrapped ${result.rewrapped} data key(s).\n${instructions}`);
      return;
    }
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

async function certHistory(
  app: App,
  verb: 'replace' | 'versions' | 'restore' | 'purge' | 'list-deleted',
  args: string[],
  flags: Flags,
  out: Out,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const tenant = await app.core.tenants.get(flags.tenant ?? 'default');
  await runCertHistoryCommand(app.core, tenant, verb, args, flags, {
    out,
    usage: (message) => new UsageError(message),
    readFields: () => importFields(flags, env, (message) => new UsageError(message)),
    present: (certificate) => presentCertificate(certificate, app.core.clock.now()),
  });
}

function required<T>(value: T | undefined, usage: string): T {
  if (value === undefined || value === '') throw new UsageError(`missing argument: ${usage}`);
  return value;
}

function positiveInt(text: string, flag: string): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) throw new UsageError(`${flag} takes a positive integer`);
  return Number(text);
}

function certificateNumber(text: string | undefined): number {
  return positiveInt(required(text, 'certificate NUMBER'), 'NUMBER');
}

function parseRole(role: string | undefined): Role {
  if (role === 'ADMIN' || role === 'VIEWER') return role;
  throw new UsageError('--role takes ADMIN or VIEWER');
}

async function presentOrder(app: App, actor: ReturnType<typeof cliActor>, order: IssuanceOrder, out: Out) {
  const records = await app.issuance.verification(actor, order);
  const value = {
    order: order.orderId,
    kind: order.kind,
    name: order.certificateName,
    step: order.step,
    certificateNo: order.certificateNo,
    domains: order.names,
    method: order.method,
    records: records.map((r) => ({ name: r.recordName, type: r.recordType, value: r.recordValue, state: r.state })),
    problem: order.problem,
    lastError: order.lastError,
  };
  const human =
    keyValues({
      order: order.orderId,
      kind: order.kind,
      name: order.certificateName,
      step: order.step,
      certificateNo: order.certificateNo ?? '',
      domains: order.names.join(', '),
      method: order.method,
      ...(order.problem ? { problem: `${order.problem.type}: ${order.problem.detail ?? ''}` } : {}),
      ...(order.lastError ? { lastError: order.lastError } : {}),
    }) +
    (records.length > 0
      ? `\nCreate these DNS records (once per domain; they stay for renewals):\n${table(
          records.map((r) => ({
            record: `${r.recordName}.`,
            type: r.recordType,
            value: `${r.recordValue}.`,
            state: r.state,
          })),
          ['record', 'type', 'value', 'state'],
        )}`
      : '');
  out(value, human);
}

function presentTenant(tenant: Tenant) {
  return { name: tenant.name, memberNo: tenant.memberNo, appKey: tenant.appKey };
}

function presentCredential(credential: Credential, tenant: string) {
  return {
    accessKey: credential.accessKey,
    role: credential.role,
    tenant,
    description: credential.description,
    createdAt: credential.createdAt.toISOString(),
    revokedAt: credential.revokedAt?.toISOString() ?? null,
  };
}
