/**
 * The frame around every page once logged in: a skip link, the banner with navigation (links
 * the role cannot use are not shown), who is logged in, and the main landmark pages render into;
 * and the pieces every page is made of: its heading, its cards, and `load`, the one way a page
 * loads what it shows.
 */
import { ApiError, get } from './api.js';
import { h, messageOf, notice } from './dom.js';
import { href, showAgain } from './router.js';

/**
 * @typedef {{ accessKey: string, role: string, tenant: string | null, description: string,
 *   can: { writeCertificates: boolean, readPrivateKeys: boolean, manageCredentials: boolean, readAudit: boolean,
 *     manageTargets: boolean } }} Session
 */

/** @param {Session} session */
function navItems(session) {
  return [
    { path: '/', label: 'Dashboard' },
    { path: '/certificates', label: 'Certificates' },
    session.can.writeCertificates ? { path: '/import', label: 'Import' } : null,
    { path: '/edge', label: 'Edge slots' },
    { path: '/issuance', label: 'Issuance' },
    { path: '/notifications', label: 'Notifications' },
    session.can.manageCredentials ? { path: '/credentials', label: 'Access keys' } : null,
  ].filter((item) => item !== null);
}

/**
 * Builds the frame into `root`; returns the main element and a function that marks the current section.
 * @param {HTMLElement} root @param {Session} session @param {() => void} onLogout
 */
export function renderShell(root, session, onLogout) {
  const main = h('main', { id: 'main', tabindex: '-1', class: 'page' });
  const links = navItems(session).map((item) => ({ item, link: h('a', { href: `#${item.path}`, text: item.label }) }));
  const skip = h('a', {
    class: 'skip-link',
    href: '#/',
    text: 'Skip to content',
    onClick: (/** @type {Event} */ event) => {
      event.preventDefault();
      main.focus();
    },
  });
  const header = h(
    'header',
    { class: 'topbar' },
    brand('small'),
    h(
      'nav',
      { 'aria-label': 'Main' },
      h(
        'ul',
        {},
        links.map(({ link }) => h('li', {}, link)),
      ),
    ),
    h(
      'div',
      { class: 'who' },
      h(
        'span',
        { class: 'who-text' },
        h('span', { class: 'who-key', text: session.accessKey }),
        ' ',
        h('span', { class: `role role-${session.role.toLowerCase()}`, text: session.role }),
        session.tenant ? h('span', { class: 'who-tenant', text: ` · tenant ${session.tenant}` }) : null,
      ),
      h('button', {
        type: 'button',
        class: 'button button-secondary button-small',
        onClick: onLogout,
        text: 'Log out',
      }),
    ),
  );
  root.replaceChildren(skip, header, main, h('footer', { class: 'footer' }, h('span', { text: 'certkeeper console' })));
  return {
    main,
    /** @param {string} path */
    markCurrent(path) {
      for (const { item, link } of links) {
        const current = item.path === '/' ? path === '/' : path === item.path || path.startsWith(`${item.path}/`);
        if (current) link.setAttribute('aria-current', 'page');
        else link.removeAttribute('aria-current');
      }
    },
  };
}

/** The logo and name: small in the banner, large on the login page. @param {'small' | 'large'} size */
export function brand(size) {
  const px = size === 'large' ? '40' : '28';
  return h(
    'div',
    { class: size === 'large' ? 'brand brand-large' : 'brand' },
    h('img', { src: '/console/static/favicon.svg', alt: '', width: px, height: px }),
    h('span', { text: 'certkeeper' }),
  );
}

/**
 * A page heading that takes focus after navigation (screen readers announce the new page).
 * @param {string} text @param {...unknown} extra shown beside it (a badge, a button)
 */
export const pageTitle = (text, ...extra) =>
  h('div', { class: 'page-head' }, h('h1', { tabindex: '-1', text }), ...extra);

/** A titled card, labelled by its heading. @param {string} id @param {string} title @param {...unknown} content */
export const card = (id, title, ...content) =>
  h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id, text: title }), ...content);

/** @typedef {{ href: string, text: string }} WayBack a link to where a missing thing's kind is listed */

/**
 * What a failure to show a page looks like, wherever it happens (a failed load, a page that
 * throws): a heading that takes the focus, the server's words, "Try again" and a way back. A 404
 * (the certificate or slot does not exist, or is another tenant's) is no failure to retry: a
 * "Not found" heading, the server's words, and the way back to the list and to the dashboard.
 * @param {unknown} error @param {() => void} [retry] what "Try again" does (by default, the page is shown again)
 * @param {WayBack} [back]
 */
export function failedPage(error, retry = showAgain, back) {
  if (error instanceof ApiError && error.status === 404)
    return [
      h('h1', { tabindex: '-1', text: 'Not found' }),
      notice(
        'info',
        h('p', { text: messageOf(error) }),
        h(
          'p',
          { class: 'actions' },
          back ? h('a', { class: 'button button-primary button-small', href: back.href, text: back.text }) : null,
          h('a', { class: 'button button-secondary button-small', href: href('/'), text: 'Go to the dashboard' }),
        ),
      ),
    ];
  return [h('h1', { tabindex: '-1', text: 'Something went wrong' }), failure(error, retry)];
}

/** @param {unknown} error @param {() => void} retry */
const failure = (error, retry) =>
  notice(
    'error',
    h('p', { text: messageOf(error) }),
    h(
      'p',
      { class: 'actions' },
      h('button', { type: 'button', class: 'button button-secondary button-small', text: 'Try again', onClick: retry }),
      h('a', { class: 'button button-secondary button-small', href: href('/'), text: 'Go to the dashboard' }),
    ),
  );

/**
 * What a page that could not be shown answers as its title (its load into the main element
 * answered undefined): main.js then takes the heading failedPage put up ("Not found", "Something
 * went wrong").
 */
export const FAILED = 'Error';

/**
 * Loads what a page, or a part of one, shows: the one way every page does.
 * - While the GET runs, `into` shows "Loading…" and is aria-busy.
 * - Navigating away aborts the request (the page's signal): nothing more is shown, and the
 *   answer is undefined.
 * - A failure is shown in `into`, and the answer is undefined: the server's words in an alert with
 *   "Try again" (runs `retry`) and a link to the dashboard; when `into` is the page's main element
 *   the whole page fails, under a "Something went wrong" heading (main.js focuses a page's heading),
 *   or "Not found" for a 404, with `back` as the way back (failedPage).
 *   A 401 shows nothing here: api.js has already put up the login form.
 * The caller shows the answer in `into` (replacing the placeholder) and returns the page's title.
 * @param {import('./main.js').PageContext} page
 * @param {string} path GET, under /console/api
 * @param {{ into?: HTMLElement, retry?: () => void, back?: WayBack }} [options] into: the page's main
 *   element by default; retry: by default the page is shown again; back: where a 404 leads
 * @template T what the server answers (api.js declares the shapes)
 * @returns {Promise<T | undefined>} the server's answer, or undefined
 */
export async function load(page, path, { into = page.main, retry = showAgain, back } = {}) {
  into.setAttribute('aria-busy', 'true');
  into.replaceChildren(h('p', { class: 'muted', text: 'Loading…' }));
  try {
    return await get(path, page.signal);
  } catch (error) {
    if (page.signal.aborted || (error instanceof ApiError && error.status === 401)) return undefined;
    if (into === page.main) into.replaceChildren(...failedPage(error, retry, back));
    else into.replaceChildren(failure(error, retry));
    return undefined;
  } finally {
    into.removeAttribute('aria-busy');
  }
}
