/**
 * The console's formats in a real browser against the real server: the chain field says what it
 * is for; a PKCS#12 file picked with a wrong passphrase is refused next to the passphrase field,
 * then imported with the right one; DER files picked for certificate and chain are sent as they
 * are and imported; the certificate page downloads DER and a PKCS#12 file that OpenSSL 3 opens.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startTestApp, WallClock, type TestApp } from '../helpers/app.ts';
import { mintPems, type Pems } from '../api/console/helpers.ts';
import { browserSkip, launch, logIn, screenshot, type Browser } from './console-browser.ts';

const PASS = 'browser p12 pass';
const skip = await browserSkip();
if (skip) console.log(`# console formats end-to-end tests skipped: ${skip}`);

describe('console formats in a browser', { skip }, () => {
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  let work: string;
  let p12Pems: Pems;
  let derPems: Pems;

  const path = (name: string) => join(work, name);
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const url = (p = '') => `${app.baseUrl}/console/${p}`;
  const h1 = (name: string | RegExp) => page.getByRole('heading', { level: 1, name });

  before(async () => {
    app = await startTestApp({ clock: new WallClock() });
    work = await mkdtemp(join(tmpdir(), 'certkeeper-e2e-formats-'));
    p12Pems = await mintPems({ cn: 'p12.example.com', sans: { dns: ['p12.example.com'] } }, new Date());
    derPems = await mintPems({ cn: 'der.example.com', sans: { dns: ['der.example.com'] } }, new Date());
    await writeFile(path('pass.txt'), PASS);
    await writeFile(path('leaf.pem'), p12Pems.certificate);
    await writeFile(path('key.pem'), p12Pems.privateKey);
    await writeFile(path('chain.pem'), p12Pems.chain);
    openssl([
      'pkcs12',
      '-export',
      '-in',
      path('leaf.pem'),
      '-inkey',
      path('key.pem'),
      '-certfile',
      path('chain.pem'),
      '-passout',
      `file:${path('pass.txt')}`,
      '-out',
      path('bundle.pfx'),
    ]);
    await writeFile(path('der-leaf.pem'), derPems.certificate);
    await writeFile(path('der-chain.pem'), derPems.intermediate.pem);
    openssl(['x509', '-in', path('der-leaf.pem'), '-outform', 'DER', '-out', path('leaf.der')]);
    openssl(['x509', '-in', path('der-chain.pem'), '-outform', 'DER', '-out', path('intermediate.cer')]);
    browser = await launch();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('labels the chain field as what it is', async () => {
    await logIn(page, app.main.admin, url());
    await h1('Dashboard').waitFor();
    await page.getByRole('link', { name: 'Import', exact: true }).click();
    await h1('Import a certificate').waitFor();
    const chain = page.getByLabel('Chain (intermediate CA certificates)');
    await chain.waitFor();
    const hint = await page.locator('[data-field=chain] .hint').innerText();
    assert.match(hint, /Required for a certificate issued by a CA/);
    assert.match(hint, /A self-signed certificate needs none/);
  });

  it('PKCS#12: a wrong passphrase is refused next to the passphrase field, the right one imports', async () => {
    await page.getByLabel('Name', { exact: true }).fill('from-pfx');
    await page.getByLabel('A PKCS#12 file (.p12 or .pfx) with its passphrase').check();
    await page.getByLabel('PKCS#12 file', { exact: true }).setInputFiles(path('bundle.pfx'));
    await page.getByLabel('Passphrase', { exact: true }).fill('not it');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const error = page.locator('[data-field=passphrase] .field-error');
    await error.waitFor();
    assert.match(await error.innerText(), /passphrase does not open this PKCS#12 file/);
    assert.equal(await page.getByLabel('Passphrase', { exact: true }).getAttribute('aria-invalid'), 'true');
    await screenshot(page, 'import-pkcs12-error');
    await page.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await page.getByRole('button', { name: 'Check' }).click();
    await page.getByText('Everything checks out').waitFor();
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await h1('from-pfx').waitFor();
  });

  it('downloads the certificate as DER and a PKCS#12 file that openssl opens', async () => {
    const [der] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download DER' }).click(),
    ]);
    assert.equal(der.suggestedFilename(), 'from-pfx.der');
    await der.saveAs(path('down.der'));
    const subject = openssl(['x509', '-inform', 'DER', '-in', path('down.der'), '-noout', '-subject']).toString();
    assert.match(subject, /p12\.example\.com/);

    await page.getByRole('button', { name: 'Download PKCS#12…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await dialog.getByLabel('The same passphrase again').fill(PASS);
    await dialog.getByLabel(/Legacy encryption/).check();
    await screenshot(page, 'download-pkcs12');
    const [p12] = await Promise.all([
      page.waitForEvent('download'),
      dialog.getByRole('button', { name: 'Download PKCS#12' }).click(),
    ]);
    assert.equal(p12.suggestedFilename(), 'from-pfx.p12');
    await p12.saveAs(path('down.p12'));
    const info = spawnSync(
      'openssl',
      ['pkcs12', '-in', path('down.p12'), '-passin', `file:${path('pass.txt')}`, '-info', '-nodes'],
      { encoding: 'utf8' },
    );
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stderr, /pbeWithSHA1And3-KeyTripleDES-CBC/);
    assert.match(info.stdout, /BEGIN PRIVATE KEY/);
    await page.getByText('The PKCS#12 file was downloaded').waitFor();
  });

  it('DER files picked for the certificate and the chain are sent as they are and import', async () => {
    await page.getByRole('link', { name: 'Import', exact: true }).click();
    await h1('Import a certificate').waitFor();
    await page.getByLabel('Name', { exact: true }).fill('from-der');
    await page.locator('input[data-picker=certificate]').setInputFiles(path('leaf.der'));
    await page.getByText('leaf.der: a binary (DER) file, sent as it is.').waitFor();
    assert.equal(await page.getByLabel('Certificate', { exact: true }).inputValue(), '');
    await page.getByLabel('Private key', { exact: true }).fill(derPems.privateKey);
    await page.locator('input[data-picker=chain]').setInputFiles(path('intermediate.cer'));
    await page.getByText('intermediate.cer: a binary (DER) file, sent as it is.').waitFor();
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    // The intermediate alone, as CAs send it: the root may be left out of a chain.
    await h1('from-der').waitFor();
    assert.deepEqual(browser.problems, []);
  });
});
