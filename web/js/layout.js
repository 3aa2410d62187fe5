/**
 * The frame around every page once logged in: a skip link, the banner with navigation (links
 * the role cannot use are not shown), who is logged in, and the main landmark pages render into.
 */
import { h } from './dom.js';

/**
 * @typedef {{ accessKey: string, role: string, tenant: string | null, description: string,
 *   can: { writeCertificates: boolean, readPrivateKeys: boolean, manageCredentials: boolean, readAudit: boolean } }} Session
 */

/** @param {Session} session */
function navItems(session) {
  return [
    { path: '/', label: 'Dashboard' },
    { path: '/certificates', label: 'Certificates' },
    session.can.writeCertificates ? { path: '/import', label: 'Import' } : null,
    { path: '/edge', label: 'Edge slots' },
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
    h(
      'div',
      { class: 'brand' },
      h('img', { src: '/console/static/favicon.svg', alt: '', width: '28', height: '28' }),
      h('span', { text: 'certkeeper' }),
    ),
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

/** A page heading that takes focus after navigation (screen readers announce the new page). @param {string} text */
export const pageTitle = (text, ...extra) =>
  h('div', { class: 'page-head' }, h('h1', { tabindex: '-1', text }), ...extra);
