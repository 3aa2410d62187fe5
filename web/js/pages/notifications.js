/**
 * Notifications of the tenant (docs/notifications.md): channels with their health and a test
 * send, rules, expiry thresholds, and the delivery log. Everyone may look; the forms and buttons
 * that change something are shown to ADMINs only (the server refuses the rest anyway). A
 * webhook's signing secret is shown once, in a dialog, right after the channel is added.
 */
import { del, post, request } from '../api.js';
import { confirmDialog, openDialog } from '../dialog.js';
import { announce, cardTable, field, h, inlineForm, notice, showFailure } from '../dom.js';
import { formatDateTime } from '../format.js';
import { card, FAILED, load, pageTitle } from '../layout.js';
import { navigate } from '../router.js';

/**
 * @typedef {{ kind: string, url?: string, host?: string, port?: number, security?: string, username?: string | null, from?: string, to?: string[] }} ChannelConfig
 * @typedef {{ lastAttemptAt: string | null, lastOutcome: 'sent' | 'failed' | null, failuresInARow: number, pending: number }} ChannelHealth
 * @typedef {{ id: number, name: string, config: ChannelConfig, createdAt: string, health: ChannelHealth }} Channel
 * @typedef {{ id: number, name: string, events: string[], certificatePattern: string | null, channelIds: number[] }} Rule
 * @typedef {{ channels: Channel[], rules: Rule[], thresholds: { days: number[], custom: boolean } }} Notifications
 * @typedef {{ id: number, channelName: string, event: string, eventKey: string, outcome: string, statusCode: number | null, error: string | null, nextAttemptAt: string | null, at: string }} Attempt
 */

const EVENTS = [
  'certificate.expiring',
  'certificate.expired',
  'deployment.failed',
  'deployment.recovered',
  'issuance.succeeded',
  'issuance.failed',
  'renewal.failed',
  'renewal.recovered',
];

/** @param {ChannelConfig} c */
function describe(c) {
  if (c.kind === 'webhook') return c.url ?? '';
  if (c.kind === 'slack') return `incoming webhook at ${c.host}`;
  return `${c.host}:${c.port} (${c.security}) ${c.from} → ${(c.to ?? []).join(', ')}`;
}

/** @param {import('../main.js').PageContext} page */
export async function render(page) {
  /** @type {Notifications | undefined} */
  const data = await load(page, '/notifications');
  if (!data) return FAILED;
  const admin = page.session.can.writeCertificates;
  const status = h('div', { class: 'form-status' });
  const log = h('div', {});
  const parts = [
    pageTitle('Notifications'),
    h('p', {
      class: 'muted',
      text: 'Who hears about expiring certificates and failed deployments, and how. Each notice is sent once per channel.',
    }),
    status,
    h(
      'section',
      { 'aria-labelledby': 'channels' },
      h('h2', { id: 'channels', text: 'Channels' }),
      channelTable(data, admin, status),
    ),
    admin ? card('new-channel', 'New channel', channelForm(status)) : null,
    h(
      'section',
      { 'aria-labelledby': 'rules' },
      h('h2', { id: 'rules', text: 'Rules' }),
      ruleTable(data, admin, status),
    ),
    admin ? card('new-rule', 'New rule', ruleForm(data, status)) : null,
    card('thresholds', 'Expiry thresholds', thresholdsForm(data, admin, status)),
    h('section', { 'aria-labelledby': 'log' }, h('h2', { id: 'log', text: 'Delivery log' }), log),
  ];
  page.main.replaceChildren(...parts.filter((part) => part !== null));
  /** @type {{ items: Attempt[] } | undefined} */
  const lines = await load(page, '/notifications/log?limit=50', { into: log });
  if (lines) log.replaceChildren(logTable(lines.items));
  return 'Notifications';
}

