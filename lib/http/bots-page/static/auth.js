// Sign-in through the configured SSO with oidc-client-ts (global `oidc`, loaded before this
// module): authorization code with PKCE, tokens kept in this tab's sessionStorage only.

/** The page's sign-in state, built from `config.json`. */
export function createAuth(config) {
  const storage = new oidc.WebStorageStateStore({ store: window.sessionStorage });
  const manager = new oidc.UserManager({
    authority: config.authority,
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    post_logout_redirect_uri: config.pageUrl,
    response_type: 'code', // with PKCE (S256), which oidc-client-ts always adds
    scope: config.scope,
    userStore: storage,
    stateStore: storage,
    loadUserInfo: false,
    // No hidden iframes: the page's CSP allows no frames, and a sign-in here is short-lived.
    automaticSilentRenew: false,
    monitorSession: false,
  });
  const redirect = new URL(config.redirectUri);

  return {
    /** True on the redirect back from the SSO (`…/callback?code=…&state=…`, or `?error=…`). */
    isCallback() {
      const params = new URL(location.href).searchParams;
      return location.pathname === redirect.pathname && (params.has('code') || params.has('error'));
    },
    /** Exchanges the code for tokens (checks state and PKCE), then removes them from the URL. */
    async completeSignIn() {
      try {
        await manager.signinRedirectCallback();
      } finally {
        window.history.replaceState(null, '', new URL(config.pageUrl).pathname);
      }
    },
    /** The signed-in user with a live ID token, or null. */
    async currentUser() {
      const user = await manager.getUser();
      if (user === null || !user.id_token || user.expired) return null;
      return user;
    },
    /** Goes to the SSO's login. The browser must be on the redirect URI's origin to finish it. */
    signIn() {
      return manager.signinRedirect();
    },
    /** Forgets the tokens here, then ends the SSO session when the SSO supports it. */
    async signOut(user) {
      await manager.removeUser();
      try {
        await manager.signoutRedirect({ id_token_hint: user.id_token });
      } catch {
        location.assign(config.pageUrl); // no end_session_endpoint: signed out here only
      }
    },
    /** Drops a token the API refused (expired or revoked at the SSO). */
    forget() {
      return manager.removeUser();
    },
  };
}
