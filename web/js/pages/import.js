/**
 * Import: paste PEM text or pick files (PEM or DER) for certificate, private key and chain, or pick
 * one NHN-style file holding all three, or a PKCS#12 file (.p12/.pfx) with its passphrase.
 * "Check" runs the server's validation without storing; "Import" stores. A picked DER or PKCS#12
 * file is sent as it is: the server converts it and runs the same ladder as for PEM. A refusal is
 * shown next to the field it concerns, in the server's words (the import ladder writes them for
 * people), and that field gets the focus.
 *
 * The same form replaces a certificate in place (pages/replace.js, `certificateForm` with
 * `replacing`): the name is fixed, the key may be left out when it is unchanged, and the one
 * button sends it to the certificate's replace endpoint.
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

/** True when the bytes read as PEM text (no NUL or other control bytes but tab, CR, LF). */
function looksLikeText(/** @type {Uint8Array} */ bytes) {
  for (const byte of bytes.subarray(0, 4096)) if (byte < 0x09 || (byte > 0x0d && byte < 0x20)) return false;
  return true;
}

/**
 * A PEM textarea with a "choose file" button. A picked text file is read into the textarea; a
 * binary one (DER) is kept as the file and sent as it is, for the server to convert.
 * @param {{ name: string, label: string, hint: string, rows: number }} options
 */
function pemField({ name, label, hint, rows }) {
  const textarea = /** @type {HTMLTextAreaElement} */ (
    h('textarea', {
      name,
      rows: String(rows),
      spellcheck: 'false',
      autocomplete: 'off',
      autocapitalize: 'none',
      class: 'pem',
      placeholder: '-----BEGIN …-----',
    })
  );
  const f = field({ name, label, hint, control: textarea });
  const picker = /** @type {HTMLInputElement} */ (
    h('input', {
      type: 'file',
      accept: '.pem,.crt,.cer,.der,.key,.txt,application/x-pem-file,application/pkix-cert',
      class: 'visually-hidden',
      tabindex: '-1',
      'aria-hidden': 'true',
      dataset: { picker: name },
    })
  );
  /** @type {{ name: string, contentBase64: string } | null} */
  let binary = null;
  const pickedNote = h('span', { class: 'muted' });
  const clear = h('button', {
    type: 'button',
    class: 'button button-secondary button-small',
    text: 'Clear',
    hidden: true,
    onClick: () => {
      binary = null;
      textarea.readOnly = false;
      textarea.value = '';
      pickedNote.textContent = '';
      clear.hidden = true;
    },
  });
  const choose = h('button', {
    type: 'button',
    class: 'button button-secondary button-small',
    text: `Choose ${label.toLowerCase()} file…`,
    onClick: () => picker.click(),
  });
  picker.addEventListener('change', async () => {
    const file = picker.files?.[0];
    if (!file) return;
    picker.value = '';
    if (file.size > MAX_TEXT_FILE) {
      f.setError(
        `${file.name} is ${file.size.toLocaleString()} bytes, far larger than any ${label.toLowerCase()}. Pick the PEM or DER file.`,
      );
      return;
    }
    f.setError(null);
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (looksLikeText(bytes)) {
      binary = null;
      textarea.readOnly = false;
      textarea.value = await file.text();
      pickedNote.textContent = '';
      clear.hidden = true;
      announce(`${file.name} was read into the ${label.toLowerCase()} field.`);
      return;
    }
    binary = { name: file.name, contentBase64: await fileBase64(file) };
    textarea.value = '';
    textarea.readOnly = true;
    pickedNote.textContent = `${file.name}: a binary (DER) file, sent as it is.`;
    clear.hidden = false;
    announce(`${file.name} is a binary file; it will be sent as the ${label.toLowerCase()}.`);
  });
  f.field.insertBefore(h('div', { class: 'field-tools' }, choose, clear, pickedNote, picker), f.error);
  return { ...f, value: () => binary ?? textarea.value };
}

/** @param {import('../main.js').PageContext} page */
export function render({ main }) {
  main.replaceChildren(
    pageTitle('Import a certificate'),
    h('p', {
      class: 'muted',
      text: 'Every certificate is checked before it is stored: PEM format, key match, validity, chain, key type and duplicates. Nothing is stored unless everything passes.',
    }),
    certificateForm(),
  );
  return 'Import';
}

/**
 * The import form; with `replacing`, the form that replaces that certificate in place.
 * @param {{ replacing?: { certificateNo: number, name: string } }} [options]
 */
