/**
 * Edge slots: list (with live status), provision a certificate, and per slot: replace the
 * certificate, change TLS settings, delete. The provisioning worker publishes in the background;
 * pages poll every 2 s while a slot has work pending and announce status changes to screen readers.
 */
import { ApiError, del, get, post, query, request } from '../api.js';
import { confirmDialog } from '../dialog.js';
import { announce, cardTable, facts, field, h, inlineForm, notice, replace, showFailure } from '../dom.js';
import { formatDateTime, statusBadge } from '../format.js';
import { card, FAILED, load, pageTitle } from '../layout.js';
import { href, navigate } from '../router.js';

/** @typedef {import('../api.js').Slot} Slot */

const POLL_MS = 2000;

const SLOT_STATUS = /** @type {Record<string, string>} */ ({
  READY: 'Waiting to publish',
  PUBLISHING: 'Publishing…',
  RUNNING: 'Running',
  DELETING: 'Removing…',
  DELETED: 'Deleted',
});

/**
 * The choices of the TLS forms, in words. The values are src/domain/edge-slot.ts's TLS_VERSIONS
 * and CIPHER_PROFILES: web/ cannot import them and the server does not send them, so this is the
 * browser's one copy, and test/e2e/console.test.ts holds it to the domain's.
 * @type {Array<[string, string]>}
 */
const TLS_VERSIONS = [
  ['TLS_MIN_VERSION_1_2', 'TLS 1.2 and newer (recommended)'],
  ['TLS_ALL_VERSIONS', 'All versions (TLS 1.0 to 1.3)'],
];
/** @type {Array<[string, string]>} */
const CIPHER_PROFILES = [
  ['DEFAULT', 'DEFAULT'],
  ['GENERAL', 'GENERAL'],
  ['STRICT', 'STRICT (needs TLS 1.2 and newer)'],
];

/** @param {string} status */
const slotBadge = (status) =>
  h('span', { class: `badge slot-${status.toLowerCase()}`, text: SLOT_STATUS[status] ?? status });

/** @param {string} name @param {string} label @param {Array<[string, string]>} options @param {string} value */
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
 * A certificate given by number or exact name → its number, or an ApiError on `field`.
 * @param {string} text @param {string} [field]
 */
async function resolveCertificate(text, field = 'certificateNo') {
  const value = text.trim();
  if (/^\d+$/.test(value)) return Number(value);
  if (!value) throw new ApiError(400, 'invalid_argument', 'Enter the name or number of a certificate.', field);
  /** @type {import('../api.js').CertificatePage} */
  const page = await get(`/certificates${query({ name: value, pageSize: 100 })}`);
  const found = page.items.find((c) => c.name === value);
  if (!found) throw new ApiError(404, 'not_found', `No certificate is named '${value}'.`, field);
  return found.certificateNo;
}

/**
 * Fetches `path` every POLL_MS while `pending()` and the page is shown, and hands the answer to
 * `update`. Not a load(): the page stays as it is while a poll runs, and a failed poll is retried
 * on the next tick (the page keeps what it shows).
 * @template T
 * @param {AbortSignal} signal @param {string} path @param {() => boolean} pending @param {(answer: T) => void} update
 */
function poll(signal, path, pending, update) {
  const tick = async () => {
    if (signal.aborted || !pending()) return;
    try {
      /** @type {T} */
      const answer = await get(path, signal);
      if (!signal.aborted) update(answer);
    } catch {
      // Aborted (the user left), or failed: tried again on the next tick while the page is shown.
    }
    if (!signal.aborted) setTimeout(tick, POLL_MS);
  };
  setTimeout(tick, POLL_MS);
}

