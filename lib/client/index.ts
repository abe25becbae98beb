// lib/client public API: the ingestion-side client and the pipeline-service client.
export { loadWorkflowConfig, SUPPORTED_AUTH_PROVIDERS } from './workflow-config.js';
export type { WorkflowServerConfig } from './workflow-config.js';
export { looksLikeCompactJws } from './token-reference.js';
export { createIngestionClient } from './ingestion-client.js';
export type {
  IngestionClient,
  IngestionClientOptions,
  IngestionResponse,
  IngestionServerOptions,
} from './ingestion-client.js';
export {
  createPipelineServiceClient,
  PIPELINE_SERVICE_PATHS,
  PLACEHOLDER_BOT_TOKEN,
} from './pipeline-service-client.js';
export type {
  PipelineServiceClient,
  PipelineServiceClientOptions,
  PipelineServiceResponse,
} from './pipeline-service-client.js';
export { IngestionAuthError, IngestionRequestError, PipelineServiceError } from './client-errors.js';
export type { ReceivedFailure } from './client-errors.js';
export { DEFAULT_TIMEOUT_MS } from './send-json.js';
export { createDpopProof, dpopKeyFromJwk, loadOrCreateDpopKey } from './dpop-key.js';
export type { DpopKey, DpopProofRequest, DpopPublicJwk } from './dpop-key.js';
