import { createHash, timingSafeEqual } from 'node:crypto';

import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import type { Interaction, Provider } from 'oidc-provider';

import type { DevUser } from './dev-sso-options.js';
import { PAGE_CSP, renderErrorPage, renderLoginPage } from './login-views.js';

/**
 * The dev SSO's own interaction pages, mounted in front of oidc-provider (`devInteractions` off):
 *
 * - `GET /interaction/:uid` — the login form when the provider asks for a login; when it asks for
 *   consent, consent is granted at once (every client here is our own) and the browser goes on.
 * - `POST /interaction/:uid/login` — checks the username/password against the users list; a wrong
 *   pair shows the form again with an error, a right one finishes the login interaction.
 */
export function createInteractionRouter(provider: Provider, users: readonly Required<DevUser>[]): Router {
  const router = express.Router();
  // Only these routes parse bodies: oidc-provider warns about (and must read) its own raw bodies.
  const parseForm = express.urlencoded({ extended: false, limit: '4kb' });

  router.get('/interaction/:uid', async function showInteraction(req, res) {
    const details = await currentInteraction(provider, req, res);
    if (details === undefined) return;
    noStore(res);
    if (details.prompt.name === 'login') {
      sendLoginPage(res, details);
    } else if (details.prompt.name === 'consent') {
      const grantId = await grantRequestedScopes(provider, details);
      await provider.interactionFinished(
        req,
        res,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      );
    } else {
      sendError(res, 400, 'invalid_request', `Unsupported interaction prompt "${details.prompt.name}".`);
    }
  });

  router.post('/interaction/:uid/login', parseForm, async function submitLogin(req, res) {
    const details = await currentInteraction(provider, req, res);
    if (details === undefined) return;
    noStore(res);
    if (details.prompt.name !== 'login') {
      sendError(
        res,
        400,
        'invalid_request',
        'This sign-in step is already complete; start again from the application.',
      );
      return;
    }
    const form = (req.body ?? {}) as Record<string, unknown>;
    const username = typeof form.username === 'string' ? form.username : '';
    const password = typeof form.password === 'string' ? form.password : '';
    const user = users.find((candidate) => candidate.username === username);
    if (user === undefined || !samePassword(password, user.password)) {
      // The form again, not an OAuth error: a typo should not end the sign-in.
      sendLoginPage(res, details, username, 'Invalid username or password.');
      return;
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: user.username } },
      { mergeWithLastSubmission: false },
    );
  });

  router.use(function interactionError(err: unknown, _req: Request, res: Response, next: NextFunction) {
    if (res.headersSent) {
      next(err);
      return;
    }
    // Missing/expired interaction cookie (oidc-provider's SessionNotFound) is the usual cause.
    noStore(res);
    sendError(
      res,
      400,
      'invalid_request',
      'The sign-in session expired or was not found; start again from the application.',
    );
  });

  return router;
}

/** The interaction named by the cookie, if it is the one in the URL; otherwise answers 400. */
async function currentInteraction(
  provider: Provider,
  req: Request,
  res: Response,
): Promise<Interaction | undefined> {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== req.params.uid) {
    noStore(res);
    sendError(
      res,
      400,
      'invalid_request',
      'This sign-in page belongs to another sign-in; start again from the application.',
    );
    return undefined;
  }
  return details;
}

/** Auto-consent: grant what the provider says is missing (openid, profile, email and their claims). */
async function grantRequestedScopes(provider: Provider, details: Interaction): Promise<string> {
  const accountId = details.session?.accountId;
  const clientId = details.params.client_id;
  if (accountId === undefined || clientId === undefined)
    throw new Error('consent prompt without a login session');
  const grant =
    (details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId)) ??
    new provider.Grant({ accountId, clientId });
  const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = details.prompt.details;
  if (missingOIDCScope !== undefined) grant.addOIDCScope(missingOIDCScope.join(' '));
  if (missingOIDCClaims !== undefined) grant.addOIDCClaims(missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(missingResourceScopes ?? {})) {
    grant.addResourceScope(resource, scopes.join(' '));
  }
  return grant.save();
}

function samePassword(given: string, expected: string): boolean {
  // Hash first so the comparison is constant-time whatever the lengths.
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function sendLoginPage(res: Response, details: Interaction, username?: string, error?: string): void {
  const html = renderLoginPage({
    action: `/interaction/${encodeURIComponent(details.uid)}/login`,
    clientId: details.params.client_id ?? '',
    ...(username === undefined ? {} : { username }),
    ...(error === undefined ? {} : { error }),
  });
  res.status(200).type('html').send(html);
}

function sendError(res: Response, status: number, error: string, description: string): void {
  res.status(status).type('html').send(renderErrorPage(error, description));
}

function noStore(res: Response): void {
  res.set('Cache-Control', 'no-store');
  res.set('Content-Security-Policy', PAGE_CSP);
}
