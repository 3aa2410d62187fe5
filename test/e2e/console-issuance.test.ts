/**
 * Issuance in the console, end to end in a real browser (Debian's chromium) against `certkeeper
 * serve` issuing from a real Pebble that resolves through a real BIND9 (test/issuance/served.ts):
 * the request form marks every bad field at once, the order page shows the CNAME record to
 * create (copied from the page, as a user would), its state moves by itself as the page polls,
 * the certificate is issued, and its page shows the order history and turns renewal off.
 *
 * Skipped with a message when pebble, named or chromium is missing, except under CI=true.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { USER_ZONE } from '../helpers/bind.ts';
import { addUserCname } from '../issuance/user-dns.ts';
import { SERVED_SKIP, startIssuanceRig, type IssuanceRig } from '../issuance/served.ts';
import { browserSkip, launch, logIn, screenshot, type Browser } from './console-browser.ts';
import { cliJson, serve, type Credentials, type Served } from './helpers.ts';

const skip = SERVED_SKIP || (await browserSkip());

describe('console issuance in a browser: Pebble + BIND9', { skip }, () => {
  let rig: IssuanceRig;
  let running: Served;
  let browser: Browser;
  let page: Page;
  let admin: Credentials;

  before(async () => {
    rig = await startIssuanceRig();
    const env = rig.env();
    await cliJson(env, ['tenant', 'create', 'default']);
    admin = await cliJson<Credentials>(env, ['credential', 'create', '--tenant', 'default', '--role', 'ADMIN']);
    running = await serve(env);
    browser = await launch();
    page = browser.page;
  });
  after(async () => {
    await browser?.close();
    running?.signal('SIGKILL');
    await running?.exited;
    await rig?.stop();
  });

  const h1 = (name: string | RegExp) => page.getByRole('heading', { level: 1, name });

  it('requests a certificate, shows the record to create, and sees it issued', async () => {
    await logIn(page, admin, `${running.baseUrl}/console/#/issuance/new`);
    await h1('Request a certificate').waitFor();

    // Every bad field at once: no name, and two bad domain names.
    await page.getByLabel('Domain names').fill('10.0.0.1\na.*.example.test');
    await page.getByRole('button', { name: 'Request' }).click();
    const nameError = page.locator('[data-field=name] .field-error');
    const domainsError = page.locator('[data-field=domains] .field-error');
    await nameError.waitFor();
    await domainsError.waitFor();
    assert.match((await nameError.textContent()) ?? '', /name/i);
    assert.match((await domainsError.textContent()) ?? '', /10\.0\.0\.1.*a\.\*\.example\.test/s);
    await screenshot(page, 'issuance-request-errors');

    const domain = `shop.${USER_ZONE}`;
    await page.getByLabel('Name', { exact: true }).fill('shop');
    await page.getByLabel('Domain names').fill(domain);
    await page.getByRole('button', { name: 'Request' }).click();
    await h1(/^Order #\d+$/).waitFor();

    const row = page.locator(`tr[data-domain="${domain}"]`);
    await row.waitFor();
    const recordName = await row.locator('td[data-label="Record name"] button').getAttribute('data-copy');
    const recordValue = await row.locator('td[data-label="Value"] button').getAttribute('data-copy');
    assert.equal(recordName, `_acme-challenge.${domain}`);
    assert.ok(recordValue?.endsWith('.dcv.certkeeper.test'), String(recordValue));
    assert.equal(await row.locator('td[data-label="State"]').getAttribute('data-state'), 'pending');
    await screenshot(page, 'issuance-records');

    // The user creates the CNAME; the page, polling, shows the domain validated and the order issued.
    await addUserCname(rig.bind, recordName!, recordValue!);
    await page.locator(`tr[data-domain="${domain}"] td[data-state=valid]`).waitFor({ timeout: 90_000 });
    await page.getByRole('link', { name: 'shop', exact: true }).waitFor({ timeout: 90_000 });
    await screenshot(page, 'issuance-issued');

    // The certificate page: the order history and the renewal toggle.
    await page.getByRole('link', { name: 'shop', exact: true }).click();
    await h1('shop').waitFor();
    const section = page.locator('section[aria-labelledby=section-issuance]');
    await section.waitFor();
    assert.equal(await section.locator('tbody tr').count(), 1);
    const toggle = section.getByLabel('Renew automatically before it expires');
    assert.equal(await toggle.isChecked(), true);
    await toggle.uncheck();
    await section.getByText('Automatic renewal turned off.').waitFor();
    await page.reload();
    await h1('shop').waitFor();
    const reloaded = page.locator('section[aria-labelledby=section-issuance]');
    await reloaded.waitFor();
    assert.equal(await reloaded.getByLabel('Renew automatically before it expires').isChecked(), false);
    await screenshot(page, 'issuance-certificate');
    assert.deepEqual(browser.problems, []);
  });
});
