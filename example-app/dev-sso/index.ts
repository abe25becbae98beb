/** The development SSO (DEVELOPMENT ONLY): a real OpenID provider for the example app and tests. */
export { startDevSso } from './dev-sso.js';
export type { DevSso } from './dev-sso.js';
export { DEFAULT_DEV_CLIENT, DEFAULT_DEV_USERS, DEV_SSO_CLIENT_ID } from './dev-sso-options.js';
export type { DevSsoClient, DevSsoOptions, DevUser } from './dev-sso-options.js';
export { loginWithAuthorizationCode } from './headless-login.js';
export type { HeadlessLoginOptions, HeadlessLoginResult } from './headless-login.js';
