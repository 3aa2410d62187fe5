/**
 * The certificate list: one search box (a host, a zone, an IP or text: docs/search.md) with the
 * filters beside it, sortable column headings, pages. The search lives in the URL
 * (#/certificates?q=…&page=2), so it is bookmarkable and Back works; the dashboard's
 * "within N days" cards open it with `expiresWithin`.
 */
import { query } from '../api.js';
import { cardTable, h } from '../dom.js';
import { domainsText, expiryText, formatDate, statusBadge } from '../format.js';
import { load, pageTitle } from '../layout.js';
import { href, navigate } from '../router.js';

const DEFAULTS = {
  q: '',
  status: 'all',
  expiresWithin: '',
  keyType: '',
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
  // Bookmarks from before the search box: a name substring, an exact domain.
  const name = params.get('name');
  const domain = params.get('domain');
  if (!out.q && name) out.q = `name:${name}`;
  if (!out.q && domain) out.q = `host:${domain}`;
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

/**
 * The expiry windows offered, and the one in the URL when it is another (a hand-written link).
 * @param {string} current @returns {Array<[string, string]>}
 */
function windowOptions(current) {
  /** @type {Array<[string, string]>} */
  const options = [
    ['', 'Any time'],
    ['7', '7 days'],
    ['14', '14 days'],
    ['30', '30 days'],
    ['90', '90 days'],
  ];
  if (current && !options.some(([value]) => value === current)) options.push([current, `${current} days`]);
  return options;
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
      { class: 'field field-inline field-search' },
      h('label', { for: 'filter-q', text: 'Search' }),
      h('input', {
        id: 'filter-q',
        name: 'q',
        type: 'search',
        value: search.q,
        placeholder: 'host, *.zone, IP or name',
        autocomplete: 'off',
        spellcheck: 'false',
        'aria-describedby': 'filter-q-hint',
      }),
      h('p', {
        id: 'filter-q-hint',
        class: 'hint',
        text: 'A host finds the certificates that cover it (wildcards too); *.example.com everything under it; an IP its IP SAN; other text (3 characters or more) a name.',
      }),
    ),
    select('Status', 'status', search.status, [
      ['all', 'Any status'],
      ['unexpired', 'Not expired'],
      ['expired', 'Expired'],
    ]),
    select('Expires within', 'expiresWithin', search.expiresWithin, windowOptions(search.expiresWithin)),
    select('Key', 'keyType', search.keyType, [
      ['', 'Any key'],
      ['EC', 'EC'],
      ['RSA', 'RSA'],
      ['Ed25519', 'Ed25519'],
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
      h('a', { class: 'button button-secondary', href: href('/deleted'), text: 'Recently deleted' }),
    ),
    collapsible(form, Object.keys(nonDefault({ ...search, page: '1', pageSize: '25' })).length, page.signal),
    h(
      'section',
      { 'aria-labelledby': 'results-title' },
      h('h2', { id: 'results-title', class: 'visually-hidden', text: 'Results' }),
      results,
    ),
  );

  const focus = pagerFocus;
  pagerFocus = null;
  /** @type {import('../api.js').CertificatePage | undefined} */
  const data = await load(page, `/certificates${query(search)}`, { into: results });
  if (!data) return 'Certificates';
  if (data.items.length === 0 && data.total > 0) {
    results.replaceChildren(pastTheEnd(search, data));
    return 'Certificates';
  }
  if (data.items.length === 0) {
    const summary = h('p', { class: 'result-summary', role: 'status', text: 'No certificates found.' });
    const searching = Object.keys(nonDefault({ ...search, page: '1' })).length > 0;
    results.replaceChildren(
      summary,
      searching
        ? h('p', { class: 'empty', text: 'No certificate matches this search.' })
        : h(
            'p',
            { class: 'empty' },
            'No certificates yet.',
            session.can.writeCertificates
              ? [' ', h('a', { href: href('/import'), text: 'Import your first certificate' }), '.']
              : null,
          ),
    );
    return 'Certificates';
  }
  const summary = h('p', { class: 'result-summary', role: 'status', text: resultText(data) });
  results.replaceChildren(summary, table(data.items, search), pager(search, data, focus));
  return 'Certificates';
}

/**
 * A page number past the last page (an old bookmark, a hand-edited URL, a list that shrank):
 * says so in words and links to the last and the first page.
 * @param {Search} search @param {import('../api.js').CertificatePage} data
 */
