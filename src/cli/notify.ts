/**
 * `certkeeper notify …`: a tenant's notification channels and rules, expiry thresholds, test
 * sends and the delivery log (docs/notifications.md).
 *
 *   notify channel add [--tenant T] webhook NAME --url URL     (prints the signing secret once)
 *   notify channel add [--tenant T] slack NAME --url URL
 *   notify channel add [--tenant T] email NAME --smtp-host H [--smtp-port P] [--smtp-security starttls|tls]
 *                      [--smtp-user U --smtp-password-file FILE] --from ADDR --to ADDR[,ADDR…]
 *   notify channel list|remove NAME
 *   notify rule add [--tenant T] NAME --events E[,E…] --channels C[,C…] [--match PATTERN]
 *   notify rule list|remove NAME
 *   notify thresholds [--tenant T] [--set 30,14,7,3,1 | --reset]
 *   notify test [--tenant T] CHANNEL
 *   notify log [--tenant T] [--channel C] [--limit N]
 *
 * The SMTP password is read from a file (or CERTKEEPER_SMTP_PASSWORD), never from the command
 * line, where other users of the machine could see it in the process list.
 */
import { readFile } from 'node:fs/promises';
import { cliActor } from '../core/actor.ts';
import type { Core } from '../core/core.ts';
import type { Channel } from '../core/notifications/model.ts';
import type { Tenant } from '../domain/model.ts';
import { keyValues, table } from './output.ts';

export interface NotifyFlags {
  url?: string | undefined;
  events?: string | undefined;
  channels?: string | undefined;
  match?: string | undefined;
  'smtp-host'?: string | undefined;
  'smtp-port'?: string | undefined;
  'smtp-security'?: string | undefined;
  'smtp-user'?: string | undefined;
  'smtp-password-file'?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  channel?: string | undefined;
  limit?: string | undefined;
  set?: string | undefined;
  reset?: boolean | undefined;
}

type Out = (value: unknown, human: string) => void;

function describeChannel(channel: Channel): string {
  const c = channel.config;
  if (c.kind === 'webhook') return c.url;
  if (c.kind === 'slack') return `incoming webhook at ${c.host}`;
  return `${c.host}:${c.port} (${c.security}${c.username ? `, as ${c.username}` : ''}) ${c.from} → ${c.to.join(', ')}`;
}

