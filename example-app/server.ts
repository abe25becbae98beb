/**
 * `npm start`: the example API on :8585 with its embedded defaults — generated dev keys, the
 * SQLite store, the development SSO on :9090. Every setting comes from the YAML named by
 * JWT_GATE_CONFIG (default example-app/conf/jwt-gate.yaml) and its environment variables.
 */
import { startExample } from './start.js';

const running = await startExample().catch((err: unknown) => {
  console.error(`jwt-gate example: cannot start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

const { url, config, ssoIssuer } = running;
console.log(`
jwt-gate example API listening on ${url}
  JWKS              ${url}/api/v1/config/jwks
  Settings → Bots   ${url}/settings/bots${ssoIssuer ? `   (dev SSO ${ssoIssuer}: admin/admin, alice/alice — DEVELOPMENT ONLY)` : ''}
  Logged-in user    ${url}/api/v1/users/loggedInUser   (Authorization: Bearer <token>)
  Health            ${url}/api/v1/system/health
  Store             ${config.database.url}
  Ingestion         npm run ingest   (example-app/ingestion/workflow.yaml; save ingestion-bot's token in example-app/ingestion/ingestion-bot.token)
  Pipeline service  npx tsx example-app/pipeline-service/main.ts   (trusts ${url}/api/v1/config/jwks)
`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void running.close().then(() => process.exit(0));
  });
}