function pastTheEnd(search, data) {
  const total = `${data.total.toLocaleString()} certificate${data.total === 1 ? '' : 's'}`;
  const pages = `${data.pages.toLocaleString()} page${data.pages === 1 ? '' : 's'}`;
  return h(
    'div',
    { class: 'empty' },
    h('p', {
      role: 'status',
      text: `There is no page ${data.page.toLocaleString()}: ${total} fill ${pages} of ${data.pageSize}.`,
    }),
    h(
      'p',
      { class: 'actions actions-center' },
      h('a', {
        class: 'button button-primary',
        href: href('/certificates', nonDefault({ ...search, page: String(data.pages) })),
        text: `Go to the last page (${data.pages.toLocaleString()})`,
      }),
      h('a', {
        class: 'button button-secondary',
        href: href('/certificates', nonDefault({ ...search, page: '1' })),
        text: 'Go to the first page',
      }),
    ),
  );
}

/** The width under which styles.css lays pages out for a phone. */
const PHONE = '(max-width: 720px)';

/**
 * The filters in a disclosure: on a phone it starts closed (the list, not the form, fills the
 * first screen) unless a search is active; on a wider screen it is open and its summary hidden
 * (styles.css), and it opens again when a phone is turned to a wider layout.
 * @param {HTMLElement} form @param {number} active how many filters differ from the defaults
 * @param {AbortSignal} signal the page's
 */
function collapsible(form, active, signal) {
  const phone = window.matchMedia(PHONE);
  const box = h(
    'details',
    { class: 'filters-box', open: !phone.matches || active > 0 },
    h('summary', { text: active ? `Search and filters (${active} in use)` : 'Search and filters' }),
    form,
  );
  phone.addEventListener(
    'change',
    () => {
      if (!phone.matches) /** @type {HTMLDetailsElement} */ (box).open = true;
    },
    { signal },
  );
  return box;
}

/**
 * "Showing 11–20 of 304 certificates." Only for a page with items: a page past the end is
 * pastTheEnd's.
 * @param {import('../api.js').CertificatePage} data
 */
function resultText(data) {
  const first = (data.page - 1) * data.pageSize + 1;
  const last = first + data.items.length - 1;
  // Not exact: counting every match would read the whole inventory, so the server says "more than".
  const of = data.totalExact
    ? `${data.total.toLocaleString()} certificate${data.total === 1 ? '' : 's'}`
    : `more than ${(data.total - 1).toLocaleString()} certificates`;
  return `Showing ${first.toLocaleString()}–${last.toLocaleString()} of ${of}.`;
}

/** The columns a heading sorts by, and the order a first click asks for. */
const SORTABLE = /** @type {Record<string, [string, string]>} */ ({
  Name: ['name', 'asc'],
  Expires: ['notAfter', 'asc'],
  Registered: ['createdAt', 'desc'],
});

/**
 * A column heading: a link that sorts by it (again: the other direction), with `aria-sort` on
 * the sorted one. @param {string} label @param {Search} search
 */
function heading(label, search) {
  const sortable = SORTABLE[label];
  if (!sortable) return label;
  const [sort, first] = sortable;
  const current = search.sort === sort;
  const order = current ? (search.order === 'asc' ? 'desc' : 'asc') : first;
  const arrow = current ? (search.order === 'asc' ? ' ▲' : ' ▼') : '';
  return h('a', {
    class: 'sort-link',
    href: href('/certificates', nonDefault({ ...search, sort, order, page: '1' })),
    'aria-label': `${label}: sort ${order === 'asc' ? 'ascending' : 'descending'}`,
    text: `${label}${arrow}`,
  });
}

/** @param {import('../api.js').CertificateSummary[]} items @param {Search} search */
function table(items, search) {
  const view = cardTable(
    'Certificates',
    ['Name', 'Domains', 'Status', 'Expires', 'Key', 'Registered'].map((label) => heading(label, search)),
    items.map((c) =>
      h(
        'tr',
        {},
        h(
          'th',
          { scope: 'row', dataset: { label: 'Name' }, class: 'cell-name wrap' },
          h('a', { href: href(`/certificates/${c.certificateNo}`), text: c.name }),
          h('span', { class: 'muted small nowrap', text: ` #${c.certificateNo}` }),
        ),
        h('td', { dataset: { label: 'Domains' }, class: 'wrap cell-wide', text: domainsText(c.domains) }),
        h('td', { dataset: { label: 'Status' }, class: 'nowrap' }, statusBadge(c.status)),
        h(
          'td',
          { dataset: { label: 'Expires' }, class: 'nowrap' },
          formatDate(c.notAfter),
          ' ',
          h('br'),
          expiryText(c.notAfter),
        ),
        h(
          'td',
          { dataset: { label: 'Key' }, class: 'nowrap' },
          c.key,
          c.hasPrivateKey ? '' : [' ', h('br'), h('span', { class: 'muted small', text: 'no private key' })],
        ),
        h('td', { dataset: { label: 'Registered' }, class: 'nowrap', text: formatDate(c.createdAt) }),
      ),
    ),
  );
  const sorted = Object.entries(SORTABLE).find(([, [sort]]) => sort === search.sort)?.[0];
  for (const th of view.querySelectorAll('thead th'))
    if (th.textContent?.replace(/ [▲▼]$/, '') === sorted)
      th.setAttribute('aria-sort', search.order === 'asc' ? 'ascending' : 'descending');
  return view;
}

