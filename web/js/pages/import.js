/**
 * Import: paste PEM text or pick files for certificate, private key and chain, or pick one
 * NHN-style file holding all three. "Check" runs the server's validation without storing;
 * "Import" stores. A refusal is shown next to the field it concerns, in the server's words
 * (the import ladder writes them for people), and that field gets the focus.
 */
import { ApiError, post } from '../api.js';
import { announce, facts, field, h, messageOf, notice, showFailure } from '../dom.js';
import { formatDateTime } from '../format.js';
import { card, pageTitle } from '../layout.js';
import { navigate } from '../router.js';

const MAX_TEXT_FILE = 2 * 1024 * 1024 + 64 * 1024;

/** @param {File} file */
async function fileBase64(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * A PEM textarea with a "choose file" button that reads the picked file into it.
 * @param {{ name: string, label: string, hint: string, rows: number }} options
 */
function pemField({ name, label, hint, rows }) {
  const textarea = h('textarea', {
    name,
    rows: String(rows),
    spellcheck: 'false',
    autocomplete: 'off',
    autocapitalize: 'none',
    class: 'pem',
    placeholder: '-----BEGIN …-----',
  });
  const f = field({ name, label, hint, control: textarea });
  const picker = /** @type {HTMLInputElement} */ (
    h('input', {
      type: 'file',
      accept: '.pem,.crt,.cer,.key,.txt,application/x-pem-file',
      class: 'visually-hidden',
      tabindex: '-1',
      'aria-hidden': 'true',
      dataset: { picker: name },
    })
  );
  const choose = h('button', {
    type: 'button',
    class: 'button button-secondary button-small',
    text: `Choose ${label.toLowerCase()} file…`,
    onClick: () => picker.click(),
  });
  picker.addEventListener('change', async () => {
    const file = picker.files?.[0];
    if (!file) return;
    if (file.size > MAX_TEXT_FILE) {
      f.setError(
        `${file.name} is ${file.size.toLocaleString()} bytes, far larger than any ${label.toLowerCase()}. Pick the PEM file.`,
      );
      return;
    }
    /** @type {HTMLTextAreaElement} */ (textarea).value = await file.text();
    f.setError(null);
    announce(`${file.name} was read into the ${label.toLowerCase()} field.`);
    picker.value = '';
  });
  f.field.insertBefore(h('div', { class: 'field-tools' }, choose, picker), f.error);
  return f;
}

/** @param {import('../main.js').PageContext} page */
export function render({ main }) {
  const name = field({
    name: 'name',
    label: 'Name',
    hint: '1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit, such as www-example-com.',
    control: h('input', { type: 'text', name: 'name', autocomplete: 'off', spellcheck: 'false', required: true }),
  });
  const certificate = pemField({
    name: 'certificate',
    label: 'Certificate',
    hint: 'The server certificate only, in PEM (-----BEGIN CERTIFICATE-----).',
    rows: 8,
  });
  const privateKey = pemField({
    name: 'privateKey',
    label: 'Private key',
    hint: 'Unencrypted, PEM (PKCS#1, PKCS#8 or SEC1). Optional, but edge slots need it.',
    rows: 6,
  });
  const chain = pemField({
    name: 'chain',
    label: 'Chain',
    hint: 'The issuing CA certificates, in any order. Optional.',
    rows: 8,
  });
  const fileInput = h('input', { type: 'file', name: 'file', accept: '.pem,.crt,.txt,application/x-pem-file' });
  const file = field({
    name: 'file',
    label: 'Certificate file',
    hint: 'One PEM file with the certificate, its chain and the private key, as NHN Cloud takes it. Kept byte for byte.',
    control: fileInput,
  });

  const separate = h(
    'div',
    { class: 'mode-fields', id: 'mode-separate' },
    certificate.field,
    privateKey.field,
    chain.field,
  );
  const single = h('div', { class: 'mode-fields', id: 'mode-file', hidden: true }, file.field);
  const modeName = 'import-mode';
  const mode = h(
    'fieldset',
    { class: 'mode' },
    h('legend', { text: 'What do you have?' }),
    h(
      'label',
      { class: 'radio' },
      h('input', { type: 'radio', name: modeName, value: 'separate', checked: true }),
      ' Separate certificate, key and chain (paste or pick files)',
    ),
    h(
      'label',
      { class: 'radio' },
      h('input', { type: 'radio', name: modeName, value: 'file' }),
      ' One NHN-style file with everything',
    ),
  );
  const fields = { name, certificate, privateKey, chain, file };
  const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
  const preview = h('div', { class: 'preview' });
  const checkButton = h('button', { type: 'submit', class: 'button button-secondary', value: 'check', text: 'Check' });
  const importButton = h('button', { type: 'submit', class: 'button button-primary', value: 'import', text: 'Import' });
  const form = h(
    'form',
    { class: 'import-form', novalidate: true },
    status,
    name.field,
    mode,
    separate,
    single,
    preview,
    h('div', { class: 'actions' }, checkButton, importButton),
  );

  const currentMode = () =>
    /** @type {HTMLInputElement | null} */ (form.querySelector(`input[name="${modeName}"]:checked`))?.value ??
    'separate';
  mode.addEventListener('change', () => {
    const isFile = currentMode() === 'file';
    separate.hidden = isFile;
    single.hidden = !isFile;
  });

  const value = (/** @type {{ control: HTMLElement }} */ f) =>
    /** @type {HTMLInputElement | HTMLTextAreaElement} */ (f.control).value;

  async function body() {
    const base = { name: value(name).trim() };
    if (currentMode() === 'file') {
      const picked = /** @type {HTMLInputElement} */ (fileInput).files?.[0];
      if (!picked) throw new ApiError(400, 'invalid_argument', 'Pick the certificate file.', 'file');
      return { ...base, file: { name: picked.name, contentBase64: await fileBase64(picked) } };
    }
    return { ...base, certificate: value(certificate), privateKey: value(privateKey), chain: value(chain) };
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const submitter = /** @type {SubmitEvent} */ (event).submitter;
    const action = submitter instanceof HTMLButtonElement && submitter.value === 'check' ? 'check' : 'import';
    for (const f of Object.values(fields)) f.setError(null);
    status.replaceChildren();
    preview.replaceChildren();
    checkButton.setAttribute('disabled', '');
    importButton.setAttribute('disabled', '');
    try {
      const payload = await body();
      if (action === 'check') {
        /** @type {import('../api.js').ImportCheck} */
        const result = await post('/certificates/validate', payload);
        status.replaceChildren(
          notice('success', 'Everything checks out. Nothing was stored yet: press Import to store it.'),
        );
        preview.replaceChildren(previewOf(result));
      } else {
        /** @type {import('../api.js').CertificateDetail} */
        const created = await post('/certificates', payload);
        announce(`Certificate ${created.name} was imported.`);
        navigate(`/certificates/${created.certificateNo}`);
      }
    } catch (error) {
      showError(error);
    } finally {
      checkButton.removeAttribute('disabled');
      importButton.removeAttribute('disabled');
    }
  });

  /**
   * The failure the one way (dom.js showFailure); a field's also gets a link to it at the top of
   * the form, which is long. The server names the field of what was sent, so the field is shown.
   * @param {unknown} error
   */
  function showError(error) {
    const target = showFailure(error, status, fields);
    if (!target) return;
    // Every other field the server found a problem in gets its message too (the first is shown).
    for (const other of error instanceof ApiError ? error.errors.slice(1) : []) {
      const otherField = other.field ? fields[/** @type {keyof typeof fields} */ (other.field)] : undefined;
      otherField?.setError(other.message);
    }
    const name = error instanceof ApiError ? (error.field ?? '') : '';
    status.replaceChildren(
      notice(
        'error',
        h(
          'a',
          {
            href: `#${target.control.id}`,
            onClick: (/** @type {Event} */ e) => {
              e.preventDefault();
              target.control.focus();
            },
          },
          'Fix the ',
          labelOf(name),
          ' field',
        ),
        ': ',
        messageOf(error),
        error instanceof ApiError && error.errors.length > 1
          ? ` (and ${error.errors.length - 1} more field${error.errors.length > 2 ? 's' : ''} below)`
          : '',
      ),
    );
  }

  main.replaceChildren(
    pageTitle('Import a certificate'),
    h('p', {
      class: 'muted',
      text: 'Every certificate is checked before it is stored: PEM format, key match, validity, chain, key type and duplicates. Nothing is stored unless everything passes.',
    }),
    form,
  );
  return 'Import';
}

/** @param {string} name */
const labelOf = (name) =>
  ({ name: 'name', certificate: 'certificate', privateKey: 'private key', chain: 'chain', file: 'certificate file' })[
    name
  ] ?? name;

/** @param {import('../api.js').ImportCheck} result */
function previewOf(result) {
  const f = result.facts;
  return card(
    'preview-title',
    'What will be imported',
    facts([
      ['Subject', f.subjectDn || '(empty)'],
      ['Domains', f.domains.join(', ') || '—'],
      ['Issuer', f.issuerDn],
      ['Valid until', formatDateTime(f.notAfter)],
      ['Key', f.key.text],
      ['Private key', result.hasPrivateKey ? 'Included' : 'Not included'],
      [
        'Chain',
        `${result.chainLength} certificate${result.chainLength === 1 ? '' : 's'}${result.chainRepaired ? ' (order repaired)' : ''}`,
      ],
    ]),
  );
}
