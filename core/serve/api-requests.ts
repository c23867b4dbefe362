/**
 * Argument schemas for every `Api` call and the one dispatcher that both
 * transports (Electron IPC handlers and the HTTP server) run requests through.
 * Sweep specs are passed on as `unknown`, because the Service validates them
 * with the sweep-spec schema of core/spec.ts and reports the issues.
 */
import { z } from 'zod';
import { ApiError, type Api } from '../api';
import { experimentPatchSchema } from '../api-schemas';
import { API_METHODS, type ApiMethod, type ApiReply, type WireError } from './api-methods';

const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const step = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const metricName = z.string().min(1).max(200);


/** Positional arguments of each method, as a tuple schema. */
export const apiArgumentSchemas = {
  listExperiments: z.tuple([]),
  getExperiment: z.tuple([id]),
  validateSpec: z.tuple([z.unknown()]),
  createExperiment: z.tuple([z.unknown()]),
  updateExperiment: z.tuple([id, experimentPatchSchema]),
  deleteExperiment: z.tuple([id]),
  cancelExperiment: z.tuple([id]),
  cancelRun: z.tuple([id]),
  retryRun: z.tuple([id]),
  getRunMetrics: z.tuple([id, z.array(metricName).max(1000).optional()]),
  listPairMetrics: z.tuple([id]),
  getPairMetrics: z.tuple([id, step, z.array(metricName).min(1).max(100)]),
  getArtifacts: z.tuple([id, z.string().min(1).max(100), step.optional()]),
  getRunLog: z.tuple([id]),
} satisfies Record<ApiMethod, z.ZodType>;

/**
 * Validates `args` for `method` and calls it on `api`. Never throws: invalid
 * arguments and every error the call raises come back as `{ ok: false }`.
 */
export async function dispatchApiCall(api: Api, method: ApiMethod, args: unknown): Promise<ApiReply> {
  const parsed = apiArgumentSchemas[method].safeParse(args);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
    const detail = issues.map((issue) => `argument ${issue.path || '(all)'}: ${issue.message}`).join('; ');
    return { ok: false, error: { code: 'invalid', message: `invalid arguments for ${method}: ${detail}`, issues } };
  }

  try {
    const call = api[method] as (...callArgs: unknown[]) => Promise<unknown>;
    const value = await call.apply(api, parsed.data as unknown[]);
    return { ok: true, value: value ?? null };
  } catch (error) {
    return { ok: false, error: toWireError(error) };
  }
}

/** Converts anything thrown by the Service into transportable data. */
export function toWireError(error: unknown): WireError {
  if (error instanceof ApiError) {
    return { code: error.code, message: error.message, ...(error.issues ? { issues: error.issues } : {}) };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'internal', message };
}

export { API_METHODS };