export function certificateForm({ replacing } = {}) {
  const name = field({
    name: 'name',
    label: 'Name',
    hint: replacing
      ? 'The certificate keeps its name and number.'
      : '1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit, such as www-example-com.',
    control: h('input', {
      type: 'text',
      name: 'name',
      autocomplete: 'off',
      spellcheck: 'false',
      required: true,
      ...(replacing ? { value: replacing.name, readonly: true } : {}),
    }),
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
    hint: replacing
      ? 'Unencrypted, PEM (PKCS#1, PKCS#8 or SEC1). Leave it empty when the new certificate has the same key as the current one: that key is kept.'
      : 'Unencrypted, PEM (PKCS#1, PKCS#8 or SEC1). Optional, but edge slots need it.',
    rows: 6,
  });
  const chain = pemField({
    name: 'chain',
    label: 'Chain (intermediate CA certificates)',
    hint: 'Required for a certificate issued by a CA: the intermediate certificate(s) your CA sent with it, in any order. A self-signed certificate needs none.',
    rows: 8,
  });
  const fileInput = h('input', { type: 'file', name: 'file', accept: '.pem,.crt,.txt,application/x-pem-file' });
  const file = field({
    name: 'file',
    label: 'Certificate file',
    hint: 'One PEM file with the certificate, its chain and the private key, as NHN Cloud takes it. Kept byte for byte.',
    control: fileInput,
  });

  const p12Input = h('input', { type: 'file', name: 'pkcs12', accept: '.p12,.pfx,application/x-pkcs12' });
  const pkcs12 = field({
    name: 'pkcs12',
    label: 'PKCS#12 file',
    hint: 'A .p12 or .pfx file with the certificate, its chain and the private key (as Windows, Java or openssl pkcs12 -export write it).',
    control: p12Input,
  });
  const passphraseInput = h('input', {
    type: 'password',
    name: 'passphrase',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const passphrase = field({
    name: 'passphrase',
    label: 'Passphrase',
    hint: 'The passphrase the file was exported with. It is used to open the file and is not stored.',
    control: passphraseInput,
  });

  const separate = h(
    'div',
    { class: 'mode-fields', id: 'mode-separate' },
    certificate.field,
    privateKey.field,
    chain.field,
  );
  const single = h('div', { class: 'mode-fields', id: 'mode-file', hidden: true }, file.field);
  const p12 = h('div', { class: 'mode-fields', id: 'mode-pkcs12', hidden: true }, pkcs12.field, passphrase.field);
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
    h(
      'label',
      { class: 'radio' },
      h('input', { type: 'radio', name: modeName, value: 'pkcs12' }),
      ' A PKCS#12 file (.p12 or .pfx) with its passphrase',
    ),
  );
  const fields = { name, certificate, privateKey, chain, file, pkcs12, passphrase };
  // In PKCS#12 mode what the ladder says about the certificate, key or chain is about the file.
  const p12Fields = { name, certificate: pkcs12, privateKey: pkcs12, chain: pkcs12, file, pkcs12, passphrase };
  const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
  const preview = h('div', { class: 'preview' });
  const checkButton = replacing
    ? null
    : h('button', { type: 'submit', class: 'button button-secondary', value: 'check', text: 'Check' });
  const importButton = h('button', {
    type: 'submit',
    class: 'button button-primary',
    value: 'import',
    text: replacing ? 'Replace' : 'Import',
  });
  const form = h(
    'form',
    { class: 'import-form', novalidate: true },
    status,
    name.field,
    mode,
    separate,
    single,
    p12,
    preview,
    h('div', { class: 'actions' }, checkButton, importButton),
  );

  const currentMode = () =>
    /** @type {HTMLInputElement | null} */ (form.querySelector(`input[name="${modeName}"]:checked`))?.value ??
    'separate';
  mode.addEventListener('change', () => {
    const current = currentMode();
    separate.hidden = current !== 'separate';
    single.hidden = current !== 'file';
    p12.hidden = current !== 'pkcs12';
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
    if (currentMode() === 'pkcs12') {
      const picked = /** @type {HTMLInputElement} */ (p12Input).files?.[0];
      if (!picked) throw new ApiError(400, 'invalid_argument', 'Pick the PKCS#12 file.', 'pkcs12');
      const secret = /** @type {HTMLInputElement} */ (passphraseInput).value;
      return { ...base, pkcs12: { contentBase64: await fileBase64(picked), passphrase: secret } };
    }
    return { ...base, certificate: certificate.value(), privateKey: privateKey.value(), chain: chain.value() };
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const submitter = /** @type {SubmitEvent} */ (event).submitter;
    const action = submitter instanceof HTMLButtonElement && submitter.value === 'check' ? 'check' : 'import';
    for (const f of Object.values(fields)) f.setError(null);
    status.replaceChildren();
    preview.replaceChildren();
    checkButton?.setAttribute('disabled', '');
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
      } else if (replacing) {
        /** @type {import('../api.js').CertificateDetail} */
        const replaced = await post(`/certificates/${replacing.certificateNo}/replace`, payload);
        announce(`Certificate ${replaced.name} was replaced; the previous version is kept.`);
        navigate(`/certificates/${replaced.certificateNo}`);
      } else {
        /** @type {import('../api.js').CertificateDetail} */
        const created = await post('/certificates', payload);
        announce(`Certificate ${created.name} was imported.`);
        navigate(`/certificates/${created.certificateNo}`);
      }
    } catch (error) {
      showError(error);
    } finally {
      checkButton?.removeAttribute('disabled');
      importButton.removeAttribute('disabled');
    }
  });

  /**
   * The failure the one way (dom.js showFailure); a field's also gets a link to it at the top of
   * the form, which is long. The server names the field of what was sent, so the field is shown.
   * @param {unknown} error
   */
  function showError(error) {
    const target = showFailure(error, status, currentMode() === 'pkcs12' ? p12Fields : fields);
    if (!target) return;
    // Every other field the server found a problem in gets its message too (the first is shown).
    for (const other of error instanceof ApiError ? error.errors.slice(1) : []) {
      const otherField = other.field ? fields[/** @type {keyof typeof fields} */ (other.field)] : undefined;
      otherField?.setError(other.message);
    }
    const sent = error instanceof ApiError ? (error.field ?? '') : '';
    const name = currentMode() === 'pkcs12' && ['certificate', 'privateKey', 'chain'].includes(sent) ? 'pkcs12' : sent;
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

  return form;
}

/** @param {string} name */
const labelOf = (name) =>
  ({
    name: 'name',
    certificate: 'certificate',
    privateKey: 'private key',
    chain: 'chain',
    file: 'certificate file',
    pkcs12: 'PKCS#12 file',
    passphrase: 'passphrase',
  })[name] ?? name;

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
