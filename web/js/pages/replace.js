/**
 * Replace a certificate in place: the import form (pages/import.js) with the name fixed. Same
 * number, same name; edge slots and the deployment target republish; the previous version is
 * kept and listed on the certificate's page.
 */
import { h } from '../dom.js';
import { FAILED, load, pageTitle } from '../layout.js';
import { href } from '../router.js';
import { certificateForm } from './import.js';

/** @param {import('../main.js').PageContext} page */
export async function render(page) {
  const { main, params } = page;
  /** @type {import('../api.js').CertificateDetail | undefined} */
  const c = await load(page, `/certificates/${encodeURIComponent(params.no ?? '')}`, {
    back: { href: href('/certificates'), text: 'Go to the certificate list' },
  });
  if (!c) return FAILED;
  main.replaceChildren(
    pageTitle(`Replace ${c.name}`),
    h(
      'p',
      { class: 'muted' },
      `Certificate #${c.certificateNo} keeps its number and name; every edge slot using it is published again. The current version is kept and can be downloaded from the `,
      h('a', { href: href(`/certificates/${c.certificateNo}`), text: 'certificate page' }),
      '. The new certificate is checked like an import.',
    ),
    certificateForm({ replacing: { certificateNo: c.certificateNo, name: c.name } }),
  );
  return `Replace ${c.name}`;
}