export async function runNotifyCommand(
  core: Core,
  tenant: Tenant,
  verb: string | undefined,
  args: readonly string[],
  flags: NotifyFlags,
  env: NodeJS.ProcessEnv,
  out: Out,
  usage: (message: string) => Error,
): Promise<void> {
  const actor = cliActor(tenant.id);
  const n = core.notifications;
  const need = (value: string | undefined, what: string): string => {
    if (value === undefined || value === '') throw usage(`notify ${verb}: ${what} is required`);
    return value;
  };
  // `channel` and `rule` take a sub-verb; `thresholds`, `test` and `log` do not.
  const sub = verb === 'channel' || verb === 'rule' ? `${verb} ${args[0] ?? ''}`.trim() : (verb ?? '');
  switch (sub) {
    case 'channel add': {
      const kind = need(args[1], 'the kind (webhook, slack or email)');
      const name = need(args[2], 'the channel NAME');
      let input;
      if (kind === 'webhook' || kind === 'slack') input = { kind, name, url: need(flags.url, '--url') } as const;
      else if (kind === 'email') {
        const passwordFile = flags['smtp-password-file'];
        const password = passwordFile
          ? (await readFile(passwordFile, 'utf8')).replace(/\r?\n$/, '')
          : (env.CERTKEEPER_SMTP_PASSWORD ?? null);
        const port = flags['smtp-port'];
        if (port !== undefined && !/^[0-9]{1,5}$/.test(port)) throw usage('--smtp-port takes a port number');
        input = {
          kind,
          name,
          host: need(flags['smtp-host'], '--smtp-host'),
          ...(port === undefined ? {} : { port: Number(port) }),
          ...(flags['smtp-security'] === undefined ? {} : { security: flags['smtp-security'] as 'starttls' | 'tls' }),
          username: flags['smtp-user'] ?? null,
          password: password === '' ? null : password,
          from: need(flags.from, '--from'),
          to: need(flags.to, '--to'),
        } as const;
      } else throw usage(`notify channel add: the kind is webhook, slack or email, not ${JSON.stringify(kind)}`);
      const { channel, secret } = await n.addChannel(actor, input);
      const shown = {
        tenant: tenant.name,
        name: channel.name,
        kind: channel.config.kind,
        target: describeChannel(channel),
        ...(secret === null ? {} : { secret }),
      };
      const note =
        secret === null
          ? ''
          : 'The signing secret is shown only now: give it to the receiver, which checks x-certkeeper-signature with it.\n';
      out(shown, `${keyValues(shown)}${note}`);
      return;
    }
    case 'channel list': {
      const rows = (await n.listChannels(actor)).map((c) => ({
        name: c.name,
        kind: c.config.kind,
        target: describeChannel(c),
        lastAttempt: c.health.lastAttemptAt?.toISOString() ?? null,
        lastOutcome: c.health.lastOutcome,
        failuresInARow: c.health.failuresInARow,
        pending: c.health.pending,
      }));
      out(rows, table(rows, ['name', 'kind', 'target', 'lastAttempt', 'lastOutcome', 'failuresInARow', 'pending']));
      return;
    }
    case 'channel remove': {
      const name = need(args[1], 'the channel NAME');
      await n.removeChannel(actor, name);
      out({ name, removed: true }, `Removed channel ${name} (and its pending deliveries).\n`);
      return;
    }
    case 'rule add': {
      const rule = await n.addRule(actor, {
        name: need(args[1], 'the rule NAME'),
        events: need(flags.events, '--events'),
        channels: need(flags.channels, '--channels'),
        certificatePattern: flags.match ?? null,
      });
      out(rule, `Added rule ${rule.name}.\n`);
      return;
    }
    case 'rule list': {
      const channels = new Map((await n.listChannels(actor)).map((c) => [c.id, c.name]));
      const rules = await n.listRules(actor);
      const rows = rules.map((r) => ({
        name: r.name,
        events: r.events.join(','),
        match: r.certificatePattern,
        channels: r.channelIds.map((id) => channels.get(id) ?? `#${id}`).join(','),
      }));
      out(rules, table(rows, ['name', 'events', 'match', 'channels']));
      return;
    }
    case 'rule remove': {
      const name = need(args[1], 'the rule NAME');
      await n.removeRule(actor, name);
      out({ name, removed: true }, `Removed rule ${name}.\n`);
      return;
    }
    case 'thresholds': {
      if (flags.set !== undefined && flags.reset) throw usage('notify thresholds takes --set or --reset, not both');
      if (flags.set !== undefined || flags.reset) await n.setThresholds(actor, flags.reset ? null : flags.set);
      const current = await n.thresholds(actor);
      out(current, `Expiry thresholds (days): ${current.days.join(', ')}${current.custom ? '' : ' (defaults)'}\n`);
      return;
    }
    case 'test': {
      const name = need(args[0], 'the CHANNEL');
      const { deliveryId, outcome } = await n.test(actor, name);
      const result = { channel: name, deliveryId, ...outcome };
      if (outcome.kind === 'sent')
        out(result, `Sent a test notification on ${name}${outcome.statusCode ? ` (${outcome.statusCode})` : ''}.\n`);
      else if (outcome.kind === 'failed') {
        out(result, `The test notification on ${name} failed: ${outcome.error}\n`);
        throw Object.assign(new Error(`test send on ${name} failed`), { name: 'TestSendFailed' });
      } else out(result, 'The test delivery was taken by another worker; see `certkeeper notify log`.\n');
      return;
    }
    case 'log': {
      const limit = flags.limit === undefined ? 50 : Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw usage('--limit takes 1 to 500');
      const lines = await n.log(actor, { limit, ...(flags.channel ? { channel: flags.channel } : {}) });
      const rows = lines.map((l) => ({
        at: l.at.toISOString(),
        channel: l.channelName,
        event: l.event,
        outcome: l.outcome,
        status: l.statusCode,
        nextRetry: l.nextAttemptAt?.toISOString() ?? null,
        error: l.error,
        key: l.eventKey,
      }));
      out(lines, table(rows, ['at', 'channel', 'event', 'outcome', 'status', 'nextRetry', 'error']));
      return;
    }
    default:
      throw usage(`unknown command 'notify ${sub}'`);
  }
}
