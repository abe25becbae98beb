/**
 * `npx tsx example-app/pipeline-service/main.ts`: the example pipeline service as its own process
 * (port PIPELINE_SERVICE_PORT, default 8080), trusting the main app's JWKS at OM_JWKS_URL and
 * sharing its bot store (DATABASE_URL). Start the main app (`npm start`) first.
 */
import { startPipelineService } from './start.js';

const running = await startPipelineService().catch((err: unknown) => {
  console.error(
    `jwt-gate pipeline service: cannot start: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exit(1);
});

const { url, gate } = running;
const trusted = gate.config.authenticationConfiguration.publicKeyUrls.map((u) =>
  typeof u === 'string' ? u : u.url,
);
// The first line is read by tests and scripts: keep its shape.
console.log(`jwt-gate pipeline service listening on ${url}`);
console.log(`  Trusts bot tokens from  ${trusted.join(', ')}`);
console.log(`  Bot store               ${gate.config.database.url}`);
console.log(`  Health                  ${url}/api/v1/system/health`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void running.close().then(() => process.exit(0));
  });
}
