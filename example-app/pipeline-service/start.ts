/**
 * Starts the example pipeline service: its own jwt-gate (YAML example-app/conf/pipeline-service.yaml),
 * trusting the main app's JWKS over HTTP and sharing its bot store, in front of the reference's
 * Airflow API routes. `main.ts` runs it as a separate process; tests call it with port 0.
 */
import path from 'node:path';
import { createJwtGate, type JwtGate } from '../../lib/index.js';
import { loadConfig } from '../../lib/config/index.js';
import { createPipelineServiceApp } from './app.js';
import { type Listening, listen } from '../listen.js';

export const PIPELINE_SERVICE_CONFIG_PATH = path.join(
  import.meta.dirname,
  '..',
  'conf',
  'pipeline-service.yaml',
);

export interface PipelineServiceOptions {
  /** YAML file. Default env `PIPELINE_SERVICE_CONFIG`, else example-app/conf/pipeline-service.yaml. */
  configPath?: string;
  /** Environment for `${VAR}` in the YAML. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Overrides `server.port` (0 = any free port). */
  port?: number;
  /** Overrides `database.url`: the main app's bot store. */
  databaseUrl?: string;
}

export interface RunningPipelineService {
  /** `http://localhost:<port>`: the main app's `airflowConfiguration.apiEndpoint`. */
  url: string;
  port: number;
  gate: JwtGate;
  close(): Promise<void>;
}

/**
 * Loads the configuration, builds the gate (which fetches the main app's JWKS once, now) and
 * listens. Rejects with `ConfigError` naming the field on a bad configuration.
 */
export async function startPipelineService(
  options: PipelineServiceOptions = {},
): Promise<RunningPipelineService> {
  const env = options.env ?? process.env;
  let config = loadConfig({
    path: options.configPath ?? env.PIPELINE_SERVICE_CONFIG ?? PIPELINE_SERVICE_CONFIG_PATH,
    env,
  });
  if (options.databaseUrl !== undefined) config = { ...config, database: { url: options.databaseUrl } };

  const gate = await createJwtGate(config);
  let server: Listening;
  try {
    server = await listen(
      createPipelineServiceApp(gate),
      options.port ?? config.server.port,
      config.server.host,
    );
  } catch (err) {
    await gate.close();
    throw err;
  }
  return {
    url: server.url,
    port: server.port,
    gate,
    async close() {
      await server.close();
      await gate.close();
    },
  };
}
