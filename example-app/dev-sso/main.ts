/**
 * Runs the development SSO on its own (DEVELOPMENT ONLY):
 *   npx tsx example-app/dev-sso/main.ts
 * Environment: DEV_SSO_PORT (default 9090), DEV_SSO_HOST (default 127.0.0.1), DEV_SSO_ISSUER
 * (default http://localhost:<port>).
 */
import { startDevSso } from './dev-sso.js';

const sso = await startDevSso({
  port: Number(process.env.DEV_SSO_PORT ?? 9090),
  ...(process.env.DEV_SSO_HOST === undefined ? {} : { host: process.env.DEV_SSO_HOST }),
  ...(process.env.DEV_SSO_ISSUER === undefined ? {} : { issuer: process.env.DEV_SSO_ISSUER }),
});
console.log(`discovery: ${sso.issuer}/.well-known/openid-configuration`);
console.log(
  `jwt-gate settings: authority=${sso.issuer} publicKeyUrls=[${sso.jwksUri}] clientId=jwt-gate-bots-page`,
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void sso.close().then(() => process.exit(0));
  });
}
