// The token expiry control, shared by bot tokens and personal access tokens (the same choices on
// the wire: `JWTTokenExpiry`).
import { h } from './dom.js';

/** The expiry choices, as sent on the wire (`JWTTokenExpiry`), with their labels. */
export const EXPIRY_CHOICES = [
  ['OneHour', '1 hour'],
  ['1', '1 day'],
  ['7', '7 days'],
  ['30', '30 days'],
  ['60', '60 days'],
  ['90', '90 days'],
  ['Unlimited', 'Unlimited'],
];
export const DEFAULT_EXPIRY = '30';

/** The expiry `<option>`s, `selected` (default `DEFAULT_EXPIRY`) chosen. */
export function expiryOptions(selected = DEFAULT_EXPIRY) {
  return EXPIRY_CHOICES.map(([value, label]) => h('option', { value, selected: value === selected }, label));
}

/** A `<select>` of the expiry choices; `props` as for `h()` (testid, aria-label, onchange…). */
export function expirySelect(props, selected = DEFAULT_EXPIRY) {
  return h('select', props, expiryOptions(selected));
}
