/**
 * Prints an ID token of a demo user of the running development SSO, for trying the API with curl:
 *
 *   ADMIN_TOKEN=$(npx tsx example-app/dev-token.ts admin admin)
 *
 * It runs the real authorization-code + PKCE login the Bots page runs, without a browser.
 * Development only, like the dev SSO itself.
 */
import { DEV_SSO_CLIENT_ID, loginWithAuthorizationCode } from './dev-sso/index.js';

const [username = 'admin', password = username] = process.argv.slice(2);
const issuer = process.env.AUTHENTICATION_AUTHORITY ?? 'http://localhost:9090';
const app = process.env.JWT_GATE_URL ?? 'http://localhost:8585';

try {
  const { idToken } = await loginWithAuthorizationCode({
    baseUrl: issuer,
    issuer,
    clientId: process.env.AUTHENTICATION_CLIENT_ID ?? DEV_SSO_CLIENT_ID,
    redirectUri: `${app}/settings/bots/callback`,
    username,
    password,
  });
  process.stdout.write(`${idToken}\n`);
} catch (err) {
  console.error(
    `dev-token: ${err instanceof Error ? err.message : String(err)} (is \`npm start\` running? it starts the dev SSO at ${issuer})`,
  );
  process.exit(1);
}
