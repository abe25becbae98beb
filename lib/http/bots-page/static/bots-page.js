// Settings → Bots: sign in through the SSO; then everyone manages their own access tokens, and
// administrators also manage bots and their tokens.
import { ApiError, createApi } from './api.js';
import { createAuth } from './auth.js';
import { createBotsView } from './bots-view.js';
import { createTokensView } from './tokens-view.js';
import { byTestId, setMessage, show } from './dom.js';

const status = byTestId('status');
const error = byTestId('error');

main()
  .catch(fail)
  .finally(() => show(byTestId('loading'), false));

async function main() {
  const config = await loadConfig();
  // The sign-in state lives in this origin's sessionStorage: finish it where the SSO returns to.
  if (location.origin !== new URL(config.redirectUri).origin) {
    location.replace(config.pageUrl);
    return;
  }
  const auth = createAuth(config);
  byTestId('sign-in').addEventListener('click', () => {
    auth.signIn().catch(fail);
  });

  if (auth.isCallback()) {
    await auth.completeSignIn().catch((err) => fail(`Sign-in failed: ${messageOf(err)}`));
  }
  const user = await auth.currentUser();
  if (user === null) {
    showSignedOut();
    return;
  }

  const api = createApi(config.apiBase, () => user.id_token);
  const endSession = async (err) => {
    await auth.forget();
    for (const id of [
      'session',
      'admin-view',
      'admins-only',
      'new-token-panel',
      'my-tokens',
      'my-new-token-panel',
    ])
      show(byTestId(id), false);
    showSignedOut();
    fail(`Your sign-in is no longer accepted (${err.message}). Sign in again.`);
  };
  const onError = (err) => {
    if (err instanceof ApiError && err.status === 401) endSession(err).catch(fail);
    else fail(err);
  };

  let me;
  try {
    me = await api.loggedInUser();
  } catch (err) {
    onError(err);
    return;
  }
  byTestId('signed-in-as').textContent = me.email ? `${me.name} (${me.email})` : me.name;
  byTestId('sign-out').addEventListener('click', () => {
    auth.signOut(user).catch(fail);
  });
  show(byTestId('session'));

  // Every person's own tokens; the bots only for admins (the API refuses the rest anyway).
  const tokens = createTokensView({ api, scopes: me.scopes, notify, fail: onError });
  const refreshTokens = tokens.refresh().catch(onError);
  if (!me.isAdmin) {
    byTestId('admins-only-name').textContent = me.name;
    show(byTestId('admins-only'));
  } else {
    const view = createBotsView({ api, notify, fail: onError });
    await view.refresh().catch(onError);
    show(byTestId('admin-view'));
  }
  await refreshTokens;
}

async function loadConfig() {
  const response = await fetch(new URL('config.json', import.meta.url), { cache: 'no-cache' });
  if (!response.ok) throw new Error(`cannot load the page configuration (${response.status})`);
  return response.json();
}

function showSignedOut() {
  show(byTestId('signed-out'));
}

function notify(text) {
  setMessage(error, '');
  setMessage(status, text);
}

function fail(err) {
  setMessage(status, '');
  setMessage(error, typeof err === 'string' ? err : messageOf(err));
  if (typeof err !== 'string') console.error(err);
}

function messageOf(err) {
  if (err instanceof ApiError && err.status === 403) return `Not allowed: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
