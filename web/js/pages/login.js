/**
 * Login with an access key and secret key (the same pair the APIs use). The server throttles
 * repeated failures; its message says how long to wait.
 */
import { ApiError, request } from '../api.js';
import { field, h, notice } from '../dom.js';
import { brand } from '../layout.js';

/**
 * @param {HTMLElement} root
 * @param {{ message: string, onLoggedIn: (session: import('../main.js').Session) => void }} options
 */
export function render(root, { message, onLoggedIn }) {
  const accessKey = field({
    name: 'accessKey',
    label: 'Access key',
    control: h('input', {
      type: 'text',
      name: 'accessKey',
      autocomplete: 'username',
      autocapitalize: 'none',
      spellcheck: 'false',
      required: true,
    }),
  });
  const secretKey = field({
    name: 'secretKey',
    label: 'Secret key',
    control: h('input', { type: 'password', name: 'secretKey', autocomplete: 'current-password', required: true }),
  });
  const status = h('div', { class: 'form-status' }, message ? notice('info', message) : null);
  const submit = h('button', { type: 'submit', class: 'button button-primary button-wide', text: 'Log in' });
  const form = h('form', { class: 'login-form', novalidate: true }, status, accessKey.field, secretKey.field, submit);
  const input = (/** @type {HTMLElement} */ el) => /** @type {HTMLInputElement} */ (el);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    accessKey.setError(null);
    secretKey.setError(null);
    const ak = input(accessKey.control).value.trim();
    const sk = input(secretKey.control).value;
    if (!ak || !sk) {
      if (!ak) accessKey.setError('Enter your access key.');
      if (!sk) secretKey.setError('Enter your secret key.');
      (ak ? secretKey.control : accessKey.control).focus();
      return;
    }
    submit.setAttribute('disabled', '');
    submit.textContent = 'Logging in…';
    try {
      const session = await request('POST', '/session', { accessKey: ak, secretKey: sk });
      onLoggedIn(session);
    } catch (error) {
      const text = error instanceof ApiError ? error.message : 'The login failed. Try again.';
      status.replaceChildren(notice('error', text));
      input(secretKey.control).value = '';
      secretKey.control.focus();
    } finally {
      submit.removeAttribute('disabled');
      submit.textContent = 'Log in';
    }
  });

  root.replaceChildren(
    h(
      'main',
      { id: 'main', class: 'login-page' },
      h(
        'div',
        { class: 'login-card' },
        brand('large'),
        h('h1', { tabindex: '-1', text: 'Log in to the console' }),
        h('p', {
          class: 'muted',
          text: 'Use an access key and secret key of your tenant. A VIEWER key can look; an ADMIN key can also change things.',
        }),
        form,
      ),
    ),
  );
  accessKey.control.focus();
}
