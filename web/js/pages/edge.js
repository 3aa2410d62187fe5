/**
 * Edge slots: list (with live status), provision a certificate, and per slot: replace the
 * certificate, change TLS settings, delete. The provisioning worker publishes in the background;
 * pages poll every 2 s while a slot has work pending and announce status changes to screen readers.
 */
import { ApiError, del, get, post, query, request } from '../api.js';
import { confirmDialog } from '../dialog.js';
import { announce, facts, field, h, notice } from '../dom.js';
import { formatDateTime, statusBadge } from '../format.js';
import { pageTitle } from '../layout.js';
import { href, navigate } from '../router.js';

const POLL_MS = 2000;

const SLOT_STATUS = /** @type {Record<string, string>} */ ({
  READY: 'Waiting to publish',
  PUBLISHING: 'Publishing…',
  RUNNING: 'Running',
  DELETING: 'Removing…',
  DELETED: 'Deleted',
});

const TLS_VERSIONS = [
  ['TLS_MIN_VERSION_1_2', 'TLS 1.2 and newer (recommended)'],
  ['TLS_ALL_VERSIONS', 'All versions (TLS 1.0 to 1.3)'],
];
const CIPHER_PROFILES = [
  ['DEFAULT', 'DEFAULT'],
  ['GENERAL', 'GENERAL'],
  ['STRICT', 'STRICT (needs TLS 1.2 and newer)'],
];

/** @param {string} status */
function slotBadge(status) {
  const badge = h('span', { class: `badge slot-${status.toLowerCase()}`, text: SLOT_STATUS[status] ?? status });
  return badge;
}

/** @param {string} name @param {string} label @param {string[][]} options @param {string} value */
const selectField = (name, label, options, value) =>
  field({
    name,
    label,
    control: h(
      'select',
      { name },
      options.map(([v, text]) => h('option', { value: v, selected: v === value, text })),
    ),
  });

/**
 * A certificate given by number or exact name → its number, or an ApiError on the certificateNo field.
 * @param {string} text
 */
async function resolveCertificate(text) {
  const value = text.trim();
  if (/^\d+$/.test(value)) return Number(value);
  if (!value)
    throw new ApiError(400, 'invalid_argument', 'Enter the name or number of a certificate.', 'certificateNo');
  const page = await get(`/certificates${query({ name: value, pageSize: 100 })}`);
  const found = page.items.find((/** @type {{ name: string }} */ c) => c.name === value);
  if (!found) throw new ApiError(404, 'not_found', `No certificate is named '${value}'.`, 'certificateNo');
  return found.certificateNo;
}

/** Polls `load` every POLL_MS while `pending()` and the page is shown. @param {AbortSignal} signal @param {() => boolean} pending @param {() => Promise<void>} load */
function poll(signal, pending, load) {
  const tick = async () => {
    if (signal.aborted || !pending()) return;
    try {
      await load();
    } catch {
      // A failed poll is retried on the next tick; the page keeps what it shows.
    }
    if (!signal.aborted) setTimeout(tick, POLL_MS);
  };
  setTimeout(tick, POLL_MS);
}

