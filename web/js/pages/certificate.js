/**
 * One certificate: every X.509 fact, the chain as a tree, where it is in use, its history, and
 * the actions the role allows (downloads: PEM, DER; private key, PEM or PKCS#8 DER, and a PKCS#12
 * file, for ADMIN after a confirmation; delete after a confirmation that names it, refused by the
 * server while it is in use).
 */
import { del, query, request } from '../api.js';
import { confirmDialog, openDialog } from '../dialog.js';
import { announce, cardTable, facts, h, notice, showFailure } from '../dom.js';
import { fileNameOf, saveBlob } from '../download.js';
import { expiryText, formatDateTime, STATUS_LABELS, statusBadge, timelineEntry } from '../format.js';
import { card, FAILED, load, pageTitle } from '../layout.js';
import { issuanceSection } from './issuance.js';
import { href, navigate } from '../router.js';

/** @typedef {import('../api.js').CertificateDetail} CertificateDetail */

const ORIGINS = /** @type {Record<string, string>} */ ({
  console: 'Console',
  cli: 'Command line',
  nhn: 'NHN Cloud API',
  'ncp-v1': 'NCP API 1.0',
  'ncp-v2': 'NCP API 2.0',
});

/** @param {import('../main.js').PageContext} page */
export async function render(page) {
  const { main, params, session } = page;
  /** @type {CertificateDetail | undefined} */
  const c = await load(page, `/certificates/${encodeURIComponent(params.no ?? '')}`, {
    back: { href: href('/certificates'), text: 'Go to the certificate list' },
  });
  if (!c) return FAILED;
  const status = h('div', { class: 'form-status' });
  const base = `/console/api/certificates/${c.certificateNo}`;

  const downloads = h(
    'div',
    { class: 'actions', role: 'group', 'aria-label': 'Actions' },
    h('a', {
      class: 'button button-secondary',
      href: `${base}/files/certificate`,
      download: '',
      text: 'Download certificate',
    }),
    c.hasChain
      ? h('a', { class: 'button button-secondary', href: `${base}/files/chain`, download: '', text: 'Download chain' })
      : null,
    h('a', {
      class: 'button button-secondary',
      href: `${base}/files/fullchain`,
      download: '',
      text: 'Download full chain',
      title: 'This certificate followed by its chain, as a web server takes it',
    }),
    h('a', {
      class: 'button button-secondary',
      href: `${base}/files/certificate.der`,
      download: '',
      text: 'Download DER',
      title: 'The certificate alone, binary DER (.der/.cer), as Windows and Java tools take it',
    }),
    session.can.readPrivateKeys && c.hasPrivateKey
      ? h('button', {
          type: 'button',
          class: 'button button-secondary',
          onClick: () => downloadKey(c, status),
          text: 'Download private key…',
        })
      : null,
    session.can.readPrivateKeys && c.hasPrivateKey
      ? h('button', {
          type: 'button',
          class: 'button button-secondary',
          onClick: () => downloadPkcs12(c, status),
          text: 'Download PKCS#12…',
          title: 'Certificate, chain and private key in one .p12 file under a passphrase (Windows, Java)',
        })
      : null,
    session.can.writeCertificates && c.hasPrivateKey && c.status === 'VALID'
      ? h('a', {
          class: 'button button-secondary',
          href: href('/edge', { certificate: c.name }),
          text: 'Publish to an edge slot…',
        })
      : null,
    session.can.writeCertificates
      ? h('a', {
          class: 'button button-secondary',
          href: href(`/certificates/${c.certificateNo}/replace`),
          text: 'Replace…',
          title: 'Upload a renewed certificate in place: same number and name; this version is kept',
        })
      : null,
    session.can.writeCertificates
      ? h('button', {
          type: 'button',
          class: 'button button-danger',
          onClick: () => remove(c, status),
          text: 'Delete…',
        })
      : null,
  );

  main.replaceChildren(
    pageTitle(c.name, statusBadge(c.status)),
    h(
      'p',
      { class: 'muted' },
      `Certificate #${c.certificateNo} · ${c.facts.commonName ?? c.domains[0] ?? 'no common name'}`,
    ),
    downloads,
    status,
    card('section-summary', 'Summary', summary(c)),
    card('section-chain', 'Certificate chain', chainTree(c.chain)),
    card('section-usage', 'Where it is used', usage(c)),
    card(
      'section-subject',
      'Subject and issuer',
      facts([
        ['Subject', c.facts.subjectDn || '(empty)'],
        ['Issuer', c.facts.issuerDn],
        ['Certificate authority', c.facts.caName],
        ['Self-signed', c.facts.selfSigned ? 'Yes' : 'No'],
        ['CA certificate', c.facts.isCa ? 'Yes' : 'No'],
      ]),
    ),
    card('section-technical', 'Technical details', technical(c)),
    card('section-versions', 'Versions', versions(page, c, status)),
    issuanceSection(page, c.certificateNo),
    card('section-history', 'History', history(page, c.certificateNo)),
  );
  return c.name;
}

