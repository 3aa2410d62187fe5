/**
 * Recently deleted certificates: recoverable until the retention pass purges them (the server's
 * CERTKEEPER_DELETE_RETENTION_DAYS). Restore brings one back with its number, name, key and
 * versions, unless a live certificate took its name, certificate or key meanwhile (the server
 * says which). Purge drops one for good now, after a confirmation.
 */
import { post, query } from '../api.js';
import { confirmDialog } from '../dialog.js';
import { announce, cardTable, h, notice, showFailure } from '../dom.js';
import { domainsText, formatDateTime } from '../format.js';
import { FAILED, load, pageTitle } from '../layout.js';
import { href, navigate, showAgain } from '../router.js';

/**
 * @typedef {import('../api.js').CertificateSummary & { deletedAt: string, purgeAfter: string }} DeletedCertificate
 * @typedef {import('../api.js').Paging & { items: DeletedCertificate[] }} DeletedPage
 */

/** @param {import('../main.js').PageContext} page */
export async function render(page) {
  const { main, session, query: params } = page;
  const pageNo = Number(params.get('page') ?? '1') || 1;
  /** @type {DeletedPage | undefined} */
  const found = await load(page, `/deleted-certificates${query({ page: pageNo, pageSize: 25 })}`);
  if (!found) return FAILED;
  const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
  const rows = found.items.map((c) =>
    h(
      'tr',
      {},
      h(
        'th',
        { scope: 'row', dataset: { label: 'Certificate' } },
        c.name,
        h('span', { class: 'muted small', text: ` #${c.certificateNo}` }),
      ),
      h('td', { dataset: { label: 'Domains' }, text: domainsText(c.domains) }),
      h('td', { dataset: { label: 'Deleted' }, text: formatDateTime(c.deletedAt) }),
      h('td', { dataset: { label: 'Purged after' }, text: formatDateTime(c.purgeAfter) }),
      h(
        'td',
        { dataset: { label: 'Actions' } },
        session.can.writeCertificates
          ? h(
              'div',
              { class: 'actions', role: 'group', 'aria-label': `Actions for ${c.name}` },
              h('button', {
                type: 'button',
                class: 'button button-secondary button-small',
                text: `Restore ${c.name}`,
                onClick: () => restore(c, status),
              }),
              h('button', {
                type: 'button',
                class: 'button button-danger button-small',
                text: `Purge ${c.name}…`,
                onClick: () => purge(c, status),
              }),
            )
          : null,
      ),
    ),
  );
  const pages = Math.max(1, found.pages);
  main.replaceChildren(
    pageTitle('Recently deleted'),
    h('p', {
      class: 'muted',
      text: 'Deleted certificates can be restored until they are purged, with their number, name, private key and versions. Their names and keys are free for new imports meanwhile.',
    }),
    status,
    found.total === 0
      ? notice('info', 'No recently deleted certificates.')
      : cardTable(
          `${found.total} recently deleted certificate${found.total === 1 ? '' : 's'}`,
          [
            'Certificate',
            'Domains',
            'Deleted',
            'Purged after',
            h('span', { class: 'visually-hidden', text: 'Actions' }),
          ],
          rows,
        ),
    pages > 1
      ? h(
          'p',
          {},
          `Page ${Math.min(pageNo, pages)} of ${pages}. `,
          pageNo < pages ? h('a', { href: href('/deleted', { page: pageNo + 1 }), text: 'Next page' }) : '',
        )
      : '',
    h('p', {}, h('a', { href: href('/certificates'), text: 'Back to the certificate list' })),
  );
  return 'Recently deleted';
}

/** @param {DeletedCertificate} c @param {HTMLElement} status */
async function restore(c, status) {
  try {
    await post(`/certificates/${c.certificateNo}/restore`);
    announce(`Certificate ${c.name} was restored.`);
    navigate(`/certificates/${c.certificateNo}`);
  } catch (error) {
    showFailure(error, status);
  }
}

/** @param {DeletedCertificate} c @param {HTMLElement} status */
async function purge(c, status) {
  const ok = await confirmDialog({
    title: `Purge certificate ${c.name}?`,
    body: [
      h(
        'p',
        {},
        'Certificate ',
        h('strong', { text: c.name }),
        ` (#${c.certificateNo}), its private key and its versions will be gone for good. This cannot be undone.`,
      ),
    ],
    confirm: `Purge ${c.name}`,
    danger: true,
  });
  if (!ok) return;
  try {
    await post(`/certificates/${c.certificateNo}/purge`);
    announce(`Certificate ${c.name} was purged.`);
    status.replaceChildren(notice('success', `Certificate ${c.name} was purged.`));
    showAgain();
  } catch (error) {
    showFailure(error, status);
  }
}
