/**
 * The certificate list: search by name and domain, filter by status and type, sort, page. The
 * search lives in the URL (#/certificates?name=…&page=2), so it is bookmarkable and Back works.
 */
import { query } from '../api.js';
import { cardTable, h } from '../dom.js';
import { domainsText, expiryText, formatDate, statusBadge } from '../format.js';
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
  results.replaceChildren(summary, table(data.items), pager(search, data, focus));
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
 * @param {Search} search @param {import('../api.js').Paging} data @param {string | null} focus the
 *   control to focus (its aria-label), from pagerFocus
 */
function pager(search, data, focus) {
  const to = (/** @type {number} */ page) => href('/certificates', nonDefault({ ...search, page: String(page) }));
  const where = h('span', {
    class: 'pager-where',
    tabindex: '-1',
    text: `Page ${data.page.toLocaleString()} of ${Math.max(data.pages, 1).toLocaleString()}`,
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
    link('Next ›', data.page + 1, data.page < data.pages, 'Next page'),
    link('Last »', data.pages, data.page < data.pages, 'Last page'),
    data.pages > 2 ? jump : null,
  );
  // main.js focuses this instead of the heading (see PageContext).
  focusable[0]?.setAttribute('data-autofocus', '');
  return nav;
}