/** @param {import('../main.js').PageContext} ctx */
export async function renderList({ main, session, query: params, signal }) {
  let data = await get('/edge/slots');
  if (signal.aborted) return 'Edge slots';
  const status = h('div', { class: 'form-status' });
  const results = h('div', {});
  const show = () => {
    results.replaceChildren(
      slotTable(data.items),
      h('p', { class: 'muted', text: `${data.total} slot${data.total === 1 ? '' : 's'}.` }),
    );
  };
  show();

  main.replaceChildren(
    pageTitle('Edge slots'),
    h(
      'p',
      { class: 'muted' },
      'A slot publishes one certificate with its private key to this tenant’s deployment target',
      data.targetKind
        ? ` (${data.targetKind}).`
        : '. No target is configured yet: the operator sets one with certkeeper target set.',
    ),
    status,
    session.can.writeCertificates ? provisionForm(params.get('certificate') ?? '', status) : null,
    h(
      'section',
      { 'aria-labelledby': 'slots-title', 'aria-live': 'polite' },
      h('h2', { id: 'slots-title', text: 'Slots' }),
      results,
    ),
  );
  poll(
    signal,
    () => data.items.some((/** @type {{ pending: boolean }} */ s) => s.pending),
    async () => {
      const before = new Map(data.items.map((/** @type {any} */ s) => [s.slotId, s.status]));
      data = await get('/edge/slots');
      if (signal.aborted) return;
      show();
      for (const s of data.items)
        if (before.get(s.slotId) && before.get(s.slotId) !== s.status)
          announce(`Slot ${s.slotId} is now ${SLOT_STATUS[s.status] ?? s.status}.`);
    },
  );
  return 'Edge slots';
}

/** @param {any[]} items */
function slotTable(items) {
  if (items.length === 0) return h('p', { class: 'empty', text: 'No edge slots yet.' });
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table table-cards' },
      h('caption', { class: 'visually-hidden', text: 'Edge slots' }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Slot', 'Certificate', 'Status', 'TLS', 'Last change'].map((t) => h('th', { scope: 'col', text: t })),
        ),
      ),
      h(
        'tbody',
        {},
        items.map((s) =>
          h(
            'tr',
            {},
            h(
              'th',
              { scope: 'row', dataset: { label: 'Slot' } },
              h('a', { href: href(`/edge/${s.slotId}`), text: `Slot ${s.slotId}` }),
            ),
            h(
              'td',
              { dataset: { label: 'Certificate' } },
              s.items.map((/** @type {any} */ i) =>
                i.certificate
                  ? h('a', { href: href(`/certificates/${i.certificateNo}`), text: i.certificate.name })
                  : `#${i.certificateNo} (deleted)`,
              ),
            ),
            h(
              'td',
              { dataset: { label: 'Status' } },
              slotBadge(s.status),
              s.deployment.lastError ? h('div', { class: 'field-error small', text: s.deployment.lastError }) : null,
            ),
            h('td', { dataset: { label: 'TLS' }, text: `${s.tlsProtocols.join(', ')} · ${s.cipherProfile}` }),
            h('td', { dataset: { label: 'Last change' }, text: formatDateTime(s.updatedAt) }),
          ),
        ),
      ),
    ),
  );
}

/** @param {string} initial @param {HTMLElement} status */
function provisionForm(initial, status) {
  const certificate = field({
    name: 'certificateNo',
    label: 'Certificate',
    hint: 'Its name or number. It must be valid and have its private key.',
    control: h('input', {
      type: 'text',
      name: 'certificateNo',
      value: initial,
      autocomplete: 'off',
      spellcheck: 'false',
    }),
  });
  const tls = selectField('tlsVersion', 'TLS versions', TLS_VERSIONS, 'TLS_MIN_VERSION_1_2');
  const cipher = selectField('cipherProfile', 'Cipher profile', CIPHER_PROFILES, 'DEFAULT');
  const form = h(
    'form',
    { class: 'inline-form', novalidate: true },
    certificate.field,
    tls.field,
    cipher.field,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button button-primary', text: 'Provision' })),
  );
  const fields = /** @type {Record<string, ReturnType<typeof field>>} */ ({
    certificateNo: certificate,
    tlsVersion: tls,
    cipherProfile: cipher,
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const f of Object.values(fields)) f.setError(null);
    status.replaceChildren();
    try {
      const certificateNo = await resolveCertificate(/** @type {HTMLInputElement} */ (certificate.control).value);
      const slot = await post('/edge/slots', {
        certificateNo,
        tlsVersion: /** @type {HTMLSelectElement} */ (tls.control).value,
        cipherProfile: /** @type {HTMLSelectElement} */ (cipher.control).value,
      });
      announce(`Slot ${slot.slotId} was provisioned.`);
      navigate(`/edge/${slot.slotId}`);
    } catch (error) {
      showFieldError(error, fields, status);
    }
  });
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'provision-title' },
    h('h2', { id: 'provision-title', text: 'Provision a certificate' }),
    form,
  );
}