/** @param {Notifications} data @param {boolean} admin @param {HTMLElement} status */
function channelTable(data, admin, status) {
  if (data.channels.length === 0) return h('p', { class: 'muted', text: 'No channels yet.' });
  return cardTable(
    'Channels',
    [
      'Name',
      'Kind',
      'Sends to',
      'Last delivery',
      'Failures in a row',
      'Pending',
      h('span', { class: 'visually-hidden', text: 'Actions' }),
    ],
    data.channels.map((c) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row', dataset: { label: 'Name' }, text: c.name }),
        h('td', { dataset: { label: 'Kind' }, text: c.config.kind }),
        h('td', { dataset: { label: 'Sends to' }, class: 'wrap', text: describe(c.config) }),
        h(
          'td',
          { dataset: { label: 'Last delivery' } },
          c.health.lastAttemptAt ? `${c.health.lastOutcome} ${formatDateTime(c.health.lastAttemptAt)}` : '—',
        ),
        h('td', {
          dataset: { label: 'Failures in a row' },
          class: c.health.failuresInARow > 0 ? 'days-critical' : '',
          text: String(c.health.failuresInARow),
        }),
        h('td', { dataset: { label: 'Pending' }, text: String(c.health.pending) }),
        h(
          'td',
          { dataset: { label: 'Actions' } },
          admin
            ? [
                h('button', {
                  type: 'button',
                  class: 'button button-secondary button-small',
                  'aria-label': `Send a test notification on ${c.name}`,
                  text: 'Test',
                  onClick: () => testSend(c, status),
                }),
                ' ',
                h('button', {
                  type: 'button',
                  class: 'button button-danger button-small',
                  'aria-label': `Remove ${c.name}`,
                  text: 'Remove…',
                  onClick: () => removeChannel(c, status),
                }),
              ]
            : null,
        ),
      ),
    ),
  );
}

/** @param {Channel} c @param {HTMLElement} status */
async function testSend(c, status) {
  try {
    /** @type {{ outcome: { kind: string, statusCode?: number | null, error?: string } }} */
    const result = await post(`/notifications/channels/${encodeURIComponent(c.name)}/test`);
    const ok = result.outcome.kind === 'sent';
    const text = ok
      ? `Test notification sent on ${c.name}${result.outcome.statusCode ? ` (${result.outcome.statusCode})` : ''}.`
      : `The test notification on ${c.name} failed: ${result.outcome.error ?? 'not delivered'}`;
    const box = notice(ok ? 'success' : 'error', text);
    box.tabIndex = -1;
    status.replaceChildren(box);
    box.focus();
    announce(text);
  } catch (error) {
    showFailure(error, status);
  }
}

/** @param {Channel} c @param {HTMLElement} status */
async function removeChannel(c, status) {
  const ok = await confirmDialog({
    title: `Remove channel ${c.name}?`,
    body: [h('p', { text: 'Its pending deliveries are dropped, and rules no longer send to it.' })],
    confirm: 'Remove',
    danger: true,
  });
  if (!ok) return;
  try {
    await del(`/notifications/channels/${encodeURIComponent(c.name)}`);
    announce(`Channel ${c.name} was removed.`);
    navigate('/notifications');
  } catch (error) {
    showFailure(error, status);
  }
}

