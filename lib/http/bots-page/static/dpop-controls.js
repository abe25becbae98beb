// A bot row's DPoP controls (RFC 9449): the client key a new token is bound to (its RFC 7638
// thumbprint, sent as `dpopJkt`), the "Require DPoP" switch, and the badges that show both.
import { h } from './dom.js';

/**
 * The "Bind to a client key (DPoP)" disclosure of a bot's row: a field for the key's thumbprint,
 * required when the bot requires DPoP. `state` (`{value, open}`) keeps what was typed and whether
 * it is open across the table's redraws.
 */
export function dpopBinding(bot, state) {
  const required = bot.requireDpop === true;
  const input = h('input', {
    type: 'text',
    class: 'dpop-jkt',
    testid: 'dpop-jkt',
    value: state.value || undefined,
    required,
    spellcheck: 'false',
    autocomplete: 'off',
    placeholder: 'Key thumbprint (43 characters)',
    'aria-label': `DPoP key thumbprint for ${bot.name}${required ? ' (required)' : ''}`,
    oninput: (event) => {
      state.value = event.target.value;
    },
  });
  const details = h(
    'details',
    {
      class: 'dpop-bind',
      testid: 'dpop-bind',
      open: required || state.open || state.value !== '',
      ontoggle: (event) => {
        state.open = event.target.open;
      },
    },
    h(
      'summary',
      {},
      'Bind to a client key (DPoP)',
      required
        ? h('span', { class: 'required', testid: 'dpop-required-note' }, ' — required for this bot')
        : null,
    ),
    input,
    h(
      'p',
      { class: 'hint' },
      'On the client: ',
      h('code', {}, `npx jwt-gate bots token ${bot.name} --dpop-key <key file>`),
      " binds a token to that key (e.g. the ingestion client's key file) and prints its thumbprint.",
    ),
  );
  return {
    element: details,
    /** The thumbprint typed, trimmed; `''` for none. */
    thumbprint: () => input.value.trim(),
    focus() {
      details.open = true;
      input.focus();
    },
  };
}

/** The "Require DPoP" checkbox of a bot's row; `onchange(checkbox)` decides what a change does. */
export function requireDpopToggle(bot, onchange) {
  return h(
    'label',
    {
      class: 'require-dpop',
      title: 'Only tokens bound to a client key (DPoP) can be generated for this bot',
    },
    h('input', {
      type: 'checkbox',
      testid: 'require-dpop',
      checked: bot.requireDpop === true,
      onchange: (event) => onchange(event.target),
    }),
    'Require DPoP',
  );
}

/** "DPoP required" beside a bot's name, or `null`. */
export function requiresDpopBadge(bot) {
  if (bot.requireDpop !== true) return null;
  return h(
    'span',
    { class: 'badge dpop', testid: 'bot-requires-dpop', title: 'Its tokens must be bound to a client key' },
    'DPoP required',
  );
}

/** "DPoP" beside a token bound to a client key (the thumbprint as its tooltip), or `null`. */
export function boundTokenBadge(token) {
  if (token === null || typeof token.dpopJkt !== 'string') return null;
  return h(
    'span',
    { class: 'badge dpop', testid: 'token-dpop', title: `Bound to the client key ${token.dpopJkt} (DPoP)` },
    'DPoP',
  );
}
