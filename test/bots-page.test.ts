/**
 * The Settings → Bots page in a real headless Chromium against the real example app, its real
 * development SSO (oidc-provider) and the real bot API: an admin signs in with authorization code
 * + PKCE, generates, regenerates and revokes a token for `ingestion-bot` (each checked against the
 * protected API from Node), binds one to a client key (DPoP) and makes a bot require that, creates
 * and deletes a bot, and a non-admin is shown "Admins only" (and
 * their own "My access tokens", tested in personal-tokens-page.test.ts). The
 * layout is checked at 1280 px and on a 420 px phone, and the tab's icon never hits authentication.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express, { type RequestHandler } from 'express';
import type { Locator, Page } from 'playwright-core';
import request from 'supertest';
import { startExample, type RunningExample } from '../example-app/start.js';
import { loadOrCreateDpopKey } from '../lib/client/dpop-key.js';
import { ConfigError } from '../lib/errors.js';
import { createBotsPageRouter } from '../lib/http/bots-page/index.js';
import { assertText, byTestId, payloadOf, signInAtSso, waitForNewToken } from './support/bots-page.js';
import { DESKTOP_VIEWPORT, launchChromium, type RunningChromium } from './support/browser.js';

const ARTIFACTS = path.resolve('test-artifacts');

describe('Settings → Bots page (headless Chromium)', function () {
  let keysDir: string;
  let app: RunningExample;
  let chromium: RunningChromium;
  let page: Page;
  /** CSP violations and uncaught errors seen by the browser, on any page of the flow. */
  const browserProblems: string[] = [];
  /** The first token generated for ingestion-bot, checked again after it is replaced. */
  let firstToken = '';
  /**
   * `<path> <status>` of each icon request the app answered. Browsers fetch the tab's icon outside
   * the page (Playwright sees neither the request nor the response), so it is recorded here.
   */
  const iconRequests: string[] = [];
  const recordIconRequests: RequestHandler = (req, res, next) => {
    if (/favicon/i.test(req.path))
      res.on('finish', () => iconRequests.push(`${req.originalUrl} ${res.statusCode}`));
    next();
  };

  before(async function () {
    keysDir = mkdtempSync(path.join(tmpdir(), 'jwt-gate-bots-page-'));
    const env = {
      ...process.env,
      NODE_ENV: 'test',
      RSA_PRIVATE_KEY_FILE_PATH: path.join(keysDir, 'private_key.der'),
      RSA_PUBLIC_KEY_FILE_PATH: path.join(keysDir, 'public_key.der'),
    };
    [app, chromium] = await Promise.all([
      startExample({
        port: 0,
        ssoPort: 0,
        databaseUrl: 'memory:',
        env,
        // The example's own public router (the Bots page), behind a recorder of icon requests.
        publicRouters: (config) => {
          const { authority, clientId, callbackUrl } = config.authenticationConfiguration;
          return [recordIconRequests, createBotsPageRouter({ authority, clientId, callbackUrl })];
        },
      }),
      launchChromium(),
    ]);
    page = await chromium.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) {
        browserProblems.push(message.text());
      }
    });
    page.on('pageerror', (error) => browserProblems.push(`uncaught: ${error.message}`));
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

  it('is served with a strict Content-Security-Policy and no inline code', async function () {
    const response = await page.goto(`${app.url}/settings/bots`);
    assert.equal(response?.status(), 200);
    const csp = await response.headerValue('content-security-policy');
    const sso = new URL(app.ssoIssuer!).origin;
    assert.equal(
      csp,
      `default-src 'self';script-src 'self';style-src 'self';connect-src 'self' ${sso};img-src 'self' data:;` +
        `frame-ancestors 'none';form-action 'self' ${sso};base-uri 'none';object-src 'none'`,
    );
    const inline = await page.evaluate(() => ({
      scripts: document.querySelectorAll('script:not([src])').length,
      styles: document.querySelectorAll('style, [style]').length,
      handlers: Array.from(document.querySelectorAll('*')).filter((el) =>
        Array.from(el.attributes).some((a) => a.name.startsWith('on')),
      ).length,
    }));
    assert.deepEqual(inline, { scripts: 0, styles: 0, handlers: 0 });

    // The browser enforces the policy (and this suite notices): an injected inline script is refused.
    const ran = await page.evaluate(async () => {
      // The browser reports the refusal as an event: await it rather than a delay.
      const refused = new Promise((resolve) =>
        document.addEventListener('securitypolicyviolation', resolve, { once: true }),
      );
      const script = document.createElement('script');
      script.textContent = 'window.name = "inline script ran"';
      document.head.append(script);
      await refused;
      return window.name === 'inline script ran';
    });
    assert.equal(ran, false);
    assert.match(browserProblems.join('\n'), /Content Security Policy/);
    browserProblems.length = 0;

    const config = (await (await fetch(`${app.url}/settings/bots/config.json`)).json()) as Record<
      string,
      string
    >;
    assert.equal(config.authority, app.ssoIssuer);
    assert.equal(config.redirectUri, `${app.url}/settings/bots/callback`);
    const vendor = await page.evaluate(() => document.querySelector('script[defer]')!.getAttribute('src'));
    assert.match(vendor!, /^\/settings\/bots\/vendor\/oidc-client-ts-\d+\.\d+\.\d+\.min\.js$/);
    const bundle = await fetch(`${app.url}${vendor}`);
    assert.equal(bundle.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.match(await bundle.text(), /var oidc=/);
    assert.equal((await fetch(`${app.url}/settings/bots`, { method: 'POST' })).status, 405);
  });

  it('links its own icon, so the browser never asks the app root for /favicon.ico (401 there)', async function () {
    const fresh = await chromium.newPage(); // a fresh context: no icon cached yet
    const failures: string[] = [];
    fresh.on('console', (message) => {
      if (message.type() === 'error') failures.push(`console: ${message.text()} (${message.location().url})`);
    });
    fresh.on('response', (response) => {
      if (response.status() >= 400) failures.push(`${response.status()} ${response.url()}`);
    });
    fresh.on('requestfailed', (req) => failures.push(`failed: ${req.url()}`));
    iconRequests.length = 0;
    try {
      await fresh.goto(`${app.url}/settings/bots`);
      await byTestId(fresh, 'signed-out').waitFor();
      await waitUntil(() => iconRequests.length > 0, 'the browser to fetch the tab icon');
      // Every request of the page has settled (no connection for 500 ms), so a failure would be in.
      await fresh.waitForLoadState('networkidle');
      assert.deepEqual(failures, [], 'nothing failed while the page loaded');
      assert.deepEqual(iconRequests, ['/settings/bots/favicon.svg 200']);
    } finally {
      await fresh.context().close();
    }
  });

  it('lets the admin sign in and generate a token for ingestion-bot that the API accepts', async function () {
    await byTestId(page, 'sign-in').click();
    await signInAtSso(page, 'admin', 'admin');
    await byTestId(page, 'admin-view').waitFor();
    assert.equal(page.url(), `${app.url}/settings/bots`, 'the code and state are removed from the address');
    assert.match(await byTestId(page, 'signed-in-as').innerText(), /^admin \(admin@example\.com\)$/);
    await byTestId(page, 'my-tokens').waitFor(); // an admin sees both sections
    assert.equal(await byTestId(page, 'admins-only').isHidden(), true);

    const row = botRow(page, 'ingestion-bot');
    await row.getByTestId('expiry-select').selectOption('7');
    await row.getByTestId('generate-token').click();
    const token = await waitForNewToken(page, '');
    firstToken = token;
    assert.match(await byTestId(page, 'new-token-expiry').innerText(), /^Expires /);
    const claims = payloadOf(token);
    assert.equal(claims.sub, 'ingestion-bot');
    assert.equal(Number(claims.exp) - Number(claims.iat), 7 * 86_400, 'the chosen expiry (7 days) was sent');

    await byTestId(page, 'copy-token').click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);
    await assertText(row.getByTestId('bot-token'), `…${token.slice(-4)}`); // the table was redrawn
    assert.equal(
      await row.getByTestId('expiry-select').inputValue(),
      '7',
      'the chosen expiry stays selected',
    );
    assert.equal(await row.getByTestId('token-last-used').innerText(), 'Never');

    assert.equal(await apiStatus(token), 200);
    await page.reload();
    await byTestId(page, 'admin-view').waitFor();
    assert.equal(await byTestId(page, 'new-token-panel').isHidden(), true, 'the token is shown only once');
    assert.equal(await botRow(page, 'ingestion-bot').getByTestId('token-last-used').innerText(), 'now');
  });

  it('fits the bots table, Actions column included, inside its card at 1280 px', async function () {
    await page.setViewportSize(DESKTOP_VIEWPORT);
    // Right edges, rounded: the card, the Actions header, then each row's actions cell.
    // (No helper function inside evaluate: tsx's name-keeping wrapper does not exist in the page.)
    const [cardRight, actionsHeaderRight, ...actionCellsRight] = await page.evaluate(() => {
      const table = document.querySelector('[data-testid="bots-table"]')!;
      return [
        table.closest('.card')!,
        table.querySelector('th.actions-col')!,
        ...Array.from(table.querySelectorAll('td.row-actions')),
      ].map((element) => Math.round(element.getBoundingClientRect().right));
    });
    const layout = JSON.stringify({ cardRight, actionsHeaderRight, actionCellsRight });
    await page.screenshot({ path: path.join(ARTIFACTS, 'bots-page-1280.png'), fullPage: true });
    assert.ok(actionsHeaderRight! <= cardRight!, `the Actions header ends inside the card: ${layout}`);
    assert.ok(
      actionCellsRight.length === 1 && actionCellsRight.every((right) => right <= cardRight!),
      `each row's actions end inside the card: ${layout}`,
    );
  });

  it('at 420 px: no sideways scrolling, a one-line brand, and Generate and Revoke within reach', async function () {
    await page.setViewportSize({ width: 420, height: 900 });
    try {
      const layout = await page.evaluate(() => ({
        pageWidth: document.documentElement.scrollWidth,
        viewportWidth: window.innerWidth,
        brandLines: document.querySelector('.topbar .product')!.getClientRects().length,
      }));
      await page.screenshot({ path: path.join(ARTIFACTS, 'bots-page-420.png'), fullPage: true });
      assert.ok(layout.pageWidth <= layout.viewportWidth, `the page is ${layout.pageWidth} px wide`);
      assert.equal(layout.brandLines, 1, '"jwt-gate" is not broken over two lines');

      const row = botRow(page, 'ingestion-bot');
      let revokeCentre = { x: 0, y: 0 };
      for (const id of ['generate-token', 'revoke-token']) {
        // Scrolled to by moving the page down only, as a thumb would: on screen, and not covered?
        const reach = await row.getByTestId(id).evaluate((button) => {
          window.scrollBy(0, button.getBoundingClientRect().top - window.innerHeight / 2);
          const box = button.getBoundingClientRect();
          const centre = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
          const onTop = document.elementFromPoint(centre.x, centre.y) === button;
          return { left: Math.round(box.left), right: Math.round(box.right), onTop, centre };
        });
        assert.ok(
          reach.left >= 0 && reach.right <= 420,
          `${id} within the screen's width: ${JSON.stringify(reach)}`,
        );
        assert.equal(reach.onTop, true, `${id} can be tapped: ${JSON.stringify(reach)}`);
        revokeCentre = reach.centre;
      }
      // A tap where Revoke is on the screen (no scrolling by Playwright) asks for a confirmation.
      await page.mouse.click(revokeCentre.x, revokeCentre.y);
      assert.equal(await byTestId(page, 'confirm-title').innerText(), 'Revoke the token of ingestion-bot?');
      await byTestId(page, 'confirm-cancel').click(); // the next test still needs the token
    } finally {
      await page.setViewportSize(DESKTOP_VIEWPORT);
    }
  });

  it('regenerates after a confirmation, and the old token is refused at once', async function () {
    const row = botRow(page, 'ingestion-bot');
    const oldLast4 = (await row.getByTestId('bot-token').innerText()).slice(1);
    await row.getByTestId('generate-token').click();
    await byTestId(page, 'confirm-dialog').waitFor();
    await byTestId(page, 'confirm-cancel').click();
    assert.equal(await byTestId(page, 'new-token-panel').isHidden(), true, 'cancel keeps the token');

    await row.getByTestId('expiry-select').selectOption('Unlimited');
    await row.getByTestId('generate-token').click();
    assert.match(await byTestId(page, 'confirm-message').innerText(), new RegExp(`…${oldLast4}`));
    await byTestId(page, 'confirm-ok').click();
    const token = await waitForNewToken(page, firstToken);
    assert.equal(await byTestId(page, 'new-token-expiry').innerText(), 'Never expires');
    await page.screenshot({ path: path.join(ARTIFACTS, 'bots-page.png'), fullPage: true });

    assert.equal(await apiStatus(firstToken), 401, 'the replaced token');
    assert.equal(await apiStatus(token), 200, 'the new token');
    assert.equal(payloadOf(token).exp, undefined, 'an unlimited token has no exp');

    await row.getByTestId('revoke-token').click();
    await byTestId(page, 'confirm-ok').click();
    await assertText(row.getByTestId('bot-token'), 'No token');
    assert.equal(await byTestId(page, 'new-token-panel').isHidden(), true);
    assert.equal(await apiStatus(token), 401, 'the revoked token');
  });

  it("generates a token with the scopes ticked among the bot's allowed scopes, and shows them", async function () {
    const row = botRow(page, 'ingestion-bot');
    const choices = row.getByTestId('scope-choice');
    const choiceState = () =>
      choices.evaluateAll((inputs) =>
        inputs.map((i) => [(i as HTMLInputElement).value, (i as HTMLInputElement).checked]),
      );
    assert.deepEqual(await choiceState(), [
      ['tables:read', true],
      ['tables:write', true],
    ]);
    await row.getByLabel('tables:write').uncheck();
    await row.getByTestId('expiry-select').selectOption('1');
    await row.getByTestId('generate-token').click();
    const token = await waitForNewToken(page, '');
    assert.equal(payloadOf(token).scope, 'tables:read', 'only the ticked scope was sent');
    await assertText(row.getByTestId('bot-scopes'), 'tables:read');
    assert.equal(await row.getByTestId('bot-scopes').innerText(), 'tables:read');
    assert.deepEqual(
      await choiceState(),
      [
        ['tables:read', true],
        ['tables:write', false],
      ],
      'the choice survives the redraw',
    );
    assert.equal(await apiStatus(token), 200, 'it may read tables');
    const write = await fetch(`${app.url}/api/v1/tables`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'from-page', columns: [] }),
    });
    assert.equal(write.status, 403, 'but not write them');
    assert.match(
      write.headers.get('www-authenticate') ?? '',
      /error="insufficient_scope".*scope="tables:write"/,
    );

    await row.getByLabel('tables:write').check();
    await row.getByTestId('generate-token').click();
    await byTestId(page, 'confirm-ok').click();
    const both = await waitForNewToken(page, token);
    assert.equal(payloadOf(both).scope, 'tables:read tables:write');
    await assertText(row.getByTestId('bot-scopes'), 'tables:write');
  });

  it('binds a token to a client key (DPoP) by its thumbprint, and shows the token as bound', async function () {
    const { jkt } = loadOrCreateDpopKey(path.join(keysDir, 'dpop-key.json'));
    const row = botRow(page, 'ingestion-bot');
    assert.equal(await row.getByTestId('token-dpop').count(), 0, 'its current token is unbound');
    await row.getByTestId('dpop-bind').locator('summary').click();
    await row.getByTestId('dpop-jkt').fill(jkt);
    const previous = await byTestId(page, 'new-token').inputValue();
    await row.getByTestId('generate-token').click();
    await byTestId(page, 'confirm-ok').click(); // it replaces the current token
    const token = await waitForNewToken(page, previous);
    assert.deepEqual(payloadOf(token).cnf, { jkt });
    await row.getByTestId('token-dpop').waitFor();
    assert.match((await row.getByTestId('token-dpop').getAttribute('title'))!, new RegExp(jkt));
    assert.equal(await row.getByTestId('dpop-jkt').inputValue(), jkt, 'the thumbprint survives the redraw');

    await page.screenshot({ path: path.join(ARTIFACTS, 'bots-page-dpop.png'), fullPage: true });
    // The opened field fits a phone's width too.
    await page.setViewportSize({ width: 420, height: 900 });
    try {
      const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
      await page.screenshot({ path: path.join(ARTIFACTS, 'bots-page-dpop-420.png'), fullPage: true });
      assert.ok(widths[0]! <= widths[1]!, `no sideways scrolling: ${widths.join(' > ')}`);
    } finally {
      await page.setViewportSize(DESKTOP_VIEWPORT);
    }
  });

  it('makes a bot require DPoP (at creation, or after a confirmation that revokes an unbound token)', async function () {
    await byTestId(page, 'create-name').fill('dpop-page-bot');
    await byTestId(page, 'create-require-dpop').check();
    await byTestId(page, 'create-bot').click();
    const row = botRow(page, 'dpop-page-bot');
    await row.getByTestId('bot-requires-dpop').waitFor();
    assert.equal(await row.getByTestId('require-dpop').isChecked(), true);
    assert.equal(await row.getByTestId('dpop-jkt').getAttribute('required'), '', 'the form says so');
    await row.getByTestId('require-dpop').uncheck(); // off: no confirmation
    await row.getByTestId('bot-requires-dpop').waitFor({ state: 'detached' });

    const previous = await byTestId(page, 'new-token').inputValue();
    await row.getByTestId('generate-token').click();
    const unbound = await waitForNewToken(page, previous);
    assert.equal(payloadOf(unbound).cnf, undefined);
    await assertText(row.getByTestId('bot-token'), `…${unbound.slice(-4)}`);

    await row.getByTestId('require-dpop').check();
    assert.match(await byTestId(page, 'confirm-message').innerText(), /not bound .*revoked/);
    await byTestId(page, 'confirm-cancel').click();
    assert.equal(await row.getByTestId('require-dpop').isChecked(), false, 'cancel leaves it off');
    await row.getByTestId('require-dpop').check();
    await byTestId(page, 'confirm-ok').click();
    await row.getByTestId('bot-requires-dpop').waitFor();
    await assertText(row.getByTestId('bot-token'), 'No token');
    assert.equal(await byTestId(page, 'new-token-panel').isHidden(), true, 'the revoked token is not shown');

    // Without a thumbprint the form refuses before sending, and says what to do.
    await row.getByTestId('generate-token').click();
    await assertText(byTestId(page, 'error'), /dpop-page-bot requires DPoP: enter the thumbprint/);
    assert.equal(
      await row.getByTestId('dpop-jkt').evaluate((input) => input === document.activeElement),
      true,
    );
    // A malformed one: the API's 400 message.
    await row.getByTestId('dpop-jkt').fill('not-a-thumbprint');
    await row.getByTestId('generate-token').click();
    await assertText(byTestId(page, 'error'), /dpopJkt must be .*43 base64url characters/);
    assert.equal(await byTestId(page, 'new-token-panel').isHidden(), true);

    await row.getByTestId('delete-bot').click();
    await byTestId(page, 'confirm-ok').click();
    await row.waitFor({ state: 'detached' });
  });

  it("creates a bot (showing the API's 400 and 409 messages) and deletes it after a confirmation", async function () {
    const create = async (name: string, description = ''): Promise<void> => {
      await byTestId(page, 'create-name').fill(name);
      await byTestId(page, 'create-display-name').fill('Page test bot');
      await byTestId(page, 'create-description').fill(description);
      await byTestId(page, 'create-bot').click();
    };
    const hostile = '<img src=x onerror="window.pwned=1">';
    await create('page-test-bot', hostile);
    const row = botRow(page, 'page-test-bot');
    await assertText(row.getByTestId('bot-display-name'), 'Page test bot');
    assert.equal(await row.getByTestId('bot-description').innerText(), hostile, 'shown as text');
    assert.equal(await row.locator('img').count(), 0, 'never parsed as HTML');

    await create('page-test-bot');
    await assertText(byTestId(page, 'create-error'), /already exists|taken|conflict/i);
    await create('Not A Valid Name');
    await assertText(byTestId(page, 'create-error'), /bot name/i);

    await row.getByTestId('delete-bot').click();
    await byTestId(page, 'confirm-ok').click();
    await row.waitFor({ state: 'detached' });
    assert.match(await byTestId(page, 'status').innerText(), /page-test-bot deleted/);
  });

  it('signs out through the SSO, and shows a non-admin an "Admins only" message', async function () {
    await byTestId(page, 'sign-out').click();
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await byTestId(page, 'signed-out').waitFor();
    assert.equal(await byTestId(page, 'session').isHidden(), true);

    await byTestId(page, 'sign-in').click();
    await signInAtSso(page, 'alice', 'alice');
    await byTestId(page, 'admins-only').waitFor();
    assert.match(await byTestId(page, 'admins-only').innerText(), /^Admins only\b/);
    assert.equal(await byTestId(page, 'admins-only-name').innerText(), 'alice');
    assert.equal(await byTestId(page, 'admin-view').isHidden(), true, 'no bot controls');
    await byTestId(page, 'my-tokens').waitFor(); // but their own access tokens
    assert.equal(await page.getByTestId('bot-row').count(), 0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'bots-page-non-admin.png') });
  });

  it('asks to sign in again when the API refuses the stored ID token', async function () {
    await page.evaluate(() => {
      for (const key of Object.keys(sessionStorage).filter((k) => k.startsWith('oidc.user:'))) {
        const user = JSON.parse(sessionStorage.getItem(key)!) as { id_token: string };
        sessionStorage.setItem(key, JSON.stringify({ ...user, id_token: `${user.id_token}x` }));
      }
    });
    await page.reload();
    await byTestId(page, 'signed-out').waitFor();
    assert.match(await byTestId(page, 'error').innerText(), /no longer accepted .*Sign in again/);
    assert.equal(await byTestId(page, 'session').isHidden(), true);
    const stored = await page.evaluate(() =>
      Object.keys(sessionStorage).filter((k) => k.startsWith('oidc.user:')),
    );
    assert.deepEqual(stored, [], 'the refused token is forgotten');
  });

  async function apiStatus(token: string): Promise<number> {
    const response = await fetch(`${app.url}/api/v1/tables`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    await response.arrayBuffer();
    return response.status;
  }
});

