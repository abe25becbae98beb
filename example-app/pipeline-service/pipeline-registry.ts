import { randomUUID } from 'node:crypto';
import { badRequest, notFound } from '../../lib/index.js';

/** One run of a pipeline, in the shape the reference's Airflow APIs report (`pipelineState`, …). */
export interface PipelineRun {
  runId: string;
  pipelineState: 'queued' | 'running' | 'success' | 'failed';
  /** Epoch ms. */
  startDate: number;
  /** Epoch ms, or `null` while the run is not finished. */
  endDate: number | null;
  triggeredBy: string;
}

/** A deployed pipeline: the definition the main app sent, and its runs (newest first). */
export interface DeployedPipeline {
  name: string;
  definition: Record<string, unknown>;
  deployedBy: string;
  /** Epoch ms. */
  deployedAt: number;
  runs: PipelineRun[];
}

const NAME = /^[A-Za-z0-9_.-]{1,256}$/;
/** Runs kept per pipeline: a demo, not a history. */
const MAX_RUNS = 20;

/**
 * The pipeline service's own data, in memory: what was deployed and triggered. It plays the part
 * of Airflow's DAG folder and run history; nothing here is about authentication.
 */
export function createPipelineRegistry(now: () => number = Date.now) {
  const pipelines = new Map<string, DeployedPipeline>();

  const get = (name: string): DeployedPipeline => {
    const pipeline = pipelines.get(name);
    if (pipeline === undefined) throw notFound(`No pipeline named "${name}" is deployed; deploy it first.`);
    return pipeline;
  };

  return {
    /** Creates or replaces a pipeline (re-deploying keeps its runs). */
    deploy(body: unknown, by: string): DeployedPipeline {
      const definition =
        body !== null && typeof body === 'object' && !Array.isArray(body)
          ? (body as Record<string, unknown>)
          : null;
      const name = definition?.name;
      if (definition === null || typeof name !== 'string' || !NAME.test(name)) {
        throw badRequest('A pipeline needs a "name" of letters, digits, "_", "." or "-".');
      }
      const pipeline: DeployedPipeline = {
        name,
        definition,
        deployedBy: by,
        deployedAt: now(),
        runs: pipelines.get(name)?.runs ?? [],
      };
      pipelines.set(name, pipeline);
      return pipeline;
    },
    trigger(name: string, by: string): PipelineRun {
      const pipeline = get(name);
      const run: PipelineRun = {
        runId: randomUUID(),
        pipelineState: 'queued',
        startDate: now(),
        endDate: null,
        triggeredBy: by,
      };
      pipeline.runs = [run, ...pipeline.runs].slice(0, MAX_RUNS);
      return run;
    },
    runs: (name: string): PipelineRun[] => [...get(name).runs],
  };
}

export type PipelineRegistry = ReturnType<typeof createPipelineRegistry>;