/** @param {import('../main.js').PageContext} page */
export async function renderList(page) {
  const { main, session, query: params, signal } = page;
  /** @type {import('../api.js').SlotPage | undefined} */
  const data = await load(page, '/edge/slots');
  if (!data) return FAILED;
  /** @type {import('../api.js').DeployTargetPage | null} */
  const targetView = await get('/deploy-target', signal).catch(() => null);
  const status = h('div', { class: 'form-status' });
  const results = h('div', {});
  /** @param {import('../api.js').SlotPage} shown */
  const show = (shown) => {
    results.replaceChildren(
      slotTable(shown.items),
      h('p', { class: 'muted', text: `${shown.total} slot${shown.total === 1 ? '' : 's'}.` }),
    );
  };
  show(data);

  // replace(), not replaceChildren(): a VIEWER has no provision form, and replaceChildren would show that null as text.
  replace(
    main,
    pageTitle('Edge slots'),
    h(
      'p',
      { class: 'muted' },
      'A slot publishes one certificate with its private key to this tenant’s deployment target',
      data.targetKind
        ? ` (${data.targetKind}).`
        : '. No target is configured yet: the operator sets one with certkeeper target set.',
    ),
    targetView ? targetCard(targetView, () => navigate('/edge')) : null,
    status,
    session.can.writeCertificates ? provisionForm(params.get('certificate') ?? '', status) : null,
    h(
      'section',
      { 'aria-labelledby': 'slots-title', 'aria-live': 'polite' },
      h('h2', { id: 'slots-title', text: 'Slots' }),
      results,
    ),
  );
  let shown = data;
  poll(
    signal,
    '/edge/slots',
    () => shown.items.some((s) => s.pending),
    /** @param {import('../api.js').SlotPage} next */ (next) => {
      const before = new Map(shown.items.map((s) => [s.slotId, s.status]));
      shown = next;
      show(next);
      for (const s of next.items)
        if (before.get(s.slotId) && before.get(s.slotId) !== s.status)
          announce(`Slot ${s.slotId} is now ${SLOT_STATUS[s.status] ?? s.status}.`);
    },
  );
  return 'Edge slots';
}

/** @param {string} action @param {number | null} slotId */
const deployWords = (action, slotId) => `${action === 'remove' ? 'Removed' : 'Published'} slot ${slotId ?? '?'}`;

/**
 * The tenant's deployment target: what it is, the files a slot gets and their modes, what the
 * worker did last, and how to change it. The console changes it only when the operator started the
 * server with CERTKEEPER_CONSOLE_TARGET_EDIT=on and the session's role may (`edit.allowed`): a
 * target decides where private keys are written and which command the server runs. Otherwise the
 * card says so and shows the `certkeeper target set` command to run on the server instead.
 * @param {import('../api.js').DeployTargetPage} view @param {() => void} refresh
 */
function targetCard(view, refresh) {
  const { target, lastDeployment: last, edit } = view;
  /** @type {Array<[string, unknown]>} */
  const rows = !target
    ? [['Target', 'None configured yet']]
    : target.kind === 'directory'
      ? [
          ['Kind', 'A directory on the server'],
          ['Path', h('code', { class: 'wrap', text: target.path })],
          [
            'Files',
            h(
              'ul',
              { class: 'plain-list' },
              target.files.map((f) =>
                h(
                  'li',
                  {},
                  h('code', { class: 'wrap', text: f.path }),
                  h('span', { class: 'muted small', text: ` ${f.mode} · ${f.holds}` }),
                ),
              ),
            ),
          ],
          ['Reload command', target.reloadCommand ? h('code', { class: 'wrap', text: target.reloadCommand }) : 'None'],
          ['Reload time limit', `${target.reloadTimeoutMs / 1000} s`],
        ]
      : [
          ['Kind', 'A webhook (a signed POST)'],
          ['Sent to', h('code', { class: 'wrap', text: target.origin })],
        ];
  rows.push([
    'Last deployment',
    last
      ? h(
          'span',
          {},
          `${deployWords(last.action, last.slotId)}: `,
          last.result === 'success' ? 'succeeded' : h('span', { class: 'field-error', text: 'failed' }),
          ` (${formatDateTime(last.at)})`,
        )
      : target
        ? 'None yet'
        : null,
  ]);
  if (target) rows.push(['Target last changed', formatDateTime(target.updatedAt)]);

  const canForm = edit.allowed && (!target || target.kind === 'directory');
  return card(
    'target-title',
    'Deployment target',
    facts(rows),
    canForm ? targetForm(view, refresh) : targetHowTo(view),
  );
}

/**
 * Why the card has no form, and the command that does the same on the server.
 * @param {import('../api.js').DeployTargetPage} view
 */
