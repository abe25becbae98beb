/**
 * "My access tokens" on the Settings → Bots page, in a real headless Chromium against the real
 * example app, its development SSO and the personal-token API: a non-admin generates a token (shown
 * once), uses it against the API, sees it listed by its last 4 characters only, and revokes it; the
 * API's 400 and 409 (a limit of 2 live tokens) are shown by the form; the section fits a 420 px
 * phone; an admin sees it beside the bots.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { startExample, type RunningExample } from '../example-app/start.js';
import { assertText, byTestId, payloadOf, signInAtSso, waitForNewToken } from './support/bots-page.js';
import { DESKTOP_VIEWPORT, launchChromium, type RunningChromium } from './support/browser.js';

const ARTIFACTS = path.resolve('test-artifacts');
/** `personalTokenConfiguration.maxTokensPerUser` of this suite, small enough to reach. */
const LIMIT = 2;

describe('Settings → Bots page: My access tokens (headless Chromium)', function () {
  let keysDir: string;
  let app: RunningExample;
  let chromium: RunningChromium;
  let page: Page;
  /** CSP violations and uncaught errors seen by the browser. */
  const browserProblems: string[] = [];
  /** The token generated in the page by the first test, revoked in the page later. */
  let laptopToken = '';

  before(async function () {
    keysDir = mkdtempSync(path.join(tmpdir(), 'jwt-gate-tokens-page-'));
    const env = {
      ...process.env,
      NODE_ENV: 'test',
      RSA_PRIVATE_KEY_FILE_PATH: path.join(keysDir, 'private_key.der'),
      RSA_PUBLIC_KEY_FILE_PATH: path.join(keysDir, 'public_key.der'),
      JWT_GATE_PERSONAL_TOKEN_LIMIT: String(LIMIT),
    };
    // The example's default public router is the Bots page.
    [app, chromium] = await Promise.all([
      startExample({ port: 0, ssoPort: 0, databaseUrl: 'memory:', env }),
      launchChromium(),
    ]);
    assert.equal(app.config.personalTokenConfiguration.maxTokensPerUser, LIMIT);
    page = await newWatchedPage();
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async function () {
    await chromium?.close();
    await app?.close();
    rmSync(keysDir, { recursive: true, force: true });
  });

  afterEach(function () {
    assert.deepEqual(browserProblems, [], 'the browser reported CSP violations or errors');
  });

  it('lets a non-admin generate a token the API accepts as theirs, shown once, listed by its last 4', async function () {
    await page.goto(`${app.url}/settings/bots`);
    await byTestId(page, 'sign-in').click();
    await signInAtSso(page, 'alice', 'alice');
    await byTestId(page, 'my-tokens').waitFor();
    await byTestId(page, 'admins-only').waitFor(); // the bots part stays admins-only
    assert.equal(await byTestId(page, 'admin-view').isHidden(), true);
    await byTestId(page, 'no-my-tokens').waitFor();

    // The scopes offered are alice's own (the SSO's defaultScopes), all ticked.
    const choices = byTestId(page, 'my-scope-choices').getByTestId('scope-choice');
    assert.deepEqual(
      await choices.evaluateAll((inputs) =>
        inputs.map((i) => [(i as HTMLInputElement).value, (i as HTMLInputElement).checked]),
      ),
      [
        ['tables:read', true],
        ['tables:write', true],
      ],
    );
    await byTestId(page, 'my-scope-choices').getByLabel('tables:write').uncheck();
    await byTestId(page, 'my-token-name').fill('laptop');
    await byTestId(page, 'my-token-expiry').selectOption('7');
    await byTestId(page, 'my-generate-token').click();
    const token = await waitForNewToken(page, '', 'my-new-token');
    laptopToken = token;
    assert.equal(await byTestId(page, 'my-new-token-name').innerText(), 'laptop');
    assert.match(await byTestId(page, 'my-new-token-expiry').innerText(), /^Expires /);
    const claims = payloadOf(token);
    assert.equal(Number(claims.exp) - Number(claims.iat), 7 * 86_400, 'the chosen expiry (7 days) was sent');
    assert.equal(claims.scope, 'tables:read', 'only the ticked scope was sent');

    await byTestId(page, 'my-copy-token').click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);

    const me = await loggedInUser(token);
    assert.equal(me.status, 200);
    assert.deepEqual(
      { name: me.body.name, tokenType: me.body.tokenType, isBot: me.body.isBot },
      { name: 'alice', tokenType: 'PERSONAL_ACCESS', isBot: false },
    );

    const row = tokenRow(page, 'laptop');
    await assertText(row.getByTestId('my-token-last4'), `…${token.slice(-4)}`);
    assert.equal(await row.getByTestId('my-token-scopes-cell').innerText(), 'tables:read');
    assert.equal(await byTestId(page, 'no-my-tokens').isHidden(), true);

    await page.reload();
    await tokenRow(page, 'laptop').waitFor();
    assert.equal(await byTestId(page, 'my-new-token-panel').isHidden(), true, 'the token is shown only once');
    assert.equal(await byTestId(page, 'my-new-token').inputValue(), '');
    assert.equal((await page.content()).includes(token), false, 'the token is nowhere in the page');
    await assertText(tokenRow(page, 'laptop').getByTestId('my-token-last4'), `…${token.slice(-4)}`);
  });

  it('at 420 px: no sideways scrolling, and Revoke within reach', async function () {
    await page.setViewportSize({ width: 420, height: 900 });
    try {
      const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      await page.screenshot({ path: path.join(ARTIFACTS, 'personal-tokens-420.png'), fullPage: true });
      assert.ok(pageWidth <= 420, `the page is ${pageWidth} px wide`);
      for (const id of ['my-token-name', 'my-generate-token']) {
        const box = (await byTestId(page, id).boundingBox())!;
        assert.ok(box.x >= 0 && box.x + box.width <= 420, `${id} within the screen: ${JSON.stringify(box)}`);
      }
      const revoke = tokenRow(page, 'laptop').getByTestId('my-revoke-token');
      await revoke.scrollIntoViewIfNeeded();
      const box = (await revoke.boundingBox())!;
      assert.ok(box.x >= 0 && box.x + box.width <= 420, `Revoke within the screen: ${JSON.stringify(box)}`);
    } finally {
      await page.setViewportSize(DESKTOP_VIEWPORT);
    }
  });

  it('revokes the token after a confirmation, and the API refuses it at once', async function () {
    const token = await mintThroughApi(); // a second one, to check the page revokes only the one asked
    const row = tokenRow(page, 'laptop');
    const last4 = (await row.getByTestId('my-token-last4').innerText()).slice(1);
    assert.equal(last4, laptopToken.slice(-4));

    await row.getByTestId('my-revoke-token').click();
    assert.equal(await byTestId(page, 'confirm-title').innerText(), 'Revoke the token laptop?');
    await byTestId(page, 'confirm-cancel').click();
    assert.equal(await row.count(), 1, 'cancel keeps the token');

    await row.getByTestId('my-revoke-token').click();
    assert.match(await byTestId(page, 'confirm-message').innerText(), new RegExp(`…${last4}`));
    await byTestId(page, 'confirm-ok').click();
    await row.waitFor({ state: 'detached' });
    assert.match(await byTestId(page, 'status').innerText(), /laptop revoked/);
    assert.equal((await loggedInUser(laptopToken)).status, 401, 'the revoked token');
    assert.equal((await loggedInUser(token.JWTToken)).status, 200, 'the other token still works');
    await tokenRow(page, 'script').waitFor(); // listed after the page's refresh
  });

  it("shows the API's 400 (empty name) and 409 (limit reached) messages by the form", async function () {
    await byTestId(page, 'my-token-name').fill('   '); // passes `required`, refused by the API
    await byTestId(page, 'my-generate-token').click();
    await assertText(byTestId(page, 'my-token-error'), /tokenName/);

    // alice holds "script"; one more reaches the limit, the next is refused.
    await byTestId(page, 'my-token-name').fill('ci');
    await byTestId(page, 'my-generate-token').click();
    await tokenRow(page, 'ci').waitFor();
    assert.equal(await byTestId(page, 'my-token-error').isHidden(), true, 'a success clears the error');
    const shown = await byTestId(page, 'my-new-token').inputValue();
    await byTestId(page, 'my-token-name').fill('one-too-many');
    await byTestId(page, 'my-generate-token').click();
    await assertText(
      byTestId(page, 'my-token-error'),
      new RegExp(`already hold ${LIMIT} live personal access tokens`),
    );
    assert.equal(await byTestId(page, 'my-new-token').inputValue(), shown, 'no new token');
    assert.equal(await page.getByTestId('my-token-row').count(), LIMIT);
  });

  it('shows an admin both the bots and their own access tokens', async function () {
    const adminPage = await newWatchedPage();
    await adminPage.goto(`${app.url}/settings/bots`);
    await byTestId(adminPage, 'sign-in').click();
    await signInAtSso(adminPage, 'admin', 'admin');
    await byTestId(adminPage, 'admin-view').waitFor();
    await byTestId(adminPage, 'my-tokens').waitFor();
    await byTestId(adminPage, 'no-my-tokens').waitFor(); // alice's tokens are alice's
    assert.equal(await byTestId(adminPage, 'admins-only').isHidden(), true);
    await adminPage.screenshot({ path: path.join(ARTIFACTS, 'personal-tokens-admin.png'), fullPage: true });
  });

  async function newWatchedPage(): Promise<Page> {
    const fresh = await chromium.newPage();
    fresh.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) {
        browserProblems.push(message.text());
      }
    });
    fresh.on('pageerror', (error) => browserProblems.push(`uncaught: ${error.message}`));
    return fresh;
  }

  async function loggedInUser(token: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${app.url}/api/v1/users/loggedInUser`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    const text = await response.text();
    return {
      status: response.status,
      body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    };
  }

  /** A token named "script" for alice, minted through the API with her ID token from the page. */
  async function mintThroughApi(): Promise<{ JWTToken: string }> {
    const response = await fetch(`${app.url}/api/v1/users/security/token`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${await pageIdToken()}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ tokenName: 'script', JWTTokenExpiry: '1' }),
    });
    assert.equal(response.status, 200);
    await page.reload();
    await tokenRow(page, 'script').waitFor();
    return (await response.json()) as { JWTToken: string };
  }

  async function pageIdToken(): Promise<string> {
    return page.evaluate(() => {
      const key = Object.keys(sessionStorage).find((k) => k.startsWith('oidc.user:'))!;
      return (JSON.parse(sessionStorage.getItem(key)!) as { id_token: string }).id_token;
    });
  }
});

function tokenRow(page: Page, name: string): Locator {
  return page.locator(`[data-testid="my-token-row"][data-token-name="${name}"]`);
}
