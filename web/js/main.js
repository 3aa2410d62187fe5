/**
 * The console's entry point: find out whether a session exists, then route. Without a session
 * every route shows the login form; after logging in the route that was asked for is shown.
 */
import { ApiError, del, get, setCsrfToken, whenSessionEnds } from './api.js';
import { announce, h, messageOf, notice } from './dom.js';
import { FAILED, failedPage, renderShell } from './layout.js';
import { currentRoute, match } from './router.js';
import * as certificatePage from './pages/certificate.js';
import * as certificatesPage from './pages/certificates.js';
import * as credentialsPage from './pages/credentials.js';
import * as dashboardPage from './pages/dashboard.js';
import * as edgePage from './pages/edge.js';
import * as importPage from './pages/import.js';
import * as issuancePage from './pages/issuance.js';
import * as loginPage from './pages/login.js';
import * as notificationsPage from './pages/notifications.js';
import * as deletedPage from './pages/deleted.js';
import * as replacePage from './pages/replace.js';

/**
 * @typedef {import('./layout.js').Session & { csrfToken: string }} Session
 * @typedef {{ session: Session, params: Record<string, string>, query: URLSearchParams, main: HTMLElement, signal: AbortSignal }} PageContext
 *   What a page is shown with. `signal` is aborted when the user navigates away: pass it to
 *   load() (layout.js), and stop polling on it.
 * @typedef {{ pattern: string, render: (ctx: PageContext) => Promise<string> | string, allowed?: (s: Session) => boolean }} Route
 *   render shows the page in ctx.main and answers its title. After it, the focus goes to the
 *   page's h1, or to the one element the page marked `data-autofocus` (the list's pager after
 *   "Next", so keyboard users stay where they were).
 */

/** @type {Route[]} */
const ROUTES = [
  { pattern: '/', render: dashboardPage.render },
  { pattern: '/certificates', render: certificatesPage.render },
  { pattern: '/certificates/:no', render: certificatePage.render },
  { pattern: '/certificates/:no/replace', render: replacePage.render, allowed: (s) => s.can.writeCertificates },
  { pattern: '/deleted', render: deletedPage.render },
  { pattern: '/import', render: importPage.render, allowed: (s) => s.can.writeCertificates },
  { pattern: '/credentials', render: credentialsPage.render, allowed: (s) => s.can.manageCredentials },
  { pattern: '/edge', render: edgePage.renderList },
  { pattern: '/edge/:slotId', render: edgePage.renderSlot },
  { pattern: '/notifications', render: notificationsPage.render },
  { pattern: '/issuance', render: issuancePage.renderList },
  { pattern: '/issuance/new', render: issuancePage.renderRequest, allowed: (s) => s.can.writeCertificates },
  { pattern: '/issuance/orders/:orderId', render: issuancePage.renderOrder },
];

const root = /** @type {HTMLElement} */ (document.getElementById('app'));
/** @type {Session | null} */
let session = null;
/** @type {ReturnType<typeof renderShell> | null} */
let shell = null;
let controller = new AbortController();

function showLogin(message = '') {
  session = null;
  shell = null;
  controller.abort();
  document.title = 'Log in · certkeeper';
  loginPage.render(root, {
    message,
    onLoggedIn(/** @type {Session} */ started) {
      useSession(started);
      announce('Logged in.');
      void route();
    },
  });
}

/** @param {Session} started */
function useSession(started) {
  session = started;
  setCsrfToken(started.csrfToken);
  shell = renderShell(root, started, logout);
}

async function logout() {
  try {
    await del('/session');
  } catch {
    // Already ended on the server: the login form is the right place either way.
  }
  showLogin('You have logged out.');
  location.hash = '#/';
}

async function route() {
  if (!session || !shell) return showLogin();
  controller.abort();
  controller = new AbortController();
  const { signal } = controller;
  const { path, params: query } = currentRoute();
  shell.markCurrent(path);
  const main = shell.main;
  let found = null;
  for (const candidate of ROUTES) {
    const params = match(candidate.pattern, path);
    if (params) {
      found = { candidate, params };
      break;
    }
  }
  try {
    let title;
    if (!found) {
      main.replaceChildren(
        h('h1', { tabindex: '-1', text: 'Page not found' }),
        h('p', {}, 'There is no such page. ', h('a', { href: '#/', text: 'Go to the dashboard' }), '.'),
      );
      title = 'Not found';
    } else if (found.candidate.allowed && !found.candidate.allowed(session)) {
      main.replaceChildren(
        h('h1', { tabindex: '-1', text: 'Not available' }),
        notice('info', `Your role (${session.role}) cannot use this page.`),
      );
      title = 'Not available';
    } else {
      title = await found.candidate.render({ session, params: found.params, query, main, signal });
    }
    if (signal.aborted) return;
    // A page that failed is titled by the heading failedPage gave it ("Not found", …).
    const shown = title === FAILED ? (main.querySelector('h1')?.textContent ?? title) : title;
    document.title = `${shown} · certkeeper`;
    const target = main.querySelector('[data-autofocus]') ?? main.querySelector('h1');
    if (target instanceof HTMLElement) target.focus({ preventScroll: false });
  } catch (error) {
    if (signal.aborted || (error instanceof ApiError && error.status === 401)) return;
    main.replaceChildren(...failedPage(error));
    document.title = `${FAILED} · certkeeper`;
    main.querySelector('h1')?.focus();
  }
}

async function boot() {
  whenSessionEnds((message) => showLogin(message));
  // Without a session the login form stays up whatever the hash; after login, route() shows the hash.
  window.addEventListener('hashchange', () => {
    if (session) void route();
  });
  try {
    useSession(await get('/session'));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401)
      return showLogin(error.code === 'session_required' ? '' : error.message);
    root.replaceChildren(
      h('main', { id: 'main', class: 'page' }, h('h1', { text: 'certkeeper' }), notice('error', messageOf(error))),
    );
    return;
  }
  await route();
}

void boot();
