/**
 * The certificate list: search by name and domain, filter by status and type, sort, page. The
 * search lives in the URL (#/certificates?name=…&page=2), so it is bookmarkable and Back works.
 */
import { query } from '../api.js';
import { cardTable, h } from '../dom.js';
import { domainsText, formatDate, formatDays, statusBadge, urgency } from '../format.js';
import { load, pageTitle } from '../layout.js';
import { href, navigate } from '../router.js';

const DEFAULTS = {
  name: '',
  domain: '',
  status: 'all',
  type: 'all',
  sort: 'notAfter',
  order: 'asc',
  page: '1',
  pageSize: '25',
};
/** @typedef {typeof DEFAULTS} Search */

/** @param {URLSearchParams} params @returns {Search} */
function searchOf(params) {
  /** @type {Record<string, string>} */
  const out = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS)) {
    const value = params.get(key);
    if (value) out[key] = value;
  }
  return /** @type {Search} */ (out);
}

/** Only what differs from the defaults goes into the URL. @param {Search} search */
function nonDefault(search) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const [key, value] of Object.entries(search))
    if (value !== /** @type {Record<string,string>} */ (DEFAULTS)[key]) out[key] = value;
  return out;
}

/**
 * @param {string} label @param {string} name @param {string} value @param {Array<[string, string]>} options
 */
function select(label, name, value, options) {
  const id = `filter-${name}`;
  return h(
    'div',
    { class: 'field field-inline' },
    h('label', { for: id, text: label }),
    h(
      'select',
      { id, name },
      options.map(([v, text]) => h('option', { value: v, selected: v === value, text })),
    ),
  );
}

/** @param {import('../main.js').PageContext} page */
export async function render(page) {
  const { main, query: params, session } = page;
  const search = searchOf(params);
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Search certificates' },
    h(
      'div',
      { class: 'field field-inline' },
      h('label', { for: 'filter-name', text: 'Name contains' }),
      h('input', {
        id: 'filter-name',
        name: 'name',
        type: 'search',
        value: search.name,
        autocomplete: 'off',
        spellcheck: 'false',
      }),
    ),
    h(
      'div',
      { class: 'field field-inline' },
      h('label', { for: 'filter-domain', text: 'Domain' }),
      h('input', {
        id: 'filter-domain',
        name: 'domain',
        type: 'search',
        value: search.domain,
        placeholder: 'www.example.com',
        autocomplete: 'off',
        spellcheck: 'false',
      }),
    ),
    select('Status', 'status', search.status, [
      ['all', 'Any status'],
      ['unexpired', 'Not expired'],
      ['expired', 'Expired'],
    ]),
    select('Type', 'type', search.type, [
      ['all', 'Any type'],
      ['EXT', 'Imported (EXT)'],
    ]),
    select('Sort by', 'sort', search.sort, [
      ['notAfter', 'Expiry date'],
      ['name', 'Name'],
      ['createdAt', 'Registration date'],
      ['certificateNo', 'Number'],
    ]),
    select('Order', 'order', search.order, [
      ['asc', 'Ascending'],
      ['desc', 'Descending'],
    ]),
    select('Per page', 'pageSize', search.pageSize, [
      ['10', '10'],
      ['25', '25'],
      ['50', '50'],
      ['100', '100'],
    ]),
    h(
      'div',
      { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'button button-primary', text: 'Search' }),
      h('a', { class: 'button button-secondary', href: href('/certificates'), text: 'Clear' }),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(/** @type {HTMLFormElement} */ (form));
    /** @type {Record<string, string>} */
    const next = { ...DEFAULTS };
    for (const [key, value] of data.entries()) next[key] = String(value).trim();
    next.page = '1';
    navigate('/certificates', nonDefault(/** @type {Search} */ (next)));
  });

  const results = h('div', {});
  main.replaceChildren(
    pageTitle(
      'Certificates',
      session.can.writeCertificates
        ? h('a', { class: 'button button-primary', href: href('/import'), text: 'Import a certificate' })
        : null,
    ),
    form,
    h(
      'section',
      { 'aria-labelledby': 'results-title' },
      h('h2', { id: 'results-title', class: 'visually-hidden', text: 'Results' }),
      results,
    ),
  );

  /** @type {import('../api.js').CertificatePage | undefined} */
  const data = await load(page, `/certificates${query(search)}`, { into: results });
  if (!data) return 'Certificates';
  const summary = h('p', { class: 'result-summary', role: 'status', text: resultText(data) });
  if (data.items.length === 0) {
    results.replaceChildren(
      summary,
      h('p', {
        class: 'empty',
        text: Object.keys(nonDefault({ ...search, page: '1' })).length
          ? 'No certificate matches this search.'
          : 'No certificates yet.',
      }),
    );
    return 'Certificates';
  }
  results.replaceChildren(summary, table(data.items), pager(search, data));
  return 'Certificates';
}

/** @param {import('../api.js').CertificatePage} data */
function resultText(data) {
  if (data.total === 0) return 'No certificates found.';
  const first = (data.page - 1) * data.pageSize + 1;
  const last = first + data.items.length - 1;
  return `Showing ${first.toLocaleString()}–${last.toLocaleString()} of ${data.total.toLocaleString()} certificate${data.total === 1 ? '' : 's'}.`;
}

/** @param {import('../api.js').CertificateSummary[]} items */
function table(items) {
  return cardTable(
    'Certificates',
    ['Name', 'Domains', 'Status', 'Expires', 'Key', 'Registered'],
    items.map((c) =>
      h(
        'tr',
        {},
        h(
          'th',
          { scope: 'row', dataset: { label: 'Name' } },
          h('a', { href: href(`/certificates/${c.certificateNo}`), text: c.name }),
          h('span', { class: 'muted small', text: ` #${c.certificateNo}` }),
        ),
        h('td', { dataset: { label: 'Domains' }, class: 'wrap', text: domainsText(c.domains) }),
        h('td', { dataset: { label: 'Status' } }, statusBadge(c.status)),
        h(
          'td',
          { dataset: { label: 'Expires' } },
          formatDate(c.notAfter),
          h('br'),
          h('span', { class: `days days-${urgency(c.daysToExpiry)}`, text: formatDays(c.daysToExpiry) }),
        ),
        h(
          'td',
          { dataset: { label: 'Key' } },
          c.key,
          c.hasPrivateKey ? '' : h('span', { class: 'muted small', text: ' (no private key)' }),
        ),
        h('td', { dataset: { label: 'Registered' }, text: formatDate(c.createdAt) }),
      ),
    ),
  );
}

/** @param {Search} search @param {import('../api.js').Paging} data */
function pager(search, data) {
  const to = (/** @type {number} */ page) => href('/certificates', nonDefault({ ...search, page: String(page) }));
  const link = (
    /** @type {string} */ text,
    /** @type {number} */ page,
    /** @type {boolean} */ enabled,
    /** @type {string} */ label,
  ) =>
    enabled
      ? h('a', { class: 'button button-secondary', href: to(page), 'aria-label': label, text })
      : h('span', { class: 'button button-secondary', 'aria-disabled': 'true', text });
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    link('« First', 1, data.page > 1, 'First page'),
    link('‹ Previous', data.page - 1, data.page > 1, 'Previous page'),
    h('span', {
      class: 'pager-where',
      text: `Page ${data.page.toLocaleString()} of ${Math.max(data.pages, 1).toLocaleString()}`,
    }),
    link('Next ›', data.page + 1, data.page < data.pages, 'Next page'),
    link('Last »', data.pages, data.page < data.pages, 'Last page'),
  );
}