/** @param {CertificateDetail} c */
function summary(c) {
  return facts([
    ['Status', h('span', {}, statusBadge(c.status), ' ', expiryText(c.notAfter))],
    [
      'Domains',
      c.domains.length
        ? h(
            'ul',
            { class: 'plain-list' },
            c.domains.map((/** @type {string} */ d) => h('li', { text: d })),
          )
        : '—',
    ],
    ['Valid from', formatDateTime(c.notBefore)],
    ['Valid until', formatDateTime(c.notAfter)],
    ['Key', c.facts.key.text],
    ['Private key', c.hasPrivateKey ? 'Stored (encrypted)' : 'Not stored'],
    ['Type', c.type === 'EXT' ? 'Imported (EXT)' : c.type],
    ['Came in through', cameInThrough(c)],
    ['Registered', formatDateTime(c.createdAt)],
    ['Last changed', formatDateTime(c.updatedAt)],
    ['Uploaded file', c.fileName],
  ]);
}

/** @param {string | null} origin */
const originText = (origin) => (origin ? (ORIGINS[origin] ?? origin) : 'an unrecorded way');

/**
 * The whole story from the history (the server's `provenance`): imported through one face, maybe
 * replaced through another since. The row's own `origin` is the face of the last write only.
 * @param {CertificateDetail} c
 */
function cameInThrough(c) {
  const { imported, lastReplaced } = c.provenance;
  const first = imported
    ? `Imported through ${originText(imported.origin)} on ${formatDateTime(imported.at)}`
    : `Imported before the audit trail began`;
  if (!lastReplaced) return imported ? first : `${first} (last written through ${originText(c.origin)})`;
  return h(
    'ul',
    { class: 'plain-list' },
    h('li', { text: first }),
    h('li', {
      text: `Last replaced through ${originText(lastReplaced.origin)} on ${formatDateTime(lastReplaced.at)}`,
    }),
  );
}

/** @param {CertificateDetail} c */
function technical(c) {
  const f = c.facts;
  const sans = [
    ...f.sans.dns.map((/** @type {string} */ v) => `DNS: ${v}`),
    ...f.sans.ip.map((/** @type {string} */ v) => `IP: ${v}`),
    ...f.sans.email.map((/** @type {string} */ v) => `Email: ${v}`),
    ...f.sans.uri.map((/** @type {string} */ v) => `URI: ${v}`),
  ];
  return facts([
    ['Serial number', h('code', { class: 'wrap', text: f.serialNumber })],
    [
      'Subject alternative names',
      sans.length
        ? h(
            'ul',
            { class: 'plain-list' },
            sans.map((s) => h('li', { text: s })),
          )
        : 'None',
    ],
    ['Signature algorithm', `${f.signatureAlgorithm} (${f.signatureAlgorithmOid})`],
    ['Public key', f.publicKeyInfo],
    ['Key usage', f.keyUsage.length ? f.keyUsage.join(', ') : 'Not restricted'],
    ['Extended key usage', f.extendedKeyUsage.length ? f.extendedKeyUsage.join(', ') : 'Not restricted'],
    ['SHA-256 fingerprint', h('code', { class: 'wrap fingerprint', text: colons(f.fingerprintSha256) })],
    ['Public key SHA-256', h('code', { class: 'wrap fingerprint', text: colons(f.publicKeyFingerprintSha256) })],
  ]);
}