/**
 * Which pager control the user used, so that the next page puts the focus back on it (a keyboard
 * user paging through the list stays at the pager instead of tabbing past every filter and row
 * again). Set when a pager control is used; read and cleared by the next render, so any other
 * way to the list (a link, Back, a search) focuses the page heading as every page does.
 * @type {string | null}
 */
let pagerFocus = null;

/**
 * First, previous, where we are, next, last, and a page number to jump to.
 * @param {Search} search @param {import('../api.js').CertificatePage} data @param {string | null} focus the
 *   control to focus (its aria-label), from pagerFocus
 */
function pager(search, data, focus) {
  const to = (/** @type {number} */ page) => href('/certificates', nonDefault({ ...search, page: String(page) }));
  // A total that is a lower bound: no last page to show; Next while the page is full.
  const exact = data.totalExact !== false;
  const hasNext = exact ? data.page < data.pages : data.items.length === data.pageSize;
  const where = h('span', {
    class: 'pager-where',
    tabindex: '-1',
    text: exact
      ? `Page ${data.page.toLocaleString()} of ${Math.max(data.pages, 1).toLocaleString()}`
      : `Page ${data.page.toLocaleString()}`,
  });
  /** @type {HTMLElement[]} */
  const focusable = [];
  const link = (
    /** @type {string} */ text,
    /** @type {number} */ page,
    /** @type {boolean} */ enabled,
    /** @type {string} */ label,
  ) => {
    const el = enabled
      ? h('a', {
          class: 'button button-secondary',
          href: to(page),
          'aria-label': label,
          text,
          onClick: () => {
            pagerFocus = label;
          },
        })
      : h('span', { class: 'button button-secondary', 'aria-disabled': 'true', 'aria-label': label, text });
    // A control that is disabled on the new page (Next on the last one) hands the focus to "Page n of m".
    if (label === focus) focusable.push(enabled ? el : where);
    return el;
  };
  const jumpLabel = 'Page number';
  const jumpInput = h('input', {
    type: 'number',
    name: 'page',
    min: '1',
    max: String(Math.max(data.pages, 1)),
    value: String(data.page),
    inputmode: 'numeric',
    class: 'pager-input',
    'aria-label': `${jumpLabel}, 1 to ${Math.max(data.pages, 1).toLocaleString()}`,
  });
  const jump = h(
    'form',
    { class: 'pager-jump', novalidate: true },
    jumpInput,
    h('button', { type: 'submit', class: 'button button-secondary', text: 'Go' }),
  );
  jump.addEventListener('submit', (event) => {
    event.preventDefault();
    const wanted = Number(/** @type {HTMLInputElement} */ (jumpInput).value);
    // Out of range or not a number: the nearest page there is.
    const page = Number.isFinite(wanted) ? Math.min(Math.max(Math.trunc(wanted), 1), Math.max(data.pages, 1)) : 1;
    pagerFocus = jumpLabel;
    navigate('/certificates', nonDefault({ ...search, page: String(page) }));
  });
  if (focus === jumpLabel) focusable.push(jumpInput);
  const nav = h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    link('« First', 1, data.page > 1, 'First page'),
    link('‹ Previous', data.page - 1, data.page > 1, 'Previous page'),
    where,
    link('Next ›', data.page + 1, hasNext, 'Next page'),
    exact ? link('Last »', data.pages, data.page < data.pages, 'Last page') : null,
    exact && data.pages > 2 ? jump : null,
  );
  // main.js focuses this instead of the heading (see PageContext).
  focusable[0]?.setAttribute('data-autofocus', '');
  return nav;
}
