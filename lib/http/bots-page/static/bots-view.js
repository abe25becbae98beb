// The admin view: the bots table with its per-bot actions, the one-time token panel and the
// "Create bot" form.
import { ApiError } from './api.js';
import { byTestId, confirmAction, dateCell, dateTime, formatRelative, h, setMessage, show } from './dom.js';
import { boundTokenBadge, dpopBinding, requireDpopToggle, requiresDpopBadge } from './dpop-controls.js';
import { DEFAULT_EXPIRY, expirySelect } from './expiry.js';
import { chosenScopes, scopeChips, scopeChoices } from './scope-choices.js';
import { createTokenPanel } from './token-panel.js';

/**
 * @param {object} deps
 * @param {ReturnType<import('./api.js').createApi>} deps.api
 * @param {(text: string) => void} deps.notify  a success message
 * @param {(error: unknown) => void} deps.fail  an error message (401s end the session)
 */
export function createBotsView({ api, notify, fail }) {
  const body = byTestId('bots-body');
  const noBots = byTestId('no-bots');
  const panel = createTokenPanel(byTestId('new-token-panel'), {
    field: 'new-token',
    copy: 'copy-token',
    dismiss: 'dismiss-token',
    expiry: 'new-token-expiry',
    subject: 'new-token-bot',
  });
  const form = byTestId('create-bot-form');
  const createError = byTestId('create-error');
  const columnLabels = Array.from(byTestId('bots-table').tHead.rows[0].cells, (th) => th.textContent.trim());
  /** The expiry picked in each bot's row: `refresh()` redraws the rows, the choice must survive it. */
  const chosenExpiry = new Map();
  /** The scopes left unticked in each bot's row (all of its allowed scopes are ticked at first). */
  const uncheckedScopes = new Map();
  /** Each bot's "Bind to a client key (DPoP)" field: what was typed, and whether it is open. */
  const dpopState = new Map();

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    createBot().catch(fail);
  });

  async function refresh() {
    const bots = await api.listBots();
    body.replaceChildren(...bots.map(botRow));
    show(noBots, bots.length === 0);
  }

  function botRow(bot) {
    const token = bot.token ?? null;
    const expiry = expirySelect(
      {
        testid: 'expiry-select',
        'aria-label': `Token expiry for ${bot.name}`,
        onchange: (event) => chosenExpiry.set(bot.name, event.target.value),
      },
      chosenExpiry.get(bot.name) ?? DEFAULT_EXPIRY,
    );
    const run = (action) => () => action().catch(fail);
    if (!uncheckedScopes.has(bot.name)) uncheckedScopes.set(bot.name, new Set());
    // A multi-select of the bot's allowed scopes: the new token carries the ticked ones.
    const choices = scopeChoices(bot.allowedScopes ?? [], {
      label: `Scopes of the new token for ${bot.name}`,
      unchecked: uncheckedScopes.get(bot.name),
    });
    if (!dpopState.has(bot.name)) dpopState.set(bot.name, { value: '', open: false });
    const binding = dpopBinding(bot, dpopState.get(bot.name));

    const row = h(
      'tr',
      { testid: 'bot-row', dataset: { botName: bot.name } },
      h(
        'td',
        { class: 'bot' },
        h('span', { class: 'display-name', testid: 'bot-display-name' }, bot.displayName || bot.name),
        h('code', { class: 'name', testid: 'bot-name' }, bot.name),
        requiresDpopBadge(bot),
      ),
      h(
        'td',
        { class: 'description', testid: 'bot-description' },
        bot.description || h('span', { class: 'muted' }, '—'),
      ),
      h(
        'td',
        { class: 'token', testid: 'bot-token' },
        token === null
          ? h('span', { class: 'muted' }, 'No token')
          : h(
              'span',
              {},
              h('code', { class: 'last4', title: 'Last 4 characters of the token' }, `…${token.last4}`),
              boundTokenBadge(token),
            ),
      ),
      h(
        'td',
        { class: 'scopes', testid: 'bot-scopes' },
        token === null ? h('span', { class: 'muted' }, '—') : scopeChips(token.scopes),
      ),
      dateCell('token-issued', token?.issuedAt, token ? dateTime(token.issuedAt) : '—'),
      dateCell('token-expires', token?.expiresAt, expiresText(token)),
      dateCell('token-last-used', token?.lastUsedAt, token ? formatRelative(token.lastUsedAt, 'Never') : '—'),
      h(
        'td',
        { class: 'row-actions' },
        // Two groups that wrap as wholes: the table fits its card, and a narrow screen stacks them.
        h(
          'div',
          { class: 'row-actions-groups' },
          choices === null ? null : h('span', { class: 'action-group' }, choices),
          h(
            'span',
            { class: 'action-group' },
            expiry,
            h(
              'button',
              {
                type: 'button',
                class: 'button primary small',
                testid: 'generate-token',
                onclick: run(() => generateToken(bot, expiry.value, chosenScopes(choices), binding)),
              },
              token ? 'Regenerate' : 'Generate token',
            ),
          ),
          h(
            'span',
            { class: 'action-group' },
            h(
              'button',
              {
                type: 'button',
                class: 'button subtle small',
                testid: 'revoke-token',
                disabled: token === null,
                onclick: run(() => revokeToken(bot)),
              },
              'Revoke',
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'button danger-outline small',
                testid: 'delete-bot',
                onclick: run(() => deleteBot(bot)),
              },
              'Delete',
            ),
          ),
          h(
            'span',
            { class: 'action-group dpop-group' },
            requireDpopToggle(bot, (checkbox) => run(() => setRequireDpop(bot, checkbox))()),
            binding.element,
          ),
        ),
      ),
    );
    // On a narrow screen the rows are stacked cards and the header is hidden: each cell shows its
    // column's name itself (CSS `attr(data-label)`).
    for (const [i, cell] of Array.from(row.cells).entries()) cell.dataset.label = columnLabels[i] ?? '';
    return row;
  }

  async function generateToken(bot, expiry, scopes, binding) {
    const dpopJkt = binding.thumbprint() || undefined;
    if (bot.requireDpop && dpopJkt === undefined) {
      binding.focus();
      fail(
        `${bot.name} requires DPoP: enter the thumbprint of the client's key under "Bind to a client key (DPoP)", ` +
          'or turn "Require DPoP" off.',
      );
      return;
    }
    if (bot.token) {
      const replace = await confirmAction({
        title: `Replace the token of ${bot.name}?`,
        message: `The current token (…${bot.token.last4}) stops working immediately, everywhere it is used.`,
        confirmLabel: 'Replace token',
      });
      if (!replace) return;
    }
    const minted = await api.generateToken(bot.name, expiry, scopes, dpopJkt);
    panel.show(minted, bot.name);
    notify(
      `New token generated for ${bot.name}${dpopJkt === undefined ? '' : ', bound to its client key (DPoP)'}.`,
    );
    await refresh();
  }

  async function revokeToken(bot) {
    const revoke = await confirmAction({
      title: `Revoke the token of ${bot.name}?`,
      message: 'It stops working immediately. The bot cannot call the API until a new token is generated.',
      confirmLabel: 'Revoke token',
    });
    if (!revoke) return;
    await api.revokeToken(bot.name);
    if (panel.shows(bot.name)) panel.hide();
    notify(`Token of ${bot.name} revoked.`);
    await refresh();
  }

  /** Turning it on asks first: an unbound current token is revoked at once. */
  async function setRequireDpop(bot, checkbox) {
    const requireDpop = checkbox.checked;
    if (requireDpop) {
      const unbound = bot.token !== null && typeof bot.token.dpopJkt !== 'string';
      const confirmed = await confirmAction({
        title: `Require DPoP for ${bot.name}?`,
        message:
          (unbound
            ? `Its current token (…${bot.token.last4}) is not bound to a client key: it is revoked now and stops working everywhere. `
            : '') + 'From now on, only tokens bound to a client key (DPoP) can be generated for this bot.',
        confirmLabel: unbound ? 'Require DPoP and revoke' : 'Require DPoP',
      });
      if (!confirmed) {
        checkbox.checked = false;
        return;
      }
    }
    try {
      await api.setRequireDpop(bot.name, requireDpop);
    } catch (error) {
      checkbox.checked = !requireDpop;
      throw error;
    }
    if (requireDpop && panel.shows(bot.name)) panel.hide(); // an unbound token was just revoked
    notify(`${bot.name} ${requireDpop ? 'now requires' : 'no longer requires'} DPoP-bound tokens.`);
    await refresh();
  }

  async function deleteBot(bot) {
    const remove = await confirmAction({
      title: `Delete ${bot.name}?`,
      message: 'The bot and its token are removed; anything still using the token is refused from now on.',
      confirmLabel: 'Delete bot',
    });
    if (!remove) return;
    await api.deleteBot(bot.name);
    chosenExpiry.delete(bot.name);
    uncheckedScopes.delete(bot.name);
    dpopState.delete(bot.name);
    if (panel.shows(bot.name)) panel.hide();
    notify(`Bot ${bot.name} deleted.`);
    await refresh();
  }

  async function createBot() {
    const fields = Object.fromEntries(
      ['name', 'displayName', 'description'].map((key) => [key, form.elements.namedItem(key).value.trim()]),
    );
    fields.requireDpop = form.elements.namedItem('requireDpop').checked;
    setMessage(createError, '');
    try {
      await api.createBot(fields);
    } catch (error) {
      // 400 (invalid name) and 409 (name taken) belong next to the form; the rest is page-level.
      if (error instanceof ApiError && (error.status === 400 || error.status === 409)) {
        setMessage(createError, error.message);
        return;
      }
      throw error;
    }
    form.reset();
    notify(`Bot ${fields.name} created.`);
    await refresh();
  }

  return { refresh };
}

function expiresText(token) {
  if (!token) return '—';
  if (token.expiresAt === null || token.expiresAt === undefined) return 'Never';
  const when = dateTime(token.expiresAt);
  return token.expiresAt <= Date.now() ? ['Expired ', when] : when;
}
