// "My access tokens", for every signed-in person: generate a personal access token (shown once),
// list one's tokens (never the tokens themselves) and revoke them.
import { ApiError } from './api.js';
import { byTestId, confirmAction, dateCell, dateTime, formatRelative, h, setMessage, show } from './dom.js';
import { expiryOptions } from './expiry.js';
import { chosenScopes, scopeChips, scopeChoices } from './scope-choices.js';
import { createTokenPanel } from './token-panel.js';

/**
 * @param {object} deps
 * @param {ReturnType<import('./api.js').createApi>} deps.api
 * @param {string[] | undefined} deps.scopes  the person's own scopes, when the API told them
 *   (`loggedInUser().scopes`): offered as checkboxes; otherwise the server gives all of them
 * @param {(text: string) => void} deps.notify  a success message
 * @param {(error: unknown) => void} deps.fail  an error message (401s end the session)
 */
export function createTokensView({ api, scopes, notify, fail }) {
  const section = byTestId('my-tokens');
  const body = byTestId('my-tokens-body', section);
  const noTokens = byTestId('no-my-tokens', section);
  const form = byTestId('my-token-form', section);
  const formError = byTestId('my-token-error', section);
  const panel = createTokenPanel(byTestId('my-new-token-panel', section), {
    field: 'my-new-token',
    copy: 'my-copy-token',
    dismiss: 'my-dismiss-token',
    expiry: 'my-new-token-expiry',
    subject: 'my-new-token-name',
  });
  const table = byTestId('my-tokens-table', section);
  const columnLabels = Array.from(table.tHead.rows[0].cells, (th) => th.textContent.trim());

  byTestId('my-token-expiry', form).replaceChildren(...expiryOptions());
  const choices = Array.isArray(scopes)
    ? scopeChoices(scopes, { label: 'Scopes of the new token', testid: 'my-scope-choices' })
    : null;
  if (choices !== null) {
    const row = byTestId('my-token-scopes', form);
    row.replaceChildren(h('span', { class: 'scopes-label' }, 'Scopes'), choices);
    show(row);
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    generate().catch(fail);
  });

  async function refresh() {
    const tokens = await api.listPersonalTokens();
    body.replaceChildren(...tokens.map(tokenRow));
    show(noTokens, tokens.length === 0);
    show(table, tokens.length > 0); // no bare header row above the empty message
    show(section);
  }

  function tokenRow(token) {
    const row = h(
      'tr',
      { testid: 'my-token-row', dataset: { tokenId: token.id, tokenName: token.tokenName } },
      h('td', { class: 'token-name', testid: 'my-token-row-name' }, token.tokenName),
      h(
        'td',
        { class: 'token', testid: 'my-token-last4' },
        h('code', { class: 'last4', title: 'Last 4 characters of the token' }, `…${token.last4}`),
      ),
      h('td', { class: 'scopes', testid: 'my-token-scopes-cell' }, scopeChips(token.scopes ?? [])),
      dateCell('my-token-issued', token.issuedAt, dateTime(token.issuedAt)),
      dateCell('my-token-expires', token.JWTTokenExpiresAt, expiresText(token)),
      dateCell('my-token-last-used', token.lastUsedAt, formatRelative(token.lastUsedAt, 'Never')),
      h(
        'td',
        { class: 'row-actions' },
        h(
          'div',
          { class: 'row-actions-groups' },
          h(
            'button',
            {
              type: 'button',
              class: 'button subtle small',
              testid: 'my-revoke-token',
              'aria-label': `Revoke ${token.tokenName}`,
              onclick: () => revoke(token).catch(fail),
            },
            'Revoke',
          ),
        ),
      ),
    );
    // Stacked on a narrow screen: each cell shows its column's name itself (CSS `attr(data-label)`).
    for (const [i, cell] of Array.from(row.cells).entries()) cell.dataset.label = columnLabels[i] ?? '';
    return row;
  }

  async function generate() {
    const name = form.elements.namedItem('tokenName').value.trim();
    const expiry = form.elements.namedItem('expiry').value;
    setMessage(formError, '');
    let minted;
    try {
      minted = await api.generatePersonalToken(name, expiry, chosenScopes(choices));
    } catch (error) {
      // 400 (a bad name or scope) and 409 (too many live tokens) belong next to the form.
      if (error instanceof ApiError && (error.status === 400 || error.status === 409)) {
        setMessage(formError, error.message);
        return;
      }
      throw error;
    }
    panel.show(minted, minted.id, minted.tokenName);
    byTestId('my-token-name', form).value = '';
    notify(`Access token ${minted.tokenName} generated.`);
    await refresh();
  }

  async function revoke(token) {
    const confirmed = await confirmAction({
      title: `Revoke the token ${token.tokenName}?`,
      message: `The token (…${token.last4}) stops working immediately, everywhere it is used.`,
      confirmLabel: 'Revoke token',
    });
    if (!confirmed) return;
    await api.revokePersonalToken(token.id);
    if (panel.shows(token.id)) panel.hide();
    notify(`Access token ${token.tokenName} revoked.`);
    await refresh();
  }

  return { refresh };
}

function expiresText(token) {
  const expiresAt = token.JWTTokenExpiresAt;
  if (expiresAt === null || expiresAt === undefined) return 'Never';
  const when = dateTime(expiresAt);
  return token.expired || expiresAt <= Date.now() ? ['Expired ', when] : when;
}
