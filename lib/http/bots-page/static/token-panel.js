// The one-time token panel: a freshly generated token, shown once, with a Copy button. The bots
// view and "My access tokens" each have one (same markup, their own data-testids).
import { byTestId, formatDate, show } from './dom.js';

/**
 * @param {HTMLElement} panel
 * @param {object} ids  data-testids inside the panel: `field` (the textarea), `copy`, `dismiss`,
 *   `expiry` (the "Expires …" text) and, optionally, `subject` (whose token it is)
 */
export function createTokenPanel(panel, ids) {
  const field = byTestId(ids.field, panel);
  const copyButton = byTestId(ids.copy, panel);
  const expiryText = byTestId(ids.expiry, panel);
  const subject = ids.subject === undefined ? null : byTestId(ids.subject, panel);

  copyButton.addEventListener('click', () => {
    copy().catch(() => {});
  });
  byTestId(ids.dismiss, panel).addEventListener('click', hide);

  /** Shows `minted.JWTToken`; `key` names what it belongs to (a bot, a token id), for `shows()`. */
  function showToken(minted, key, subjectText = key) {
    panel.dataset.key = key;
    if (subject !== null) subject.textContent = subjectText;
    field.value = minted.JWTToken;
    const expiresAt = minted.JWTTokenExpiresAt;
    expiryText.textContent =
      typeof expiresAt === 'number' ? `Expires ${formatDate(expiresAt)}` : 'Never expires';
    copyButton.textContent = 'Copy';
    show(panel);
    // Tall enough for the whole token (its length depends on the claims). CSSOM, allowed by the CSP.
    field.style.height = 'auto';
    field.style.height = `${field.scrollHeight + 2}px`;
    panel.scrollIntoView({ block: 'nearest' });
  }

  function hide() {
    field.value = ''; // do not keep the secret in the page longer than needed
    delete panel.dataset.key;
    show(panel, false);
  }

  /** True while the panel shows the token of `key`. */
  function shows(key) {
    return panel.dataset.key === key;
  }

  async function copy() {
    try {
      await navigator.clipboard.writeText(field.value);
      copyButton.textContent = 'Copied';
    } catch {
      field.select(); // clipboard refused (e.g. not a secure context)
      copyButton.textContent = 'Press Ctrl+C to copy';
    }
  }

  return { show: showToken, hide, shows };
}
