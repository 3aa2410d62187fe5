/**
 * Access keys of the tenant (ADMIN): list, create (the secret key is shown once, with copy
 * buttons), revoke (after a confirmation naming the key; revoking your own ends your session).
 */
import { del, post } from '../api.js';
import { confirmDialog, openDialog } from '../dialog.js';
import { announce, cardTable, field, h, inlineForm, notice, showFailure } from '../dom.js';
import { formatDateTime } from '../format.js';
import { card, FAILED, load, pageTitle } from '../layout.js';
import { navigate } from '../router.js';

/** @typedef {import('../api.js').Credential} Credential */

/** @param {import('../main.js').PageContext} page */
export async function render(page) {
  /** @type {{ items: Credential[] } | undefined} */
  const data = await load(page, '/credentials');
  if (!data) return FAILED;
  const status = h('div', { class: 'form-status' });

  const role = field({
    name: 'role',
    label: 'Role',
    control: h(
      'select',
      { name: 'role' },
      h('option', { value: 'VIEWER', text: 'VIEWER: can look' }),
      h('option', { value: 'ADMIN', text: 'ADMIN: can also change things' }),
    ),
  });
  const description = field({
    name: 'description',
    label: 'Description',
    hint: 'What or who uses it, up to 200 characters.',
    control: h('input', { type: 'text', name: 'description', maxlength: '200', autocomplete: 'off' }),
  });
  const form = inlineForm('Create access key', role, description);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    role.setError(null);
    description.setError(null);
    try {
      const created = await post('/credentials', {
        role: /** @type {HTMLSelectElement} */ (role.control).value,
        description: /** @type {HTMLInputElement} */ (description.control).value,
      });
      await showSecret(created);
      navigate('/credentials');
    } catch (error) {
      showFailure(error, status, { role, description });
    }
  });

  page.main.replaceChildren(
    pageTitle('Access keys'),
    h('p', {
      class: 'muted',
      text: 'Access keys sign API requests (NCP), get NHN tokens and log in to this console. The secret key is shown once, when the key is created.',
    }),
    status,
    card('new-key', 'New access key', form),
    h(
      'section',
      { 'aria-labelledby': 'keys' },
      h('h2', { id: 'keys', text: 'Access keys of this tenant' }),
      table(data.items, status),
    ),
  );
  return 'Access keys';
}

/** @param {Credential[]} items @param {HTMLElement} status */
function table(items, status) {
  return cardTable(
    'Access keys',
    ['Access key', 'Role', 'Description', 'Created', 'State', h('span', { class: 'visually-hidden', text: 'Actions' })],
    items.map((c) =>
      h(
        'tr',
        { class: c.revokedAt ? 'row-muted' : '' },
        h(
          'th',
          { scope: 'row', dataset: { label: 'Access key' } },
          h('code', { text: c.accessKey }),
          c.current ? h('span', { class: 'badge badge-info', text: 'this session' }) : null,
        ),
        h(
          'td',
          { dataset: { label: 'Role' } },
          h('span', { class: `role role-${c.role.toLowerCase()}`, text: c.role }),
        ),
        h('td', { dataset: { label: 'Description' }, class: 'wrap', text: c.description || '—' }),
        h('td', { dataset: { label: 'Created' }, text: formatDateTime(c.createdAt) }),
        h('td', { dataset: { label: 'State' } }, c.revokedAt ? `Revoked ${formatDateTime(c.revokedAt)}` : 'Active'),
        h(
          'td',
          { dataset: { label: 'Actions' } },
          c.revokedAt
            ? null
            : h('button', {
                type: 'button',
                class: 'button button-danger button-small',
                'aria-label': `Revoke ${c.accessKey}`,
                text: 'Revoke…',
                onClick: () => revoke(c, status),
              }),
        ),
      ),
    ),
  );
}

/** @param {Credential} c @param {HTMLElement} status */
async function revoke(c, status) {
  const ok = await confirmDialog({
    title: `Revoke access key ${c.accessKey}?`,
    body: [
      h(
        'p',
        {},
        'Access key ',
        h('code', { text: c.accessKey }),
        ` (${c.role}${c.description ? `, ${c.description}` : ''}) will stop working at once: API calls, tokens and console sessions that use it.`,
      ),
      c.current
        ? h('p', { class: 'field-error', text: 'This is the key you are logged in with: you will be logged out.' })
        : null,
    ],
    confirm: 'Revoke',
    danger: true,
  });
  if (!ok) return;
  try {
    await del(`/credentials/${encodeURIComponent(c.accessKey)}`);
    announce(`Access key ${c.accessKey} was revoked.`);
    if (c.current) location.reload();
    else navigate('/credentials');
  } catch (error) {
    showFailure(error, status);
  }
}

/** Shows the new key's secret once, with copy buttons. @param {{ credential: Credential, secretKey: string }} created */
async function showSecret(created) {
  const copyRow = (/** @type {string} */ label, /** @type {string} */ value) => {
    const input = /** @type {HTMLInputElement} */ (
      h('input', { type: 'text', readonly: true, value, class: 'secret', spellcheck: 'false', 'aria-label': label })
    );
    const done = h('span', { class: 'copy-done', 'aria-live': 'polite' });
    const button = h('button', {
      type: 'button',
      class: 'button button-secondary button-small',
      text: 'Copy',
      'aria-label': `Copy ${label.toLowerCase()}`,
      onClick: async () => {
        try {
          await navigator.clipboard.writeText(value);
        } catch {
          input.select();
          document.execCommand('copy');
        }
        done.textContent = 'Copied';
      },
    });
    return h('div', { class: 'copy-row' }, h('span', { class: 'copy-label', text: label }), input, button, done);
  };
  await openDialog({
    title: 'Access key created',
    body: [
      notice(
        'info',
        'Copy the secret key now. It is shown only this once and cannot be recovered; if it is lost, create a new key and revoke this one.',
      ),
      copyRow('Access key', created.credential.accessKey),
      copyRow('Secret key', created.secretKey),
      h('p', { class: 'muted', text: `Role ${created.credential.role}. ${created.credential.description}` }),
    ],
    buttons: [{ label: 'I have stored the secret key', value: 'done', kind: 'primary' }],
  });
}
