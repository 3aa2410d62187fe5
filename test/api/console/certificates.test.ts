/**
 * Console certificate endpoints: import (with the ladder's error next to the right form field),
 * dry-run validation, list (search, filters, sort, paging, exact totals), detail (facts, chain
 * tree, users), history, dashboard, downloads (bytes), the audited private-key download, delete.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { TestApp } from '../../helpers/app.ts';
import { storeTargets } from '../../helpers/db.ts';
import { mintLeaf, mintSelfSignedLeaf } from '../../helpers/pki.ts';
import { loggedIn, mintPems, NOW, startConsoleApp, type ConsoleClient, type Pems } from './helpers.ts';

const DAY = 86_400_000;

describe('console import', () => {
  let app: TestApp;
  let admin: ConsoleClient;
  let pems: Pems;
  before(async () => {
    app = await startConsoleApp('sqlite');
    admin = await loggedIn(app, app.main.admin);
    pems = await mintPems();
  });
  after(() => app?.close());

  const importing = (body: Record<string, unknown>) => admin.request('POST', '/console/api/certificates', body);

  it("puts each ladder refusal next to the form field it concerns, in the ladder's words", async () => {
    const expired = await mintLeaf(pems.intermediate, {
      cn: 'old.example.com',
      notBefore: new Date(NOW.getTime() - 100 * DAY),
      notAfter: new Date(NOW.getTime() - DAY),
      freshKey: true,
    });
    const other = await mintLeaf(pems.intermediate, {
      cn: 'other.example.com',
      freshKey: true,
      notBefore: new Date(NOW.getTime() - DAY),
      notAfter: new Date(NOW.getTime() + 30 * DAY),
    });
    const cases: Array<[string, Record<string, unknown>, number, string, string, RegExp]> = [
      [
        'full chain pasted as the certificate',
        { name: 'a1', certificate: pems.certificate + pems.chain, privateKey: pems.privateKey },
        400,
        'certificate_multiple',
        'certificate',
        /looks like a full chain was pasted/,
      ],
      [
        'junk certificate',
        { name: 'a2', certificate: 'hello', privateKey: pems.privateKey },
        400,
        'pem_malformed',
        'certificate',
        /certificate/i,
      ],
      [
        'key of another certificate',
        { name: 'a3', certificate: pems.certificate, privateKey: other.keyPem, chain: pems.chain },
        400,
        'key_mismatch',
        'privateKey',
        /key/i,
      ],
      [
        'key pasted into the chain',
        { name: 'a4', certificate: pems.certificate, privateKey: pems.privateKey, chain: pems.privateKey },
        400,
        'pem_malformed',
        'chain',
        /chain field holds a private key/,
      ],
      [
        'expired certificate',
        { name: 'a5', certificate: expired.pem, privateKey: expired.keyPem, chain: pems.chain },
        400,
        'certificate_expired',
        'certificate',
        /expired/i,
      ],
      [
        'bad name',
        { name: '-bad name', certificate: pems.certificate, privateKey: pems.privateKey, chain: pems.chain },
        400,
        'name_invalid',
        'name',
        /letters, digits/,
      ],
      ['no name', { certificate: pems.certificate }, 400, 'invalid_argument', 'name', /Enter the certificate name/],
      [
        'NHN file without a certificate',
        { name: 'a6', file: { name: 'x.pem', contentBase64: Buffer.from(pems.privateKey).toString('base64') } },
        400,
        'certificate_missing',
        'file',
        /file holds no certificate/,
      ],
      [
        'unreadable file',
        { name: 'a7', file: { name: 'x.pem', contentBase64: '***' } },
        400,
        'invalid_argument',
        'file',
        /could not be read/,
      ],
    ];
    for (const [label, body, status, code, field, message] of cases) {
      const response = await importing(body);
      assert.equal(response.status, status, label);
      assert.equal(response.body.error.code, code, label);
      assert.equal(response.body.error.field, field, label);
      assert.match(response.body.error.message, message, label);
      assert.ok(!/at .*\.ts:\d+/.test(response.text), `${label}: no stack`);
    }
    const list = await admin.request('GET', '/console/api/certificates');
    assert.equal(list.body.total, 0, 'a refused import stores nothing');
  });

  it('validates without storing, then imports; a duplicate is refused on the certificate field', async () => {
    const body = {
      name: 'www-example',
      certificate: pems.certificate,
      privateKey: pems.privateKey,
      chain: pems.intermediate.pem,
    };
    const check = await admin.request('POST', '/console/api/certificates/validate', body);
    assert.equal(check.status, 200);
    assert.equal(check.body.facts.commonName, 'www.example.com');
    assert.equal(check.body.chainLength, 1);
    assert.equal(check.body.hasPrivateKey, true);
    assert.equal((await admin.request('GET', '/console/api/certificates')).body.total, 0);
    const created = await importing(body);
    assert.equal(created.status, 201);
    assert.equal(created.body.name, 'www-example');
    assert.equal(created.body.origin, 'console');
    const duplicate = await importing({ ...body, name: 'www-again' });
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.body.error.code, 'already_exists');
    assert.equal(duplicate.body.error.field, 'certificate');
    assert.match(duplicate.body.error.message, /already registered as 'www-example'/);
  });

  it('refuses with every field at fault at once: a bad name beside a key mismatch', async () => {
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    const body = {
      name: 'bad name!',
      certificate: pems.certificate,
      privateKey: otherKey,
      chain: pems.intermediate.pem,
    };
    for (const path of ['/console/api/certificates/validate', '/console/api/certificates']) {
      const refused = await admin.request('POST', path, body);
      assert.equal(refused.status, 400, path);
      assert.equal(refused.body.error.code, 'key_mismatch');
      assert.equal(refused.body.error.field, 'privateKey');
      assert.deepEqual(
        refused.body.error.errors.map((e: { code: string; field: string }) => [e.code, e.field]),
        [
          ['key_mismatch', 'privateKey'],
          ['name_invalid', 'name'],
        ],
        path,
      );
      assert.match(refused.body.error.errors[1].message, /name is not allowed/);
    }
    // One problem: no list, the error alone as before.
    const nameOnly = await admin.request('POST', '/console/api/certificates/validate', {
      ...body,
      privateKey: pems.privateKey,
    });
    assert.equal(nameOnly.status, 400);
    assert.equal(nameOnly.body.error.field, 'name');
    assert.equal(nameOnly.body.error.errors, undefined);
    assert.equal((await admin.request('GET', '/console/api/certificates?name=bad')).body.total, 0, 'nothing stored');
  });

  it('imports one NHN-style file byte for byte', async () => {
    const single = await mintPems({ cn: 'file.example.com', sans: { dns: ['file.example.com'] } });
    const text = `${single.certificate}\r\n${single.chain}${single.privateKey}`;
    const created = await importing({
      name: 'from-file',
      file: { name: 'bundle.pem', contentBase64: Buffer.from(text).toString('base64') },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.fileName, undefined);
    const file = await app.app.core.certificates.readFile(app.main.actor, created.body.certificateNo);
    assert.equal(file.bytes.toString('utf8'), text);
    assert.equal(file.name, 'bundle.pem');
  });
});

for (const target of storeTargets) {
  describe(`console reads on ${target.name}`, { skip: target.skip }, () => {
    let app: TestApp;
    let admin: ConsoleClient;
    let viewer: ConsoleClient;
    let main: Pems;
    const numbers: Record<string, number> = {};

    before(async () => {
      app = await startConsoleApp(target.name);
      admin = await loggedIn(app, app.main.admin);
      main = await mintPems();
      const add = async (name: string, days: number, dns: string[], pems?: Pems) => {
        const p =
          pems ??
          (await mintPems({ cn: dns[0] ?? null, sans: { dns }, notAfter: new Date(NOW.getTime() + days * DAY) }));
        const response = await admin.request('POST', '/console/api/certificates', {
          name,
          certificate: p.certificate,
          privateKey: p.privateKey,
          chain: p.chain,
        });
        assert.equal(response.status, 201, response.text);
        numbers[name] = response.body.certificateNo;
        app.clock.advance(1000);
      };
      await add('alpha', 5, ['alpha.example.com']);
      await add('bravo', 20, ['bravo.example.com', 'shared.example.org']);
      await add('charlie', 60, ['charlie.example.com'], main);
      await add('delta', 200, ['delta.example.net']);
      await add('echo', 2, ['echo.example.com', 'shared.example.org']);
      // An expired one: imported while valid, then time passes for it only in appearance (clock set back).
      const old = await mintPems({
        cn: 'old.example.com',
        sans: { dns: ['old.example.com'] },
        notBefore: new Date(NOW.getTime() - 40 * DAY),
        notAfter: new Date(NOW.getTime() + DAY / 2),
      });
      await add('foxtrot', 0, [], old);
      app.clock.set(new Date(NOW.getTime() + DAY));
      admin = await loggedIn(app, app.main.admin);
      viewer = await loggedIn(app, app.main.viewer);
    });
    after(() => app?.close());

    const names = (body: { items: Array<{ name: string }> }) => body.items.map((i) => i.name);

    it('lists with exact totals, sorted by expiry by default, and pages', async () => {
      const all = await viewer.request('GET', '/console/api/certificates');
      assert.equal(all.status, 200);
      assert.equal(all.body.total, 6);
      assert.deepEqual(names(all.body), ['foxtrot', 'echo', 'alpha', 'bravo', 'charlie', 'delta']);
      assert.equal(all.body.items[0].status, 'EXPIRED');
      const page2 = await viewer.request('GET', '/console/api/certificates?pageSize=10&page=1&sort=name&order=desc');
      assert.deepEqual(names(page2.body), ['foxtrot', 'echo', 'delta', 'charlie', 'bravo', 'alpha']);
      const paged = await viewer.request('GET', '/console/api/certificates?pageSize=10&page=2');
      assert.deepEqual(paged.body, {
        items: [],
        total: 6,
        totalExact: true,
        page: 2,
        pageSize: 10,
        pages: 1,
        next: null,
      });
      const byRegistration = await viewer.request('GET', '/console/api/certificates?sort=createdAt&order=asc');
      assert.deepEqual(names(byRegistration.body), ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot']);
    });

    it('searches by name and domain, filters by status and type', async () => {
      assert.deepEqual(names((await viewer.request('GET', '/console/api/certificates?name=HAR')).body), ['charlie']);
      const shared = await viewer.request('GET', '/console/api/certificates?domain=SHARED.example.org&sort=name');
      assert.deepEqual(names(shared.body), ['bravo', 'echo']);
      assert.equal(shared.body.total, 2);
      assert.deepEqual(names((await viewer.request('GET', '/console/api/certificates?status=expired')).body), [
        'foxtrot',
      ]);
      assert.equal((await viewer.request('GET', '/console/api/certificates?status=unexpired')).body.total, 5);
      assert.equal((await viewer.request('GET', '/console/api/certificates?type=EXT')).body.total, 6);
      const bad = await viewer.request('GET', '/console/api/certificates?sort=secret');
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.field, 'sort');
      assert.equal((await viewer.request('GET', '/console/api/certificates?pageSize=7')).status, 400);
    });

    it('the search box: a host, a zone, an IP, text; the dashboard windows; keyset cursors', async () => {
      const list = async (query: string) => {
        const response = await viewer.request('GET', `/console/api/certificates?${query}`);
        assert.equal(response.status, 200, `${query}: ${response.text}`);
        return response.body as {
          items: Array<{ name: string }>;
          total: number;
          totalExact: boolean;
          next: string | null;
        };
      };
      assert.deepEqual(names(await list('q=shared.example.org&sort=name')), ['bravo', 'echo']);
      assert.deepEqual(names(await list('q=WWW.example.com')), ['charlie']);
      assert.deepEqual(names(await list(`q=${encodeURIComponent('*.example.com')}&sort=name`)), [
        'alpha',
        'bravo',
        'charlie',
        'echo',
        'foxtrot',
      ]);
      assert.deepEqual(names(await list('q=zone%3Aexample.org&sort=name')), ['bravo', 'echo']);
      assert.deepEqual(names(await list('q=har')), ['charlie']);
      assert.deepEqual(names(await list('q=domain%3Aexample.ne')), ['delta']);
      assert.deepEqual(names(await list('q=192.0.2.1')), []);
      // The dashboard's "within N days" cards and the list they open agree.
      const dashboard = await viewer.request('GET', '/console/api/dashboard');
      for (const window of dashboard.body.expiring as Array<{ days: number; count: number }>) {
        const page = await list(`expiresWithin=${window.days}&sort=notAfter`);
        assert.equal(page.total, window.count, `within ${window.days} days`);
        assert.equal(page.totalExact, true);
      }
      assert.deepEqual(names(await list('expiresWithin=7&sort=notAfter')), ['echo', 'alpha']);
      assert.deepEqual(
        names(await list('expiresFrom=2000-01-01&expiresTo=2999-01-01&sort=name&order=desc&q=example.com')),
        ['charlie'],
      );
      assert.deepEqual(names(await list('keyType=EC&sort=name&pageSize=10')).length, 6);
      // Cursor paging in name order, two a page.
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await list(`sort=name&pageSize=10${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...names(page));
        cursor = page.next;
      } while (cursor);
      assert.deepEqual(seen, ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot']);
    });

    it('bad search input: 400 with the field, never a 5xx', async () => {
      const cases: Array<[string, string]> = [
        ['q=a..example.com', 'coversHost'],
        ['q=www.*.example.com', 'coversHost'],
        [`q=${'a'.repeat(64)}.example.com`, 'coversHost'],
        [`q=${'abcdefghi.'.repeat(26)}com`, 'coversHost'],
        ['q=ip%3A1.2.3', 'ipAddress'],
        ['q=ip%3A1%3A%3A2%3A%3A3', 'ipAddress'],
        ['q=a', 'nameContains'],
        ['q=%25_', 'nameContains'],
        ['name=ab', 'nameContains'],
        ['q=zone%3A', 'zone'],
        ['q=%00abc', 'q'],
        ['sort=colour', 'sort'],
        ['order=sideways', 'order'],
        ['expiresWithin=0', 'expiresWithin'],
        ['expiresWithin=abc', 'expiresWithin'],
        ['expiresFrom=yesterday', 'expiresFrom'],
        ['expiresFrom=2026-02-01&expiresTo=2026-01-01', 'notAfterBetween'],
        ['keyType=rot13', 'keyType'],
        ['cursor=!!', 'cursor'],
        [`cursor=${Buffer.from('["name","asc",1,1]').toString('base64url')}&sort=name`, 'cursor'],
      ];
      for (const [query, field] of cases) {
        const response = await viewer.request('GET', `/console/api/certificates?${query}`);
        assert.equal(response.status, 400, `${query}: ${response.text}`);
        assert.equal(response.body.error.field, field, `${query}: ${response.text}`);
      }
      // Metacharacters are text: an answer, not an error.
      for (const text of ['%_%', '.*.', '(a|b)', "'--"]) {
        const response = await viewer.request('GET', `/console/api/certificates?q=name%3A${encodeURIComponent(text)}`);
        assert.equal(response.status, 200, text);
        assert.equal(response.body.total, 0, text);
      }
    });

    it('shows every fact, the chain as root → intermediate → leaf, and where it is used', async () => {
      const detail = await viewer.request('GET', `/console/api/certificates/${numbers.charlie}`);
      assert.equal(detail.status, 200);
      const body = detail.body;
      assert.equal(body.facts.fingerprintSha256.length, 64);
      assert.equal(body.facts.subjectDn, 'CN=www.example.com');
      assert.deepEqual(body.facts.sans.dns, ['www.example.com', 'example.com']);
      assert.equal(body.facts.signatureAlgorithm.includes('with'), true);
      assert.deepEqual(
        body.chain.levels.map((l: { role: string; commonName: string }) => [l.role, l.commonName]),
        [
          ['root', 'Console Test Root'],
          ['intermediate', 'Console Test CA'],
          ['leaf', 'www.example.com'],
        ],
      );
      assert.equal(body.chain.complete, true);
      assert.equal(body.chain.levels[1].issuerDn, body.chain.levels[0].subjectDn);
      assert.deepEqual(body.usedBy, []);
      assert.equal(body.hasPrivateKey, true);
      assert.ok(!detail.text.includes('PRIVATE KEY'));
      const missing = await viewer.request('GET', '/console/api/certificates/999999');
      assert.equal(missing.status, 404);
      assert.equal((await viewer.request('GET', '/console/api/certificates/abc')).status, 404);
    });

    it('counts by status and by expiry window on the dashboard, with recent changes', async () => {
      const dashboard = await viewer.request('GET', '/console/api/dashboard');
      assert.equal(dashboard.status, 200);
      assert.deepEqual(dashboard.body.counts, { total: 6, valid: 5, expired: 1, notYetValid: 0 });
      // At NOW + 1 day: echo (2 d → 1 d left), alpha (4 d), bravo (19 d), charlie (59 d), delta (199 d).
      assert.deepEqual(dashboard.body.expiring, [
        { days: 7, count: 2 },
        { days: 30, count: 3 },
        { days: 90, count: 4 },
      ]);
      assert.deepEqual(dashboard.body.soonest.map((c: { name: string }) => c.name).slice(0, 3), [
        'echo',
        'alpha',
        'bravo',
      ]);
      assert.ok(dashboard.body.recent.length > 0);
      assert.equal(dashboard.body.recent[0].action, 'certificate.import');
    });

    it('downloads the certificate, the chain and the full bundle byte for byte', async () => {
      const no = numbers.charlie;
      const cert = await viewer.request('GET', `/console/api/certificates/${no}/files/certificate`);
      assert.equal(cert.status, 200);
      assert.equal(cert.headers.get('content-disposition'), 'attachment; filename="charlie.crt.pem"');
      assert.equal(cert.headers.get('cache-control'), 'no-store');
      assert.equal(cert.text, main.certificate);
      const chain = await viewer.request('GET', `/console/api/certificates/${no}/files/chain`);
      assert.equal(chain.text, main.chain);
      const full = await viewer.request('GET', `/console/api/certificates/${no}/files/fullchain`);
      assert.equal(full.text, main.certificate + main.intermediate.pem, 'the self-signed root is left out');
      assert.equal((await viewer.request('GET', `/console/api/certificates/${no}/files/privkey`)).status, 404);
    });

    it('the private key: ADMIN only, after the CSRF token, audited either way', async () => {
      const no = numbers.charlie;
      const key = await admin.request('POST', `/console/api/certificates/${no}/private-key`);
      assert.equal(key.status, 200);
      assert.equal(key.headers.get('content-disposition'), 'attachment; filename="charlie.key.pem"');
      assert.match(key.text, /^-----BEGIN PRIVATE KEY-----/);
      const refused = await viewer.request('POST', `/console/api/certificates/${no}/private-key`);
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error.code, 'permission_denied');
      const viaGet = await admin.request('GET', `/console/api/certificates/${no}/private-key`);
      assert.equal(viaGet.status, 404, 'never by GET');
      const history = await viewer.request('GET', `/console/api/certificates/${no}/history`);
      const reads = history.body.items.filter((e: { action: string }) => e.action === 'certificate.key.read');
      assert.deepEqual(
        reads.map((e: { actor: string; result: string }) => [e.actor, e.result]),
        [
          [app.main.viewer.accessKey, 'failure'],
          [app.main.admin.accessKey, 'success'],
        ],
      );
    });

    it('deletes only with the right name, and then it is gone', async () => {
      const no = numbers.delta;
      const wrongName = await admin.request('DELETE', `/console/api/certificates/${no}?name=alpha`);
      assert.equal(wrongName.status, 404);
      const ok = await admin.request('DELETE', `/console/api/certificates/${no}?name=delta`);
      assert.equal(ok.status, 204);
      assert.equal((await admin.request('GET', `/console/api/certificates/${no}`)).status, 404);
      assert.equal((await admin.request('GET', '/console/api/certificates')).body.total, 5);
      const history = await admin.request('GET', `/console/api/certificates/${no}/history`);
      assert.equal(history.status, 404, 'a deleted certificate has no page');
    });
  });
}

describe('console chain view without a chain', () => {
  it('a self-signed leaf is its own root', async () => {
    const app = await startConsoleApp('sqlite');
    try {
      const admin = await loggedIn(app, app.main.admin);
      const leaf = await mintSelfSignedLeaf({
        cn: 'self.example.com',
        sans: { dns: ['self.example.com'] },
        notBefore: new Date(NOW.getTime() - DAY),
        notAfter: new Date(NOW.getTime() + 30 * DAY),
      });
      const created = await admin.request('POST', '/console/api/certificates', {
        name: 'self',
        certificate: leaf.pem,
        privateKey: leaf.keyPem,
      });
      assert.equal(created.status, 201, created.text);
      assert.deepEqual(
        created.body.chain.levels.map((l: { role: string }) => l.role),
        ['root'],
      );
      assert.equal(created.body.chain.complete, true);
      assert.equal(
        (await admin.request('GET', `/console/api/certificates/${created.body.certificateNo}/files/chain`)).status,
        404,
      );
    } finally {
      await app.close();
    }
  });
});

describe('console certificate provenance', () => {
  it('tells the face of the import and of the last replacement apart, from the history', async () => {
    const app = await startConsoleApp('sqlite');
    try {
      const admin = await loggedIn(app, app.main.admin);
      const first = await mintPems({ cn: 'mail.example.com', sans: { dns: ['mail.example.com'] } });
      const second = await mintPems({ cn: 'mail.example.com', sans: { dns: ['mail.example.com'] } });
      const policy = { requireKey: false, allowEd25519: false, nameRule: null };
      const imported = await app.app.core.certificates.import(
        app.main.actor,
        { name: 'mail', certificate: first.certificate, privateKey: first.privateKey, chain: first.chain },
        { origin: 'cli', policy },
      );
      const no = imported.certificateNo;
      const before = await admin.request('GET', `/console/api/certificates/${no}`);
      assert.deepEqual(before.body.provenance, {
        imported: { origin: 'cli', at: NOW.toISOString() },
        lastReplaced: null,
      });
      // Within the session's idle limit (30 minutes).
      app.clock.advance(20 * 60_000);
      await app.app.core.certificates.replace(
        app.main.actor,
        no,
        { name: 'mail', certificate: second.certificate, privateKey: second.privateKey, chain: second.chain },
        { origin: 'ncp-v2', policy },
      );
      const after = await admin.request('GET', `/console/api/certificates/${no}`);
      assert.equal(after.status, 200, after.text);
      assert.equal(after.body.origin, 'ncp-v2', 'the row keeps the face of the last write');
      assert.deepEqual(after.body.provenance, {
        imported: { origin: 'cli', at: NOW.toISOString() },
        lastReplaced: { origin: 'ncp-v2', at: new Date(NOW.getTime() + 20 * 60_000).toISOString() },
      });
    } finally {
      await app.close();
    }
  });
});

describe('console dashboard actors', () => {
  it('labels the actors of recent changes for an ADMIN, and for a VIEWER leaves the keys bare', async () => {
    const app = await startConsoleApp('sqlite');
    try {
      const admin = await loggedIn(app, app.main.admin);
      const pems = await mintPems();
      const created = await admin.request('POST', '/console/api/certificates', {
        name: 'labelled',
        certificate: pems.certificate,
        privateKey: pems.privateKey,
        chain: pems.chain,
      });
      assert.equal(created.status, 201, created.text);
      const seen = await admin.request('GET', '/console/api/dashboard');
      assert.ok(seen.body.recent.some((e: { actor: string }) => e.actor === app.main.admin.accessKey));
      assert.deepEqual(seen.body.actors, {
        [app.main.admin.accessKey]: { role: 'ADMIN', description: 'test admin', revoked: false },
      });
      const viewer = await loggedIn(app, app.main.viewer);
      const bare = await viewer.request('GET', '/console/api/dashboard');
      assert.equal(bare.status, 200);
      assert.ok(bare.body.recent.length > 0);
      assert.deepEqual(bare.body.actors, {});
    } finally {
      await app.close();
    }
  });
});
