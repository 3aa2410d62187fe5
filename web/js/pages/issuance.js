/**
 * Certificate issuance (issue 16): the orders list, "Request a certificate", an order's page (the
 * `_acme-challenge` CNAME records to create, each with a copy button, and each domain's state,
 * polled every few seconds until the order is done), and the issuance card of a certificate page
 * (its order history and the renewal toggle).
 *
 * The server checks everything; the form also marks every field the server named at once
 * (`error.fields`, routes-issuance.ts).
 */
import { ApiError, get, post, request } from '../api.js';
import { announce, cardTable, facts, field, h, messageOf, notice, showFailure } from '../dom.js';
import { formatDateTime } from '../format.js';
import { card, FAILED, load, pageTitle } from '../layout.js';
import { href, navigate } from '../router.js';

/** How often an order in progress is read again. */
const POLL_MS = 3000;

/**
 * @typedef {{ domain: string, recordName: string, recordType: string, recordValue: string,
 *   state: 'pending' | 'valid' | 'invalid' | 'expired', cname: string, cnameTarget: string | null,
 *   problem: string | null }} DcvRecord
 * @typedef {{ orderId: number, kind: string, certificateName: string, certificateNo: number | null,
 *   domains: string[], keyType: string, method: string, renewal: boolean, step: string, done: boolean,
 *   outcome: string | null, problem: string | null, attempts: number, nextAttemptAt: string | null,
 *   createdAt: string, updatedAt: string }} Order
 * @typedef {Order & { records: DcvRecord[] }} OrderDetail
 * @typedef {{ enabled: boolean, reason: string | null, methods: string[], keyTypes: string[] }} IssuanceStatus
 */

const KEY_LABELS = /** @type {Record<string, string>} */ ({
  'ec-p256': 'ECDSA P-256 (recommended)',
  'ec-p384': 'ECDSA P-384',
  'rsa-2048': 'RSA 2048',
});
const METHOD_LABELS = /** @type {Record<string, string>} */ ({
  'dns-01': 'DNS (CNAME delegation)',
  'http-01': 'HTTP (/.well-known/acme-challenge/)',
});
const STATE_LABELS = /** @type {Record<string, string>} */ ({
  pending: 'Waiting',
  valid: 'Validated',
  invalid: 'Failed',
  expired: 'Expired',
});
const STEP_LABELS = /** @type {Record<string, string>} */ ({
  done: 'Issued',
  failed: 'Failed',
  validation_failed: 'Validation failed',
  validation_expired: 'Records not found in time',
  revoked: 'Revoked',
  awaiting_cname: 'Waiting for the DNS records',
});

/** @param {Order} order */
const stepText = (order) => STEP_LABELS[order.step] ?? (order.done ? order.step : 'In progress');

/** @param {string} text @param {string} kind */
const badge = (text, kind) => h('span', { class: `badge badge-${kind}`, text });

/** @param {Order} order */
const orderBadge = (order) =>
  badge(stepText(order), order.step === 'done' ? 'valid' : order.done ? 'expired' : 'not-yet-valid');

/** A value with a Copy button. @param {string} label @param {string} value */
function copyable(label, value) {
  const done = h('span', { class: 'copy-done', 'aria-live': 'polite' });
  return h(
    'span',
    { class: 'copy-value' },
    h('code', { text: value }),
    h('button', {
      type: 'button',
      class: 'button button-secondary button-small',
      text: 'Copy',
      'aria-label': `Copy ${label}`,
      dataset: { copy: value },
      onClick: async () => {
        try {
          await navigator.clipboard.writeText(value);
          done.textContent = 'Copied';
        } catch {
          done.textContent = 'Select the value and copy it';
        }
      },
    }),
    done,
  );
}

/** @param {import('../main.js').PageContext} page */
export async function renderList(page) {
  const { main, session } = page;
  /** @type {IssuanceStatus | undefined} */
  const status = await load(page, '/issuance');
  if (!status) return FAILED;
  const head = pageTitle(
    'Issuance',
    session.can.writeCertificates && status.enabled
      ? h('a', { class: 'button button-primary', href: href('/issuance/new'), text: 'Request a certificate' })
      : null,
  );
  if (!status.enabled) {
    main.replaceChildren(head, notConfigured(status));
    return 'Issuance';
  }
  /** @type {{ items: Order[] } | undefined} */
  const orders = await load(page, '/issuance/orders');
  if (!orders) return FAILED;
  main.replaceChildren(
    head,
    orders.items.length === 0
      ? h('p', { class: 'muted', text: 'No certificate has been requested yet.' })
      : cardTable(
          'Certificate orders',
          ['Order', 'Certificate', 'Domains', 'State', 'Requested'],
          orders.items.map((o) =>
            h(
              'tr',
              {},
              h(
                'td',
                { dataset: { label: 'Order' } },
                h('a', { href: href(`/issuance/orders/${o.orderId}`), text: `#${o.orderId}` }),
              ),
              h('td', { dataset: { label: 'Certificate' }, text: o.certificateName }),
              h('td', { dataset: { label: 'Domains' }, text: o.domains.join(', ') }),
              h('td', { dataset: { label: 'State' } }, orderBadge(o)),
              h('td', { dataset: { label: 'Requested' }, text: formatDateTime(o.createdAt) }),
            ),
          ),
        ),
  );
  return 'Issuance';
}

