// A row of checkboxes, one per scope a new token may carry (all ticked at first).
import { h } from './dom.js';

/**
 * A `<fieldset>` of `scopes` as checkboxes (`data-testid="scope-choice"`), or `null` when there
 * are none to choose from. `unchecked`: the scopes to leave unticked; kept up to date as the user
 * ticks, so a redraw keeps the choice.
 */
export function scopeChoices(scopes, { label, unchecked = new Set(), testid = 'scope-choices' }) {
  if (scopes.length === 0) return null;
  return h(
    'fieldset',
    { class: 'scope-choices', testid, 'aria-label': label },
    scopes.map((scope) =>
      h(
        'label',
        {},
        h('input', {
          type: 'checkbox',
          value: scope,
          testid: 'scope-choice',
          checked: !unchecked.has(scope),
          onchange: (event) => {
            if (event.target.checked) unchecked.delete(scope);
            else unchecked.add(scope);
          },
        }),
        scope,
      ),
    ),
  );
}

/** The ticked scopes of a `scopeChoices()` fieldset; `undefined` for none offered (the server's default). */
export function chosenScopes(fieldset) {
  if (fieldset === null) return undefined;
  return Array.from(fieldset.querySelectorAll('input:checked'), (input) => input.value);
}

/** A token's scopes as one element of chips (a narrow screen keeps them beside the column's label). */
export function scopeChips(scopes) {
  if (scopes.length === 0) return h('span', { class: 'muted' }, 'None');
  return h(
    'span',
    {},
    scopes.map((scope) => h('code', { class: 'scope' }, scope)),
  );
}