/** @param {HTMLElement} status */
function channelForm(status) {
  const input = (/** @type {string} */ name, /** @type {string} */ type = 'text') =>
    h('input', { type, name, autocomplete: 'off' });
  const fields = {
    kind: field({
      name: 'kind',
      label: 'Kind',
      control: h(
        'select',
        { name: 'kind' },
        h('option', { value: 'webhook', text: 'Webhook (signed JSON)' }),
        h('option', { value: 'slack', text: 'Slack, Mattermost or Rocket.Chat' }),
        h('option', { value: 'email', text: 'E-mail (SMTP)' }),
      ),
    }),
    name: field({ name: 'name', label: 'Name', control: input('name') }),
    url: field({
      name: 'url',
      label: 'URL',
      hint: 'Webhook and Slack-compatible channels.',
      control: input('url', 'url'),
    }),
    host: field({ name: 'host', label: 'SMTP host', hint: 'E-mail only.', control: input('host') }),
    port: field({ name: 'port', label: 'SMTP port', hint: '587 (STARTTLS) by default.', control: input('port') }),
    username: field({ name: 'username', label: 'SMTP user', control: input('username') }),
    password: field({ name: 'password', label: 'SMTP password', control: input('password', 'password') }),
    from: field({ name: 'from', label: 'From', control: input('from', 'email') }),
    to: field({ name: 'to', label: 'To', hint: 'Addresses separated by commas.', control: input('to') }),
  };
  const value = (/** @type {keyof typeof fields} */ key) =>
    /** @type {HTMLInputElement} */ (fields[key].control).value.trim();
  const form = inlineForm('Add channel', ...Object.values(fields));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const f of Object.values(fields)) f.setError(null);
    const kind = value('kind');
    const body =
      kind === 'email'
        ? {
            kind,
            name: value('name'),
            host: value('host'),
            ...(value('port') ? { port: Number(value('port')) } : {}),
            username: value('username') || null,
            password: /** @type {HTMLInputElement} */ (fields.password.control).value || null,
            from: value('from'),
            to: value('to'),
          }
        : { kind, name: value('name'), url: value('url') };
    try {
      /** @type {{ channel: Channel, secret: string | null }} */
      const created = await post('/notifications/channels', body);
      if (created.secret) await showSecret(created.channel.name, created.secret);
      announce(`Channel ${created.channel.name} was added.`);
      navigate('/notifications');
    } catch (error) {
      showFailure(error, status, fields);
    }
  });
  return form;
}

/** @param {string} name @param {string} secret */
async function showSecret(name, secret) {
  await openDialog({
    title: `Signing secret of ${name}`,
    body: [
      notice(
        'info',
        'Give this secret to the receiver, which checks x-certkeeper-signature with it. It is shown only now.',
      ),
      h('input', {
        type: 'text',
        readonly: true,
        value: secret,
        class: 'secret',
        spellcheck: 'false',
        'aria-label': 'Signing secret',
      }),
    ],
    buttons: [{ label: 'I have stored the secret', value: 'done', kind: 'primary' }],
  });
}

/** @param {Notifications} data @param {boolean} admin @param {HTMLElement} status */
function ruleTable(data, admin, status) {
  if (data.rules.length === 0) return h('p', { class: 'muted', text: 'No rules yet: nothing is sent.' });
  const names = new Map(data.channels.map((c) => [c.id, c.name]));
  return cardTable(
    'Rules',
    ['Name', 'Events', 'Certificates', 'Channels', h('span', { class: 'visually-hidden', text: 'Actions' })],
    data.rules.map((r) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row', dataset: { label: 'Name' }, text: r.name }),
        h('td', { dataset: { label: 'Events' }, class: 'wrap', text: r.events.join(', ') }),
        h('td', { dataset: { label: 'Certificates' }, text: r.certificatePattern ?? 'all' }),
        h('td', {
          dataset: { label: 'Channels' },
          text: r.channelIds.map((id) => names.get(id) ?? `#${id}`).join(', '),
        }),
        h(
          'td',
          { dataset: { label: 'Actions' } },
          admin
            ? h('button', {
                type: 'button',
                class: 'button button-danger button-small',
                'aria-label': `Remove rule ${r.name}`,
                text: 'Remove',
                onClick: async () => {
                  try {
                    await del(`/notifications/rules/${encodeURIComponent(r.name)}`);
                    announce(`Rule ${r.name} was removed.`);
                    navigate('/notifications');
                  } catch (error) {
                    showFailure(error, status);
                  }
                },
              })
            : null,
        ),
      ),
    ),
  );
}