/** @param {IssuanceStatus} status */
const notConfigured = (status) =>
  notice('info', `Certificate issuance is not configured on this server: ${status.reason ?? 'not configured'}.`);

/** @param {import('../main.js').PageContext} page */
export async function renderRequest(page) {
  const { main } = page;
  /** @type {IssuanceStatus | undefined} */
  const status = await load(page, '/issuance');
  if (!status) return FAILED;
  if (!status.enabled) {
    main.replaceChildren(pageTitle('Request a certificate'), notConfigured(status));
    return 'Request a certificate';
  }
  const fields = {
    name: field({
      label: 'Name',
      name: 'name',
      hint: 'How this certificate is called in certkeeper.',
      control: h('input', { type: 'text', name: 'name', maxlength: 255, autocomplete: 'off' }),
    }),
    domains: field({
      label: 'Domain names',
      name: 'domains',
      hint: 'One per line, up to 100. The first is the common name. A wildcard (*.example.com) covers one label.',
      control: h('textarea', { name: 'domains', rows: 4, spellcheck: 'false' }),
    }),
    keyType: field({
      label: 'Key type',
      name: 'keyType',
      control: h(
        'select',
        { name: 'keyType' },
        status.keyTypes.map((k) => h('option', { value: k, text: KEY_LABELS[k] ?? k })),
      ),
    }),
    method: field({
      label: 'Validation',
      name: 'method',
      control: h(
        'select',
        { name: 'method' },
        status.methods.map((m) => h('option', { value: m, text: METHOD_LABELS[m] ?? m })),
      ),
    }),
    renewal: field({
      label: 'Renew automatically before it expires',
      name: 'renewal',
      control: h('input', { type: 'checkbox', name: 'renewal', checked: true }),
    }),
  };
  const formStatus = h('div', { class: 'form-status' });
  const form = h(
    'form',
    { class: 'form', novalidate: true },
    Object.values(fields).map((f) => f.field),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button button-primary', text: 'Request' })),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const f of Object.values(fields)) f.setError(null);
    formStatus.replaceChildren();
    const value = (/** @type {keyof typeof fields} */ name) =>
      /** @type {HTMLInputElement} */ (fields[name].control).value;
    const body = {
      name: value('name').trim(),
      domains: value('domains')
        .split(/[\s,]+/)
        .map((d) => d.trim())
        .filter((d) => d !== ''),
      keyType: value('keyType'),
      method: value('method'),
      renewal: /** @type {HTMLInputElement} */ (fields.renewal.control).checked,
    };
    try {
      /** @type {OrderDetail} */
      const order = await post('/issuance/orders', body);
      announce(`Order ${order.orderId} created.`);
      navigate(`/issuance/orders/${order.orderId}`);
    } catch (error) {
      if (error instanceof ApiError && error.fields && error.fields.length > 0) {
        /** @type {Map<string, string[]>} */
        const byField = new Map();
        for (const f of error.fields) byField.set(f.field, [...(byField.get(f.field) ?? []), f.message]);
        let first = null;
        for (const [name, messages] of byField) {
          const target = /** @type {Record<string, import('../dom.js').Field>} */ (fields)[name];
          if (!target) continue;
          target.setError(messages.join(' '));
          first ??= target;
        }
        if (first) {
          first.control.focus();
          return;
        }
      }
      showFailure(error, formStatus, fields);
    }
  });
  main.replaceChildren(pageTitle('Request a certificate'), formStatus, form);
  return 'Request a certificate';
}

/** @param {DcvRecord[]} records */
function recordsTable(records) {
  if (records.length === 0)
    return h('p', { class: 'muted', text: 'No DNS records to create: this order is validated over HTTP.' });
  return cardTable(
    'DNS records to create',
    ['Domain', 'Record name', 'Type', 'Value', 'State'],
    records.map((r) =>
      h(
        'tr',
        { dataset: { domain: r.domain } },
        h('td', { dataset: { label: 'Domain' }, text: r.domain }),
        h('td', { dataset: { label: 'Record name' } }, copyable(`record name for ${r.domain}`, r.recordName)),
        h('td', { dataset: { label: 'Type' }, text: r.recordType }),
        h('td', { dataset: { label: 'Value' } }, copyable(`record value for ${r.domain}`, r.recordValue)),
        h(
          'td',
          { dataset: { label: 'State', state: r.state } },
          badge(
            STATE_LABELS[r.state] ?? r.state,
            r.state === 'valid' ? 'valid' : r.state === 'pending' ? 'not-yet-valid' : 'expired',
          ),
          r.cname === 'missing' ? h('p', { class: 'hint', text: 'The CNAME was not found yet.' }) : null,
          r.cname === 'wrong_target' ? h('p', { class: 'hint', text: `The CNAME points at ${r.cnameTarget}.` }) : null,
          r.problem ? h('p', { class: 'field-error', text: `The CA said: ${r.problem}` }) : null,
        ),
      ),
    ),
  );
}