const colons = (/** @type {string} */ hex) => hex.toUpperCase().replace(/(..)(?=.)/g, '$1:');

/** Root first, leaf last, each level nested in the one that issued it. @param {CertificateDetail['chain']} chain */
function chainTree(chain) {
  /** @type {HTMLElement | null} */
  let outer = null;
  /** @type {HTMLElement | null} */
  let parent = null;
  chain.levels.forEach((level, i) => {
    const roleText =
      level.role === 'root' ? 'Root CA' : level.role === 'intermediate' ? 'Intermediate CA' : 'This certificate';
    const item = h(
      'li',
      { class: `chain-level chain-${level.role}` },
      h(
        'div',
        { class: 'chain-node' },
        h(
          'div',
          { class: 'chain-head' },
          h('span', { class: 'chain-role', text: roleText }),
          ' ',
          statusBadge(level.status),
        ),
        h('div', { class: 'chain-name', text: level.commonName ?? level.subjectDn }),
        h('div', { class: 'muted small wrap', text: `Subject: ${level.subjectDn}` }),
        h('div', { class: 'muted small wrap', text: `Issued by: ${level.issuerDn}` }),
        h('div', {
          class: 'muted small',
          text: `Valid ${formatDateTime(level.notBefore)} – ${formatDateTime(level.notAfter)} · ${level.key} · ${level.signatureAlgorithm}`,
        }),
      ),
    );
    const list = h(
      'ol',
      {
        class: i === 0 ? 'chain-tree' : 'chain-children',
        'aria-label': i === 0 ? 'Chain from root to this certificate' : null,
      },
      item,
    );
    if (parent) parent.appendChild(list);
    else outer = list;
    parent = item;
  });
  return h(
    'div',
    {},
    chain.complete
      ? null
      : h('p', {
          class: 'muted',
          text: 'The root certificate was not uploaded with the chain; clients find it in their own trust store.',
        }),
    outer,
    h('p', {
      class: 'visually-hidden',
      text: `${chain.levels.length} certificates; ${chain.levels.map((/** @type {any} */ l) => STATUS_LABELS[l.status]).join(', ')}.`,
    }),
  );
}

/** @param {CertificateDetail} c */
function usage(c) {
  if (c.usedBy.length === 0) return h('p', { class: 'muted', text: 'Not used by any edge slot. It can be deleted.' });
  return h(
    'div',
    {},
    h('p', {
      text: `In use by ${c.usedBy.length} edge slot${c.usedBy.length === 1 ? '' : 's'}; remove it from them before deleting it.`,
    }),
    h(
      'ul',
      { class: 'plain-list' },
      c.usedBy.map((/** @type {number} */ id) =>
        h('li', {}, h('a', { href: href(`/edge/${id}`), text: `Edge slot ${id}` })),
      ),
    ),
  );
}

/**
 * The certificate's audit events, newest first, loaded after the page is shown; "Show older
 * events" loads the next page below them.
 * @param {import('../main.js').PageContext} page @param {number} no
 */
