/** The dashboard: certificates by status, what expires soon, notification channels' health, and recent changes. */
import { cardTable, h } from '../dom.js';
import {
  actorText,
  domainsText,
  expiryText,
  formatDate,
  formatDateTime,
  statusBadge,
  targetHref,
  targetText,
  timelineEntry,
} from '../format.js';
import { FAILED, load, pageTitle } from '../layout.js';
import { href } from '../router.js';

/** @param {import('../main.js').PageContext} page */
export async function render(page) {
  /** @type {import('../api.js').Dashboard | undefined} */
  const data = await load(page, '/dashboard');
  if (!data) return FAILED;
  const { counts, expiring, soonest, recent, actors } = data;
  // Channel health is shown on both dashboards: a channel can fail before any certificate exists.
  const channels = h('div', {});
  const channelSection = h(
    'section',
    { 'aria-labelledby': 'channel-health' },
    h('h2', { id: 'channel-health' }, h('a', { href: href('/notifications'), text: 'Notification channels' })),
    channels,
  );
  const showChannels = async () => {
    /** @type {import('./notifications.js').Notifications | undefined} */
    const notifications = await load(page, '/notifications', { into: channels });
    if (notifications) channels.replaceChildren(channelHealth(notifications.channels));
    return 'Dashboard';
  };
  if (counts.total === 0 && page.session.can.writeCertificates) {
    page.main.replaceChildren(
      pageTitle('Dashboard'),
      h(
        'section',
        { class: 'card start', 'aria-labelledby': 'start-title' },
        h('h2', { id: 'start-title', text: 'No certificates yet' }),
        h('p', {
          text: 'Import a certificate with its private key and chain; then it can be watched for expiry and published to an edge slot.',
        }),
        h(
          'p',
          {},
          h('a', { class: 'button button-primary', href: href('/import'), text: 'Import your first certificate' }),
        ),
      ),
      channelSection,
      recentSection(recent, actors),
    );
    return showChannels();
  }

  const card = (
    /** @type {string} */ label,
    /** @type {number} */ value,
    /** @type {string | null} */ link,
    /** @type {string} */ tone,
  ) => {
    const inner = [
      h('span', { class: 'stat-value', text: value.toLocaleString() }),
      h('span', { class: 'stat-label', text: label }),
    ];
    return h(
      'li',
      { class: `stat stat-${tone}` },
      link ? h('a', { class: 'stat-body', href: link }, inner) : h('div', { class: 'stat-body' }, inner),
    );
  };

  page.main.replaceChildren(
    pageTitle('Dashboard'),
    h(
      'section',
      { 'aria-labelledby': 'by-status' },
      h('h2', { id: 'by-status', text: 'Certificates by status' }),
      h(
        'ul',
        { class: 'stats' },
        card('All certificates', counts.total, href('/certificates'), 'neutral'),
        card('Valid', counts.valid, href('/certificates', { status: 'unexpired' }), 'ok'),
        card(
          'Expired',
          counts.expired,
          href('/certificates', { status: 'expired' }),
          counts.expired > 0 ? 'bad' : 'neutral',
        ),
        card('Not yet valid', counts.notYetValid, null, 'neutral'),
      ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'expiring' },
      h('h2', { id: 'expiring', text: 'Expiring soon' }),
      h(
        'ul',
        { class: 'stats' },
        expiring.map((w) =>
          card(
            `Within ${w.days} days`,
            w.count,
            href('/certificates', { expiresWithin: String(w.days), sort: 'notAfter' }),
            w.count === 0 ? 'neutral' : w.days <= 7 ? 'bad' : w.days <= 30 ? 'warn' : 'neutral',
          ),
        ),
      ),
      soonest.length === 0
        ? h('p', { class: 'muted', text: 'No certificate is about to expire.' })
        : cardTable(
            'Certificates that expire first',
            ['Name', 'Status', 'Expires', 'Domains'],
            soonest.map((c) =>
              h(
                'tr',
                {},
                h(
                  'td',
                  { dataset: { label: 'Name' } },
                  h('a', { href: href(`/certificates/${c.certificateNo}`), text: c.name }),
                ),
                h('td', { dataset: { label: 'Status' } }, statusBadge(c.status)),
                h('td', { dataset: { label: 'Expires' } }, formatDate(c.notAfter), ' (', expiryText(c.notAfter), ')'),
                h('td', { dataset: { label: 'Domains' }, class: 'wrap', text: domainsText(c.domains) }),
              ),
            ),
          ),
    ),
    channelSection,
    recentSection(recent, actors),
  );
  return showChannels();
}

/** Each channel's last delivery and failures in a row. @param {import('./notifications.js').Channel[]} items */
function channelHealth(items) {
  if (items.length === 0)
    return h('p', { class: 'muted', text: 'No notification channel: nobody is told when a certificate expires.' });
  return cardTable(
    'Notification channels',
    ['Channel', 'Last delivery', 'Failures in a row', 'Pending'],
    items.map((c) =>
      h(
        'tr',
        {},
        h('td', { dataset: { label: 'Channel' }, text: `${c.name} (${c.config.kind})` }),
        h(
          'td',
          { dataset: { label: 'Last delivery' } },
          c.health.lastAttemptAt ? `${c.health.lastOutcome} ${formatDateTime(c.health.lastAttemptAt)}` : 'never',
        ),
        h('td', {
          dataset: { label: 'Failures in a row' },
          class: c.health.failuresInARow > 0 ? 'days-critical' : '',
          text: String(c.health.failuresInARow),
        }),
        h('td', { dataset: { label: 'Pending' }, text: String(c.health.pending) }),
      ),
    ),
  );
}

/**
 * Recent changes, newest first; a run of the same action by the same actor with the same result
 * (a batch import, a republish) is one entry that counts them and links the first few targets.
 * @param {import('../api.js').AuditEvent[]} recent @param {import('../api.js').Dashboard['actors']} actors
 */
function recentSection(recent, actors) {
  /** @type {import('../api.js').AuditEvent[][]} */
  const runs = [];
  for (const e of recent) {
    const run = runs.at(-1);
    const head = run?.[0];
    if (run && head && head.action === e.action && head.actor === e.actor && head.result === e.result) run.push(e);
    else runs.push([e]);
  }
  const SHOWN = 3;
  const target = (/** @type {string} */ t) => {
    const link = targetHref(t);
    return link ? h('a', { href: link, text: targetText(t) }) : targetText(t);
  };
  return h(
    'section',
    { 'aria-labelledby': 'recent' },
    h('h2', { id: 'recent', text: 'Recent changes' }),
    recent.length === 0
      ? h('p', { class: 'muted', text: 'Nothing has happened yet.' })
      : h(
          'ol',
          { class: 'timeline' },
          runs.map((run) => {
            const first = /** @type {import('../api.js').AuditEvent} */ (run[0]);
            const targets = [...new Set(run.map((e) => e.target))];
            return timelineEntry(
              first,
              run.length > 1 ? h('span', { class: 'badge', text: `×${run.length}` }) : null,
              run.length > 1 ? ' ' : null,
              `by ${actorText(first.actor, actors)} · `,
              targets.slice(0, SHOWN).flatMap((t, i) => (i ? [', ', target(t)] : [target(t)])),
              targets.length > SHOWN ? ` and ${targets.length - SHOWN} more` : null,
            );
          }),
        ),
  );
}