function targetHowTo(view) {
  const { edit, command, target } = view;
  const why = !edit.switchedOn
    ? [
        'Changing the target from the console is switched off on this server: it decides where private keys are written and which command the server runs. The operator can allow it by starting the server with ',
        h('code', { text: `${edit.variable}=on` }),
        ', or change it on the server:',
      ]
    : edit.allowed
      ? ['A webhook target is changed on the server:']
      : ['Your access key’s role may not change the deployment target. An administrator can, or on the server:'];
  const shown =
    command ??
    (target?.kind === 'webhook'
      ? 'certkeeper target set webhook --url URL'
      : 'certkeeper target set directory --path DIR --create --reload-command CMD');
  return h(
    'div',
    { class: 'target-how' },
    h('p', { class: 'muted' }, ...why),
    h('pre', { class: 'command' }, h('code', { text: shown })),
    command
      ? h('p', { class: 'muted small', text: 'This command sets the target as it is now: change the values you need.' })
      : null,
  );
}

/**
 * Changes a directory target. Only what the user changed is sent: the server keeps every setting
 * left out (the CLI's `target set` rule), so one change never drops another.
 * @param {import('../api.js').DeployTargetPage} view @param {() => void} refresh
 */
function targetForm(view, refresh) {
  const current = view.target?.kind === 'directory' ? view.target : null;
  const path = field({
    name: 'path',
    label: 'Directory',
    hint: 'An absolute path on the server. Each slot gets a folder in it.',
    control: h('input', { type: 'text', name: 'path', value: current?.path ?? '', spellcheck: 'false' }),
  });
  const command = field({
    name: 'reloadCommand',
    label: 'Reload command',
    hint: 'Run without a shell after each change, e.g. nginx -s reload. Empty: none.',
    control: h('input', {
      type: 'text',
      name: 'reloadCommand',
      value: current?.reloadCommand ?? '',
      spellcheck: 'false',
    }),
  });
  const timeout = field({
    name: 'reloadTimeoutMs',
    label: 'Reload time limit (seconds)',
    control: h('input', {
      type: 'number',
      name: 'reloadTimeoutMs',
      min: '1',
      max: '600',
      value: String((current?.reloadTimeoutMs ?? 10_000) / 1000),
    }),
  });
  const createBox = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', name: 'create' }));
  const create = h(
    'div',
    { class: 'field' },
    h('label', {}, createBox, ' Create the directory if it does not exist (0700, as the server’s user)'),
  );
  const status = h('div', { class: 'form-status' });
  const form = h(
    'form',
    { class: 'target-form', novalidate: true },
    path.field,
    command.field,
    timeout.field,
    create,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'button button-primary', text: 'Save target' }),
    ),
  );
  const fields = { path, reloadCommand: command, reloadTimeoutMs: timeout, reloadTimeout: timeout };
  const value = (/** @type {{ control: HTMLElement }} */ f) => /** @type {HTMLInputElement} */ (f.control).value;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const f of [path, command, timeout]) f.setError(null);
    status.replaceChildren();
    /** @type {Record<string, unknown>} */
    const body = { kind: 'directory' };
    if (!current || value(path).trim() !== current.path) body.path = value(path).trim();
    if (value(command).trim() !== (current?.reloadCommand ?? '')) body.reloadCommand = value(command).trim();
    const seconds = Number(value(timeout));
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 600) {
      timeout.setError('Enter a whole number of seconds from 1 to 600.');
      timeout.control.focus();
      return;
    }
    if (seconds * 1000 !== (current?.reloadTimeoutMs ?? 10_000)) body.reloadTimeoutMs = seconds * 1000;
    if (createBox.checked) body.create = true;
    if (current && Object.keys(body).length === (createBox.checked ? 2 : 1)) {
      status.replaceChildren(notice('info', 'Nothing changed.'));
      return;
    }
    try {
      /** @type {{ createdDirectory: boolean, republished: number[] }} */
      const saved = await request('PUT', '/deploy-target', body);
      announce(
        `The deployment target was saved${saved.createdDirectory ? ' and its directory created' : ''}.` +
          (saved.republished.length ? ` ${saved.republished.length} slot(s) will be published to it.` : ''),
      );
      refresh();
    } catch (error) {
      showFailure(error, status, fields);
    }
  });
  return h(
    'div',
    {},
    h('h3', { text: 'Change the target' }),
    h('p', {
      class: 'muted small',
      text: 'The server writes the private keys of this tenant’s slots into the directory and runs the command as its own user. Only what you change is saved; the rest stays.',
    }),
    status,
    form,
  );
}

