// The bot and personal-token API, called with the signed-in user's SSO ID token as the bearer (as OpenMetadata's UI
// does; jwt-gate checks that its audience is this page's client id).

/** An API answer that was not 2xx: `status` and the server's `{message}`. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** The bot API at `apiBase` (`''` = this origin). `getIdToken()` supplies the bearer. */
export function createApi(apiBase, getIdToken) {
  async function request(method, path, body) {
    const headers = { Accept: 'application/json', Authorization: `Bearer ${getIdToken()}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(`${apiBase}/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
    const text = await response.text();
    const data = parseJson(text);
    if (!response.ok) {
      const message =
        typeof data?.message === 'string' ? data.message : `${response.status} ${response.statusText}`;
      throw new ApiError(response.status, message);
    }
    return data;
  }
  const bot = (name) => `/bots/${encodeURIComponent(name)}`;

  return {
    loggedInUser: () => request('GET', '/users/loggedInUser'),
    listBots: async () => (await request('GET', '/bots')).data ?? [],
    createBot: (fields) => request('POST', '/bots', fields),
    deleteBot: (name) => request('DELETE', bot(name)),
    /** Answers the bot; turning it on revokes the bot's current token if that one is unbound. */
    setRequireDpop: (name, requireDpop) => request('PATCH', bot(name), { requireDpop }),
    /**
     * Answers `{JWTToken, JWTTokenExpiry, JWTTokenExpiresAt}`; replaces the bot's token. `scopes`:
     * among the bot's allowed scopes; `undefined` lets the server give all of them. `dpopJkt`: the
     * RFC 7638 thumbprint of the client key to bind the token to (`cnf.jkt`); `undefined` = unbound.
     */
    generateToken: (name, expiry, scopes, dpopJkt) =>
      request('PUT', `${bot(name)}/token`, { JWTTokenExpiry: expiry, scopes, dpopJkt }),
    revokeToken: (name) => request('DELETE', `${bot(name)}/token`),

    // The signed-in person's own personal access tokens.
    listPersonalTokens: async () => (await request('GET', '/users/security/token')).data ?? [],
    /**
     * Answers the token's view plus `JWTToken` (shown this once). `scopes`: among the person's own;
     * `undefined` lets the server give all of them.
     */
    generatePersonalToken: (tokenName, expiry, scopes) =>
      request('PUT', '/users/security/token', { tokenName, JWTTokenExpiry: expiry, scopes }),
    revokePersonalToken: (id) => request('PUT', '/users/security/token/revoke', { tokenIds: [id] }),
  };
}

function parseJson(text) {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
