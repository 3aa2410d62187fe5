/**
 * The deployment target in the console, in a real browser against the real server and store: a
 * server started with CERTKEEPER_CONSOLE_TARGET_EDIT=on shows the target in full and lets an ADMIN
 * change one setting, and the others are kept (in the page and in the store); a server without it
 * shows the target read-only with the note and the `certkeeper target set` command to copy.
 * Screenshots go to test-results/console/ (target-*).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startTestApp, WallClock, type TestApp } from '../helpers/app.ts';
import { browserSkip, launch, logIn, screenshot, type Browser } from './console-browser.ts';

const skip = await browserSkip();
if (skip) console.log(`# console end-to-end tests skipped: ${skip}`);

/** Logs in as the tenant's ADMIN and waits for the dashboard. */
async function logInAsAdmin(page: Page, app: TestApp): Promise<void> {
  await logIn(page, app.main.admin, `${app.baseUrl}/console/`);
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
}

describe('console: the deployment target', { skip }, () => {
  let on: TestApp;
  let off: TestApp;
  let browser: Browser;
  let page: Page;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'certkeeper-console-target-e2e-'));
    on = await startTestApp({ clock: new WallClock(), env: { CERTKEEPER_CONSOLE_TARGET_EDIT: 'on' } });
    off = await startTestApp({ clock: new WallClock() });
    for (const app of [on, off])
      await app.app.core.targets.set(app.main.actor, {
        kind: 'directory',
        path: dir,
        reloadCommand: 'nginx -s reload',
        reloadTimeoutMs: 7_000,
      });
    browser = await launch();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await on?.close();
    await off?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const card = () => page.getByRole('region', { name: 'Deployment target' });

  it('switched on: shows the target in full, changes one setting, keeps the others', async () => {
    await logInAsAdmin(page, on);
    await page.goto(`${on.baseUrl}/console/#/edge`);
    await page.getByRole('heading', { level: 1, name: 'Edge slots' }).waitFor();
    await card().getByText(`${dir}/<slot>/privkey.pem`).waitFor();
    await card().getByText('0600 · the private key (PKCS#8)').waitFor();
    await card().getByText('None yet').waitFor();
    assert.equal(await card().getByLabel('Directory', { exact: true }).inputValue(), dir);
    assert.equal(await card().getByLabel('Reload command').inputValue(), 'nginx -s reload');
    assert.equal(await card().getByLabel('Reload time limit (seconds)').inputValue(), '7');

    // A command the server would refuse: the error lands next to the field, nothing is saved.
    await card().getByLabel('Reload command').fill('nginx -s reload && rm -rf /');
    await card().getByRole('button', { name: 'Save target' }).click();
    await card()
      .getByText(/a shell feature/)
      .waitFor();

    await card().getByLabel('Reload command').fill('systemctl reload nginx');
    await card().getByRole('button', { name: 'Save target' }).click();
    await card().getByText('systemctl reload nginx', { exact: true }).waitFor();
    // The page shows the saved target again: the path and the time limit are what they were.
    assert.equal(await card().getByLabel('Directory', { exact: true }).inputValue(), dir);
    assert.equal(await card().getByLabel('Reload time limit (seconds)').inputValue(), '7');
    await card().getByText('7 s', { exact: true }).waitFor();
    assert.deepEqual((await on.app.core.targets.get(on.main.actor))?.spec, {
      kind: 'directory',
      path: dir,
      reloadCommand: ['systemctl', 'reload', 'nginx'],
      reloadTimeoutMs: 7_000,
    });
    await screenshot(page, 'target-edit-on');
    assert.deepEqual(browser.problems, []);
  });

  it('switched off: read-only, with the note and the command to run on the server', async () => {
    await logInAsAdmin(page, off);
    await page.goto(`${off.baseUrl}/console/#/edge`);
    await page.getByRole('heading', { level: 1, name: 'Edge slots' }).waitFor();
    await card().getByText('CERTKEEPER_CONSOLE_TARGET_EDIT=on').waitFor();
    assert.equal(await card().getByRole('button', { name: 'Save target' }).count(), 0);
    assert.equal(
      await card().locator('pre.command').innerText(),
      `certkeeper target set --tenant default directory --path ${dir} --reload-command 'nginx -s reload' --reload-timeout 7s`,
    );
    await screenshot(page, 'target-edit-off');
    assert.deepEqual(browser.problems, []);
  });
});
