/**
 * A real browser for end-to-end tests: Debian's chromium driven by playwright-core (never
 * `playwright install`), headless, with a fresh user-data directory per launch. Outside CI a
 * missing chromium skips the tests with a message; under CI=true it fails them.
 */
import { access, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CERTKEEPER_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

async function present(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** False, or why the browser tests are skipped. Throws under CI=true when chromium is missing. */
export async function browserSkip(): Promise<string | false> {
  if (await present(CHROMIUM)) return false;
  const why = `chromium not found at ${CHROMIUM}; install it with: apt-get install -y chromium (see .ci/run)`;
  if (process.env.CI === 'true') throw new Error(`CI=true: browser tests cannot run: ${why}`);
  return why;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Content-Security-Policy violations and uncaught page errors seen so far. */
  problems: string[];
  close(): Promise<void>;
}

/** A browser in UTC by default; `timezoneId` gives the viewer another time zone. */
export async function launch({ timezoneId = 'UTC' }: { timezoneId?: string } = {}): Promise<Browser> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'certkeeper-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    acceptDownloads: true,
    viewport: { width: 1280, height: 860 },
    locale: 'en-US',
    timezoneId,
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    const text = message.text();
    if (/Content.Security.Policy|Trusted Type|Refused to/i.test(text)) problems.push(`console: ${text}`);
  });
  return {
    context,
    page,
    problems,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

export const SCREENSHOTS = join(import.meta.dirname, '../../test-results/console');

/** Saves a full-page screenshot under test-results/console/. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Logs in through the console's form with a credential's keys, after opening `url` when given (any
 * console page shows the form to a visitor without a session). Returns once the form is submitted:
 * the caller waits for the page it expects.
 */
export async function logIn(
  page: Page,
  credential: { accessKey: string; secretKey: string },
  url?: string,
): Promise<void> {
  if (url !== undefined) await page.goto(url);
  await page.getByLabel('Access key').fill(credential.accessKey);
  await page.getByLabel('Secret key').fill(credential.secretKey);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/**
 * Waits until the focus is on the page's heading. A page shows its heading before its data has
 * arrived and takes the focus once it has rendered (web/js/main.js `route`), so an assertion right
 * after the heading appears races the render; this waits for the focus as the user would see it.
 */
export async function headingFocused(page: Page, timeoutMs = 15_000): Promise<void> {
  // Polled from here: waitForFunction evaluates a string, which the console's CSP (no eval) refuses.
  const deadline = Date.now() + timeoutMs;
  let focused: unknown;
  while ((focused = await page.evaluate('document.activeElement?.tagName')) !== 'H1') {
    if (Date.now() > deadline) throw new Error(`the focus stayed on ${String(focused)}, never on the page heading`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
