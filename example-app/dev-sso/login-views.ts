/**
 * The HTML pages of the development SSO: the login form, the logout confirmation and the error
 * page. Plain template strings, every interpolated value escaped; no scripts, no external assets.
 */

/** Shown on every page so nobody mistakes this for a real identity provider. */
export const DEV_ONLY_BANNER = 'Development SSO — not for production';

/**
 * Sent with every page: nothing may load from elsewhere and no other site may frame the form.
 * No `form-action`: browsers apply it to the redirects after the POST, which end at the client.
 */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

const STYLE = `body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;padding:40px 16px;color:#1d2129}
.card{max-width:340px;margin:0 auto;background:#fff;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.2);padding:24px}
.banner{background:#fff3cd;border:1px solid #e0b400;color:#6b4e00;padding:8px 10px;border-radius:4px;font-weight:600;font-size:14px}
h1{font-size:20px;margin:16px 0}label{display:block;margin:12px 0 4px;font-size:14px}
input{width:100%;box-sizing:border-box;padding:8px;font-size:15px}
button{margin-top:18px;width:100%;padding:10px;font-size:15px;background:#3b6fd8;color:#fff;border:0;border-radius:4px;cursor:pointer}
button.secondary{background:#8a8f98}.error{color:#b00020;margin:12px 0 0}.hint{color:#5f6670;font-size:13px}`;

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · ${escapeHtml(DEV_ONLY_BANNER)}</title>
<style>${STYLE}</style>
</head>
<body>
<main class="card">
<p class="banner" role="note">${escapeHtml(DEV_ONLY_BANNER)}</p>
${body}
</main>
</body>
</html>`;
}

export interface LoginPageOptions {
  /** Where the form posts, e.g. `/interaction/<uid>/login`. */
  action: string;
  /** The client asking for the login, shown to the user. */
  clientId: string;
  /** Pre-filled user name (after a failed attempt). */
  username?: string;
  /** Shown above the form, e.g. "Invalid username or password." */
  error?: string;
}

/** The username/password form of a login interaction. */
export function renderLoginPage(opts: LoginPageOptions): string {
  const error = opts.error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(opts.error)}</p>`;
  return page(
    'Sign in',
    `<h1>Sign in</h1>
<p class="hint">to <strong>${escapeHtml(opts.clientId)}</strong></p>
${error}
<form method="post" action="${escapeHtml(opts.action)}" autocomplete="off">
<label for="username">Username</label>
<input id="username" name="username" value="${escapeHtml(opts.username ?? '')}" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" required>
<button type="submit">Sign in</button>
</form>`,
  );
}

/**
 * The RP-initiated logout confirmation. `form` is oidc-provider's own hidden form (it carries the
 * anti-CSRF value), so it is inserted as is; the buttons submit it.
 */
export function renderLogoutPage(form: string): string {
  return page(
    'Sign out',
    `<h1>Sign out of the development SSO?</h1>
${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button>
<button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button>`,
  );
}

/** Shown after a logout that had no `post_logout_redirect_uri` to go back to. */
export function renderLoggedOutPage(): string {
  return page('Signed out', '<h1>You are signed out.</h1>');
}

/** An OAuth error the provider cannot send back to the client (e.g. an unknown redirect URI). */
export function renderErrorPage(error: string, description: string | undefined): string {
  const detail = description === undefined ? '' : `<p>${escapeHtml(description)}</p>`;
  return page(
    'Error',
    `<h1>Sign-in failed</h1>\n<p class="error"><code>${escapeHtml(error)}</code></p>\n${detail}`,
  );
}
