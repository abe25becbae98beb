/**
 * Real headless Chromium for page tests: Debian's `chromium` (installed by `.ci/run`), driven by
 * playwright-core. Playwright never downloads a browser here; it starts the system one with the
 * flags this machine needs (no sandbox as root, no background traffic to a closed network).
 *
 * @example
 * const chromium = await launchChromium();
 * const page = await chromium.newPage();
 * await page.goto(url);
 * await chromium.close();
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** The viewport of every new page: a laptop screen. Tests of narrow screens set their own and restore this. */
export const DESKTOP_VIEWPORT = { width: 1280, height: 900 } as const;

/** Where Debian's package puts the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface RunningChromium {
  browser: Browser;
  /** A page in a fresh context (its own cookies and storage), `DESKTOP_VIEWPORT`, clipboard access granted. */
  newPage(): Promise<Page>;
  /** Closes every context and the browser. */
  close(): Promise<void>;
}

/**
 * Starts Chromium with a fresh, temporary profile (Playwright creates and removes it).
 * Rejects with the install command when the browser is missing.
 */
export async function launchChromium(): Promise<RunningChromium> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `${CHROMIUM_PATH} not found: install Debian's chromium (apt-get install chromium), as .ci/run does.`,
    );
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const contexts: BrowserContext[] = [];
  return {
    browser,
    async newPage() {
      const context = await browser.newContext({
        viewport: { ...DESKTOP_VIEWPORT },
        permissions: ['clipboard-read', 'clipboard-write'],
      });
      contexts.push(context);
      return context.newPage();
    },
    async close() {
      await Promise.all(contexts.map((context) => context.close()));
      await browser.close();
    },
  };
}