/** @param {unknown} error @param {Record<string, ReturnType<typeof field>>} fields @param {HTMLElement} status */
function showFieldError(error, fields, status) {
  const message = error instanceof Error ? error.message : String(error);
  const target =
    error instanceof ApiError && error.field
      ? fields[error.field === 'certificateNos' ? 'certificateNo' : error.field]
      : undefined;
  if (target) {
    target.setError(message);
    target.control.focus();
  } else {
    status.replaceChildren(notice('error', message));
    const alert = /** @type {HTMLElement | null} */ (status.firstElementChild);
    alert?.setAttribute('tabindex', '-1');
    alert?.focus();
  }
}

/** @param {import('../main.js').PageContext} ctx */
export async function renderSlot({ main, params, session, signal }) {
  const id = params.slotId ?? '';
  let slot = await get(`/edge/slots/${encodeURIComponent(id)}`);
  if (signal.aborted) return `Slot ${slot.slotId}`;
  const status = h('div', { class: 'form-status' });
  const live = h('div', { 'aria-live': 'polite' });
  const showState = () => live.replaceChildren(stateOf(slot));
  showState();
  const editable = session.can.writeCertificates && ['READY', 'PUBLISHING', 'RUNNING'].includes(slot.status);

  main.replaceChildren(
    pageTitle(`Edge slot ${slot.slotId}`),
    h('p', {}, h('a', { href: href('/edge'), text: '← All edge slots' })),
    status,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'state-title' },
      h('h2', { id: 'state-title', text: 'State' }),
      live,
    ),
    editable ? changeForms(slot, status, () => navigate(`/edge/${slot.slotId}`)) : null,
  );
  poll(
    signal,
    () => slot.pending,
    async () => {
      const before = slot.status;
      slot = await get(`/edge/slots/${slot.slotId}`);
      if (signal.aborted) return;
      showState();
      if (slot.status !== before) {
        announce(`Slot ${slot.slotId} is now ${SLOT_STATUS[slot.status] ?? slot.status}.`);
        if (!slot.pending) navigate(`/edge/${slot.slotId}`);
      }
    },
  );
  return `Slot ${slot.slotId}`;
}

/** @param {any} slot */
function stateOf(slot) {
  const d = slot.deployment;
  return facts([
    [
      'Status',
      h(
        'span',
        {},
        slotBadge(slot.status),
        slot.pending ? h('span', { class: 'muted small', text: ' (updates by itself)' }) : null,
      ),
    ],
    [
      'Certificate',
      h(
        'div',
        {},
        slot.items.map((/** @type {any} */ i) =>
          i.certificate
            ? h(
                'div',
                {},
                h('a', { href: href(`/certificates/${i.certificateNo}`), text: i.certificate.name }),
                ' ',
                statusBadge(i.certificate.status),
                h('span', { class: 'muted small', text: ` until ${formatDateTime(i.certificate.notAfter)}` }),
              )
            : h('div', { text: `#${i.certificateNo} (deleted)` }),
        ),
      ),
    ],
    ['Region', slot.serviceRegion === 'KR_JP' ? 'Korea/Japan (KR_JP)' : slot.serviceRegion],
    ['TLS versions', slot.tlsProtocols.join(', ')],
    ['Cipher profile', slot.cipherProfile],
    ['Deployment target', slot.targetKind ?? 'None configured'],
    [
      'Published',
      d.deployedGeneration === d.generation
        ? `Yes (change ${d.generation})`
        : `Change ${d.generation} is waiting; the target has change ${d.deployedGeneration}`,
    ],
    ['Failed attempts', d.attempts ? String(d.attempts) : null],
    [
      'Last error',
      d.lastError
        ? h('span', { class: 'field-error', text: `${d.lastError} (${formatDateTime(d.lastErrorAt)})` })
        : null,
    ],
    ['Next attempt', d.nextAttemptAt ? formatDateTime(d.nextAttemptAt) : null],
    ['Provisioned', formatDateTime(slot.provisionedAt)],
    ['Last change', formatDateTime(slot.updatedAt)],
    ['Deleted', slot.deletedAt ? formatDateTime(slot.deletedAt) : null],
  ]);
}

