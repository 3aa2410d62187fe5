/** The dashboard: certificates by status, what expires soon, and recent changes. */
import { get } from '../api.js';
import { h } from '../dom.js';
import { actionText, formatDate, formatDateTime, formatDays, statusBadge, targetHref, urgency } from '../format.js';
import { pageTitle } from '../layout.js';
import { href } from '../router.js';

/** @param {import('../main.js').PageContext} ctx */
export async function render({ main, signal }) {
  const data = await get('/dashboard');
  if (signal.aborted) return 'Dashboard';
  const { counts, expiring, soonest, recent } = data;

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

  main.replaceChildren(
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
        expiring.map((/** @type {{days: number, count: number}} */ w) =>
          card(
            `Within ${w.days} days`,
            w.count,
            href('/certificates', { status: 'unexpired', sort: 'notAfter', order: 'asc' }),
            w.count === 0 ? 'neutral' : w.days <= 7 ? 'bad' : w.days <= 30 ? 'warn' : 'neutral',
          ),
        ),
      ),
      soonest.length === 0
        ? h('p', { class: 'muted', text: 'No certificate is about to expire.' })
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'table table-cards' },
              h('caption', { class: 'visually-hidden', text: 'Certificates that expire first' }),
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Name', 'Status', 'Expires', 'Domains'].map((t) => h('th', { scope: 'col', text: t })),
                ),
              ),
              h(
                'tbody',
                {},
                soonest.map((/** @type {any} */ c) =>
                  h(
                    'tr',
                    {},
                    h(
                      'td',
                      { dataset: { label: 'Name' } },
                      h('a', { href: href(`/certificates/${c.certificateNo}`), text: c.name }),
                    ),
                    h('td', { dataset: { label: 'Status' } }, statusBadge(c.status)),
                    h(
                      'td',
                      { dataset: { label: 'Expires' } },
                      formatDate(c.notAfter),
                      ' ',
                      h('span', {
                        class: `days days-${urgency(c.daysToExpiry)}`,
                        text: `(${formatDays(c.daysToExpiry)})`,
                      }),
                    ),
                    h('td', {
                      dataset: { label: 'Domains' },
                      class: 'wrap',
                      text:
                        c.domains.slice(0, 3).join(', ') + (c.domains.length > 3 ? ` +${c.domains.length - 3}` : ''),
                    }),
                  ),
                ),
              ),
            ),
          ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'recent' },
      h('h2', { id: 'recent', text: 'Recent changes' }),
      recent.length === 0
        ? h('p', { class: 'muted', text: 'Nothing has happened yet.' })
        : h(
            'ol',
            { class: 'timeline' },
            recent.map((/** @type {any} */ e) => {
              const link = targetHref(e.target);
              return h(
                'li',
                { class: e.result === 'failure' ? 'timeline-failure' : '' },
                h('time', { datetime: e.at, text: formatDateTime(e.at) }),
                h(
                  'span',
                  { class: 'timeline-what' },
                  actionText(e),
                  e.result === 'failure' ? h('span', { class: 'badge badge-expired', text: 'refused' }) : null,
                ),
                h(
                  'span',
                  { class: 'timeline-who muted' },
                  `by ${e.actor} · `,
                  link ? h('a', { href: link, text: e.target }) : e.target,
                ),
              );
            }),
          ),
    ),
  );
  return 'Dashboard';
}
