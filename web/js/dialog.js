/**
 * Modal dialogs on the native <dialog> element: the browser traps focus inside and closes on
 * Escape. Focus goes to the first control when a dialog opens and back to what was focused
 * before when it closes. Each dialog is labelled by its title and described by its text.
 */
import { h, newId } from './dom.js';

/**
 * Opens a dialog and resolves with the value of the button that closed it ('' on Escape).
 * @param {{ title: string, body: unknown[], buttons: Array<{ label: string, value: string, kind?: 'primary'|'danger'|'secondary' }>, initial?: string }} options
 * @returns {Promise<string>}
 */
export function openDialog({ title, body, buttons, initial }) {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const titleId = newId('dialog-title');
  const bodyId = newId('dialog-body');
  const form = h(
    'form',
    { method: 'dialog' },
    h('h2', { id: titleId, text: title }),
    h('div', { id: bodyId, class: 'dialog-body' }, ...body),
    h(
      'div',
      { class: 'dialog-actions' },
      buttons.map((b) =>
        h('button', {
          type: 'submit',
          value: b.value,
          class: `button button-${b.kind ?? 'secondary'}`,
          dataset: { value: b.value },
          text: b.label,
        }),
      ),
    ),
  );
  const dialog = /** @type {HTMLDialogElement} */ (
    h('dialog', { 'aria-labelledby': titleId, 'aria-describedby': bodyId }, form)
  );
  document.body.appendChild(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      const value = dialog.returnValue;
      dialog.remove();
      opener?.focus();
      resolve(value);
    });
    dialog.showModal();
    const first = initial
      ? dialog.querySelector(`[data-value="${initial}"]`)
      : dialog.querySelector('input, textarea, select, button');
    if (first instanceof HTMLElement) first.focus();
  });
}

/**
 * Asks before doing something that cannot be undone; resolves true when confirmed.
 * The safe choice has the focus, so Enter does not destroy anything by accident.
 * @param {{ title: string, body: unknown[], confirm: string, danger?: boolean }} options
 */
export async function confirmDialog({ title, body, confirm, danger = false }) {
  const value = await openDialog({
    title,
    body,
    buttons: [
      { label: 'Cancel', value: 'cancel', kind: 'secondary' },
      { label: confirm, value: 'confirm', kind: danger ? 'danger' : 'primary' },
    ],
    initial: 'cancel',
  });
  return value === 'confirm';
}