/** @param {any} slot @param {HTMLElement} status @param {() => void} refresh */
function changeForms(slot, status, refresh) {
  const current = slot.items[0];
  const certificate = field({
    name: 'certificateNo',
    label: 'New certificate',
    hint: 'Its name or number. The slot publishes it instead of the current one.',
    control: h('input', {
      type: 'text',
      name: 'certificateNo',
      value: current?.certificate?.name ?? '',
      autocomplete: 'off',
      spellcheck: 'false',
    }),
  });
  const replaceForm = h(
    'form',
    { class: 'inline-form', novalidate: true },
    certificate.field,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'button button-primary', text: 'Replace certificate' }),
    ),
  );
  replaceForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    certificate.setError(null);
    status.replaceChildren();
    try {
      const certificateNo = await resolveCertificate(/** @type {HTMLInputElement} */ (certificate.control).value);
      await request('PUT', `/edge/slots/${slot.slotId}/certificate`, { certificateNo });
      announce('The certificate will be published.');
      refresh();
    } catch (error) {
      showFieldError(error, { certificateNo: certificate }, status);
    }
  });

  const tls = selectField('tlsVersion', 'TLS versions', TLS_VERSIONS, slot.tlsVersion);
  const cipher = selectField('cipherProfile', 'Cipher profile', CIPHER_PROFILES, slot.cipherProfile);
  const tlsForm = h(
    'form',
    { class: 'inline-form', novalidate: true },
    tls.field,
    cipher.field,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'button button-primary', text: 'Save TLS settings' }),
    ),
  );
  tlsForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    tls.setError(null);
    cipher.setError(null);
    status.replaceChildren();
    try {
      await request('PUT', `/edge/slots/${slot.slotId}/tls`, {
        tlsVersion: /** @type {HTMLSelectElement} */ (tls.control).value,
        cipherProfile: /** @type {HTMLSelectElement} */ (cipher.control).value,
      });
      announce('The TLS settings will be published.');
      refresh();
    } catch (error) {
      showFieldError(error, { tlsVersion: tls, cipherProfile: cipher }, status);
    }
  });

  const remove = h('button', {
    type: 'button',
    class: 'button button-danger',
    text: 'Delete slot…',
    onClick: async () => {
      const name = current?.certificate?.name ?? `#${current?.certificateNo}`;
      const ok = await confirmDialog({
        title: `Delete edge slot ${slot.slotId}?`,
        body: [
          h(
            'p',
            {},
            'Slot ',
            h('strong', { text: String(slot.slotId) }),
            ' stops publishing certificate ',
            h('strong', { text: name }),
            ', and its files are removed from the deployment target. The certificate itself stays.',
          ),
        ],
        confirm: `Delete slot ${slot.slotId}`,
        danger: true,
      });
      if (!ok) return;
      try {
        await del(`/edge/slots/${slot.slotId}`);
        announce(`Slot ${slot.slotId} is being removed.`);
        refresh();
      } catch (error) {
        showFieldError(error, {}, status);
      }
    },
  });

  return h(
    'div',
    {},
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'replace-title' },
      h('h2', { id: 'replace-title', text: 'Replace the certificate' }),
      replaceForm,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'tls-title' },
      h('h2', { id: 'tls-title', text: 'TLS settings' }),
      tlsForm,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'delete-title' },
      h('h2', { id: 'delete-title', text: 'Delete the slot' }),
      remove,
    ),
  );
}