/** @param {Notifications} data @param {HTMLElement} status */
function ruleForm(data, status) {
  const fields = {
    name: field({
      name: 'name',
      label: 'Name',
      control: h('input', { type: 'text', name: 'name', autocomplete: 'off' }),
    }),
    events: field({
      name: 'events',
      label: 'Events',
      hint: 'Hold Ctrl or ⌘ to pick several.',
      control: h(
        'select',
        { name: 'events', multiple: true, size: '4' },
        EVENTS.map((e) => h('option', { value: e, text: e, selected: e.startsWith('certificate.') })),
      ),
    }),
    certificatePattern: field({
      name: 'certificatePattern',
      label: 'Certificates',
      hint: 'Optional: a name or DNS name, * for any run of characters (e.g. *.example.com).',
      control: h('input', { type: 'text', name: 'certificatePattern', autocomplete: 'off' }),
    }),
    channels: field({
      name: 'channels',
      label: 'Channels',
      control: h(
        'select',
        { name: 'channels', multiple: true, size: '3' },
        data.channels.map((c) => h('option', { value: c.name, text: c.name })),
      ),
    }),
  };
  const selected = (/** @type {HTMLElement} */ control) =>
    [.../** @type {HTMLSelectElement} */ (control).selectedOptions].map((o) => o.value);
  const form = inlineForm('Add rule', ...Object.values(fields));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const f of Object.values(fields)) f.setError(null);
    try {
      await post('/notifications/rules', {
        name: /** @type {HTMLInputElement} */ (fields.name.control).value.trim(),
        events: selected(fields.events.control),
        certificatePattern: /** @type {HTMLInputElement} */ (fields.certificatePattern.control).value.trim() || null,
        channels: selected(fields.channels.control),
      });
      announce('The rule was added.');
      navigate('/notifications');
    } catch (error) {
      showFailure(error, status, fields);
    }
  });
  return form;
}

/** @param {Notifications} data @param {boolean} admin @param {HTMLElement} status */
function thresholdsForm(data, admin, status) {
  const text = `${data.thresholds.days.join(', ')} days before expiry${data.thresholds.custom ? '' : ' (the defaults)'}. Certificates living under 60 days are judged by the fraction of their lifetime left.`;
  if (!admin) return h('p', { text });
  const days = field({
    name: 'thresholds',
    label: 'Days before expiry',
    hint: text,
    control: h('input', {
      type: 'text',
      name: 'thresholds',
      value: data.thresholds.days.join(', '),
      autocomplete: 'off',
    }),
  });
  const form = inlineForm('Save thresholds', days);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    days.setError(null);
    try {
      await request('PUT', '/notifications/thresholds', { days: /** @type {HTMLInputElement} */ (days.control).value });
      announce('The thresholds were saved.');
      navigate('/notifications');
    } catch (error) {
      showFailure(error, status, { thresholds: days });
    }
  });
  return form;
}

/** @param {Attempt[]} items */
function logTable(items) {
  if (items.length === 0) return h('p', { class: 'muted', text: 'Nothing was sent yet.' });
  return cardTable(
    'Delivery log',
    ['When', 'Channel', 'Event', 'Outcome', 'Status', 'Next retry', 'Error'],
    items.map((l) =>
      h(
        'tr',
        {},
        h('td', { dataset: { label: 'When' }, text: formatDateTime(l.at) }),
        h('td', { dataset: { label: 'Channel' }, text: l.channelName }),
        h('td', { dataset: { label: 'Event' }, text: l.event }),
        h('td', {
          dataset: { label: 'Outcome' },
          class: l.outcome === 'failed' ? 'days-critical' : '',
          text: l.outcome,
        }),
        h('td', { dataset: { label: 'Status' }, text: l.statusCode === null ? '—' : String(l.statusCode) }),
        h('td', { dataset: { label: 'Next retry' }, text: l.nextAttemptAt ? formatDateTime(l.nextAttemptAt) : '—' }),
        h('td', { dataset: { label: 'Error' }, class: 'wrap', text: l.error ?? '' }),
      ),
    ),
  );
}
