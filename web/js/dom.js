/**
 * DOM helpers. Every element is built with createElement and textContent: no HTML string ever
 * reaches the DOM (the Content-Security-Policy requires Trusted Types and allows no policy, so an
 * innerHTML assignment would throw).
 */
import { ApiError } from './api.js';

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
 * @typedef {{ field: HTMLElement, control: HTMLElement, error: HTMLElement, setError: (message: string | null) => void }} Field
 */

/**
 * A labelled form control with a hint and an error slot, wired with aria-describedby.
 * @param {{ label: string, control: HTMLElement, hint?: string, name: string }} options
 * @returns {Field}
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

/**
 * A form of fields side by side with one submit button (the forms of the edge and access-key pages).
 * @param {string} submit the button's text @param {...Field} fields
 */
export const inlineForm = (submit, ...fields) =>
  h(
    'form',
    { class: 'inline-form', novalidate: true },
    fields.map((f) => f.field),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button button-primary', text: submit })),
  );

/**
 * A message box; `role=alert` for errors so screen readers hear them at once.
 * @param {'error'|'info'|'success'} kind @param {...unknown} children
 */
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

/** The words of a failure: an Error's message (an ApiError's is the server's), else the value as text. @param {unknown} error */
export const messageOf = (error) => (error instanceof Error ? error.message : String(error));

/**
 * Shows why an action failed, the one way every page does: next to the form field the server
 * named (`error.field`, an ApiError's), which gets the focus; or else as an alert in the page's
 * status area, which gets the focus, so keyboard and screen-reader users land on what went wrong.
 * @param {unknown} error
 * @param {HTMLElement} status
 * @param {Record<string, Field>} [fields] the form's fields by the names the server gives them
 * @returns {Field | undefined} the field that shows it, if one does
 */
export function showFailure(error, status, fields = {}) {
  const target = error instanceof ApiError && error.field ? fields[error.field] : undefined;
  if (target) {
    target.setError(messageOf(error));
    target.control.focus();
    return target;
  }
  const alert = notice('error', messageOf(error));
  alert.tabIndex = -1;
  status.replaceChildren(alert);
  alert.focus();
  return undefined;
}

/**
 * A table that reads as cards on a phone (styles.css `.table-cards` shows each cell's
 * `data-label`): a caption for screen readers, the column headings, the rows.
 * @param {string} caption @param {Array<string | Node>} headings @param {Node[]} rows
 */
export const cardTable = (caption, headings, rows) =>
  h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table table-cards' },
      h('caption', { class: 'visually-hidden', text: caption }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headings.map((heading) =>
            typeof heading === 'string' ? h('th', { scope: 'col', text: heading }) : h('th', { scope: 'col' }, heading),
          ),
        ),
      ),
      h('tbody', {}, rows),
    ),
  );
