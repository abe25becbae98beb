// The optional Settings → Bots page.
export { createBotsPageRouter } from './bots-page-router.js';
export type { BotsPageOptions } from './bots-page-options.js';