function history(page, no) {
  const body = h('div', {});
  const list = h('ol', { class: 'timeline' });
  const older = h('div', {});
  /** @param {number | null} before the id the page ends before; null for the newest */
  const show = async (before) => {
    /** @type {import('../api.js').HistoryPage | undefined} */
    const events = await load(page, `/certificates/${no}/history${query({ before })}`, {
      into: before === null ? body : older,
      retry: () => void show(before),
    });
    if (!events) return;
    for (const e of events.items)
      list.appendChild(timelineEntry(e, `by ${e.actor}${e.remoteAddress ? ` from ${e.remoteAddress}` : ''}`));
    const next = events.next;
    older.replaceChildren(
      next === null
        ? ''
        : h('button', {
            type: 'button',
            class: 'button button-secondary button-small',
            text: 'Show older events',
            onClick: () => void show(next),
          }),
    );
    if (before === null)
      body.replaceChildren(
        list.children.length ? list : h('p', { class: 'muted', text: 'No recorded events for this certificate.' }),
        older,
      );
  };
  void show(null);
  return body;
}

/**
 * The current version and the replaced ones, newest first, each with its downloads; loaded after
 * the page is shown. The key of an old version is downloaded like the current one's (ADMIN,
 * after a confirmation, audited).
 * @param {import('../main.js').PageContext} page @param {CertificateDetail} c @param {HTMLElement} status
 */
function versions(page, c, status) {
  const body = h('div', {});
  const base = `/console/api/certificates/${c.certificateNo}`;
  void (async () => {
    /** @type {import('../api.js').VersionList | undefined} */
    const list = await load(page, `/certificates/${c.certificateNo}/versions`, { into: body });
    if (!list) return;
    body.replaceChildren(
      h('p', {
        class: 'muted',
        text:
          list.items.length === 1
            ? 'Never replaced. Replacing it keeps this version here.'
            : 'Replacing keeps the version replaced, for the time the server keeps versions.',
      }),
      cardTable(
        'Versions of this certificate',
        [
          'Version',
          'Valid until',
          'Serial number',
          'Replaced',
          h('span', { class: 'visually-hidden', text: 'Downloads' }),
        ],
        list.items.map((v) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row', dataset: { label: 'Version' } }, `${v.version}`, v.current ? ' (current)' : ''),
            h('td', { dataset: { label: 'Valid until' }, text: formatDateTime(v.notAfter) }),
            h('td', { dataset: { label: 'Serial number' } }, h('code', { class: 'wrap', text: v.serialNumber })),
            h('td', {
              dataset: { label: 'Replaced' },
              text: v.replacedAt ? `${formatDateTime(v.replacedAt)} by ${v.replacedBy}` : '—',
            }),
            h(
              'td',
              { dataset: { label: 'Downloads' } },
              v.current
                ? h('span', { class: 'muted', text: 'Downloads above' })
                : h(
                    'div',
                    { class: 'actions', role: 'group', 'aria-label': `Downloads of version ${v.version}` },
                    h('a', {
                      class: 'button button-secondary button-small',
                      href: `${base}/versions/${v.version}/files/fullchain`,
                      download: '',
                      text: `Download version ${v.version}`,
                    }),
                    page.session.can.readPrivateKeys && v.hasPrivateKey
                      ? h('button', {
                          type: 'button',
                          class: 'button button-secondary button-small',
                          text: `Private key of version ${v.version}…`,
                          onClick: () => downloadKey(c, status, v.version),
                        })
                      : null,
                  ),
            ),
          ),
        ),
      ),
    );
  })();
  return body;
}

/**
 * @param {CertificateDetail} c @param {HTMLElement} status
 * @param {number} [version] an old version's (PEM only; the current key also comes as DER)
 */
