/**
 * DOM helpers. Every element is built with createElement and textContent: no HTML string ever
 * reaches the DOM (the Content-Security-Policy requires Trusted Types and allows no policy, so an
 * innerHTML assignment would throw).
 */

/**
 * Builds an element. Props: `class`, `text`, `on<Event>` handlers, `dataset`, booleans (present
 * when true), anything else as an attribute. Children: nodes, strings, arrays, null/false skipped.
 * @param {string} tag
 * @param {Record<string, unknown>} [props]
 * @param {...unknown} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = String(value);
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function')
      el.addEventListener(key.slice(2).toLowerCase(), /** @type {EventListener} */ (value));
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/** @param {Node} parent @param {unknown[]} children */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. @param {Element} el @param {...unknown} children */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

let announceTimer = 0;
/** Says something to screen readers through the page's polite live region. @param {string} message */
export function announce(message) {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => {
    region.textContent = message;
  }, 50);
}

let uniqueId = 0;
/** A document-unique id with a readable prefix. @param {string} prefix */
export const newId = (prefix) => `${prefix}-${++uniqueId}`;

/**
 * A labelled form control with a hint and an error slot, wired with aria-describedby.
 * @param {{ label: string, control: HTMLElement, hint?: string, name: string }} options
 * @returns {{ field: HTMLElement, control: HTMLElement, error: HTMLElement, setError: (message: string | null) => void }}
 */
export function field({ label, control, hint, name }) {
  const id = control.id || newId(name);
  control.id = id;
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint`, text: hint }) : null;
  const error = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  const describedBy = [hintEl ? `${id}-hint` : '', `${id}-error`].filter(Boolean).join(' ');
  control.setAttribute('aria-describedby', describedBy);
  const wrapper = h(
    'div',
    { class: 'field', dataset: { field: name } },
    h('label', { for: id, text: label }),
    hintEl,
    control,
    error,
  );
  return {
    field: wrapper,
    control,
    error,
    setError(message) {
      if (message) {
        error.textContent = message;
        error.hidden = false;
        control.setAttribute('aria-invalid', 'true');
        wrapper.classList.add('has-error');
      } else {
        error.textContent = '';
        error.hidden = true;
        control.removeAttribute('aria-invalid');
        wrapper.classList.remove('has-error');
      }
    },
  };
}

/** A message box; `role=alert` for errors so screen readers hear them at once. @param {'error'|'info'|'success'} kind */
export function notice(kind, ...children) {
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

/** A definition list from [term, value] pairs; null values are skipped. @param {Array<[string, unknown]>} rows */
export function facts(rows) {
  return h(
    'dl',
    { class: 'facts' },
    rows
      .filter(([, value]) => value !== null && value !== undefined)
      .map(([term, value]) => h('div', { class: 'fact' }, h('dt', { text: term }), h('dd', {}, value))),
  );
}