/** @param {Slot[]} items */
function slotTable(items) {
  if (items.length === 0) return h('p', { class: 'empty', text: 'No edge slots yet.' });
  return cardTable(
    'Edge slots',
    ['Slot', 'Certificate', 'Status', 'TLS', 'Last change'],
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
          s.items.map((i) =>
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
  );
}

/**
 * A searchable certificate picker: a text field (a name or number, as before) whose suggestions
 * (a <datalist>) come from the certificate list as the user types, by its name filter (a
 * substring, case-insensitive), unexpired ones first by name, 25 at most. Each suggestion is the
 * name, labelled with its number, common name and end date. The certificates page owns its own
 * search; this calls the same list API.
 * @param {{ name: string, label: string, hint: string, value: string }} options
 */
function certificatePicker({ name, label, hint, value }) {
  const input = /** @type {HTMLInputElement} */ (
    h('input', { type: 'text', name, value, autocomplete: 'off', spellcheck: 'false' })
  );
  const f = field({ name, label, hint, control: input });
  const suggestions = h('datalist', { id: `${input.id}-suggestions` });
  input.setAttribute('list', suggestions.id);
  f.field.insertBefore(suggestions, f.error);
  /** @type {AbortController | null} */
  let inFlight = null;
  let timer = 0;
  const suggest = async () => {
    inFlight?.abort();
    const controller = new AbortController();
    inFlight = controller;
    const text = input.value.trim();
    try {
      /** @type {import('../api.js').CertificatePage} */
      const page = await get(
        `/certificates${query({ name: /^\d+$/.test(text) ? '' : text, status: 'unexpired', sort: 'name', pageSize: 25 })}`,
        controller.signal,
      );
      suggestions.replaceChildren(
        ...page.items.map((c) =>
          h('option', {
            value: c.name,
            label: `#${c.certificateNo} · ${c.commonName ?? 'no common name'} · until ${formatDateTime(c.notAfter)}`,
          }),
        ),
      );
    } catch {
      // Suggestions are a help: without them the field still takes a name or number.
    }
  };
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = window.setTimeout(suggest, 200);
  });
  input.addEventListener('focus', () => void suggest(), { once: true });
  return f;
}

/** @param {string} initial @param {HTMLElement} status */
function provisionForm(initial, status) {
  const certificate = certificatePicker({
    name: 'certificateNo',
    label: 'Certificate',
    hint: 'Type part of its name to pick it from the list, or its number. It must be valid and have its private key.',
    value: initial,
  });
  const global = certificatePicker({
    name: 'globalCertificateNo',
    label: 'Global Edge Dedicated certificate (optional)',
    hint: 'Leave empty for a Korea/Japan slot. With one, the slot also serves the global region (KR_JP_GLOBAL).',
    value: '',
  });
  const tls = selectField('tlsVersion', 'TLS versions', TLS_VERSIONS, 'TLS_MIN_VERSION_1_2');
  const cipher = selectField('cipherProfile', 'Cipher profile', CIPHER_PROFILES, 'DEFAULT');
  const form = inlineForm('Provision', certificate, global, tls, cipher);
  // The server names the certificate field `certificateNos` when core refuses the certificate.
  const fields = {
    certificateNo: certificate,
    certificateNos: certificate,
    globalCertificateNo: global,
    tlsVersion: tls,
    cipherProfile: cipher,
  };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const f of Object.values(fields)) f.setError(null);
    status.replaceChildren();
    try {
      const certificateNo = await resolveCertificate(/** @type {HTMLInputElement} */ (certificate.control).value);
      const globalText = /** @type {HTMLInputElement} */ (global.control).value.trim();
      const globalCertificateNo =
        globalText === '' ? undefined : await resolveCertificate(globalText, 'globalCertificateNo');
      const slot = await post('/edge/slots', {
        certificateNo,
        ...(globalCertificateNo === undefined ? {} : { globalCertificateNo }),
        tlsVersion: /** @type {HTMLSelectElement} */ (tls.control).value,
        cipherProfile: /** @type {HTMLSelectElement} */ (cipher.control).value,
      });
      announce(`Slot ${slot.slotId} was provisioned.`);
      navigate(`/edge/${slot.slotId}`);
    } catch (error) {
      showFailure(error, status, fields);
    }
  });
  return card('provision-title', 'Provision a certificate', form);
}

