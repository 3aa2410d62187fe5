/**
 * `certkeeper slot …`: the tenant's Global Edge slots from the command line, through core's
 * provisioning use-cases (core/provisioning.ts), the same rules and audit as the Global Edge API
 * and the console (docs/compat/edge.md).
 *
 *   slot list [--tenant NAME] [--page N]               slots that are not DELETED, newest first, 50 a page
 *   slot create [--tenant NAME] --cert NUMBER|NAME [--global-cert NUMBER|NAME] [--tls-version V] [--cipher P]
 *                                                      with --global-cert: a KR_JP_GLOBAL slot, whose global
 *                                                      item is that Global Edge Dedicated certificate
 *   slot show [--tenant NAME] SLOT                     any slot, DELETED included; where its files are
 *   slot delete [--tenant NAME] SLOT                   the worker then removes it from the target
 *
 * The slot publishes through the server's provisioning worker: `create` and `delete` record what
 * is wanted and return, `slot show` tells how far the worker got.
 */
import { cliActor } from '../core/actor.ts';
import type { Core } from '../core/core.ts';
import type { SlotView } from '../core/provisioning.ts';
import { aliasDirectory, slotDirectory, type DeployTarget } from '../domain/deploy-target.ts';
import {
  CIPHER_PROFILES,
  onTargetText,
  primaryItem,
  TLS_VERSIONS,
  type CipherProfile,
  type TlsVersion,
} from '../domain/edge-slot.ts';
import type { Tenant } from '../domain/model.ts';
import { keyValues, table } from './output.ts';

export interface SlotFlags {
  cert?: string | undefined;
  'global-cert'?: string | undefined;
  'tls-version'?: string | undefined;
  cipher?: string | undefined;
  page?: string | undefined;
}

type Out = (value: unknown, human: string) => void;
type Usage = (message: string) => Error;

const PAGE_SIZE = 50;

function positive(text: string | undefined, what: string, usage: Usage): number {
  if (text === undefined || !/^[1-9][0-9]{0,14}$/.test(text)) throw usage(`${what} takes a positive whole number`);
  return Number(text);
}

function choice<T extends string>(
  text: string | undefined,
  flag: string,
  allowed: readonly T[],
  fallback: T,
  usage: Usage,
): T {
  if (text === undefined) return fallback;
  if ((allowed as readonly string[]).includes(text)) return text as T;
  throw usage(`${flag} takes ${allowed.join(', ')}`);
}

/** The slot as the CLI shows it: plain words for the deployment, where a directory target puts it. */
function presentSlot(view: SlotView, target: DeployTarget | null) {
  const { slot } = view;
  const d = slot.deployment;
  const item = primaryItem(slot);
  const certificate = view.items.find((entry) => entry.item === item)?.certificate ?? null;
  const global = view.items.find((entry) => entry.item.region === 'GLOBAL') ?? null;
  const directory = target?.spec.kind === 'directory' ? target.spec.path : null;
  return {
    slotId: slot.slotId,
    status: slot.status,
    serviceRegion: slot.serviceRegion,
    certificateNo: item?.certificateNo ?? null,
    certificateName: certificate?.name ?? null,
    globalCertificateNo: global?.item.certificateNo ?? null,
    globalCertificateName: global?.certificate?.name ?? null,
    tlsVersion: slot.tlsVersion,
    cipherProfile: slot.cipherProfile,
    onTarget: onTargetText(slot),
    lastError: d.lastError,
    targetKind: view.targetKind,
    directory: directory === null ? null : slotDirectory(directory, slot.slotId),
    byName: directory === null || certificate === null ? null : aliasDirectory(directory, certificate.name),
    createdAt: slot.createdAt.toISOString(),
    updatedAt: slot.updatedAt.toISOString(),
  };
}

export async function runSlotCommand(
  core: Core,
  tenant: Tenant,
  verb: 'list' | 'create' | 'show' | 'delete',
  args: readonly string[],
  flags: SlotFlags,
  out: Out,
  usage: Usage,
): Promise<void> {
  const actor = cliActor(tenant.id);
  const target = await core.targets.get(actor);
  const show = async (slotId: number, note: string): Promise<void> => {
    const slot = presentSlot(await core.provisioning.get(actor, slotId), target);
    out(slot, `${note}${keyValues(slot)}`);
  };
  switch (verb) {
    case 'list': {
      const page = flags.page === undefined ? 1 : positive(flags.page, '--page', usage);
      const result = await core.provisioning.list(actor, { offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE });
      const rows = result.items.map((view) => presentSlot(view, target));
      const pages = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
      const footer =
        result.total === 0
          ? ''
          : `Page ${page} of ${pages}: ${result.total} slot(s) in all.${page < pages ? ` Next: --page ${page + 1}.` : ''}\n`;
      out(
        { items: rows, total: result.total, page, pageSize: PAGE_SIZE },
        table(rows, ['slotId', 'status', 'certificateNo', 'certificateName', 'onTarget', 'lastError']) + footer,
      );
      return;
    }
    case 'create': {
      if (flags.cert === undefined) throw usage('slot create needs --cert NUMBER|NAME');
      /** A certificate given by number or by name. */
      const certificateOf = async (ref: string, flag: string): Promise<number> =>
        /^[0-9]+$/.test(ref)
          ? positive(ref, flag, usage)
          : (await core.certificates.getByName(actor, ref)).certificateNo;
      const certificateNo = await certificateOf(flags.cert, '--cert');
      const globalNo =
        flags['global-cert'] === undefined ? null : await certificateOf(flags['global-cert'], '--global-cert');
      const tlsVersion: TlsVersion = choice(
        flags['tls-version'],
        '--tls-version',
        TLS_VERSIONS,
        'TLS_MIN_VERSION_1_2',
        usage,
      );
      const cipherProfile: CipherProfile = choice(flags.cipher, '--cipher', CIPHER_PROFILES, 'DEFAULT', usage);
      const slot = await core.provisioning.provision(actor, {
        // Core checks which certificate may be which item (a Global Edge Dedicated one only global).
        serviceRegion: globalNo === null ? 'KR_JP' : 'KR_JP_GLOBAL',
        certificateNos: globalNo === null ? [certificateNo] : [certificateNo, globalNo],
        tlsVersion,
        cipherProfile,
      });
      await show(slot.slotId, `Created edge slot ${slot.slotId}; the server's worker publishes it.\n`);
      return;
    }
    case 'show': {
      await show(positive(args[0], 'slot show SLOT', usage), '');
      return;
    }
    case 'delete': {
      const slotId = positive(args[0], 'slot delete SLOT', usage);
      await core.provisioning.delete(actor, slotId);
      await show(slotId, `Edge slot ${slotId} is being deleted; the server's worker removes it from the target.\n`);
      return;
    }
  }
}