describe('createBotsPageRouter()', function () {
  const options = {
    authority: 'https://sso.example.com/realms/main',
    clientId: 'bots-page',
    callbackUrl: 'https://api.example.com/admin/bots/callback',
    basePath: '/admin/bots',
  };

  it('serves the page, its callback and config at the chosen basePath, with asset URLs under it', async function () {
    const app = express().use(createBotsPageRouter(options));
    const page = await request(app)
      .get('/admin/bots')
      .expect(200)
      .expect('Content-Type', /text\/html/);
    assert.match(page.text, /<script type="module" src="\/admin\/bots\/bots-page\.js"><\/script>/);
    assert.doesNotMatch(page.text, /%[A-Z_]+%/, 'every placeholder is filled');
    await request(app).get('/admin/bots/callback').expect(200, page.text);
    assert.match(page.text, /<link rel="icon" href="\/admin\/bots\/favicon\.svg" type="image\/svg\+xml" \/>/);
    await request(app)
      .get('/admin/bots/favicon.svg')
      .expect(200)
      .expect('Content-Type', /^image\/svg\+xml/);
    const config = await request(app).get('/admin/bots/config.json').expect(200);
    assert.deepEqual(config.body, {
      authority: options.authority,
      clientId: 'bots-page',
      redirectUri: options.callbackUrl,
      pageUrl: 'https://api.example.com/admin/bots',
      scope: 'openid profile email',
      apiBase: '',
    });
    assert.match(page.headers['content-security-policy']!, /connect-src 'self' https:\/\/sso\.example\.com;/);
    await request(app).get('/settings/bots').expect(404);
  });

  it("allows Google's token endpoint when the authority is Google", async function () {
    const app = express().use(
      createBotsPageRouter({
        authority: 'https://accounts.google.com',
        clientId: 'x.apps.googleusercontent.com',
        callbackUrl: 'https://api.example.com/settings/bots/callback',
      }),
    );
    const page = await request(app).get('/settings/bots').expect(200);
    assert.match(
      page.headers['content-security-policy']!,
      /connect-src 'self' https:\/\/accounts\.google\.com https:\/\/oauth2\.googleapis\.com;/,
    );
  });

  it('refuses, at creation, options the page could not work with, naming the option', function () {
    const refuses = (overrides: Record<string, unknown>, message: RegExp): void => {
      assert.throws(
        () => createBotsPageRouter({ ...options, ...overrides }),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
      );
    };
    refuses({ clientId: '' }, /"clientId".*AUTHENTICATION_CLIENT_ID/);
    refuses({ callbackUrl: '' }, /"callbackUrl".*AUTHENTICATION_CALLBACK_URL/);
    refuses(
      { callbackUrl: 'https://api.example.com/elsewhere/callback' },
      /"callbackUrl".*\/admin\/bots\/callback/,
    );
    refuses({ authority: 'accounts.google.com' }, /"authority".*AUTHENTICATION_AUTHORITY/);
    refuses({ basePath: 'admin/bots/' }, /"basePath"/);
    refuses({ staticDir: '/nonexistent' }, /cannot read .*index\.html/);
  });
});

/** Polls a condition of this process (e.g. what the app recorded) until it holds. */
async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function botRow(page: Page, name: string): Locator {
  return page.locator(`[data-testid="bot-row"][data-bot-name="${name}"]`);
}