async function downloadKey(c, status, version) {
  const der = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', name: 'key-der' }));
  const ok = await confirmDialog({
    title: 'Download the private key?',
    body: [
      h(
        'p',
        {},
        'You are about to download the private key of ',
        h('strong', { text: c.name }),
        version === undefined ? '.' : ` (version ${version}).`,
      ),
      h('p', {
        text: 'Anyone who has this file can impersonate the sites it covers. Store it safely. The download is recorded in the audit log under your access key.',
      }),
      ...(version === undefined
        ? [h('label', { class: 'checkbox' }, der, ' As binary DER (PKCS#8) instead of PEM')]
        : []),
    ],
    confirm: 'Download private key',
    danger: true,
  });
  if (!ok) return;
  try {
    const path = version === undefined ? '' : `/versions/${version}`;
    const body = version === undefined && der.checked ? { format: 'der' } : undefined;
    const response = await request('POST', `/certificates/${c.certificateNo}${path}/private-key`, body, {
      raw: true,
    });
    saveBlob(await response.blob(), fileNameOf(response.headers.get('content-disposition'), 'private.key.pem'));
    status.replaceChildren(
      notice('success', 'The private key was downloaded. The download was recorded in the audit log.'),
    );
  } catch (error) {
    showFailure(error, status);
  }
}

/**
 * A PKCS#12 file of the certificate, its chain and key under a passphrase typed twice; modern
 * (AES-256) unless "legacy" is ticked for old Java and Windows.
 * @param {CertificateDetail} c @param {HTMLElement} status
 */
async function downloadPkcs12(c, status) {
  const input = (/** @type {string} */ name) =>
    /** @type {HTMLInputElement} */ (h('input', { type: 'password', name, autocomplete: 'new-password' }));
  const passphrase = input('p12-passphrase');
  const again = input('p12-passphrase-again');
  const legacy = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', name: 'p12-legacy' }));
  const choice = await openDialog({
    title: 'Download a PKCS#12 file',
    body: [
      h(
        'p',
        {},
        'The certificate ',
        h('strong', { text: c.name }),
        ', its chain and its private key in one .p12 file.',
      ),
      h('label', { class: 'field' }, 'Passphrase', passphrase),
      h('label', { class: 'field' }, 'The same passphrase again', again),
      h(
        'label',
        { class: 'checkbox' },
        legacy,
        ' Legacy encryption (3DES, SHA-1) for Java before 8u301 and Windows Server 2016 or older',
      ),
      h('p', {
        class: 'muted',
        text: 'The download is recorded in the audit log under your access key.',
      }),
    ],
    buttons: [
      { label: 'Cancel', value: 'cancel' },
      { label: 'Download PKCS#12', value: 'download', kind: 'primary' },
    ],
  });
  if (choice !== 'download') return;
  if (passphrase.value !== again.value) {
    status.replaceChildren(notice('error', 'The two passphrases differ; nothing was downloaded. Try again.'));
    return;
  }
  try {
    const response = await request(
      'POST',
      `/certificates/${c.certificateNo}/pkcs12`,
      { passphrase: passphrase.value, legacy: legacy.checked },
      { raw: true },
    );
    saveBlob(await response.blob(), fileNameOf(response.headers.get('content-disposition'), 'certificate.p12'));
    status.replaceChildren(
      notice('success', 'The PKCS#12 file was downloaded. The key read was recorded in the audit log.'),
    );
  } catch (error) {
    showFailure(error, status);
  }
}

/** @param {CertificateDetail} c @param {HTMLElement} status */
async function remove(c, status) {
  const ok = await confirmDialog({
    title: `Delete certificate ${c.name}?`,
    body: [
      h(
        'p',
        {},
        'Certificate ',
        h('strong', { text: c.name }),
        ` (#${c.certificateNo}, ${c.domains.slice(0, 2).join(', ') || 'no domains'}) and its private key will be deleted. It can be restored from Recently deleted until it is purged; its name and key are free for new imports at once.`,
      ),
      c.usedBy.length
        ? h('p', {
            class: 'field-error',
            text: `It is in use by ${c.usedBy.length} edge slot(s), so the server will refuse.`,
          })
        : null,
    ],
    confirm: `Delete ${c.name}`,
    danger: true,
  });
  if (!ok) return;
  try {
    await del(`/certificates/${c.certificateNo}?name=${encodeURIComponent(c.name)}`);
    announce(`Certificate ${c.name} was deleted.`);
    navigate('/certificates');
  } catch (error) {
    showFailure(error, status);
  }
}