/** @param {OrderDetail} order */
function orderFacts(order) {
  return facts([
    [
      'Certificate',
      order.certificateNo !== null && order.step === 'done'
        ? h('a', { href: href(`/certificates/${order.certificateNo}`), text: order.certificateName })
        : order.certificateName,
    ],
    ['Domains', order.domains.join(', ')],
    ['Key type', KEY_LABELS[order.keyType] ?? order.keyType],
    ['Validation', METHOD_LABELS[order.method] ?? order.method],
    ['Automatic renewal', order.renewal ? 'On' : 'Off'],
    ['Requested', formatDateTime(order.createdAt)],
    ['Problem', order.problem],
  ]);
}

/** @param {import('../main.js').PageContext} page */
export async function renderOrder(page) {
  const { main, params, signal } = page;
  /** @type {OrderDetail | undefined} */
  const order = await load(page, `/issuance/orders/${encodeURIComponent(params.orderId ?? '')}`, {
    back: { href: href('/issuance'), text: 'Go to the orders' },
  });
  if (!order) return FAILED;
  const title = `Order #${order.orderId}`;
  const state = h('span', {}, orderBadge(order));
  const summary = h('div', {}, orderFacts(order));
  const records = h('div', { 'aria-live': 'polite' }, recordsTable(order.records));
  main.replaceChildren(
    pageTitle(title, state),
    notice(
      'info',
      'Create each CNAME record below at your DNS provider. certkeeper checks them, asks the CA, and stores the certificate; this page updates by itself.',
    ),
    card('section-records', 'DNS records', records),
    card('section-order', 'Order', summary),
  );
  let current = order;
  const tick = async () => {
    if (signal.aborted || current.done) return;
    try {
      /** @type {OrderDetail} */
      const next = await get(`/issuance/orders/${current.orderId}`, signal);
      if (signal.aborted) return;
      if (next.step !== current.step) announce(`Order ${next.orderId}: ${stepText(next)}.`);
      current = next;
      state.replaceChildren(orderBadge(next));
      summary.replaceChildren(orderFacts(next));
      records.replaceChildren(recordsTable(next.records));
    } catch {
      // Aborted (the user left) or failed: tried again on the next tick while the page is shown.
    }
    if (!signal.aborted && !current.done) setTimeout(tick, POLL_MS);
  };
  if (!order.done) setTimeout(tick, POLL_MS);
  return title;
}

/**
 * The issuance card of a certificate page: nothing for a certificate not issued here; else the
 * renewal toggle (ADMIN) and the order history.
 * @param {import('../main.js').PageContext} page @param {number} no
 */
export function issuanceSection(page, no) {
  const body = h('div', {});
  const section = h('div', { hidden: true }, card('section-issuance', 'Issuance', body));
  void (async () => {
    /** @type {{ enabled: boolean, renewal: boolean | null, orders: Order[] } | undefined} */
    let history;
    try {
      history = await get(`/certificates/${no}/issuance`, page.signal);
    } catch {
      return;
    }
    if (!history || page.signal.aborted || history.orders.length === 0) return;
    const formStatus = h('div', { class: 'form-status' });
    const toggle = /** @type {HTMLInputElement} */ (
      h('input', { type: 'checkbox', name: 'renewal', checked: history.renewal === true })
    );
    const renewal = page.session.can.writeCertificates
      ? h('div', { class: 'field' }, h('label', {}, toggle, ' Renew automatically before it expires'), formStatus)
      : h('p', { text: `Automatic renewal: ${history.renewal ? 'on' : 'off'}.` });
    toggle.addEventListener('change', async () => {
      const wanted = toggle.checked;
      toggle.disabled = true;
      try {
        await request('PUT', `/certificates/${no}/renewal`, { renewal: wanted });
        formStatus.replaceChildren(notice('success', `Automatic renewal turned ${wanted ? 'on' : 'off'}.`));
      } catch (error) {
        toggle.checked = !wanted;
        formStatus.replaceChildren(notice('error', messageOf(error)));
      } finally {
        toggle.disabled = false;
      }
    });
    body.replaceChildren(
      renewal,
      cardTable(
        'Orders of this certificate',
        ['Order', 'Kind', 'State', 'Requested'],
        history.orders.map((o) =>
          h(
            'tr',
            {},
            h(
              'td',
              { dataset: { label: 'Order' } },
              h('a', { href: href(`/issuance/orders/${o.orderId}`), text: `#${o.orderId}` }),
            ),
            h('td', { dataset: { label: 'Kind' }, text: o.kind }),
            h('td', { dataset: { label: 'State' } }, orderBadge(o)),
            h('td', { dataset: { label: 'Requested' }, text: formatDateTime(o.createdAt) }),
          ),
        ),
      ),
    );
    section.hidden = false;
  })();
  return section;
}
