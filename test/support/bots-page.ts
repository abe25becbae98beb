/**
 * Helpers of the Settings → Bots page tests (test/bots-page.test.ts, test/personal-tokens-page.test.ts):
 * finding elements, signing in at the dev SSO's login form, waiting for a one-time token.
 */
import type { Locator, Page } from 'playwright-core';

export function byTestId(page: Page, id: string): Locator {
  return page.getByTestId(id);
}

/**
 * Waits until the one-time token field `field` (a data-testid; default the bots view's
 * `new-token`) holds a token other than `previous`, and returns it.
 */
export async function waitForNewToken(page: Page, previous: string, field = 'new-token'): Promise<string> {
  await page.waitForFunction(
    ([prev, id]) => {
      const value = document.querySelector<HTMLTextAreaElement>(`[data-testid="${id}"]`)?.value;
      return value !== undefined && value !== '' && value !== prev;
    },
    [previous, field] as const,
  );
  return byTestId(page, field).inputValue();
}

/** Fills the dev SSO's login form and submits it. */
export async function signInAtSso(page: Page, username: string, password: string): Promise<void> {
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Waits (5 s at most) until the locator shows the text. */
export async function assertText(locator: Locator, expected: string | RegExp): Promise<void> {
  await locator.filter({ hasText: expected }).waitFor({ timeout: 5000 });
}

/** A JWT's claims, unverified. */
export function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}
