/** The dashboard: certificates by status, what expires soon, and recent changes. */
import { cardTable, h } from '../dom.js';
import { domainsText, expiryText, formatDate, statusBadge, targetHref, timelineEntry } from '../format.js';
import { FAILED, load, pageTitle } from '../layout.js';
import { href } from '../router.js';

/** @param {import('../main.js').PageContext} page */
export async function render(page) {
  /** @type {import('../api.js').Dashboard | undefined} */
  const data = await load(page, '/dashboard');
  if (!data) return FAILED;
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
            href('/certificates', { status: 'unexpired', sort: 'notAfter', order: 'asc' }),
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
    h(
      'section',
      { 'aria-labelledby': 'recent' },
      h('h2', { id: 'recent', text: 'Recent changes' }),
      recent.length === 0
        ? h('p', { class: 'muted', text: 'Nothing has happened yet.' })
        : h(
            'ol',
            { class: 'timeline' },
            recent.map((e) => {
              const link = targetHref(e.target);
              return timelineEntry(e, `by ${e.actor} · `, link ? h('a', { href: link, text: e.target }) : e.target);
            }),
          ),
    ),
  );
  return 'Dashboard';
}