/** @param {import('../main.js').PageContext} page */
export async function renderSlot(page) {
  const { main, params, session, signal } = page;
  /** @type {Slot | undefined} */
  const loaded = await load(page, `/edge/slots/${encodeURIComponent(params.slotId ?? '')}`, {
    back: { href: href('/edge'), text: 'Go to the edge slots' },
  });
  if (!loaded) return FAILED;
  let slot = loaded;
  const status = h('div', { class: 'form-status' });
  const live = h('div', { 'aria-live': 'polite' });
  const showState = () => live.replaceChildren(stateOf(slot));
  showState();
  const editable = session.can.writeCertificates && ['READY', 'PUBLISHING', 'RUNNING'].includes(slot.status);

  // replace(), not replaceChildren(): without the forms (a VIEWER, a deleted slot) replaceChildren would show null as text.
  replace(
    main,
    pageTitle(`Edge slot ${slot.slotId}`),
    h('p', {}, h('a', { href: href('/edge'), text: '← All edge slots' })),
    status,
    card('state-title', 'State', live),
    editable ? changeForms(slot, status, () => navigate(`/edge/${slot.slotId}`)) : null,
  );
  poll(
    signal,
    `/edge/slots/${slot.slotId}`,
    () => slot.pending,
    /** @param {Slot} next */ (next) => {
      const before = slot.status;
      slot = next;
      showState();
      if (slot.status !== before) {
        announce(`Slot ${slot.slotId} is now ${SLOT_STATUS[slot.status] ?? slot.status}.`);
        if (!slot.pending) navigate(`/edge/${slot.slotId}`);
      }
    },
  );
  return `Slot ${slot.slotId}`;
}

/** @param {Slot} slot */
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
        slot.items.map((i) =>
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
    [
      'Deployment target',
      slot.targetKind === 'directory'
        ? h(
            'span',
            {},
            'A directory: ',
            h('code', { class: 'wrap', text: slot.targetDirectory ?? '' }),
            ...(slot.targetAlias
              ? [', also reachable by the certificate’s name as ', h('code', { class: 'wrap', text: slot.targetAlias })]
              : []),
          )
        : slot.targetKind === 'webhook'
          ? 'A webhook (a signed POST)'
          : 'None configured',
    ],
    // The server's words (the CLI's too), with a capital first letter.
    ['On the target', slot.onTarget.charAt(0).toUpperCase() + slot.onTarget.slice(1)],
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

/** @param {Slot} slot @param {HTMLElement} status @param {() => void} refresh */
function changeForms(slot, status, refresh) {
  const current = slot.items[0];
  const certificate = certificatePicker({
    name: 'certificateNo',
    label: 'New certificate',
    hint: 'Type part of its name to pick it from the list, or its number. The slot publishes it instead of the current one.',
    value: current?.certificate?.name ?? '',
  });
  const replaceForm = inlineForm('Replace certificate', certificate);
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
      showFailure(error, status, { certificateNo: certificate, certificateNos: certificate });
    }
  });

  const tls = selectField('tlsVersion', 'TLS versions', TLS_VERSIONS, slot.tlsVersion);
  const cipher = selectField('cipherProfile', 'Cipher profile', CIPHER_PROFILES, slot.cipherProfile);
  const tlsForm = inlineForm('Save TLS settings', tls, cipher);
  // A directory target receives only the certificate and key files: the web server's own
  // configuration decides TLS versions and ciphers. The settings are kept (the NCP face reports
  // them), so they stay editable, with that said plainly.
  const tlsNote =
    slot.targetKind === 'directory'
      ? notice(
          'info',
          'Not applied by this tenant’s deployment target: a directory receives only the certificate and key files, and your web server’s own configuration decides TLS versions and ciphers. These settings are kept and reported to API clients.',
        )
      : null;
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
      showFailure(error, status, { tlsVersion: tls, cipherProfile: cipher });
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
        showFailure(error, status);
      }
    },
  });

  return h(
    'div',
    {},
    card('replace-title', 'Replace the certificate', replaceForm),
    card('tls-title', 'TLS settings', tlsNote, tlsForm),
    card('delete-title', 'Delete the slot', remove),
  );
}
