// DOM helpers. Data from the server only ever becomes text (textContent, attribute values),
// never HTML: nothing here uses innerHTML.

/** The element with `data-testid="<id>"`. */
export function byTestId(id, root = document) {
  const element = root.querySelector(`[data-testid="${id}"]`);
  if (element === null) throw new Error(`bots page: missing element ${id}`);
  return element;
}

/**
 * Builds an element. `props`: `class`, `testid`, `on<event>` handlers, `dataset`, other
 * attributes (`true` = present). Children: elements or strings (added as text).
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') element.className = value;
    else if (key === 'testid') element.dataset.testid = value;
    else if (key === 'dataset') Object.assign(element.dataset, value);
    else if (key.startsWith('on')) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) element.append(child);
  }
  return element;
}

/** Shows or hides an element. */
export function show(element, visible = true) {
  element.hidden = !visible;
}

/** Sets an element's text and shows it, or hides it for an empty text. */
export function setMessage(element, text) {
  element.textContent = text ?? '';
  element.hidden = !text;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** `8 Nov 2026, 14:03` for epoch ms; `fallback` for null. */
export function formatDate(ms, fallback = '—') {
  return typeof ms === 'number' ? dateFormat.format(new Date(ms)) : fallback;
}

/**
 * `formatDate(ms)` as a `<span>` that may wrap between the date and the time, never inside either
 * (`8 Nov 2026,` / `14:03`), so a date column can be narrow without breaking a date apart.
 */
export function dateTime(ms) {
  const parts = dateFormat.formatToParts(new Date(ms));
  const time = parts.findIndex((part) => part.type === 'hour');
  const text = (from, to) =>
    parts
      .slice(from, to)
      .map((part) => part.value)
      .join('');
  if (time < 1) return h('span', { class: 'nowrap' }, text(0)); // a locale with the time first
  return h(
    'span',
    {},
    h('span', { class: 'nowrap' }, text(0, time).trimEnd()),
    ' ',
    h('span', { class: 'nowrap' }, text(time)),
  );
}

/** `3 minutes ago`, `in 7 days`; `fallback` for null. */
export function formatRelative(ms, fallback = '—', now = Date.now()) {
  if (typeof ms !== 'number') return fallback;
  const seconds = Math.round((ms - now) / 1000);
  const units = [
    ['day', 86400],
    ['hour', 3600],
    ['minute', 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return relativeFormat.format(Math.round(seconds / size), unit);
  }
  return relativeFormat.format(0, 'second');
}

/**
 * A date cell: `content` (text or nodes) in one `<span>` (the stacked layout on narrow screens
 * places it as a single item beside its label), the exact ISO time as a tooltip.
 */
export function dateCell(testid, ms, content) {
  const title = typeof ms === 'number' ? new Date(ms).toISOString() : undefined;
  return h('td', { class: 'date', testid, title }, h('span', {}, content));
}

/**
 * An in-page confirmation (the page's `<dialog>`): resolves `true` when the user confirms,
 * `false` on Cancel or Escape.
 */
export function confirmAction({ title, message, confirmLabel }) {
  const dialog = byTestId('confirm-dialog');
  byTestId('confirm-title', dialog).textContent = title;
  byTestId('confirm-message', dialog).textContent = message;
  const ok = byTestId('confirm-ok', dialog);
  const cancel = byTestId('confirm-cancel', dialog);
  ok.textContent = confirmLabel;
  return new Promise((resolve) => {
    const finish = (answer) => {
      ok.removeEventListener('click', onOk);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('close', onClose);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onOk = () => finish(true);
    const onCancel = () => finish(false);
    const onClose = () => finish(false); // Escape
    ok.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    cancel.focus();
  });
}
